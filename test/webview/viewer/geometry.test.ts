import assert from 'node:assert/strict';
import { applyAffine, multiply4 } from '../../../src/core/nifti/affine';
import type { Mat4 } from '../../../src/core/nifti/types';
import {
  defaultViewPort,
  displayFrameOf,
  displayToFileIndex,
  displayToScreen,
  fileToDisplayIndex,
  ndcToFileTexMatrix,
  panBy,
  screenToDisplay,
  viewAxes,
  zoomAt,
} from '../../../webview/viewer/geometry';
import { diag, makeHeader } from './fixtures';

const close = (a: readonly number[], b: readonly number[], tol = 1e-9) =>
  a.forEach((v, n) => assert.ok(Math.abs(v - b[n]!) <= tol, `component ${n}: ${v} vs ${b[n]} (${a} vs ${b})`));

/** A rotation of `deg` degrees about the z axis applied to an affine's 3×3 part. */
function rotZ(affine: Mat4, deg: number): Mat4 {
  const c = Math.cos((deg * Math.PI) / 180);
  const s = Math.sin((deg * Math.PI) / 180);
  return multiply4([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], affine);
}

const ORIENTATIONS: [string, Mat4, [number, number, number]][] = [
  ['RAS', diag(0.8, 0.9, 2.5, [-10, 20, 30]), [5, 6, 4]],
  // The head CT's layout: i runs to the patient's left.
  ['LAS', diag(-0.957, 0.957, 1.5, [120, -100, -80]), [5, 6, 4]],
  // DICOM's habit: i to the left, j to posterior.
  ['LPS', diag(-0.7, -0.7, 3, [90, 90, 0]), [5, 6, 4]],
  // Permuted axes: file i runs along S, j along R, k along A (sagittal-ish acquisition).
  ['SRA', [[0, 0.9, 0, -5], [0, 0, 1.1, 3], [2, 0, 0, 7], [0, 0, 0, 1]], [4, 5, 6]],
  // Oblique: LPS rotated by 20° about z.
  ['oblique', rotZ(diag(-0.7, -0.7, 3), 20), [5, 6, 4]],
];

