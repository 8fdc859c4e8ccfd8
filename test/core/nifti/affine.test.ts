// Axis codes of arbitrary affines (rotations, flips, zooms, shears, degenerate) against nibabel's aff2axcodes.
import * as assert from 'node:assert/strict';
import { applyAffine, axisCodes, invertAffine, ioOrientation, linearDeterminant, multiply4 } from '../../../src/core/nifti/affine';
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

  it('inverts affines', () => {
    // LAS zooms with a shift, rotated by 33° about z: the inverse undoes both the linear part and the shift.
    const c = Math.cos((33 * Math.PI) / 180);
    const s = Math.sin((33 * Math.PI) / 180);
    const rot = [[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    const m = multiply4(rot, [[-0.7, 0, 0, 1], [0, 0.5, 0, 2], [0, 0, 3, 3], [0, 0, 0, 1]]);
    assert.ok(Math.abs(linearDeterminant(m) - -0.7 * 0.5 * 3) < 1e-12);
    const back = applyAffine(multiply4(invertAffine(m), m), [4, 5, 6]);
    back.forEach((v, n) => assert.ok(Math.abs(v - [4, 5, 6][n]!) <= 1e-12, `${back} vs 4,5,6`));
    assert.throws(() => invertAffine([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), /singular/);
  });
});
