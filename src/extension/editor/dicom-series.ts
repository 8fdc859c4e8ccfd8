// DICOM in the editor (issue 12): a .dcm file (or any file the user opens with "CT Lens Viewer (DICOM file)")
// loads the series it belongs to from its folder, through vscode.workspace.fs so remote and virtual workspaces
// work; `CT Lens: Open DICOM Series` on a folder asks which series when there are several and opens it in the
// same viewer pipeline as NIfTI (VolumeLoad streams slices to the webview as they decode). What the reader had to
// tell (tilt, gaps, left-out images, non-CT) is shown once per document. Patient attributes are never read.
import * as vscode from 'vscode';
import {
  decodeDicomSeries,
  DicomError,
  hasDicmPrefix,
  mayBeDicom,
  readDicomFiles,
  seriesOfFile,
  unreadableNotice,
  type DicomReadResult,
  type DicomSeries,
  type DicomFile,
  type DicomVolume,
  type FolderReader,
} from '../../core/dicom';
import { decodeNifti } from '../../core/nifti/decode';
import type { NiftiVolume } from '../../core/nifti/types';
import type { Decoder } from './volume-load';

/** The custom editor offered for any file through "Open With…" (extension-less DICOM files, as PACS export them). */
export const DICOM_FILE_VIEW_TYPE = 'ctlens.dicomFile';

const DICOM_NAME = /\.(dcm|dicom|ima)$/i;
/** Files read at once from the folder (vscode.workspace.fs round trips dominate on remote workspaces). */
const READ_CONCURRENCY = 8;

export function vscodeFolder(folder: vscode.Uri): FolderReader {
  return {
    list: async () =>
      (await vscode.workspace.fs.readDirectory(folder)).filter(([, type]) => (type & vscode.FileType.File) !== 0).map(([name]) => name),
    read: async (name) => vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, name)),
  };
}

/** Reads the folder's candidate files, READ_CONCURRENCY at a time, then parses and groups them in the core. */
async function readFolder(folder: vscode.Uri, signal?: AbortSignal, onProgress?: (read: number, total: number) => void): Promise<DicomReadResult> {
  const reader = vscodeFolder(folder);
  const names = (await reader.list()).filter(mayBeDicom).sort();
  if (names.length === 0) throw new DicomError('NoImages', 'the folder holds no DICOM files');
  const files: DicomFile[] = new Array(names.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < names.length) {
      if (signal?.aborted) throw new DicomError('Aborted', 'reading the series was cancelled');
      const n = next++;
      files[n] = { name: names[n]!, bytes: await reader.read(names[n]!) };
      onProgress?.(++done, names.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, names.length) }, worker));
  return readDicomFiles(files);
}

/** Whether a file should be read as DICOM: by its name, or the "DICM" prefix of its bytes. */
export function isDicomFile(uri: vscode.Uri, bytes: Uint8Array): boolean {
  return DICOM_NAME.test(uri.path) || hasDicmPrefix(bytes);
}

/**
 * The decoder of a viewer document: NIfTI as before, or — for a DICOM file — the file's whole series from its
 * folder, with the same progressive header / slices callbacks.
 */
export function volumeDecoder(uri: vscode.Uri): Decoder {
  return async (bytes, options): Promise<NiftiVolume> => {
    if (!isDicomFile(uri, bytes)) return decodeNifti(bytes, options);
    const folder = vscode.Uri.joinPath(uri, '..');
    const read = await readFolder(folder, options.signal);
    const name = uri.path.split('/').pop()!;
    const series = seriesOfFile(read, name);
    const volume = await decodeDicomSeries(series, {
      signal: options.signal,
      maxVoxelBytes: options.maxVoxelBytes,
      onHeader: options.onHeader,
      onSlices: options.onSlices,
    });
    volume.notices.push(...unreadableNotice(read));
    return volume;
  };
}

export function isDicomVolume(volume: NiftiVolume): volume is DicomVolume {
  return volume.header.format === 'dicom' && Array.isArray((volume as DicomVolume).notices);
}

export function registerDicomCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, viewType: string): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ctlens.openDicomSeries', async (folder?: vscode.Uri) => {
      let target = folder instanceof vscode.Uri ? folder : undefined;
      if (!target) {
        const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Open DICOM Series', title: 'CT Lens: pick a folder with a DICOM series' });
        target = picked?.[0];
      }
      if (!target) return undefined;
      const file = await chooseSeriesFile(target, log);
      if (!file) return undefined;
      await vscode.commands.executeCommand('vscode.openWith', file, viewType);
      return file;
    }),
  );
}

/** Reads a folder (with a progress notification), asks which series when there are several, returns one of its files. */
export async function chooseSeriesFile(folder: vscode.Uri, log: vscode.LogOutputChannel): Promise<vscode.Uri | undefined> {
  let read: DicomReadResult;
  try {
    read = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'CT Lens: reading the DICOM folder', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let last = 0;
        return readFolder(folder, abort.signal, (n, total) => {
          const pct = Math.floor((100 * n) / total);
          if (pct > last) progress.report({ increment: pct - last, message: `${n} of ${total} files` });
          last = pct;
        });
      },
    );
  } catch (err) {
    const message = err instanceof DicomError ? err.message : String(err);
    if (!(err instanceof DicomError && err.code === 'Aborted')) {
      log.error(`${folder.toString(true)}: ${message}`);
      void vscode.window.showErrorMessage(`CT Lens: ${message}`);
    }
    return undefined;
  }
  let series: DicomSeries | undefined = read.series[0];
  if (read.series.length > 1) {
    const items = read.series.map((s) => {
      const m = s.summary;
      const mib = (m.rows * m.columns * m.images * 2) / 2 ** 20;
      return {
        label: `${m.seriesNumber !== null ? `#${m.seriesNumber} ` : ''}${m.description || '(no description)'}`,
        description: `${m.modality} · ${m.images} slices · ${m.columns}×${m.rows}`,
        detail: `${mib.toFixed(1)} MiB as int16 · ${m.transferSyntax}`,
        series: s,
      };
    });
    const pick = await vscode.window.showQuickPick(items, { title: `CT Lens: ${read.series.length} series in ${folder.path.split('/').pop()}`, placeHolder: 'Which series to open?' });
    series = pick?.series;
  }
  if (!series) return undefined;
  // The series opens through one of its files: the document of that file loads the whole series.
  return vscode.Uri.joinPath(folder, series.images[0]!.file);
}
