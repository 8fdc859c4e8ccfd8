// What the CLI accepts as a volume: a NIfTI file, a DICOM folder, or one DICOM file (which brings in its series
// from its folder). Every failure the user can fix is a UsageError with the reader's message (exit code 2).
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import {
  decodeDicomSeries,
  DicomError,
  hasDicmPrefix,
  pickSeries,
  readDicomFolder,
  seriesOfFile,
  unreadableNotice,
  type DicomReadResult,
  type DicomSeries,
  type FolderReader,
} from '../core/dicom';
import { decodeNifti, NiftiError } from '../core/nifti';
import { nodeInflate } from '../core/nifti/inflate-node';
import type { NiftiVolume } from '../core/nifti/types';
import { readInputFile, UsageError } from './io';

export interface VolumeInput {
  volume: NiftiVolume;
  kind: 'nifti' | 'dicom';
  /** DICOM: what the user must know about the series (tilt, gaps, left-out files …). */
  notices: string[];
  /** Bytes read: the file, or every file of the series' folder. */
  bytesRead: number;
}

export interface VolumeInputOptions {
  /** With several series in a folder: a SeriesNumber or a SeriesInstanceUID. */
  series?: string;
  signal?: AbortSignal;
}

export function nodeFolder(dir: string, counter?: { bytes: number }): FolderReader {
  return {
    list: async () => (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name),
    read: async (name) => {
      const bytes = await readFile(path.join(dir, name));
      if (counter) counter.bytes += bytes.length;
      return bytes;
    },
  };
}

const DICOM_NAME = /\.(dcm|dicom|ima)$/i;

export async function readVolumeInput(file: string, shownAs: string, options: VolumeInputOptions = {}): Promise<VolumeInput> {
  const isDir = await stat(file).then((s) => s.isDirectory(), () => false);
  try {
    if (isDir) {
      const counter = { bytes: 0 };
      const read = await readDicomFolder(nodeFolder(file, counter), { signal: options.signal });
      return await dicom(read, chooseSeries(read, options.series), counter.bytes, options);
    }
    const bytes = await readInputFile(file, shownAs);
    if (DICOM_NAME.test(file) || hasDicmPrefix(bytes)) {
      const counter = { bytes: 0 };
      const read = await readDicomFolder(nodeFolder(path.dirname(file), counter), { signal: options.signal });
      return await dicom(read, seriesOfFile(read, path.basename(file)), counter.bytes, options);
    }
    const volume = await decodeNifti(bytes, { inflate: nodeInflate, name: file, signal: options.signal });
    return { volume, kind: 'nifti', notices: [], bytesRead: bytes.length };
  } catch (err) {
    if (err instanceof NiftiError || err instanceof DicomError) throw new UsageError(err.message);
    throw err;
  }
}

async function dicom(read: DicomReadResult, series: DicomSeries, bytesRead: number, options: VolumeInputOptions): Promise<VolumeInput> {
  const volume = await decodeDicomSeries(series, { signal: options.signal });
  return { volume, kind: 'dicom', notices: [...volume.notices, ...unreadableNotice(read)], bytesRead };
}

function chooseSeries(read: DicomReadResult, wanted: string | undefined): DicomSeries {
  if (wanted === undefined) {
    if (read.series.length > 1) {
      const rows = read.series.map((s) => {
        const m = s.summary;
        return `  --series ${m.seriesNumber ?? m.uid}   ${m.modality} ${m.columns}×${m.rows}×${m.images}  ${m.description || '(no description)'}`;
      });
      throw new UsageError(`the folder holds ${read.series.length} series; choose one:\n${rows.join('\n')}`);
    }
    return read.series[0]!;
  }
  const byNumber = read.series.filter((s) => String(s.summary.seriesNumber) === wanted);
  if (byNumber.length === 1) return byNumber[0]!;
  return pickSeries(read.series, wanted);
}
