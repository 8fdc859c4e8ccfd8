// One run of a loaded model as its callers see it: what the model says about itself (ModelInfo), what a run is
// asked (GenerateParams), what it streams (GenerateEvent) and what it returns (GenerateResult: text, timings, the
// routing and its summary, notices). Plain data — no classes, no onnxruntime types — so the same values cross the
// model-host boundary (src/shared/modelhost-protocol.ts carries them) and serve the CLI in-process.

import type { InputGeometry, InputStats } from './preprocess';
import type { RoutingData, RoutingSummary } from './routing';
import type { ExecutionProviderName } from './sessions';
import type { Task } from './task';

export interface ModelInfo {
  /** Package folder name, e.g. `ctlens-tghmoe-demo`. */
  name: string;
  /** `ctlens.version` of the package. */
  version: string;
  packageDir: string;
  /** D, H, W of pixel_values. */
  inputSize: [number, number, number];
  /** Visual-token grid inside the encoder: slices, rows, columns. */
  patchGrid: [number, number, number];
  moeLayers: number[];
  groupNames: string[];
  expertsPerGroup: number;
  topK: number;
  /** What the model was trained on, in the words of the package (shown beside out-of-distribution inputs). */
  trainedOn: string;
}

export interface GenerationOptions {
  maxNewTokens?: number;
  /** EOS is ignored until this many tokens were generated (benchmarks: a fixed-length report). */
  minNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
}

export interface GenerateParams {
  task: Task;
  /** Required for `vqa`. */
  question?: string;
  /** [1, 3, D, H, W] float32 from `preprocessVolume`. */
  pixelValues: Float32Array;
  geometry: InputGeometry;
  stats?: InputStats;
  options?: GenerationOptions;
}

export interface Timings {
  /** Text guidance (embedding of the prompt) + vision encoder. */
  visionMs: number;
  /** Decoder over the whole prompt (image tokens included). */
  prefillMs: number;
  /** Every step after the prefill. */
  decodeMs: number;
  totalMs: number;
  promptTokens: number;
  newTokens: number;
  /** newTokens / decode seconds (the prefill's token counts as the first). */
  tokensPerSecond: number;
}

/** Cancelling is not a finish: a cancelled request ends with an `Aborted` error (the text so far was streamed). */
export type FinishReason = 'eos' | 'length';

export interface GenerateResult {
  /** The model's own text, decoded from its tokens. */
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  timings: Timings;
  provider: ExecutionProviderName;
  model: { name: string; version: string };
  routing: RoutingData;
  routingSummary: RoutingSummary;
  /** "research use only — not for diagnosis" plus, when the input does not look like the training data, why. */
  notices: string[];
}

/** Streamed while a generate request runs. */
export type GenerateEvent =
  | { type: 'stage'; stage: 'vision' | 'prefill' | 'decode' }
  /** New text (never a broken character) and the ids it came from. */
  | { type: 'token'; text: string; tokenIds: number[] };
