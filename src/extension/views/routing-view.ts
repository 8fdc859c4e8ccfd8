// The Routing webview view in the CT Lens activity-bar container. It follows the CT Lens viewer in front: lists that
// volume's finished runs (report, answers), shows the chosen run's gates and expert loads, and draws the picked
// expert's routing weight as a heatmap overlay in the volume's viewers (slice views and 3D view). State lives here,
// not in the webview, which may be discarded whenever the view is hidden.

import * as vscode from 'vscode';
import { MessageHandler } from '../../shared/messaging';
import { checkRoutingViewMessage, RefusalLog } from '../../shared/webview-input';
import { DEFAULT_HEATMAP_STYLE, type HeatmapSelection, type HeatmapStyle, type RoutingHostToView, type RoutingState, type RoutingViewToHost } from '../../shared/routing-view-protocol';
import type { ViewerProvider, VolumeDocument } from '../editor/viewer-provider';
import { createNonce, webviewHtml } from '../editor/webview-html';
import type { ModelFeature } from '../model/model-feature';
import type { RunRecord } from '../model/run-store';
import { comparisonRun, heatmapOverlay, routingRunView, runOption, selectionFits } from './routing-model';
import { overlayToNifti } from '../../core/nifti/overlay-grid';
import { heatmapFileName, runFileName, runJson } from './research-export';
import { gzipSync } from 'node:zlib';

export const ROUTING_VIEW_ID = 'ctlens.routing';

