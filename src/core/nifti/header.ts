// NIfTI-1 (348-byte) and NIfTI-2 (540-byte) header parsing. Field offsets from nifti1.h / nifti2.h. Where a
// header is slightly off, we fix it the way nibabel's check_fix does on load (so both tools agree on the result);
// where nibabel would refuse, or a field that matters is unusable, we refuse with a NiftiError naming the field.
import type { Mat4, NiftiHeader } from './types';
import { NiftiError } from './errors';
import { datatypeByCode } from './datatypes';
import { axisCodes, baseAffine, isFiniteMatrix, qformAffine, sformAffine } from './affine';

export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;
/** Data start when vox_offset is absent or inside the header: header + the 4-byte extension flag. */
const NIFTI1_MIN_VOX_OFFSET = 352;
const NIFTI2_MIN_VOX_OFFSET = 544;
/** Larger dims than this are not images but a damaged header (and would not fit a typed array anyway). */
const MAX_DIM = 2 ** 31 - 1;
/** xform codes NIfTI defines (0 unknown … 5 template); nibabel resets any other code to 0 on load. */
const MAX_XFORM_CODE = 5;
/** nibabel's tolerance for b²+c²+d² slightly above 1 (3 eps of the stored float type). */
const W2_THRESHOLD_F32 = -3 * 1.1920928955078125e-7;
const W2_THRESHOLD_F64 = -3 * 2.220446049250313e-16;

export interface HeaderFormat {
  format: 'nifti1' | 'nifti2';
  littleEndian: boolean;
  headerBytes: number;
}

/**
 * Identifies the header from its first 4 bytes (sizeof_hdr, 348 or 540, in either byte order), the way nibabel
 * and nifti_clib detect byte order. Returns null when these bytes are no NIfTI header.
 */
export function detectHeaderFormat(bytes: Uint8Array): HeaderFormat | null {
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_BYTES) return { format: 'nifti1', littleEndian, headerBytes: NIFTI1_HEADER_BYTES };
    if (size === NIFTI2_HEADER_BYTES) return { format: 'nifti2', littleEndian, headerBytes: NIFTI2_HEADER_BYTES };
  }
  return null;
}

/** Parses the header from the first bytes of an uncompressed NIfTI file (at least 348 or 540 bytes). */
export function parseNiftiHeader(bytes: Uint8Array): NiftiHeader {
  const fmt = detectHeaderFormat(bytes);
  if (!fmt) {
    if (bytes.length === 0) throw new NiftiError('NotNifti', 'the file is empty');
    if (bytes.length < 4) {
      throw new NiftiError('Truncated', `the file holds ${bytes.length} bytes, less than a NIfTI header's first field`);
    }
    const first = hex(bytes.subarray(0, 4));
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this is gzip data: decompress it first)' : '';
    throw new NiftiError(
      'NotNifti',
      `sizeof_hdr is not 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order (first bytes ${first})${gz}`,
    );
  }
  if (bytes.length < fmt.headerBytes) {
    throw new NiftiError(
      'Truncated',
      `the file holds ${bytes.length} of the ${fmt.headerBytes} bytes of its ${fmt.format === 'nifti1' ? 'NIfTI-1' : 'NIfTI-2'} header`,
    );
  }
  const r = new FieldReader(bytes, fmt.littleEndian);
  return fmt.format === 'nifti1' ? parseNifti1(r, bytes) : parseNifti2(r, bytes);
}

