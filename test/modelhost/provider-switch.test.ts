// The model host switching provider while it runs (the ctlens.executionProvider setting changed): the next load
// names another provider, the host releases the previous sessions before making the new ones, and the same
// report comes out. Leaving a GPU provider starts a fresh host (client.ts: onnxruntime keeps the WebGPU device
// for the life of the process). Measured here: after cpu → webgpu → cpu the WebGPU host has ended and the new
// host's resident memory is within 25 % of the first cpu run, and CPU reloads do not grow it (read from /proc, so
// Linux only). The WebGPU leg needs the software adapter (test/core/model/software-vulkan.ts); without it the leg
// is skipped, or fails under CTLENS_REQUIRE_BROWSER=1, and the CPU leg (a reload with other session options) still
// runs.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelHostClient } from '../../src/modelhost/client';
import type { ExecutionProviderChoice, GenerateParams } from '../../src/shared/modelhost-protocol';
import { webGpuEnvOrSkip } from '../core/model/software-vulkan';
import { DEMO_PACKAGE, modelInput, REPO } from '../core/model/package-fixture';

/** VmRSS of a process in MB (Linux), or null elsewhere. */
function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** True once process `pid` is gone (signal 0 finds no such process), polling up to `ms`. */
async function exited(pid: number, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 100))) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

async function reportParams(): Promise<GenerateParams> {
  const input = await modelInput();
  return { task: 'report', pixelValues: input.pixelValues, geometry: input.geometry, stats: input.stats, options: { maxNewTokens: 8, minNewTokens: 8 } };
}

function client(env: NodeJS.ProcessEnv, logs: string[]): ModelHostClient {
  return new ModelHostClient({
    modulePath: join(REPO, 'src', 'modelhost', 'main.ts'),
    execArgv: ['--import', 'tsx'],
    env,
    log: (l) => logs.push(l),
    startTimeoutMs: 60_000,
  });
}

/** Load on a provider, run the report, and read the host's memory once it is idle again. */
async function leg(c: ModelHostClient, ep: ExecutionProviderChoice, threads: number) {
  const load = await c.load({ packageDir: DEMO_PACKAGE, executionProvider: ep, threads });
  const r = await c.generate(await reportParams());
  return { load, text: r.text, tokenIds: r.tokenIds, provider: r.provider, rss: rssMb(c.pid!), pid: c.pid };
}

describe('modelhost: switching provider while running', function () {
  this.timeout(1_200_000);
  let c: ModelHostClient | undefined;
  afterEach(async () => c?.dispose());

  it('cpu reloads with other options free the previous sessions: same report, one host, RSS does not grow', async () => {
    const logs: string[] = [];
    c = client(process.env, logs);
    const legs = [];
    for (const threads of [1, 2, 1, 2, 1, 2, 1, 2, 1]) legs.push(await leg(c, 'cpu', threads));
    for (const l of legs.slice(1)) {
      assert.equal(l.load.reused, false);
      assert.deepEqual(l.tokenIds, legs[0]!.tokenIds);
      assert.equal(l.pid, legs[0]!.pid, 'a CPU switch keeps the host');
    }
    if (legs[0]!.rss !== null) {
      console.log(`      host RSS over ${legs.length} loads (1 and 2 threads in turn): ${legs.map((l) => l.rss!.toFixed(0)).join(' → ')} MB`);
      // The first reloads still grow the heap (V8, onnxruntime's lazily made thread pools, allocator caches) and
      // garbage collection makes single readings swing by 10-15 % (measured 190 → 202 → 220 → 221 → 235 MB).
      // A session set that was not freed holds ~23 MB (in-process: 200 MB loaded, 177 MB released), so six
      // leaked loads would add ~140 MB. The last three loads may not rise more than 15 % above the first three.
      const rss = legs.map((l) => l.rss!);
      const peak = Math.max(...rss.slice(0, 3));
      assert.ok(Math.max(...rss.slice(-3)) <= 1.15 * peak, `RSS ${rss.join(' → ')} MB`);
    }
  });

  it('cpu → webgpu → cpu: same report on both, WebGPU host ended, RSS back within 25 %', async function () {
    const got = { env: await webGpuEnvOrSkip(this) };
    const logs: string[] = [];
    c = client(got.env, logs);
    const t0 = performance.now();
    const cpu = await leg(c, 'cpu', 1);
    const gpu = await leg(c, 'webgpu', 1);
    const back = await leg(c, 'cpu', 1);
    assert.equal(cpu.provider, 'cpu');
    assert.equal(gpu.provider, 'webgpu');
    assert.equal(gpu.load.reused, false);
    assert.equal(back.provider, 'cpu');
    assert.equal(back.load.reused, false);
    assert.deepEqual(gpu.tokenIds, cpu.tokenIds, 'WebGPU and CPU greedy tokens');
    assert.equal(gpu.text, cpu.text);
    assert.deepEqual(back.tokenIds, cpu.tokenIds);
    assert.equal(gpu.pid, cpu.pid, 'cpu → webgpu keeps the host');
    assert.notEqual(back.pid, gpu.pid, 'webgpu → cpu starts a fresh host');
    assert.ok(logs.some((l) => /switching from webgpu to cpu: starting a fresh model host/.test(l)), logs.join('\n'));
    assert.ok(!logs.some((l) => /Vulkan|BackendVk/.test(l)), logs.join('\n'));
    if (cpu.rss !== null) {
      console.log(
        `      host RSS: cpu ${cpu.rss.toFixed(0)} MB → webgpu ${gpu.rss!.toFixed(0)} MB → cpu ${back.rss!.toFixed(0)} MB (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
      // The two CPU hosts are different processes doing the same work; their readings differ by when V8 last
      // collected (measured 192 → 238 MB once, with two training jobs on the machine's two cores, against 10 %).
      // The bound stays as a sanity check; the WebGPU sessions' release is asserted by their host's exit below.
      assert.ok(Math.abs(back.rss! - cpu.rss) <= 0.25 * cpu.rss, `RSS ${cpu.rss} → ${back.rss} MB`);
    }
    // What frees the WebGPU sessions for certain: the host that held them has ended.
    assert.ok(await exited(gpu.pid!, 10_000), `the WebGPU host (pid ${gpu.pid}) is still running`);
  });
});
