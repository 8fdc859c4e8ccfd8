// The PyTorch references of test/fixtures/model/references.json (written by make_references.py on the bundled
// package's own weights) and what the runtime is checked against them, shared by the CPU parity test (every case,
// in-process) and the WebGPU parity test (a subset, in a child process with the software Vulkan adapter).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CtLensModel } from '../../../src/core/model/model';
import type { Task } from '../../../src/core/model/task';
import { modelInput, REPO } from './package-fixture';

export const FIXTURES = join(REPO, 'test', 'fixtures', 'model');

export interface Case {
  id: string;
  image: string;
  pixel_values: string | null;
  task: Task;
  question: string | null;
  prompt_text: string;
  prompt_ids: number[];
  input_ids: number[];
  text_guidance_head: number[];
  image_features_head: number[];
  image_features_mean_abs: number;
  group_gates: number[][];
  router_probs_expert_mass: number[][][];
  prefill_logits: number[];
  greedy_ids: number[];
  greedy_steps: number;
  /** Per step of greedy_ids / generated_ids: PyTorch's top-1 minus top-2 logit (EOS left out for greedy_ids). */
  greedy_margins: number[];
  generated_ids: number[];
  generated_text: string;
  generated_margins: number[];
}

export interface References {
  package_onnx_sha256: Record<string, string>;
  eos_token_id: number;
  tolerances: { logits: number; pixel_values: number };
  cases: Case[];
}

export const refs = JSON.parse(readFileSync(join(FIXTURES, 'references.json'), 'utf8')) as References;

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function readF32(rel: string): Float32Array {
  const b = readFileSync(join(FIXTURES, rel));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A case's model input: the reference tensor where one was saved, else our own preprocessing (checked on CPU). */
export async function caseInput(c: Case) {
  const ours = await modelInput(join(REPO, c.image));
  return { pixelValues: c.pixel_values ? readF32(c.pixel_values) : ours.pixelValues, geometry: ours.geometry };
}

/** What one greedy run gave, in plain numbers (it crosses a process boundary as JSON). */
export interface GreedyRun {
  id: string;
  prefillLogits: number[];
  tokenIds: number[];
  text: string;
  groupGates: number[];
  ms: number;
}

/** One greedy run of a case: `steps` fixed steps (min = max), or free-running to the model's own stop. */
export async function greedyRun(model: CtLensModel, c: Case, steps?: number): Promise<GreedyRun> {
  const t0 = performance.now();
  const { pixelValues, geometry } = await caseInput(c);
  let prefill: Float32Array | null = null;
  const options = steps === undefined ? {} : { maxNewTokens: steps, minNewTokens: steps };
  const r = await model.generate(
    { task: c.task, question: c.question ?? undefined, pixelValues, geometry, options },
    { onPrefillLogits: (l) => (prefill = l) },
  );
  return {
    id: c.id,
    prefillLogits: Array.from(prefill!),
    tokenIds: r.tokenIds,
    text: r.text,
    groupGates: Array.from(r.routing.groupGates),
    ms: performance.now() - t0,
  };
}

/**
 * A greedy run against the reference: prefill logits within `logitTol`, group gates within `gateTol`, and the
 * tokens identical — to the reference's fixed-step ids (a prefix of them for fewer steps) or, free-running, its
 * generated ids and text. With `tol.tie` (a runtime of lower precision) the tokens must be identical up to the
 * first step where they differ, and there the reference's top two logits must lie within `tol.tie` of each
 * other: a tie the runtime's precision cannot settle, after which the two texts are no longer comparable.
 * Returns the logit difference and that step (-1 where the tokens are identical throughout).
 */
export function assertGreedy(
  c: Case,
  run: GreedyRun,
  tol: { logits: number; gates: number; tie?: number },
  freeRunning: boolean,
): { logitsDiff: number; partedAt: number } {
  const logitsDiff = maxAbsDiff(run.prefillLogits, c.prefill_logits);
  assert.ok(logitsDiff <= tol.logits, `${c.id}: prefill logits max abs diff ${logitsDiff} > ${tol.logits}`);
  assert.ok(maxAbsDiff(run.groupGates, c.group_gates.flat()) <= tol.gates, `${c.id}: group gates`);
  const [ref, margins] = freeRunning ? [c.generated_ids, c.generated_margins] : [c.greedy_ids, c.greedy_margins];
  if (!freeRunning) assert.ok(run.tokenIds.length <= c.greedy_steps);
  const ids = freeRunning ? ref : ref.slice(0, run.tokenIds.length);
  const partedAt = run.tokenIds.findIndex((id, step) => id !== ids[step]);
  if (tol.tie !== undefined && partedAt >= 0) {
    assert.ok(
      margins[partedAt]! <= tol.tie,
      `${c.id}: parted from the reference at step ${partedAt}, where its top two logits are ${margins[partedAt]} apart (> ${tol.tie})`,
    );
    return { logitsDiff, partedAt };
  }
  assert.deepEqual(run.tokenIds, ids, `${c.id}: ${freeRunning ? 'free-running greedy ids' : `greedy ids over ${ids.length} steps`}`);
  if (freeRunning) assert.equal(run.text, c.generated_text, `${c.id}: text`);
  return { logitsDiff, partedAt: -1 };
}
