// Small in-memory volumes for the viewer's unit tests: a NiftiHeader with a chosen affine, and a ViewerVolume filled
// with value = f(i, j, k) so a test can tell exactly which file voxel a pixel or a readout came from.

import type { Mat4, NiftiDatatypeName, NiftiHeader } from '../../../src/core/nifti/types';
import { axisCodes } from '../../../src/core/nifti/affine';
import { ViewerVolume, allocateVoxels } from '../../../webview/viewer/volume';

export function makeHeader(dims: [number, number, number], affine: Mat4, datatype: NiftiDatatypeName = 'int16', extra: Partial<NiftiHeader> = {}): NiftiHeader {
  const spacing = [0, 1, 2].map((c) => Math.hypot(affine[0]![c]!, affine[1]![c]!, affine[2]![c]!)) as [number, number, number];
  return {
    format: 'nifti1',
    littleEndian: true,
    dims,
    frames: 1,
    spacing,
    datatype,
    datatypeCode: 4,
    bitpix: 16,
    voxOffset: 352,
    sclSlope: 1,
    sclInter: 0,
    affine,
    affineSource: 'sform',
    orientation: axisCodes(affine),
    qformCode: 1,
    sformCode: 1,
    description: '',
    calMin: 0,
    calMax: 0,
    xyztUnits: 2,
    intentCode: 0,
    ...extra,
  };
}

/** Diagonal affine with signed spacings and an origin. */
export function diag(sx: number, sy: number, sz: number, origin: [number, number, number] = [0, 0, 0]): Mat4 {
  return [
    [sx, 0, 0, origin[0]],
    [0, sy, 0, origin[1]],
    [0, 0, sz, origin[2]],
    [0, 0, 0, 1],
  ];
}

/** value(i, j, k) = 100·k + 10·j + i: every voxel of a ≤ 10×10×N volume has its own value. */
export const code = (i: number, j: number, k: number) => 100 * k + 10 * j + i;

export function makeVolume(
  dims: [number, number, number],
  affine: Mat4,
  value: (i: number, j: number, k: number) => number = code,
  options: { datatype?: NiftiDatatypeName; loadedSlices?: number; header?: Partial<NiftiHeader> } = {},
): ViewerVolume {
  const header = makeHeader(dims, affine, options.datatype ?? 'int16', options.header);
  const volume = new ViewerVolume(header);
  const [nx, ny, nz] = dims;
  const data = allocateVoxels(header.datatype, nx * ny * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = value(i, j, k);
  volume.adopt(data);
  const loaded = options.loadedSlices ?? nz;
  if (loaded > 0) volume.addSlab(0, loaded);
  return volume;
}
