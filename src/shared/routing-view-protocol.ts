// Messages between the extension host and the Routing webview view (activity bar "CT Lens" → Routing). The view
// shows, for one model run of the volume in front, what the TGH-MoE vision encoder's router did: per MoE layer the
// text-guided group gate, per expert its token load; picking an expert draws its routing weight over the volume in
// the viewer (an OverlayVolume built in the host from the run's router_probs). Everything shown is the model's own
// output for that run, carried in the run's GenerateResult.
//
//   view → host  ready | selectRun | selectExpert | selectDominant | setStyle | clearHeatmap | generateReport | openSample
//   host → view  routingState (whole state; small: K layers × G groups × E experts)

import type { Task } from '../core/model/task';
import type { OverlayColormap } from './overlay';

export interface RoutingRunOption {
  id: string;
  /** "Report" or the question. */
  label: string;
  task: Task;
}

export interface RoutingLayerView {
  /** Encoder block index. */
  layer: number;
  /** Softmax over groups (the text-guided gate), one per group. */
  gates: number[];
  chosenGroup: number;
  /** Per group, per expert: tokens routed to it (top-k) and mean routing probability over all tokens. */
  experts: { group: number; expert: number; tokens: number; meanProb: number }[];
}

export interface RoutingRunView {
  id: string;
  label: string;
  task: Task;
  groupNames: string[];
  layers: RoutingLayerView[];
  /** Visual tokens per layer (slices × rows × cols of the token grid). */
  tokens: number;
  grid: [number, number, number];
  topK: number;
}

/** What the heatmap shows: one expert's weight, or per token the expert with the largest gated weight. */
export type HeatmapSelection =
  | { kind: 'expert'; layerIndex: number; group: number; expert: number }
  | { kind: 'dominant'; layerIndex: number };

export interface HeatmapStyle {
  colormap: OverlayColormap;
  opacity: number;
  /** Weights at or below it are transparent (0..1). */
  threshold: number;
  /** Multiply by the group gate: the weight the expert's output actually had (otherwise the router probability). */
  gated: boolean;
  /**
   * Colour scale: 'map' spans this map's own min..max (shows where an expert is used more or less, even when its
   * probabilities are close); 'unit' spans 0..1 (the same colours mean the same weight for every expert and run).
   */
  scale: 'map' | 'unit';
}

export const DEFAULT_HEATMAP_STYLE: HeatmapStyle = { colormap: 'hot', opacity: 0.55, threshold: 0.02, gated: false, scale: 'map' };

export interface RoutingState {
  /** File name of the volume in front, or null when no CT Lens viewer is open. */
  volume: string | null;
  runs: RoutingRunOption[];
  /** The run shown (null: no finished run yet). */
  run: RoutingRunView | null;
  /** The run its gates are compared with: the report when an answer is shown, else the latest answer. */
  compare: RoutingRunView | null;
  selection: HeatmapSelection | null;
  style: HeatmapStyle;
  /** The overlay id drawn in the viewer, when the heatmap is on. */
  overlayId: string | null;
  /** Values at the two ends of the colour scale of the drawn heatmap. */
  heatmapRange?: [number, number];
  /** Why the heatmap could not be drawn (no viewer, …). */
  error?: string;
}

export type RoutingViewToHost =
  | { type: 'ready' }
  | { type: 'selectRun'; id: string }
  | { type: 'selectExpert'; layerIndex: number; group: number; expert: number }
  | { type: 'selectDominant'; layerIndex: number }
  | { type: 'setStyle'; style: Partial<HeatmapStyle> }
  | { type: 'clearHeatmap' }
  | { type: 'generateReport' }
  | { type: 'openSample' };

export type RoutingHostToView = { type: 'routingState'; state: RoutingState };
