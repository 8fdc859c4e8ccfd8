// Contract C2: a volume drawn over the CT in the viewer — a label map (a segmentation, a bone mask) or a scalar map
// (a routing heatmap on the model's token grid). The overlay carries its own affine, so the viewer samples it at
// each displayed point's WORLD position; a coarse grid and a full-resolution mask both land in the right place
// without resampling on the producer's side. Pure data: crosses the webview boundary by structured clone.

import { linearDeterminant } from '../nifti/affine';
import type { Mat4, NiftiVolume } from '../nifti/types';

export type OverlayKind = 'label' | 'scalar';

export type OverlayColormap = 'hot' | 'viridis' | 'jet' | 'gray' | 'labels';

export const OVERLAY_COLORMAPS: readonly OverlayColormap[] = ['hot', 'viridis', 'jet', 'gray', 'labels'];

export interface OverlayVolume {
  id: string;
  name: string;
  kind: OverlayKind;
  /** Voxel counts of `data` along its own i, j, k. */
  dims: [number, number, number];
  /** Overlay voxel (i, j, k) → world mm (RAS+), row-major. */
  affine: Mat4;
  /** i fastest, then j, then k. Label maps: Uint8Array (0 = background); scalar maps: Float32Array. */
  data: Float32Array | Uint8Array;
  /** Default: 'labels' for label maps, 'hot' for scalar maps. */
  colormap?: OverlayColormap;
  /** 0..1, default 0.5. */
  opacity?: number;
  /** Values at or below the threshold are transparent. Default: 0 for label maps, range[0] for scalar maps. */
  threshold?: number;
  /** Value range mapped onto the colormap (scalar maps). Default: the data's min and max. */
  range?: [number, number];
}

/** Resolved display settings of an overlay: every optional field filled in. */
export interface OverlayStyle {
  colormap: OverlayColormap;
  opacity: number;
  threshold: number;
  range: [number, number];
}

/** The finite min and max of an overlay's data ([0, 0] when it has no finite value). */
export function overlayDataRange(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, 0];
}

export function defaultOverlayStyle(overlay: OverlayVolume): OverlayStyle {
  const range = overlay.range ?? overlayDataRange(overlay.data);
  return {
    colormap: overlay.colormap ?? (overlay.kind === 'label' ? 'labels' : 'hot'),
    opacity: overlay.opacity ?? 0.5,
    threshold: overlay.threshold ?? (overlay.kind === 'label' ? 0 : range[0]),
    range,
  };
}

/** Checks the shape of an overlay that came across a boundary; returns a message naming the problem or null. */
export function validateOverlay(overlay: OverlayVolume): string | null {
  const [nx, ny, nz] = overlay.dims;
  if (![nx, ny, nz].every((n) => Number.isInteger(n) && n > 0)) {
    return `InvalidOverlay: dims ${overlay.dims.join('×')} must be positive integers`;
  }
  if (overlay.data.length !== nx * ny * nz) {
    return `InvalidOverlay: ${overlay.data.length} values for dims ${nx}×${ny}×${nz} (${nx * ny * nz} expected)`;
  }
  const a = overlay.affine;
  if (a.length !== 4 || a.some((row) => row.length !== 4 || row.some((v) => !Number.isFinite(v)))) {
    return 'InvalidOverlay: affine must be a finite 4×4 matrix';
  }
  if (Math.abs(linearDeterminant(a)) < 1e-12) return 'InvalidOverlay: affine is singular';
  if (overlay.kind === 'label' && !(overlay.data instanceof Uint8Array)) {
    return 'InvalidOverlay: label maps must be Uint8Array';
  }
  return null;
}

/**
 * An overlay from a decoded NIfTI file (`CT Lens: Open Overlay…`): a label map when every value is a whole number in
 * 0..255 (masks, segmentations), otherwise a scalar map of the scaled values. Its affine is the file's own, so it
 * lands in the right place over any base volume, whatever the two files' voxel grids.
 */
export function overlayFromVolume(volume: NiftiVolume, id: string, name: string): OverlayVolume {
  const { header, data } = volume;
  const slope = header.sclSlope;
  const inter = header.sclInter;
  let label = true;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]! * slope + inter;
    if (!(v >= 0 && v <= 255 && Number.isInteger(v))) {
      label = false;
      break;
    }
  }
  const base = { id, name, dims: [...header.dims] as [number, number, number], affine: header.affine.map((r) => [...r]) };
  if (label) {
    const labels = new Uint8Array(data.length);
    for (let n = 0; n < data.length; n++) labels[n] = data[n]! * slope + inter;
    return { ...base, kind: 'label', data: labels };
  }
  const values = new Float32Array(data.length);
  for (let n = 0; n < data.length; n++) values[n] = data[n]! * slope + inter;
  return { ...base, kind: 'scalar', data: values };
}
