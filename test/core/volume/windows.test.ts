// Window presets as the viewer and the model use them (issue 2 list, DESIGN 3.1 model windows).
import * as assert from 'node:assert/strict';
import { WINDOW_PRESETS, applyWindow, windowPreset } from '../../../src/core/volume';

describe('core/volume/windows', () => {
  it('has the five presets with the usual levels and widths', () => {
    assert.deepEqual(
      WINDOW_PRESETS.map((p) => [p.id, p.center, p.width]),
      [
        ['lung', -600, 1500],
        ['mediastinum', 50, 350],
        ['soft-tissue', 40, 400],
        ['bone', 400, 1800],
        ['brain', 40, 80],
      ],
    );
    assert.throws(() => windowPreset('abdomen' as never), /unknown window preset/);
  });
  it('maps HU to [0, 1] with clipping, as the model preprocessing does', () => {
    const { center, width } = windowPreset('lung');
    assert.equal(applyWindow(-1350, center, width), 0);
    assert.equal(applyWindow(-600, center, width), 0.5);
    assert.equal(applyWindow(150, center, width), 1);
    assert.equal(applyWindow(-2000, center, width), 0);
    assert.equal(applyWindow(3000, center, width), 1);
    assert.equal(applyWindow(NaN, center, width), 0);
  });
  it('presets cannot be changed by a caller', () => {
    assert.throws(() => {
      (WINDOW_PRESETS[0] as { center: number }).center = 0;
    }, TypeError);
  });
});
