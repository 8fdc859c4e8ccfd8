import assert from 'node:assert/strict';
import { attemptLine, providerLabel, providerName } from '../../src/shared/provider-label';

describe('shared/provider-label', () => {
  it('names what runs: WebGPU, and · fp16 only when the fp16 graphs run', () => {
    assert.equal(providerLabel({ used: 'webgpu', dtype: 'fp32' }), 'WebGPU');
    assert.equal(providerLabel({ used: 'webgpu', dtype: 'fp16' }), 'WebGPU · fp16');
    assert.equal(providerLabel({ used: 'cpu' }), 'CPU', 'a host older than issue 15 sends no dtype');
    assert.equal(providerLabel({ used: 'cuda', dtype: 'fp32' }), 'CUDA');
    assert.equal(providerName('dml'), 'DirectML');
    assert.equal(providerName('coreml'), 'CoreML');
    assert.equal(providerName('tpu'), 'tpu', 'an unknown name as it came');
    assert.equal(providerName('constructor'), 'constructor');
  });

  it('lists every attempt, the same provider twice when the fp16 graphs failed first', () => {
    const lines = [
      { provider: 'cuda', ok: false, error: 'onnxruntime-node was installed without its CUDA provider', ms: 0.2 },
      { provider: 'webgpu', ok: false, error: 'fp16 graphs: Program Transpose requires f16 but the device does not support it', ms: 90 },
      { provider: 'webgpu', ok: true, ms: 812.4 },
    ].map((a) => attemptLine(a as Parameters<typeof attemptLine>[0]));
    assert.deepEqual(lines, [
      'CUDA: not used — onnxruntime-node was installed without its CUDA provider',
      'WebGPU: not used — fp16 graphs: Program Transpose requires f16 but the device does not support it',
      'WebGPU: ok (812 ms)',
    ]);
  });
});
