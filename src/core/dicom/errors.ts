// The one error type the DICOM series reader throws. As with NiftiError, the message starts with the code
// (`UnsupportedTransferSyntax: JPEG Baseline (Process 1) (1.2.840.10008.1.2.4.50) is not supported …`) so the UI and
// the CLI show it as is. Messages never quote patient-identifying attributes (issue 12): they name files, tags,
// counts and geometry only.

export type DicomErrorCode =
  /** Not a DICOM file (no DICM prefix and no parsable data set), or no image in it. */
  | 'NotDicom'
  /** A folder or file list with no CT-like image (no Pixel Data). */
  | 'NoImages'
  /** A transfer syntax CT Lens cannot decode; the message names it. */
  | 'UnsupportedTransferSyntax'
  /** Pixel data CT Lens does not read: colour, multi-frame (enhanced) objects, unusual bit depths. */
  | 'UnsupportedImage'
  /** The files disagree where one volume needs them to agree: size, orientation, slice positions. */
  | 'InconsistentSeries'
  /** Several series were given and none was chosen. */
  | 'SeveralSeries'
  /** Pixel data shorter than Rows × Columns × BitsAllocated, or a codec failed on it. */
  | 'Corrupt'
  /** The volume would exceed the size limit (checked before allocating). */
  | 'TooLarge'
  /** The caller's AbortSignal fired. */
  | 'Aborted';

export class DicomError extends Error {
  override readonly name = 'DicomError';
  readonly code: DicomErrorCode;

  constructor(code: DicomErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
  }
}

export function isDicomError(err: unknown): err is DicomError {
  return err instanceof DicomError;
}
