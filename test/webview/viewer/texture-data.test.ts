import assert from 'node:assert/strict';
import { encodeVoxels, fromHalf, textureEncoding, toHalf } from '../../../webview/viewer/render/texture-data';

describe('webview/viewer/render/texture-data', () => {
  it('converts float32 to IEEE half floats, rounding to nearest even', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [1e-9, 0x0000],
      [2049, 0x6800], // tie → even (2048)
      [2051, 0x6802], // tie → even (2052)
      [-1024, 0xe400],
    ];
    for (const [v, h] of cases) assert.equal(toHalf(v), h, `${v} → 0x${toHalf(v).toString(16)} (expected 0x${h.toString(16)})`);
    assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  });

  it('stores every HU from air to 2048 exactly, and round-trips within half precision', () => {
    for (let v = -1024; v <= 2048; v++) assert.equal(fromHalf(toHalf(v)), v);
    for (const v of [0.1, 3.14159, -123.456, 40000.5]) assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= Math.abs(v) * 2 ** -11);
  });

  it('uses half floats where the scaled 8/16-bit range fits them, float32 otherwise', () => {
    assert.deepEqual(textureEncoding('int16', 1, 0), { format: 'r16f', offset: 0, gain: 1 });
    assert.deepEqual(textureEncoding('uint8', 1, 0), { format: 'r16f', offset: 0, gain: 1 });
    assert.deepEqual(textureEncoding('int16', 1, -1024), { format: 'r16f', offset: 0, gain: 1 });
    assert.equal(textureEncoding('uint16', 1, 0).format, 'r32f', '65535 exceeds the largest half float');
    assert.equal(textureEncoding('int16', 10, 0).format, 'r32f');
    assert.equal(textureEncoding('float32', 1, 0).format, 'r32f');
  });

  it('encodes int16 through its lookup table exactly as element-wise conversion would', () => {
    const src = Int16Array.from([-32768, -1024, -1, 0, 1, 40, 2986, 32767]);
    const enc = textureEncoding('int16', 1, 0);
    const out = new Uint16Array(src.length);
    encodeVoxels(src, 2, 7, out, enc, 1, 0);
    assert.deepEqual(Array.from(out), [0, 0, toHalf(-1), 0, toHalf(1), toHalf(40), toHalf(2986), 0]);
    const u8 = Uint8Array.from([0, 1, 255]);
    const o2 = new Uint16Array(3);
    encodeVoxels(u8, 0, 3, o2, textureEncoding('uint8', 2, -100), 2, -100);
    assert.deepEqual(Array.from(o2).map(fromHalf), [-100, -98, 410]);
    const f = Float32Array.from([1.5, -2]);
    const o3 = new Float32Array(2);
    encodeVoxels(f, 0, 2, o3, textureEncoding('float32', 2, 1), 2, 1);
    assert.deepEqual(Array.from(o3), [4, -3]);
  });

  it('writes a slab into a slab-sized scratch array when given where it lands', () => {
    const src = Int16Array.from([7, 8, -1024, 40, 9]);
    const enc = textureEncoding('int16', 1, 0);
    const out = new Uint16Array(2);
    encodeVoxels(src, 2, 4, out, enc, 1, 0, 0);
    assert.deepEqual(Array.from(out).map(fromHalf), [-1024, 40]);
    const f = new Float32Array(2);
    encodeVoxels(Float32Array.from([1, 2, 3]), 1, 3, f, textureEncoding('float32', 1, 0), 1, 0, 0);
    assert.deepEqual(Array.from(f), [2, 3]);
  });
});
