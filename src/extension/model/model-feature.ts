// The model in VS Code: CT Lens: Generate Report / Ask About Volume / Save Report / Load Model / Choose Model
// Package…, the Report and Chat tabs of the viewer (as the viewer provider's ModelBridge), the status bar item and
// crash messages. The model runs in the model host process (ModelService); the volume is the viewer document's
// already-decoded one, preprocessed here so only the small input tensor crosses to the host.

import * as vscode from 'vscode';
import { describeError, ModelError } from '../../core/model/errors';
import { readModelPackage, type ModelPackage } from '../../core/model/package';
import { preprocessVolume } from '../../core/model/preprocess';
import type { RunInfo, RunStage } from '../../shared/protocol';
import { VIEWER_VIEW_TYPE, type ModelBridge, type ModelRequest, type ViewerProvider, type VolumeDocument } from '../editor/viewer-provider';
import { decodingLabel, generationOptions, modelTarget, type ModelTarget } from './model-settings';
import { ModelService, type ModelStatus } from './model-service';
import { freeName, reportMarkdown, runClipboardText, volumeStem } from './report-markdown';
import { RunStore, type RunDeps, type RunRecord } from './run-store';
import { datasetSuggestions, packageSuggestions } from './suggestions';

const STAGE_WORDS: Record<RunStage, string> = {
  loading: 'loading the model',
  preprocessing: 'preparing the volume',
  vision: 'encoding the volume',
  prefill: 'reading the prompt',
  decode: 'writing',
};

