// A DICOM series → the same decoded-volume shape the NIfTI reader produces (NiftiVolume: header + voxels, i fastest,
// then j, then k), so the viewer, `ctlens info`, canonical reorientation and the model preprocessing take either.
// Voxels are HU (RescaleSlope / RescaleIntercept applied per slice, PS3.3 C.11.1.1.2): int16 when every slice's
// rescale is integral and the values fit, else float32; sclSlope / sclInter are then 1 and 0. Slices are decoded in
// order along the normal and reported through onSlices as they complete, so the viewer paints the first slice
// while compressed ones still decode (issue 12).
import { axisCodes } from '../nifti/affine';
import { DEFAULT_MAX_VOXEL_BYTES } from '../nifti/decode';
import type { NiftiHeader, NiftiVolume, VoxelArray } from '../nifti/types';
import { DicomError } from './errors';
import { hasDicmPrefix, parseDicomImage, type DicomImage } from './parse';
import { decodePixels } from './pixels';
import { groupSeries, seriesGeometry, type DicomSeries, type SeriesSummary } from './series';

export interface DicomFile {
  name: string;
  bytes: Uint8Array;
}

export interface DicomVolume extends NiftiVolume {
  /** What the user must be told about this volume (gantry tilt, uneven spacing, left-out images, non-CT …). */
  notices: string[];
  series: SeriesSummary;
}

export interface DicomReadResult {
  series: DicomSeries[];
  /** Files that are not DICOM images (DICOMDIR, reports, stray files), by name. */
  skipped: string[];
  /** Files with the DICM prefix that could not be parsed (truncated, damaged), with why. */
  unreadable: string[];
}

/**
 * Parses files and groups them into series. Files that are not DICOM, or DICOM without pixel data, are skipped
 * (a folder holds such files); none left is a DicomError 'NoImages'.
 */
export function readDicomFiles(files: DicomFile[]): DicomReadResult {
  const images: DicomImage[] = [];
  const skipped: string[] = [];
  const unreadable: string[] = [];
  let firstError: DicomError | null = null;
  for (const f of files) {
    try {
      const im = parseDicomImage(f.bytes, f.name);
      if (im.pixelData) images.push(im);
      else skipped.push(f.name);
    } catch (err) {
      if (!(err instanceof DicomError)) throw err;
      // A refused syntax is the answer for the whole folder, more telling than "not DICOM".
      if (!firstError || (err.code === 'UnsupportedTransferSyntax' && firstError.code !== err.code)) firstError = err;
      if (hasDicmPrefix(f.bytes)) unreadable.push(err.message);
      else skipped.push(f.name);
    }
  }
  if (images.length === 0) {
    if ((files.length === 1 || firstError?.code === 'UnsupportedTransferSyntax') && firstError) throw firstError;
    throw new DicomError('NoImages', `none of the ${files.length} files is a DICOM image${firstError ? ` (${firstError.message})` : ''}`);
  }
  return { series: groupSeries(images), skipped, unreadable };
}

export interface DicomDecodeOptions {
  /** Which series when there are several; without it several series are a DicomError 'SeveralSeries'. */
  seriesUid?: string;
  maxVoxelBytes?: number;
  signal?: AbortSignal;
  onHeader?(header: NiftiHeader): void;
  onSlices?(kStart: number, kEnd: number, data: VoxelArray): void;
  /** How long the decoder may hold the thread before yielding to the event loop, ms (default 16). */
  sliceBudgetMs?: number;
}

/** Picks the series to decode: the one asked for, or the only one. */
export function pickSeries(series: DicomSeries[], uid?: string): DicomSeries {
  if (uid !== undefined) {
    const s = series.find((x) => x.summary.uid === uid);
    if (!s) throw new DicomError('NoImages', `no series ${uid} among the ${series.length} found`);
    return s;
  }
  if (series.length > 1) {
    const list = series.map((s) => `#${s.summary.seriesNumber ?? '?'} ${s.summary.modality} (${s.summary.images} images)`).join(', ');
    throw new DicomError('SeveralSeries', `${series.length} series found: ${list}; choose one`);
  }
  return series[0]!;
}

