import assert from 'node:assert/strict';
import { preprocessVolume, type PreprocessSpec } from '../../../src/core/model/preprocess';
import {
  dominantExpertOverlay,
  expertOverlay,
  routingGridAffine,
  routingShapeProblem,
  summarizeRouting,
} from '../../../src/core/model/routing';
import { applyAffine, invertAffine } from '../../../src/core/nifti/affine';
import type { Mat4 } from '../../../src/core/nifti/types';
import type { RoutingData } from '../../../src/shared/modelhost-protocol';
import { validateOverlay } from '../../../src/shared/overlay';
import { makeVolume } from './volumes';

const SPEC: PreprocessSpec = {
  inputSize: [8, 16, 16],
  windows: [{ center: 40, width: 400 }],
  mean: [0],
  std: [1],
};
const GRID: [number, number, number] = [8, 4, 4]; // one token per slice × 4×4-voxel patch

const AFFINES: Record<string, Mat4> = {
  LAS: [[-0.9, 0, 0, 60], [0, 0.9, 0, -40], [0, 0, 2.5, -10], [0, 0, 0, 1]],
  LPS: [[-1.1, 0, 0, 20], [0, -1.1, 0, 30], [0, 0, 3, 5], [0, 0, 0, 1]],
  permuted: [[0, 1.2, 0, -9], [0, 0, -0.8, 7], [2, 0, 0, 3], [0, 0, 0, 1]],
};

function routingFor(canonicalAffine: Mat4, canonicalDims: [number, number, number], probs?: Float32Array): RoutingData {
  const n = GRID[0] * GRID[1] * GRID[2];
  return {
    groupGates: new Float32Array([0.7, 0.3, 0.2, 0.8]),
    routerProbs: probs ?? new Float32Array(2 * n * 2 * 2),
    layers: [2, 3],
    groups: 2,
    experts: 2,
    topK: 1,
    grid: GRID,
    groupNames: ['report', 'vqa'],
    geometry: { canonicalAffine, canonicalDims },
  };
}