describe('webview/viewer/geometry', () => {
  describe('display frame (canonical RAS)', () => {
    for (const [name, affine, dims] of ORIENTATIONS) {
      it(`${name}: display axes point to R, A, S and index the right file voxels`, () => {
        const frame = displayFrameOf(makeHeader(dims, affine));
        for (let axis = 0; axis < 3; axis++) {
          // One display step along `axis` moves mostly along the world axis of the same number, in + direction.
          const step = applyAffine(frame.displayToWorld, [axis === 0 ? 1 : 0, axis === 1 ? 1 : 0, axis === 2 ? 1 : 0]);
          const origin = applyAffine(frame.displayToWorld, [0, 0, 0]);
          const delta = step.map((v, n) => v - origin[n]!);
          const dominant = delta.reduce((best, v, n) => (Math.abs(v) > Math.abs(delta[best]!) ? n : best), 0);
          assert.equal(dominant, axis, `${name}: display axis ${axis} moves along world axis ${dominant}`);
          assert.ok(delta[axis]! > 0, `${name}: display axis ${axis} runs towards +${'RAS'[axis]}`);
          assert.ok(Math.abs(frame.spacing[axis]! - Math.hypot(...delta)) < 1e-9, 'spacing is the physical step');
        }
        // Index maps and matrices agree, and round-trip.
        for (const d of [[0, 0, 0], [1, 2, 3], frame.dims.map((n) => n - 1)]) {
          const f = displayToFileIndex(frame, d);
          close(applyAffine(frame.displayToFile, d), f);
          assert.deepEqual(fileToDisplayIndex(frame, f), d);
          close(applyAffine(frame.displayToWorld, d), applyAffine(affine, f), 1e-9);
          f.forEach((v, a) => assert.ok(v >= 0 && v < dims[a]!, `file index ${f} inside ${dims}`));
        }
        close(applyAffine(multiply4(frame.worldToDisplay, frame.displayToWorld), [3, 1, 2]), [3, 1, 2], 1e-9);
      });
    }

    it('LAS: display R index runs opposite to file i; A and S follow j and k', () => {
      const frame = displayFrameOf(makeHeader([256, 256, 108], diag(-0.957, 0.957, 1.5)));
      assert.deepEqual(displayToFileIndex(frame, [0, 0, 0]), [255, 0, 0]);
      assert.deepEqual(displayToFileIndex(frame, [255, 10, 20]), [0, 10, 20]);
      assert.deepEqual(frame.dims, [256, 256, 108]);
    });
  });

  describe('slice views on screen', () => {
    const affine = diag(-0.5, 0.5, 2); // LAS, anisotropic
    const frame = displayFrameOf(makeHeader([40, 30, 10], affine));
    const worldAt = (view: 'axial' | 'coronal' | 'sagittal', x: number, y: number, convention: 'radiological' | 'neurological' = 'radiological') => {
      const axes = viewAxes(view, convention);
      const port = defaultViewPort(frame, axes, 400, 300);
      return applyAffine(frame.displayToWorld, screenToDisplay(frame, axes, port, 5, x, y));
    };

    it('radiological axial: screen right is the patient left (−x), screen up is anterior (+y)', () => {
      const a = worldAt('axial', 200, 150);
      const right = worldAt('axial', 260, 150);
      const up = worldAt('axial', 200, 90);
      assert.ok(right[0] < a[0], 'moving right goes towards the patient left');
      assert.ok(up[1] > a[1], 'moving up goes anterior');
      assert.deepEqual(viewAxes('axial', 'radiological').labels, { left: 'R', right: 'L', top: 'A', bottom: 'P' });
    });

    it('neurological axial flips left-right only', () => {
      assert.ok(worldAt('axial', 260, 150, 'neurological')[0] > worldAt('axial', 200, 150, 'neurological')[0]);
      assert.deepEqual(viewAxes('axial', 'neurological').labels, { left: 'L', right: 'R', top: 'A', bottom: 'P' });
    });

    it('coronal: superior up; sagittal: superior up, anterior on the left', () => {
      assert.ok(worldAt('coronal', 200, 90)[2] > worldAt('coronal', 200, 150)[2]);
      assert.ok(worldAt('sagittal', 200, 90)[2] > worldAt('sagittal', 200, 150)[2]);
      assert.ok(worldAt('sagittal', 260, 150)[1] < worldAt('sagittal', 200, 150)[1], 'moving right goes posterior');
      assert.deepEqual(viewAxes('sagittal', 'radiological').labels, { left: 'A', right: 'P', top: 'S', bottom: 'I' });
    });

    it('keeps physical aspect: equal screen distances are equal mm along both axes', () => {
      for (const view of ['axial', 'coronal', 'sagittal'] as const) {
        const o = worldAt(view, 100, 100);
        const dx = worldAt(view, 150, 100).map((v, n) => v - o[n]!);
        const dy = worldAt(view, 100, 150).map((v, n) => v - o[n]!);
        assert.ok(Math.abs(Math.hypot(...dx) - Math.hypot(...dy)) < 1e-9, `${view}: ${Math.hypot(...dx)} vs ${Math.hypot(...dy)} mm`);
      }
    });

    it('maps screen ↔ display both ways, zooms about the cursor and pans with the drag', () => {
      for (const view of ['axial', 'coronal', 'sagittal'] as const) {
        const axes = viewAxes(view, 'radiological');
        const port = defaultViewPort(frame, axes, 400, 300);
        const d = screenToDisplay(frame, axes, port, 3, 123, 77);
        close(displayToScreen(frame, axes, port, d), [123, 77], 1e-9);
        // The volume centre sits at the view centre.
        close(displayToScreen(frame, axes, port, frame.dims.map((n) => (n - 1) / 2)), [200, 150], 1e-9);
        const zoomed = zoomAt(frame, axes, port, 2.5, 123, 77);
        close(screenToDisplay(frame, axes, zoomed, 3, 123, 77), d, 1e-9);
        const panned = panBy(frame, axes, port, 30, -20);
        close(displayToScreen(frame, axes, panned, d), [153, 57], 1e-9);
      }
    });

    it('the WebGL quad matrix sends NDC corners where the screen mapping sends screen corners', () => {
      const axes = viewAxes('coronal', 'radiological');
      const port = { ...defaultViewPort(frame, axes, 400, 300), zoom: 1.7, centerH: 12.3 };
      const m = ndcToFileTexMatrix(frame, axes, port, 4);
      for (const [nx, ny, sx, sy] of [[-1, 1, 0, 0], [1, -1, 400, 300], [0, 0, 200, 150]] as const) {
        const file = displayToFileIndexContinuous(frame.displayToFile, screenToDisplay(frame, axes, port, 4, sx, sy));
        const tex = file.map((f, a) => (f + 0.5) / frame.fileDims[a]!);
        close(applyAffine(m, [nx, ny, 0]), tex, 1e-12);
      }
    });
  });
});

function displayToFileIndexContinuous(displayToFile: Mat4, d: readonly number[]) {
  return applyAffine(displayToFile, d);
}
