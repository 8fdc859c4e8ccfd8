// Activation of CT Lens. Activated only by its own contributions (the custom editor for .nii / .nii.gz and the CT Lens
// commands), never on startup. Creates the one output channel every feature logs to, and the viewer provider that
// other features reach through the returned API (the active volume, overlays).

import * as vscode from 'vscode';
import { registerOverlayCommands } from './editor/overlay-command';
import { ViewerProvider } from './editor/viewer-provider';

export interface CtLensApi {
  log: vscode.LogOutputChannel;
  viewer: ViewerProvider;
}

export function activate(context: vscode.ExtensionContext): CtLensApi {
  const log = vscode.window.createOutputChannel('CT Lens', { log: true });
  context.subscriptions.push(log);
  const viewer = ViewerProvider.register(context, log);
  registerOverlayCommands(context, viewer, log);
  log.info(`CT Lens ${String(context.extension.packageJSON.version ?? '')} activated`);
  return { log, viewer };
}

export function deactivate(): void {}
