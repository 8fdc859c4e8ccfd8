// Activation of CT Lens. Activated only by its own contributions (the custom editor for .nii / .nii.gz, the CT Lens
// commands and views), never on startup. Creates the one output channel every feature logs to, the viewer provider,
// the model feature (model host, report, chat, status bar), the Routing and Model views and Evaluate Dataset. The
// returned API gives other code (and tests) the active volume, overlays and the model runs.

import * as vscode from 'vscode';
import { registerDicomCommands } from './editor/dicom-series';
import { registerOverlayCommands } from './editor/overlay-command';
import { VIEWER_VIEW_TYPE, ViewerProvider } from './editor/viewer-provider';
import { registerEvaluateCommand } from './eval/evaluate-command';
import { ModelFeature } from './model/model-feature';
import { ModelViewProvider } from './views/model-view';
import { RoutingViewProvider } from './views/routing-view';

export interface CtLensApi {
  log: vscode.LogOutputChannel;
  viewer: ViewerProvider;
  model: ModelFeature;
  routing: RoutingViewProvider;
}

let model: ModelFeature | null = null;

export function activate(context: vscode.ExtensionContext): CtLensApi {
  const log = vscode.window.createOutputChannel('CT Lens', { log: true });
  context.subscriptions.push(log);
  const viewer = ViewerProvider.register(context, log);
  registerOverlayCommands(context, viewer, log);
  registerDicomCommands(context, log, VIEWER_VIEW_TYPE);
  model = new ModelFeature(context, viewer, log);
  context.subscriptions.push(model);
  const routing = RoutingViewProvider.register(context, viewer, model, log);
  ModelViewProvider.register(context, model);
  registerEvaluateCommand(context, model, log);
  context.subscriptions.push(vscode.commands.registerCommand('ctlens.showRouting', () => vscode.commands.executeCommand('ctlens.routing.focus')));
  log.info(`CT Lens ${String(context.extension.packageJSON.version ?? '')} activated`);
  return { log, viewer, model, routing };
}

/** Stops the model host (and waits for it), so no child process outlives the extension host. */
export async function deactivate(): Promise<void> {
  const m = model;
  model = null;
  await m?.service.dispose();
}
