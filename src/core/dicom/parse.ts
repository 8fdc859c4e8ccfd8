// One DICOM file → the attributes a CT volume needs, read with dicom-parser (PS3.10 files, and bare data sets
// without the Part 10 preamble as older exports write them). Only geometry, pixel-format and series attributes are
// kept: patient-identifying attributes (name, ID, birth date, accession, institution …) are never read, so nothing
// downstream can log or show them by accident (issue 12).
import * as dicomParser from 'dicom-parser';
import { DicomError } from './errors';
import { transferSyntax, type TransferSyntax } from './transfer-syntax';

export interface DicomImage {
  /** File name as the caller gave it (for messages). */
  file: string;
  dataSet: dicomParser.DataSet;
  transferSyntax: TransferSyntax;
  sopClassUid: string;
  modality: string;
  seriesInstanceUid: string;
  seriesNumber: number | null;
  /** Free text; shown in the series pick, never logged. */
  seriesDescription: string;
  frameOfReferenceUid: string;
  instanceNumber: number | null;
  /** ImagePositionPatient: centre of the first transmitted voxel, LPS mm. */
  position: [number, number, number] | null;
  /** ImageOrientationPatient: row direction (along a row, i.e. increasing column) then column direction, LPS. */
  orientation: [number, number, number, number, number, number] | null;
  /** PixelSpacing: [between rows, between columns] mm (PS3.3 C.7.6.2.1.3 — row spacing first). */
  pixelSpacing: [number, number] | null;
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  samplesPerPixel: number;
  photometric: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  frames: number;
  sliceThickness: number | null;
  spacingBetweenSlices: number | null;
  gantryTilt: number | null;
  pixelData: dicomParser.Element | null;
}

const TAG = {
  transferSyntax: 'x00020010',
  sopClass: 'x00080016',
  modality: 'x00080060',
  seriesDescription: 'x0008103e',
  sliceThickness: 'x00180050',
  spacingBetweenSlices: 'x00180088',
  gantryTilt: 'x00181120',
  seriesUid: 'x0020000e',
  seriesNumber: 'x00200011',
  instanceNumber: 'x00200013',
  position: 'x00200032',
  orientation: 'x00200037',
  frameOfReference: 'x00200052',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  frames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
} as const;

/** Whether the bytes carry the Part 10 "DICM" prefix at offset 128. */
export function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * A data set without the Part 10 header (no preamble, no meta group): explicit VR when bytes 4–5 are an
 * upper-case VR, else implicit VR little endian (PS3.5 §A.1 default).
 */
function bareSyntax(bytes: Uint8Array): string {
  const upper = (b: number | undefined) => b !== undefined && b >= 0x41 && b <= 0x5a;
  if (!upper(bytes[4]) || !upper(bytes[5])) return '1.2.840.10008.1.2';
  // Group 0x0008 written big endian reads 0x0800 little endian.
  return bytes[0] === 0x00 && bytes[1] === 0x08 ? '1.2.840.10008.1.2.2' : '1.2.840.10008.1.2.1';
}

function metaSyntax(bytes: Uint8Array): TransferSyntax | null {
  try {
    const uid = dicomParser.readPart10Header(bytes).string('x00020010');
    return uid ? transferSyntax(uid.trim()) : null;
  } catch {
    return null;
  }
}

/** Parses one file; rejects with DicomError 'NotDicom' when it is not DICOM at all. */
export function parseDicomImage(bytes: Uint8Array, file: string): DicomImage {
  let dataSet: dicomParser.DataSet;
  const prefixed = hasDicmPrefix(bytes);
  try {
    dataSet = prefixed ? dicomParser.parseDicom(bytes) : dicomParser.parseDicom(bytes, { TransferSyntaxUID: bareSyntax(bytes) });
  } catch (err) {
    // dicom-parser throws strings or objects ({ exception, dataSet }) as well as Errors.
    const why = typeof err === 'string' ? err : err instanceof Error ? err.message : String((err as { exception?: unknown })?.exception ?? err);
    // A syntax dicom-parser cannot even walk (deflate) is refused by its name, not as "not DICOM".
    const ts = prefixed ? metaSyntax(bytes) : null;
    if (ts && !ts.codec) {
      throw new DicomError('UnsupportedTransferSyntax', `${file}: ${ts.name} (${ts.uid}) is not supported: ${ts.refusal ?? 'no decoder'}`, { cause: err });
    }
    // With the DICM prefix it is DICOM, just damaged: most often a copy cut short.
    if (prefixed) throw new DicomError('Corrupt', `${file} is a DICOM file cut short or damaged (${why})`, { cause: err });
    throw new DicomError('NotDicom', `${file} is not a readable DICOM file (${why})`, { cause: err });
  }
  const str = (tag: string) => (dataSet.string(tag) ?? '').trim();
  const num = (tag: string, index = 0): number | null => {
    const v = dataSet.floatString(tag, index);
    return v !== undefined && Number.isFinite(v) ? v : null;
  };
  const vector = <N extends number>(tag: string, n: N): number[] | null => {
    if ((dataSet.numStringValues(tag) ?? 0) < n) return null;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = num(tag, i);
      if (v === null) return null;
      out.push(v);
    }
    return out;
  };
  const tsUid = str(TAG.transferSyntax) || (prefixed ? '1.2.840.10008.1.2' : bareSyntax(bytes));
  const slope = num(TAG.rescaleSlope);
  const int = (tag: string) => {
    const v = num(tag);
    return v === null ? null : Math.round(v);
  };
  return {
    file,
    dataSet,
    transferSyntax: transferSyntax(tsUid),
    sopClassUid: str(TAG.sopClass),
    modality: str(TAG.modality).toUpperCase(),
    seriesInstanceUid: str(TAG.seriesUid),
    seriesNumber: int(TAG.seriesNumber),
    seriesDescription: str(TAG.seriesDescription),
    frameOfReferenceUid: str(TAG.frameOfReference),
    instanceNumber: int(TAG.instanceNumber),
    position: vector(TAG.position, 3) as DicomImage['position'],
    orientation: vector(TAG.orientation, 6) as DicomImage['orientation'],
    pixelSpacing: vector(TAG.pixelSpacing, 2) as DicomImage['pixelSpacing'],
    rows: dataSet.uint16(TAG.rows) ?? 0,
    columns: dataSet.uint16(TAG.columns) ?? 0,
    bitsAllocated: dataSet.uint16(TAG.bitsAllocated) ?? 0,
    bitsStored: dataSet.uint16(TAG.bitsStored) ?? dataSet.uint16(TAG.bitsAllocated) ?? 0,
    pixelRepresentation: dataSet.uint16(TAG.pixelRepresentation) ?? 0,
    samplesPerPixel: dataSet.uint16(TAG.samplesPerPixel) ?? 1,
    photometric: str(TAG.photometric).toUpperCase() || 'MONOCHROME2',
    // A slope of 0 would flatten the image; PS3.3 allows none, dcm2niix reads it as 1 too.
    rescaleSlope: slope === null || slope === 0 ? 1 : slope,
    rescaleIntercept: num(TAG.rescaleIntercept) ?? 0,
    frames: int(TAG.frames) ?? 1,
    sliceThickness: num(TAG.sliceThickness),
    spacingBetweenSlices: num(TAG.spacingBetweenSlices),
    gantryTilt: num(TAG.gantryTilt),
    pixelData: dataSet.elements[TAG.pixelData] ?? null,
  };
}
