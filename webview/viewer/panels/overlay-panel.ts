// The overlay's controls in the side panel (colormap, opacity, threshold, remove) and its legends: the floating one
// over the views (name and colour bar) and the one in the panel (colour bar, or the labels' swatches).

import { OVERLAY_COLORMAPS, OverlayColormap, OverlayStyle } from '../../../src/shared/overlay';
import { el } from '../../common/element';
import { colorbar, labelSwatch } from '../../common/overlay-legend';
import type { ViewerDom } from '../dom';
import { formatNumber } from '../header-info';
import { OverlayLayer, overlayLegend } from '../overlay-layer';

export interface OverlayPanelHost {
  readonly dom: ViewerDom;
  layer(): OverlayLayer | null;
  updateOverlayStyle(style: Partial<OverlayStyle>): void;
  clearOverlay(): void;
}

export class OverlayPanel {
  constructor(private readonly host: OverlayPanelHost) {}

  /** Rebuilds the controls for the current overlay (or the empty note when there is none). */
  render(): void {
    const box = this.host.dom.overlay;
    box.replaceChildren();
    const empty = box.parentElement?.querySelector<HTMLElement>('.ctl-overlay-empty');
    const layer = this.host.layer();
    box.hidden = !layer;
    if (empty) empty.hidden = !!layer;
    if (!layer) return;
    const o = layer.overlay;
    const colormap = document.createElement('vscode-single-select') as unknown as HTMLElement & { value: string };
    colormap.dataset.control = 'colormap';
    for (const c of OVERLAY_COLORMAPS) {
      const opt = document.createElement('vscode-option');
      opt.setAttribute('value', c);
      if (c === layer.style.colormap) opt.setAttribute('selected', '');
      opt.textContent = c;
      colormap.append(opt);
    }
    colormap.addEventListener('change', () => this.host.updateOverlayStyle({ colormap: colormap.value as OverlayColormap }));

    const opacity = el('input', { attrs: { type: 'range', min: '0', max: '1', step: '0.05', 'data-control': 'opacity', 'aria-label': 'Opacity' } });
    opacity.value = String(layer.style.opacity);
    opacity.addEventListener('input', () => this.host.updateOverlayStyle({ opacity: Number(opacity.value) }));

    const [lo, hi] = layer.style.range;
    const step = o.kind === 'label' ? 1 : Math.max((hi - lo) / 100, 1e-6);
    const threshold = el('input', {
      attrs: { type: 'number', step: String(step), 'data-control': 'threshold', 'aria-label': 'Threshold' },
    });
    threshold.value = formatNumber(layer.style.threshold);
    threshold.addEventListener('change', () => {
      const t = Number(threshold.value);
      if (Number.isFinite(t)) this.host.updateOverlayStyle({ threshold: t });
    });
    const remove = document.createElement('vscode-button');
    remove.setAttribute('secondary', '');
    remove.dataset.action = 'remove-overlay';
    remove.textContent = 'Remove overlay';
    remove.addEventListener('click', () => this.host.clearOverlay());

    const row = (label: string, control: Node) => el('label', { className: 'ctl-field' }, [el('span', { text: label }), control]);
    box.append(
      el('div', { className: 'ctl-overlay-name', text: o.name }),
      el('div', { className: 'ctl-muted', text: `${o.kind === 'label' ? 'Label map' : 'Scalar map'} · ${o.dims.join(' × ')}` }),
      row('Colormap', colormap),
      row('Opacity', opacity),
      row(o.kind === 'label' ? 'Hide labels ≤' : 'Threshold', threshold),
      el('div', { className: 'ctl-legend' }),
      remove,
    );
    this.renderLegend();
  }

  /** Controls follow style changes made through the API (without rebuilding them under a dragging pointer). */
  syncControls(): void {
    const style = this.host.layer()?.style;
    if (!style) return;
    const q = <T extends Element>(c: string) => this.host.dom.overlay.querySelector<T>(`[data-control=${c}]`);
    const opacity = q<HTMLInputElement>('opacity');
    if (opacity && Number(opacity.value) !== style.opacity) opacity.value = String(style.opacity);
    const threshold = q<HTMLInputElement>('threshold');
    if (threshold && Number(threshold.value) !== style.threshold) threshold.value = formatNumber(style.threshold);
    const colormap = q<HTMLElement & { value: string }>('colormap');
    if (colormap && colormap.value !== style.colormap) colormap.value = style.colormap;
  }

  /** The floating legend over the views: name, and for scalar maps the colour bar with its range. */
  renderFloatingLegend(): void {
    const box = this.host.dom.legend;
    const layer = this.host.layer();
    box.replaceChildren();
    box.hidden = !layer;
    if (!layer) return;
    const legend = overlayLegend(layer);
    box.append(el('div', { className: 'ctl-legend-name', text: layer.overlay.name }));
    if (legend.kind === 'labels') return;
    const threshold = layer.style.threshold > legend.range[0] ? ` · hidden ≤ ${formatNumber(layer.style.threshold, 3)}` : '';
    box.append(
      colorbar(layer.style.colormap),
      el('div', { className: 'ctl-colorbar-labels' }, [
        el('span', { text: formatNumber(legend.range[0], 3) }),
        el('span', { className: 'ctl-muted', text: threshold.replace(/^ · /, '') }),
        el('span', { text: formatNumber(legend.range[1], 3) }),
      ]),
    );
  }

  /** Both legends: the floating one and the one in the panel. */
  renderLegend(): void {
    this.renderFloatingLegend();
    const layer = this.host.layer();
    const box = this.host.dom.overlay.querySelector<HTMLElement>('.ctl-legend');
    if (!box || !layer) return;
    box.replaceChildren();
    const legend = overlayLegend(layer);
    const colormap = layer.style.colormap;
    if (legend.kind === 'labels') {
      for (const v of legend.labels.slice(0, 32)) {
        box.append(el('span', { className: 'ctl-legend-item' }, [labelSwatch(colormap, v), `label ${v}`]));
      }
      if (legend.labels.length === 0) box.append(el('span', { className: 'ctl-muted', text: 'no labels above 0' }));
      return;
    }
    box.append(
      colorbar(colormap),
      el('div', { className: 'ctl-colorbar-labels' }, [
        el('span', { text: formatNumber(legend.range[0], 4) }),
        el('span', { text: formatNumber(legend.range[1], 4) }),
      ]),
    );
  }
}