/** Little/big-endian field access over the header bytes. */
class FieldReader {
  private readonly view: DataView;
  constructor(
    bytes: Uint8Array,
    readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  i16(off: number): number {
    return this.view.getInt16(off, this.littleEndian);
  }
  i32(off: number): number {
    return this.view.getInt32(off, this.littleEndian);
  }
  /** int64 as a number; values beyond 2^53 come back as ±Infinity so range checks reject them. */
  i64(off: number): number {
    const v = this.view.getBigInt64(off, this.littleEndian);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
    if (v < -BigInt(Number.MAX_SAFE_INTEGER)) return -Infinity;
    return Number(v);
  }
  f32(off: number): number {
    return this.view.getFloat32(off, this.littleEndian);
  }
  f64(off: number): number {
    return this.view.getFloat64(off, this.littleEndian);
  }
  u8(off: number): number {
    return this.view.getUint8(off);
  }
}

/** Raw field values shared by both header layouts, before validation. */
interface RawFields {
  format: 'nifti1' | 'nifti2';
  littleEndian: boolean;
  dim: number[];
  datatype: number;
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  calMax: number;
  calMin: number;
  xyztUnits: number;
  intentCode: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: [number[], number[], number[]];
  description: string;
}

function parseNifti1(r: FieldReader, bytes: Uint8Array): NiftiHeader {
  const magic = bytes.subarray(344, 348);
  checkMagic(magic, 'n+1', 'ni1', 344);
  const dim = Array.from({ length: 8 }, (_, i) => r.i16(40 + 2 * i));
  const pixdim = Array.from({ length: 8 }, (_, i) => r.f32(76 + 4 * i));
  const srowAt = (off: number) => Array.from({ length: 4 }, (_, i) => r.f32(off + 4 * i));
  return finish(
    {
      format: 'nifti1',
      littleEndian: r.littleEndian,
      dim,
      datatype: r.i16(70),
      pixdim,
      voxOffset: r.f32(108),
      sclSlope: r.f32(112),
      sclInter: r.f32(116),
      xyztUnits: r.u8(123),
      calMax: r.f32(124),
      calMin: r.f32(128),
      intentCode: r.i16(68),
      qformCode: r.i16(252),
      sformCode: r.i16(254),
      quatern: [r.f32(256), r.f32(260), r.f32(264)],
      qoffset: [r.f32(268), r.f32(272), r.f32(276)],
      srow: [srowAt(280), srowAt(296), srowAt(312)],
      description: cString(bytes.subarray(148, 228)),
    },
    W2_THRESHOLD_F32,
  );
}

function parseNifti2(r: FieldReader, bytes: Uint8Array): NiftiHeader {
  checkMagic(bytes.subarray(4, 8), 'n+2', 'ni2', 4);
  // Bytes 8..11 are \r \n \x1a \n so a text-mode transfer that rewrote line ends is detectable; nibabel accepts
  // all zeros (older writers) and refuses anything else.
  const eol = Array.from(bytes.subarray(8, 12));
  const eolOk = eol.join() === '13,10,26,10' || eol.every((b) => b === 0);
  if (!eolOk) {
    throw new NiftiError(
      'Corrupt',
      `NIfTI-2 end-of-line check bytes are ${eol.join(' ')} instead of 13 10 26 10: the file was altered by a text-mode (line-ending) conversion`,
    );
  }
  const dim = Array.from({ length: 8 }, (_, i) => r.i64(16 + 8 * i));
  const pixdim = Array.from({ length: 8 }, (_, i) => r.f64(104 + 8 * i));
  const srowAt = (off: number) => Array.from({ length: 4 }, (_, i) => r.f64(off + 8 * i));
  return finish(
    {
      format: 'nifti2',
      littleEndian: r.littleEndian,
      dim,
      datatype: r.i16(12),
      pixdim,
      voxOffset: r.i64(168),
      sclSlope: r.f64(176),
      sclInter: r.f64(184),
      calMax: r.f64(192),
      calMin: r.f64(200),
      qformCode: r.i32(344),
      sformCode: r.i32(348),
      quatern: [r.f64(352), r.f64(360), r.f64(368)],
      qoffset: [r.f64(376), r.f64(384), r.f64(392)],
      srow: [srowAt(400), srowAt(432), srowAt(464)],
      xyztUnits: r.i32(500),
      intentCode: r.i32(504),
      description: cString(bytes.subarray(240, 320)),
    },
    W2_THRESHOLD_F64,
  );
}

function checkMagic(magic: Uint8Array, single: string, pair: string, offset: number): void {
  const text = cString(magic);
  if (text === single) return;
  if (text === pair) {
    throw new NiftiError(
      'NotNifti',
      `magic '${pair}' marks a .hdr/.img pair header: the voxels are in a separate .img file, which CT Lens does not read (convert it to a single .nii)`,
    );
  }
  throw new NiftiError(
    'NotNifti',
    `no NIfTI magic at byte ${offset} (found ${hex(magic)}, expected '${single}'); an Analyze 7.5 header or another format`,
  );
}

function finish(raw: RawFields, w2Threshold: number): NiftiHeader {
  const ndim = raw.dim[0]!;
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new NiftiError('BadHeader', `dim[0] is ${ndim}; it must be 1 to 7`);
  }
  for (let a = 1; a <= ndim; a++) {
    const n = raw.dim[a]!;
    if (!(n >= 1)) throw new NiftiError('BadHeader', `dim[${a}] is ${n}; every used dimension must be at least 1`);
    if (n > MAX_DIM) throw new NiftiError('BadHeader', `dim[${a}] is ${n}, an absurd size for one axis`);
  }
  // Dims beyond dim[0] are ignored (nibabel reads shape = dim[1 .. dim[0]]).
  const dims: [number, number, number] = [raw.dim[1]!, ndim >= 2 ? raw.dim[2]! : 1, ndim >= 3 ? raw.dim[3]! : 1];
  let frames = 1;
  for (let a = 4; a <= ndim; a++) frames *= raw.dim[a]!;

