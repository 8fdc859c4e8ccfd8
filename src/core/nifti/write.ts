// A decoded volume → a NIfTI-1 single file (.nii bytes; gzip it for .nii.gz), the way dcm2niix and nibabel write
// them: sform code 1 (scanner) holding the affine, and the same affine as a quaternion in the qform when it is a
// rotation with zooms (nifti1.h mat44_to_quatern); a sheared affine (gantry tilt) keeps qform code 0, since a
// quaternion cannot hold it. `ctlens convert` uses it to turn a DICOM series into NIfTI.
import type { Mat4, NiftiDatatypeName, VoxelArray } from './types';

const CODES: Record<NiftiDatatypeName, [number, number]> = {
  uint8: [2, 8],
  int16: [4, 16],
  int32: [8, 32],
  float32: [16, 32],
  float64: [64, 64],
  int8: [256, 8],
  uint16: [512, 16],
  uint32: [768, 32],
};

export interface NiftiWriteInput {
  dims: [number, number, number];
  datatype: NiftiDatatypeName;
  data: VoxelArray;
  affine: Mat4;
  sclSlope?: number;
  sclInter?: number;
  description?: string;
}

const HEADER = 348;
const VOX_OFFSET = 352;

export function encodeNifti1(input: NiftiWriteInput): Uint8Array {
  const [code, bitpix] = CODES[input.datatype];
  const out = new Uint8Array(VOX_OFFSET + input.data.byteLength);
  const v = new DataView(out.buffer);
  v.setInt32(0, HEADER, true);
  const dim = [3, ...input.dims, 1, 1, 1, 1];
  dim.forEach((d, n) => v.setInt16(40 + 2 * n, d, true));
  v.setInt16(70, code, true);
  v.setInt16(72, bitpix, true);
  const m = input.affine;
  const zooms = [0, 1, 2].map((c) => Math.hypot(m[0]![c]!, m[1]![c]!, m[2]![c]!));
  const q = quaternion(m, zooms);
  [q?.qfac ?? 1, ...zooms, 0, 0, 0, 0].forEach((p, n) => v.setFloat32(76 + 4 * n, p, true));
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, input.sclSlope ?? 1, true);
  v.setFloat32(116, input.sclInter ?? 0, true);
  v.setUint8(123, 2 | 8); // mm, seconds
  const descrip = new TextEncoder().encode((input.description ?? '').slice(0, 79));
  out.set(descrip.subarray(0, 79), 148);
  v.setInt16(252, q ? 1 : 0, true);
  v.setInt16(254, 1, true);
  if (q) {
    [q.b, q.c, q.d, m[0]![3]!, m[1]![3]!, m[2]![3]!].forEach((x, n) => v.setFloat32(256 + 4 * n, x, true));
  }
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) v.setFloat32(280 + 16 * r + 4 * c, m[r]![c]!, true);
  out.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  // Typed arrays are little-endian on every platform Node and VS Code run on.
  out.set(new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength), VOX_OFFSET);
  return out;
}

/** The qform quaternion of an affine, or null when its linear part is not a rotation times zooms (shear). */
function quaternion(m: Mat4, zooms: number[]): { b: number; c: number; d: number; qfac: number } | null {
  if (zooms.some((z) => !(z > 0))) return null;
  const r = [0, 1, 2].map((row) => [0, 1, 2].map((c) => m[row]![c]! / zooms[c]!));
  const det =
    r[0]![0]! * (r[1]![1]! * r[2]![2]! - r[1]![2]! * r[2]![1]!) -
    r[0]![1]! * (r[1]![0]! * r[2]![2]! - r[1]![2]! * r[2]![0]!) +
    r[0]![2]! * (r[1]![0]! * r[2]![1]! - r[1]![1]! * r[2]![0]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (let row = 0; row < 3; row++) r[row]![2] = -r[row]![2]!;
  // Orthonormal columns, or no qform.
  for (let a = 0; a < 3; a++) {
    for (let b = a + 1; b < 3; b++) {
      const dot = r[0]![a]! * r[0]![b]! + r[1]![a]! * r[1]![b]! + r[2]![a]! * r[2]![b]!;
      if (Math.abs(dot) > 1e-4) return null;
    }
  }
  const [r11, r12, r13] = r[0]!;
  const [r21, r22, r23] = r[1]!;
  const [r31, r32, r33] = r[2]!;
  let a = r11! + r22! + r33! + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32! - r23!)) / a;
    c = (0.25 * (r13! - r31!)) / a;
    d = (0.25 * (r21! - r12!)) / a;
  } else {
    const xd = 1 + r11! - (r22! + r33!);
    const yd = 1 + r22! - (r11! + r33!);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12! + r21!)) / b;
      d = (0.25 * (r13! + r31!)) / b;
      a = (0.25 * (r32! - r23!)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12! + r21!)) / c;
      d = (0.25 * (r23! + r32!)) / c;
      a = (0.25 * (r13! - r31!)) / c;
    } else {
      d = 0.5 * Math.sqrt(1 + r33! - (r11! + r22!));
      b = (0.25 * (r13! + r31!)) / d;
      c = (0.25 * (r23! + r32!)) / d;
      a = (0.25 * (r21! - r12!)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac };
}
