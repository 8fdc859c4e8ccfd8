import assert from 'node:assert/strict';
import type { Mat4 } from '../../../src/core/nifti/types';
import type { OverlayVolume } from '../../../src/shared/overlay';
import { defaultViewPort, displayToFileIndex, screenToDisplay, viewAxes } from '../../../webview/viewer/geometry';
import { colormapLUT } from '../../../webview/common/colormap';
import { createOverlayLayer } from '../../../webview/viewer/overlay-layer';
import { renderSliceCPU } from '../../../webview/viewer/render/slice-cpu';
import { code, diag, makeVolume } from './fixtures';

/** Renders one view and returns a function giving the RGBA of a pixel. */
function render(volume: ReturnType<typeof makeVolume>, view: 'axial' | 'coronal' | 'sagittal', slice: number, opts: { w?: number; h?: number; window?: { center: number; width: number }; overlay?: OverlayVolume } = {}) {
  const w = opts.w ?? 80;
  const h = opts.h ?? 60;
  const axes = viewAxes(view, 'radiological');
  const port = defaultViewPort(volume.frame, axes, w, h);
  const target = { data: new Uint8ClampedArray(w * h * 4), width: w, height: h };
  const overlay = opts.overlay ? createOverlayLayer(volume.frame, opts.overlay) : null;
  renderSliceCPU(target, { volume, axes, port, slice, window: opts.window ?? { center: 500, width: 1000 }, overlay, pixelRatio: 1 });
  const px = (x: number, y: number) => Array.from(target.data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4));
  return { px, axes, port, target };
}

