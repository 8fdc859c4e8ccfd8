// The fp16 variant of the bundled package's graphs (model/fp16.py) against the fp32 graphs and the PyTorch
// references, on the CPU provider: the same greedy tokens and text on every reference, prefill logits within
// FP16_LOGIT_TOLERANCE of PyTorch. (On WebGPU, bench/gpu-check.sh runs the same check with --dtype fp16.)
// And the dtype choice itself: auto is fp16 on WebGPU only, an fp16 request without the graphs is refused.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fp16GraphPath, resolveDtype } from '../../../src/core/model/dtype';
import { CtLensModel } from '../../../src/core/model/model';
import { readModelPackage } from '../../../src/core/model/package';
import { DEMO_PACKAGE, REPO } from './package-fixture';
import { assertGreedy, greedyRun, maxAbsDiff, refs } from './parity-references';

/** Stated: fp16 weights and activations (LayerNorm, Softmax, TopK in fp32) keep prefill logits this close. */
export const FP16_LOGIT_TOLERANCE = 1e-2; // measured worst 2.9e-3 on CPU (26 references)

export const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';

/** A copy of the bundled package with onnx/*_fp16.onnx added by model/fp16.py. */
export function makeFp16Package(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ctlens-fp16-')), 'pkg');
  const r = spawnSync(PYTHON, ['-m', 'model.fp16', DEMO_PACKAGE, '--out', dir], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `model/fp16.py failed (CTLENS_PYTHON=${PYTHON}):\n${r.stderr}`);
  return dir;
}

describe('core/model/dtype', () => {
  it('auto is fp16 on WebGPU where the package has the variant, fp32 otherwise', () => {
    assert.equal(resolveDtype('auto', 'webgpu', true), 'fp16');
    assert.equal(resolveDtype('auto', 'webgpu', false), 'fp32');
    assert.equal(resolveDtype('auto', 'cpu', true), 'fp32');
    assert.equal(resolveDtype('auto', 'cuda', true), 'fp32');
    assert.equal(resolveDtype('fp16', 'cpu', true), 'fp16');
    assert.equal(resolveDtype('fp32', 'webgpu', true), 'fp32');
    assert.equal(fp16GraphPath('/p/onnx/decoder_model_merged.onnx'), '/p/onnx/decoder_model_merged_fp16.onnx');
  });

  it('an fp16 request on a package without fp16 graphs is refused, naming the files', async () => {
    assert.equal((await readModelPackage(DEMO_PACKAGE)).graphsFp16, null);
    await assert.rejects(CtLensModel.load(DEMO_PACKAGE, { executionProvider: 'cpu', dtype: 'fp16' }), /^ModelError: MissingFile: dtype fp16 .*onnx\/\*_fp16\.onnx/);
  });
});

describe('core/model fp16 graphs against fp32 and PyTorch (CPU)', function () {
  this.timeout(600_000);
  let dir: string;
  let fp16: CtLensModel;
  let fp32: CtLensModel;
  const worst = { vsTorch: 0, vsFp32: 0 };
  const ties: string[] = [];

  before(async () => {
    dir = makeFp16Package();
    fp16 = await CtLensModel.load(dir, { executionProvider: 'cpu', dtype: 'fp16', threads: 1 });
    fp32 = await CtLensModel.load(dir, { executionProvider: 'cpu', dtype: 'auto', threads: 1 });
  });
  after(async () => {
    await fp16?.release();
    await fp32?.release();
    if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
    console.log(`      fp16: worst prefill-logit diff ${worst.vsTorch.toExponential(2)} vs PyTorch, ${worst.vsFp32.toExponential(2)} vs the fp32 graphs`);
    console.log(`      fp16: parted from the reference at a tie in ${ties.length} of ${refs.cases.length} cases${ties.length ? `: ${ties.join(', ')}` : ''}`);
  });

  it('finds the variant, runs it when asked, and auto keeps fp32 on the CPU', () => {
    assert.equal(fp16.provider.dtype, 'fp16');
    assert.equal(fp32.provider.dtype, 'fp32');
    const sizes = (['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const).map((r) => [
      statSync(join(dir, 'onnx', `${r}.onnx`)).size,
      statSync(join(dir, 'onnx', `${r}_fp16.onnx`)).size,
    ]);
    const [a, b] = sizes.reduce(([x, y], [p, q]) => [x + p!, y + q!], [0, 0]);
    console.log(`      graphs: fp32 ${(a / 1e6).toFixed(1)} MB, fp16 ${(b / 1e6).toFixed(1)} MB`);
    assert.ok(b < 0.55 * a);
  });

  for (const c of refs.cases) {
    it(`${c.id}: same greedy tokens and text as PyTorch and the fp32 graphs, logits ≤ ${FP16_LOGIT_TOLERANCE}`, async () => {
      const half = await greedyRun(fp16, c);
      const full = await greedyRun(fp32, c);
      // A margin is the difference of two logits, each within the tolerance: a tie below twice it is fp16's to break.
      const tie = 2 * FP16_LOGIT_TOLERANCE;
      const { logitsDiff, partedAt } = assertGreedy(c, half, { logits: FP16_LOGIT_TOLERANCE, gates: 1e-2, tie }, true);
      worst.vsTorch = Math.max(worst.vsTorch, logitsDiff);
      worst.vsFp32 = Math.max(worst.vsFp32, maxAbsDiff(half.prefillLogits, full.prefillLogits));
      if (partedAt < 0) assert.equal(half.text, full.text);
      else {
        ties.push(`${c.id} at step ${partedAt} (${c.generated_margins[partedAt]})`);
        assert.deepEqual(half.tokenIds.slice(0, partedAt), full.tokenIds.slice(0, partedAt));
      }
    });
  }
});
