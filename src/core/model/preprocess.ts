// Model input from a decoded NIfTI volume, identical to model/preprocess.py (contract C6, DESIGN 3.1):
// canonical RAS (flips/permutation only) → HU in float32 (stored·slope + inter) → anti-aliased separable resample
// to D×H×W (per axis, S then A then R: bin averages where the axis shrinks, linear align_corners=False where it
// grows), D along S, H along A, W along R → three HU windows clip((hu − (L − W/2)) / W, 0, 1) → (x − mean[c]) /
// std[c]. Output: pixel_values [1, 3, D, H, W].
//
// It runs where the volume already is (extension host or CLI), so only this small tensor crosses to the model
// host. The canonical volume is never materialised: the first pass reads the file voxels through the
// permutation/flip index map.

import type { Mat4, NiftiVolume } from '../nifti/types';
import { ModelError, throwIfAborted } from './errors';
import { canonicalIndexMap, type CanonicalIndexMap } from './canonical';

/**
 * Where the model input came from, in world space: the canonical (RAS) voxel grid the tensor was resampled from.
 * Routing maps use it to place the token grid onto the volume the viewer shows.
 */
export interface InputGeometry {
  /** Canonical voxel counts along R, A, S. */
  canonicalDims: [number, number, number];
  /** Canonical voxel (i→R, j→A, k→S) → world mm (RAS), row-major. */
  canonicalAffine: Mat4;
}

/** Simple intensity statistics of the resampled input, for the out-of-distribution notice. */
export interface InputStats {
  /** Fraction of voxels at lung density (−950…−500 HU). */
  lungFraction: number;
  /** mL of low-density (< −500 HU) regions enclosed by tissue in their axial slice: litres of lung in a chest. */
  enclosedLowDensityMl: number;
  /** Fraction of voxels denser than 300 HU. */
  boneFraction: number;
  /** Fraction of voxels below −950 HU (air). */
  airFraction: number;
  /** Extent of the volume in mm along R, A, S. */
  extentMm: [number, number, number];
  minHu: number;
  maxHu: number;
}

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

/** The taps of one axis in compressed rows: output o reads source index[start[o] … start[o + 1]) with weight[…]. */
export interface AxisTaps {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Anti-aliased taps of one axis (model/preprocess.py `resample`): an axis that shrinks averages every source
 * voxel of bin o = [⌊o·n/m⌋, ⌈(o+1)·n/m⌉) (torch's adaptive_avg_pool1d), so a one-slice finding still counts; an
 * axis that grows or keeps its size is linearly interpolated (align_corners=False; equal sizes are the identity).
 */
export function resampleTaps(inSize: number, outSize: number): AxisTaps {
  const start = new Int32Array(outSize + 1);
  const index: number[] = [];
  const weight: number[] = [];
  if (outSize < inSize) {
    for (let o = 0; o < outSize; o++) {
      start[o] = index.length;
      const lo = Math.floor((o * inSize) / outSize);
      const hi = Math.ceil(((o + 1) * inSize) / outSize);
      for (let i = lo; i < hi; i++) {
        index.push(i);
        weight.push(1 / (hi - lo));
      }
    }
  } else {
    const t = linearTaps(inSize, outSize);
    for (let o = 0; o < outSize; o++) {
      start[o] = index.length;
      index.push(t.i0[o]!, t.i1[o]!);
      weight.push(1 - t.w1[o]!, t.w1[o]!);
    }
  }
  start[outSize] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
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

  const tk = resampleTaps(nS, D);
  const tj = resampleTaps(nA, H);
  const ti = resampleTaps(nR, W);
  // File offsets of every canonical index along each axis, so the loops below are additions only.
  const offI = axisOffsets(map, 0, Int32Array.from({ length: nR }, (_, i) => i));
  const offJ = axisOffsets(map, 1, Int32Array.from({ length: nA }, (_, j) => j));
  const offK = axisOffsets(map, 2, Int32Array.from({ length: nS }, (_, k) => k));

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

  // Separable, in the reference's order: along S (→ D × nA × nR), then A (→ D × H × nR), then R (→ D × H × W).
  const alongS = new Float32Array(D * nA * nR);
  for (let d = 0; d < D; d++) {
    throwIfAborted(signal);
    const t0 = tk.start[d]!;
    const t1 = tk.start[d + 1]!;
    for (let j = 0; j < nA; j++) {
      const row = (d * nA + j) * nR;
      const oj = offJ[j]!;
      for (let i = 0; i < nR; i++) {
        const oij = oj + offI[i]!;
        let v = 0;
        for (let t = t0; t < t1; t++) v += tk.weight[t]! * hu(offK[tk.index[t]!]! + oij);
        alongS[row + i] = v;
      }
    }
  }
  const alongA = new Float32Array(D * H * nR);
  for (let d = 0; d < D; d++) {
    if ((d & 7) === 0) throwIfAborted(signal);
    for (let h = 0; h < H; h++) {
      const row = (d * H + h) * nR;
      const t0 = tj.start[h]!;
      const t1 = tj.start[h + 1]!;
      for (let i = 0; i < nR; i++) {
        let v = 0;
        for (let t = t0; t < t1; t++) v += tj.weight[t]! * alongS[(d * nA + tj.index[t]!) * nR + i]!;
        alongA[row + i] = v;
      }
    }
  }
  for (let dh = 0; dh < D * H; dh++) {
    const src = dh * nR;
    for (let w = 0; w < W; w++) {
      let v = 0;
      for (let t = ti.start[w]!; t < ti.start[w + 1]!; t++) v += ti.weight[t]! * alongA[src + ti.index[t]!]!;
      v = Math.fround(v);
      if (v >= LUNG_RANGE[0] && v <= LUNG_RANGE[1]) lung++;
      else if (v > BONE_MIN) bone++;
      else if (v < LUNG_RANGE[0]) air++;
      if (v !== v) nan++;
      if (v < minHu) minHu = v;
      if (v > maxHu) maxHu = v;
      huGrid[dh * W + w] = v;
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
