// Model input from a decoded NIfTI volume, identical to model/preprocess.py (contract C6, DESIGN 3.1):
// canonical RAS (flips/permutation only) → HU in float32 (stored·slope + inter) → trilinear resample of the whole
// volume to D×H×W with torch's align_corners=False rule (no antialias), D along S, H along A, W along R →
// three HU windows clip((hu − (L − W/2)) / W, 0, 1) → (x − mean[c]) / std[c]. Output: pixel_values [1, 3, D, H, W].
//
// It runs where the volume already is (extension host or CLI), so only this small tensor crosses to the model
// host. The canonical volume is never materialised: each output voxel reads the 8 file voxels it needs through the
// permutation/flip index map.

import type { NiftiVolume } from '../nifti/types';
import type { InputGeometry, InputStats } from '../../shared/modelhost-protocol';
import { ModelError, throwIfAborted } from './errors';
import { canonicalIndexMap, type CanonicalIndexMap } from './canonical';

export interface HuWindow {
  center: number;
  width: number;
}

/** What the package says about its input (config.json `ctlens`). */
export interface PreprocessSpec {
  /** D (along S), H (along A), W (along R). */
  inputSize: [number, number, number];
  /** One window per channel, in channel order. */
  windows: HuWindow[];
  mean: number[];
  std: number[];
}

export interface PreprocessedInput {
  /** [1, C, D, H, W], C = windows.length. */
  pixelValues: Float32Array;
  shape: [number, number, number, number, number];
  geometry: InputGeometry;
  stats: InputStats;
}

/** Lung parenchyma, air and bone thresholds used by the input statistics (HU). */
const LUNG_RANGE: [number, number] = [-950, -500];
const BONE_MIN = 300;

/**
 * Source positions for one axis under align_corners=False: output index o samples input coordinate
 * (o + 0.5)·(n/m) − 0.5, clamped below at 0 (torch's area_pixel_compute_source_index); the upper neighbour is
 * clamped to n − 1.
 */
export function linearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w1: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

export function validateSpec(spec: PreprocessSpec): void {
  const [d, h, w] = spec.inputSize;
  if (![d, h, w].every((n) => Number.isInteger(n) && n > 0)) {
    throw new ModelError('BadConfig', `input_size must be three positive integers, got ${JSON.stringify(spec.inputSize)}`);
  }
  const c = spec.windows.length;
  if (c === 0 || spec.mean.length !== c || spec.std.length !== c) {
    throw new ModelError('BadConfig', `hu_windows (${c}), mean (${spec.mean.length}) and std (${spec.std.length}) must have the same length`);
  }
  if (spec.windows.some((win) => !(win.width > 0)) || spec.std.some((s) => !(s > 0))) {
    throw new ModelError('BadConfig', 'window widths and std values must be positive');
  }
}

