// Sampling and colouring of an overlay (contract C2) at displayed points. The overlay is reached through world
// space: display voxel → world (base affine) → overlay voxel (inverse overlay affine), so a coarse routing grid and a
// full-resolution mask both land where they belong. Label maps sample the nearest voxel; scalar maps interpolate
// trilinearly with clamp-to-edge, as the GPU's linear filtering does, so both renderers agree.

import { applyAffine } from '../../src/core/nifti/affine';
import { sampleOverlay } from '../../src/core/nifti/overlay-grid';
import type { Mat4 } from '../../src/core/nifti/types';
import { defaultOverlayStyle, OverlayColormap, OverlayStyle, OverlayVolume } from '../../src/shared/overlay';
import { DisplayFrame, displayToOtherVoxel } from './geometry';

// ------------------------------------------------------------------ colormaps as 256-entry RGBA tables

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 145, 140],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Distinct colours for label values 1, 2, 3, …; cycles after twelve. Label 0 is background. */
const LABEL_PALETTE: readonly [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
];

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

function rgbAt(name: OverlayColormap, index: number): [number, number, number] {
  const t = index / 255;
  switch (name) {
    case 'gray':
      return [index, index, index];
    case 'hot':
      return [clamp01(3 * t), clamp01(3 * t - 1), clamp01(3 * t - 2)].map((c) => Math.round(c * 255)) as [number, number, number];
    case 'jet':
      return [3, 2, 1].map((k) => Math.round(clamp01(1.5 - Math.abs(4 * t - k)) * 255)) as [number, number, number];
    case 'viridis': {
      const x = t * (VIRIDIS.length - 1);
      const lo = Math.min(VIRIDIS.length - 2, Math.floor(x));
      const f = x - lo;
      return [0, 1, 2].map((c) => Math.round(VIRIDIS[lo]![c]! * (1 - f) + VIRIDIS[lo + 1]![c]! * f)) as [number, number, number];
    }
    case 'labels':
      return index === 0 ? [0, 0, 0] : LABEL_PALETTE[(index - 1) % LABEL_PALETTE.length]!;
  }
}

const lutCache = new Map<OverlayColormap, Uint8Array>();

/** 256 RGBA entries (alpha 255); for 'labels' the entry index is the label value. */
export function colormapLUT(name: OverlayColormap): Uint8Array {
  let lut = lutCache.get(name);
  if (!lut) {
    lut = new Uint8Array(256 * 4);
    for (let n = 0; n < 256; n++) {
      const [r, g, b] = rgbAt(name, n);
      lut.set([r, g, b, 255], n * 4);
    }
    lutCache.set(name, lut);
  }
  return lut;
}

/** The LUT entry of a value, or -1 when the value is transparent (NaN, at or below the threshold). */
export function colormapIndex(value: number, style: OverlayStyle): number {
  if (!(value > style.threshold)) return -1;
  if (style.colormap === 'labels') return Math.min(255, Math.max(0, Math.round(value)));
  const [r0, r1] = style.range;
  const t = r1 > r0 ? (value - r0) / (r1 - r0) : 1;
  return Math.round(clamp01(t) * 255);
}

// ------------------------------------------------------------------ sampling

export interface OverlayLayer {
  overlay: OverlayVolume;
  style: OverlayStyle;
  /** Base display voxel → overlay voxel. */
  displayToOverlay: Mat4;
  /** Nearest voxel for label maps, trilinear for scalar maps. */
  interpolate: boolean;
}

export function createOverlayLayer(frame: DisplayFrame, overlay: OverlayVolume, style?: Partial<OverlayStyle>): OverlayLayer {
  return {
    overlay,
    style: { ...defaultOverlayStyle(overlay), ...style },
    displayToOverlay: displayToOtherVoxel(frame, overlay.affine),
    interpolate: overlay.kind === 'scalar',
  };
}

/** Overlay value at an overlay voxel position (continuous), NaN outside its grid: core's sampler, so a heatmap saved
 * as NIfTI holds what is drawn. */
export function sampleOverlayVoxel(layer: OverlayLayer, p: readonly number[]): number {
  return sampleOverlay(layer.overlay, p[0]!, p[1]!, p[2]!);
}

/** Overlay value at a base display point. */
export function sampleOverlayAtDisplay(layer: OverlayLayer, d: readonly number[]): number {
  return sampleOverlayVoxel(layer, applyAffine(layer.displayToOverlay, d));
}

/** Legend entries: the label values present (label maps), or the colour bar's ends (scalar maps). */
export function overlayLegend(layer: OverlayLayer): { kind: 'labels'; labels: number[] } | { kind: 'bar'; range: [number, number] } {
  if (layer.style.colormap !== 'labels') return { kind: 'bar', range: layer.style.range };
  const seen = new Uint8Array(256);
  const data = layer.overlay.data;
  for (let n = 0; n < data.length; n++) {
    const v = Math.round(data[n]!);
    if (v > 0 && v < 256) seen[v] = 1;
  }
  const labels: number[] = [];
  seen.forEach((s, v) => {
    if (s) labels.push(v);
  });
  return { kind: 'labels', labels };
}
