// The CT Lens status bar item: which model is loaded and where it runs (hover: the providers tried and the load
// time), a spinner while it loads, an error colour when it failed. Clicking it opens the Model view.

import * as vscode from 'vscode';
import type { ModelService, ModelStatus } from './model-service';
import { pathName } from './report-markdown';

export function createModelStatusBar(service: ModelService): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('ctlens.model', vscode.StatusBarAlignment.Right, 100);
  item.name = 'CT Lens Model';
  item.command = 'ctlens.model.focus';
  showStatus(item, service.status);
  item.show();
  const off = service.onDidChangeStatus((s) => showStatus(item, s));
  return {
    dispose: () => {
      off();
      item.dispose();
    },
  };
}

function showStatus(item: vscode.StatusBarItem, status: ModelStatus): void {
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
