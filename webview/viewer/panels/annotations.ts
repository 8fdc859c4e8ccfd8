// The text the viewer writes around its views: the readout (value, voxel and mm under the pointer or at the
// crosshair), the views' orientation labels and colours, the window in the toolbar, and the notices over the views
// (renderer fallback, 4D file). Element data attributes here are contract C3 (the end-to-end tests read them).

import { applyAffine } from '../../../src/core/nifti/affine';
import type { ViewerDom } from '../dom';
import { clampDisplayIndex, displayToFileIndex, insideDisplay, SLICE_VIEWS } from '../geometry';
import { formatNumber } from '../header-info';
import { sampleOverlayAtDisplay } from '../overlay-layer';
import { VIEW_COLORS } from '../painter';
import type { ViewerModel } from '../state';
import { presetOf } from '../windowing';

export class Annotations {
  private readonly notices = new Map<string, string>();

  constructor(
    private readonly model: ViewerModel,
    private readonly dom: ViewerDom,
  ) {}

  readout(): void {
    const { model } = this;
    const volume = model.vol;
    const out = this.dom.readout;
    if (!volume) {
      out.textContent = '';
      return;
    }
    const d = model.cursor && insideDisplay(volume.frame, model.cursor.display) ? clampDisplayIndex(volume.frame, model.cursor.display) : model.crosshair;
    const ijk = displayToFileIndex(volume.frame, d);
    const value = volume.valueAtFile(...ijk);
    const world = applyAffine(volume.frame.fileToWorld, ijk);
    const label = volume.looksLikeCT ? 'HU' : 'Value';
    let text = `${label} ${Number.isNaN(value) ? '…' : formatNumber(value)} · voxel (${ijk.join(', ')}) · (${world.map((w) => w.toFixed(1)).join(', ')}) mm`;
    if (model.layer) {
      const ov = sampleOverlayAtDisplay(model.layer, d);
      text += ` · ${model.layer.overlay.name} ${Number.isNaN(ov) ? '—' : formatNumber(ov, 4)}`;
    }
    out.textContent = text;
    out.dataset.ijk = ijk.join(',');
    out.dataset.value = Number.isNaN(value) ? '' : String(value);
    out.dataset.source = model.cursor ? 'cursor' : 'crosshair';
  }

  /** The window in the toolbar, and which preset button (if any) it matches. */
  window(): void {
    const w = this.dom.window;
    const win = this.model.win;
    w.dataset.center = formatNumber(win.center);
    w.dataset.width = formatNumber(win.width);
    w.textContent = `L ${formatNumber(win.center, 4)}  W ${formatNumber(win.width, 4)}`;
    const active = presetOf(win);
    for (const b of this.dom.presetButtons) b.toggleAttribute('secondary', b.dataset.preset !== active);
  }

  /** Orientation letters on each slice view's edges (they follow the convention) and its plane colour. */
  labels(): void {
    for (const v of SLICE_VIEWS) {
      const { labels } = this.dom.views[v];
      const l = this.model.axes[v].labels;
      labels.left.textContent = l.left;
      labels.right.textContent = l.right;
      labels.top.textContent = l.top;
      labels.bottom.textContent = l.bottom;
      this.dom.views[v].root.style.setProperty('--ctl-view-color', VIEW_COLORS[v]);
    }
  }

  /** Sets (or, with null, clears) one notice; all of them show together over the views. */
  notice(key: string, text: string | null): void {
    if (text) this.notices.set(key, text);
    else this.notices.delete(key);
    const all = [...this.notices.values()];
    this.dom.notice.textContent = all.join(' ');
    this.dom.notice.hidden = all.length === 0;
  }
}
