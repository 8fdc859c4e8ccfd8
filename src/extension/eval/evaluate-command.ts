// CT Lens: Evaluate Dataset — pick a dataset.jsonl (contract C5), run every line through the model with a
// cancellable progress notification, show rows and the metric table in a webview panel as they come, and save the
// results JSON beside the dataset (asking before overwriting anything). Images are read through
// vscode.workspace.fs, like the viewer's volumes, and decoded and preprocessed here; the model runs in the host.

import * as vscode from 'vscode';
import { EvalError, readDataset, type ResultLine } from '../../core/eval';
import { describeError } from '../../core/model/errors';
import { decodeNifti } from '../../core/nifti/decode';
import { nodeInflate } from '../../core/nifti/inflate-node';
import { MessageHandler } from '../../shared/messaging';
import { checkEvalViewMessage, RefusalLog } from '../../shared/webview-input';
import type { EvalHostToView, EvalState, EvalViewToHost } from '../../shared/eval-view-protocol';
import { maxVoxelBytes } from '../editor/settings';
import { createNonce, webviewHtml } from '../editor/webview-html';
import type { ModelFeature } from '../model/model-feature';
import { generationOptions } from '../model/model-settings';
import { freeName } from '../model/report-markdown';
import { runEvaluation } from './eval-run';

export function registerEvaluateCommand(context: vscode.ExtensionContext, model: ModelFeature, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ctlens.evaluateDataset', async (uri?: vscode.Uri) => {
      let dataset = uri instanceof vscode.Uri ? uri : undefined;
      if (!dataset) {
        const active = vscode.window.activeTextEditor?.document.uri;
        if (active && /\.jsonl$/i.test(active.path)) dataset = active;
      }
      if (!dataset) {
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: false,
          openLabel: 'Evaluate',
          title: 'CT Lens: Evaluate Dataset — pick a dataset.jsonl (benchmark lines: id, image, task, question, answer/report)',
          filters: { 'JSON Lines': ['jsonl'] },
        });
        dataset = picked?.[0];
      }
      if (dataset) return new Evaluation(context, model, log, dataset).run();
      return undefined;
    }),
  );
}

/** Results file name beside the dataset: `dataset.jsonl` → `dataset.ctlens-eval.json`. */
export function resultsStem(datasetName: string): string {
  return datasetName.replace(/\.jsonl$/i, '');
}

