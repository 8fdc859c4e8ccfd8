// How to read a file's voxel array in canonical RAS order without copying it, on top of the orientation rule the
// viewer uses (src/core/volume/orientation.ts, nibabel's as_closest_canonical: permutations and flips only), so
// the model and the viewer agree on every voxel's world position.

import type { Mat4, NiftiHeader } from '../nifti/types';
import { canonicalTransform } from '../volume/orientation';

export interface CanonicalIndexMap {
  /** Canonical voxel counts along R, A, S. */
  dims: [number, number, number];
  /** Canonical voxel sizes in mm along R, A, S. */
  spacing: [number, number, number];
  /** Canonical voxel → world mm (RAS), row-major. */
  affine: Mat4;
  /** Offset into the file's voxel array contributed by index `index` along canonical axis `axis`. */
  offset(axis: 0 | 1 | 2, index: number): number;
}

export function canonicalIndexMap(header: NiftiHeader): CanonicalIndexMap {
  const t = canonicalTransform(header);
  const fileDims = header.dims;
  const strides = [1, fileDims[0], fileDims[0] * fileDims[1]];
  const offset = (axis: 0 | 1 | 2, index: number): number => {
    const f = t.fileAxis[axis];
    return strides[f]! * (t.flip[axis] ? fileDims[f]! - 1 - index : index);
  };
  return { dims: t.dims, spacing: t.spacing, affine: t.affine, offset };
}

export function matmul4(a: Mat4, b: Mat4): Mat4 {
  const out: Mat4 = [];
  for (let r = 0; r < 4; r++) {
    const row: number[] = [];
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r]![k]! * b[k]![c]!;
      row.push(s);
    }
    out.push(row);
  }
  return out;
}

/** Applies a row-major 4×4 affine to a point. */
export function applyAffine(m: Mat4, p: [number, number, number]): [number, number, number] {
  return [0, 1, 2].map((r) => m[r]![0]! * p[0] + m[r]![1]! * p[1] + m[r]![2]! * p[2] + m[r]![3]!) as [
    number,
    number,
    number,
  ];
}

/** Inverse of an affine 4×4 (last row 0 0 0 1). */
export function invertAffine(m: Mat4): Mat4 {
  const a = m[0]![0]!, b = m[0]![1]!, c = m[0]![2]!;
  const d = m[1]![0]!, e = m[1]![1]!, f = m[1]![2]!;
  const g = m[2]![0]!, h = m[2]![1]!, i = m[2]![2]!;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!Number.isFinite(det) || det === 0) throw new Error('singular affine');
  const inv = [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
  const t = [m[0]![3]!, m[1]![3]!, m[2]![3]!];
  const out: Mat4 = inv.map((row) => [...row, -(row[0]! * t[0]! + row[1]! * t[1]! + row[2]! * t[2]!)]);
  out.push([0, 0, 0, 1]);
  return out;
}
