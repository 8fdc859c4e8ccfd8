// Where the model runs, in the words the status bar, the Model view and the viewer's report line use: `WebGPU · fp16`,
// `CPU`, `CUDA`, and the providers tried with why any failed (issue 15). Shared by the extension and the webviews.
//
// The attempts are listed as they happened, so one provider can appear twice: with `dtype` auto on an adapter
// without shader-f16 (SwiftShader), WebGPU first fails on the fp16 graphs ("fp16 graphs: …") and then runs fp32.

import type { ExecutionProviderChoice, ProviderAttempt, ProviderReport } from './modelhost-protocol';

const NAMES: Record<ExecutionProviderChoice, string> = {
  auto: 'auto',
  cuda: 'CUDA',
  webgpu: 'WebGPU',
  dml: 'DirectML',
  coreml: 'CoreML',
  cpu: 'CPU',
};

/** `webgpu` → `WebGPU`; an unknown name is shown as it came. */
export function providerName(provider: string): string {
  return Object.hasOwn(NAMES, provider) ? NAMES[provider as ExecutionProviderChoice] : provider;
}

/** What runs: `WebGPU · fp16`, `WebGPU`, `CPU` (fp32, the default, is not named). */
export function providerLabel(report: Pick<ProviderReport, 'used' | 'dtype'>): string {
  return `${providerName(report.used)}${report.dtype === 'fp16' ? ' · fp16' : ''}`;
}

/** How an attempt went: `ok (812 ms)`, `not used — onnxruntime-node was installed without …`. */
export function attemptOutcome(a: ProviderAttempt): string {
  return a.ok ? `ok (${Math.round(a.ms)} ms)` : `not used — ${a.error ?? 'failed'}`;
}

/** One attempt in a line: `CUDA: not used — …`, `WebGPU: ok (812 ms)`. */
export function attemptLine(a: ProviderAttempt): string {
  return `${providerName(a.provider)}: ${attemptOutcome(a)}`;
}
