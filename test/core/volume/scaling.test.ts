// Scaled values (stored * slope + inter) and stats, on hand-made volumes whose answers are known exactly.
import * as assert from 'node:assert/strict';
import { toFloat32, valueAt, volumeStats } from '../../../src/core/volume';

const vol = (data: ArrayLike<number> & { length: number }, dims: [number, number, number], sclSlope = 1, sclInter = 0) => ({
  header: { dims, sclSlope, sclInter },
  data: data as Int16Array,
});

describe('core/volume/scaling', () => {
  it('valueAt indexes i fastest, then j, then k, and scales', () => {
    const v = vol(Int16Array.from({ length: 24 }, (_, n) => n), [2,3, 4], 2, -1);
    assert.equal(valueAt(v, 1, 0, 0), 1 * 2 - 1);
    assert.equal(valueAt(v, 0, 1, 0), 2 * 2 - 1);
    assert.equal(valueAt(v, 0, 0, 1), 6 * 2 - 1);
    assert.equal(valueAt(v, 1, 2, 3), 23 * 2 - 1);
  });
  it('valueAt refuses voxels outside the volume', () => {
    const v = vol(new Int16Array(24), [2, 3, 4]);
    assert.throws(() => valueAt(v, 2, 0, 0), /outside the volume 2×3×4/);
    assert.throws(() => valueAt(v, 0, 0, -1), RangeError);
    assert.throws(() => valueAt(v, 0.5, 0, 0), RangeError);
  });
  it('stats are over scaled values; a negative slope swaps min and max', () => {
    const v = vol(Int16Array.from([-3, 0, 5, 10]), [4, 1, 1], -2, 100);
    assert.deepEqual(volumeStats(v), { min: 80, max: 106, mean: 100 - 2 * 3, nonFinite: 0 });
  });
  it('stats leave out NaN and Inf of float files and count them', () => {
    const v = vol(Float32Array.from([1, NaN, 3, Infinity, -Infinity, 5]), [6, 1, 1]);
    assert.deepEqual(volumeStats(v), { min: 1, max: 5, mean: 3, nonFinite: 3 });
    const none = volumeStats(vol(Float64Array.from([NaN]), [1, 1, 1]));
    assert.ok(Number.isNaN(none.mean) && none.nonFinite === 1);
  });
  it('toFloat32 scales every voxel', () => {
    assert.deepEqual(Array.from(toFloat32(Uint8Array.from([0, 1, 255]), 0.5, -10)), [-10, -9.5, 117.5]);
  });
});
