// The 2D-canvas slice renderer: RGBA pixels of one slice view computed on the CPU. Used where WebGL2 is missing or
// broken (NiiVue's VS Code extension shows a black canvas on some Linux machines), and as the reference the WebGL
// output is checked against. Nearest-voxel sampling: each screen pixel shows the display voxel under its centre.
//
// Slice views are planes of the display grid, whose axes are the file's axes permuted and flipped, so a pixel's
// column picks one file index and its row another. For 8- and 16-bit voxels without an overlay the renderer works
// that out once per column and row and maps stored values to pixels through a table: the same pixels as the
// per-pixel loop (the same arithmetic, term by term) at a fraction of its cost — it draws every slice view while a
// volume streams in (painter.ts), where it cost a sixth of the big CT's decode (issue 11).

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
  if (!overlay && renderSeparable(target, volume, f0, fx, fy, lower, invWidth)) return;

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

/** The 8- and 16-bit voxel types: the first stored value and how many there are. */
const STORED_RANGES: [new (length: number) => ViewerVolume['data'], number, number][] = [
  [Int16Array, -32768, 65536],
  [Uint16Array, 0, 65536],
  [Int8Array, -128, 256],
  [Uint8Array, 0, 256],
];

/** The last table made (views drawn with the same window share it: a 16-bit table is 65,536 entries). */
let lastTable: { key: string; table: Uint32Array; bias: number } | null = null;

/** Stored value → packed RGBA (little-endian) for 8- and 16-bit data, and the bias that makes the value an index. */
function grayTable(
  data: ViewerVolume['data'],
  slope: number,
  inter: number,
  lower: number,
  invWidth: number,
): { table: Uint32Array; bias: number } | null {
  const key = `${data.constructor.name}:${slope}:${inter}:${lower}:${invWidth}`;
  if (lastTable?.key === key) return lastTable;
  const range = STORED_RANGES.find(([type]) => data instanceof type);
  if (!range) return null;
  const [, first, count] = range;
  const table = new Uint32Array(count);
  // Through a Uint8ClampedArray, as the per-pixel loop stores its channels (rounding half to even).
  const gray = new Uint8ClampedArray(1);
  for (let n = 0; n < count; n++) {
    const v = (first + n) * slope + inter;
    const t = (v - lower) * invWidth;
    gray[0] = t > 0 ? (t < 1 ? t * 255 : 255) : 0;
    const g = gray[0];
    table[n] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
  }
  lastTable = { key, table, bias: -first };
  return lastTable;
}

/**
 * The separable case (see the top of the file): true when it drew, false when the view or the data needs the
 * per-pixel loop. An index of -1 in the column or row tables marks a pixel outside the volume or its slices.
 */
function renderSeparable(
  target: RGBATarget,
  volume: ViewerVolume,
  f0: number[],
  fx: number[],
  fy: number[],
  lower: number,
  invWidth: number,
): boolean {
  // Exactly one file axis moves along a row (col) and one down a column (row).
  const col = fx.findIndex((v) => v !== 0);
  const row = fy.findIndex((v) => v !== 0);
  const alone = (f: number[], axis: number) => f.every((v, a) => a === axis || v === 0);
  if (col < 0 || row < 0 || col === row || !alone(fx, col) || !alone(fy, row)) return false;
  const out = target.data;
  if (out.byteOffset % 4 !== 0) return false;
  const lut = grayTable(volume.data, volume.slope, volume.inter, lower, invWidth);
  if (!lut) return false;
  const dims = volume.header.dims;
  const strides = [1, dims[0], dims[0] * dims[1]];
  const fixed = 3 - col - row;
  // As the per-pixel loop: floor(f0 + fx·px + fy·py + 0.5), where the terms of the other axes are exactly zero.
  const index = (axis: number, step: number, n: number): number => {
    const c = Math.floor(f0[axis]! + step * n + 0.5);
    if (c < 0 || c >= dims[axis]! || (axis === 2 && !volume.loaded[c])) return -1;
    return c * strides[axis]!;
  };
  const base = index(fixed, 0, 0);
  const out32 = new Uint32Array(out.buffer, out.byteOffset, target.width * target.height);
  const background = (BACKGROUND[0] | (BACKGROUND[1] << 8) | (BACKGROUND[2] << 16) | (BACKGROUND[3] << 24)) >>> 0;
  if (base < 0) {
    out32.fill(background);
    return true;
  }
  const cols = new Int32Array(target.width);
  for (let px = 0; px < target.width; px++) cols[px] = index(col, fx[col]!, px);
  const data = volume.data;
  const { table, bias } = lut;
  for (let py = 0; py < target.height; py++) {
    const r = index(row, fy[row]!, py);
    const o = py * target.width;
    if (r < 0) {
      out32.fill(background, o, o + target.width);
      continue;
    }
    const at = base + r;
    for (let px = 0; px < target.width; px++) {
      const c = cols[px]!;
      out32[o + px] = c < 0 ? background : table[data[at + c]! + bias]!;
    }
  }
  return true;
}
