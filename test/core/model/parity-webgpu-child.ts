// Child of parity-webgpu.test.ts: loads the bundled package with the provider choice in argv[2] (run with the
// software Vulkan environment, see software-vulkan.ts), runs the greedy cases named in argv[3]
// ([{id, steps?}] as JSON) and prints one JSON line: the provider report, where the KV cache lived, the image
// features of the first case, and each run. The parent compares them with the references.

import type { ModelDtype } from '../../../src/core/model/dtype';
import { CtLensModel } from '../../../src/core/model/model';
import type { ExecutionProviderChoice } from '../../../src/shared/modelhost-protocol';
import { DEMO_PACKAGE } from './package-fixture';
import { caseInput, greedyRun, refs, type GreedyRun } from './parity-references';

async function main(): Promise<void> {
  const choice = process.argv[2] as ExecutionProviderChoice;
  const wanted = JSON.parse(process.argv[3]!) as { id: string; steps?: number }[];
  const dtype = process.argv[4];
  const t0 = performance.now();
  const model = await CtLensModel.load(DEMO_PACKAGE, { executionProvider: choice, ...(dtype ? { dtype: dtype as ModelDtype } : {}) });
  const loadMs = performance.now() - t0;
  try {
    const first = refs.cases.find((c) => c.id === wanted[0]!.id)!;
    const { pixelValues } = await caseInput(first);
    const { guidance } = await model.promptInputs(first.task, first.question ?? undefined);
    const [D, H, W] = model.pkg.spec.preprocess.inputSize;
    const vision = await model.runVision(pixelValues, guidance, [1, 3, D, H, W]);
    let meanAbs = 0;
    for (const v of vision.features) meanAbs += Math.abs(v);
    const runs: GreedyRun[] = [];
    for (const w of wanted) runs.push(await greedyRun(model, refs.cases.find((c) => c.id === w.id)!, w.steps));
    process.stdout.write(
      `${JSON.stringify({
        provider: model.provider,
        kvCacheLocation: model.kvCacheLocation,
        loadMs,
        features: { id: first.id, head: Array.from(vision.features.subarray(0, first.image_features_head.length)), meanAbs: meanAbs / vision.features.length },
        runs,
      })}\n`,
    );
  } finally {
    await model.release();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
