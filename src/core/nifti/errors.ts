// The one error type the NIfTI reader throws. Every refusal names its cause in the message, which starts with the
// code, e.g. `UnsupportedDatatype: datatype 32 (complex64) is not supported`, so the UI and the CLI can show the
// message as is.

export type NiftiErrorCode =
  /** The file (or gzip stream) ends before the bytes its header describes. */
  | 'Truncated'
  /** The name says .gz but the bytes are not gzip. */
  | 'NotGzip'
  /** No NIfTI-1/NIfTI-2 header (sizeof_hdr / magic wrong), or a .hdr/.img pair header. */
  | 'NotNifti'
  /** A complete file whose voxel data is shorter than its header's dims say. */
  | 'DimsMismatch'
  /** The voxel data would exceed the size limit (checked from the header, before allocating). */
  | 'TooLarge'
  /** A datatype CT Lens does not read (complex, RGB, int64, float128, unknown codes). */
  | 'UnsupportedDatatype'
  /** A header field that matters is invalid: dims ≤ 0 or absurd, NaN/Inf spacing or affine, bad quaternion. */
  | 'BadHeader'
  /** The gzip stream is damaged (bad deflate data, CRC mismatch). */
  | 'Corrupt'
  /** The caller's AbortSignal fired. */
  | 'Aborted';

export class NiftiError extends Error {
  override readonly name = 'NiftiError';
  readonly code: NiftiErrorCode;

  constructor(code: NiftiErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
  }
}

export function isNiftiError(err: unknown): err is NiftiError {
  return err instanceof NiftiError;
}
