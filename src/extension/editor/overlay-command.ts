// `CT Lens: Open Overlay…` — picks a .nii / .nii.gz (or takes a URI argument), decodes it with the same core as the
// volume, and shows it over the active viewer as a label or scalar map. `CT Lens: Remove Overlay` clears it.

import * as vscode from 'vscode';
import { decodeNifti } from '../../core/nifti/decode';
import { NiftiError } from '../../core/nifti/errors';
import { nodeInflate } from '../../core/nifti/inflate-node';
import { overlayFromVolume } from '../../shared/overlay';
import { maxVoxelBytes } from './settings';
import type { ViewerProvider } from './viewer-provider';

export function registerOverlayCommands(
  context: vscode.ExtensionContext,
  provider: ViewerProvider,
  log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ctlens.openOverlay', (uri?: vscode.Uri) => openOverlay(provider, log, uri)),
    vscode.commands.registerCommand('ctlens.clearOverlay', () => provider.clearOverlay()),
  );
}

/** Returns the overlay's id when applied, undefined when cancelled or refused (the user saw why). */
export async function openOverlay(provider: ViewerProvider, log: vscode.LogOutputChannel, uri?: vscode.Uri): Promise<string | undefined> {
  const target = provider.activeDocument;
  if (!target) {
    void vscode.window.showErrorMessage('CT Lens: open a volume in the CT Lens viewer first, then add an overlay to it.');
    return undefined;
  }
  let pick = uri instanceof vscode.Uri ? uri : undefined;
  if (!pick) {
    const chosen = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Open Overlay',
      title: `Overlay for ${target.name}`,
      defaultUri: vscode.Uri.joinPath(target.uri, '..'),
      filters: { 'NIfTI volumes': ['nii', 'gz'] },
    });
    pick = chosen?.[0];
  }
  if (!pick) return undefined;
  const name = pick.path.split('/').pop() || pick.path;
  try {
    const bytes = await vscode.workspace.fs.readFile(pick);
    const config = vscode.workspace.getConfiguration('ctlens');
    const volume = await decodeNifti(bytes, { name, inflate: nodeInflate, maxVoxelBytes: maxVoxelBytes((k) => config.get(k)) });
    const overlay = overlayFromVolume(volume, pick.toString(), name);
    await provider.setOverlay(overlay, target.uri);
    log.info(`${target.name}: overlay ${name} (${overlay.kind} map, ${overlay.dims.join('×')}) applied`);
    return overlay.id;
  } catch (error) {
    const message = error instanceof NiftiError || error instanceof Error ? error.message : String(error);
    log.error(`overlay ${pick.toString(true)}: ${message}`);
    void vscode.window.showErrorMessage(`CT Lens: cannot open overlay ${name}: ${message}`);
    return undefined;
  }
}
