// Errors a user can see from the model runtime: a code naming the problem, a message that starts with the code
// (the house style of NiftiError), and the underlying cause when there is one. They cross the model-host boundary
// as plain {code, message} values (see src/shared/modelhost-protocol.ts's ErrorValue), so the code set is closed.

/**
 * MissingFile (a package file is absent) · BadConfig (invalid JSON or a required field missing) · VersionMismatch
 * (`ctlens.version` not understood) · TensorMismatch (a graph's inputs/outputs differ from the config) ·
 * CorruptModel (a graph file that is not a valid ONNX model, or that onnxruntime cannot build even on the CPU) ·
 * NonFiniteOutput (a graph produced NaN or ±Infinity — damaged weights: the run stops instead of decoding garbage) ·
 * ProviderUnavailable (no execution provider could create a session) · SessionFailed (onnxruntime refused a graph
 * or failed running it) · BadInput (a tensor or request that does not fit the model) · Aborted (the caller
 * cancelled) · HostCrashed (the model host died) · NotLoaded (a request before any model was loaded).
 */
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

export type ModelErrorCode = ModelErrorCodeName;

export class ModelError extends Error {
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'ModelError';
    this.code = code;
  }
}

/** Turns whatever an AbortSignal carries into the runtime's own Aborted error. */
export function abortError(signal?: AbortSignal): ModelError {
  const reason = signal?.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'cancelled';
  return new ModelError('Aborted', why, { cause: reason });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

/** A short one-line description of an unknown thrown value, for error messages that wrap it. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!.trim();
  return String(e);
}