class Evaluation {
  private readonly name: string;
  private readonly folder: vscode.Uri;
  private state: EvalState;
  private results: ResultLine[] = [];
  private channel: MessageHandler<EvalHostToView, EvalViewToHost> | null = null;
  private readonly controller = new AbortController();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly model: ModelFeature,
    private readonly log: vscode.LogOutputChannel,
    private readonly dataset: vscode.Uri,
  ) {
    this.name = dataset.path.split('/').pop() ?? dataset.path;
    this.folder = vscode.Uri.joinPath(dataset, '..');
    this.state = { dataset: this.name, total: 0, status: 'running', rows: [], metrics: null, elapsedMs: 0 };
  }

  async run(): Promise<EvalState> {
    let lines;
    try {
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(this.dataset));
      lines = readDataset(text, this.name);
      if (lines.length === 0) throw new EvalError('Empty', `${this.name} has no lines`);
    } catch (error) {
      const message = describeError(error);
      this.log.error(`evaluate ${this.dataset.toString(true)}: ${message}`);
      void vscode.window.showErrorMessage(`CT Lens: cannot evaluate ${this.name}: ${message}`);
      return { ...this.state, status: 'failed', error: message };
    }
    this.state.total = lines.length;
    this.openPanel();
    const config = vscode.workspace.getConfiguration('ctlens');
    const settings = generationOptions({ get: (k) => config.get(k) });
    const options = {
      ...(settings.maxNewTokens !== undefined ? { maxNewTokens: settings.maxNewTokens } : {}),
      ...(settings.repetitionPenalty !== undefined ? { repetitionPenalty: settings.repetitionPenalty } : {}),
    };
    const maxBytes = maxVoxelBytes((k) => config.get(k));
    this.log.info(`evaluating ${this.dataset.toString(true)}: ${lines.length} samples, greedy`);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CT Lens: evaluating ${this.name}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => this.controller.abort());
        const signal = this.controller.signal;
        try {
          const outcome = await runEvaluation(
            lines,
            {
              options,
              prepare: async () => {
                progress.report({ message: 'loading the model…' });
                const target = this.model.target();
                const load = await this.model.service.ensureLoaded(target);
                return { spec: load.preprocess, model: { name: load.model.name, version: load.model.version, provider: load.provider.used } };
              },
              readVolume: async (image, sig) => {
                const uri = vscode.Uri.joinPath(this.folder, image);
                let bytes: Uint8Array;
                try {
                  bytes = await vscode.workspace.fs.readFile(uri);
                } catch (error) {
                  throw new EvalError('BadLine', `image ${image} cannot be read (${describeError(error)})`);
                }
                return decodeNifti(bytes, { name: image, inflate: nodeInflate, signal: sig, maxVoxelBytes: maxBytes });
              },
              generate: (params, sig) => this.model.service.generate(params, { signal: sig }),
            },
            {
              signal,
              onModel: (m) => {
                this.state.model = m;
                this.push();
              },
              onRow: (row, elapsedMs) => {
                this.state.rows.push(row);
                this.state.elapsedMs = elapsedMs;
                this.channel?.event({ type: 'evalRow', row, elapsedMs });
                const perSample = elapsedMs / this.state.rows.length / 1000;
                progress.report({
                  message: `${this.state.rows.length}/${lines.length} · ${row.id} · ${perSample.toFixed(2)} s/sample`,
                  increment: 100 / lines.length,
                });
              },
            },
          );
          this.results = outcome.results;
          this.state.metrics = outcome.metrics;
          this.state.elapsedMs = outcome.elapsedMs;
          this.state.status = outcome.cancelled ? 'cancelled' : 'done';
        } catch (error) {
          this.state.status = 'failed';
          this.state.error = describeError(error);
          this.log.error(`evaluate ${this.name}: ${this.state.error}`);
          void vscode.window.showErrorMessage(`CT Lens: evaluating ${this.name} failed: ${this.state.error}`);
        }
      },
    );
    const s = this.state;
    this.log.info(
      `evaluation of ${this.name} ${s.status}: ${s.rows.length}/${s.total} samples in ${(s.elapsedMs / 1000).toFixed(1)} s` +
        (s.metrics ? ` · ${JSON.stringify(s.metrics)}` : ''),
    );
    this.push();
    // A complete run is saved at once; a stopped one only when the user asks (the panel's Save button).
    if (s.status === 'done') await this.save();
    return { ...this.state };
  }

  private openPanel(): void {
    const panel = vscode.window.createWebviewPanel('ctlens.evaluation', `Evaluation: ${this.name}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.context.extensionUri, 'media', 'views')],
    });
    const webview = panel.webview;
    const html = () =>
      webviewHtml({
        cspSource: webview.cspSource,
        nonce: createNonce(),
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview', 'eval.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'media', 'views', 'views.css')).toString(),
        title: `Evaluation: ${this.name}`,
      });
    webview.html = html();
    const refusals = new RefusalLog(`evaluation panel ${this.name}`, (line) => this.log.warn(line));
    const channel = new MessageHandler<EvalHostToView, EvalViewToHost>(
      (envelope) => void webview.postMessage(envelope),
      (message) => {
        if (message.type === 'ready') this.push();
        else if (message.type === 'save') void this.save();
        else if (message.type === 'cancel') this.controller.abort();
        return undefined;
      },
      (error, message) => this.log.error(`evaluation panel: ${message?.type} failed: ${String(error)}`),
      { validate: checkEvalViewMessage, onRefused: (type, why) => refusals.refused(type, why) },
    );
    this.channel = channel;
    webview.onDidReceiveMessage((raw) => void channel.receive(raw));
    panel.onDidDispose(() => {
      channel.close('panel closed');
      this.channel = null;
    });
  }

  private push(): void {
    this.channel?.event({ type: 'evalState', state: this.state });
  }

  /** Writes `<dataset>.ctlens-eval.json` beside the dataset; an existing file is overwritten only if the user says so. */
  private async save(): Promise<void> {
    if (!this.results.length) return;
    const stem = `${resultsStem(this.name)}.ctlens-eval`;
    const exists = (n: string) =>
      Promise.resolve(vscode.workspace.fs.stat(vscode.Uri.joinPath(this.folder, n))).then(
        () => true,
        () => false,
      );
    let name = `${stem}.json`;
    if (await exists(name)) {
      const other = await freeName(stem, '.json', exists);
      const pick = await vscode.window.showWarningMessage(
        `${name} already exists beside ${this.name}.`,
        { modal: true, detail: 'Overwrite it with these results, or save them under a new name?' },
        'Overwrite',
        `Save as ${other}`,
      );
      if (!pick) return;
      if (pick !== 'Overwrite') name = other;
    }
    const s = this.state;
    const body = {
      dataset: this.name,
      date: new Date().toISOString(),
      complete: s.status === 'done',
      samples: s.rows.length,
      total: s.total,
      model: s.model,
      decoding: 'greedy',
      elapsedMs: Math.round(s.elapsedMs),
      metrics: s.metrics,
      results: this.results,
    };
    const target = vscode.Uri.joinPath(this.folder, name);
    try {
      await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(`${JSON.stringify(body, null, 1)}\n`));
    } catch (error) {
      void vscode.window.showErrorMessage(`CT Lens: cannot save ${name}: ${describeError(error)}`);
      return;
    }
    this.state.savedAs = name;
    this.log.info(`evaluation results saved to ${target.toString(true)}`);
    this.push();
    void vscode.window.showInformationMessage(`CT Lens: evaluation results saved as ${name}.`, 'Open').then((pick) => {
      if (pick) void vscode.commands.executeCommand('vscode.open', target);
    });
  }
}
