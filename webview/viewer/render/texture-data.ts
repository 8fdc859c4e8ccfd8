// How voxel values go into the WebGL 3D texture. 8- and 16-bit files whose scaled values fit the half-float range
// (nearly every CT: int16 HU) become half floats (R16F: filterable in core WebGL2, 2 bytes per voxel like the file
// itself); every integer up to ±2048 is exact there (air to dense bone), larger ones are rounded to half precision,
// which is below what a window shows. Everything else (uint16 up to 65535, scaled or 32/64-bit data) becomes R32F
// with the scaled values, exact. The shader recovers value = texel / gain + offset (gain 1, offset 0 for both today;
// the uniforms stay so a packed encoding can be added without touching the shaders). The readout never reads the
// texture: it reads the file array.

import type { NiftiDatatypeName, VoxelArray } from '../../../src/core/nifti/types';

export interface TextureEncoding {
  format: 'r16f' | 'r32f';
  offset: number;
  gain: number;
}

const STORED_RANGE: Partial<Record<NiftiDatatypeName, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
};

/** Largest finite half float. */
const HALF_MAX = 65504;

export function textureEncoding(datatype: NiftiDatatypeName, slope: number, inter: number): TextureEncoding {
  const stored = STORED_RANGE[datatype];
  if (stored) {
    const a = stored[0] * slope + inter;
    const b = stored[1] * slope + inter;
    if (Math.max(Math.abs(a), Math.abs(b)) <= HALF_MAX) return { format: 'r16f', offset: 0, gain: 1 };
  }
  return { format: 'r32f', offset: 0, gain: 1 };
}

// ------------------------------------------------------------------ float32 → IEEE 754 half, round to nearest even

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent, which is still correct
  return sign | h;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Converts voxels [begin, end) of `src` into `dst`, voxel `begin` landing at `dst[at]` (default: the same
 * position, for a full-size `dst`; the renderer passes 0 and a slab-sized scratch array).
 */
export function encodeVoxels(
  src: VoxelArray,
  begin: number,
  end: number,
  dst: Uint16Array | Float32Array,
  enc: TextureEncoding,
  slope: number,
  inter: number,
  at = begin,
): void {
  const shift = at - begin;
  if (enc.format === 'r32f') {
    const out = dst as Float32Array;
    if (slope === 1 && inter === 0) {
      out.set(src.subarray(begin, end) as never, at);
      return;
    }
    for (let n = begin; n < end; n++) out[n + shift] = src[n]! * slope + inter;
    return;
  }
  const out = dst as Uint16Array;
  // 8/16-bit input: a table over every stored value, so the conversion is one lookup per voxel.
  const lut = halfTable(src, enc, slope, inter);
  const bias = src instanceof Int16Array ? 32768 : src instanceof Int8Array ? 128 : 0;
  for (let n = begin; n < end; n++) out[n + shift] = lut[src[n]! + bias]!;
}

const tableCache = new WeakMap<TextureEncoding, Map<string, Uint16Array>>();

function halfTable(src: VoxelArray, enc: TextureEncoding, slope: number, inter: number): Uint16Array {
  const kind = src.constructor.name;
  let byKind = tableCache.get(enc);
  if (!byKind) tableCache.set(enc, (byKind = new Map()));
  const key = `${kind}:${slope}:${inter}`;
  let table = byKind.get(key);
  if (table) return table;
  const [first, count] =
    src instanceof Int16Array ? [-32768, 65536] : src instanceof Uint16Array ? [0, 65536] : src instanceof Int8Array ? [-128, 256] : [0, 256];
  table = new Uint16Array(count);
  for (let n = 0; n < count; n++) table[n] = toHalf(((first + n) * slope + inter - enc.offset) * enc.gain);
  byKind.set(key, table);
  return table;
}

export function allocateTexture(enc: TextureEncoding, length: number): Uint16Array | Float32Array {
  return enc.format === 'r16f' ? new Uint16Array(length) : new Float32Array(length);
}
