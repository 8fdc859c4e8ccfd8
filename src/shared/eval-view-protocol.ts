// Messages between the extension host and the evaluation webview panel (CT Lens: Evaluate Dataset). The host runs
// the dataset through the model host and scores it with src/core/eval (the metrics of `ctlens eval` and
// `python3 -m model.evaluate`); the panel shows rows as samples finish, then the metric table.
//
//   view → host  ready | save | cancel
//   host → view  evalState (everything, on ready) | evalRow (one finished sample) | evalState again at the end

import type { Metrics } from '../core/eval';
import type { Task } from '../core/model/task';

export interface EvalRow {
  /** 0-based position in the dataset. */
  index: number;
  id: string;
  task: Task;
  image: string;
  question: string;
  /** The reference answer or report. */
  reference: string;
  prediction: string;
  /** Closed VQA: whether the prediction is right by the M3D rule; null otherwise. */
  correct: boolean | null;
  /** Open VQA: token F1; reports: ROUGE-L F; null for closed VQA. */
  score: number | null;
  ms: number;
}

export type EvalStatus = 'running' | 'done' | 'cancelled' | 'failed';

export interface EvalState {
  dataset: string;
  total: number;
  status: EvalStatus;
  model?: { name: string; version: string; provider: string };
  rows: EvalRow[];
  /** Scores of the rows done so far (all of them when status is done). */
  metrics: Metrics | null;
  elapsedMs: number;
  error?: string;
  /** Where the results JSON was written. */
  savedAs?: string;
}

export type EvalViewToHost = { type: 'ready' } | { type: 'save' } | { type: 'cancel' };

export type EvalHostToView = { type: 'evalState'; state: EvalState } | { type: 'evalRow'; row: EvalRow; elapsedMs: number };
