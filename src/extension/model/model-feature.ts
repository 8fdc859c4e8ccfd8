// The model in VS Code: the model host (ModelService), the runs of each volume (RunStore), which package the
// settings select and loading it, and starting a report or a question with its progress. The rooms around it:
// model-commands.ts (the commands), model-status-bar.ts, report-files.ts (save and copy) and viewer-bridge.ts (the
// Report and Chat tabs of the viewers). The volume is the viewer document's already-decoded one, preprocessed here
// with the spec the loaded package sent back, so only the small input tensor crosses to the host.

import * as vscode from 'vscode';
import { describeError, ModelError } from '../../core/model/errors';
import { readModelPackage, type ModelPackage } from '../../core/model/package';
import { preprocessVolume } from '../../core/model/preprocess';
import type { RunInfo, RunStage, SuggestedQuestion } from '../../shared/protocol';
import { providerLabel } from '../../shared/provider-label';
import type { ViewerProvider, VolumeDocument } from '../editor/viewer-provider';
import { registerModelCommands } from './model-commands';
import { decodingLabel, generationOptions, modelTarget, type ModelTarget } from './model-settings';
import { ModelService } from './model-service';
import { createModelStatusBar } from './model-status-bar';
import { copyRun, saveReport } from './report-files';
import { pathName } from './report-markdown';
import { RunStore, type RunDeps, type RunRecord } from './run-store';
import { packageSuggestions } from './suggestions';
import { ModelViewerBridge } from './viewer-bridge';

const STAGE_WORDS: Record<RunStage, string> = {
  loading: 'loading the model',
  preprocessing: 'preparing the volume',
  vision: 'encoding the volume',
  prefill: 'reading the prompt',
  decode: 'writing',
};

export class ModelFeature implements vscode.Disposable {
  readonly service: ModelService;
  readonly runs = new RunStore();
  /** Packages read for display (the Model view, suggested questions) before or without loading them. */
  private readonly packages = new Map<string, Promise<ModelPackage>>();
  private readonly bridge: ModelViewerBridge;
  private readonly disposables: vscode.Disposable[] = [];
  /** A viewer asked to see a run's routing (the Routing view follows). */
  readonly onDidRequestRouting: vscode.Event<{ document: VolumeDocument; runId: string }>;
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
    // One line per load, whatever started it (a run, Load Model, a changed setting). It names what runs, not the
    // providers tried: when `auto` fell back, the model host has already logged its one `running on …` line saying
    // why (src/modelhost/backend.ts), and the status bar and the Model view list the attempts (issue 15).
    this.service.onDidChangeStatus((status) => {
      if (status.state !== 'ready' || status.load.reused) return;
      const { load } = status;
      log.info(`model ${load.model.name} ${load.model.version} loaded on ${providerLabel(load.provider)} in ${Math.round(load.loadMs)} ms`);
    });
    this.service.onCrash((error) => {
      log.error(error.message);
      void vscode.window.showErrorMessage(`CT Lens: ${error.message}`, 'Show Log').then((pick) => pick && log.show());
    });
    this.runs.onEvent((event) => {
      if (event.type === 'update' && (event.run.status === 'done' || event.run.status === 'failed' || event.run.status === 'cancelled')) {
        this.logRun(event.key, event.run);
        this.runsChanged.fire(event.key);
      }
      if (event.type === 'state') this.runsChanged.fire(event.key);
    });
    this.bridge = new ModelViewerBridge(viewer, this.runs, {
      generateReport: (document) => this.generateReport(document),
      ask: (document, question) => this.ask(document, question),
      saveReport: (document) => this.saveReport(document),
      copyRun: (document, id) => copyRun(this.runs.find(document.key, id)?.info),
      packageSuggestions: () => this.packageSuggestions(),
      documentClosed: (key) => this.runsChanged.fire(key),
    });
    this.onDidRequestRouting = this.bridge.onDidRequestRouting;
    this.disposables.push(
      createModelStatusBar(this.service),
      this.bridge,
      this.runsChanged,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (['ctlens.modelPath', 'ctlens.executionProvider', 'ctlens.dtype'].some((k) => e.affectsConfiguration(k))) this.settingsChanged();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.settingsChanged()),
      ...registerModelCommands(context, this, viewer, log),
    );
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

  /**
   * The package's JSON (config, tokenizer) for display — the Model view and the suggested questions, which show
   * before anything is loaded: read once per folder, in the extension host (cheap, no onnxruntime). Runs never read
   * it: they take the spec of the package the host loaded (LoadResult).
   */
  packageOf(dir: string): Promise<ModelPackage> {
    let p = this.packages.get(dir);
    if (!p) {
      p = readModelPackage(dir);
      p.catch(() => this.packages.delete(dir));
      this.packages.set(dir, p);
    }
    return p;
  }

  private async packageSuggestions(): Promise<SuggestedQuestion[]> {
    try {
      return packageSuggestions((await this.packageOf(this.target().packageDir)).config);
    } catch {
      // A broken package is reported when a run loads it, not here.
      return [];
    }
  }

  private settingsChanged(): void {
    this.packages.clear();
    const target = this.target();
    if (target.ignored) this.log.warn(`ctlens.modelPath "${target.ignored}" from this workspace is ignored: the workspace is not trusted`);
    const status = this.service.status;
    // A model was in use: load the newly chosen one now, so the status bar tells at once whether it works.
    if (status.state === 'ready' || status.state === 'failed') void this.loadModel(false);
    this.bridge.refreshSuggestions();
  }

  /** Loads (or reloads) the model now, with a progress notification; returns whether it worked. */
  async loadModel(announce = true): Promise<boolean> {
    const target = this.target();
    try {
      const load = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `CT Lens: loading ${pathName(target.packageDir)}…` },
        () => this.service.ensureLoaded(target),
      );
      if (announce) void vscode.window.showInformationMessage(`CT Lens: ${load.model.name} is loaded (${providerLabel(load.provider)}).`);
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

  // ---------------------------------------------------------------- runs

  private deps(document: VolumeDocument): RunDeps {
    const config = vscode.workspace.getConfiguration('ctlens');
    const options = generationOptions({ get: (k) => config.get(k) });
    return {
      options,
      decoding: decodingLabel(options),
      prepare: async () => {
        const target = this.target();
        const load = await this.service.ensureLoaded(target);
        return { packageDir: target.packageDir, spec: load.preprocess };
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
    const name = this.runs.peek(k)?.name ?? k;
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
    const k = document.key;
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
    const k = document.key;
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

  /** Saves the volume's latest report as Markdown beside it (report-files.ts). */
  saveReport(document: VolumeDocument): Promise<vscode.Uri | undefined> {
    return saveReport(document, this.runs.peek(document.key)?.report?.info, this.context.extensionUri, this.log);
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
}
