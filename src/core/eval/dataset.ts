// Dataset and results lines (contract C5) read from JSON Lines, with refusals that name the line.
//   dataset line: {id, image, task: "report" | "vqa", question, answer?, report?, choices?, answer_type?, labels}
//   results line: a dataset line plus `prediction: string`
// `image` is relative to the jsonl file's folder.

import type { Task } from '../model/task';

export type EvalErrorCode =
  /** A line is not JSON, or not an object. */
  | 'BadJson'
  /** A line lacks a field scoring needs, or has the wrong type. */
  | 'BadLine'
  /** Nothing to score. */
  | 'Empty'
  /** Results to merge disagree about one sample. */
  | 'Conflict'
  /** The caller's AbortSignal fired. */
  | 'Aborted';

export class EvalError extends Error {
  override readonly name = 'EvalError';
  readonly code: EvalErrorCode;

  constructor(code: EvalErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
  }
}

export interface DatasetLine {
  id: string;
  image: string;
  task: Task;
  question: string;
  answer?: string;
  report?: string;
  choices?: string[];
  answer_type?: 'closed' | 'open';
  labels?: Record<string, unknown>;
  /** Anything else the line carries (e.g. `case`, `qtype`) is kept as is. */
  [extra: string]: unknown;
}

export interface ResultLine extends DatasetLine {
  prediction: string;
}

/** Parses JSON Lines text into objects; blank lines are skipped; `source` names the file in messages. */
export function parseJsonl(text: string, source = 'input'): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const rows = text.split('\n');
  for (let n = 0; n < rows.length; n++) {
    const raw = rows[n]!.trim();
    if (!raw) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new EvalError('BadJson', `${source}:${n + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new EvalError('BadJson', `${source}:${n + 1}: each line must be a JSON object`);
    }
    out.push(obj as Record<string, unknown>);
  }
  return out;
}

function where(line: Record<string, unknown>, index: number): string {
  return `line ${index + 1}` + ('id' in line ? ` (id ${String(line.id)})` : '');
}

/** Checks the fields a dataset line needs to be run and scored. */
export function asDatasetLine(line: Record<string, unknown>, index: number): DatasetLine {
  const at = where(line, index);
  if (typeof line.id !== 'string' || !line.id) throw new EvalError('BadLine', `${at}: no 'id' string`);
  if (typeof line.image !== 'string' || !line.image) throw new EvalError('BadLine', `${at}: no 'image' path`);
  if (line.task !== 'report' && line.task !== 'vqa') {
    throw new EvalError('BadLine', `${at}: task must be 'report' or 'vqa', got ${JSON.stringify(line.task)}`);
  }
  if (typeof line.question !== 'string') throw new EvalError('BadLine', `${at}: no 'question' string`);
  if (line.task === 'report' && typeof line.report !== 'string') {
    throw new EvalError('BadLine', `${at}: report sample without a 'report' string`);
  }
  if (line.task === 'vqa' && typeof line.answer !== 'string') {
    throw new EvalError('BadLine', `${at}: VQA sample without an 'answer' string`);
  }
  if (line.choices !== undefined && !(Array.isArray(line.choices) && line.choices.every((c) => typeof c === 'string'))) {
    throw new EvalError('BadLine', `${at}: 'choices' must be a list of strings`);
  }
  return line as DatasetLine;
}

/** Dataset lines of a dataset.jsonl text. */
export function readDataset(text: string, source = 'dataset'): DatasetLine[] {
  return parseJsonl(text, source).map(asDatasetLine);
}

/** Results lines of a results jsonl text (refuses dataset lines without predictions). */
export function readResults(text: string, source = 'results'): ResultLine[] {
  return parseJsonl(text, source).map((line, i) => {
    if (typeof line.prediction !== 'string') {
      throw new EvalError('BadLine', `${where(line, i)}: no 'prediction' string (score results lines, not dataset lines)`);
    }
    return line as ResultLine;
  });
}

/** Lines of shard `index` (0-based) of `count`: every count-th line from index, so shards stay balanced when a
 * dataset is ordered by case. Merging all shards' results and scoring them equals scoring the whole. */
export function selectShard<T>(lines: readonly T[], index: number, count: number): T[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`shard ${index}/${count}: want 0 ≤ i < N`);
  }
  return lines.filter((_, k) => k % count === index);
}

/** Results of several shards as one list, in first-seen order; the same id twice must carry the same prediction. */
export function mergeResults(parts: readonly (readonly ResultLine[])[]): ResultLine[] {
  const byId = new Map<string, ResultLine>();
  for (const part of parts) {
    for (const line of part) {
      const prev = byId.get(line.id);
      if (prev && prev.prediction !== line.prediction) {
        throw new EvalError('Conflict', `id ${line.id} appears twice with different predictions`);
      }
      if (!prev) byId.set(line.id, line);
    }
  }
  return [...byId.values()];
}
