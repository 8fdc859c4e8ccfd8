import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ModelHostClient } from '../../src/modelhost/client';
import type { GenerateEvent, GenerateParams } from '../../src/shared/modelhost-protocol';
import { DEMO_PACKAGE, modelInput, REPO } from '../core/model/package-fixture';
import { applyAffine } from '../../src/core/nifti/affine';
import { readModelPackage } from '../../src/core/model/package';
import { expertOverlay } from '../../src/core/model/routing';
import { validateOverlay } from '../../src/shared/overlay';

// The real host process (src/modelhost/main.ts under tsx), the real demo package, the real CPU provider.
function client(logs: string[] = [], extra: Partial<ConstructorParameters<typeof ModelHostClient>[0]> = {}) {
  return new ModelHostClient({
    modulePath: join(REPO, 'src', 'modelhost', 'main.ts'),
    execArgv: ['--import', 'tsx'],
    log: (l) => logs.push(l),
    ...extra,
  });
}

async function params(maxNewTokens = 24, minNewTokens = 0): Promise<GenerateParams> {
  const input = await modelInput();
  return {
    task: 'report',
    pixelValues: input.pixelValues,
    geometry: input.geometry,
    stats: input.stats,
    options: { maxNewTokens, minNewTokens },
  };
}

const LOAD = { packageDir: DEMO_PACKAGE, executionProvider: 'cpu' as const, threads: 1 };

