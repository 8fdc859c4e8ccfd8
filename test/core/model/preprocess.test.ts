import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linearTaps, preprocessVolume, resampleTaps, type PreprocessSpec } from '../../../src/core/model/preprocess';
import type { Mat4, NiftiVolume } from '../../../src/core/nifti/types';
import { requirePython, runPython } from '../../reference-python';
import { makeVolume } from './volumes';

const SCRIPT = join(__dirname, 'preprocess_reference.py');

const SPEC: PreprocessSpec = {
  inputSize: [6, 10, 12],
  windows: [
    { center: -600, width: 1500 },
    { center: 40, width: 400 },
    { center: 400, width: 1800 },
  ],
  mean: [0.5, 0.45, 0.4],
  std: [0.25, 0.2, 0.3],
};

/** A seeded CT-like volume: smooth structure spanning air to bone plus noise, so every window is exercised. */
function ctLike(dims: [number, number, number], seed: number): Int16Array {
  const [nx, ny, nz] = dims;
  const out = new Int16Array(nx * ny * nz);
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const base = 900 * Math.sin(i * 0.7 + k * 0.3) + 700 * Math.cos(j * 0.45 - k * 0.2) - 250;
        out[i + nx * (j + ny * k)] = Math.round(base + (rnd() - 0.5) * 300);
      }
  return out;
}

interface Reference {
  pixels: Float32Array;
  canonical_affine: Mat4;
  canonical_shape: number[];
}

