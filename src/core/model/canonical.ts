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
