// The DOM pieces of an overlay's legend: a colour bar of a colormap and the swatch of one label's colour. The viewer
// (floating legend, overlay panel) and the Routing view all draw them from here, so the three show the colours the
// renderers use (colormapLUT).

import type { OverlayColormap } from '../../src/shared/overlay';
import { colormapLUT } from './colormap';
import { el } from './element';

/** The colormap as a 256×1 canvas; CSS (.ctl-colorbar) stretches it, pixelated. */
export function colorbar(colormap: OverlayColormap): HTMLCanvasElement {
  const bar = el('canvas', { className: 'ctl-colorbar' });
  bar.width = 256;
  bar.height = 1;
  const ctx = bar.getContext('2d');
  if (ctx) {
    const img = ctx.createImageData(256, 1);
    img.data.set(colormapLUT(colormap));
    ctx.putImageData(img, 0, 0);
  }
  return bar;
}

/** A square in the colour `label` gets under `colormap` ('labels' for label maps). */
export function labelSwatch(colormap: OverlayColormap, label: number): HTMLElement {
  const lut = colormapLUT(colormap);
  const swatch = el('span', { className: 'ctl-swatch' });
  // CSSOM assignment, not a style attribute: allowed under the webview's CSP.
  swatch.style.backgroundColor = `rgb(${lut[label * 4]}, ${lut[label * 4 + 1]}, ${lut[label * 4 + 2]})`;
  return swatch;
}
