// Sampling and colouring of an overlay (contract C2) at displayed points. The overlay is reached through world
// space: display voxel → world (base affine) → overlay voxel (inverse overlay affine), so a coarse routing grid and a
// full-resolution mask both land where they belong. Label maps sample the nearest voxel; scalar maps interpolate
// trilinearly with clamp-to-edge, as the GPU's linear filtering does, so both renderers agree.

import { applyAffine } from '../../src/core/nifti/affine';
import { sampleOverlay } from '../../src/core/nifti/overlay-grid';
import type { Mat4 } from '../../src/core/nifti/types';
import { defaultOverlayStyle, OverlayStyle, OverlayVolume } from '../../src/shared/overlay';
import { DisplayFrame, displayToOtherVoxel } from './geometry';

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

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
