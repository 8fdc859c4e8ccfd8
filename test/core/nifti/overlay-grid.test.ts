// `CT Lens: Save Heatmap as NIfTI`: a routing heatmap on its coarse token grid, resampled onto the CT's own grid and
// affine. Round trip through nibabel: the saved file has the CT's dims and affine, and at every world position nibabel
// gives (affine · voxel) its value is the one the viewer draws there (webview/viewer/overlay-layer.ts, sampled at the
// same world point through the heatmap's own affine) — for a scalar map (trilinear) and a label map (nearest).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyAffine, invertAffine } from '../../../src/core/nifti/affine';
import { overlayToNifti } from '../../../src/core/nifti/overlay-grid';
import type { Mat4 } from '../../../src/core/nifti/types';
import type { OverlayVolume } from '../../../src/shared/overlay';
import { sampleOverlayVoxel, type OverlayLayer } from '../../../webview/viewer/overlay-layer';

const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';
const hasNibabel = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import nibabel, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// A CT grid: LPS→RAS-like flips, anisotropic voxels, a small rotation about z.
const t = 0.2;
const CT: Mat4 = [
  [-0.7 * Math.cos(t), 0.7 * Math.sin(t), 0, 90],
  [0.7 * Math.sin(t), 0.7 * Math.cos(t), 0, -110],
  [0, 0, 2.5, -30],
  [0, 0, 0, 1],
];
const CT_DIMS: [number, number, number] = [40, 36, 14];
// A token grid over part of it (8×6×3 tokens of about 3.5 × 4.2 × 10 mm), its own affine.
const TOKENS: Mat4 = [
  [-3.5 * Math.cos(t), 4.2 * Math.sin(t), 0, 88],
  [3.5 * Math.sin(t), 4.2 * Math.cos(t), 0, -105],
  [0, 0, 10, -25],
  [0, 0, 0, 1],
];

function heatmap(kind: 'scalar' | 'label'): OverlayVolume {
  const dims: [number, number, number] = [8, 6, 3];
  const n = dims[0] * dims[1] * dims[2];
  const data = kind === 'scalar' ? Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 97) / 97) : Uint8Array.from({ length: n }, (_, i) => 1 + ((i * 31) % 5));
  return { id: 'run/heat', name: 'heat', kind, dims, affine: TOKENS, data };
}

const READ = `
import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
d = np.asarray(img.dataobj)
print(json.dumps({"shape": list(d.shape), "dtype": str(d.dtype), "affine": img.affine.tolist(),
                  "values": d.ravel(order="F").astype(float).tolist()}))
`;

describe('core/nifti/overlay-grid: a heatmap saved on the CT grid, read back by nibabel', function () {
  before(function () {
    if (!hasNibabel) {
      if (process.env.CTLENS_REQUIRE_PYTHON === '1') throw new Error(`nibabel is missing for ${PYTHON}`);
      this.skip();
    }
  });

  for (const kind of ['scalar', 'label'] as const) {
    it(`${kind} map: the CT's dims and affine, the viewer's value at every world point`, () => {
      const overlay = heatmap(kind);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlens-heat-'));
      try {
        const file = path.join(dir, 'heat.nii');
        fs.writeFileSync(file, overlayToNifti(overlay, CT_DIMS, CT, 'ctlens routing'));
        const got = JSON.parse(execFileSync(PYTHON, ['-c', READ, file], { encoding: 'utf8' })) as {
          shape: number[];
          dtype: string;
          affine: number[][];
          values: number[];
        };
        assert.deepEqual(got.shape, CT_DIMS);
        assert.equal(got.dtype, kind === 'scalar' ? 'float32' : 'uint8');
        for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(got.affine[r]![c]! - CT[r]![c]!) < 1e-4, `affine[${r}][${c}]`);
        const layer = { overlay, interpolate: kind === 'scalar' } as unknown as OverlayLayer;
        const toTokens = invertAffine(TOKENS);
        let inside = 0;
        let n = 0;
        for (let k = 0; k < CT_DIMS[2]; k++) {
          for (let j = 0; j < CT_DIMS[1]; j++) {
            for (let i = 0; i < CT_DIMS[0]; i++, n++) {
              const world = applyAffine(got.affine, [i, j, k]); // nibabel's world position of this voxel
              const drawn = sampleOverlayVoxel(layer, applyAffine(toTokens, world));
              const expected = Number.isNaN(drawn) ? 0 : drawn;
              if (!Number.isNaN(drawn)) inside++;
              assert.ok(Math.abs(got.values[n]! - expected) < 1e-4, `voxel ${i},${j},${k}: ${got.values[n]} vs drawn ${expected}`);
            }
          }
        }
        // The map covers part of the CT, and part of the CT lies outside it.
        assert.ok(inside > 1000 && inside < n, `${inside} of ${n} voxels inside the token grid`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
