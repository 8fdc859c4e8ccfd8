// How to read a file's voxel array in canonical RAS order without copying it: for each canonical axis (i→R, j→A,
// k→S) the file axis it comes from and whether it is flipped — nibabel's as_closest_canonical, which only permutes
// and flips (never resamples), so the model sees exactly what PyTorch sees after nibabel's reorientation.
//
// TODO(C1): once src/core/volume/orientation.ts lands, build this from its canonicalTransform(header) so the
// viewer and the model share one orientation rule.

import type { Mat4, NiftiHeader } from '../nifti/types';

export interface CanonicalIndexMap {
  /** Canonical voxel counts along R, A, S. */
  dims: [number, number, number];
  /** Canonical voxel sizes in mm along R, A, S. */
  spacing: [number, number, number];
  /** Canonical voxel → world mm (RAS), row-major. */
  affine: Mat4;
  /** For canonical axis c: the file axis it reads and whether the index runs backwards. */
  axes: { fileAxis: number; flip: boolean }[];
  /** Offset into the file's voxel array contributed by index `index` along canonical axis `axis`. */
  offset(axis: 0 | 1 | 2, index: number): number;
}

/**
 * File axis → world axis by repeatedly taking the largest remaining |direction cosine| (nibabel's io_orientation
 * does the same after orthogonalising the affine; they agree for every non-degenerate affine whose axes are less
 * than 45° from the world axes).
 */
export function canonicalIndexMap(header: NiftiHeader): CanonicalIndexMap {
  const A = header.affine;
  const fileDims = header.dims;
  const norms = [0, 1, 2].map((c) => Math.hypot(A[0]![c]!, A[1]![c]!, A[2]![c]!) || 1);
  const worldOfFile = [-1, -1, -1];
  const signOfFile = [1, 1, 1];
  const usedWorld = new Set<number>();
  for (let round = 0; round < 3; round++) {
    let best = -1;
    let bestFile = -1;
    let bestWorld = -1;
    for (let f = 0; f < 3; f++) {
      if (worldOfFile[f] !== -1) continue;
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue;
        const v = Math.abs(A[w]![f]! / norms[f]!);
        if (v > best) {
          best = v;
          bestFile = f;
          bestWorld = w;
        }
      }
    }
    worldOfFile[bestFile] = bestWorld;
    signOfFile[bestFile] = A[bestWorld]![bestFile]! < 0 ? -1 : 1;
    usedWorld.add(bestWorld);
  }
  const strides = [1, fileDims[0], fileDims[0] * fileDims[1]];
  const axes: { fileAxis: number; flip: boolean }[] = [];
  for (let c = 0; c < 3; c++) {
    const f = worldOfFile.indexOf(c);
    axes.push({ fileAxis: f, flip: signOfFile[f]! < 0 });
  }
  const dims = axes.map((a) => fileDims[a.fileAxis]!) as [number, number, number];
  const spacing = axes.map((a) => norms[a.fileAxis]!) as [number, number, number];

  // canonical index → file index: file[f] = flip ? n_f − 1 − can[c] : can[c]. As a 4×4 matrix P, and the
  // canonical affine is A·P.
  const P: Mat4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  axes.forEach((a, c) => {
    P[a.fileAxis]![c] = a.flip ? -1 : 1;
    P[a.fileAxis]![3] = a.flip ? fileDims[a.fileAxis]! - 1 : 0;
  });
  const affine = matmul4(A, P);

  const offset = (axis: 0 | 1 | 2, index: number): number => {
    const a = axes[axis]!;
    const n = fileDims[a.fileAxis]!;
    return strides[a.fileAxis]! * (a.flip ? n - 1 - index : index);
  };
  return { dims, spacing, affine, axes, offset };
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