export function preprocessVolume(volume: NiftiVolume, spec: PreprocessSpec, signal?: AbortSignal): PreprocessedInput {
  validateSpec(spec);
  const map = canonicalIndexMap(volume.header);
  const [nR, nA, nS] = map.dims;
  const [D, H, W] = spec.inputSize;
  const C = spec.windows.length;
  const data = volume.data;
  const needed = volume.header.dims[0] * volume.header.dims[1] * volume.header.dims[2];
  if (data.length < needed) {
    throw new ModelError('BadInput', `volume data holds ${data.length} voxels, header says ${needed}`);
  }
  const slope = volume.header.sclSlope;
  const inter = volume.header.sclInter;

  const tk = linearTaps(nS, D);
  const tj = linearTaps(nA, H);
  const ti = linearTaps(nR, W);
  // File offsets of every canonical index along each axis, so the inner loop is additions only.
  const offI0 = axisOffsets(map, 0, ti.i0);
  const offI1 = axisOffsets(map, 0, ti.i1);
  const offJ0 = axisOffsets(map, 1, tj.i0);
  const offJ1 = axisOffsets(map, 1, tj.i1);
  const offK0 = axisOffsets(map, 2, tk.i0);
  const offK1 = axisOffsets(map, 2, tk.i1);

  const plane = D * H * W;
  const out = new Float32Array(C * plane);
  const lo = spec.windows.map((win) => win.center - win.width / 2);
  const width = spec.windows.map((win) => win.width);
  let lung = 0;
  let bone = 0;
  let air = 0;
  let minHu = Infinity;
  let maxHu = -Infinity;
  let nan = 0;
  // HU of the resampled grid, kept for the body-aware statistics below (D·H·W floats, small).
  const huGrid = new Float32Array(plane);
  // HU of every source voxel once, in float32 as PyTorch computes it (value · slope, then + inter): the resampling
  // loop then reads one monomorphic Float32Array instead of converting each of its 8·D·H·W taps.
  const huSource = new Float32Array(needed);
  for (let i = 0; i < needed; i++) huSource[i] = Math.fround(data[i]! * slope) + inter;
  const hu = (offset: number): number => huSource[offset]!;

  for (let d = 0; d < D; d++) {
    if ((d & 7) === 0) throwIfAborted(signal);
    const wk1 = tk.w1[d]!;
    const wk0 = 1 - wk1;
    const k0 = offK0[d]!;
    const k1 = offK1[d]!;
    for (let h = 0; h < H; h++) {
      const wj1 = tj.w1[h]!;
      const wj0 = 1 - wj1;
      const k0j0 = k0 + offJ0[h]!;
      const k0j1 = k0 + offJ1[h]!;
      const k1j0 = k1 + offJ0[h]!;
      const k1j1 = k1 + offJ1[h]!;
      for (let w = 0; w < W; w++) {
        const wi1 = ti.w1[w]!;
        const wi0 = 1 - wi1;
        const a = offI0[w]!;
        const b = offI1[w]!;
        const v =
          wk0 * (wj0 * (wi0 * hu(k0j0 + a) + wi1 * hu(k0j0 + b)) + wj1 * (wi0 * hu(k0j1 + a) + wi1 * hu(k0j1 + b))) +
          wk1 * (wj0 * (wi0 * hu(k1j0 + a) + wi1 * hu(k1j0 + b)) + wj1 * (wi0 * hu(k1j1 + a) + wi1 * hu(k1j1 + b)));
        if (v >= LUNG_RANGE[0] && v <= LUNG_RANGE[1]) lung++;
        else if (v > BONE_MIN) bone++;
        else if (v < LUNG_RANGE[0]) air++;
        if (v !== v) nan++;
        if (v < minHu) minHu = v;
        if (v > maxHu) maxHu = v;
        huGrid[(d * H + h) * W + w] = v;
      }
    }
  }
  // The channels: one window each, clamped to [0, 1], then standardised (one plain loop per channel).
  for (let c = 0; c < C; c++) {
    const low = lo[c]!;
    const wid = width[c]!;
    const mean = spec.mean[c]!;
    const std = spec.std[c]!;
    const base = c * plane;
    for (let at = 0; at < plane; at++) {
      let x = (huGrid[at]! - low) / wid;
      x = x < 0 ? 0 : x > 1 ? 1 : x;
      out[base + at] = (x - mean) / std;
    }
  }
  if (nan > 0 || !Number.isFinite(minHu) || !Number.isFinite(maxHu)) {
    throw new ModelError('BadInput', `the volume contains NaN or infinite values (${nan} NaN samples in the model input)`);
  }
  const n = plane;
  return {
    pixelValues: out,
    shape: [1, C, D, H, W],
    geometry: { canonicalDims: map.dims, canonicalAffine: map.affine },
    stats: {
      lungFraction: lung / n,
      enclosedLowDensityMl: enclosedLowDensityMl(
        huGrid, D, H, W, ((nR * map.spacing[0]) / W) * ((nA * map.spacing[1]) / H) * ((nS * map.spacing[2]) / D),
      ),
      boneFraction: bone / n,
      airFraction: air / n,
      extentMm: [nR * map.spacing[0], nA * map.spacing[1], nS * map.spacing[2]],
      minHu,
      maxHu,
    },
  };
}

/**
 * Volume (mL) of low-density (< −500 HU) regions enclosed by tissue in their axial slice: a flood fill from the
 * slice border through low density marks the air around the patient; what stays unreached is air or lung inside
 * the body. Lungs give litres; a head (sinuses, mastoids) or an abdomen (bowel gas) gives far less.
 */
export function enclosedLowDensityMl(hu: Float32Array, D: number, H: number, W: number, voxelMm3: number): number {
  const LOW = -500;
  const seen = new Uint8Array(H * W);
  const stack = new Int32Array(H * W);
  let enclosed = 0;
  for (let d = 0; d < D; d++) {
    const base = d * H * W;
    seen.fill(0);
    let top = 0;
    const push = (p: number) => {
      if (!seen[p] && hu[base + p]! < LOW) {
        seen[p] = 1;
        stack[top++] = p;
      }
    };
    for (let w = 0; w < W; w++) {
      push(w);
      push((H - 1) * W + w);
    }
    for (let h = 0; h < H; h++) {
      push(h * W);
      push(h * W + W - 1);
    }
    while (top > 0) {
      const p = stack[--top]!;
      const h = (p / W) | 0;
      const w = p - h * W;
      if (w > 0) push(p - 1);
      if (w < W - 1) push(p + 1);
      if (h > 0) push(p - W);
      if (h < H - 1) push(p + W);
    }
    for (let p = 0; p < H * W; p++) if (!seen[p] && hu[base + p]! < LOW) enclosed++;
  }
  return (enclosed * voxelMm3) / 1000;
}

function axisOffsets(map: CanonicalIndexMap, axis: 0 | 1 | 2, indices: Int32Array): Float64Array {
  const out = new Float64Array(indices.length);
  for (let n = 0; n < indices.length; n++) out[n] = map.offset(axis, indices[n]!);
  return out;
}
