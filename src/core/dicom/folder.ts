// Finding a series in a folder through any file system (Node's fs in the CLI, vscode.workspace.fs in the
// extension): list the folder, read the files that may be DICOM (named *.dcm, *.ima, *.dicom or with no extension,
// as scanners and PACS export them), parse and group them. A file opened on its own brings in the series it
// belongs to: the files of its folder with its SeriesInstanceUID.
import { DicomError } from './errors';
import { readDicomFiles, type DicomFile, type DicomReadResult } from './decode';
import type { DicomSeries } from './series';

export interface FolderReader {
  /** Names of the plain files in the folder (not recursive). */
  list(): Promise<string[]>;
  read(name: string): Promise<Uint8Array>;
}

/** Extensions that are never DICOM: not even read. */
const NOT_DICOM = /\.(nii|gz|json|jsonl|txt|md|csv|png|jpe?g|gif|bmp|tiff?|xml|html?|pdf|zip|tar|mha|mhd|nrrd|py|ts|js|log|bak)$/i;

/** Whether a folder entry may be a DICOM file worth reading (DICOMDIR is read too, then skipped: no pixels). */
export function mayBeDicom(name: string): boolean {
  if (name.startsWith('.')) return false;
  return !NOT_DICOM.test(name);
}

export interface ReadFolderOptions {
  signal?: AbortSignal;
  /** Files read so far of the total, for a progress bar. */
  onProgress?(read: number, total: number): void;
}

/** Reads and groups every DICOM image of a folder; a folder without any is a DicomError 'NoImages'. */
export async function readDicomFolder(reader: FolderReader, options: ReadFolderOptions = {}): Promise<DicomReadResult> {
  const names = (await reader.list()).filter(mayBeDicom).sort();
  const files: DicomFile[] = [];
  for (const name of names) {
    if (options.signal?.aborted) throw new DicomError('Aborted', 'reading the series was cancelled');
    files.push({ name, bytes: await reader.read(name) });
    options.onProgress?.(files.length, names.length);
  }
  if (files.length === 0) throw new DicomError('NoImages', 'the folder holds no DICOM files');
  return readDicomFiles(files);
}

/** The series a file belongs to, among those read from its folder. */
export function seriesOfFile(read: DicomReadResult, fileName: string): DicomSeries {
  const s = read.series.find((x) => x.images.some((im) => im.file === fileName));
  if (!s) throw new DicomError('NotDicom', `${fileName} is not a DICOM image${read.unreadable.length ? ` (${read.unreadable[0]})` : ''}`);
  return s;
}
