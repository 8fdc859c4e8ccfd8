// TGH-MoE routing, turned into things a researcher can look at: per layer / group / expert heatmaps placed on the
// volume (OverlayVolume, contract C2), the load each expert carried, and which task group the prompt selected.
//
// Geometry. The encoder sees pixel_values [D, H, W] resampled from the canonical volume [nR, nA, nS] with
// align_corners=False, so tensor voxel w covers the canonical index interval [w·nR/W − ½, (w+1)·nR/W − ½]. Its
// visual tokens form a grid [Dg, Hg, Wg] of patches of whole tensor voxels, so grid cell a along R covers
// [a·nR/Wg − ½, (a+1)·nR/Wg − ½]: an affine map (scale nR/Wg, centre (a+½)·nR/Wg − ½). Composed with the canonical
// affine this gives the overlay's own voxel → world affine, and the viewer samples it in world space.
// Token order inside router_probs is slice-major: n = (d·Hg + h)·Wg + w, the same as the overlay's i-fastest order
// with i along R (w), j along A (h), k along S (d) — so the data is used as is.

import { multiply4 } from '../nifti/affine';
import type { Mat4 } from '../nifti/types';
import type { OverlayVolume } from '../volume/overlay';
import type { InputGeometry } from './preprocess';

/** Routing tensors of one run, as the vision encoder output them. */
export interface RoutingData {
  /** [K, G] softmax over groups per MoE layer (batch 1 dropped). */
  groupGates: Float32Array;
  /** [K, N, G, E] dense routing probabilities after top-k masking. */
  routerProbs: Float32Array;
  layers: number[];
  groups: number;
  /** Experts per group. */
  experts: number;
  /** Experts each token picks in every group (the package's `moe.top_k`): the nonzero entries of routerProbs. */
  topK: number;
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

/** Token-grid voxel (i→R, j→A, k→S) → canonical voxel index, for a grid [Dg, Hg, Wg] over canonical dims. */
export function gridToCanonical(grid: [number, number, number], canonicalDims: [number, number, number]): Mat4 {
  const [dg, hg, wg] = grid;
  const [nR, nA, nS] = canonicalDims;
  const s = [nR / wg, nA / hg, nS / dg];
  return [
    [s[0]!, 0, 0, (s[0]! - 1) / 2],
    [0, s[1]!, 0, (s[1]! - 1) / 2],
    [0, 0, s[2]!, (s[2]! - 1) / 2],
    [0, 0, 0, 1],
  ];
}

/** Token-grid voxel → world mm (RAS): the affine of every routing overlay of a run. */
export function routingGridAffine(grid: [number, number, number], geometry: InputGeometry): Mat4 {
  return multiply4(geometry.canonicalAffine, gridToCanonical(grid, geometry.canonicalDims));
}

function tokenCount(r: RoutingData): number {
  return r.grid[0] * r.grid[1] * r.grid[2];
}

function checkIndices(r: RoutingData, layerIndex: number, group: number, expert?: number): void {
  if (!(layerIndex >= 0 && layerIndex < r.layers.length)) throw new RangeError(`layer index ${layerIndex} out of 0..${r.layers.length - 1}`);
  if (!(group >= 0 && group < r.groups)) throw new RangeError(`group ${group} out of 0..${r.groups - 1}`);
  if (expert !== undefined && !(expert >= 0 && expert < r.experts)) throw new RangeError(`expert ${expert} out of 0..${r.experts - 1}`);
}

/**
 * One expert's routing probability per visual token (0 where the token did not pick it), as a scalar overlay.
 * `gated` multiplies by the layer's group gate, i.e. the weight the expert's output actually had in y_i.
 */
export function expertOverlay(
  r: RoutingData,
  layerIndex: number,
  group: number,
  expert: number,
  options: { gated?: boolean } = {},
): OverlayVolume {
  checkIndices(r, layerIndex, group, expert);
  const n = tokenCount(r);
  const { groups: G, experts: E } = r;
  const gate = options.gated ? r.groupGates[layerIndex * G + group]! : 1;
  const data = new Float32Array(n);
  const base = layerIndex * n * G * E;
  for (let t = 0; t < n; t++) data[t] = gate * r.routerProbs[base + (t * G + group) * E + expert]!;
  const layer = r.layers[layerIndex]!;
  const groupName = r.groupNames[group] ?? `group ${group}`;
  return {
    id: `routing/L${layer}/G${group}/E${expert}${options.gated ? '/gated' : ''}`,
    name: `Layer ${layer} · ${groupName} · expert ${expert}${options.gated ? ' (× group gate)' : ''}`,
    kind: 'scalar',
    dims: [r.grid[2], r.grid[1], r.grid[0]],
    affine: routingGridAffine(r.grid, r.geometry),
    data,
    colormap: 'hot',
    range: [0, 1],
    threshold: 0,
    opacity: 0.5,
  };
}

/**
 * Per token, the expert with the largest gated weight g_g·p_{g,e} in one layer, as a label map: label
 * 1 + g·E + e (0 = background never occurs: every token picks top-k experts in every group).
 */
export function dominantExpertOverlay(r: RoutingData, layerIndex: number): OverlayVolume {
  checkIndices(r, layerIndex, 0);
  const n = tokenCount(r);
  const { groups: G, experts: E } = r;
  const data = new Uint8Array(n);
  const base = layerIndex * n * G * E;
  for (let t = 0; t < n; t++) {
    let best = -1;
    let bestW = -Infinity;
    for (let g = 0; g < G; g++) {
      const gate = r.groupGates[layerIndex * G + g]!;
      for (let e = 0; e < E; e++) {
        const w = gate * r.routerProbs[base + (t * G + g) * E + e]!;
        if (w > bestW) {
          bestW = w;
          best = g * E + e;
        }
      }
    }
    data[t] = best + 1;
  }
  const layer = r.layers[layerIndex]!;
  return {
    id: `routing/L${layer}/dominant`,
    name: `Layer ${layer} · dominant expert`,
    kind: 'label',
    dims: [r.grid[2], r.grid[1], r.grid[0]],
    affine: routingGridAffine(r.grid, r.geometry),
    data,
    colormap: 'labels',
    opacity: 0.45,
  };
}

/** Group gates, the chosen group per layer, and each expert's load (token count and mean probability). */
export function summarizeRouting(r: RoutingData): RoutingSummary {
  const n = tokenCount(r);
  const { groups: G, experts: E } = r;
  const layers: RoutingSummary['layers'] = [];
  const experts: ExpertLoad[] = [];
  r.layers.forEach((layer, li) => {
    const gates = Array.from(r.groupGates.subarray(li * G, (li + 1) * G));
    let chosen = 0;
    for (let g = 1; g < G; g++) if (gates[g]! > gates[chosen]!) chosen = g;
    layers.push({ layer, groupGates: gates, chosenGroup: chosen, chosenGroupName: r.groupNames[chosen] ?? `group ${chosen}` });
    const base = li * n * G * E;
    for (let g = 0; g < G; g++) {
      for (let e = 0; e < E; e++) {
        let tokens = 0;
        let sum = 0;
        for (let t = 0; t < n; t++) {
          const p = r.routerProbs[base + (t * G + g) * E + e]!;
          if (p > 0) tokens++;
          sum += p;
        }
        experts.push({ layer, group: g, expert: e, tokens, meanProb: sum / n });
      }
    }
  });
  return { layers, experts };
}

/** Checks the routing tensors against the shapes the package config promises. */
export function routingShapeProblem(r: RoutingData): string | null {
  const K = r.layers.length;
  const n = tokenCount(r);
  if (r.groupGates.length !== K * r.groups) return `group_gates has ${r.groupGates.length} values, expected ${K}×${r.groups}`;
  const want = K * n * r.groups * r.experts;
  if (r.routerProbs.length !== want) return `router_probs has ${r.routerProbs.length} values, expected ${K}×${n}×${r.groups}×${r.experts}`;
  return null;
}
