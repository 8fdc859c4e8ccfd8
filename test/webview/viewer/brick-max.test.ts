import assert from 'node:assert/strict';
import { BRICK, BrickMax } from '../../../webview/viewer/brick-max';

describe('webview/viewer/brick-max', () => {
  it('keeps each 8³ brick\'s largest scaled value, slab by slab, and dilates by one brick', () => {
    const dims = [20, 9, 17] as const; // partial bricks on every axis
    const data = new Int16Array(dims[0] * dims[1] * dims[2]).fill(-1000);
    const at = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);
    data[at(19, 8, 16)] = 500; // last brick on every axis
    data[at(3, 2, 1)] = 40;
    const b = new BrickMax(dims);
    assert.deepEqual(b.counts, [3, 2, 3]);
    b.update(data, 0, 10, 2, 0); // slope 2: stored 40 → 80
    b.update(data, 10, 17, 2, 0);
    const own = new BrickMax(dims);
    own.update(data, 0, 17, 1, 0);
    const d = b.dilated();
    const idx = (x: number, y: number, z: number) => x + 3 * (y + 2 * z);
    assert.equal(d[idx(2, 1, 2)], 1000);
    assert.equal(d[idx(1, 0, 1)], 1000, 'a neighbour (diagonal) of the bright brick');
    assert.equal(d[idx(0, 0, 0)], 80);
    assert.equal(d[idx(0, 1, 1)], 80, 'neighbour of the brick holding 40 (×2)');
    assert.equal(d[idx(0, 0, 2)], -2000, 'two bricks from both: only air');
    assert.equal(BRICK, 8);
  });

  it('ignores NaN, and counts nothing where no slice arrived', () => {
    const b = new BrickMax([8, 8, 16]);
    const data = new Float32Array(8 * 8 * 16).fill(NaN);
    data[5] = 3;
    b.update(data, 0, 8, 1, 0);
    assert.deepEqual(Array.from(b.dilated()), [3, 3]);
    const c = new BrickMax([8, 8, 24]);
    c.update(new Float32Array(8 * 8 * 24), 16, 24, 1, 0);
    assert.deepEqual(Array.from(c.dilated()), [-Infinity, 0, 0]);
  });
});
