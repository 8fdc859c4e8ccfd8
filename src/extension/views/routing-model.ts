// What the Routing view shows, computed from a run's routing outputs — no `vscode` import, unit-tested: the per-layer
// view of gates and expert loads (the summary and top-k the model host sent with the run, never recomputed here),
// the run labels, and the heatmap overlay for a selection (expertOverlay / dominantExpertOverlay of
// src/core/model/routing.ts, with the view's colormap, opacity and threshold applied).

import { dominantExpertOverlay, expertOverlay, type RoutingData, type RoutingSummary } from '../../core/model/routing';
import { overlayDataRange, type OverlayVolume } from '../../core/volume/overlay';
import type { RunInfo } from '../../shared/protocol';
import type { HeatmapSelection, HeatmapStyle, RoutingRunOption, RoutingRunView } from '../../shared/routing-view-protocol';

export interface RoutedRun {
  info: RunInfo;
  routing?: RoutingData;
  /** The host's summary of `routing` (GenerateResult.routingSummary). */
  summary?: RoutingSummary;
}

export function runLabel(info: RunInfo): string {
  if (info.task === 'report') return 'Report';
  const q = (info.question ?? '').replace(/\s*Choices\s*:[\s\S]*$/i, '').trim();
  return q.length > 60 ? `Q: ${q.slice(0, 57)}…` : `Q: ${q}`;
}

export function runOption(run: RoutedRun): RoutingRunOption {
  return { id: run.info.id, label: runLabel(run.info), task: run.info.task };
}

export function routingRunView(run: RoutedRun): RoutingRunView | null {
  const r = run.routing;
  const summary = run.summary;
  if (!r || !summary) return null;
  return {
    id: run.info.id,
    label: runLabel(run.info),
    task: run.info.task,
    groupNames: r.groupNames.map((n, g) => n || `group ${g}`),
    tokens: r.grid[0] * r.grid[1] * r.grid[2],
    grid: r.grid,
    topK: r.topK,
    layers: summary.layers.map((l) => ({
      layer: l.layer,
      gates: l.groupGates,
      chosenGroup: l.chosenGroup,
      experts: summary.experts
        .filter((e) => e.layer === l.layer)
        .map((e) => ({ group: e.group, expert: e.expert, tokens: e.tokens, meanProb: e.meanProb })),
    })),
  };
}

/** The run whose gates the shown one is compared with: the report for an answer; the latest answer for a report. */
export function comparisonRun<T extends RoutedRun>(runs: readonly T[], shown: T): T | null {
  if (shown.info.task === 'vqa') return runs.find((r) => r.info.task === 'report' && r.routing) ?? null;
  return [...runs].reverse().find((r) => r.info.task === 'vqa' && r.routing) ?? null;
}

/** Is a selection valid for a run's routing (layers, groups and experts within range)? */
export function selectionFits(selection: HeatmapSelection, r: RoutingData): boolean {
  if (!(selection.layerIndex >= 0 && selection.layerIndex < r.layers.length)) return false;
  if (selection.kind === 'dominant') return true;
  return selection.group >= 0 && selection.group < r.groups && selection.expert >= 0 && selection.expert < r.experts;
}

/** The heatmap overlay of a selection, styled; its id names the run so a new run's map replaces the old one. */
export function heatmapOverlay(runId: string, r: RoutingData, selection: HeatmapSelection, style: HeatmapStyle): OverlayVolume {
  if (selection.kind === 'dominant') {
    const o = dominantExpertOverlay(r, selection.layerIndex);
    return { ...o, id: `${runId}/${o.id}`, opacity: style.opacity };
  }
  const o = expertOverlay(r, selection.layerIndex, selection.group, selection.expert, { gated: style.gated });
  let range: [number, number] = [0, 1];
  if (style.scale === 'map') {
    const [lo, hi] = overlayDataRange(o.data);
    // A constant map still needs a non-empty range; keep it inside 0..1.
    range = hi > lo ? [lo, hi] : [Math.max(0, lo - 0.01), Math.min(1, hi + 0.01)];
  }
  return {
    ...o,
    id: `${runId}/${o.id}`,
    colormap: style.colormap === 'labels' ? 'hot' : style.colormap,
    opacity: style.opacity,
    threshold: style.threshold,
    range,
  };
}
