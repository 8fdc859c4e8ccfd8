import assert from 'node:assert/strict';
import { ModelHost, type HostBackend } from '../../src/modelhost/host';
import { ModelError, throwIfAborted } from '../../src/core/model/errors';
import type { GenerateParams, GenerateResult, HostToParent } from '../../src/shared/modelhost-protocol';

/** A backend whose generate emits `n` tokens, one per macrotask, and honours its signal between them. */
function fakeBackend(log: string[]): HostBackend {
  return {
    async load(params) {
      log.push(`load ${params.packageDir}`);
      return {} as never;
    },
    async generate(params, emit, signal) {
      const n = params.options?.maxNewTokens ?? 3;
      log.push(`start ${params.question}`);
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, 5));
        throwIfAborted(signal);
        emit({ type: 'token', text: `${params.question}${i} `, tokenIds: [i] });
      }
      log.push(`end ${params.question}`);
      return { text: params.question } as GenerateResult;
    },
    async unload() {
      return true;
    },
    loaded: () => null,
  };
}

function gen(id: number, question: string, maxNewTokens = 3) {
  const params = { task: 'vqa', question, options: { maxNewTokens } } as unknown as GenerateParams;
  return { type: 'request' as const, id, method: 'generate' as const, params };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'timed out');
}

describe('modelhost/host', () => {
  it('runs requests one at a time in arrival order (events never interleave)', async () => {
    const log: string[] = [];
    const out: HostToParent[] = [];
    const host = new ModelHost(fakeBackend(log), (m) => out.push(m), 1234);
    host.receive(gen(1, 'a'));
    host.receive(gen(2, 'b'));
    host.receive({ type: 'request', id: 3, method: 'ping', params: {} });
    await until(() => out.filter((m) => m.type === 'result').length === 3);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b']);
    const ids = out.map((m) => ('id' in m ? m.id : 0));
    assert.deepEqual(ids, [1, 1, 1, 1, 2, 2, 2, 2, 3]);
    const ping = out.at(-1)!;
    assert.ok(ping.type === 'result' && ping.ok && ping.method === 'ping');
    assert.deepEqual(ping.result, { pid: 1234, loaded: null });
  });

  it('cancels the running request within a step and drops a queued one', async () => {
    const log: string[] = [];
    const out: HostToParent[] = [];
    const host = new ModelHost(fakeBackend(log), (m) => out.push(m));
    host.receive(gen(1, 'a', 100));
    host.receive(gen(2, 'b'));
    host.receive(gen(3, 'c'));
    await until(() => out.some((m) => m.type === 'event'));
    host.receive({ type: 'cancel', id: 3 });
    host.receive({ type: 'cancel', id: 1 });
    await until(() => out.filter((m) => m.type === 'result').length === 3);
    const results = out.filter((m) => m.type === 'result');
    assert.deepEqual(results.map((r) => [r.id, r.ok]), [[3, false], [1, false], [2, true]]);
    const r1 = results.find((r) => r.id === 1)!;
    assert.ok(!r1.ok && r1.error.code === 'Aborted');
    assert.ok(out.filter((m) => m.type === 'event' && m.id === 1).length < 5);
    assert.deepEqual(log, ['start a', 'start b', 'end b']);
  });

  it('turns backend errors into {code, message} values and ignores junk', async () => {
    const out: HostToParent[] = [];
    const backend = fakeBackend([]);
    backend.load = async () => {
      throw new ModelError('MissingFile', 'onnx/decoder_model_merged.onnx is missing');
    };
    backend.unload = async () => {
      throw new TypeError('boom');
    };
    const stacks: string[] = [];
    const host = new ModelHost(backend, (m) => out.push(m), 1, (t) => stacks.push(t));
    host.receive('nonsense');
    host.receive({ type: 'request' });
    host.receive({ type: 'request', id: 1, method: 'load', params: { packageDir: '/x', executionProvider: 'cpu' } });
    host.receive({ type: 'request', id: 2, method: 'unload', params: {} });
    await until(() => out.length === 2);
    assert.deepEqual(out[0], {
      type: 'result', id: 1, ok: false, method: 'load',
      error: { code: 'MissingFile', message: 'MissingFile: onnx/decoder_model_merged.onnx is missing' },
    });
    assert.deepEqual(out[1], { type: 'result', id: 2, ok: false, method: 'unload', error: { code: 'SessionFailed', message: 'SessionFailed: boom' } });
    // The unexpected error's stack goes to the host's log (stderr → output channel), the named one's does not.
    assert.equal(stacks.length, 1);
    assert.match(stacks[0]!, /^internal error in unload: TypeError: boom\n\s+at /);
  });
});
