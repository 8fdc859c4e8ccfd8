// Parity of the TypeScript runtime with the PyTorch reference (model/package.py on the very weights of the
// bundled package), on the references written by test/fixtures/model/make_references.py: preprocessing
// (≤ 1e-4), prompt ids, text guidance, prefill logits (≤ 1e-3), routing, and greedy tokens — a fixed number of
// steps and the model's own stop — token for token, plus the decoded text.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtLensModel } from '../../../src/core/model/model';
import type { ExecutionProviderChoice } from '../../../src/core/model/sessions';
import { DEMO_PACKAGE, modelInput, REPO } from './package-fixture';
import { maxAbsDiff, readF32, refs } from './parity-references';

describe('core/model parity with PyTorch (bundled package)', function () {
  this.timeout(300000);
  let model: CtLensModel;
  const worst = { logits: 0, features: 0 };

  before(async () => {
    // CTLENS_TEST_EP=webgpu runs the same parity on a GPU host (bench/gpu-check.sh).
    model = await CtLensModel.load(DEMO_PACKAGE, { executionProvider: (process.env.CTLENS_TEST_EP as ExecutionProviderChoice) ?? 'cpu' });
  });
  after(async () => {
    await model?.release();
    console.log(`      on ${model?.provider.used}: worst prefill-logit diff ${worst.logits.toExponential(2)}, image-feature diff ${worst.features.toExponential(2)}`);
  });

  it('references belong to the bundled package (re-run make_references.py after an export)', () => {
    const onnxDir = join(DEMO_PACKAGE, 'onnx');
    for (const f of readdirSync(onnxDir)) {
      const sha = createHash('sha256').update(readFileSync(join(onnxDir, f))).digest('hex');
      assert.equal(sha, refs.package_onnx_sha256[f], `onnx/${f} differs from the one the references were made with`);
    }
    assert.ok(refs.cases.length >= 20, `${refs.cases.length} cases`);
  });

  it('preprocesses the phantoms as model/preprocess.py (max abs diff ≤ 1e-4)', async () => {
    const withPixels = refs.cases.filter((c) => c.pixel_values);
    const files = [...new Set(withPixels.map((c) => c.image))];
    assert.ok(files.length >= 1); // one saved tensor (6.3 MB at 32×128×128); the other phantoms go through our preprocessing into the logits checks
    for (const image of files) {
      const c = withPixels.find((x) => x.image === image)!;
      const ours = await modelInput(join(REPO, image));
      const diff = maxAbsDiff(ours.pixelValues, readF32(c.pixel_values!));
      assert.ok(diff <= refs.tolerances.pixel_values, `${image}: max abs diff ${diff}`);
    }
  });

  for (const c of refs.cases) {
    it(`${c.id}: prompt, guidance, routing, prefill logits ≤ 1e-3, greedy tokens and text equal`, async () => {
      // Pixel values: the reference tensor where one was saved, else our own preprocessing (checked above).
      const pixelValues = c.pixel_values ? readF32(c.pixel_values) : (await modelInput(join(REPO, c.image))).pixelValues;
      const geometry = (await modelInput(join(REPO, c.image))).geometry;
      const question = c.question ?? undefined;

      const { prompt, guidance } = await model.promptInputs(c.task, question);
      assert.equal(prompt.text, c.prompt_text);
      assert.deepEqual(prompt.ids, c.input_ids);
      assert.ok(maxAbsDiff(guidance.subarray(0, c.text_guidance_head.length), c.text_guidance_head) <= 1e-5, 'text guidance');

      const [D, H, W] = model.pkg.spec.preprocess.inputSize;
      const vision = await model.runVision(pixelValues, guidance, [1, 3, D, H, W]);
      const featDiff = maxAbsDiff(vision.features.subarray(0, c.image_features_head.length), c.image_features_head);
      worst.features = Math.max(worst.features, featDiff);
      // On the reference's own pixels the features agree to 1e-4. On ours (≤ 1e-4 from Python's) one visual token's
      // router top-k can flip where two experts nearly tie, as the router-mass check below allows, and move a grid
      // feature by ~1e-3 (measured: 2.1e-3 at fixture-02-q2 with package 2.4, whose prefill logits still agree to
      // 1.1e-5); the logits and the greedy tokens below hold those cases to PyTorch.
      const featTol = c.pixel_values ? 1e-4 : 1e-2;
      assert.ok(featDiff <= featTol, `image features max abs diff ${featDiff} (tolerance ${featTol})`);
      let meanAbs = 0;
      for (const v of vision.features) meanAbs += Math.abs(v);
      meanAbs /= vision.features.length;
      assert.ok(Math.abs(meanAbs - c.image_features_mean_abs) <= 1e-4 * Math.max(1, c.image_features_mean_abs), 'image features mean |x|');

      let prefill: Float32Array | null = null;
      const fixed = await model.generate(
        { task: c.task, question, pixelValues, geometry, options: { maxNewTokens: c.greedy_steps, minNewTokens: c.greedy_steps } },
        { onPrefillLogits: (l) => (prefill = l) },
      );
      const logitsDiff = maxAbsDiff(prefill!, c.prefill_logits);
      worst.logits = Math.max(worst.logits, logitsDiff);
      assert.ok(logitsDiff <= refs.tolerances.logits, `prefill logits max abs diff ${logitsDiff}`);
      assert.deepEqual(fixed.tokenIds, c.greedy_ids, `greedy ids over ${c.greedy_steps} steps`);

      assert.ok(maxAbsDiff(fixed.routing.groupGates, c.group_gates.flat()) <= 1e-4, 'group gates');
      const { routerProbs, layers, groups: G, experts: E, grid } = fixed.routing;
      const n = grid[0] * grid[1] * grid[2];
      const mass = new Float64Array(layers.length * G * E);
      for (let k = 0; k < layers.length; k++)
        for (let t = 0; t < n; t++)
          for (let ge = 0; ge < G * E; ge++) mass[k * G * E + ge] += routerProbs[(k * n + t) * G * E + ge]!;
      const refMass = c.router_probs_expert_mass.flat(2);
      // An expert's mass sums its top-k probabilities over all visual tokens (512 in package 2.0). Where two experts'
      // router probabilities tie to within float rounding (ORT vs PyTorch, or our pixels vs Python's ≤ 1e-4), one
      // token's top-k can flip, moving up to one token's probability (< 1) between experts: allowed, nothing more.
      for (let i = 0; i < mass.length; i++) {
        const tol = Math.max(1e-3 * Math.max(1, refMass[i]!), 0.5);
        assert.ok(Math.abs(mass[i]! - refMass[i]!) <= tol, `router mass ${i}: ${mass[i]} vs ${refMass[i]}`);
      }

      const free = await model.generate({ task: c.task, question, pixelValues, geometry });
      assert.deepEqual(free.tokenIds, c.generated_ids, 'free-running greedy ids');
      assert.equal(free.text, c.generated_text);
    });
  }
});
