// The 2D-canvas slice renderer: RGBA pixels of one slice view computed on the CPU. Used where WebGL2 is missing or
// broken (NiiVue's VS Code extension shows a black canvas on some Linux machines), and as the reference the WebGL
// output is checked against. Nearest-voxel sampling: each screen pixel shows the display voxel under its centre.

import { applyAffine, multiply4 } from '../../../src/core/nifti/affine';
import { DisplayFrame, ViewAxes, ViewPort, screenToDisplayMatrix } from '../geometry';
import { colormapLUT } from '../../common/colormap';
import { colormapIndex, OverlayLayer, sampleOverlayVoxel } from '../overlay-layer';
import type { ViewerVolume } from '../volume';
import type { WindowLevel } from '../windowing';

export interface RGBATarget {
  data: Uint8ClampedArray;
  /** Device pixels. */
  width: number;
  height: number;
}

export interface SliceRenderInput {
  volume: ViewerVolume;
  axes: ViewAxes;
  /** In CSS pixels; the target may be larger by `pixelRatio`. */
  port: ViewPort;
  slice: number;
  window: WindowLevel;
  overlay?: OverlayLayer | null;
  pixelRatio: number;
}

/** Background of pixels outside the volume or in slices that have not arrived: opaque black. */
export const BACKGROUND = [0, 0, 0, 255] as const;

export function renderSliceCPU(target: RGBATarget, input: SliceRenderInput): void {
  const { volume, axes, port, slice, window, overlay, pixelRatio } = input;
  const frame: DisplayFrame = volume.frame;
  const out = target.data;
  const [nx, ny, nz] = volume.header.dims;
  const data = volume.data;
  const slope = volume.slope;
  const inter = volume.inter;
  const lower = window.center - window.width / 2;
  const invWidth = 1 / window.width;

  // device pixel (px, py) centre → screen → display → file, as one affine: file = F·(px, py, 0, 1).
  const deviceToScreen = [
    [1 / pixelRatio, 0, 0, 0.5 / pixelRatio],
    [0, 1 / pixelRatio, 0, 0.5 / pixelRatio],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  const toDisplay = multiply4(screenToDisplayMatrix(frame, axes, port, slice), deviceToScreen);
  const toFile = multiply4(frame.displayToFile, toDisplay);
  const toOverlay = overlay ? multiply4(overlay.displayToOverlay, toDisplay) : null;
  const lut = overlay ? colormapLUT(overlay.style.colormap) : null;
  const alpha = overlay ? overlay.style.opacity : 0;

  const f0 = applyAffine(toFile, [0, 0, 0]);
  const fx = [toFile[0]![0]!, toFile[1]![0]!, toFile[2]![0]!];
  const fy = [toFile[0]![1]!, toFile[1]![1]!, toFile[2]![1]!];
  const p = [0, 0, 0];

  for (let py = 0; py < target.height; py++) {
    for (let px = 0; px < target.width; px++) {
      const o = (py * target.width + px) * 4;
      // Round half up with floor(x + 0.5): a display voxel covers [n - 0.5, n + 0.5).
      const i = Math.floor(f0[0] + fx[0]! * px + fy[0]! * py + 0.5);
      const j = Math.floor(f0[1] + fx[1]! * px + fy[1]! * py + 0.5);
      const k = Math.floor(f0[2] + fx[2]! * px + fy[2]! * py + 0.5);
      if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz || !volume.loaded[k]) {
        out[o] = BACKGROUND[0];
        out[o + 1] = BACKGROUND[1];
        out[o + 2] = BACKGROUND[2];
        out[o + 3] = BACKGROUND[3];
        continue;
      }
      const v = data[i + nx * (j + ny * k)]! * slope + inter;
      const t = (v - lower) * invWidth;
      let r = t > 0 ? (t < 1 ? t * 255 : 255) : 0;
      let g = r;
      let b = r;
      if (toOverlay) {
        p[0] = toOverlay[0]![0]! * px + toOverlay[0]![1]! * py + toOverlay[0]![3]!;
        p[1] = toOverlay[1]![0]! * px + toOverlay[1]![1]! * py + toOverlay[1]![3]!;
        p[2] = toOverlay[2]![0]! * px + toOverlay[2]![1]! * py + toOverlay[2]![3]!;
        const idx = colormapIndex(sampleOverlayVoxel(overlay!, p), overlay!.style);
        if (idx >= 0) {
          r = r * (1 - alpha) + lut![idx * 4]! * alpha;
          g = g * (1 - alpha) + lut![idx * 4 + 1]! * alpha;
          b = b * (1 - alpha) + lut![idx * 4 + 2]! * alpha;
        }
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
    }
  }
}
