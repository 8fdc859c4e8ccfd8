// The typed RPC between a model-host client (extension host, tests) and the model host child process
// (src/modelhost/main.ts). In the style of vscode-hexeditor's shared/protocol.ts: every message is a member of a
// discriminated union, requests carry an id, the reply and any streamed events carry the same id.
//
// Transport: child_process.fork with `serialization: 'advanced'` (the structured clone algorithm), so typed arrays
// such as the pixel tensor and the routing probabilities cross as binary, not JSON. Only plain data lives here:
// no classes, no functions, no onnxruntime types.

import type { GraphDtype, ModelDtype } from '../core/model/dtype';
import type { Mat4 } from '../core/nifti/types';

/** `auto` tries the platform's GPU providers in order, then the CPU. */
export type ExecutionProviderChoice = 'auto' | 'cuda' | 'webgpu' | 'dml' | 'coreml' | 'cpu';
export type ExecutionProviderName = Exclude<ExecutionProviderChoice, 'auto'>;

export type ModelErrorCodeName =
  | 'MissingFile'
  | 'BadConfig'
  | 'VersionMismatch'
  | 'TensorMismatch'
  | 'CorruptModel'
  | 'NonFiniteOutput'
  | 'ProviderUnavailable'
  | 'SessionFailed'
  | 'BadInput'
  | 'Aborted'
  | 'HostCrashed'
  | 'NotLoaded';

/** An error as it crosses the boundary; `message` starts with the code (`MissingFile: …`). */
export interface ErrorValue {
  code: ModelErrorCodeName;
  message: string;
}

/** One provider tried while creating the sessions. */
export interface ProviderAttempt {
  provider: ExecutionProviderName;
  ok: boolean;
  /** Why it could not be used (first line of onnxruntime's message). */
  error?: string;
  ms: number;
}

export interface ProviderReport {
  requested: ExecutionProviderChoice;
  /** The provider the sessions run on. */
  used: ExecutionProviderName;
  attempts: ProviderAttempt[];
  /** The weights the sessions run with (src/core/model/dtype.ts); absent from hosts older than issue 15. */
  dtype?: GraphDtype;
}

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

export interface LoadParams {
  packageDir: string;
  executionProvider: ExecutionProviderChoice;
  /** Intra-op threads; default: the machine's cores. */
  threads?: number;
  /** fp32 | fp16 | auto (fp16 on WebGPU where the package has onnx/*_fp16.onnx); default fp32. */
  dtype?: ModelDtype;
}

export interface LoadResult {
  model: ModelInfo;
  provider: ProviderReport;
  loadMs: number;
  /** true when these sessions were already loaded and were reused. */
  reused: boolean;
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

/**
 * Where the model input came from, in world space: the canonical (RAS) voxel grid the tensor was resampled from.
 * Routing maps use it to place the token grid onto the volume the viewer shows.
 */
export interface InputGeometry {
  /** Canonical voxel counts along R, A, S. */
  canonicalDims: [number, number, number];
  /** Canonical voxel (i→R, j→A, k→S) → world mm (RAS), row-major. */
  canonicalAffine: Mat4;
}

/** Simple intensity statistics of the resampled input, for the out-of-distribution notice. */
export interface InputStats {
  /** Fraction of voxels at lung density (−950…−500 HU). */
  lungFraction: number;
  /** mL of low-density (< −500 HU) regions enclosed by tissue in their axial slice: litres of lung in a chest. */
  enclosedLowDensityMl: number;
  /** Fraction of voxels denser than 300 HU. */
  boneFraction: number;
  /** Fraction of voxels below −950 HU (air). */
  airFraction: number;
  /** Extent of the volume in mm along R, A, S. */
  extentMm: [number, number, number];
  minHu: number;
  maxHu: number;
}

export type Task = 'report' | 'vqa';

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

/** Routing tensors of one run, as the vision encoder output them. */
export interface RoutingData {
  /** [K, G] softmax over groups per MoE layer (batch 1 dropped). */
  groupGates: Float32Array;
  /** [K, N, G, E] dense routing probabilities after top-k masking. */
  routerProbs: Float32Array;
  layers: number[];
  groups: number;
  experts: number;
  /** [slices, rows, cols] of the N visual tokens (N = product). */
  grid: [number, number, number];
  groupNames: string[];
  geometry: InputGeometry;
}

export interface ExpertLoad {
  layer: number;
  group: number;
  expert: number;
  /** Tokens for which this expert is among the top-k of its group. */
  tokens: number;
  /** Mean routing probability over all tokens (0 for tokens that did not pick it). */
  meanProb: number;
}

export interface RoutingSummary {
  /** Per MoE layer: the gate over groups and the group it favours. */
  layers: { layer: number; groupGates: number[]; chosenGroup: number; chosenGroupName: string }[];
  experts: ExpertLoad[];
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

/** Every request method: its params and its result. */
export interface HostMethods {
  load: { params: LoadParams; result: LoadResult };
  generate: { params: GenerateParams; result: GenerateResult };
  unload: { params: Record<string, never>; result: { unloaded: boolean } };
  ping: { params: Record<string, never>; result: { pid: number; loaded: ModelInfo | null } };
}

export type HostMethod = keyof HostMethods;

export type HostRequest = {
  [M in HostMethod]: { type: 'request'; id: number; method: M; params: HostMethods[M]['params'] };
}[HostMethod];

/** Cancels the request with this id (queued or running); the request then ends with an Aborted error. */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

export type ParentToHost = HostRequest | CancelMessage;

export type HostReply = {
  [M in HostMethod]:
    | { type: 'result'; id: number; ok: true; method: M; result: HostMethods[M]['result'] }
    | { type: 'result'; id: number; ok: false; method: M; error: ErrorValue };
}[HostMethod];

export type HostToParent =
  /** Sent once when the host process is ready to take requests. */
  | { type: 'ready'; pid: number }
  | { type: 'event'; id: number; event: GenerateEvent }
  | HostReply;

export function isHostToParent(value: unknown): value is HostToParent {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { type?: unknown }).type;
  return t === 'ready' || t === 'event' || t === 'result';
}

export function isParentToHost(value: unknown): value is ParentToHost {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { type?: unknown; id?: unknown };
  return (v.type === 'request' || v.type === 'cancel') && typeof v.id === 'number';
}
