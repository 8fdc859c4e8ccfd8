// The model's commands: CT Lens: Generate Report / Ask About Volume / Save Report / Stop Runs / Load Model / Restart
// Model Host / Choose Model Package… / Use Bundled Model / Open Sample, and how a command finds its volume (its
// argument, the CT Lens editor in front, or a file the user picks — opened in the viewer when it is not yet).

import * as vscode from 'vscode';
import { describeError, ModelError } from '../../core/model/errors';
import { readModelPackage } from '../../core/model/package';
import { VIEWER_VIEW_TYPE, type ViewerProvider, type VolumeDocument } from '../editor/viewer-provider';
import type { ModelFeature } from './model-feature';
import { pathName } from './report-markdown';

/** How long a command waits for the viewer it opened (VS Code resolves custom editors asynchronously). */
const VIEWER_OPEN_TIMEOUT_MS = 10_000;

export function registerModelCommands(
  context: vscode.ExtensionContext,
  model: ModelFeature,
  viewer: ViewerProvider,
  log: vscode.LogOutputChannel,
): vscode.Disposable[] {
  const c = vscode.commands.registerCommand;
  const resolve = (uri: unknown, purpose: string) => resolveDocument(viewer, uri, purpose);
  return [
    c('ctlens.generateReport', async (uri?: vscode.Uri) => {
      const document = await resolve(uri, 'Generate Report');
      return document ? model.generateReport(document) : undefined;
    }),
    c('ctlens.askQuestion', async (uri?: vscode.Uri, question?: string) => {
      const document = await resolve(uri, 'Ask About Volume');
      if (!document) return undefined;
      const q = typeof question === 'string' ? question : await pickQuestion(model, document);
      if (!q) return undefined;
      viewer.reveal(document);
      viewer.post(document, { type: 'showModelPanel', panel: 'chat' });
      return model.ask(document, q);
    }),
    c('ctlens.saveReport', async (uri?: vscode.Uri) => {
      const document = await resolve(uri, 'Save Report');
      return document ? model.saveReport(document) : undefined;
    }),
    c('ctlens.stopRuns', () => {
      for (const r of model.runs.unfinished) r.controller.abort(new ModelError('Aborted', 'stopped by the user'));
    }),
    c('ctlens.loadModel', () => model.loadModel(true)),
    c('ctlens.restartModelHost', async () => {
      await model.service.unload();
      log.info('model host stopped; it starts again on the next run');
      return model.loadModel(true);
    }),
    c('ctlens.chooseModel', () => chooseModel(model, log)),
    c('ctlens.useBundledModel', async () => {
      await vscode.workspace.getConfiguration('ctlens').update('modelPath', undefined, vscode.ConfigurationTarget.Global);
    }),
    c('ctlens.openSample', async (which?: string) => {
      const file = which === 'head' ? 'head_ct_invesalius.nii.gz' : 'chest_phantom.nii.gz';
      const uri = vscode.Uri.joinPath(context.extensionUri, 'media', 'samples', file);
      await vscode.commands.executeCommand('vscode.openWith', uri, VIEWER_VIEW_TYPE);
    }),
  ];
}

/** The volume a command acts on: its argument, the CT Lens editor in front, or a file the user picks. */
export async function resolveDocument(viewer: ViewerProvider, uri: unknown, purpose: string): Promise<VolumeDocument | undefined> {
  let target = uri instanceof vscode.Uri ? uri : undefined;
  if (!target) {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputCustom && input.viewType === VIEWER_VIEW_TYPE) target = input.uri;
  }
  if (!target) target = viewer.activeDocument?.uri;
  if (!target) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: purpose,
      title: `CT Lens: ${purpose} — pick a CT volume`,
      filters: { 'NIfTI volumes': ['nii', 'gz'] },
    });
    target = picked?.[0];
  }
  if (!target) return undefined;
  // A DICOM file stands for its series (issue 12); any file a CT Lens viewer already shows is fine too.
  if (!/\.(nii(\.gz)?|dcm)$/i.test(target.path) && !viewer.documentOf(target)) {
    void vscode.window.showErrorMessage(`CT Lens: ${pathName(target.path)} is not a .nii, .nii.gz or .dcm volume.`);
    return undefined;
  }
  let document = viewer.documentOf(target);
  if (!document) {
    // Listen before opening: the viewer may resolve before openWith returns.
    const opened = viewer.whenViewerOpen(target, VIEWER_OPEN_TIMEOUT_MS);
    await vscode.commands.executeCommand('vscode.openWith', target, VIEWER_VIEW_TYPE);
    document = await opened;
  }
  if (!document) void vscode.window.showErrorMessage(`CT Lens: could not open ${pathName(target.path)} in the CT Lens viewer.`);
  return document ?? undefined;
}

/** A quick pick of the suggested questions that also takes whatever the user types. */
function pickQuestion(model: ModelFeature, document: VolumeDocument): Promise<string | undefined> {
  const suggestions = model.runs.state(document.key).suggestions;
  const qp = vscode.window.createQuickPick();
  qp.title = `Ask about ${document.name}`;
  qp.placeholder = 'Type a question (Enter asks it) or pick a suggestion';
  const fixed = suggestions.map((s) => ({ label: s.question, description: s.choices ? 'multiple choice' : 'suggested' }));
  qp.items = fixed;
  qp.onDidChangeValue((value) => {
    const typed = value.trim();
    qp.items = typed ? [{ label: typed, description: 'ask this' }, ...fixed.filter((f) => f.label !== typed)] : fixed;
  });
  return new Promise((resolve) => {
    qp.onDidAccept(() => {
      const q = qp.selectedItems[0]?.label ?? qp.value.trim();
      resolve(q || undefined);
      qp.hide();
    });
    qp.onDidHide(() => {
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

/** Picks another package folder: checked before it is saved in the user settings; trusted workspaces only. */
async function chooseModel(model: ModelFeature, log: vscode.LogOutputChannel): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    const pick = await vscode.window.showWarningMessage(
      'CT Lens: another model package can be chosen only in a trusted workspace (a package is code-like input to onnxruntime).',
      'Manage Workspace Trust',
    );
    if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Use This Model Package',
    title: 'CT Lens: choose a model package folder (config.json, tokenizer.json, onnx/…)',
  });
  const folder = picked?.[0];
  if (!folder) return;
  if (folder.scheme !== 'file') {
    void vscode.window.showErrorMessage('CT Lens: a model package must be a folder on this machine (onnxruntime reads it directly).');
    return;
  }
  try {
    // The user's pick is checked here, before it goes into the settings; the host reads it again when it loads.
    const pkg = await readModelPackage(folder.fsPath);
    log.info(`model package ${pkg.dir} (${pkg.name} ${pkg.spec.version}) chosen`);
  } catch (error) {
    void vscode.window.showErrorMessage(`CT Lens: ${folder.fsPath} is not a usable model package: ${describeError(error)}`);
    return;
  }
  await vscode.workspace.getConfiguration('ctlens').update('modelPath', folder.fsPath, vscode.ConfigurationTarget.Global);
  if (model.service.status.state !== 'ready' && model.service.status.state !== 'failed') await model.loadModel(true);
}
