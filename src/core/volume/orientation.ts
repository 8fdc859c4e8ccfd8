// Canonical RAS reorientation, as nibabel's as_closest_canonical: only permutations and flips of the voxel axes
// (no resampling), chosen by io_orientation from the affine, so canonical axis 0 runs towards R, 1 towards A,
// 2 towards S. The viewer and the model preprocessing (contract C6) both index volumes this way.
import type { Mat4, NiftiHeader, NiftiVolume, VoxelArray } from '../nifti/types';
import { axisCodes, ioOrientation, multiply4 } from '../nifti/affine';

export { axisCodes };
export { valueAt } from './scaling';

export interface CanonicalTransform {
  /** For canonical axis a (0 = R, 1 = A, 2 = S): the file axis (0 = i, 1 = j, 2 = k) that runs along it. */
  fileAxis: [number, number, number];
  /** For canonical axis a: true when its file axis runs the other way (file index = n - 1 - canonical index). */
  flip: [boolean, boolean, boolean];
  /** Canonical voxel counts. */
  dims: [number, number, number];
  /** Canonical voxel sizes, mm. */
  spacing: [number, number, number];
  /** Canonical voxel → world (RAS+ mm): the file affine composed with the index permutation/flip. */
  affine: Mat4;
  /** The file is stored canonically already (no permutation, no flip). */
  identity: boolean;
}

/**
 * How to index the file array for canonical RAS. An axis the affine does not map anywhere (a degenerate affine;
 * nibabel raises there) takes the first world axis left over, unflipped, so such files still display.
 */
export function canonicalTransform(header: Pick<NiftiHeader, 'affine' | 'dims' | 'spacing'>): CanonicalTransform {
  const ornt = ioOrientation(header.affine);
  const fileAxis: number[] = [-1, -1, -1];
  const flip = [false, false, false];
  ornt.forEach((o, inAx) => {
    if (o) {
      fileAxis[o.worldAxis] = inAx;
      flip[o.worldAxis] = o.flip < 0;
    }
  });
  ornt.forEach((o, inAx) => {
    if (!o) fileAxis[fileAxis.indexOf(-1)] = inAx;
  });
  // canonical index c → file index f: f[fileAxis[a]] = flip[a] ? n - 1 - c[a] : c[a]; as a 4×4 matrix.
  const toFile: Mat4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  for (let a = 0; a < 3; a++) {
    const f = fileAxis[a]!;
    toFile[f]![a] = flip[a] ? -1 : 1;
    toFile[f]![3] = flip[a] ? header.dims[f]! - 1 : 0;
  }
  return {
    fileAxis: fileAxis as [number, number, number],
    flip: flip as [boolean, boolean, boolean],
    dims: fileAxis.map((f) => header.dims[f]!) as [number, number, number],
    spacing: fileAxis.map((f) => header.spacing[f]!) as [number, number, number],
    affine: multiply4(header.affine, toFile),
    identity: fileAxis.every((f, a) => f === a) && !flip.some(Boolean),
  };
}

/** File voxel index of canonical voxel (ci, cj, ck). */
export function canonicalToFile(t: CanonicalTransform, fileDims: readonly number[], c: readonly [number, number, number]): [number, number, number] {
  const f: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) f[t.fileAxis[a]!] = t.flip[a] ? fileDims[t.fileAxis[a]!]! - 1 - c[a]! : c[a]!;
  return f;
}

export interface CanonicalVolume {
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: Mat4;
  /** Stored (unscaled) values in the file's datatype, canonical order: i (→R) fastest, then j (→A), then k (→S). */
  data: VoxelArray;
  sclSlope: number;
  sclInter: number;
}

/** A reoriented copy of frame 0 in canonical RAS order (always a copy, even when the file is canonical). */
export function toCanonical(volume: NiftiVolume): CanonicalVolume {
  const h = volume.header;
  const t = canonicalTransform(h);
  const [nx, ny] = h.dims;
  const fileStride = [1, nx, nx * ny];
  // Walk the canonical array in order; the file offset moves by a fixed (possibly negative) step per axis.
  const step = [0, 1, 2].map((a) => (t.flip[a] ? -1 : 1) * fileStride[t.fileAxis[a]!]!);
  let base = 0;
  for (let a = 0; a < 3; a++) if (t.flip[a]) base += (h.dims[t.fileAxis[a]!]! - 1) * fileStride[t.fileAxis[a]!]!;
  const src = volume.data;
  const out = new (src.constructor as { new (n: number): VoxelArray })(src.length);
  const [cx, cy, cz] = t.dims;
  const [s0, s1, s2] = step as [number, number, number];
  let o = 0;
  for (let k = 0; k < cz; k++) {
    for (let j = 0; j < cy; j++) {
      let f = base + k * s2 + j * s1;
      // Rows along the file's i axis (the usual CT case, LAS/LPS/RAS) are block copies, reversed natively when
      // i runs right-to-left; only permuted files take the element-by-element path.
      if (s0 === 1 || s0 === -1) {
        const row = out.subarray(o, o + cx);
        row.set(s0 === 1 ? src.subarray(f, f + cx) : src.subarray(f - cx + 1, f + 1));
        if (s0 === -1) row.reverse();
        o += cx;
        continue;
      }
      for (let i = 0; i < cx; i++, f += s0) out[o++] = src[f]!;
    }
  }
  return { dims: t.dims, spacing: t.spacing, affine: t.affine, data: out, sclSlope: h.sclSlope, sclInter: h.sclInter };
}
