// An overlay (contract C2: e.g. a routing heatmap on the model's coarse token grid, with its own affine) resampled
// onto a volume's own voxel grid and affine, for `CT Lens: Save Heatmap as NIfTI`: the saved file has the CT's dims
// and affine, so nibabel, ITK-SNAP or 3D Slicer show it over the CT voxel for voxel. Each CT voxel takes the value
// the viewer draws there: world = CT affine · voxel, overlay voxel = inverse overlay affine · world, then the
// viewer's sampling (`sampleOverlay` here, which the viewer's overlay-layer.ts calls too): scalar maps trilinear with clamp-to-edge,
// label maps the nearest voxel; 0 outside the overlay's grid (the viewer draws nothing there).
import { invertAffine, multiply4 } from './affine';
import type { Mat4 } from './types';
import { encodeNifti1 } from './write';

/** What sampling and resampling read of an overlay (src/core/volume/overlay.ts's overlay volume is one). */
export interface OverlayGrid {
  kind: 'label' | 'scalar';
  /** Voxel counts of `data` along its own i, j, k. */
  dims: readonly [number, number, number];
  /** Overlay voxel (i, j, k) → world mm (RAS+). */
  affine: Mat4;
  /** i fastest, then j, then k. */
  data: Float32Array | Uint8Array;
}

/** Overlay value at a continuous overlay voxel position, NaN outside its grid: label maps the nearest voxel, scalar
 * maps clamp-to-edge trilinear, as GL LINEAR filtering samples texel centres (the viewer's sampling). */
export function sampleOverlay(overlay: OverlayGrid, x: number, y: number, z: number): number {
  const [nx, ny, nz] = overlay.dims;
  if (!(x >= -0.5 && y >= -0.5 && z >= -0.5 && x < nx - 0.5 && y < ny - 0.5 && z < nz - 0.5)) return NaN;
  const data = overlay.data;
  if (overlay.kind === 'label') return data[Math.round(x) + nx * (Math.round(y) + ny * Math.round(z))]!;
  const cx = Math.min(nx - 1, Math.max(0, x));
  const cy = Math.min(ny - 1, Math.max(0, y));
  const cz = Math.min(nz - 1, Math.max(0, z));
  const x0 = Math.floor(cx), y0 = Math.floor(cy), z0 = Math.floor(cz);
  const x1 = Math.min(nx - 1, x0 + 1), y1 = Math.min(ny - 1, y0 + 1), z1 = Math.min(nz - 1, z0 + 1);
  const fx = cx - x0, fy = cy - y0, fz = cz - z0;
  const at = (i: number, j: number, k: number) => data[i + nx * (j + ny * k)]!;
  const c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx;
  const c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx;
  const c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx;
  const c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx;
  return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
}

/** The overlay on a volume's grid (i fastest): Float32Array for scalar maps, Uint8Array for label maps. */
export function overlayOnGrid(overlay: OverlayGrid, dims: readonly [number, number, number], affine: Mat4): Float32Array | Uint8Array {
  const [nx, ny, nz] = dims;
  const m = multiply4(invertAffine(overlay.affine), affine); // volume voxel → overlay voxel
  const out = overlay.kind === 'label' ? new Uint8Array(nx * ny * nz) : new Float32Array(nx * ny * nz);
  let n = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const bx = m[0]![1]! * j + m[0]![2]! * k + m[0]![3]!;
      const by = m[1]![1]! * j + m[1]![2]! * k + m[1]![3]!;
      const bz = m[2]![1]! * j + m[2]![2]! * k + m[2]![3]!;
      for (let i = 0; i < nx; i++, n++) {
        const v = sampleOverlay(overlay, bx + m[0]![0]! * i, by + m[1]![0]! * i, bz + m[2]![0]! * i);
        out[n] = Number.isNaN(v) ? 0 : v;
      }
    }
  }
  return out;
}

/** A NIfTI-1 file (.nii bytes) of the overlay on the volume's grid, with the volume's affine. */
export function overlayToNifti(overlay: OverlayGrid, dims: readonly [number, number, number], affine: Mat4, description?: string): Uint8Array {
  const data = overlayOnGrid(overlay, dims, affine);
  return encodeNifti1({
    dims: [dims[0], dims[1], dims[2]],
    datatype: data instanceof Uint8Array ? 'uint8' : 'float32',
    data,
    affine,
    ...(description !== undefined ? { description } : {}),
  });
}
