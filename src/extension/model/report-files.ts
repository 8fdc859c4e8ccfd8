// A run's text leaving CT Lens: Save Report writes the volume's latest report as Markdown beside the volume (never
// over another file unasked, never inside the extension's own folder), Copy puts a report or answer on the clipboard.
// The text is the model's own, followed by the runtime's notices (report-markdown.ts).

import * as vscode from 'vscode';
import { describeError } from '../../core/model/errors';
import type { RunInfo } from '../../shared/protocol';
import type { VolumeDocument } from '../editor/viewer-provider';
import { freeName, pathName, reportMarkdown, runClipboardText, volumeStem } from './report-markdown';

/** Saves a report of `document` (`run` from the run store); returns the file written, or undefined. */
export async function saveReport(
  document: VolumeDocument,
  run: RunInfo | undefined,
  extensionUri: vscode.Uri,
  log: vscode.LogOutputChannel,
): Promise<vscode.Uri | undefined> {
  if (!run?.text) {
    void vscode.window.showInformationMessage(`CT Lens: there is no report for ${document.name} to save yet.`);
    return undefined;
  }
  const markdown = reportMarkdown(run, document.name, new Date());
  const stem = volumeStem(document.name);
  const folder = vscode.Uri.joinPath(document.uri, '..');
  let target: vscode.Uri | undefined;
  // The bundled samples live inside the extension: never write there, ask where instead.
  const insideExtension = document.uri.toString().startsWith(extensionUri.toString() + '/');
  if (!insideExtension) {
    const exists = (name: string) =>
      Promise.resolve(vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, name))).then(
        () => true,
        () => false,
      );
    const wanted = `${stem}.report.md`;
    target = vscode.Uri.joinPath(folder, wanted);
    if (await exists(wanted)) {
      const other = await freeName(`${stem}.report`, '.md', exists);
      const pick = await vscode.window.showWarningMessage(
        `${wanted} already exists beside ${document.name}.`,
        { modal: true, detail: 'Overwrite it with this report, or save the report under a new name?' },
        'Overwrite',
        `Save as ${other}`,
      );
      if (!pick) return undefined;
      if (pick !== 'Overwrite') target = vscode.Uri.joinPath(folder, other);
    }
  }
  if (!target) {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    target = await vscode.window.showSaveDialog({
      defaultUri: base ? vscode.Uri.joinPath(base, `${stem}.report.md`) : undefined,
      filters: { Markdown: ['md'] },
      title: `Save the report for ${document.name}`,
    });
    if (!target) return undefined;
  }
  try {
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(markdown));
  } catch (error) {
    const message = describeError(error);
    log.error(`saving ${target.toString(true)}: ${message}`);
    void vscode.window.showErrorMessage(`CT Lens: cannot save ${pathName(target.path)}: ${message}`);
    return undefined;
  }
  log.info(`${document.name}: report saved to ${target.toString(true)}`);
  void vscode.window.showInformationMessage(`CT Lens: report saved as ${pathName(target.path)}.`, 'Open').then((pick) => {
    if (pick) void vscode.commands.executeCommand('vscode.open', target);
  });
  return target;
}

/** Copies a finished report or answer (text and notices) to the clipboard. */
export async function copyRun(run: RunInfo | undefined): Promise<void> {
  if (!run?.text) return;
  await vscode.env.clipboard.writeText(runClipboardText(run));
  vscode.window.setStatusBarMessage(`CT Lens: ${run.task === 'report' ? 'report' : 'answer'} copied`, 3000);
}
