import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ModelError } from '../../../src/core/model/errors';
import { ModelService, type ModelStatus } from '../../../src/extension/model/model-service';
import type { ModelTarget } from '../../../src/extension/model/model-settings';
import { DEMO_PACKAGE, modelInput, REPO } from '../../core/model/package-fixture';

// The real model host process (src/modelhost/main.ts under tsx) and the bundled demo package on the CPU.
function service(log: string[] = []): ModelService {
  return new ModelService({
    modulePath: join(REPO, 'src', 'modelhost', 'main.ts'),
    execArgv: ['--import', 'tsx'],
    log: (l) => log.push(l),
  });
}

const TARGET: ModelTarget = { packageDir: DEMO_PACKAGE, source: 'bundled', executionProvider: 'cpu', dtype: 'auto' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('extension/model/model-service (real host process)', function () {
  this.timeout(120_000);
  let s: ModelService | null = null;
  afterEach(async () => {
    await s?.dispose();
    s = null;
  });

  it('starts the host only when asked, shares one load between callers, reuses it, and generates', async () => {
    s = service();
    const states: string[] = [];
    s.onDidChangeStatus((st: ModelStatus) => states.push(st.state));
    assert.equal(s.hostPid, null, 'nothing runs before the first request');
    const [a, b] = await Promise.all([s.ensureLoaded(TARGET), s.ensureLoaded({ ...TARGET })]);
    assert.equal(a, b, 'one load for both callers');
    assert.deepEqual(states, ['loading', 'ready']);
    assert.equal(a.provider.used, 'cpu');
    assert.ok(s.hostPid !== null);
    assert.equal(await s.ensureLoaded(TARGET), a, 'the loaded model is reused');
    const input = await modelInput();
    const r = await s.generate({ task: 'report', pixelValues: input.pixelValues, geometry: input.geometry, options: { maxNewTokens: 8 } });
    assert.equal(r.timings.newTokens, 8);
    assert.equal(r.model.name, 'ctlens-tghmoe-demo');
  });

  it('sends ctlens.dtype with the load: another dtype is another load, fp16 without the graphs is refused', async () => {
    s = service();
    const auto = await s.ensureLoaded(TARGET);
    assert.equal(auto.provider.dtype, 'fp32', 'auto is fp32 on the CPU');
    const fp32 = await s.ensureLoaded({ ...TARGET, dtype: 'fp32' });
    assert.notEqual(fp32, auto);
    assert.equal(fp32.reused, false, 'the host loaded again');
    await assert.rejects(s.ensureLoaded({ ...TARGET, dtype: 'fp16' }), /MissingFile: dtype fp16 was asked for, but the package has no onnx\/\*_fp16\.onnx/);
  });

  it('reports a package that cannot load as a failed status, then loads a good one', async () => {
    s = service();
    const bad: ModelTarget = { ...TARGET, packageDir: join(REPO, 'test', 'fixtures', 'phantoms') };
    await assert.rejects(s.ensureLoaded(bad), /MissingFile/);
    const st = s.status;
    assert.equal(st.state, 'failed');
    assert.match(st.state === 'failed' ? st.error : '', /MissingFile: config\.json is missing/);
    const ok = await s.ensureLoaded(TARGET);
    assert.equal(s.status.state, 'ready');
    assert.equal(ok.model.name, 'ctlens-tghmoe-demo');
  });

  it('tells listeners when the host dies mid-run, and the next run works on the restarted host', async () => {
    const log: string[] = [];
    s = service(log);
    const crashes: ModelError[] = [];
    s.onCrash((e) => crashes.push(e));
    await s.ensureLoaded(TARGET);
    const input = await modelInput();
    const params = { task: 'report' as const, pixelValues: input.pixelValues, geometry: input.geometry, options: { maxNewTokens: 300, minNewTokens: 300 } };
    const pid = s.hostPid!;
    const running = s.generate(params, { onEvent: (e) => e.type === 'token' && alive(pid) && process.kill(pid, 'SIGKILL') });
    await assert.rejects(running, /HostCrashed: the model host process died \(killed by SIGKILL\) while running generate; a new host has been started/);
    assert.equal(crashes.length, 1);
    const again = await s.generate({ ...params, options: { maxNewTokens: 4 } });
    assert.equal(again.timings.newTokens, 4);
    assert.notEqual(s.hostPid, pid);
    assert.ok(log.some((l) => /model host exited \(killed by SIGKILL\)/.test(l)));
  });

  it('stops the host on dispose', async () => {
    s = service();
    await s.ensureLoaded(TARGET);
    const pid = s.hostPid!;
    await s.dispose();
    s = null;
    assert.equal(alive(pid), false);
  });
});
