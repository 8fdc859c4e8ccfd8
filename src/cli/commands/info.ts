// `ctlens info FILE|DIR [--json] [--voxel i,j,k ...] [--series N]`: what CT Lens reads from a NIfTI file or a DICOM
// series (a folder, or one of its files) — format, dims, spacing, datatype, affine, orientation, value stats and
// chosen voxels (scaled values, frame 0, file voxel order). The --json object is what the tests compare with
// nibabel (NIfTI) and with dcm2niix / pydicom (DICOM); a DICOM series adds its notices.
import * as path from 'node:path';
import type { NiftiVolume } from '../../core/nifti';
import { valueAt, volumeStats } from '../../core/volume';
import { EXIT_OK, EXIT_USER_ERROR, UsageError, type CliIo } from '../io';
import { readVolumeInput, type VolumeInput } from '../volume-input';

const USAGE = 'usage: ctlens info FILE.nii[.gz]|DICOM-DIR|FILE.dcm [--json] [--voxel i,j,k ...] [--series N|UID]';

export interface InfoJson {
  format: 'nifti1' | 'nifti2' | 'dicom';
  dims: [number, number, number];
  frames: number;
  spacing: [number, number, number];
  datatype: string;
  affine: number[][];
  orientation: string;
  stats: { min: number; max: number; mean: number };
  voxels: { ijk: [number, number, number]; value: number }[];
  /** DICOM series only: what the reader had to tell (tilt, uneven spacing, left-out images …). */
  notices?: string[];
}

interface InfoArgs {
  file: string;
  json: boolean;
  voxels: [number, number, number][];
  series?: string;
}

const VOXEL = /^(\d+),(\d+),(\d+)$/;

function parseArgs(args: string[]): InfoArgs {
  let file: string | undefined;
  let json = false;
  const voxels: [number, number, number][] = [];
  let series: string | undefined;
  const addVoxel = (text: string) => {
    const m = VOXEL.exec(text.replace(/\s+/g, ''));
    if (!m) throw new UsageError(`--voxel wants i,j,k (three non-negative integers), got '${text}'`);
    voxels.push([Number(m[1]), Number(m[2]), Number(m[3])]);
  };
  for (let n = 0; n < args.length; n++) {
    const a = args[n]!;
    if (a === '--json') json = true;
    else if (a === '--voxel') {
      if (n + 1 >= args.length) throw new UsageError('--voxel needs i,j,k');
      addVoxel(args[++n]!);
      // `--voxel 1,2,3 4,5,6`: further triples belong to the same flag.
      while (n + 1 < args.length && VOXEL.test(args[n + 1]!)) addVoxel(args[++n]!);
    } else if (a.startsWith('--voxel=')) addVoxel(a.slice('--voxel='.length));
    else if (a === '--series') {
      if (n + 1 >= args.length) throw new UsageError('--series needs a SeriesNumber or SeriesInstanceUID');
      series = args[++n]!;
    }
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else if (file === undefined) file = a;
    else throw new UsageError(`one FILE only (got '${file}' and '${a}')`);
  }
  if (file === undefined) throw new UsageError('FILE is missing');
  return { file, json, voxels, series };
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  const wantsJson = args.includes('--json');
  const fail = (message: string): number => {
    if (wantsJson) io.stdout(`${JSON.stringify({ error: message })}\n`);
    else io.stderr(`ctlens info: ${message}\n`);
    return EXIT_USER_ERROR;
  };

  let parsed: InfoArgs;
  try {
    parsed = parseArgs(args);
  } catch (err) {
    if (err instanceof UsageError) return fail(`${err.message}\n${USAGE}`);
    throw err;
  }

  const file = path.resolve(io.cwd, parsed.file);
  let input: VolumeInput;
  try {
    input = await readVolumeInput(file, parsed.file, { series: parsed.series });
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    throw err;
  }
  const { volume } = input;

  const { header } = volume;
  for (const [i, j, k] of parsed.voxels) {
    const [nx, ny, nz] = header.dims;
    if (i >= nx || j >= ny || k >= nz) return fail(`voxel ${i},${j},${k} is outside the volume ${nx}×${ny}×${nz}`);
  }
  const stats = volumeStats(volume);
  const info: InfoJson = {
    format: header.format,
    dims: header.dims,
    frames: header.frames,
    spacing: header.spacing,
    datatype: header.datatype,
    affine: header.affine,
    orientation: header.orientation,
    stats: { min: stats.min, max: stats.max, mean: stats.mean },
    voxels: parsed.voxels.map((ijk) => ({ ijk, value: valueAt(volume, ...ijk) })),
  };
  if (input.kind === 'dicom') info.notices = input.notices;
  if (parsed.json) io.stdout(`${JSON.stringify(info)}\n`);
  else io.stdout(humanSummary(parsed.file, volume, info, stats.nonFinite, input.bytesRead));
  return EXIT_OK;
}

function humanSummary(name: string, volume: NiftiVolume, info: InfoJson, nonFinite: number, fileBytes: number): string {
  const h = volume.header;
  const num = (x: number) => (Number.isInteger(x) ? String(x) : Number(x.toPrecision(6)).toString());
  const scaled = h.sclSlope !== 1 || h.sclInter !== 0 ? `, scaled ×${num(h.sclSlope)} + ${num(h.sclInter)}` : '';
  const code = h.affineSource === 'sform' ? `, code ${h.sformCode}` : h.affineSource === 'qform' ? `, code ${h.qformCode}` : '';
  const rows = [
    `${path.basename(name)}  (${fileBytes} bytes)`,
    h.format === 'dicom'
      ? `  format       DICOM series (${h.description})`
      : `  format       ${h.format === 'nifti1' ? 'NIfTI-1' : 'NIfTI-2'}, ${h.littleEndian ? 'little' : 'big'}-endian, voxels from byte ${h.voxOffset}`,
    `  dims         ${info.dims.join(' × ')}${h.frames > 1 ? `, ${h.frames} frames (stats and voxels from frame 0)` : ''}`,
    `  spacing      ${info.spacing.map(num).join(' × ')} mm`,
    `  datatype     ${h.datatype}${scaled}`,
    `  orientation  ${h.orientation} (affine from ${h.affineSource}${code})`,
    `  affine       ${info.affine.slice(0, 3).map((r) => `[${r.map((x) => num(x).padStart(10)).join(' ')} ]`).join('\n               ')}`,
    `  values       min ${num(info.stats.min)}  max ${num(info.stats.max)}  mean ${num(info.stats.mean)}${nonFinite ? `  (${nonFinite} NaN/Inf voxels left out)` : ''}`,
  ];
  if (h.description && h.format !== 'dicom') rows.push(`  description  ${h.description}`);
  for (const notice of info.notices ?? []) rows.push(`  notice       ${notice}`);
  for (const v of info.voxels) rows.push(`  voxel ${v.ijk.join(',').padEnd(12)} ${num(v.value)}`);
  return rows.join('\n') + '\n';
}
