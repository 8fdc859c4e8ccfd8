// The NIfTI-1 writer behind `ctlens convert`: what it writes, the reader reads back (affine, datatype, voxels);
// a rotation with zooms also goes into the qform, a sheared affine (gantry tilt) leaves the qform off. nibabel's
// reading of a converted series is checked in test/cli/dicom.test.ts.
import * as assert from 'node:assert/strict';
import { decodeNifti, encodeNifti1 } from '../../../src/core/nifti';
import type { Mat4 } from '../../../src/core/nifti/types';

function rotated(shear = 0): Mat4 {
  const t = 0.4;
  const c = Math.cos(t);
  const s = Math.sin(t);
  return [
    [-0.8 * c, 0, 1.5 * s + shear, 101.5],
    [0, 0.8, 0.3 * shear, -12.25],
    [0.8 * s, 0, 1.5 * c, -40],
    [0, 0, 0, 1],
  ];
}

describe('core/nifti/write: encodeNifti1', () => {
  for (const [name, affine, qform] of [
    ['rotation with zooms', rotated(), 1],
    ['sheared (gantry tilt)', rotated(0.3), 0],
  ] as const) {
    it(`${name}: read back the same, qform code ${qform}`, async () => {
      const data = Int16Array.from({ length: 4 * 3 * 2 }, (_, n) => n * 37 - 400);
      const bytes = encodeNifti1({ dims: [4, 3, 2], datatype: 'int16', data, affine: affine as Mat4, description: 'test' });
      const back = await decodeNifti(bytes);
      assert.equal(back.header.sformCode, 1);
      assert.equal(back.header.qformCode, qform);
      assert.equal(back.header.description, 'test');
      assert.deepEqual(back.header.dims, [4, 3, 2]);
      assert.deepEqual([...back.data], [...data]);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(back.header.affine[r]![c]! - affine[r]![c]!) < 1e-5);
    });
  }

  it('float32 HU keep their values', async () => {
    const data = Float32Array.from([-1024, -0.5, 0, 3071.25]);
    const back = await decodeNifti(encodeNifti1({ dims: [2, 2, 1], datatype: 'float32', data, affine: rotated() as Mat4 }));
    assert.equal(back.header.datatype, 'float32');
    assert.deepEqual([...back.data], [...data]);
  });
});
