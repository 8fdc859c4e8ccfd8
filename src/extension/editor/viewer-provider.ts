// The CT Lens viewer as VS Code's default editor for .nii / .nii.gz (a CustomReadonlyEditorProvider). Each document
// reads its file through vscode.workspace.fs (so remote and virtual workspaces work) and decodes it once in the
// extension host; every panel of the document streams the header and slabs of slices to its webview as they decode,
// so the first slice paints long before the file has inflated. The decoded volume stays in the document for model
// runs (`activeVolume`). Overlays (contract C2) go to a document's panels through `setOverlay`. The model feature
// plugs in as a `ModelBridge`: it answers the webviews' model requests and its state is replayed to every viewer
// that (re)loads, since a hidden viewer's webview is discarded (retainContextWhenHidden is off).

import * as vscode from 'vscode';
import { nodeInflate } from '../../core/nifti/inflate-node';
import type { NiftiVolume } from '../../core/nifti/types';
import { MessageHandler } from '../../shared/messaging';
import { checkViewerMessage, RefusalLog } from '../../shared/webview-input';
import type { OverlayVolume } from '../../shared/overlay';
import type { FromWebviewMessage, InitMessage, ModelPanelState, OverlayAppliedMessage, ToWebviewMessage } from '../../shared/protocol';
import { DICOM_FILE_VIEW_TYPE, isDicomVolume, volumeDecoder } from './dicom-series';
import { maxVoxelBytes, viewerSettings, VOLUME_LIMIT_HINT } from './settings';
import { SlabStream } from './slab-stream';
import { LoadError, VolumeLoad } from './volume-load';
import { createNonce, webviewHtml } from './webview-html';

export const VIEWER_VIEW_TYPE = 'ctlens.viewer';

export class VolumeDocument implements vscode.CustomDocument {
  /** When the document was opened (performance.now), for the time-to-first-slice log line. */
  readonly openedAt = performance.now();

  constructor(
    readonly uri: vscode.Uri,
    readonly load: VolumeLoad,
  ) {}

  get name(): string {
    return fileName(this.uri);
  }

  /** What runs, suggestions and viewers of the document are filed under: its uri as a string. */
  get key(): string {
    return this.uri.toString();
  }

  dispose(): void {
    this.load.dispose();
  }
}

/** Model requests a viewer can make (report, chat, save, …), forwarded to the model feature. */
export type ModelRequest = Extract<
  FromWebviewMessage,
  { type: 'generateReport' | 'ask' | 'cancelRun' | 'saveReport' | 'copyRun' | 'clearChat' | 'inspectRouting' }
>;

export interface ModelBridge {
  /** The document's model state, replayed to a viewer that (re)loads. */
  state(document: VolumeDocument): ModelPanelState;
  handle(document: VolumeDocument, request: ModelRequest): void;
  /** A viewer of the document is ready (its first one: suggestions can be looked up). */
  viewerReady(document: VolumeDocument): void;
  documentClosed(document: VolumeDocument): void;
}

interface Panel {
  document: VolumeDocument;
  panel: vscode.WebviewPanel;
  channel: MessageHandler<ToWebviewMessage, FromWebviewMessage>;
  unsubscribe: () => void;
  overlay: OverlayVolume | null;
}

