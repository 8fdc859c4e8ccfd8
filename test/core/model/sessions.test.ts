import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { CtLensModel } from '../../../src/core/model/model';
import { createSessions, fallbackNote, providerOrder, sessionOptions } from '../../../src/core/model/sessions';
import { DEMO_PACKAGE } from './package-fixture';

const PATHS = { vision_encoder: 'v.onnx', embed_tokens: 'e.onnx', decoder_model_merged: 'd.onnx' };

/** A session factory that fails for some providers, recording what it was asked. */
function fakeCreate(failing: Record<string, string>, log: { path: string; options: ort.InferenceSession.SessionOptions }[]) {
  return async (path: string, options: ort.InferenceSession.SessionOptions) => {
    log.push({ path, options });
    const ep = options.executionProviders![0] as string;
    if (failing[ep]) throw new Error(`${failing[ep]}\nnative stack…`);
    return { release: async () => undefined, outputNames: [] } as unknown as ort.InferenceSession;
  };
}

describe('core/model/sessions', () => {
  it('orders providers per platform, GPU first, CPU last', () => {
    assert.deepEqual(providerOrder('auto', 'linux'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(providerOrder('auto', 'win32'), ['dml', 'webgpu', 'cpu']);
    assert.deepEqual(providerOrder('auto', 'darwin'), ['coreml', 'webgpu', 'cpu']);
    assert.deepEqual(providerOrder('auto', 'freebsd'), ['cpu']);
    assert.deepEqual(providerOrder('webgpu', 'linux'), ['webgpu']);
  });

  it('tunes the session options, keeping the KV cache on the GPU under WebGPU', () => {
    const cpu = sessionOptions('cpu', 'decoder_model_merged', ['logits', 'present.0.key'], 2);
    assert.equal(cpu.graphOptimizationLevel, 'all');
    assert.equal(cpu.intraOpNumThreads, 2);
    assert.equal(cpu.preferredOutputLocation, undefined);
    const gpu = sessionOptions('webgpu', 'decoder_model_merged', ['logits', 'present.0.key', 'present.0.value'], 2);
    assert.deepEqual(gpu.preferredOutputLocation, { 'present.0.key': 'gpu-buffer', 'present.0.value': 'gpu-buffer' });
    assert.equal(sessionOptions('webgpu', 'vision_encoder', ['image_features'], 2).preferredOutputLocation, undefined);
    assert.equal(sessionOptions('cuda', 'decoder_model_merged', ['present.0.key'], 2).preferredOutputLocation, undefined);
    assert.deepEqual(cpu.extra, { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
  });

  it('auto falls back to the next provider and reports why the others failed', async () => {
    const log: { path: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const r = await createSessions(PATHS, 'auto', {
      threads: 3,
      create: fakeCreate({ cuda: 'libcudart.so.12: cannot open', webgpu: 'Failed to get a WebGPU adapter' }, log),
    });
    assert.equal(r.provider.used, 'cpu');
    const expected = process.platform === 'linux' ? ['cuda', 'webgpu', 'cpu'] : providerOrder('auto');
    assert.deepEqual(r.provider.attempts.map((a) => a.provider), expected);
    if (process.platform === 'linux') {
      assert.equal(r.provider.attempts[0]!.error, 'libcudart.so.12: cannot open'); // first line only
      assert.equal(r.provider.attempts[1]!.error, 'Failed to get a WebGPU adapter');
    }
    assert.ok(log.filter((l) => l.options.executionProviders![0] === 'cpu').every((l) => l.options.intraOpNumThreads === 3));
  });

  it('an explicit provider that fails is an error, never a silent CPU fallback', async () => {
    const log: { path: string; options: ort.InferenceSession.SessionOptions }[] = [];
    await assert.rejects(
      createSessions(PATHS, 'webgpu', { create: fakeCreate({ webgpu: 'no adapter' }, log) }),
      /^ModelError: ProviderUnavailable: no execution provider could load the model \(webgpu: no adapter\)/,
    );
    assert.ok(log.every((l) => l.options.executionProviders![0] === 'webgpu'));
  });

  it('on this machine (no CUDA provider installed, no GPU) auto runs on the CPU and says why', async function () {
    this.timeout(60000);
    const model = await CtLensModel.load(DEMO_PACKAGE, { executionProvider: 'auto', threads: 1 });
    try {
      const { used, attempts } = model.provider;
      if (process.env.CTLENS_EXPECT_GPU) return; // a GPU host checks its own provider in its own script
      assert.equal(used, 'cpu');
      assert.ok(attempts.length >= 2);
      assert.ok(attempts.slice(0, -1).every((a) => !a.ok && a.error && a.error.length > 0));
      assert.deepEqual(attempts.at(-1), { ...attempts.at(-1)!, provider: 'cpu', ok: true });
    } finally {
      await model.release();
    }
    await assert.rejects(CtLensModel.load(DEMO_PACKAGE, { executionProvider: 'cuda' }), /ProviderUnavailable: .*cuda/);
  });
});

describe('core/model package refusals with real graphs', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctlens-badpkg-'));
    cpSync(DEMO_PACKAGE, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const editConfig = (edit: (c: Record<string, any>) => void) => {
    const file = join(dir, 'config.json');
    const c = JSON.parse(readFileSync(file, 'utf8'));
    edit(c);
    writeFileSync(file, JSON.stringify(c));
  };

  it('refuses graphs swapped between roles, naming the tensor', async () => {
    copyFileSync(join(DEMO_PACKAGE, 'onnx/embed_tokens.onnx'), join(dir, 'onnx/decoder_model_merged.onnx'));
    await assert.rejects(
      CtLensModel.load(dir, { executionProvider: 'cpu' }),
      /^ModelError: TensorMismatch: onnx\/decoder_model_merged\.onnx has no input 'inputs_embeds' \(its inputs: input_ids\)/,
    );
  });

  it('refuses a config whose sizes do not match the graphs', async () => {
    editConfig((c) => (c.hidden_size = c.hidden_size * 2));
    await assert.rejects(CtLensModel.load(dir, { executionProvider: 'cpu' }), /TensorMismatch: onnx\/\w+\.onnx (input|output) '\w+' has shape/);
  });

  it('refuses a config with more decoder layers than the graph has', async () => {
    editConfig((c) => (c.num_hidden_layers += 1));
    await assert.rejects(CtLensModel.load(dir, { executionProvider: 'cpu' }), /TensorMismatch: onnx\/decoder_model_merged\.onnx has no input 'past_key_values\.\d+\.key'/);
  });

  it('refuses a routing grid that does not match router_probs', async () => {
    editConfig((c) => (c.ctlens.patch_grid = [16, 2, 2]));
    await assert.rejects(CtLensModel.load(dir, { executionProvider: 'cpu' }), /^ModelError: TensorMismatch: vision_encoder: router_probs has \d+ values, expected \d+×64×\d+×\d+/);
  });

  it('refuses a truncated graph file as CorruptModel naming the file, not as a provider problem', async () => {
    const f = join(dir, 'onnx/vision_encoder.onnx');
    writeFileSync(f, readFileSync(f).subarray(0, 1000));
    await assert.rejects(
      CtLensModel.load(dir, { executionProvider: 'cpu' }),
      /^ModelError: CorruptModel: onnx\/vision_encoder\.onnx is not a valid ONNX model: it has a field of \d+ bytes at byte \d+ that runs past its end \(truncated\?\)/,
    );
  });

  it('refuses a newer package version and a missing graph', async () => {
    editConfig((c) => (c.ctlens.version = '3.0'));
    await assert.rejects(CtLensModel.load(dir), /^ModelError: VersionMismatch/);
    rmSync(join(dir, 'onnx/embed_tokens.onnx'));
    await assert.rejects(CtLensModel.load(dir), /^ModelError: MissingFile: onnx\/embed_tokens\.onnx is missing/);
  });
});

describe('core/model/sessions: the WebGPU adapter probe and the fallback note', () => {
  it('does not create WebGPU sessions in this process when the probe finds no adapter, and says why', async () => {
    const log: { path: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const probed: string[] = [];
    const r = await createSessions(PATHS, 'auto', {
      create: fakeCreate({ cuda: 'libcudart.so.12: cannot open' }, log),
      probeWebGpu: async (graph) => (probed.push(graph), { ok: false, reason: 'no WebGPU adapter (No supported adapters)', ms: 1 }),
    });
    assert.equal(r.provider.used, 'cpu');
    assert.ok(log.every((l) => l.options.executionProviders![0] !== 'webgpu'), 'no in-process WebGPU session');
    if (process.platform === 'linux') {
      assert.deepEqual(probed, ['e.onnx']); // the smallest graph
      assert.equal(r.provider.attempts[1]!.error, 'no WebGPU adapter (No supported adapters)');
      assert.equal(
        fallbackNote(r.provider),
        'running on cpu: cuda: libcudart.so.12: cannot open; webgpu: no WebGPU adapter (No supported adapters)',
      );
    }
  });

  it('creates WebGPU sessions when the probe finds an adapter; no note when auto got its first choice', async () => {
    const log: { path: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const r = await createSessions(PATHS, 'webgpu', {
      create: fakeCreate({}, log),
      probeWebGpu: async () => ({ ok: true, ms: 1 }),
    });
    assert.equal(r.provider.used, 'webgpu');
    assert.equal(log.length, 3);
    assert.equal(fallbackNote(r.provider), null); // explicit choice
    assert.equal(fallbackNote({ requested: 'auto', used: 'cuda', attempts: [{ provider: 'cuda', ok: true, ms: 1 }] }), null);
  });
});

describe('core/model/sessions: dtype', () => {
  const FP16 = { vision_encoder: 'v_fp16.onnx', embed_tokens: 'e_fp16.onnx', decoder_model_merged: 'd_fp16.onnx' };
  const ok = async () => ({ ok: true, ms: 1 });

  it('auto runs the fp16 graphs on WebGPU and the fp32 graphs on the CPU', async () => {
    const log: { path: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const gpu = await createSessions(PATHS, 'webgpu', { create: fakeCreate({}, log), probeWebGpu: ok, dtype: 'auto', fp16Paths: FP16 });
    assert.equal(gpu.dtype, 'fp16');
    assert.equal(gpu.provider.dtype, 'fp16');
    assert.deepEqual(log.map((l) => l.path), ['v_fp16.onnx', 'e_fp16.onnx', 'd_fp16.onnx']);
    const cpu = await createSessions(PATHS, 'cpu', { create: fakeCreate({}, []), dtype: 'auto', fp16Paths: FP16 });
    assert.equal(cpu.dtype, 'fp32');
  });

  it('auto falls back to fp32 on the same provider where the adapter has no shader-f16, and says why', async () => {
    const log: string[] = [];
    const create = async (path: string) => {
      log.push(path);
      if (path.includes('_fp16')) throw new Error('shader_helper.cc:416 GenerateSourceCode Program Transpose requires f16 but the device does not support it.');
      return { release: async () => undefined } as unknown as ort.InferenceSession;
    };
    const r = await createSessions(PATHS, 'webgpu', { create, probeWebGpu: ok, dtype: 'auto', fp16Paths: FP16 });
    assert.equal(r.provider.used, 'webgpu');
    assert.equal(r.dtype, 'fp32');
    assert.deepEqual(r.provider.attempts.map((a) => [a.provider, a.ok]), [['webgpu', false], ['webgpu', true]]);
    assert.match(r.provider.attempts[0]!.error!, /^fp16 graphs: .*requires f16 but the device does not support it/);
    assert.deepEqual(log, ['v_fp16.onnx', 'v.onnx', 'e.onnx', 'd.onnx']);
  });

  it('an explicit fp16 that the provider cannot run is an error, not a silent fp32', async () => {
    const create = async () => {
      throw new Error('Program Transpose requires f16 but the device does not support it.');
    };
    await assert.rejects(
      createSessions(PATHS, 'webgpu', { create, probeWebGpu: ok, dtype: 'fp16', fp16Paths: FP16 }),
      /ProviderUnavailable: no execution provider could load the model \(webgpu: Program Transpose requires f16/,
    );
  });
});