export async function decodeDicomSeries(series: DicomSeries, options: DicomDecodeOptions = {}): Promise<DicomVolume> {
  throwIfAborted(options.signal);
  const geometry = seriesGeometry(series.images);
  const { slices } = geometry;
  const first = slices[0]!;
  const [nx, ny, nz] = [first.columns, first.rows, slices.length];
  const notices = [...geometry.notices];

  for (const im of slices) {
    if (!im.transferSyntax.codec) {
      const ts = im.transferSyntax;
      throw new DicomError('UnsupportedTransferSyntax', `${im.file}: ${ts.name} (${ts.uid}) is not supported: ${ts.refusal ?? 'no decoder'}`);
    }
    if (![8, 16, 32].includes(im.bitsAllocated)) {
      throw new DicomError('UnsupportedImage', `${im.file}: BitsAllocated ${im.bitsAllocated} is not read (8, 16 or 32)`);
    }
  }

  // int16 when the HU of every possible stored value are integers within int16 (the usual CT: 12–16 bits, slope
  // 1, intercept −1024); anything else float32, which holds every rescaled value of ≤ 24-bit data exactly.
  const storedRange = (im: DicomImage): [number, number] => {
    const bits = im.bitsStored || im.bitsAllocated;
    return im.pixelRepresentation === 1 ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
  };
  const fitsInt16 = slices.every((im) => {
    if (!Number.isInteger(im.rescaleSlope) || !Number.isInteger(im.rescaleIntercept)) return false;
    const [lo, hi] = storedRange(im);
    const a = lo * im.rescaleSlope + im.rescaleIntercept;
    const b = hi * im.rescaleSlope + im.rescaleIntercept;
    return Math.min(a, b) >= -32768 && Math.max(a, b) <= 32767;
  });
  const datatype = fitsInt16 ? 'int16' : 'float32';
  const bytesPer = fitsInt16 ? 2 : 4;
  const voxels = nx * ny * nz;
  const maxBytes = options.maxVoxelBytes ?? DEFAULT_MAX_VOXEL_BYTES;
  if (voxels * bytesPer > maxBytes) {
    throw new DicomError('TooLarge', `the series is ${nx}×${ny}×${nz} ${datatype} (${((voxels * bytesPer) / 2 ** 20).toFixed(0)} MiB), over the ${(maxBytes / 2 ** 20).toFixed(0)} MiB limit`);
  }
  // MONOCHROME1 (minimum shown white) is a display instruction: a CT's Modality LUT still gives HU from the
  // stored values (PS3.3 C.11.1), as dcm2niix and pydicom read them. Other modalities have no physical unit, so
  // there the stored values are inverted instead, making bright mean dense as in MONOCHROME2.
  const mono1 = slices.some((im) => im.photometric === 'MONOCHROME1');
  const invert = mono1 && modalityOf(slices) !== 'CT';
  if (mono1) {
    notices.push(
      invert
        ? 'MONOCHROME1 images (minimum shown white): the stored values were inverted before the rescale, so bright means dense as in MONOCHROME2.'
        : 'MONOCHROME1 images (minimum shown white): the values are the HU the rescale gives, shown with the usual CT windows (high HU bright).',
    );
  }
  const rescales = new Set(slices.map((im) => `${im.rescaleSlope}/${im.rescaleIntercept}`));
  const syntaxes = [...new Set(slices.map((im) => im.transferSyntax.name))];
  const modality = first.modality || 'DICOM';

  const header: NiftiHeader = {
    format: 'dicom',
    littleEndian: true,
    dims: [nx, ny, nz],
    frames: 1,
    spacing: geometry.spacing,
    datatype,
    datatypeCode: fitsInt16 ? 4 : 16,
    bitpix: bytesPer * 8,
    voxOffset: 0,
    sclSlope: 1,
    sclInter: 0,
    affine: geometry.affine,
    // DICOM patient coordinates are scanner coordinates: what dcm2niix writes as sform code 1.
    affineSource: 'sform',
    orientation: axisCodes(geometry.affine),
    qformCode: 1,
    sformCode: 1,
    // Not the SeriesDescription: free text that may name the patient (the header panel is shown to anyone).
    description: `${modality} series of ${nz} images, ${syntaxes.join(' + ')}${rescales.size > 1 ? ', rescale varies per slice' : ''}`,
    calMin: 0,
    calMax: 0,
    xyztUnits: 2, // mm
    intentCode: 0,
  };
  options.onHeader?.(header);

  const data = fitsInt16 ? new Int16Array(voxels) : new Float32Array(voxels);
  const sliceLength = nx * ny;
  const budget = options.sliceBudgetMs ?? 16;
  let reported = 0;
  let since = performance.now();
  for (let k = 0; k < nz; k++) {
    throwIfAborted(options.signal);
    const im = slices[k]!;
    const stored = await decodePixels(im);
    const slope = im.rescaleSlope;
    const inter = im.rescaleIntercept;
    const out = data.subarray(k * sliceLength, (k + 1) * sliceLength);
    if (invert && im.photometric === 'MONOCHROME1') {
      const [lo, hi] = storedRange(im);
      for (let n = 0; n < sliceLength; n++) out[n] = (lo + hi - stored[n]!) * slope + inter;
    } else if (slope === 1 && inter === 0) out.set(stored);
    else for (let n = 0; n < sliceLength; n++) out[n] = stored[n]! * slope + inter;
    if (performance.now() - since >= budget || k === nz - 1) {
      options.onSlices?.(reported, k + 1, data);
      reported = k + 1;
      // Let the host deliver the slices (and stay responsive) before the next batch.
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    }
  }
  return { header, data, notices, series: series.summary };
}

/** Reads and decodes one series from files in memory: the only series, or the one `seriesUid` names. */
export async function decodeDicomFiles(files: DicomFile[], options: DicomDecodeOptions = {}): Promise<DicomVolume> {
  const read = readDicomFiles(files);
  const volume = await decodeDicomSeries(pickSeries(read.series, options.seriesUid), options);
  volume.notices.push(...unreadableNotice(read));
  return volume;
}

/** A damaged file in the folder may be a missing slice: never skipped silently. */
export function unreadableNotice(read: DicomReadResult): string[] {
  const n = read.unreadable.length;
  if (n === 0) return [];
  return [`${n} DICOM file${n > 1 ? 's' : ''} could not be read and ${n > 1 ? 'were' : 'was'} left out: ${read.unreadable.slice(0, 3).join('; ')}${n > 3 ? '; …' : ''}`];
}

function modalityOf(slices: DicomImage[]): string {
  const set = new Set(slices.map((im) => im.modality));
  return set.size === 1 ? [...set][0]! : '';
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DicomError('Aborted', 'reading the series was cancelled');
}
