// Access to the NIfTI fixtures and nibabel's expectations (test/fixtures/nifti, written by make_fixtures.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures', 'nifti');

/** nibabel's reading of one file (nibabel_info.py). Nulls stand for NaN/Inf. */
export interface NibabelInfo {
  format: 'nifti1' | 'nifti2';
  dims: [number, number, number];
  frames: number;
  spacing: [number, number, number];
  datatype: string;
  affine: number[][];
  orientation: string;
  stats: { min: number | null; max: number | null; mean: number | null };
  voxels: { ijk: [number, number, number]; value: number | null }[];
  little_endian: boolean;
  vox_offset: number;
  scl_slope: number;
  scl_inter: number;
  affine_source: 'sform' | 'qform' | 'pixdim';
  sform_code: number;
  qform_code: number;
  ndim: number;
  slice_sums: number[];
  canonical: { dims: [number, number, number]; affine: number[][]; voxels: { ijk: [number, number, number]; value: number | null }[] };
  stored_specials?: boolean;
}

export interface Expected {
  fixtures: Record<string, NibabelInfo>;
  errors: Record<string, { code: string; message: string }>;
  orientation_cases: { affine: number[][]; axcodes: string }[];
  nibabel_version: string;
}

export const EXPECTED: Expected = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8'));

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURE_DIR, name)));
}

/** |a - b| within a relative tolerance (values pass through float32 header fields on both sides). */
export function close(a: number, b: number, rel = 1e-9, abs = 1e-9): boolean {
  return Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));
}

export function assertClose(actual: number, expected: number, what: string, rel = 1e-9, abs = 1e-9): void {
  if (!close(actual, expected, rel, abs)) throw new Error(`${what}: ${actual} ≠ ${expected} (nibabel)`);
}

export function assertMatrixClose(actual: number[][], expected: number[][], what: string, abs = 1e-6): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) assertClose(actual[r]![c]!, expected[r]![c]!, `${what}[${r}][${c}]`, 1e-7, abs);
  }
}

/** A NaN/Inf in our output stands where nibabel_info wrote null. */
export function sameValue(actual: number, expected: number | null): boolean {
  if (expected === null) return !Number.isFinite(actual);
  return close(actual, expected, 1e-12, 0);
}