describe('modelhost/client (real host process)', function () {
  this.timeout(120000);
  let c: ModelHostClient;
  afterEach(async () => {
    await c?.dispose();
  });

  it('loads once, reuses the sessions, and streams a report whose pieces make up the text', async () => {
    c = client();
    const first = await c.load(LOAD);
    assert.equal(first.reused, false);
    assert.equal(first.provider.used, 'cpu');
    // The package's preprocessing spec comes back with the load: the extension host never reads the package for a run.
    assert.deepEqual(first.preprocess, (await readModelPackage(DEMO_PACKAGE)).spec.preprocess);
    const again = await c.load(LOAD);
    assert.equal(again.reused, true);
    assert.deepEqual(again.preprocess, first.preprocess);
    const events: GenerateEvent[] = [];
    const r = await c.generate(await params(), { onEvent: (e) => events.push(e) });
    const streamed = events.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('');
    assert.equal(streamed, r.text);
    assert.ok(r.text.length > 0);
    assert.deepEqual(events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage), ['vision', 'prefill', 'decode']);
    assert.ok(r.routing.routerProbs instanceof Float32Array, 'typed arrays cross the process boundary as typed arrays');
    assert.ok(r.notices[0]!.includes('research use only — not for diagnosis'));
    // The routing that came back builds overlays the viewer accepts, covering the volume the input came from.
    const overlay = expertOverlay(r.routing, 0, 0, 0);
    assert.equal(validateOverlay(overlay), null);
    assert.deepEqual(overlay.dims, [r.routing.grid[2], r.routing.grid[1], r.routing.grid[0]]);
    const corner = (m: number[][], p: [number, number, number]) => applyAffine(m, p);
    const [nR, nA, nS] = r.routing.geometry.canonicalDims;
    const volLo = corner(r.routing.geometry.canonicalAffine, [-0.5, -0.5, -0.5]);
    const volHi = corner(r.routing.geometry.canonicalAffine, [nR - 0.5, nA - 0.5, nS - 0.5]);
    const ovLo = corner(overlay.affine, [-0.5, -0.5, -0.5]);
    const ovHi = corner(overlay.affine, [overlay.dims[0] - 0.5, overlay.dims[1] - 0.5, overlay.dims[2] - 0.5]);
    for (let a = 0; a < 3; a++) {
      assert.ok(Math.abs(volLo[a]! - ovLo[a]!) < 1e-6 && Math.abs(volHi[a]! - ovHi[a]!) < 1e-6, `axis ${a}`);
    }
    assert.equal(r.routingSummary.layers.length, r.routing.layers.length);
    assert.equal(r.routing.topK, first.model.topK, 'the routing carries the package’s top-k');
  });

  it('queues concurrent requests: the second starts after the first ends', async () => {
    c = client();
    await c.load(LOAD);
    const order: string[] = [];
    const p = await params(12, 12);
    const [a, b] = await Promise.all([
      c.generate(p, { onEvent: (e) => e.type === 'token' && order.push('a') }).then((r) => (order.push('a-done'), r)),
      c.generate(p, { onEvent: (e) => e.type === 'token' && order.push('b') }).then((r) => (order.push('b-done'), r)),
    ]);
    assert.deepEqual(a.tokenIds, b.tokenIds); // greedy: same input, same output
    const lastA = order.lastIndexOf('a');
    const firstB = order.indexOf('b');
    assert.ok(lastA < firstB, `interleaved: ${order.join(' ')}`);
  });

  it('cancels a running request within a step, drops a queued one, and stays usable', async () => {
    c = client();
    await c.load(LOAD);
    const running = new AbortController();
    const queued = new AbortController();
    let tokensAfterAbort = 0;
    const p = await params(200, 200);
    const first = c.generate(p, {
      signal: running.signal,
      onEvent: (e) => {
        if (e.type !== 'token') return;
        if (running.signal.aborted) tokensAfterAbort++;
        else running.abort();
      },
    });
    const second = c.generate(p, { signal: queued.signal });
    queued.abort();
    await assert.rejects(second, /^ModelError: Aborted: cancelled while queued/);
    await assert.rejects(first, /^ModelError: Aborted/);
    assert.equal(tokensAfterAbort, 0, `${tokensAfterAbort} tokens delivered after the abort`);
    const ping = await c.ping();
    assert.equal(ping.loaded?.name, 'ctlens-tghmoe-demo');
  });

  it('a request cancelled while the host is still starting is never sent', async () => {
    c = client();
    const ac = new AbortController();
    const load = c.load(LOAD, { signal: ac.signal });
    ac.abort();
    await assert.rejects(load, /^ModelError: Aborted: cancelled before it was sent/);
    assert.equal((await c.ping()).loaded, null);
  });

  it('a host killed with SIGKILL mid-report gives a clear error, then a restarted host with the model reloaded', async () => {
    const logs: string[] = [];
    c = client(logs);
    await c.load(LOAD);
    const pid = c.pid!;
    const crashes: string[] = [];
    c.onCrash((e) => crashes.push(e.message));
    const p = await params(200, 200);
    let killed = false;
    const kill = () => {
      if (!killed) process.kill(pid, 'SIGKILL');
      killed = true;
    };
    const doomed = c.generate(p, { onEvent: (e) => e.type === 'token' && kill() });
    const queued = c.generate(await params(8));
    await assert.rejects(doomed, /^ModelError: HostCrashed: the model host process died \(killed by SIGKILL\) while running generate; a new host has been started/);
    const after = await queued; // the queued request runs on the new host, with the model loaded again
    assert.ok(after.text.length > 0);
    assert.notEqual(c.pid, pid);
    assert.equal(crashes.length, 1);
    assert.ok(logs.some((l) => l.includes('killed by SIGKILL')));
  });

  it('stops restarting after repeated crashes, with an error saying so', async () => {
    c = client([], { maxCrashes: 0 });
    await c.load(LOAD);
    const pid = c.pid!;
    let killed = false;
    const doomed = c.generate(await params(200, 200), {
      onEvent: () => {
        if (!killed) process.kill(pid, 'SIGKILL');
        killed = true;
      },
    });
    await assert.rejects(doomed, /crashed 1 times within 60 s, so it is not restarted/);
    await assert.rejects(c.ping(), /HostCrashed/);
  });

  it('a cancel the host cannot honour (stuck outside the decoding loop) kills and restarts it; not counted as a crash', async () => {
    const logs: string[] = [];
    const crashes: Error[] = [];
    // maxCrashes 0: were the kill counted as a crash, the client would stop restarting and the ping would fail.
    c = new ModelHostClient({
      modulePath: join(REPO, 'test', 'fixtures', 'modelhost', 'stuck-host.mjs'),
      log: (l) => logs.push(l),
      cancelGraceMs: 300,
      maxCrashes: 0,
    });
    c.onCrash((e) => crashes.push(e));
    const before = (await c.ping()).pid;
    const stop = new AbortController();
    const run = c.generate(await params(), { signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    const t0 = Date.now();
    await assert.rejects(run, /^ModelError: Aborted: cancelled; the model host did not stop within 300 ms, so it was restarted$/);
    assert.ok(Date.now() - t0 < 5000, 'the cancel ended the run soon after the grace period');
    const after = (await c.ping()).pid;
    assert.notEqual(after, before, 'a fresh host answers');
    assert.deepEqual(crashes, []);
    assert.ok(logs.some((l) => l === 'the model host did not stop within 300 ms of a cancel; restarting it'), logs.join('\n'));
  });

  it('passes the runtime errors through as values', async () => {
    c = client();
    await assert.rejects(c.generate(await params()), /^ModelError: NotLoaded: no model is loaded/);
    await assert.rejects(c.load({ ...LOAD, packageDir: '/nonexistent' }), /^ModelError: MissingFile: model package folder \/nonexistent/);
    await assert.rejects(c.load({ ...LOAD, executionProvider: 'cuda' }), /^ModelError: ProviderUnavailable: .*cuda/);
  });

  it('runs from the bundle the extension ships (dist/modelhost.js, built by esbuild.mjs)', async () => {
    const build = spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    c = new ModelHostClient({ modulePath: join(REPO, 'dist', 'modelhost.js') });
    const loaded = await c.load(LOAD);
    assert.equal(loaded.model.name, 'ctlens-tghmoe-demo');
    const r = await c.generate(await params(6));
    assert.ok(r.tokenIds.length >= 1);
  });
});
