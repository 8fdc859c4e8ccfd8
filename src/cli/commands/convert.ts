// `ctlens convert DICOM-DIR|FILE.dcm OUT.nii[.gz] [--series N|UID] [--force]`: a DICOM series (or a NIfTI file) to
// NIfTI-1 in the voxel order and affine CT Lens reads it with (HU, sform code 1; see src/core/nifti/write.ts).
// An existing OUT is not written over without --force. The notices are printed to stderr: a converted file keeps
// none of them.
import { stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { encodeNifti1 } from '../../core/nifti';
import { EXIT_OK, EXIT_USER_ERROR, UsageError, type CliIo } from '../io';
import { readVolumeInput } from '../volume-input';

const USAGE = 'usage: ctlens convert DICOM-DIR|FILE.dcm OUT.nii[.gz] [--series N|UID] [--force]';

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  try {
    const positional: string[] = [];
    let series: string | undefined;
    let force = false;
    for (let n = 0; n < args.length; n++) {
      const a = args[n]!;
      if (a === '--series') {
        if (n + 1 >= args.length) throw new UsageError('--series needs a SeriesNumber or SeriesInstanceUID');
        series = args[++n]!;
      } else if (a === '--force') force = true;
      else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
      else positional.push(a);
    }
    if (positional.length !== 2) throw new UsageError(`an input and an output are needed\n${USAGE}`);
    const [input, output] = positional as [string, string];
    if (!/\.nii(\.gz)?$/i.test(output)) throw new UsageError(`the output must be named .nii or .nii.gz, got '${output}'`);
    const out = path.resolve(io.cwd, output);
    if (!force && (await stat(out).then(() => true, () => false))) throw new UsageError(`${output} exists; add --force to write over it`);

    const t0 = performance.now();
    const { volume, notices } = await readVolumeInput(path.resolve(io.cwd, input), input, { series });
    const h = volume.header;
    const nii = encodeNifti1({
      dims: h.dims,
      datatype: h.datatype,
      data: volume.data,
      affine: h.affine,
      sclSlope: h.sclSlope,
      sclInter: h.sclInter,
      description: h.format === 'dicom' ? `ctlens convert: ${h.description}` : h.description,
    });
    const bytes = /\.gz$/i.test(output) ? await promisify(gzip)(nii, { level: 6 }) : nii;
    await writeFile(out, bytes);
    for (const notice of notices) io.stderr(`ctlens convert: notice: ${notice}\n`);
    io.stdout(`${output}: ${h.dims.join('×')} ${h.datatype} ${h.orientation}, ${(performance.now() - t0).toFixed(0)} ms\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`ctlens convert: ${err.message}\n`);
      return EXIT_USER_ERROR;
    }
    throw err;
  }
}
