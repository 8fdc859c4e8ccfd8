import assert from 'node:assert/strict';
import { applyAffine } from '../../../src/core/nifti/affine';
import type { NiftiVolume } from '../../../src/core/nifti/types';
import { defaultOverlayStyle, overlayFromVolume, OverlayVolume, validateOverlay } from '../../../src/shared/overlay';
import { displayFrameOf, fileToDisplayIndex } from '../../../webview/viewer/geometry';
import { colormapLUT } from '../../../webview/common/colormap';
import {
  colormapIndex,
  createOverlayLayer,
  overlayLegend,
  sampleOverlayAtDisplay,
} from '../../../webview/viewer/overlay-layer';
import { diag, makeHeader } from './fixtures';

describe('webview/viewer/overlay-layer', () => {
  // Base: LAS 10×8×6, 1×1×2 mm. Overlay: a coarse RAS grid 5×4×3 of 2×2×4 mm whose voxel (a,b,c) covers world
  // x ∈ [2a − 1 + ox, …) etc.: different orientation, resolution and origin from the base.
  const baseAffine = diag(-1, 1, 2, [9, 0, 0]); // x = 9 − i, y = j, z = 2k
  const frame = displayFrameOf(makeHeader([10, 8, 6], baseAffine));
  const ovAffine = diag(2, 2, 4, [0.5, 0.5, 1]); // centre of overlay voxel (a,b,c) = (0.5 + 2a, 0.5 + 2b, 1 + 4c)
  const values = new Float32Array(5 * 4 * 3).map((_, n) => n);
  const scalar: OverlayVolume = { id: 's', name: 'scalar', kind: 'scalar', dims: [5, 4, 3], affine: ovAffine, data: values };

  it('samples at the world position of each displayed voxel, through the overlay affine', () => {
    const layer = createOverlayLayer(frame, { ...scalar, kind: 'label', data: Uint8Array.from(values) });
    for (const [i, j, k] of [[9, 0, 0], [0, 7, 5], [4, 3, 2], [7, 6, 1]] as const) {
      const world = applyAffine(baseAffine, [i, j, k]);
      // The overlay voxel whose cell contains the world point (nearest centre).
      const ov = [(world[0] - 0.5) / 2, (world[1] - 0.5) / 2, (world[2] - 1) / 4].map((v) => Math.round(v));
      const expected = ov[0]! + 5 * (ov[1]! + 4 * ov[2]!) + 0; // + 0 turns −0 into 0
      assert.equal(sampleOverlayAtDisplay(layer, fileToDisplayIndex(frame, [i, j, k])), expected, `base voxel ${i},${j},${k} → overlay ${ov}`);
    }
  });

  it('interpolates scalar maps trilinearly (clamped at the edges) and is NaN outside the grid', () => {
    const layer = createOverlayLayer(frame, scalar);
    // World (1.5, 0.5, 1) is halfway between overlay voxels (0,0,0) and (1,0,0): values 0 and 1.
    const d = applyAffine(frame.worldToDisplay, [1.5, 0.5, 1]);
    assert.ok(Math.abs(sampleOverlayAtDisplay(layer, d) - 0.5) < 1e-9);
    // Just inside the first voxel's outer half: clamped to voxel 0's value.
    assert.ok(Math.abs(sampleOverlayAtDisplay(layer, applyAffine(frame.worldToDisplay, [-0.3, 0.5, 1]))) < 1e-9);
    assert.ok(Number.isNaN(sampleOverlayAtDisplay(layer, applyAffine(frame.worldToDisplay, [-0.6, 0.5, 1]))));
    assert.ok(Number.isNaN(sampleOverlayAtDisplay(layer, applyAffine(frame.worldToDisplay, [3, 3, 13]))));
  });

  it('colours by threshold, range and colormap', () => {
    const style = { ...defaultOverlayStyle(scalar), threshold: 10 };
    assert.deepEqual(style.range, [0, 59]);
    assert.equal(style.colormap, 'hot');
    assert.equal(colormapIndex(10, style), -1, 'at the threshold: transparent');
    assert.equal(colormapIndex(NaN, style), -1);
    assert.equal(colormapIndex(59, style), 255);
    assert.equal(colormapIndex(1000, style), 255);
    assert.equal(colormapIndex(29.5, style), 128);
    const labels = { colormap: 'labels' as const, opacity: 0.5, threshold: 0, range: [0, 1] as [number, number] };
    assert.equal(colormapIndex(0, labels), -1);
    assert.equal(colormapIndex(3, labels), 3);
    const hot = colormapLUT('hot');
    assert.deepEqual(Array.from(hot.subarray(0, 4)), [0, 0, 0, 255]);
    assert.deepEqual(Array.from(hot.subarray(255 * 4)), [255, 255, 255, 255]);
    const viridis = colormapLUT('viridis');
    assert.deepEqual(Array.from(viridis.subarray(0, 3)), [68, 1, 84]);
    assert.deepEqual(Array.from(viridis.subarray(255 * 4, 255 * 4 + 3)), [253, 231, 37]);
    const l = colormapLUT('labels');
    assert.notDeepEqual(Array.from(l.subarray(4, 7)), Array.from(l.subarray(8, 11)), 'labels 1 and 2 differ');
  });

  it('legend lists the labels present, or the colour bar range', () => {
    const data = new Uint8Array(5 * 4 * 3);
    data[3] = 2;
    data[7] = 5;
    const layer = createOverlayLayer(frame, { ...scalar, kind: 'label', data });
    assert.deepEqual(overlayLegend(layer), { kind: 'labels', labels: [2, 5] });
    assert.deepEqual(overlayLegend(createOverlayLayer(frame, { ...scalar, range: [1, 9] })), { kind: 'bar', range: [1, 9] });
  });

  it('overlayFromVolume: whole values in 0..255 become a label map, anything else a scalar map of scaled values', () => {
    const mask: NiftiVolume = { header: makeHeader([2, 2, 1], diag(1, 1, 1), 'int16'), data: Int16Array.from([0, 1, 1, 3]) };
    const m = overlayFromVolume(mask, 'id1', 'mask.nii.gz');
    assert.equal(m.kind, 'label');
    assert.ok(m.data instanceof Uint8Array);
    assert.deepEqual(Array.from(m.data), [0, 1, 1, 3]);
    const scaled: NiftiVolume = {
      header: makeHeader([2, 2, 1], diag(1, 1, 1), 'int16', { sclSlope: 0.5, sclInter: 0 }),
      data: Int16Array.from([0, 1, 2, 3]),
    };
    const s = overlayFromVolume(scaled, 'id2', 'p.nii');
    assert.equal(s.kind, 'scalar');
    assert.deepEqual(Array.from(s.data), [0, 0.5, 1, 1.5]);
    const negative: NiftiVolume = { header: makeHeader([1, 1, 2], diag(1, 1, 1)), data: Int16Array.from([-1, 4]) };
    assert.equal(overlayFromVolume(negative, 'i', 'n').kind, 'scalar');
  });

  it('validateOverlay names what is wrong', () => {
    assert.equal(validateOverlay(scalar), null);
    assert.match(validateOverlay({ ...scalar, dims: [5, 4, 2] })!, /60 values for dims 5×4×2 \(40 expected\)/);
    assert.match(validateOverlay({ ...scalar, affine: diag(1, 0, 1) })!, /singular/);
    assert.match(validateOverlay({ ...scalar, affine: [[1, 0, 0, NaN], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] })!, /finite/);
    assert.match(validateOverlay({ ...scalar, kind: 'label' })!, /Uint8Array/);
    assert.match(validateOverlay({ ...scalar, dims: [0, 4, 3] })!, /positive integers/);
  });
});
