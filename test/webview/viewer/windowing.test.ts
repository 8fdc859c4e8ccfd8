import assert from 'node:assert/strict';
import { WINDOW_PRESETS as CORE_WINDOW_PRESETS } from '../../../src/core/volume/windows';
import { dragWindow, initialWindow, presetOf, WINDOW_PRESETS, windowGray } from '../../../webview/viewer/windowing';
import { diag, makeVolume } from './fixtures';

describe('webview/viewer/windowing', () => {
  it('offers core’s window presets (their HU table is asserted in test/core/volume/windows.test.ts) and names a window by its preset', () => {
    assert.equal(WINDOW_PRESETS, CORE_WINDOW_PRESETS, 'the viewer offers core’s table itself, not a copy');
    for (const p of WINDOW_PRESETS) assert.equal(presetOf(p), p.id);
    assert.equal(presetOf({ center: 400, width: 1800 }), 'bone');
    assert.equal(presetOf({ center: 401, width: 1800 }), null);
  });

  it('maps values through a window to 8-bit gray', () => {
    const w = { center: 40, width: 400 };
    assert.equal(windowGray(-160, w), 0);
    assert.equal(windowGray(240, w), 255);
    assert.equal(windowGray(40, w), 128);
    assert.equal(windowGray(-1000, w), 0);
    assert.equal(windowGray(NaN, w), 0);
  });

  it('right-drag: right widens, left narrows, down raises the level; no drag, no change', () => {
    const start = { center: 40, width: 400 };
    assert.deepEqual(dragWindow(start, 0, 0), start);
    assert.ok(dragWindow(start, 100, 0).width > 400);
    assert.ok(dragWindow(start, -100, 0).width < 400);
    assert.ok(dragWindow(start, 0, 50).center > 40);
    assert.ok(dragWindow(start, -100000, 0).width > 0, 'width never reaches zero');
  });

  it('starts CT at the soft-tissue preset, honours cal_min/cal_max, else the data range', () => {
    const ct = makeVolume([4, 4, 2], diag(1, 1, 1), (i) => (i === 0 ? -1024 : 50 * i));
    assert.deepEqual(initialWindow(ct), { window: { center: 40, width: 400 }, preset: 'soft-tissue' });
    const cal = makeVolume([4, 4, 2], diag(1, 1, 1), (i) => i, { header: { calMin: 0, calMax: 10 } });
    assert.deepEqual(initialWindow(cal).window, { center: 5, width: 10 });
    const mr = makeVolume([4, 4, 2], diag(1, 1, 1), (i, j) => 100 + i + j);
    assert.deepEqual(initialWindow(mr), { window: { center: 103, width: 6 }, preset: null });
  });

  it('opens CT with the preferred preset (ctlens.viewer.windowPreset), but not other images', () => {
    const ct = makeVolume([4, 4, 2], diag(1, 1, 1), (i) => (i === 0 ? -1024 : 50 * i));
    assert.ok(ct.looksLikeCT);
    assert.deepEqual(initialWindow(ct, 'lung'), { window: { center: -600, width: 1500 }, preset: 'lung' });
    assert.deepEqual(initialWindow(ct, undefined), initialWindow(ct));
    const mr = makeVolume([4, 4, 2], diag(1, 1, 1), (i) => i);
    assert.equal(initialWindow(mr, 'lung').preset, null);
  });
});
