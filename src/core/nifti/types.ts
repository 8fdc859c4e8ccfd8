// The shapes every other module sees of a decoded NIfTI file. The reader (src/core/nifti) produces them; the viewer,
// the volume tools and the model preprocessing consume them. Pure data: no Node or DOM types, so the same objects
// cross the webview boundary (structured clone) and the model-host boundary.

/** Storage types CT Lens reads. Others (complex, RGB, int64, float128) are refused by name. */
export type NiftiDatatypeName = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** Row-major 4×4 matrix: `m[row][col]`. */
export type Mat4 = number[][];

export interface NiftiHeader {
  /** 'dicom': a DICOM series read by src/core/dicom into the same shape. */
  format: 'nifti1' | 'nifti2' | 'dicom';
  littleEndian: boolean;
  /** Voxel counts along the file's own axes i, j, k (nz = 1 for a single-slice file). */
  dims: [number, number, number];
  /** Volumes in the file (product of dim[4..7]); only frame 0 is decoded. */
  frames: number;
  /** pixdim[1..3] in mm (absolute values; 0 read as 1, as nibabel fixes them). */
  spacing: [number, number, number];
  datatype: NiftiDatatypeName;
  datatypeCode: number;
  bitpix: number;
  /** Byte offset of voxel data in the (uncompressed) file, after header extensions. */
  voxOffset: number;
  /** Effective scaling: value = stored * sclSlope + sclInter (slope 0 or non-finite means 1 and 0). */
  sclSlope: number;
  sclInter: number;
  /** Voxel (i, j, k) → world mm (RAS+), chosen as nibabel does: sform if code > 0, else qform, else pixdim. */
  affine: Mat4;
  affineSource: 'sform' | 'qform' | 'pixdim';
  /** Axis codes of the voxel axes, e.g. 'LAS' (nibabel's aff2axcodes). */
  orientation: string;
  qformCode: number;
  sformCode: number;
  description: string;
  /** Raw header field values kept for the header panel. */
  calMin: number;
  calMax: number;
  xyztUnits: number;
  intentCode: number;
}

/** A decoded file: header plus frame 0 as stored (unscaled), i fastest, then j, then k. */
export interface NiftiVolume {
  header: NiftiHeader;
  data: VoxelArray;
}
