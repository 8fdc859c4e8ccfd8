// The model side of the CT Lens viewers (the viewer provider's ModelBridge): the Report and Chat tabs' requests go to
// the model feature, the run store's events go back to every viewer of the volume as webview messages, a viewer that
// (re)loads gets the volume's runs replayed, and the first viewer of a volume looks up its suggested questions. It
// keeps no documents of its own: the viewer provider is the one registry of open documents.

import * as vscode from 'vscode';
import type { SuggestedQuestion } from '../../shared/protocol';
import type { ModelBridge, ModelRequest, ViewerProvider, VolumeDocument } from '../editor/viewer-provider';
import type { RunStore } from './run-store';
import { datasetSuggestions } from './suggestions';

/** What the viewers' requests call in the model feature. */
export interface ModelActions {
  generateReport(document: VolumeDocument): Promise<unknown>;
  ask(document: VolumeDocument, question: string): Promise<unknown>;
  saveReport(document: VolumeDocument): Promise<unknown>;
  copyRun(document: VolumeDocument, id: string): Promise<void>;
  /** `ctlens.example_questions` of the package the settings select (none when it cannot be read). */
  packageSuggestions(): Promise<SuggestedQuestion[]>;
  /** The document's last viewer closed (its runs were stopped). */
  documentClosed(key: string): void;
}

export class ModelViewerBridge implements ModelBridge, vscode.Disposable {
  private readonly suggestionsLooked = new Set<string>();
  private readonly inspect = new vscode.EventEmitter<{ document: VolumeDocument; runId: string }>();
  /** A viewer asked to see a run's routing (the Routing view follows). */
  readonly onDidRequestRouting = this.inspect.event;
  private readonly offRuns: () => void;

  constructor(
    private readonly viewer: ViewerProvider,
    private readonly runs: RunStore,
    private readonly actions: ModelActions,
  ) {
    this.offRuns = runs.onEvent((event) => {
      const document = viewer.documentOf(event.key);
      if (!document) return;
      if (event.type === 'update') viewer.post(document, { type: 'runUpdate', run: event.run });
      else if (event.type === 'text') viewer.post(document, { type: 'runText', id: event.id, text: event.text, chunks: event.chunks });
      else viewer.post(document, { type: 'modelState', state: runs.state(event.key) });
    });
    viewer.setModelBridge(this);
  }

  dispose(): void {
    this.offRuns();
    this.inspect.dispose();
  }

  state(document: VolumeDocument) {
    return this.runs.state(document.key);
  }

  viewerReady(document: VolumeDocument): void {
    if (!this.suggestionsLooked.has(document.key)) void this.lookUpSuggestions(document);
  }

  documentClosed(document: VolumeDocument): void {
    const k = document.key;
    // The history stays (reopening the file shows it again); unfinished runs stop, the cached input goes.
    this.runs.cancel(k);
    this.runs.peek(k)?.inputs.clear();
    this.suggestionsLooked.delete(k);
    this.actions.documentClosed(k);
  }

  handle(document: VolumeDocument, request: ModelRequest): void {
    switch (request.type) {
      case 'generateReport':
        void this.actions.generateReport(document);
        return;
      case 'ask':
        void this.actions.ask(document, request.question);
        return;
      case 'cancelRun':
        this.runs.cancel(document.key, request.id);
        return;
      case 'saveReport':
        void this.actions.saveReport(document);
        return;
      case 'copyRun':
        void this.actions.copyRun(document, request.id);
        return;
      case 'clearChat':
        this.runs.clearChat(document.key);
        return;
      case 'inspectRouting':
        this.inspect.fire({ document, runId: request.id });
        return;
    }
  }

  /** Another package was chosen: the volumes that have suggestions look them up again. */
  refreshSuggestions(): void {
    for (const key of this.suggestionsLooked) {
      const document = this.viewer.documentOf(key);
      if (document) void this.lookUpSuggestions(document);
    }
  }

  private async lookUpSuggestions(document: VolumeDocument): Promise<void> {
    const k = document.key;
    this.suggestionsLooked.add(k);
    const fromPackage = await this.actions.packageSuggestions();
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
}
