// The greedy-parity check of bench/gpu-check.sh, runnable where there is no mocha or tsx (the GPU machine has
// only Node and onnxruntime-node): bundled by gpu-check.sh to dist/gpu-parity.js. Loads the bundled package (or
// --model) on --ep with --dtype, runs the PyTorch references (all of them, or --cases id,id…) and prints one
// JSON line: provider, dtype, where the KV cache lived, per case whether greedy tokens and text equal the
// reference and the prefill-logit difference, and the worst. Exit 1 when a case fails.
//
// Tolerances: fp32 as test/core/model/parity.test.ts (logits ≤ 1e-3); fp16 as test/core/model/fp16.test.ts (1e-2).

import { join } from 'node:path';
import type { ModelDtype } from '../src/core/model/dtype';
import { CtLensModel } from '../src/core/model/model';
import type { ExecutionProviderChoice } from '../src/shared/modelhost-protocol';
import { DEMO_PACKAGE } from '../test/core/model/package-fixture';
import { assertGreedy, greedyRun, refs } from '../test/core/model/parity-references';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<number> {
  const ep = arg('ep', 'webgpu') as ExecutionProviderChoice;
  const dtype = arg('dtype', 'fp32') as ModelDtype;
  const dir = arg('model', DEMO_PACKAGE);
  const only = arg('cases', '');
  const cases = only ? refs.cases.filter((c) => only.split(',').includes(c.id)) : refs.cases;
  const t0 = performance.now();
  const model = await CtLensModel.load(join(dir), { executionProvider: ep, dtype });
  const loadMs = performance.now() - t0;
  const used = model.provider.dtype ?? 'fp32';
  // fp16 may break a tie of the reference's top two logits its own way (within twice its logit tolerance).
  const tol = used === 'fp16' ? { logits: 1e-2, gates: 1e-2, tie: 2e-2 } : { logits: refs.tolerances.logits, gates: 1e-4 };
  const rows: { id: string; ok: boolean; logitDiff?: number; partedAtTie?: number; tokens: number; ms: number; error?: string }[] = [];
  try {
    for (const c of cases) {
      const run = await greedyRun(model, c);
      try {
        const { logitsDiff, partedAt } = assertGreedy(c, run, tol, true);
        rows.push({ id: c.id, ok: true, logitDiff: logitsDiff, ...(partedAt >= 0 ? { partedAtTie: partedAt } : {}), tokens: run.tokenIds.length, ms: run.ms });
      } catch (e) {
        rows.push({ id: c.id, ok: false, tokens: run.tokenIds.length, ms: run.ms, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
      }
    }
  } finally {
    await model.release();
  }
  const failed = rows.filter((r) => !r.ok);
  process.stdout.write(
    `${JSON.stringify({
      provider: model.provider,
      dtype: used,
      kvCacheLocation: model.kvCacheLocation,
      tolerance: tol,
      loadMs,
      cases: rows.length,
      passed: rows.length - failed.length,
      worstLogitDiff: Math.max(...rows.map((r) => r.logitDiff ?? 0)),
      failed,
      rows,
    })}\n`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 2;
  },
);