/** Runs the Python reference once for every volume. */
function references(py: string, vols: NiftiVolume[], spec: PreprocessSpec): Reference[] {
  const dir = mkdtempSync(join(tmpdir(), 'ctlens-pre-'));
  try {
    const reqs = vols.map((vol, n) => {
      const raw = join(dir, `vox${n}.raw`);
      writeFileSync(raw, Buffer.from(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength));
      return {
        raw,
        out: join(dir, `out${n}.raw`),
        dtype: vol.data instanceof Int16Array ? 'int16' : 'float32',
        dims: vol.header.dims,
        affine: vol.header.affine,
        slope: vol.header.sclSlope,
        inter: vol.header.sclInter,
        input_size: spec.inputSize,
        windows: spec.windows.map((w) => [w.center, w.width]),
        mean: spec.mean,
        std: spec.std,
      };
    });
    const metas = JSON.parse(runPython(py, [SCRIPT], JSON.stringify(reqs))) as Omit<Reference, 'pixels'>[];
    return metas.map((meta, n) => {
      const bytes = readFileSync(reqs[n]!.out);
      return { pixels: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), ...meta };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('core/model/preprocess', () => {
  it('computes torch align_corners=False source taps', () => {
    // Downsampling 10 → 4: scale 2.5, centres at 0.75, 3.25, 5.75, 8.25.
    const t = linearTaps(10, 4);
    assert.deepEqual(Array.from(t.i0), [0, 3, 5, 8]);
    assert.deepEqual(Array.from(t.w1).map((x) => +x.toFixed(6)), [0.75, 0.25, 0.75, 0.25]);
    // Upsampling 3 → 6: first source position is negative and clamps to 0; the last neighbour clamps to n-1.
    const u = linearTaps(3, 6);
    assert.equal(u.i0[0], 0);
    assert.equal(u.w1[0], 0);
    assert.equal(u.i1[5], 2);
  });

  it('averages every source voxel of a bin where an axis shrinks (anti-aliasing), interpolates where it grows', () => {
    // 10 → 4: bins [0,3) [2,5) [5,8) [7,10), torch's adaptive_avg_pool1d.
    const t = resampleTaps(10, 4);
    assert.deepEqual(Array.from(t.start), [0, 3, 6, 9, 12]);
    assert.deepEqual(Array.from(t.index), [0, 1, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9]);
    assert.ok(Array.from(t.weight).every((w) => Math.abs(w - 1 / 3) < 1e-12));
    // 3 → 6 grows: two linear taps each, as linearTaps.
    const u = resampleTaps(3, 6);
    assert.equal(u.start[6], 12);
    assert.deepEqual([u.index[0], u.weight[0], u.weight[1]], [0, 1, 0]);
    // A one-slice dense plate among 64 slices → 16: averaged into its bin (point taps would skip slice 32).
    const dims: [number, number, number] = [4, 4, 64];
    const data = new Int16Array(4 * 4 * 64).fill(-850);
    data.fill(1150, 4 * 4 * 32, 4 * 4 * 33);
    const vol = makeVolume(dims, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data);
    const out = preprocessVolume(vol, { ...SPEC, inputSize: [16, 4, 4] });
    assert.equal(out.stats.maxHu, -850 + 2000 / 4);
  });

  const cases: { name: string; dims: [number, number, number]; affine: Mat4; slope?: number; inter?: number }[] = [
    {
      name: 'RAS, anisotropic, downsampled',
      dims: [24, 20, 9],
      affine: [[0.8, 0, 0, -10], [0, 0.8, 0, -8], [0, 0, 2.5, 30], [0, 0, 0, 1]],
    },
    {
      name: 'LPS (the DICOM habit)',
      dims: [16, 18, 11],
      affine: [[-1.2, 0, 0, 10], [0, -1.2, 0, 12], [0, 0, 3, -20], [0, 0, 0, 1]],
    },
    {
      name: 'LAS with scl_slope/inter, upsampled along S',
      dims: [14, 15, 4],
      affine: [[-0.957, 0, 0, 120], [0, 0.957, 0, -100], [0, 0, 1.5, 0], [0, 0, 0, 1]],
      slope: 0.5,
      inter: -200,
    },
    {
      name: 'permuted axes (file i along S, j along R, k along A), small rotation',
      dims: [8, 22, 13],
      affine: [[0.01, 1.1, 0, -5], [0, 0.02, -0.9, 4], [2.0, 0, 0.03, 1], [0, 0, 0, 1]],
    },
  ];

  const vols = cases.map((c) => makeVolume(c.dims, c.affine, ctLike(c.dims, 7), c.slope ?? 1, c.inter ?? 0));
  let refs: Reference[] | null = null;
  cases.forEach((c, n) => {
    it(`matches nibabel + torch: ${c.name} (max abs diff ≤ 1e-4)`, function () {
      const py = requirePython(this, 'torch, nibabel, numpy');
      refs ??= references(py, vols, SPEC);
      const ours = preprocessVolume(vols[n]!, SPEC);
      const ref = refs[n]!;
      assert.deepEqual(ours.shape, [1, 3, ...SPEC.inputSize]);
      const diff = maxAbsDiff(ours.pixelValues, ref.pixels);
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
      assert.deepEqual(ours.geometry.canonicalDims, ref.canonical_shape);
      for (let r = 0; r < 4; r++)
        for (let col = 0; col < 4; col++)
          assert.ok(Math.abs(ours.geometry.canonicalAffine[r]![col]! - ref.canonical_affine[r]![col]!) < 1e-9);
    });
  });

  it('reports intensity statistics of what the model sees', () => {
    const dims: [number, number, number] = [4, 4, 4];
    const data = new Int16Array(64).fill(-800); // all lung density
    data.fill(1000, 0, 16); // one dense slab
    const vol = makeVolume(dims, [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]], data);
    const out = preprocessVolume(vol, { ...SPEC, inputSize: [4, 4, 4] });
    assert.equal(out.stats.lungFraction + out.stats.boneFraction > 0.99, true);
    assert.equal(out.stats.maxHu, 1000);
    assert.equal(out.stats.minHu, -800);
    assert.deepEqual(out.stats.extentMm, [8, 8, 8]);
  });

  it('refuses NaN voxels and bad specs by name', () => {
    const data = new Float32Array(27).fill(0);
    data[13] = NaN;
    const vol = makeVolume([3, 3, 3], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data);
    assert.throws(() => preprocessVolume(vol, { ...SPEC, inputSize: [3, 3, 3] }), /^ModelError: BadInput: .*NaN/);
    assert.throws(() => preprocessVolume(vol, { ...SPEC, mean: [0.5] }), /BadConfig: hu_windows \(3\), mean \(1\)/);
  });

  it('honours an aborted signal', () => {
    const vol = makeVolume([8, 8, 8], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], new Int16Array(512));
    assert.throws(() => preprocessVolume(vol, SPEC, AbortSignal.abort()), /Aborted/);
  });
});
