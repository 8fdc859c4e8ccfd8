// What the header panel (#ctl-header) shows, as label/value rows. Pure, so the wording is tested in Node.

import type { NiftiHeader } from '../../src/core/nifti/types';
import type { DisplayFrame } from './geometry';

export interface HeaderRow {
  label: string;
  value: string;
  /** Monospace block (the affine). */
  pre?: boolean;
}

const SPACE_UNITS: Record<number, string> = { 1: 'm', 2: 'mm', 3: 'µm' };
const TIME_UNITS: Record<number, string> = { 8: 's', 16: 'ms', 24: 'µs', 32: 'Hz', 40: 'ppm', 48: 'rad/s' };

/** Shortest decimal that round-trips a float32-ish header value, without noise like 0.9570000171661377. */
export function formatNumber(v: number, digits = 6): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(digits)));
}

export function headerRows(header: NiftiHeader, frame: DisplayFrame | null, name?: string): HeaderRow[] {
  const rows: HeaderRow[] = [];
  if (name) rows.push({ label: 'File', value: name });
  rows.push({
    label: 'Format',
    value: header.format === 'dicom' ? `DICOM series: ${header.description}` : `${header.format === 'nifti2' ? 'NIfTI-2' : 'NIfTI-1'}, ${header.littleEndian ? 'little' : 'big'}-endian`,
  });
  rows.push({ label: 'Dimensions', value: header.dims.join(' × ') });
  rows.push({
    label: 'Frames',
    value: header.frames > 1 ? `${header.frames} (4D: frame 0 shown)` : '1',
  });
  const space = SPACE_UNITS[header.xyztUnits & 0x07];
  rows.push({ label: 'Spacing', value: `${header.spacing.map((s) => formatNumber(s)).join(' × ')}${space ? ` ${space}` : ''}` });
  const time = TIME_UNITS[header.xyztUnits & 0x38];
  if (time) rows.push({ label: 'Time unit', value: time });
  rows.push({ label: 'Datatype', value: `${header.datatype} (code ${header.datatypeCode}, ${header.bitpix} bit)` });
  const scaled = !(header.sclSlope === 1 && header.sclInter === 0);
  rows.push({
    label: 'Scaling',
    value: scaled ? `value = stored × ${formatNumber(header.sclSlope)} + ${formatNumber(header.sclInter)}` : 'none (slope 1, intercept 0)',
  });
  rows.push({
    label: 'Orientation',
    value: `${header.orientation}${frame ? ` → shown as RAS (display ${frame.dims.join(' × ')})` : ''}`,
  });
  const code = header.affineSource === 'sform' ? header.sformCode : header.affineSource === 'qform' ? header.qformCode : 0;
  // Columns padded to their widest entry so the matrix reads as a matrix in a narrow panel.
  const cells = header.affine.map((row) => row.map((v) => formatNumber(v, 5)));
  const widths = [0, 1, 2, 3].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  rows.push({
    label: 'Affine (voxel → RAS mm)',
    value: cells.map((row) => row.map((v, c) => v.padStart(widths[c]!)).join('  ')).join('\n'),
    pre: true,
  });
  rows.push({ label: 'Affine from', value: header.affineSource === 'pixdim' ? 'pixdim (no qform or sform code)' : `${header.affineSource} (code ${code})` });
  if (header.calMax > header.calMin) rows.push({ label: 'cal_min / cal_max', value: `${formatNumber(header.calMin)} / ${formatNumber(header.calMax)}` });
  if (header.intentCode) rows.push({ label: 'Intent', value: `code ${header.intentCode}` });
  rows.push({ label: 'Description', value: header.description.trim() || '—' });
  return rows;
}
