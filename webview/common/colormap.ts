// The overlay colormaps as 256-entry RGBA tables: one source for the renderers (CPU and WebGL), the viewer's legends
// and the Routing view's colour bars, so all of them show the same colours.

import type { OverlayColormap } from '../../src/shared/overlay';

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 145, 140],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Distinct colours for label values 1, 2, 3, …; cycles after twelve. Label 0 is background. */
const LABEL_PALETTE: readonly [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
];

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

function rgbAt(name: OverlayColormap, index: number): [number, number, number] {
  const t = index / 255;
  switch (name) {
    case 'gray':
      return [index, index, index];
    case 'hot':
      return [clamp01(3 * t), clamp01(3 * t - 1), clamp01(3 * t - 2)].map((c) => Math.round(c * 255)) as [number, number, number];
    case 'jet':
      return [3, 2, 1].map((k) => Math.round(clamp01(1.5 - Math.abs(4 * t - k)) * 255)) as [number, number, number];
    case 'viridis': {
      const x = t * (VIRIDIS.length - 1);
      const lo = Math.min(VIRIDIS.length - 2, Math.floor(x));
      const f = x - lo;
      return [0, 1, 2].map((c) => Math.round(VIRIDIS[lo]![c]! * (1 - f) + VIRIDIS[lo + 1]![c]! * f)) as [number, number, number];
    }
    case 'labels':
      return index === 0 ? [0, 0, 0] : LABEL_PALETTE[(index - 1) % LABEL_PALETTE.length]!;
  }
}

const lutCache = new Map<OverlayColormap, Uint8Array>();

/** 256 RGBA entries (alpha 255); for 'labels' the entry index is the label value. */
export function colormapLUT(name: OverlayColormap): Uint8Array {
  let lut = lutCache.get(name);
  if (!lut) {
    lut = new Uint8Array(256 * 4);
    for (let n = 0; n < 256; n++) {
      const [r, g, b] = rgbAt(name, n);
      lut.set([r, g, b, 255], n * 4);
    }
    lutCache.set(name, lut);
  }
  return lut;
}