export class RoutingViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private channel: MessageHandler<RoutingHostToView, RoutingViewToHost> | null = null;
  /** The volume the view follows (a document key); the viewer provider owns the documents themselves. */
  private shownKey: string | null = null;
  /** Chosen run per volume (absent: the newest). */
  private readonly chosen = new Map<string, string>();
  private selection: HeatmapSelection | null = null;
  private style: HeatmapStyle = { ...DEFAULT_HEATMAP_STYLE };
  private overlayId: string | null = null;
  private heatmapRange: [number, number] | undefined;
  private error: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly viewer: ViewerProvider,
    private readonly model: ModelFeature,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.shownKey = viewer.activeDocument?.key ?? null;
    this.disposables.push(
      viewer.onDidChangeActiveDocument((doc) => {
        if (doc && doc.key !== this.shownKey) {
          this.shownKey = doc.key;
          this.overlayId = null;
          this.error = undefined;
          this.push();
        }
      }),
      model.onDidChangeRuns((key) => {
        if (key === this.shownKey) {
          // A new run is shown when it finishes (the newest is the default); the heatmap follows it.
          this.chosen.delete(key);
          if (!this.viewer.documentOf(key)) {
            this.shownKey = this.viewer.activeDocument?.key ?? null;
            this.overlayId = null;
          }
          void this.redraw();
        }
      }),
      model.onDidRequestRouting(({ document, runId }) => void this.inspect(document, runId)),
    );
  }

  static register(context: vscode.ExtensionContext, viewer: ViewerProvider, model: ModelFeature, log: vscode.LogOutputChannel): RoutingViewProvider {
    const provider = new RoutingViewProvider(context, viewer, model, log);
    context.subscriptions.push(
      provider,
      vscode.window.registerWebviewViewProvider(ROUTING_VIEW_ID, provider),
      vscode.commands.registerCommand('ctlens.saveHeatmap', () => provider.saveHeatmap()),
    );
    return provider;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** The document of the volume the view follows, while a viewer shows it. */
  private get document(): VolumeDocument | null {
    return this.shownKey ? this.viewer.documentOf(this.shownKey) : null;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    const webview = view.webview;
    const scriptRoot = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview');
    const styleRoot = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'views');
    const commonRoot = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'common');
    webview.options = { enableScripts: true, localResourceRoots: [scriptRoot, styleRoot, commonRoot] };
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(scriptRoot, 'routing.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(styleRoot, 'views.css')).toString(),
      commonStyleUri: webview.asWebviewUri(vscode.Uri.joinPath(commonRoot, 'legend.css')).toString(),
      title: 'Routing',
    });
    const refusals = new RefusalLog('routing view', (line) => this.log.warn(line));
    const channel = new MessageHandler<RoutingHostToView, RoutingViewToHost>(
      (envelope) => void webview.postMessage(envelope),
      (message) => this.onMessage(message),
      (error, message) => this.log.error(`routing view: ${message?.type} failed: ${String(error)}`),
      // Checked against the protocol before onMessage (issue 14); indices are bounded there and fitted to the run
      // by selectionFits.
      { validate: checkRoutingViewMessage, onRefused: (type, why) => refusals.refused(type, why) },
    );
    this.channel = channel;
    webview.onDidReceiveMessage((raw) => void channel.receive(raw));
    view.onDidDispose(() => {
      channel.close('routing view closed');
      if (this.channel === channel) this.channel = null;
    });
  }

  /** Shows a run of a document (the Routing button of a report or answer). */
  async inspect(document: VolumeDocument, runId: string): Promise<void> {
    this.shownKey = document.key;
    this.chosen.set(document.key, runId);
    await vscode.commands.executeCommand(`${ROUTING_VIEW_ID}.focus`);
    await this.redraw();
  }

  /**
   * `CT Lens: Save Heatmap as NIfTI`: the heatmap shown (an expert's weight or the dominant expert) on the volume's own
   * grid and affine as `<volume>.routing-<run>-L<layer>-….nii.gz`, and the run as `<volume>.run-<run>.json`, both
   * beside the volume. Returns the two files, or undefined (with a message) when there is nothing to save.
   */
  async saveHeatmap(): Promise<vscode.Uri[] | undefined> {
    const doc = this.document;
    const shown = this.shownRecord();
    const header = doc?.load.header;
    if (!doc || !shown?.routing || !this.selection || !selectionFits(this.selection, shown.routing)) {
      void vscode.window.showInformationMessage('CT Lens: pick an expert or the dominant-expert map in the Routing view first.');
      return undefined;
    }
    if (!header) {
      void vscode.window.showErrorMessage('CT Lens: the volume has not loaded yet.');
      return undefined;
    }
    const overlay = heatmapOverlay(shown.info.id, shown.routing, this.selection, this.style);
    const dir = vscode.Uri.joinPath(doc.uri, '..');
    const heatName = heatmapFileName(doc.name, shown.info.id, shown.routing, this.selection);
    const nifti = overlayToNifti(overlay, header.dims, header.affine, `ctlens routing ${overlay.name}`.slice(0, 79));
    const heatUri = vscode.Uri.joinPath(dir, heatName);
    const runUri = vscode.Uri.joinPath(dir, runFileName(doc.name, shown.info.id));
    const json = runJson(doc.name, shown.info, shown, { file: heatName, selection: this.selection });
    await vscode.workspace.fs.writeFile(heatUri, gzipSync(nifti));
    await vscode.workspace.fs.writeFile(runUri, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
    this.log.info(`saved routing heatmap ${heatName} (${header.dims.join('×')}, the volume's grid) and ${runUri.path.split('/').pop()}`);
    void vscode.window.showInformationMessage(`CT Lens: saved ${heatName} and the run's JSON beside the volume.`);
    return [heatUri, runUri];
  }

  private records(): RunRecord[] {
    return this.document ? this.model.runs.routedRuns(this.document.key) : [];
  }

  private shownRecord(): RunRecord | null {
    const runs = this.records();
    if (!runs.length || !this.document) return null;
    const id = this.chosen.get(this.document.key);
    // Default: the newest finished run (the chat's last answer, else the report).
    const newest = [...runs].sort((a, b) => b.info.startedAt - a.info.startedAt)[0]!;
    return runs.find((r) => r.info.id === id) ?? newest;
  }

  state(): RoutingState {
    const runs = this.records();
    const shown = this.shownRecord();
    const compare = shown ? comparisonRun(runs, shown) : null;
    return {
      volume: this.document?.name ?? null,
      runs: runs.map(runOption),
      run: shown ? routingRunView(shown) : null,
      compare: compare ? routingRunView(compare) : null,
      selection: this.selection,
      style: this.style,
      overlayId: this.overlayId,
      ...(this.overlayId && this.heatmapRange ? { heatmapRange: this.heatmapRange } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private push(): void {
    this.channel?.event({ type: 'routingState', state: this.state() });
  }

  private onMessage(message: RoutingViewToHost): undefined {
    switch (message.type) {
      case 'ready':
        this.push();
        break;
      case 'selectRun':
        if (this.document) this.chosen.set(this.document.key, message.id);
        void this.redraw();
        break;
      case 'selectExpert':
        this.selection = { kind: 'expert', layerIndex: message.layerIndex, group: message.group, expert: message.expert };
        void this.redraw();
        break;
      case 'selectDominant':
        this.selection = { kind: 'dominant', layerIndex: message.layerIndex };
        void this.redraw();
        break;
      case 'setStyle':
        this.style = { ...this.style, ...message.style };
        if (this.selection) void this.redraw();
        else this.push();
        break;
      case 'clearHeatmap':
        this.selection = null;
        void this.clearHeatmap();
        break;
      case 'generateReport':
        void vscode.commands.executeCommand('ctlens.generateReport', this.document?.uri);
        break;
      case 'openSample':
        void vscode.commands.executeCommand('ctlens.openSample');
        break;
    }
    return undefined;
  }

  /** Draws (or removes) the heatmap for the current run and selection, then refreshes the view. */
  private async redraw(): Promise<void> {
    const shown = this.shownRecord();
    const doc = this.document;
    this.error = undefined;
    if (this.selection && shown?.routing && doc && selectionFits(this.selection, shown.routing)) {
      const overlay = heatmapOverlay(shown.info.id, shown.routing, this.selection, this.style);
      try {
        await this.viewer.setOverlay(overlay, doc.uri, { reveal: false });
        this.overlayId = overlay.id;
        this.heatmapRange = overlay.range;
      } catch (error) {
        this.error = error instanceof Error ? error.message : String(error);
        this.log.warn(`routing heatmap: ${this.error}`);
      }
    } else if (!this.selection) {
      await this.clearHeatmap(false);
    }
    this.push();
  }

  private async clearHeatmap(push = true): Promise<void> {
    if (this.overlayId && this.document) {
      await this.viewer.clearOverlay(this.document.uri, this.overlayId).catch(() => {});
    }
    this.overlayId = null;
    if (push) this.push();
  }
}
