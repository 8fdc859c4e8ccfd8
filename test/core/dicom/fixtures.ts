// DICOM test series, written at test time by test/fixtures/dicom/make_series.py (pydicom + gdcm) from the real
// head CT into a temporary folder, once per mocha process; nothing big is committed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DicomFile } from '../../../src/core/dicom';
import { REPO, requirePython, runPython } from '../../reference-python';

export const MAKE_SERIES = join(REPO, 'test', 'fixtures', 'dicom', 'make_series.py');
export const HEAD_CT = join(REPO, 'media', 'samples', 'head_ct_invesalius.nii.gz');
export const PY_MODULES = 'pydicom, gdcm, nibabel, numpy';

export interface Truth {
  dims: [number, number, number];
  affine: number[][];
  series_uid: string;
  files: string[];
  keep: number[];
  source_offset: [number, number, number];
  second?: Truth;
}

let root: string | null = null;
const made = new Set<string>();

/** The folder of a variant (written on first use), its files and its truth.json. */
export function series(ctx: Mocha.Context, variant: string): { dir: string; files: DicomFile[]; truth: Truth } {
  const py = requirePython(ctx, PY_MODULES);
  root ??= mkdtempSync(join(tmpdir(), 'ctlens-dicom-'));
  if (!made.has(variant)) {
    runPython(py, [MAKE_SERIES, root, variant]);
    made.add(variant);
  }
  const dir = join(root, variant);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
  return { dir, files, truth: JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as Truth };
}

/** Removes the temporary folder (an after() hook of the suites that use it). */
export function cleanSeries(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = null;
  made.clear();
}

export function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) m = Math.max(m, Math.abs(a[r]![c]! - b[r]![c]!));
  return m;
}
