// Running a benchmark dataset (contract C5) through the model for CT Lens: Evaluate Dataset. No `vscode` import:
// reading images and generating are passed in (workspace.fs and the model host in the extension; fakes in tests).
// Greedy decoding, as `ctlens eval` and the Python evaluator (the M3D-Bench habit), so the numbers agree with them.
// Several lines share one volume (a report and its questions): each image is decoded and preprocessed once in turn.

import { closedCorrect, isClosed, rougeL, tokenF1 } from '../../core/eval/metrics';
import { tokenize } from '../../core/eval/tokenize';
import { scoreResults, type DatasetLine, type Metrics, type ResultLine } from '../../core/eval';
import { ModelError } from '../../core/model/errors';
import { preprocessVolume, type PreprocessedInput, type PreprocessSpec } from '../../core/model/preprocess';
import type { NiftiVolume } from '../../core/nifti/types';
import type { GenerateParams, GenerateResult, GenerationOptions } from '../../shared/modelhost-protocol';
import type { EvalRow } from '../../shared/eval-view-protocol';

export interface EvalDeps {
  prepare(): Promise<{ spec: PreprocessSpec; model: { name: string; version: string; provider: string } }>;
  /** Decodes the image of a line (path relative to the dataset's folder). */
  readVolume(image: string, signal: AbortSignal): Promise<NiftiVolume>;
  generate(params: GenerateParams, signal: AbortSignal): Promise<GenerateResult>;
  /** Settings that still apply (max new tokens, repetition penalty); decoding is forced greedy. */
  options: GenerationOptions;
  now?: () => number;
}

export interface EvalHooks {
  signal: AbortSignal;
  onModel?(model: { name: string; version: string; provider: string }): void;
  onRow?(row: EvalRow, elapsedMs: number): void;
}

export interface EvalOutcome {
  results: ResultLine[];
  rows: EvalRow[];
  /** Scores of the finished lines (null when none finished). */
  metrics: Metrics | null;
  elapsedMs: number;
  cancelled: boolean;
}

/** One row of the table: the line, the model's prediction and its per-sample score. */
export function evalRow(index: number, line: DatasetLine, prediction: string, ms: number): EvalRow {
  let correct: boolean | null = null;
  let score: number | null = null;
  if (line.task === 'report') {
    score = rougeL(tokenize(prediction), tokenize(line.report ?? ''));
  } else if (isClosed(line)) {
    correct = closedCorrect(line, prediction);
  } else {
    score = tokenF1(prediction, line.answer ?? '');
  }
  return {
    index,
    id: line.id,
    task: line.task,
    image: line.image,
    question: line.question,
    reference: line.task === 'report' ? (line.report ?? '') : (line.answer ?? ''),
    prediction,
    correct,
    score,
    ms,
  };
}

export async function runEvaluation(lines: readonly DatasetLine[], deps: EvalDeps, hooks: EvalHooks): Promise<EvalOutcome> {
  const now = deps.now ?? (() => performance.now());
  const t0 = now();
  const results: ResultLine[] = [];
  const rows: EvalRow[] = [];
  const { signal } = hooks;
  let cancelled = false;
  try {
    const { spec, model } = await deps.prepare();
    hooks.onModel?.(model);
    let cachedImage = '';
    let cached: PreprocessedInput | null = null;
    for (const [index, line] of lines.entries()) {
      if (signal.aborted) throw new ModelError('Aborted', 'cancelled');
      const started = now();
      if (line.image !== cachedImage || !cached) {
        const volume = await deps.readVolume(line.image, signal);
        cached = preprocessVolume(volume, spec, signal);
        cachedImage = line.image;
      }
      const result = await deps.generate(
        {
          task: line.task,
          ...(line.task === 'vqa' ? { question: line.question } : {}),
          pixelValues: cached.pixelValues,
          geometry: cached.geometry,
          stats: cached.stats,
          options: { ...deps.options, doSample: false },
        },
        signal,
      );
      results.push({ ...line, prediction: result.text });
      const row = evalRow(index, line, result.text, now() - started);
      rows.push(row);
      hooks.onRow?.(row, now() - t0);
    }
  } catch (error) {
    if (!(signal.aborted || (error instanceof ModelError && error.code === 'Aborted'))) throw error;
    cancelled = true;
  }
  return { results, rows, metrics: results.length ? scoreResults(results) : null, elapsedMs: now() - t0, cancelled };
}
