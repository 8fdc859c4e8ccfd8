// The volume as the viewer holds it: the header, frame 0 in the file's own voxel order and datatype (stored values;
// scaling applied on read), which k-slices have arrived, and running value statistics (the range, and per-brick
// maxima for the 3D view's empty-space skipping, from one pass over each slab). Streaming fills it slab by slab;
// the views draw whatever has arrived.

import { datatypeByName } from '../../src/core/nifti/datatypes';
import type { NiftiDatatypeName, NiftiHeader, VoxelArray } from '../../src/core/nifti/types';
import { BrickMax } from './brick-max';
import { DisplayFrame, displayFrameOf, displayToFileIndex, Vec3 } from './geometry';

/** The typed array of a datatype (core's table, nifti/datatypes.ts, the one the decoder uses). */
export function allocateVoxels(datatype: NiftiDatatypeName, length: number): VoxelArray {
  return datatypeByName(datatype).create(length);
}

/** A typed view of a slab buffer that arrived over postMessage. */
export function voxelsFromBuffer(datatype: NiftiDatatypeName, buffer: ArrayBuffer): VoxelArray {
  const info = datatypeByName(datatype);
  if (buffer.byteLength % info.bytes !== 0) {
    throw new RangeError(`slab of ${buffer.byteLength} bytes is not a whole number of ${datatype} values`);
  }
  // The table makes arrays by length; an empty one names the constructor that views the buffer without a copy.
  const ctor = info.create(0).constructor as new (buffer: ArrayBuffer) => VoxelArray;
  return new ctor(buffer);
}

export class ViewerVolume {
  readonly frame: DisplayFrame;
  readonly sliceLength: number;
  readonly nk: number;
  /** 1 for each k-slice that has arrived. */
  readonly loaded: Uint8Array;
  loadedCount = 0;
  /** Highest k such that every slice below it has arrived. */
  contiguous = 0;
  /** Finite min and max of the scaled values that have arrived. */
  min = Infinity;
  max = -Infinity;
  /** Largest scaled value per 8³ brick of the slices that arrived. */
  readonly bricks: BrickMax;
  private voxels: VoxelArray | null = null;

  constructor(readonly header: NiftiHeader) {
    this.frame = displayFrameOf(header);
    this.sliceLength = header.dims[0] * header.dims[1];
    this.nk = header.dims[2];
    this.loaded = new Uint8Array(this.nk);
    this.bricks = new BrickMax(header.dims);
  }

  /** The voxel array (allocated on first use). */
  get data(): VoxelArray {
    if (!this.voxels) this.voxels = allocateVoxels(this.header.datatype, this.sliceLength * this.nk);
    return this.voxels;
  }

  get complete(): boolean {
    return this.loadedCount === this.nk;
  }

  get slope(): number {
    return this.header.sclSlope;
  }

  get inter(): number {
    return this.header.sclInter;
  }

  /**
   * Takes the decoder's own final array instead of copying slabs into a second one (in-page decoding: the
   * decoder fills the array it hands out, so the viewer can share it).
   */
  adopt(data: VoxelArray): void {
    if (this.voxels === data) return;
    if (this.voxels || data.length !== this.sliceLength * this.nk) {
      throw new RangeError('adopt() needs the full frame-0 array before any slab is copied');
    }
    this.voxels = data;
  }

  /** Records k-slices [kStart, kEnd); `slab` holds exactly those slices, or is the adopted full array. */
  addSlab(kStart: number, kEnd: number, slab?: VoxelArray): void {
    if (!(Number.isInteger(kStart) && Number.isInteger(kEnd) && 0 <= kStart && kStart < kEnd && kEnd <= this.nk)) {
      throw new RangeError(`slices [${kStart}, ${kEnd}) are outside 0..${this.nk}`);
    }
    const begin = kStart * this.sliceLength;
    const end = kEnd * this.sliceLength;
    if (slab && slab !== this.voxels) {
      if (slab.length !== end - begin) {
        throw new RangeError(`slab [${kStart}, ${kEnd}) has ${slab.length} values, ${end - begin} expected`);
      }
      this.data.set(slab as never, begin);
    }
    this.updateStats(kStart, kEnd);
    for (let k = kStart; k < kEnd; k++) {
      if (!this.loaded[k]) {
        this.loaded[k] = 1;
        this.loadedCount++;
      }
    }
    while (this.contiguous < this.nk && this.loaded[this.contiguous]) this.contiguous++;
  }

  private updateStats(kStart: number, kEnd: number): void {
    const [lo, hi] = this.bricks.update(this.data, kStart, kEnd, this.slope, this.inter);
    if (lo > hi) return;
    const a = lo * this.slope + this.inter;
    const b = hi * this.slope + this.inter;
    this.min = Math.min(this.min, a, b);
    this.max = Math.max(this.max, a, b);
  }

  /**
   * What the image of the display slice `slice` normal to display axis `normal` depends on of the slices that
   * have arrived, for the painter's image cache. A plane that is one of the file's k-slices (the axial view of an
   * axial series) changes only when that slice arrives, so the loading repaints keep its image; a plane across the
   * k-slices gains a row with every slab (issue 11: a third of the loading repaints' resampling, head CT).
   */
  imageStateOf(normal: number, slice: number): string | number {
    const axis = this.frame.axes[normal]!;
    if (axis.fileAxis !== 2) return this.loadedCount;
    return this.isLoaded(axis.flip ? this.nk - 1 - slice : slice) ? 'in' : 'missing';
  }

  isLoaded(k: number): boolean {
    return this.loaded[k] === 1;
  }

  /** Scaled value of a file voxel, or NaN outside the volume or before its slice has arrived. */
  valueAtFile(i: number, j: number, k: number): number {
    const [nx, ny, nz] = this.header.dims;
    if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz || !this.loaded[k]) return NaN;
    return this.data[i + nx * (j + ny * k)]! * this.slope + this.inter;
  }

  valueAtDisplay(d: readonly number[]): number {
    const [i, j, k] = displayToFileIndex(this.frame, d);
    return this.valueAtFile(i, j, k);
  }

  /** True for volumes whose values look like Hounsfield units (air at about -1000 present). */
  get looksLikeCT(): boolean {
    return this.min <= -900 && this.min >= -4000 && this.max <= 40000;
  }

  fileDims(): Vec3 {
    return [...this.header.dims];
  }
}
