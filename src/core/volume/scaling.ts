// Stored values → physical values (HU for CT): value = stored * scl_slope + scl_inter (NIfTI-1 §scl_slope).
// The header already holds the effective slope and intercept (slope 0 or non-finite read as 1 and 0).
import type { NiftiHeader, VoxelArray } from '../nifti/types';

/** What the value functions need of a decoded volume. */
export interface ScaledVolume {
  header: Pick<NiftiHeader, 'dims' | 'sclSlope' | 'sclInter'>;
  data: VoxelArray;
}

/** Scaled value at file voxel (i, j, k) of frame 0. Throws RangeError outside the volume. */
export function valueAt(volume: ScaledVolume, i: number, j: number, k: number): number {
  const [nx, ny, nz] = volume.header.dims;
  if (!(Number.isInteger(i) && Number.isInteger(j) && Number.isInteger(k)) || i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) {
    throw new RangeError(`voxel (${i}, ${j}, ${k}) is outside the volume ${nx}×${ny}×${nz}`);
  }
  return volume.data[i + nx * (j + ny * k)]! * volume.header.sclSlope + volume.header.sclInter;
}

export interface VolumeStats {
  /** Over finite scaled values; NaN when there are none. */
  min: number;
  max: number;
  mean: number;
  /** Voxels left out because their value is NaN or ±Inf (float files only). */
  nonFinite: number;
}

/** min / max / mean of the scaled values of frame 0 (one pass over the stored values, then scaled). */
export function volumeStats(volume: ScaledVolume): VolumeStats {
  const d = volume.data;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  const isFloat = d instanceof Float32Array || d instanceof Float64Array;
  if (isFloat) {
    for (let n = 0; n < d.length; n++) {
      const v = d[n]!;
      if (v - v !== 0) continue; // NaN or ±Inf
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      count++;
    }
  } else {
    for (let n = 0; n < d.length; n++) {
      const v = d[n]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    count = d.length;
  }
  if (count === 0) return { min: NaN, max: NaN, mean: NaN, nonFinite: d.length };
  const { sclSlope: s, sclInter: b } = volume.header;
  const lo = min * s + b;
  const hi = max * s + b;
  return { min: Math.min(lo, hi), max: Math.max(lo, hi), mean: (sum / count) * s + b, nonFinite: d.length - count };
}

/** Scaled values as float32 (HU for CT), e.g. as the first step of model preprocessing. */
export function toFloat32(data: VoxelArray, sclSlope: number, sclInter: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let n = 0; n < data.length; n++) out[n] = data[n]! * sclSlope + sclInter;
  return out;
}
