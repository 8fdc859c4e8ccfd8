// Volumes built in code for the model-runtime tests: a NiftiVolume with a chosen affine and data, no file needed.

import type { Mat4, NiftiHeader, NiftiVolume, VoxelArray } from '../../../src/core/nifti/types';

export function makeVolume(
  dims: [number, number, number],
  affine: Mat4,
  data: VoxelArray,
  slope = 1,
  inter = 0,
): NiftiVolume {
  const header: NiftiHeader = {
    format: 'nifti1',
    littleEndian: true,
    dims,
    frames: 1,
    spacing: [0, 1, 2].map((c) => Math.hypot(affine[0]![c]!, affine[1]![c]!, affine[2]![c]!)) as [number, number, number],
    datatype: data instanceof Int16Array ? 'int16' : 'float32',
    datatypeCode: data instanceof Int16Array ? 4 : 16,
    bitpix: data instanceof Int16Array ? 16 : 32,
    voxOffset: 352,
    sclSlope: slope,
    sclInter: inter,
    affine,
    affineSource: 'sform',
    orientation: '',
    qformCode: 0,
    sformCode: 1,
    description: '',
    calMin: 0,
    calMax: 0,
    xyztUnits: 10,
    intentCode: 0,
  };
  return { header, data };
}
