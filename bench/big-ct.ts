// The generated 512×512×400 int16 CT-like .nii.gz (~200 MB raw) the NIfTI and viewer benchmarks share. Made at
// bench time into .cache/bench/ (git-ignored), never committed; the name carries a version so a change to the
// generator makes a new file instead of silently reusing an old one.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const CACHE = join(__dirname, '..', '.cache', 'bench');
export const BIG_CT = join(CACHE, 'ct_512x512x400_int16_v1.nii.gz');

/**
 * A CT-like chest volume: air outside an elliptic body, fat rim, soft tissue, two lungs, spine and ribs, with
 * Gaussian-like noise of a realistic size so gzip compresses it about as much as real CT (the real head CT
 * compresses to 55 %).
 */
export function generateBigCt(path: string): void {
  const [nx, ny, nz] = [512, 512, 400];
  const data = new Int16Array(nx * ny * nz);
  let s = 0x9e3779b9 | 0;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  // A table of approximately normal deviates (sum of four uniforms), indexed at random: fast and deterministic.
  const noise = new Float32Array(1 << 20);
  for (let n = 0; n < noise.length; n++) noise[n] = (rnd() + rnd() + rnd() + rnd() - 2) * 1.732;
  const mask = noise.length - 1;
  const xs = Float64Array.from({ length: nx }, (_, i) => (i - nx / 2) / (nx / 2));
  for (let k = 0; k < nz; k++) {
    const z = (k - nz / 2) / (nz / 2);
    const ribs = Math.floor((z + 1) * 7) % 2 === 0;
    for (let j = 0; j < ny; j++) {
      const y = (j - ny / 2) / (ny / 2);
      const yb = (y / 0.6) * (y / 0.6);
      const yl = ((y + 0.05) / 0.4) * ((y + 0.05) / 0.4) + (z / 1.1) * (z / 1.1);
      const ys = ((y - 0.42) / 0.08) * ((y - 0.42) / 0.08);
      let o = (k * ny + j) * nx;
      for (let i = 0; i < nx; i++, o++) {
        const x = xs[i]!;
        const body = (x / 0.85) * (x / 0.85) + yb;
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const r = noise[s & mask]!;
        let v: number;
        if (body > 1) v = -1000 + r * 8;
        else if ((x / 0.08) * (x / 0.08) + ys < 1 || (ribs && body > 0.86 && body < 0.92)) v = 700 + r * 60;
        else if (((x + 0.4) / 0.3) * ((x + 0.4) / 0.3) + yl < 1 || ((x - 0.4) / 0.3) * ((x - 0.4) / 0.3) + yl < 1) v = -850 + r * 40;
        else if (body > 0.8) v = -100 + r * 20;
        else v = 40 + r * 20;
        data[o] = Math.round(v);
      }
    }
  }
  const header = new Uint8Array(352);
  const h = new DataView(header.buffer);
  h.setInt32(0, 348, true);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, a) => h.setInt16(40 + 2 * a, d, true));
  h.setInt16(70, 4, true); // int16
  h.setInt16(72, 16, true);
  [1, 0.7, 0.7, 1.0].forEach((p, a) => h.setFloat32(76 + 4 * a, p, true));
  h.setFloat32(108, 352, true);
  h.setFloat32(112, 1, true);
  h.setInt16(254, 1, true); // sform_code scanner: LPS → RAS+ affine with x and y flipped
  [-0.7, 0, 0, 179.2].forEach((v, c) => h.setFloat32(280 + 4 * c, v, true));
  [0, -0.7, 0, 179.2].forEach((v, c) => h.setFloat32(296 + 4 * c, v, true));
  [0, 0, 1, -200].forEach((v, c) => h.setFloat32(312 + 4 * c, v, true));
  header.set(new TextEncoder().encode('n+1\0'), 344);
  const whole = new Uint8Array(header.length + data.byteLength);
  whole.set(header);
  whole.set(new Uint8Array(data.buffer), header.length);
  const gz = gzipSync(whole, { level: 6 });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(`${path}.tmp`, gz);
  renameSync(`${path}.tmp`, path);
}
