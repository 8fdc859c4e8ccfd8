// The typed RPC between a model-host client (extension host, tests) and the model host child process
// (src/modelhost/main.ts). In the style of vscode-hexeditor's shared/protocol.ts: every message is a member of a
// discriminated union, requests carry an id, the reply and any streamed events carry the same id.
//
// Transport: child_process.fork with `serialization: 'advanced'` (the structured clone algorithm), so typed arrays
// such as the pixel tensor and the routing probabilities cross as binary, not JSON. Only plain data lives here:
// no classes, no functions, no onnxruntime types.

// The wire depends on the model, never the reverse (issue 10): what a load or a run takes and returns is domain data
// defined in src/core/model and re-exported here; this file adds only the envelope — methods, ids, errors as values.
import type { ModelDtype } from '../core/model/dtype';

import type { ModelErrorCodeName } from '../core/model/errors';
import type { PreprocessSpec } from '../core/model/preprocess';
import type { ExecutionProviderChoice, ProviderReport } from '../core/model/sessions';
import type { GenerateEvent, GenerateParams, GenerateResult, ModelInfo } from '../core/model/run';

export type { ModelErrorCodeName } from '../core/model/errors';
export type { InputGeometry, InputStats } from '../core/model/preprocess';
export type { ExpertLoad, RoutingData, RoutingSummary } from '../core/model/routing';
export type { Task } from '../core/model/task';
export type { ExecutionProviderChoice, ExecutionProviderName, ProviderAttempt, ProviderReport } from '../core/model/sessions';
export type { FinishReason, GenerateEvent, GenerateParams, GenerateResult, GenerationOptions, ModelInfo, Timings } from '../core/model/run';

/** An error as it crosses the boundary; `message` starts with the code (`MissingFile: …`). */
export interface ErrorValue {
  code: ModelErrorCodeName;
  message: string;
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
  /**
   * How the loaded package wants its input prepared (config.json `ctlens`): the extension host preprocesses the
   * volume where it already is, with the spec of the package the host read — it never reads the package again.
   */
  preprocess: PreprocessSpec;
}

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
