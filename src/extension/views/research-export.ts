// What `CT Lens: Save Heatmap as NIfTI` writes beside the volume, computed without `vscode` (unit-tested): the file
// names, and the run as JSON (text, question, package, provider, timings, per-layer group gates, per-expert load) so
// a researcher can analyse the routing in Python next to the heatmap NIfTI (src/core/nifti/overlay-grid.ts).
import type { RoutingData, RoutingSummary } from '../../core/model/routing';
import type { RunInfo } from '../../shared/protocol';
import type { HeatmapSelection } from '../../shared/routing-view-protocol';

/** The volume's file name without .nii / .nii.gz / .dcm. */
export function volumeStem(name: string): string {
  return name.replace(/\.(nii(\.gz)?|dcm)$/i, '') || 'volume';
}

/** `head.routing-<run>-L<layer>-g<group>e<expert>.nii.gz` or `…-L<layer>-dominant.nii.gz`. */
export function heatmapFileName(volumeName: string, runId: string, r: RoutingData, selection: HeatmapSelection): string {
  const layer = r.layers[selection.layerIndex] ?? selection.layerIndex;
  const what = selection.kind === 'dominant' ? 'dominant' : `g${selection.group}e${selection.expert}`;
  return `${volumeStem(volumeName)}.routing-${safe(runId)}-L${layer}-${what}.nii.gz`;
}

export function runFileName(volumeName: string, runId: string): string {
  return `${volumeStem(volumeName)}.run-${safe(runId)}.json`;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

/** The run as plain JSON; `routed` is the run's routing and the summary the model host sent with it. */
export function runJson(
  volumeName: string,
  info: RunInfo,
  routed: { routing?: RoutingData; summary?: RoutingSummary },
  heatmap?: { file: string; selection: HeatmapSelection },
) {
  const res = info.result;
  const { routing, summary } = routed;
  return {
    format: 'ctlens-run/1',
    volume: volumeName,
    run: {
      id: info.id,
      task: info.task,
      status: info.status,
      startedAt: new Date(info.startedAt).toISOString(),
      ...(info.question !== undefined ? { question: info.question } : {}),
      ...(info.choices ? { choices: info.choices } : {}),
      text: info.text,
      ...(res?.pickedChoice !== undefined ? { pickedChoice: res.pickedChoice } : {}),
      ...(info.error ? { error: info.error } : {}),
    },
    ...(res
      ? {
          package: { model: res.model, version: res.version },
          provider: res.provider,
          decoding: res.decoding,
          finishReason: res.finishReason,
          timings: { ...res.timings, ...(res.firstTextMs !== undefined ? { firstTextMs: res.firstTextMs } : {}) },
          notices: res.notices,
        }
      : {}),
    ...(routing && summary
      ? {
          routing: {
            layers: routing.layers,
            groups: routing.groups,
            experts: routing.experts,
            groupNames: routing.groupNames,
            tokenGrid: routing.grid, // [slices, rows, cols] of the visual tokens
            gates: summary.layers,
            expertLoad: summary.experts,
          },
        }
      : {}),
    ...(heatmap ? { heatmap } : {}),
  };
}
