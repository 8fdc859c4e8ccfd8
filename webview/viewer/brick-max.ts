// Per-brick maxima of the volume's values, for the 3D view's empty-space skipping (issue 11). The MIP ray-march
// (webgl.ts) reads one texel per 8³-voxel brick and steps over every brick whose maximum cannot brighten the
// pixel: at most the window's lower edge (it would show black) or at most the brightest value the ray has
// already met. In a CT that is the air, and behind the first bone nearly everything else, so a redraw samples a
// small part of the volume. Skipping is exact: a brick's value is the maximum over itself and its 26
// neighbours, because a trilinear sample inside a brick also reads the voxels one beyond its faces.
//
// Built on the CPU as slabs arrive, in the same pass over each slab that gives the volume its value range
// (volume.ts), and kept as a small float array: 1/512 of the voxel count.

import type { VoxelArray } from '../../src/core/nifti/types';

export const BRICK = 8;

export class BrickMax {
  /** Bricks along i, j, k. */
  readonly counts: [number, number, number];
  /** Largest scaled value per brick over the slices that arrived; -Infinity where none did. */
  private readonly own: Float32Array;

  constructor(readonly dims: readonly [number, number, number]) {
    this.counts = [Math.ceil(dims[0] / BRICK), Math.ceil(dims[1] / BRICK), Math.ceil(dims[2] / BRICK)];
    this.own = new Float32Array(this.counts[0] * this.counts[1] * this.counts[2]).fill(-Infinity);
  }

  /**
   * Takes k-slices [kStart, kEnd) of the full frame-0 array `src` (stored values; scaled by slope, inter).
   * Returns the slab's smallest and largest stored values (NaN ignored; [Infinity, -Infinity] if none).
   */
  update(src: VoxelArray, kStart: number, kEnd: number, slope: number, inter: number): [number, number] {
    // Integer voxels are never NaN, so each brick row starts from its first voxel and takes Math.max / Math.min,
    // which V8 compiles without branches: the comparisons of the float loop mispredict on CT noise, and the scan
    // took 530–620 ms of the big CT's decode in Chromium; this one 170–230 ms (issue 11).
    return src instanceof Float32Array || src instanceof Float64Array
      ? this.scanFloat(src, kStart, kEnd, slope, inter)
      : this.scanInteger(src, kStart, kEnd, slope, inter);
  }

  private scanInteger(src: VoxelArray, kStart: number, kEnd: number, slope: number, inter: number): [number, number] {
    let slabLo = Infinity;
    let slabHi = -Infinity;
    const [nx, ny] = this.dims;
    const [cx, cy] = this.counts;
    const own = this.own;
    for (let k = kStart; k < kEnd; k++) {
      const plane = (k >> 3) * cy * cx;
      for (let j = 0; j < ny; j++) {
        const row = plane + (j >> 3) * cx;
        let n = (k * ny + j) * nx;
        const rowEnd = n + nx;
        for (let b = 0; n < rowEnd; b++) {
          const end = Math.min(rowEnd, n + BRICK);
          let lo = src[n]!;
          let hi = lo;
          for (n++; n < end; n++) {
            const v = src[n]!;
            hi = Math.max(hi, v);
            lo = Math.min(lo, v);
          }
          if (lo < slabLo) slabLo = lo;
          if (hi > slabHi) slabHi = hi;
          const m = slope >= 0 ? hi * slope + inter : lo * slope + inter;
          if (m > own[row + b]!) own[row + b] = m;
        }
      }
    }
    return [slabLo, slabHi];
  }

  private scanFloat(
    src: Float32Array | Float64Array,
    kStart: number,
    kEnd: number,
    slope: number,
    inter: number,
  ): [number, number] {
    let slabLo = Infinity;
    let slabHi = -Infinity;
    const [nx, ny] = this.dims;
    const [cx, cy] = this.counts;
    const own = this.own;
    for (let k = kStart; k < kEnd; k++) {
      const plane = (k >> 3) * cy * cx;
      for (let j = 0; j < ny; j++) {
        const row = plane + (j >> 3) * cx;
        let n = (k * ny + j) * nx;
        for (let b = 0; b < cx; b++) {
          const end = Math.min(nx, (b + 1) * BRICK) + (n - b * BRICK);
          let lo = Infinity;
          let hi = -Infinity;
          for (; n < end; n++) {
            const v = src[n]!;
            // NaN fails both comparisons, so NaN voxels of float files never count.
            if (v > hi) hi = v;
            if (v < lo) lo = v;
          }
          if (hi < lo) continue;
          if (lo < slabLo) slabLo = lo;
          if (hi > slabHi) slabHi = hi;
          const m = slope >= 0 ? hi * slope + inter : lo * slope + inter;
          if (m > own[row + b]!) own[row + b] = m;
        }
      }
    }
    return [slabLo, slabHi];
  }

  /** Each brick's maximum over itself and its 26 neighbours (three passes of a 3-wide 1D maximum). */
  dilated(): Float32Array {
    const [cx, cy, cz] = this.counts;
    let a = Float32Array.from(this.own);
    let b = new Float32Array(a.length);
    const strides = [1, cx, cx * cy];
    const sizes = [cx, cy, cz];
    for (let axis = 0; axis < 3; axis++) {
      const s = strides[axis]!;
      const size = sizes[axis]!;
      for (let n = 0; n < a.length; n++) {
        const c = Math.floor(n / s) % size;
        let m = a[n]!;
        if (c > 0 && a[n - s]! > m) m = a[n - s]!;
        if (c < size - 1 && a[n + s]! > m) m = a[n + s]!;
        b[n] = m;
      }
      [a, b] = [b, a];
    }
    return a;
  }
}