describe('core/model/routing', () => {
  for (const [name, affine] of Object.entries(AFFINES)) {
    it(`places each token's cell over the voxels it was computed from (${name})`, () => {
      const vol = makeVolume([20, 24, 12], affine, new Int16Array(20 * 24 * 12));
      const pre = preprocessVolume(vol, SPEC);
      const { canonicalAffine, canonicalDims } = pre.geometry;
      const toGrid = invertAffine(routingGridAffine(GRID, pre.geometry));
      const [D, H, W] = SPEC.inputSize;
      const [nR, nA, nS] = canonicalDims;
      // Every tensor voxel samples the canonical volume at ((w+½)·nR/W − ½, …); the token it belongs to is
      // (d, ⌊h/4⌋, ⌊w/4⌋). Through world space, that sample must land in that token's overlay cell.
      for (let d = 0; d < D; d++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) {
            const canon: [number, number, number] = [(w + 0.5) * (nR / W) - 0.5, (h + 0.5) * (nA / H) - 0.5, (d + 0.5) * (nS / D) - 0.5];
            const world = applyAffine(canonicalAffine, canon);
            const g = applyAffine(toGrid, world);
            assert.deepEqual(g.map((x) => Math.round(x) + 0), [Math.floor(w / 4), Math.floor(h / 4), d], `tensor voxel ${d},${h},${w}`);
            for (const x of g) assert.ok(Math.abs(x - Math.round(x)) < 0.5 - 1e-9);
          }
    });
  }

  it('shows a bright structure where it is in the file (LAS volume, router that fires on bright patches)', () => {
    const affine = AFFINES.LAS!;
    const dims: [number, number, number] = [20, 24, 12];
    const data = new Int16Array(20 * 24 * 12).fill(-1000);
    // A dense block at file voxels i 0..9, j 12..23, k 5..10 (whole tokens after the LAS flip).
    for (let k = 5; k < 11; k++) for (let j = 12; j < 24; j++) for (let i = 0; i < 10; i++) data[i + 20 * (j + 24 * k)] = 1000;
    const vol = makeVolume(dims, affine, data);
    const pre = preprocessVolume(vol, SPEC);
    const [D, H, W] = SPEC.inputSize;
    const n = GRID[0] * GRID[1] * GRID[2];
    // "Router": expert (layer 0, group 0, expert 0) probability = mean window value of the token's patch.
    const probs = new Float32Array(2 * n * 2 * 2);
    for (let d = 0; d < D; d++)
      for (let gh = 0; gh < 4; gh++)
        for (let gw = 0; gw < 4; gw++) {
          let s = 0;
          for (let h = gh * 4; h < gh * 4 + 4; h++) for (let w = gw * 4; w < gw * 4 + 4; w++) s += pre.pixelValues[(d * H + h) * W + w]!;
          const t = (d * 4 + gh) * 4 + gw;
          probs[(t * 2 + 0) * 2 + 0] = s / 16;
        }
    const overlay = expertOverlay(routingFor(pre.geometry.canonicalAffine, pre.geometry.canonicalDims, probs), 0, 0, 0);
    assert.equal(validateOverlay(overlay), null);
    const toOverlay = invertAffine(overlay.affine);
    const sample = (i: number, j: number, k: number) => {
      const o = applyAffine(toOverlay, applyAffine(affine, [i, j, k])).map(Math.round) as [number, number, number];
      return overlay.data[o[0] + overlay.dims[0] * (o[1] + overlay.dims[1] * o[2])]!;
    };
    // Centre of the block is hot, the opposite corner of the volume is cold.
    assert.ok(sample(5, 18, 8) > 0.9, `block centre ${sample(5, 18, 8)}`);
    assert.equal(sample(17, 2, 1), 0);
  });

  it('builds expert, gated and dominant-expert overlays and summarises the load', () => {
    const canonicalAffine: Mat4 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    const n = GRID[0] * GRID[1] * GRID[2];
    const probs = new Float32Array(2 * n * 2 * 2);
    // Layer 0: group 0 → expert 1 for every token with weight 1; group 1 → experts 0/1 at 0.5/0.5 on even tokens.
    for (let t = 0; t < n; t++) {
      probs[(t * 2 + 0) * 2 + 1] = 1;
      if (t % 2 === 0) {
        probs[(t * 2 + 1) * 2 + 0] = 0.5;
        probs[(t * 2 + 1) * 2 + 1] = 0.5;
      }
    }
    const r = routingFor(canonicalAffine, [16, 16, 8], probs);
    assert.equal(routingShapeProblem(r), null);
    assert.match(routingShapeProblem({ ...r, routerProbs: new Float32Array(3) }) ?? '', /router_probs has 3 values/);

    const e = expertOverlay(r, 0, 0, 1);
    assert.deepEqual(e.dims, [4, 4, 8]);
    assert.ok(e.data.every((v) => v === 1));
    const gated = expertOverlay(r, 0, 1, 0, { gated: true });
    assert.ok(Math.abs(gated.data[0]! - 0.3 * 0.5) < 1e-7);
    assert.equal(gated.data[1], 0);
    assert.equal(e.name, 'Layer 2 · report · expert 1');

    const dom = dominantExpertOverlay(r, 0);
    assert.equal(dom.kind, 'label');
    assert.ok(dom.data.every((v) => v === 2)); // group 0 expert 1 → label 1 + 0·2 + 1

    const s = summarizeRouting(r);
    assert.deepEqual(s.layers.map((l) => l.chosenGroupName), ['report', 'vqa']);
    const load = (g: number, x: number) => s.experts.find((l) => l.layer === 2 && l.group === g && l.expert === x)!;
    assert.equal(load(0, 1).tokens, n);
    assert.equal(load(0, 0).tokens, 0);
    assert.equal(load(1, 0).tokens, n / 2);
    assert.ok(Math.abs(load(1, 0).meanProb - 0.25) < 1e-7);
    assert.throws(() => expertOverlay(r, 2, 0, 0), /layer index 2 out of 0..1/);
  });
});
