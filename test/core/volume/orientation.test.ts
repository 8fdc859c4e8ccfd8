// Canonical RAS reorientation against nibabel's as_closest_canonical on every fixture orientation.
import * as assert from 'node:assert/strict';
import { decodeNifti } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import { applyAffine } from '../../../src/core/nifti/affine';
import { canonicalToFile, canonicalTransform, toCanonical, valueAt } from '../../../src/core/volume';
import { EXPECTED, assertMatrixClose, fixtureBytes, sameValue } from '../nifti/fixtures';

describe('core/volume/orientation', () => {
  for (const [name, nib] of Object.entries(EXPECTED.fixtures)) {
    it(`${name} (${nib.orientation}) → RAS as nibabel`, async () => {
      const volume = await decodeNifti(fixtureBytes(name), { inflate: nodeInflate });
      const t = canonicalTransform(volume.header);
      assert.deepEqual(t.dims, nib.canonical.dims);
      assertMatrixClose(t.affine, nib.canonical.affine, 'canonical affine');
      assert.equal(t.identity, nib.orientation === 'RAS');
      const canon = toCanonical(volume);
      assert.deepEqual(canon.dims, nib.canonical.dims);
      assert.equal(canon.data.constructor, volume.data.constructor);
      const [cx, cy] = canon.dims;
      for (const v of nib.canonical.voxels) {
        const [i, j, k] = v.ijk;
        const stored = canon.data[i + cx * (j + cy * k)]!;
        assert.ok(sameValue(stored * canon.sclSlope + canon.sclInter, v.value), `canonical ${v.ijk}`);
        // The index mapping and the affines agree: same world point, same value.
        const f = canonicalToFile(t, volume.header.dims, v.ijk);
        assert.ok(sameValue(valueAt(volume, ...f), v.value), `file ${f} for canonical ${v.ijk}`);
        const a = applyAffine(t.affine, v.ijk);
        const b = applyAffine(volume.header.affine, f);
        a.forEach((x, n) => assert.ok(Math.abs(x - b[n]!) < 1e-6, `world ${a} vs ${b}`));
      }
    });
  }

  it('canonical axes run towards R, A and S', async () => {
    const volume = await decodeNifti(fixtureBytes('uint32.nii'), { inflate: nodeInflate }); // stored ASL
    const t = canonicalTransform(volume.header);
    assert.deepEqual(t.fileAxis, [2, 0, 1]);
    assert.deepEqual(t.flip, [true, false, false]);
    for (let a = 0; a < 3; a++) assert.ok(t.affine[a]![a]! > 0, `axis ${a} increases world ${'RAS'[a]}`);
  });

  it('a degenerate affine still gives a usable permutation', () => {
    const t = canonicalTransform({ affine: [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]], dims: [2, 3, 4], spacing: [1, 1, 2] });
    assert.deepEqual([...t.fileAxis].sort(), [0, 1, 2]);
    assert.deepEqual(t.dims, [2, 3, 4]);
  });
});
