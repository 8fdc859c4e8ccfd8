// The viewer's DOM, built with createElement (never innerHTML: file names and header descriptions are untrusted
// text). Element ids and data attributes here are contract C3, which the end-to-end tests drive.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { el } from '../common/element';
import type { SliceView } from './geometry';
import { WINDOW_PRESETS } from './windowing';

export type ViewName = SliceView | '3d';
export const VIEW_NAMES: readonly ViewName[] = ['axial', 'coronal', 'sagittal', '3d'];
const VIEW_TITLES: Record<ViewName, string> = { axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal', '3d': '3D' };

export interface ViewElements {
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  title: HTMLElement;
  info: HTMLElement;
  labels: { left: HTMLElement; right: HTMLElement; top: HTMLElement; bottom: HTMLElement };
}

export interface ViewerDom {
  root: HTMLElement;
  name: HTMLElement;
  views: Record<ViewName, ViewElements>;
  viewsBox: HTMLElement;
  layoutButtons: HTMLElement[];
  presetButtons: HTMLElement[];
  window: HTMLElement;
  goto: HTMLInputElement;
  overlayButton: HTMLElement;
  resetButton: HTMLElement;
  panelButton: HTMLElement;
  mode3d: HTMLElement & { value: string };
  side: HTMLElement;
  tabs: HTMLElement & { selectedIndex: number };
  header: HTMLElement;
  overlay: HTMLElement;
  /** The overlay's name and colour scale floating over the views (the heatmap's legend where the eye is). */
  legend: HTMLElement;
  readout: HTMLElement;
  notice: HTMLElement;
  error: HTMLElement;
  progress: HTMLElement;
}

function button(label: string, attrs: Record<string, string>, title: string): HTMLElement {
  const b = document.createElement('vscode-button');
  b.setAttribute('secondary', '');
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  b.title = title;
  b.textContent = label;
  return b;
}

function view(name: ViewName): ViewElements {
  const canvas = el('canvas', { className: 'ctl-canvas' });
  const labels = {
    left: el('span', { className: 'ctl-label ctl-label-left' }),
    right: el('span', { className: 'ctl-label ctl-label-right' }),
    top: el('span', { className: 'ctl-label ctl-label-top' }),
    bottom: el('span', { className: 'ctl-label ctl-label-bottom' }),
  };
  const title = el('span', { className: 'ctl-view-title', text: VIEW_TITLES[name] });
  const info = el('span', { className: 'ctl-view-info' });
  const root = el(
    'div',
    { id: `ctl-view-${name}`, className: 'ctl-view', attrs: { 'data-view': name, tabindex: '0', 'aria-label': `${VIEW_TITLES[name]} view` } },
    [canvas, labels.left, labels.right, labels.top, labels.bottom, el('div', { className: 'ctl-view-caption' }, [title, info])],
  );
  return { root, canvas, title, info, labels };
}

export function buildDom(host: HTMLElement): ViewerDom {
  const views = Object.fromEntries(VIEW_NAMES.map((n) => [n, view(n)])) as Record<ViewName, ViewElements>;

  const mode3d = document.createElement('vscode-single-select') as unknown as HTMLElement & { value: string };
  mode3d.className = 'ctl-mode3d';
  mode3d.title = '3D rendering';
  for (const [value, label] of [
    ['mip', 'MIP'],
    ['vr', 'Volume'],
  ] as const) {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', value);
    o.textContent = label;
    mode3d.append(o);
  }
  views['3d'].root.append(mode3d);

  const layoutButtons = [
    button('1×3', { 'data-layout': '1x3' }, 'Layout: axial, coronal, sagittal'),
    button('2×2', { 'data-layout': '2x2' }, 'Layout: three slices and 3D'),
    button('Single', { 'data-layout': 'single' }, 'Layout: one view (double-click a view)'),
  ];
  const presetButtons = WINDOW_PRESETS.map((p) =>
    button(p.label, { 'data-preset': p.id }, `${p.label} window: level ${p.center}, width ${p.width}`),
  );
  const windowEl = el('span', { id: 'ctl-window', className: 'ctl-window', title: 'Window level / width (right-drag on a view to change)' });
  const goto = el('input', {
    id: 'ctl-goto',
    className: 'ctl-goto',
    title: 'Go to voxel i,j,k (file order), then Enter',
    attrs: { type: 'text', placeholder: 'i, j, k', spellcheck: 'false', autocomplete: 'off', 'aria-label': 'Go to voxel' },
  });
  const overlayButton = button('Overlay…', { 'data-action': 'open-overlay' }, 'Open a label or scalar map over this volume');
  const resetButton = button('Reset', { 'data-action': 'reset' }, 'Reset zoom, pan, crosshair and window');
  const panelButton = button('Panel', { 'data-action': 'toggle-panel' }, 'Show or hide the side panel');
  const name = el('span', { className: 'ctl-name' });

  const toolbar = el('div', { className: 'ctl-toolbar', attrs: { role: 'toolbar' } }, [
    name,
    el('div', { className: 'ctl-group', attrs: { role: 'group', 'aria-label': 'Layout' } }, layoutButtons),
    el('div', { className: 'ctl-group', attrs: { role: 'group', 'aria-label': 'Window presets' } }, presetButtons),
    windowEl,
    goto,
    el('div', { className: 'ctl-group' }, [overlayButton, resetButton, panelButton]),
  ]);

  const legend = el('div', { id: 'ctl-legend', className: 'ctl-legend-float', attrs: { hidden: '', 'aria-label': 'Overlay legend' } });
  const viewsBox = el('div', { className: 'ctl-views', attrs: { 'data-layout': '1x3' } }, [...VIEW_NAMES.map((n) => views[n].root), legend]);

  const header = el('div', { id: 'ctl-header', className: 'ctl-header' });
  const overlay = el('div', { id: 'ctl-overlay', className: 'ctl-overlay', attrs: { hidden: '' } });
  const overlayEmpty = el('p', { className: 'ctl-muted ctl-overlay-empty', text: 'No overlay. Use “Overlay…” or the command CT Lens: Open Overlay….' });
  const tabs = document.createElement('vscode-tabs') as unknown as HTMLElement & { selectedIndex: number };
  tabs.className = 'ctl-tabs';
  appendTab(tabs, 'info', 'Info', header);
  appendTab(tabs, 'overlay', 'Overlay', el('div', {}, [overlayEmpty, overlay]));
  const side = el('aside', { className: 'ctl-side', attrs: { 'aria-label': 'Side panel' } }, [tabs]);

  const readout = el('span', { id: 'ctl-readout', className: 'ctl-readout', attrs: { 'aria-live': 'off' } });
  const notice = el('span', { id: 'ctl-notice', className: 'ctl-notice', attrs: { role: 'status', hidden: '' } });
  const progress = document.createElement('vscode-progress-bar');
  progress.className = 'ctl-progress';
  const status = el('div', { className: 'ctl-status' }, [readout, notice, progress]);
  const error = el('div', { id: 'ctl-error', className: 'ctl-error', attrs: { role: 'alert', hidden: '' } });

  const root = el(
    'div',
    { id: 'ctl-root', className: 'ctl-root', attrs: { 'data-state': 'loading', 'data-layout': '1x3' } },
    // The error sits over the views (not the toolbar): what decoded before a failure stays visible beneath it.
    [toolbar, el('div', { className: 'ctl-body' }, [viewsBox, side, error]), status],
  );
  host.append(root);
  return {
    root,
    name,
    views,
    viewsBox,
    layoutButtons,
    presetButtons,
    window: windowEl,
    goto,
    overlayButton,
    resetButton,
    panelButton,
    mode3d,
    side,
    tabs,
    header,
    overlay,
    legend,
    readout,
    notice,
    error,
    progress,
  };
}

/** Adds a tab to the side panel; returns the panel element to fill. */
export function appendTab(tabs: HTMLElement, id: string, title: string, content: HTMLElement): HTMLElement {
  const header = document.createElement('vscode-tab-header');
  header.setAttribute('slot', 'header');
  header.setAttribute('data-tab', id);
  header.textContent = title;
  const panel = document.createElement('vscode-tab-panel');
  panel.setAttribute('data-tab', id);
  panel.append(content);
  tabs.append(header, panel);
  return panel;
}