export class ViewerProvider implements vscode.CustomReadonlyEditorProvider<VolumeDocument> {
  private readonly panels = new Set<Panel>();
  private active: Panel | null = null;
  private bridge: ModelBridge | null = null;
  private readonly activeChanged = new vscode.EventEmitter<VolumeDocument | null>();
  /** Fires when the viewer the user works in changes (another document, or none). */
  readonly onDidChangeActiveDocument = this.activeChanged.event;
  private readonly viewerOpened = new vscode.EventEmitter<VolumeDocument>();
  /** Fires when a viewer of a document opens (its first or another one): the panels are the one registry of open
   * documents, and this is how a command that opened a file learns its document (issue 10). */
  readonly onDidOpenViewer = this.viewerOpened.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  static register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): ViewerProvider {
    const provider = new ViewerProvider(context, log);
    context.subscriptions.push(
      provider.activeChanged,
      provider.viewerOpened,
      vscode.window.registerCustomEditorProvider(VIEWER_VIEW_TYPE, provider, {
        supportsMultipleEditorsPerDocument: true,
        // Not retained when hidden: a hidden viewer frees its copy of the volume and is replayed when shown again.
        webviewOptions: { retainContextWhenHidden: false },
      }),
      // The same viewer offered for any file through "Open With…": extension-less DICOM files (issue 12).
      vscode.window.registerCustomEditorProvider(DICOM_FILE_VIEW_TYPE, provider, {
        supportsMultipleEditorsPerDocument: true,
        webviewOptions: { retainContextWhenHidden: false },
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ctlens.viewer')) provider.broadcastSettings();
      }),
    );
    return provider;
  }

  // ---------------------------------------------------------------- API for commands and other features

  /** The document of the viewer the user last focused, if it is still open. */
  get activeDocument(): VolumeDocument | null {
    return this.active?.document ?? null;
  }

  /** The decoded volume of the active viewer (waits for the decode to finish; rejects with its LoadError). */
  async activeVolume(): Promise<NiftiVolume | null> {
    const doc = this.activeDocument;
    return doc ? doc.load.done : null;
  }

  /**
   * Shows an overlay in every viewer of a document (the active one when `uri` is absent). `reveal: false` keeps the
   * side panel's current tab (routing heatmaps: the report stays in view).
   */
  async setOverlay(overlay: OverlayVolume, uri?: vscode.Uri, options: { reveal?: boolean } = {}): Promise<void> {
    const targets = this.panelsOf(uri);
    if (targets.length === 0) throw new Error('NoViewer: open a volume in the CT Lens viewer first');
    await Promise.all(
      targets.map(async (p) => {
        p.overlay = overlay;
        await p.channel.request<OverlayAppliedMessage>({ type: 'setOverlay', overlay, reveal: options.reveal });
      }),
    );
  }

  /** The open document of a file (its uri, or the uri's string), if a CT Lens viewer shows it. */
  documentOf(uri: vscode.Uri | string): VolumeDocument | null {
    const key = uri.toString();
    for (const p of this.panels) if (p.document.uri.toString() === key) return p.document;
    return null;
  }

  /**
   * The document of a file once a viewer shows it: at once when one does, else when one opens (VS Code resolves a
   * custom editor after `vscode.openWith` returns), or null after `timeoutMs`. Ask before opening the file.
   */
  whenViewerOpen(uri: vscode.Uri, timeoutMs: number): Promise<VolumeDocument | null> {
    const open = this.documentOf(uri);
    if (open) return Promise.resolve(open);
    const key = uri.toString();
    return new Promise((resolve) => {
      const done = (document: VolumeDocument | null) => {
        clearTimeout(timer);
        subscription.dispose();
        resolve(document);
      };
      const subscription = this.onDidOpenViewer((document) => {
        if (document.uri.toString() === key) done(document);
      });
      const timer = setTimeout(() => done(null), timeoutMs);
    });
  }

  /** Whether any viewer of the document shows an overlay with this id. */
  hasOverlay(uri: vscode.Uri, id: string): boolean {
    return this.panelsOf(uri).some((p) => p.overlay?.id === id);
  }

  /** Sends a message to every viewer of a document. */
  post(document: VolumeDocument, message: ToWebviewMessage): void {
    for (const p of this.panelsOf(document.uri)) p.channel.event(message);
  }

  /** Brings a viewer of the document to the front. */
  reveal(document: VolumeDocument): void {
    const p = this.panelsOf(document.uri)[0];
    p?.panel.reveal(p.panel.viewColumn, false);
  }

  setModelBridge(bridge: ModelBridge): void {
    this.bridge = bridge;
  }

  private setActive(entry: Panel | null): void {
    const before = this.active?.document ?? null;
    this.active = entry;
    if ((entry?.document ?? null) !== before) this.activeChanged.fire(entry?.document ?? null);
  }

  async clearOverlay(uri?: vscode.Uri, id?: string): Promise<void> {
    await Promise.all(
      this.panelsOf(uri).map(async (p) => {
        if (id === undefined || p.overlay?.id === id) p.overlay = null;
        await p.channel.request({ type: 'clearOverlay', id });
      }),
    );
  }

  private panelsOf(uri?: vscode.Uri): Panel[] {
    const key = (uri ?? this.active?.document.uri)?.toString();
    if (!key) return [];
    return [...this.panels].filter((p) => p.document.uri.toString() === key);
  }

  // ---------------------------------------------------------------- CustomReadonlyEditorProvider

  openCustomDocument(uri: vscode.Uri): VolumeDocument {
    const config = vscode.workspace.getConfiguration('ctlens');
    const name = fileName(uri);
    const load = new VolumeLoad({
      name,
      read: async () => vscode.workspace.fs.readFile(uri),
      // NIfTI, or the DICOM series a .dcm file belongs to (read from its folder).
      decode: volumeDecoder(uri),
      inflate: nodeInflate,
      maxVoxelBytes: maxVoxelBytes((key) => config.get(key)),
      limitHint: VOLUME_LIMIT_HINT,
    });
    const document = new VolumeDocument(uri, load);
    // Logged once per document, however many panels show it.
    load.done.then(
      (volume) => {
        const [nx, ny, nz] = volume.header.dims;
        this.log.info(`${name}: ${nx}×${ny}×${nz} ${volume.header.datatype} ${volume.header.orientation} decoded in ${load.decodeMs.toFixed(0)} ms`);
        // A DICOM series' notices (tilt, gaps, left-out images, non-CT) are shown once per document, logged once.
        if (isDicomVolume(volume)) {
          for (const notice of volume.notices) {
            this.log.warn(`${name}: ${notice}`);
            void vscode.window.showWarningMessage(`CT Lens: ${name}: ${notice}`);
          }
        }
      },
      (error: LoadError) => this.log.error(`${uri.toString(true)}: ${error.message}`),
    );
    return document;
  }

  resolveCustomEditor(document: VolumeDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    const extensionUri = this.context.extensionUri;
    const scriptRoot = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const styleRoot = vscode.Uri.joinPath(extensionUri, 'media', 'viewer');
    const commonRoot = vscode.Uri.joinPath(extensionUri, 'media', 'common');
    webview.options = { enableScripts: true, localResourceRoots: [scriptRoot, styleRoot, commonRoot] };
    // The settings reach the viewer one way: in the init reply to its `ready`, then as `settings` messages.
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(scriptRoot, 'viewer.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(styleRoot, 'viewer.css')).toString(),
      commonStyleUri: webview.asWebviewUri(vscode.Uri.joinPath(commonRoot, 'legend.css')).toString(),
      title: document.name,
    });

    const refusals = new RefusalLog(`viewer of ${document.name}`, (line) => this.log.warn(line));
    const entry: Panel = {
      document,
      panel,
      overlay: null,
      unsubscribe: () => {},
      channel: new MessageHandler<ToWebviewMessage, FromWebviewMessage>(
        // VS Code moves ArrayBuffers in messages to the webview as binary; the transfer list is for the other way.
        (envelope) => webview.postMessage(envelope),
        (message) => this.onMessage(entry, message),
        (error, message) => this.log.error(`viewer: handling ${message?.type} failed: ${String(error)}`),
        // The webview is the least trusted side: nothing it sends reaches onMessage unchecked (issue 14).
        { validate: checkViewerMessage, onRefused: (type, why) => refusals.refused(type, why) },
      ),
    };
    this.panels.add(entry);
    if (panel.active) this.setActive(entry);
    this.viewerOpened.fire(document);
    panel.onDidChangeViewState(() => {
      if (panel.active) this.setActive(entry);
    });
    webview.onDidReceiveMessage((raw) => void entry.channel.receive(raw));
    panel.onDidDispose(() => {
      entry.unsubscribe();
      entry.channel.close('viewer closed');
      this.panels.delete(entry);
      if (this.active === entry) {
        // Another viewer still open takes over (VS Code focuses a neighbouring tab), else none.
        const next = [...this.panels].find((p) => p.panel.active) ?? null;
        this.setActive(next);
      }
      if (!this.panelsOf(document.uri).length) this.bridge?.documentClosed(document);
    });
  }

  private onMessage(entry: Panel, message: FromWebviewMessage): InitMessage | undefined {
    switch (message.type) {
      case 'ready':
        // The reply goes out first; streaming starts on the next turn so the webview has its name and settings.
        setImmediate(() => {
          this.stream(entry);
          if (this.bridge) {
            entry.channel.event({ type: 'modelState', state: this.bridge.state(entry.document) });
            this.bridge.viewerReady(entry.document);
          }
        });
        return { type: 'init', name: entry.document.name, settings: this.settings() };
      case 'firstPaint': {
        const sinceOpen = performance.now() - entry.document.openedAt;
        this.log.info(`${entry.document.name}: first slice painted (${message.renderer}) ${sinceOpen.toFixed(0)} ms after opening`);
        return undefined;
      }
      case 'rendererChanged':
        this.log.warn(`${entry.document.name}: ${message.reason}; the viewer uses its ${message.renderer} renderer`);
        return undefined;
      case 'log':
        this.log[message.level](message.message);
        return undefined;
      case 'openOverlay':
        void vscode.commands.executeCommand('ctlens.openOverlay');
        return undefined;
      case 'generateReport':
      case 'ask':
      case 'cancelRun':
      case 'saveReport':
      case 'copyRun':
      case 'clearChat':
      case 'inspectRouting':
        // A viewer's request concerns its own document; the bridge answers through `post`.
        this.setActive(entry);
        this.bridge?.handle(entry.document, message);
        return undefined;
      default:
        return undefined;
    }
  }

  /** Sends the document's volume to a webview: replayed up to now, then live, then any overlay it had. */
  private stream(entry: Panel): void {
    entry.unsubscribe(); // a reloaded webview starts over
    const { channel } = entry;
    // Backpressure (slab-stream.ts): a slab is copied and posted once the previous one reached the webview.
    const stream = new SlabStream({
      post: (message) => channel.eventDelivered(message),
      onDrained: (ended) => {
        // A reloaded viewer gets its overlay back without switching the side panel away from what it showed.
        if (ended === 'done' && entry.overlay) void channel.request({ type: 'setOverlay', overlay: entry.overlay, reveal: false }).catch(() => {});
      },
    });
    const unsubscribe = entry.document.load.subscribe(stream);
    entry.unsubscribe = () => {
      stream.close();
      unsubscribe();
    };
  }

  private settings() {
    const config = vscode.workspace.getConfiguration('ctlens');
    return viewerSettings((key) => config.get(key));
  }

  private broadcastSettings(): void {
    const settings = this.settings();
    for (const p of this.panels) p.channel.event({ type: 'settings', settings });
  }
}

function fileName(uri: vscode.Uri): string {
  return uri.path.split('/').pop() || uri.path;
}
