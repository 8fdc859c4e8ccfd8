// The Model view in the CT Lens activity-bar container: which package the settings select (name, version, card
// summary, what it was trained on, its TGH-MoE shape), whether it is loaded, on which execution provider and dtype
// (`WebGPU · fp16`) with the providers tried beneath it (why any failed), and how long loading took. Its title bar has Choose Model Package… (trusted workspaces only), Load Model and Use Bundled Model.

import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../../core/model/errors';
import type { ModelPackage } from '../../core/model/package';
import type { ModelFeature } from '../model/model-feature';
import { attemptLine, attemptOutcome, providerLabel, providerName } from '../../shared/provider-label';
import { cardSummary } from './model-card';

export const MODEL_VIEW_ID = 'ctlens.model';

interface Row {
  label: string;
  description?: string;
  tooltip?: string | vscode.MarkdownString;
  icon?: string;
  command?: vscode.Command;
  /** Shown expanded beneath the row. */
  children?: Row[];
}

export class ModelViewProvider implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly model: ModelFeature) {
    this.disposables.push(
      { dispose: model.service.onDidChangeStatus(() => this.changed.fire()) },
      // The host's process id changes when it is restarted after a crash (shortly after) and is known after a run.
      { dispose: model.service.onCrash(() => setTimeout(() => this.changed.fire(), 1000)) },
      model.onDidChangeRuns(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('ctlens') && this.changed.fire()),
    );
  }

  static register(context: vscode.ExtensionContext, model: ModelFeature): ModelViewProvider {
    const provider = new ModelViewProvider(model);
    const view = vscode.window.createTreeView(MODEL_VIEW_ID, { treeDataProvider: provider });
    context.subscriptions.push(provider, view);
    return provider;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(
      row.label,
      row.children?.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.description = row.description;
    item.tooltip = row.tooltip;
    if (row.icon) item.iconPath = new vscode.ThemeIcon(row.icon);
    item.command = row.command;
    return item;
  }

  async getChildren(row?: Row): Promise<Row[]> {
    if (row) return row.children ?? [];
    const status = this.model.service.status;
    const target = this.model.target();
    const rows: Row[] = [];
    let pkg: ModelPackage | null = null;
    try {
      pkg = await this.model.packageOf(target.packageDir);
    } catch (error) {
      rows.push({ label: 'Package cannot be read', description: describeError(error), icon: 'error', tooltip: describeError(error) });
    }
    const source = target.source === 'bundled' ? 'bundled' : target.source === 'user' ? 'ctlens.modelPath (user)' : 'ctlens.modelPath (workspace)';
    if (pkg) {
      const readme = path.join(pkg.dir, 'README.md');
      const card = await readFile(readme, 'utf8').then(cardSummary, () => '');
      const training = typeof (pkg.config.ctlens as Record<string, unknown> | undefined)?.training === 'string' ? String((pkg.config.ctlens as Record<string, unknown>).training) : '';
      rows.push(
        { label: pkg.name, description: `version ${pkg.spec.version} · ${source}`, icon: 'package', tooltip: pkg.dir },
        {
          label: 'Model card',
          description: card || 'README.md',
          icon: 'book',
          tooltip: new vscode.MarkdownString(card || 'The package has no README.md summary.'),
          command: { title: 'Open model card', command: 'markdown.showPreview', arguments: [vscode.Uri.file(readme)] },
        },
        { label: 'Trained on', description: `${pkg.spec.trainedOn}${training ? ` · ${training}` : ''}`, icon: 'beaker', tooltip: `${pkg.spec.trainedOn}${training ? `\n${training}` : ''}` },
        {
          label: 'TGH-MoE',
          description: `layers ${pkg.spec.moe.layers.join(', ')} · ${pkg.spec.moe.groups} groups × ${pkg.spec.moe.expertsPerGroup} experts, top-${pkg.spec.moe.topK}`,
          icon: 'type-hierarchy',
          tooltip: `Groups: ${pkg.spec.moe.groupNames.join(', ')}\nInput ${pkg.spec.preprocess.inputSize.join('×')} (D×H×W), visual token grid ${pkg.spec.patchGrid.join('×')}`,
        },
      );
    }
    if (target.ignored) {
      rows.push({
        label: 'Workspace model path ignored',
        description: target.ignored,
        icon: 'shield',
        tooltip: 'This workspace is not trusted, so its ctlens.modelPath is not used.',
      });
    }
    switch (status.state) {
      case 'idle':
        rows.push({ label: 'Not loaded', description: 'loads on the first report or question', icon: 'circle-outline', command: { title: 'Load', command: 'ctlens.loadModel' } });
        break;
      case 'loading':
        rows.push({
          label: 'Loading…',
          description: `${providerName(status.target.executionProvider)}${status.target.dtype !== 'auto' ? ` · ${status.target.dtype}` : ''}`,
          icon: 'sync~spin',
        });
        break;
      case 'failed':
        rows.push({ label: 'Failed to load', description: status.error, icon: 'error', tooltip: status.error, command: { title: 'Retry', command: 'ctlens.loadModel' } });
        break;
      case 'ready': {
        const { load } = status;
        // Every attempt, in order: `auto` on Linux without CUDA reads "CUDA: not used — …" then "WebGPU: ok".
        const attempts = load.provider.attempts.map((a): Row => ({
          label: providerName(a.provider),
          description: attemptOutcome(a),
          icon: a.ok ? 'pass' : 'circle-slash',
          tooltip: attemptLine(a),
        }));
        rows.push(
          {
            label: 'Execution provider',
            description: `${providerLabel(load.provider)}${load.provider.requested !== load.provider.used ? ` (asked: ${providerName(load.provider.requested)})` : ''}`,
            icon: load.provider.used === 'cpu' ? 'server-process' : 'zap',
            tooltip: ['Providers tried:', ...load.provider.attempts.map(attemptLine)].join('\n'),
            children: attempts,
          },
          { label: 'Load time', description: `${Math.round(load.loadMs)} ms${load.reused ? ' (reused)' : ''}`, icon: 'clock' },
        );
        if (this.model.service.hostPid) rows.push({ label: 'Model host', description: `pid ${this.model.service.hostPid}`, icon: 'terminal' });
        break;
      }
    }
    return rows;
  }
}