  const dt = datatypeByCode(raw.datatype);

  // pixdim[1..3]: nibabel sets 0 to 1 and negative to its absolute value on load; NaN/Inf we refuse because
  // spacing drives both the affine (qform, fallback) and the viewer's physical aspect.
  const spacing = [1, 2, 3].map((a) => {
    const v = raw.pixdim[a]!;
    if (!Number.isFinite(v)) throw new NiftiError('BadHeader', `pixdim[${a}] (voxel size) is ${v}`);
    return v === 0 ? 1 : Math.abs(v);
  }) as [number, number, number];
  // qfac = pixdim[0]: anything but ±1 reads as 1 (nibabel's _chk_qfac).
  const qfac: 1 | -1 = raw.pixdim[0] === -1 ? -1 : 1;

  const minOffset = raw.format === 'nifti1' ? NIFTI1_MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET;
  if (!Number.isFinite(raw.voxOffset) || raw.voxOffset < 0) {
    throw new NiftiError('BadHeader', `vox_offset is ${raw.voxOffset}`);
  }
  // vox_offset inside the header (0 is common from old writers) means "right after the header", as nifti_clib
  // reads it. nibabel refuses 1..351 and reads header bytes as voxels for 0; neither helps a user.
  const voxOffset = Math.max(Math.trunc(raw.voxOffset), minOffset);

  // Scaling: slope 0 or non-finite means unscaled (NIfTI-1 §scl_slope, nibabel get_slope_inter); a usable slope
  // with a NaN/Inf intercept is refused, as nibabel does.
  let sclSlope = 1;
  let sclInter = 0;
  if (raw.sclSlope !== 0 && Number.isFinite(raw.sclSlope)) {
    if (!Number.isFinite(raw.sclInter)) {
      throw new NiftiError('BadHeader', `scl_inter is ${raw.sclInter} while scl_slope is ${raw.sclSlope}`);
    }
    sclSlope = raw.sclSlope;
    sclInter = raw.sclInter;
  }

  const qformCode = validXformCode(raw.qformCode);
  const sformCode = validXformCode(raw.sformCode);
  let affine: Mat4;
  let affineSource: NiftiHeader['affineSource'];
  if (sformCode !== 0) {
    affine = sformAffine(raw.srow[0], raw.srow[1], raw.srow[2]);
    affineSource = 'sform';
    if (!isFiniteMatrix(affine)) throw new NiftiError('BadHeader', `sform (srow_x/y/z) holds NaN or Inf values`);
  } else if (qformCode !== 0) {
    if (![...raw.quatern, ...raw.qoffset].every(Number.isFinite)) {
      throw new NiftiError('BadHeader', `qform (quatern_b/c/d, qoffset_x/y/z) holds NaN or Inf values`);
    }
    const q = qformAffine(raw.quatern, raw.qoffset, spacing, qfac, w2Threshold);
    if (!q) {
      const n2 = raw.quatern.reduce((s, x) => s + x * x, 0);
      throw new NiftiError(
        'BadHeader',
        `qform quaternion is not a rotation: quatern_b² + quatern_c² + quatern_d² = ${n2.toPrecision(6)} > 1`,
      );
    }
    affine = q;
    affineSource = 'qform';
  } else {
    affine = baseAffine(raw.dim.slice(1, ndim + 1), spacing.slice(0, Math.min(ndim, 3)));
    affineSource = 'pixdim';
  }

  return {
    format: raw.format,
    littleEndian: raw.littleEndian,
    dims,
    frames,
    spacing,
    datatype: dt.name,
    datatypeCode: dt.code,
    bitpix: dt.bytes * 8,
    voxOffset,
    sclSlope,
    sclInter,
    affine,
    affineSource,
    orientation: axisCodes(affine),
    qformCode,
    sformCode,
    description: raw.description,
    calMin: raw.calMin,
    calMax: raw.calMax,
    xyztUnits: raw.xyztUnits,
    intentCode: raw.intentCode,
  };
}

function validXformCode(code: number): number {
  return code >= 0 && code <= MAX_XFORM_CODE ? code : 0;
}

/** Bytes of frame 0 (what decodeNifti allocates). */
export function frameBytes(h: Pick<NiftiHeader, 'dims' | 'bitpix'>): number {
  return h.dims[0] * h.dims[1] * h.dims[2] * (h.bitpix / 8);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const s = end >= 0 ? bytes.subarray(0, end) : bytes;
  return new TextDecoder('utf-8', { fatal: false }).decode(s);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
