import assert from 'node:assert/strict';
import { keyAction } from '../../../../webview/viewer/interaction/keyboard';
import { dragMode } from '../../../../webview/viewer/interaction/pointer';
import { wheelAction } from '../../../../webview/viewer/interaction/wheel';

describe('webview/viewer/interaction (what input does, apart from the DOM)', () => {
  it('keys: arrows and Page Up/Down step the slice (shift: ten), + = - zoom, others stay the page’s', () => {
    for (const key of ['ArrowUp', 'ArrowRight', 'PageUp']) assert.deepEqual(keyAction(key, false), { kind: 'step', delta: 1 });
    for (const key of ['ArrowDown', 'ArrowLeft', 'PageDown']) assert.deepEqual(keyAction(key, true), { kind: 'step', delta: -10 });
    assert.deepEqual(keyAction('+', false), { kind: 'zoom', factor: 1.25 });
    assert.deepEqual(keyAction('=', false), { kind: 'zoom', factor: 1.25 });
    assert.deepEqual(keyAction('-', false), { kind: 'zoom', factor: 0.8 });
    assert.equal(keyAction('a', false), null);
    assert.equal(keyAction('Enter', true), null);
  });

  it('wheel: a line-mode notch steps one slice, scrolling up is +1; ctrl or cmd zooms about the pointer', () => {
    assert.deepEqual(wheelAction({ deltaY: -3, deltaMode: 1, ctrlKey: false, metaKey: false }, 7), { steps: [1], accumulated: 7 });
    assert.deepEqual(wheelAction({ deltaY: 3, deltaMode: 1, ctrlKey: false, metaKey: false }, 0), { steps: [-1], accumulated: 0 });
    const zoomIn = wheelAction({ deltaY: -100, deltaMode: 0, ctrlKey: true, metaKey: false }, 0);
    assert.ok('zoom' in zoomIn && Math.abs(zoomIn.zoom - Math.exp(0.2)) < 1e-12);
    const zoomOut = wheelAction({ deltaY: 100, deltaMode: 0, ctrlKey: false, metaKey: true }, 0);
    assert.ok('zoom' in zoomOut && zoomOut.zoom < 1);
  });

  it('wheel: a trackpad steps once per 50 px and carries the rest to the next event', () => {
    const px = (deltaY: number, accumulated: number) => wheelAction({ deltaY, deltaMode: 0, ctrlKey: false, metaKey: false }, accumulated);
    assert.deepEqual(px(30, 0), { steps: [], accumulated: 30 });
    assert.deepEqual(px(30, 30), { steps: [-1], accumulated: 10 });
    assert.deepEqual(px(-125, 0), { steps: [1, 1], accumulated: -25 });
  });

  it('pointer: right drag windows, middle or shift drag pans, left drag moves the crosshair', () => {
    assert.equal(dragMode(0, false), 'crosshair');
    assert.equal(dragMode(0, true), 'pan');
    assert.equal(dragMode(1, false), 'pan');
    assert.equal(dragMode(2, true), 'window');
    assert.equal(dragMode(3, false), null);
  });
});
