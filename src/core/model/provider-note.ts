// What a provider report says in one line, without onnxruntime (sessions.ts loads the native binding; the
// extension host, which never runs the model, can import this).

import type { ProviderReport } from './sessions';

/**
 * The one line that says why `auto` did not get the first provider it tried ("running on cpu: cuda: …; webgpu: no
 * WebGPU adapter …"), or null when it did or the provider was chosen explicitly. The CLI writes it to stderr and
 * the extension to its output channel, once per load.
 */
export function fallbackNote(report: ProviderReport): string | null {
  if (report.requested !== 'auto') return null;
  const failed = report.attempts.filter((a) => !a.ok);
  if (failed.length === 0) return null;
  return `running on ${report.used}: ${failed.map((a) => `${a.provider}: ${a.error}`).join('; ')}`;
}
