// Public API of the NIfTI reader (contract C1). Browser-safe: node:zlib lives in inflate-node.ts, imported
// separately by Node callers.
export type { NiftiHeader, NiftiVolume, NiftiDatatypeName, VoxelArray, Mat4 } from './types';
export { NiftiError, isNiftiError, type NiftiErrorCode } from './errors';
export { parseNiftiHeader, detectHeaderFormat, frameBytes, NIFTI1_HEADER_BYTES, NIFTI2_HEADER_BYTES } from './header';
export { decodeNifti, DEFAULT_MAX_VOXEL_BYTES, type DecodeOptions } from './decode';
export { webInflate, isGzip, InflateFailure, type InflateFactory } from './inflate';
export { applyAffine, axisCodes, ioOrientation, multiply4, type AxisOrientation } from './affine';
export { datatypeByCode, datatypeByName, type DatatypeInfo } from './datatypes';
export { encodeNifti1, type NiftiWriteInput } from './write';
