// The CT Lens status bar item: which model is loaded and where it runs (`WebGPU · fp16`, `CPU`; hover: the
// providers tried, with why any failed, and the load time), a spinner while it loads, an error colour when it
// failed. Clicking it opens the Model view.

import * as vscode from 'vscode';
import type { ModelService, ModelStatus } from './model-service';
import { attemptLine, providerLabel, providerName } from '../../shared/provider-label';
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
      item.tooltip = `CT Lens: loading ${status.target.packageDir} (${providerName(status.target.executionProvider)}${status.target.dtype !== 'auto' ? `, ${status.target.dtype}` : ''})`;
      break;
    case 'ready': {
      const { load } = status;
      const runs = providerLabel(load.provider);
      item.text = `$(hubot) ${load.model.name} · ${runs}`;
      item.tooltip = [
        `CT Lens model ${load.model.name} ${load.model.version} on ${runs} (asked: ${providerName(load.provider.requested)}), loaded in ${Math.round(load.loadMs)} ms.`,
        'Providers tried:',
        ...load.provider.attempts.map((a) => `• ${attemptLine(a)}`),
        'Click for the Model view.',
      ].join('\n');
      break;
    }
    case 'failed':
      item.text = `$(error) CT Lens model`;
      item.tooltip = `CT Lens: ${status.error}`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      break;
  }
}
