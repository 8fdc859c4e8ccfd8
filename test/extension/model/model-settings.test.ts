import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decodingLabel, generationOptions, modelTarget, targetKey, type InspectedValue } from '../../../src/extension/model/model-settings';

function config(values: Record<string, unknown>, inspected: Record<string, InspectedValue<unknown>> = {}) {
  return {
    get: <T,>(k: string) => values[k] as T | undefined,
    inspect: <T,>(k: string) => inspected[k] as InspectedValue<T> | undefined,
  };
}

const BUNDLED = path.resolve('/ext/media/models/ctlens-tghmoe-demo');
const LOC = { bundledDir: BUNDLED, trusted: true, workspaceRoot: path.resolve('/work/project'), home: path.resolve('/home/me') };

describe('extension/model/model-settings', () => {
  it('uses the bundled package unless ctlens.modelPath names another; resolves relative and ~ paths', () => {
    assert.deepEqual(modelTarget(config({}), LOC), { packageDir: BUNDLED, source: 'bundled', executionProvider: 'auto', dtype: 'auto' });
    assert.equal(modelTarget(config({}, { modelPath: { globalValue: '  ' } }), LOC).source, 'bundled', 'blank = unset');
    const user = modelTarget(config({ executionProvider: 'cuda' }, { modelPath: { globalValue: '~/models/pkg' } }), LOC);
    assert.deepEqual(user, { packageDir: path.resolve('/home/me/models/pkg'), source: 'user', executionProvider: 'cuda', dtype: 'auto' });
    const ws = modelTarget(config({}, { modelPath: { globalValue: '/abs/user', workspaceValue: 'models/pkg' } }), LOC);
    assert.deepEqual(ws, { packageDir: path.resolve('/work/project/models/pkg'), source: 'workspace', executionProvider: 'auto', dtype: 'auto' });
    const folder = modelTarget(config({}, { modelPath: { workspaceValue: 'a', workspaceFolderValue: 'b' } }), LOC);
    assert.equal(folder.packageDir, path.resolve('/work/project/b'), 'the folder setting wins over the workspace file');
  });

  it('ignores a workspace model path in an untrusted workspace (the user value still counts) and says so', () => {
    const untrusted = { ...LOC, trusted: false };
    const t = modelTarget(config({}, { modelPath: { workspaceValue: './evil' } }), untrusted);
    assert.deepEqual(t, { packageDir: BUNDLED, source: 'bundled', executionProvider: 'auto', dtype: 'auto', ignored: './evil' });
    const u = modelTarget(config({}, { modelPath: { globalValue: '/mine', workspaceValue: './evil' } }), untrusted);
    assert.equal(u.packageDir, path.resolve('/mine'));
    assert.equal(u.ignored, './evil');
  });

  it('refuses unknown providers and dtypes (auto) and keys a loaded model by folder, provider and dtype', () => {
    assert.equal(modelTarget(config({ executionProvider: 'tpu' }), LOC).executionProvider, 'auto');
    assert.equal(modelTarget(config({ dtype: 'fp16' }), LOC).dtype, 'fp16');
    assert.equal(modelTarget(config({ dtype: 'fp32' }), LOC).dtype, 'fp32');
    assert.equal(modelTarget(config({ dtype: 'int4' }), LOC).dtype, 'auto');
    const cpu = { packageDir: '/b', executionProvider: 'cpu', dtype: 'auto' } as const;
    assert.equal(targetKey({ ...cpu, packageDir: '/a/../b' }), targetKey(cpu));
    assert.notEqual(targetKey(cpu), targetKey({ ...cpu, executionProvider: 'cuda' }));
    assert.notEqual(targetKey(cpu), targetKey({ ...cpu, dtype: 'fp16' }), 'another dtype is another load');
  });

  it('decodes greedily by default and samples only with a temperature above 0', () => {
    assert.deepEqual(generationOptions(config({})), { doSample: false });
    assert.deepEqual(generationOptions(config({ temperature: 0, topP: 0.5, maxNewTokens: null, repetitionPenalty: null })), { doSample: false });
    assert.deepEqual(generationOptions(config({ temperature: 0.7, topP: 0.9, maxNewTokens: 64.6, repetitionPenalty: 1.1 })), {
      doSample: true,
      temperature: 0.7,
      topP: 0.9,
      maxNewTokens: 64,
      repetitionPenalty: 1.1,
    });
    assert.deepEqual(generationOptions(config({ temperature: -1, maxNewTokens: 0 })), { doSample: false }, 'nonsense is ignored');
    assert.equal(decodingLabel({ doSample: false }), 'greedy');
    assert.equal(decodingLabel({ doSample: true, temperature: 0.7, topP: 0.9, repetitionPenalty: 1.1 }), 'sampling (temperature 0.7, top-p 0.9), repetition penalty 1.1');
  });
});