describe('webview/viewer/render/slice-cpu', () => {
  // LAS, 6×5×4 voxels of 2×2×3 mm, value = 100k + 10j + i (0..365); window 500/1000 maps v to round(v·255/1000).
  const volume = makeVolume([6, 5, 4], diag(-2, 2, 3));
  const gray = (v: number) => Math.round((v / 1000) * 255);

  it('every pixel shows the windowed value of the file voxel under its centre', () => {
    for (const view of ['axial', 'coronal', 'sagittal'] as const) {
      const { px, axes, port, target } = render(volume, view, 2);
      let inside = 0;
      for (let y = 0; y < target.height; y++) {
        for (let x = 0; x < target.width; x++) {
          const d = screenToDisplay(volume.frame, axes, port, 2, x + 0.5, y + 0.5).map((v) => Math.floor(v + 0.5));
          const dims = volume.frame.dims;
          const within = d.every((v, a) => v >= 0 && v < dims[a]!);
          const [r, g, b, a] = px(x, y);
          if (!within) {
            assert.deepEqual([r, g, b, a], [0, 0, 0, 255], `${view} (${x},${y}) outside is black`);
            continue;
          }
          inside++;
          const [i, j, k] = displayToFileIndex(volume.frame, d);
          const expected = gray(code(i, j, k));
          assert.ok(Math.abs(r! - expected) <= 1 && r === g && g === b && a === 255, `${view} (${x},${y}) voxel ${i},${j},${k}: ${r} vs ${expected}`);
        }
      }
      assert.ok(inside > target.width * target.height * 0.3, `${view}: the slice covers the view`);
    }
  });

  it('radiological axial: the left edge shows the patient right (file i = 0 in an LAS file), the top anterior', () => {
    const { px, target } = render(volume, 'axial', 0, { w: 60, h: 60 });
    const row = 30;
    const lit = (x: number, y: number) => px(x, y)[0]! > 0;
    let first = -1;
    let last = -1;
    for (let x = 0; x < target.width; x++) {
      if (!lit(x, row)) continue;
      if (first < 0) first = x;
      last = x;
    }
    // LAS: world x = −2·i, so i = 0 is the patient's rightmost column. Slice k = 0, row j = 2: value 20 + i.
    assert.equal(px(first, row)[0], gray(code(0, 2, 0)));
    assert.equal(px(last, row)[0], gray(code(5, 2, 0)));
    // Top rows show the highest j (anterior: world y = 2·j).
    let top = -1;
    let bottom = -1;
    for (let y = 0; y < target.height; y++) {
      if (!lit(30, y)) continue;
      if (top < 0) top = y;
      bottom = y;
    }
    // Column 30 is at the centre, between i = 2 and i = 3.
    assert.ok([gray(code(2, 4, 0)), gray(code(3, 4, 0))].includes(px(30, top)[0]!), 'top row is j = 4 (anterior)');
    assert.ok([gray(code(2, 0, 0)), gray(code(3, 0, 0))].includes(px(30, bottom)[0]!), 'bottom row is j = 0 (posterior)');
  });

  it('paints slices that have not arrived as background', () => {
    const partial = makeVolume([6, 5, 4], diag(-2, 2, 3), code, { loadedSlices: 2 });
    const loaded = render(partial, 'axial', 1);
    const missing = render(partial, 'axial', 3);
    assert.ok(loaded.target.data.some((v, n) => n % 4 === 0 && v > 0));
    assert.ok(missing.target.data.every((v, n) => (n % 4 === 3 ? v === 255 : v === 0)));
  });

  it('draws int16 voxels (the column/row tables) exactly as float32 voxels of the same values (the per-pixel loop)', () => {
    // A flipped, anisotropic file whose k axis is not the display's S axis, half of it loaded, a scaled window.
    const affine: Mat4 = [
      [0, 0, -1.5, 10],
      [2, 0, 0, -3],
      [0, -0.7, 0, 4],
      [0, 0, 0, 1],
    ];
    const value = (i: number, j: number, k: number) => ((i * 37 + j * 11 + k * 101) % 3000) - 1024;
    const options = { loadedSlices: 5, header: { sclSlope: 1.5, sclInter: -20 } };
    const ints = makeVolume([9, 8, 10], affine, value, { ...options, datatype: 'int16' });
    const floats = makeVolume([9, 8, 10], affine, value, { ...options, datatype: 'float32' });
    for (const view of ['axial', 'coronal', 'sagittal'] as const) {
      const axes = viewAxes(view, 'radiological');
      for (const [zoom, dh, dv, dpr] of [[1, 0, 0, 1], [2.7, 1.3, -0.4, 2], [0.6, -2, 3, 1.5]] as const) {
        const w = 53;
        const h = 41;
        const base = defaultViewPort(ints.frame, axes, w, h);
        const port = { ...base, zoom: base.zoom * zoom, centerH: base.centerH + dh, centerV: base.centerV + dv };
        for (let slice = 0; slice < ints.frame.dims[axes.n]!; slice += 2) {
          const draw = (volume: typeof ints) => {
            const width = Math.round(w * dpr);
            const height = Math.round(h * dpr);
            const target = { data: new Uint8ClampedArray(width * height * 4), width, height };
            renderSliceCPU(target, { volume, axes, port, slice, window: { center: 300, width: 1700 }, pixelRatio: dpr });
            return target.data;
          };
          assert.deepEqual(draw(ints), draw(floats), `${view} slice ${slice} zoom ${zoom}`);
        }
      }
    }
  });

  it('blends an overlay sampled in world space with its colormap and opacity', () => {
    // A label map on its own grid: half resolution, one label voxel covering file voxels i 0..1, j 2..3, k 2.
    const labels = new Uint8Array(3 * 3 * 4);
    const ov: OverlayVolume = {
      id: 'm',
      name: 'mask',
      kind: 'label',
      dims: [3, 3, 4],
      affine: diag(-4, 4, 3, [-1, 1, 0]), // overlay voxel (a,b,c) centre = base voxel (2a + 0.5, 2b + 0.5, c)
      data: labels,
      opacity: 0.5,
    };
    labels[0 + 3 * (1 + 3 * 2)] = 2; // overlay voxel (0, 1, 2): base i 0..1, j 2..3
    const { px, axes, port, target } = render(volume, 'axial', 2, { overlay: ov });
    const lut = colormapLUT('labels');
    let tinted = 0;
    for (let y = 0; y < target.height; y++) {
      for (let x = 0; x < target.width; x++) {
        const d = screenToDisplay(volume.frame, axes, port, 2, x + 0.5, y + 0.5).map((v) => Math.floor(v + 0.5));
        if (!d.every((v, a) => v >= 0 && v < volume.frame.dims[a]!)) continue;
        const [i, j] = displayToFileIndex(volume.frame, d);
        const g = gray(code(i, j, 2));
        const [r] = px(x, y);
        if (i <= 1 && j >= 2 && j <= 3) {
          tinted++;
          assert.ok(Math.abs(r! - (g * 0.5 + lut[2 * 4]! * 0.5)) <= 1, `tinted pixel ${r}`);
        } else {
          assert.ok(Math.abs(r! - g) <= 1, `untinted pixel at voxel ${i},${j}`);
        }
      }
    }
    assert.ok(tinted > 0);
  });
});