export class ModelFeature implements ModelBridge, vscode.Disposable {
  readonly service: ModelService;
  readonly runs = new RunStore();
  private readonly packages = new Map<string, Promise<ModelPackage>>();
  /** The document of each volume key, to reach its viewers. */
  private readonly documents = new Map<string, VolumeDocument>();
  private readonly suggestionsLooked = new Set<string>();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly inspect = new vscode.EventEmitter<{ document: VolumeDocument; runId: string }>();
  /** A viewer asked to see a run's routing (the Routing view follows). */
  readonly onDidRequestRouting = this.inspect.event;
  private readonly runsChanged = new vscode.EventEmitter<string>();
  /** A volume's runs changed (key): the Routing view refreshes. */
  readonly onDidChangeRuns = this.runsChanged.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly viewer: ViewerProvider,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.service = new ModelService({
      modulePath: context.asAbsolutePath('dist/modelhost.js'),
      log: (line) => log.info(line),
    });
    this.statusItem = vscode.window.createStatusBarItem('ctlens.model', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'CT Lens Model';
    this.statusItem.command = 'ctlens.model.focus';
    this.updateStatusItem(this.service.status);
    this.statusItem.show();
    this.disposables.push(this.statusItem, this.inspect, this.runsChanged);
    this.service.onDidChangeStatus((s) => this.updateStatusItem(s));
    this.service.onCrash((error) => {
      log.error(error.message);
      void vscode.window.showErrorMessage(`CT Lens: ${error.message}`, 'Show Log').then((pick) => pick && log.show());
    });
    this.runs.onEvent((event) => {
      const document = this.documents.get(event.key);
      if (event.type === 'update' && (event.run.status === 'done' || event.run.status === 'failed' || event.run.status === 'cancelled')) {
        this.logRun(event.key, event.run);
        this.runsChanged.fire(event.key);
      }
      if (event.type === 'state') this.runsChanged.fire(event.key);
      if (!document) return;
      if (event.type === 'update') this.viewer.post(document, { type: 'runUpdate', run: event.run });
      else if (event.type === 'text') this.viewer.post(document, { type: 'runText', id: event.id, text: event.text, chunks: event.chunks });
      else this.viewer.post(document, { type: 'modelState', state: this.runs.state(event.key) });
    });
    viewer.setModelBridge(this);
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ctlens.modelPath') || e.affectsConfiguration('ctlens.executionProvider')) this.settingsChanged();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.settingsChanged()),
    );
    this.registerCommands();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    void this.service.dispose();
  }

  // ---------------------------------------------------------------- settings and the package

  target(): ModelTarget {
    const config = vscode.workspace.getConfiguration('ctlens');
    return modelTarget(
      { get: (k) => config.get(k), inspect: (k) => config.inspect(k) },
      {
        bundledDir: this.context.asAbsolutePath('media/models/ctlens-tghmoe-demo'),
        trusted: vscode.workspace.isTrusted,
        workspaceRoot: vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath,
        home: process.env.HOME ?? process.env.USERPROFILE,
      },
    );
  }

  /** The package's JSON (config, tokenizer): read once per folder, in the extension host (cheap, no onnxruntime). */
  packageOf(dir: string): Promise<ModelPackage> {
    let p = this.packages.get(dir);
    if (!p) {
      p = readModelPackage(dir);
      p.catch(() => this.packages.delete(dir));
      this.packages.set(dir, p);
    }
    return p;
  }

  private settingsChanged(): void {
    this.packages.clear();
    const target = this.target();
    if (target.ignored) this.log.warn(`ctlens.modelPath "${target.ignored}" from this workspace is ignored: the workspace is not trusted`);
    const status = this.service.status;
    // A model was in use: load the newly chosen one now, so the status bar tells at once whether it works.
    if (status.state === 'ready' || status.state === 'failed') void this.loadModel(false);
    for (const key of this.suggestionsLooked) {
      const doc = this.documents.get(key);
      if (doc) void this.lookUpSuggestions(doc);
    }
  }

  private updateStatusItem(status: ModelStatus): void {
    const item = this.statusItem;
    item.backgroundColor = undefined;
    switch (status.state) {
      case 'idle':
        item.text = '$(hubot) CT Lens';
        item.tooltip = 'CT Lens model: not loaded yet (it loads on the first report or question). Click for the Model view.';
        break;
      case 'loading':
        item.text = `$(sync~spin) ${pathName(status.target.packageDir)}`;
        item.tooltip = `CT Lens: loading ${status.target.packageDir} (${status.target.executionProvider})`;
        break;
      case 'ready': {
        const { load } = status;
        item.text = `$(hubot) ${load.model.name} · ${load.provider.used.toUpperCase()}`;
        const tried = load.provider.attempts.map((a) => `${a.provider}: ${a.ok ? 'ok' : (a.error ?? 'failed')}`).join('; ');
        item.tooltip = `CT Lens model ${load.model.name} ${load.model.version} on ${load.provider.used} (asked: ${load.provider.requested}; ${tried}). Loaded in ${Math.round(load.loadMs)} ms.`;
        break;
      }
      case 'failed':
        item.text = `$(error) CT Lens model`;
        item.tooltip = `CT Lens: ${status.error}`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
  }

  /** Loads (or reloads) the model now, with a progress notification; returns whether it worked. */
  async loadModel(announce = true): Promise<boolean> {
    const target = this.target();
    try {
      const load = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `CT Lens: loading ${pathName(target.packageDir)}…` },
        () => this.service.ensureLoaded(target),
      );
      const attempts = load.provider.attempts.map((a) => `${a.provider} ${a.ok ? 'ok' : `failed (${a.error ?? ''})`}`).join(', ');
      this.log.info(`model ${load.model.name} ${load.model.version} loaded on ${load.provider.used} in ${Math.round(load.loadMs)} ms (${attempts})`);
      if (announce) void vscode.window.showInformationMessage(`CT Lens: ${load.model.name} is loaded (${load.provider.used}).`);
      return true;
    } catch (error) {
      const message = describeError(error);
      this.log.error(`loading the model from ${target.packageDir}: ${message}`);
      void vscode.window.showErrorMessage(`CT Lens: cannot load the model package ${target.packageDir}: ${message}`, 'Show Log').then(
        (pick) => pick && this.log.show(),
      );
      return false;
    }
  }

  // ---------------------------------------------------------------- ModelBridge (viewer webviews)

  state(document: VolumeDocument) {
    this.documents.set(key(document), document);
    return this.runs.state(key(document));
  }

  viewerReady(document: VolumeDocument): void {
    this.documents.set(key(document), document);
    if (!this.suggestionsLooked.has(key(document))) void this.lookUpSuggestions(document);
  }

  documentClosed(document: VolumeDocument): void {
    const k = key(document);
    // The history stays (reopening the file shows it again); unfinished runs stop, the cached input goes.
    this.runs.cancel(k);
    this.runs.peek(k)?.inputs.clear();
    this.documents.delete(k);
    this.suggestionsLooked.delete(k);
    this.runsChanged.fire(k);
  }

  handle(document: VolumeDocument, request: ModelRequest): void {
    this.documents.set(key(document), document);
    switch (request.type) {
      case 'generateReport':
        void this.generateReport(document);
        return;
      case 'ask':
        void this.ask(document, request.question);
        return;
      case 'cancelRun':
        this.runs.cancel(key(document), request.id);
        return;
      case 'saveReport':
        void this.saveReport(document);
        return;
      case 'copyRun':
        void this.copyRun(document, request.id);
        return;
      case 'clearChat':
        this.runs.clearChat(key(document));
        return;
      case 'inspectRouting':
        this.inspect.fire({ document, runId: request.id });
        return;
    }
  }

  // ---------------------------------------------------------------- runs

  private deps(document: VolumeDocument): RunDeps {
    const config = vscode.workspace.getConfiguration('ctlens');
    const options = generationOptions({ get: (k) => config.get(k) });
    return {
      options,
      decoding: decodingLabel(options),
      prepare: async () => {
        const target = this.target();
        await this.service.ensureLoaded(target);
        const pkg = await this.packageOf(target.packageDir);
        return { packageDir: target.packageDir, spec: pkg.spec.preprocess };
      },
      input: async (spec, signal) => {
        const volume = await document.load.done.catch((e: { message?: string }) => {
          throw new ModelError('BadInput', `${document.name} could not be read: ${e.message ?? String(e)}`);
        });
        const t0 = performance.now();
        const input = preprocessVolume(volume, spec, signal);
        this.log.info(`${document.name}: model input ${spec.inputSize.join('×')} prepared in ${Math.round(performance.now() - t0)} ms`);
        return input;
      },
      generate: (params, { signal, onEvent }) => this.service.generate(params, { signal, onEvent }),
    };
  }

  private logRun(k: string, run: RunInfo): void {
    const name = this.documents.get(k)?.name ?? k;
    const what = run.task === 'report' ? 'report' : `answer to "${run.question ?? ''}"`;
    if (run.status === 'done' && run.result) {
      const t = run.result.timings;
      this.log.info(
        `${name}: ${what} done on ${run.result.provider}: ${t.newTokens} tokens, vision ${Math.round(t.visionMs)} ms, prefill ${Math.round(t.prefillMs)} ms, decode ${Math.round(t.decodeMs)} ms (${t.tokensPerSecond.toFixed(0)} tokens/s), first text ${Math.round(run.result.firstTextMs ?? NaN)} ms after the request, ${run.result.decoding}`,
      );
    } else if (run.status === 'cancelled') this.log.info(`${name}: ${what} stopped after ${run.chunks} streamed pieces`);
    else if (run.status === 'failed') this.log.error(`${name}: ${what} failed: ${run.error ?? ''}`);
  }

  /** Starts a report on a document's volume with a cancellable progress notification; resolves when it ends. */
  async generateReport(document: VolumeDocument): Promise<RunInfo | undefined> {
    const k = key(document);
    this.documents.set(k, document);
    this.viewer.reveal(document);
    this.viewer.post(document, { type: 'showModelPanel', panel: 'report' });
    let record: RunRecord;
    try {
      record = this.runs.start(k, document.name, 'report', undefined, this.deps(document));
    } catch (error) {
      void vscode.window.showInformationMessage(`CT Lens: ${describeError(error).replace(/^BadInput: /, '')}.`);
      return undefined;
    }
    await this.followWithProgress(k, record, `CT Lens: report for ${document.name}`, vscode.ProgressLocation.Notification);
    const run = record.info;
    if (run.status === 'failed') {
      void vscode.window.showErrorMessage(`CT Lens: the report for ${document.name} failed: ${run.error ?? ''}`, 'Show Log').then(
        (pick) => pick && this.log.show(),
      );
    }
    return { ...run };
  }

  async ask(document: VolumeDocument, question: string): Promise<RunInfo | undefined> {
    const k = key(document);
    this.documents.set(k, document);
    let record: RunRecord;
    try {
      record = this.runs.start(k, document.name, 'vqa', question, this.deps(document));
    } catch (error) {
      void vscode.window.showInformationMessage(`CT Lens: ${describeError(error).replace(/^BadInput: /, '')}.`);
      return undefined;
    }
    // Answers are short and the chat has its own Stop: progress goes to the status bar, not a toast.
    await this.followWithProgress(k, record, `CT Lens: answering`, vscode.ProgressLocation.Window);
    return { ...record.info };
  }

  /** Mirrors a run's stages and token count in a progress indicator; Cancel stops the run. */
  private followWithProgress(k: string, record: RunRecord, title: string, location: vscode.ProgressLocation): Thenable<void> {
    const id = record.info.id;
    return vscode.window.withProgress({ location, title, cancellable: location === vscode.ProgressLocation.Notification }, (progress, token) => {
      token.onCancellationRequested(() => this.runs.cancel(k, id));
      let last = '';
      const say = (run: RunInfo) => {
        const message =
          run.status === 'queued'
            ? 'waiting for another run to finish…'
            : run.stage === 'decode'
              ? `writing… ${run.chunks} tokens`
              : run.stage
                ? `${STAGE_WORDS[run.stage]}…`
                : '';
        if (message && message !== last) {
          last = message;
          progress.report({ message });
        }
      };
      say(record.info);
      const off = this.runs.onEvent((e) => {
        if (e.key !== k) return;
        if ((e.type === 'update' && e.run.id === id) || (e.type === 'text' && e.id === id)) say(record.info);
      });
      return record.finished.finally(off);
    });
  }

  private async lookUpSuggestions(document: VolumeDocument): Promise<void> {
    const k = key(document);
    this.suggestionsLooked.add(k);
    let fromPackage: ReturnType<typeof packageSuggestions> = [];
    try {
      fromPackage = packageSuggestions((await this.packageOf(this.target().packageDir)).config);
    } catch {
      // A broken package is reported when a run loads it, not here.
    }
    if (fromPackage.length) {
      this.runs.setSuggestions(k, document.name, fromPackage, 'the model package');
      return;
    }
    try {
      const jsonl = vscode.Uri.joinPath(document.uri, '..', 'dataset.jsonl');
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(jsonl));
      const fromDataset = datasetSuggestions(text, document.name);
      if (fromDataset.length) this.runs.setSuggestions(k, document.name, fromDataset, 'dataset.jsonl beside this volume');
    } catch {
      // No dataset beside the volume: no suggestions.
    }
  }

  // ---------------------------------------------------------------- save and copy

  async saveReport(document: VolumeDocument): Promise<vscode.Uri | undefined> {
    const run = this.runs.peek(key(document))?.report?.info;
    if (!run?.text) {
      void vscode.window.showInformationMessage(`CT Lens: there is no report for ${document.name} to save yet.`);
      return undefined;
    }
    const markdown = reportMarkdown(run, document.name, new Date());
    const stem = volumeStem(document.name);
    const folder = vscode.Uri.joinPath(document.uri, '..');
    let target: vscode.Uri | undefined;
    // The bundled samples live inside the extension: never write there, ask where instead.
    const insideExtension = document.uri.toString().startsWith(this.context.extensionUri.toString() + '/');
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
      this.log.error(`saving ${target.toString(true)}: ${message}`);
      void vscode.window.showErrorMessage(`CT Lens: cannot save ${pathName(target.path)}: ${message}`);
      return undefined;
    }
    this.log.info(`${document.name}: report saved to ${target.toString(true)}`);
    void vscode.window.showInformationMessage(`CT Lens: report saved as ${pathName(target.path)}.`, 'Open').then((pick) => {
      if (pick) void vscode.commands.executeCommand('vscode.open', target);
    });
    return target;
  }

  private async copyRun(document: VolumeDocument, id: string): Promise<void> {
    const run = this.runs.find(key(document), id)?.info;
    if (!run?.text) return;
    await vscode.env.clipboard.writeText(runClipboardText(run));
    vscode.window.setStatusBarMessage(`CT Lens: ${run.task === 'report' ? 'report' : 'answer'} copied`, 3000);
  }

  // ---------------------------------------------------------------- commands

  /** The volume a command acts on: its argument, the CT Lens editor in front, or a file the user picks. */
  async resolveDocument(uri?: vscode.Uri, purpose = 'Generate Report'): Promise<VolumeDocument | undefined> {
    let target = uri instanceof vscode.Uri ? uri : undefined;
    if (!target) {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      if (input instanceof vscode.TabInputCustom && input.viewType === VIEWER_VIEW_TYPE) target = input.uri;
    }
    if (!target) target = this.viewer.activeDocument?.uri;
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
    if (!/\.(nii(\.gz)?|dcm)$/i.test(target.path) && !this.viewer.documentOf(target)) {
      void vscode.window.showErrorMessage(`CT Lens: ${pathName(target.path)} is not a .nii, .nii.gz or .dcm volume.`);
      return undefined;
    }
    let document = this.viewer.documentOf(target);
    if (!document) {
      await vscode.commands.executeCommand('vscode.openWith', target, VIEWER_VIEW_TYPE);
      // The editor resolves asynchronously; wait for its document (a few hundred ms at most).
      for (let n = 0; n < 100 && !document; n++) {
        await new Promise((r) => setTimeout(r, 100));
        document = this.viewer.documentOf(target);
      }
    }
    if (!document) void vscode.window.showErrorMessage(`CT Lens: could not open ${pathName(target.path)} in the CT Lens viewer.`);
    return document ?? undefined;
  }

  private registerCommands(): void {
    const c = vscode.commands.registerCommand;
    this.disposables.push(
      c('ctlens.generateReport', async (uri?: vscode.Uri) => {
        const document = await this.resolveDocument(uri, 'Generate Report');
        return document ? this.generateReport(document) : undefined;
      }),
      c('ctlens.askQuestion', async (uri?: vscode.Uri, question?: string) => {
        const document = await this.resolveDocument(uri, 'Ask About Volume');
        if (!document) return undefined;
        const q = typeof question === 'string' ? question : await this.pickQuestion(document);
        if (!q) return undefined;
        this.viewer.reveal(document);
        this.viewer.post(document, { type: 'showModelPanel', panel: 'chat' });
        return this.ask(document, q);
      }),
      c('ctlens.saveReport', async (uri?: vscode.Uri) => {
        const document = await this.resolveDocument(uri, 'Save Report');
        return document ? this.saveReport(document) : undefined;
      }),
      c('ctlens.stopRuns', () => {
        for (const r of this.runs.unfinished) r.controller.abort(new ModelError('Aborted', 'stopped by the user'));
      }),
      c('ctlens.loadModel', () => this.loadModel(true)),
      c('ctlens.restartModelHost', async () => {
        await this.service.unload();
        this.log.info('model host stopped; it starts again on the next run');
        return this.loadModel(true);
      }),
      c('ctlens.chooseModel', () => this.chooseModel()),
      c('ctlens.useBundledModel', async () => {
        await vscode.workspace.getConfiguration('ctlens').update('modelPath', undefined, vscode.ConfigurationTarget.Global);
      }),
      c('ctlens.openSample', async (which?: string) => {
        const file = which === 'head' ? 'head_ct_invesalius.nii.gz' : 'chest_phantom.nii.gz';
        const uri = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'samples', file);
        await vscode.commands.executeCommand('vscode.openWith', uri, VIEWER_VIEW_TYPE);
      }),
    );
  }

  /** A quick pick of the suggested questions that also takes whatever the user types. */
  private pickQuestion(document: VolumeDocument): Promise<string | undefined> {
    const suggestions = this.runs.state(key(document)).suggestions;
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
  private async chooseModel(): Promise<void> {
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
      const pkg = await readModelPackage(folder.fsPath);
      this.log.info(`model package ${pkg.dir} (${pkg.name} ${pkg.spec.version}) chosen`);
    } catch (error) {
      void vscode.window.showErrorMessage(`CT Lens: ${folder.fsPath} is not a usable model package: ${describeError(error)}`);
      return;
    }
    await vscode.workspace.getConfiguration('ctlens').update('modelPath', folder.fsPath, vscode.ConfigurationTarget.Global);
    if (this.service.status.state !== 'ready' && this.service.status.state !== 'failed') await this.loadModel(true);
  }
}

function key(document: VolumeDocument): string {
  return document.uri.toString();
}

function pathName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}
