// Axis codes of arbitrary affines (rotations, flips, zooms, shears, degenerate) against nibabel's aff2axcodes.
import * as assert from 'node:assert/strict';
import { axisCodes, ioOrientation } from '../../../src/core/nifti/affine';
import { EXPECTED } from './fixtures';

describe('core/nifti/affine', () => {
  it(`axisCodes agrees with nibabel aff2axcodes on ${EXPECTED.orientation_cases.length} affines`, () => {
    const wrong = EXPECTED.orientation_cases
      .map((c) => ({ ...c, ours: axisCodes(c.affine) }))
      .filter((c) => c.ours !== c.axcodes);
    assert.deepEqual(wrong, []);
  });

  it('assigns each world axis at most once', () => {
    for (const c of EXPECTED.orientation_cases) {
      const used = ioOrientation(c.affine).filter((o) => o !== null).map((o) => o!.worldAxis);
      assert.equal(new Set(used).size, used.length);
    }
  });

  it('reads the usual CT orientations', () => {
    const diag = (x: number, y: number, z: number) => [[x, 0, 0, 0], [0, y, 0, 0], [0, 0, z, 0], [0, 0, 0, 1]];
    assert.equal(axisCodes(diag(-0.9, 0.9, 1.5)), 'LAS');
    assert.equal(axisCodes(diag(0.8, 0.8, 1)), 'RAS');
    assert.equal(axisCodes(diag(-1, -1, 1)), 'LPS');
  });
});
