// Scoring of results lines (C5) with the metrics of model/metrics.py: `scoreResults` is what `ctlens eval` calls,
// and its numbers equal `python3 -m model.evaluate --predictions … --json` on the same lines (≤ 1e-9).

import { EvalError } from './dataset';
import {
  ciderD,
  closedCorrect,
  corpusBleu,
  findingCounts,
  isClosed,
  meteor,
  microF1,
  rouge1,
  rougeL,
  tokenF1,
} from './metrics';
import { tokenize } from './tokenize';

export * from './dataset';
export { labelReport, FINDINGS, type Finding, type FindingLabels } from './labeller';
export { stem } from './porter';
export { tokenize } from './tokenize';

export const METRIC_KEYS = [
  'bleu1', 'bleu2', 'bleu3', 'bleu4', 'rouge1', 'rougeL', 'meteor', 'cider', 'closed_vqa_accuracy', 'open_vqa_f1',
  'finding_f1', 'n_report', 'n_vqa',
] as const;

/** Fractions in 0..1 except `cider` (pycocoevalcap's 0–10 scale); null where the group has no samples. */
export interface Metrics {
  bleu1: number | null;
  bleu2: number | null;
  bleu3: number | null;
  bleu4: number | null;
  rouge1: number | null;
  rougeL: number | null;
  meteor: number | null;
  cider: number | null;
  closed_vqa_accuracy: number | null;
  open_vqa_f1: number | null;
  finding_f1: number | null;
  n_report: number;
  n_vqa: number;
}

export interface ScoreOptions {
  signal?: AbortSignal;
}

const mean = (xs: readonly number[]): number | null => {
  if (!xs.length) return null;
  let s = 0;
  for (const x of xs) s += x; // left to right, as Python's sum()
  return s / xs.length;
};

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EvalError('Aborted', 'scoring was cancelled');
}

/** The C5 metrics of results lines. Lines are plain objects (e.g. from readResults or JSON.parse). */
export function scoreResults(lines: readonly Record<string, unknown>[], options: ScoreOptions = {}): Metrics {
  const reportH: string[][] = [];
  const reportR: string[][] = [];
  const predsRaw: string[] = [];
  const refsRaw: string[] = [];
  const closed: number[] = [];
  const openF1: number[] = [];
  lines.forEach((line, i) => {
    if (i % 256 === 0) checkAbort(options.signal);
    const at = `line ${i + 1}` + (line && typeof line === 'object' && 'id' in line ? ` (id ${String(line.id)})` : '');
    if (line === null || typeof line !== 'object' || Array.isArray(line)) throw new EvalError('BadLine', `${at}: not a JSON object`);
    const pred = line.prediction;
    if (typeof pred !== 'string') {
      throw new EvalError('BadLine', `${at}: no 'prediction' string (score results lines, not dataset lines)`);
    }
    if (line.task === 'report') {
      if (typeof line.report !== 'string') throw new EvalError('BadLine', `${at}: report sample without a 'report' string`);
      reportH.push(tokenize(pred));
      reportR.push(tokenize(line.report));
      predsRaw.push(pred);
      refsRaw.push(line.report);
    } else if (line.task === 'vqa') {
      if (typeof line.answer !== 'string') throw new EvalError('BadLine', `${at}: VQA sample without an 'answer' string`);
      if (isClosed(line)) closed.push(closedCorrect(line, pred) ? 1 : 0);
      else openF1.push(tokenF1(pred, line.answer));
    } else {
      throw new EvalError('BadLine', `${at}: task must be 'report' or 'vqa', got ${JSON.stringify(line.task ?? null)}`);
    }
  });
  const out: Metrics = {
    bleu1: null, bleu2: null, bleu3: null, bleu4: null, rouge1: null, rougeL: null, meteor: null, cider: null,
    closed_vqa_accuracy: mean(closed),
    open_vqa_f1: mean(openF1),
    finding_f1: null,
    n_report: reportH.length,
    n_vqa: closed.length + openF1.length,
  };
  if (reportH.length) {
    const bleu = corpusBleu(reportH, reportR, 4);
    [out.bleu1, out.bleu2, out.bleu3, out.bleu4] = bleu as [number, number, number, number];
    out.rouge1 = mean(reportH.map((h, k) => rouge1(h, reportR[k]!)));
    out.rougeL = mean(reportH.map((h, k) => rougeL(h, reportR[k]!)));
    checkAbort(options.signal);
    out.meteor = mean(reportH.map((h, k) => meteor(h, reportR[k]!)));
    out.cider = mean(ciderD(reportH, reportR));
    checkAbort(options.signal);
    out.finding_f1 = microF1(...findingCounts(predsRaw, refsRaw));
  }
  return out;
}
