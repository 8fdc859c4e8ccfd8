// The side panel's tabs: Info (the header table) and Overlay from the start, and the tabs a host adds (report, chat,
// routing, …) through the Viewer's addPanel.

import { el } from '../../common/element';
import { appendTab, ViewerDom } from '../dom';
import { formatNumber, headerRows } from '../header-info';
import type { ViewerModel } from '../state';

export class SidePanel {
  private readonly panels = new Map<string, HTMLElement>();

  constructor(private readonly dom: ViewerDom) {
    this.panels.set('info', dom.header);
    this.panels.set('overlay', dom.overlay);
  }

  add(id: string, title: string): HTMLElement {
    const existing = this.panels.get(id);
    if (existing) return existing;
    const content = el('div', { className: 'ctl-panel', attrs: { 'data-panel': id } });
    appendTab(this.dom.tabs, id, title, content);
    this.panels.set(id, content);
    return content;
  }

  show(id: string): void {
    const headers = [...this.dom.tabs.querySelectorAll('vscode-tab-header')];
    const index = headers.findIndex((h) => h.getAttribute('data-tab') === id);
    if (index >= 0) this.dom.tabs.selectedIndex = index;
    delete this.dom.root.dataset.panel;
  }

  toggle(): void {
    if (this.dom.root.dataset.panel === 'hidden') delete this.dom.root.dataset.panel;
    else this.dom.root.dataset.panel = 'hidden';
  }

  /** The Info tab: the header's fields, and the value range once every slice has arrived. */
  renderHeader(model: ViewerModel): void {
    const volume = model.vol;
    const box = this.dom.header;
    box.replaceChildren();
    if (!volume) return;
    const rows = headerRows(volume.header, volume.frame, model.name);
    if (volume.complete && Number.isFinite(volume.min)) {
      rows.push({ label: 'Value range', value: `${formatNumber(volume.min)} … ${formatNumber(volume.max)}` });
    }
    const table = el('table', { className: 'ctl-header-table' });
    for (const row of rows) {
      if (row.pre) {
        // Wide monospace blocks (the affine) get a full-width row under their label.
        table.append(el('tr', {}, [el('th', { text: row.label, attrs: { scope: 'row', colspan: '2' } })]));
        table.append(el('tr', {}, [el('td', { attrs: { colspan: '2' } }, [el('pre', { text: row.value })])]));
        continue;
      }
      table.append(el('tr', {}, [el('th', { text: row.label, attrs: { scope: 'row' } }), el('td', { text: row.value })]));
    }
    box.append(table);
  }
}
