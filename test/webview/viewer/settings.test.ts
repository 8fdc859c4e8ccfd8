import assert from 'node:assert/strict';
import { DEFAULT_VIEWER_SETTINGS, type ViewerSettings } from '../../../src/shared/protocol';
import { applySettings, SettingsTarget, viewerOptions } from '../../../webview/viewer/settings';

/** A viewer that records the calls the settings make. */
function recorder(): SettingsTarget & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    setConvention: (c) => void calls.push(`convention ${c}`),
    setLayout: (l) => void calls.push(`layout ${l}`),
    setRenderer: (r) => void calls.push(`renderer ${r}`),
    setWindowPreset: (p, o) => void calls.push(`windowPreset ${p ?? 'none'}${o?.now ? ' now' : ''}`),
  };
}

describe('webview/viewer/settings', () => {
  const base: ViewerSettings = { ...DEFAULT_VIEWER_SETTINGS };

  it('opens a viewer with the settings of the init reply', () => {
    assert.deepEqual(viewerOptions({ convention: 'neurological', layout: '2x2', renderer: 'canvas2d', windowPreset: 'lung' }), {
      convention: 'neurological',
      layout: '2x2',
      renderer: 'canvas2d',
      windowPreset: 'lung',
    });
    // 'auto', absent or unknown: no preferred preset (the header's window, else soft tissue).
    assert.equal(viewerOptions({ ...base, windowPreset: 'auto' }).windowPreset, undefined);
    assert.equal(viewerOptions({ convention: 'radiological', layout: '1x3', renderer: 'auto' }).windowPreset, undefined);
    assert.equal(viewerOptions({ ...base, windowPreset: 'nonsense' as never }).windowPreset, undefined);
  });

  it('applies every setting that changed while the viewer is open: layout, renderer, window preset, convention', () => {
    const v = recorder();
    const next: ViewerSettings = { convention: 'neurological', layout: 'single', renderer: 'canvas2d', windowPreset: 'bone' };
    const changed = applySettings(v, base, next);
    assert.deepEqual(changed.sort(), ['convention', 'layout', 'renderer', 'windowPreset']);
    assert.deepEqual(v.calls.sort(), ['convention neurological', 'layout single', 'renderer canvas2d', 'windowPreset bone now']);
  });

  it('leaves alone what did not change (a layout or window the user chose since stays)', () => {
    const v = recorder();
    assert.deepEqual(applySettings(v, base, { ...base }), []);
    assert.deepEqual(v.calls, []);
    const changed = applySettings(v, base, { ...base, layout: '2x2' });
    assert.deepEqual(changed, ['layout']);
    assert.deepEqual(v.calls, ['layout 2x2']);
  });

  it('treats an absent window preset as auto, and going back to auto clears the preference at once', () => {
    const v = recorder();
    const noPreset: ViewerSettings = { convention: 'radiological', layout: '1x3', renderer: 'auto' };
    assert.deepEqual(applySettings(v, noPreset, { ...noPreset, windowPreset: 'auto' }), []);
    assert.deepEqual(applySettings(v, { ...base, windowPreset: 'lung' }, base), ['windowPreset']);
    assert.deepEqual(v.calls, ['windowPreset none now']);
  });

  it('switches the renderer either way', () => {
    const v = recorder();
    applySettings(v, base, { ...base, renderer: 'canvas2d' });
    applySettings(v, { ...base, renderer: 'canvas2d' }, { ...base, renderer: 'webgl2' });
    assert.deepEqual(v.calls, ['renderer canvas2d', 'renderer webgl2']);
  });
});
