// `ctlens info` and `ctlens convert` on DICOM: a folder or one of its files gives the same JSON as a NIfTI file
// (plus the series' notices); convert writes a NIfTI that nibabel reads with the same affine and voxels; several
// series ask for --series; nothing identifying reaches the output.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as convert } from '../../src/cli/commands/convert';
import { run as info, type InfoJson } from '../../src/cli/commands/info';
import type { CliIo } from '../../src/cli/io';
import { cleanSeries, maxAbsDiff, PY_MODULES, series } from '../core/dicom/fixtures';
import { requirePython, runPython } from '../reference-python';

async function cli(command: typeof info, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd, env: {} };
  const code = await command(args, io);
  return { code, stdout, stderr };
}

const SECRETS = ['Testpatient', 'SECRET', '19700101'];

describe('ctlens info / convert on DICOM', function () {
  this.timeout(120_000);
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'ctlens-convert-'));
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    cleanSeries();
  });

  it('info DIR and info FILE.dcm give the NIfTI JSON of the whole series', async function () {
    const { dir, truth } = series(this, 'tilted');
    const a = await cli(info, ['--json', dir, '--voxel', '10,20,3'], out);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    const j = JSON.parse(a.stdout) as InfoJson;
    assert.deepEqual(Object.keys(j), ['format', 'dims', 'frames', 'spacing', 'datatype', 'affine', 'orientation', 'stats', 'voxels', 'notices']);
    assert.equal(j.format, 'dicom');
    assert.deepEqual(j.dims, truth.dims);
    assert.ok(maxAbsDiff(j.affine, truth.affine) <= 1e-4);
    assert.match(j.notices![0]!, /^Gantry tilt of 12°/);
    const b = await cli(info, ['--json', join(dir, truth.files[5]!), '--voxel', '10,20,3'], out);
    assert.deepEqual(JSON.parse(b.stdout), j);
    const human = await cli(info, [dir], out);
    assert.match(human.stdout, /format {7}DICOM series \(CT series of 16 images, Explicit VR Little Endian\)/);
    assert.match(human.stdout, /notice {7}Gantry tilt/);
    for (const s of SECRETS) assert.ok(!(a.stdout + human.stdout).includes(s), `${s} leaked`);
  });

  it('several series: exit 2 with the --series choices; --series picks one', async function () {
    const { dir } = series(this, 'two_series');
    const r = await cli(info, [dir], out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the folder holds 2 series; choose one:\n {2}--series 1 {3}CT 64×48×12 {2}Head two_series\n {2}--series 2 {3}CT 64×48×6/);
    const two = await cli(info, ['--json', dir, '--series', '2'], out);
    assert.deepEqual((JSON.parse(two.stdout) as InfoJson).dims, [64, 48, 6]);
  });

  it('convert writes a NIfTI that nibabel reads with the same affine and HU; refuses to overwrite', async function () {
    const py = requirePython(this, PY_MODULES);
    const { dir } = series(this, 'jpeg2000');
    const target = join(out, 'jpeg2000.nii.gz');
    const c = await cli(convert, [dir, target], out);
    assert.equal(c.code, 0, c.stderr);
    const again = await cli(convert, [dir, target], out);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; add --force/);
    const ours = JSON.parse((await cli(info, ['--json', dir, '--voxel', '5,6,7', '30,40,11'], out)).stdout) as InfoJson;
    const nib = JSON.parse(
      runPython(py, [
        '-c',
        'import sys, json, nibabel as nib, numpy as np; im = nib.load(sys.argv[1]); d = np.asarray(im.dataobj);' +
          'print(json.dumps({"affine": im.affine.tolist(), "qform": im.get_qform().tolist(), "shape": list(d.shape), "v": [float(d[5,6,7]), float(d[30,40,11])], "min": float(d.min()), "max": float(d.max())}))',
        target,
      ]),
    ) as { affine: number[][]; qform: number[][]; shape: number[]; v: number[]; min: number; max: number };
    assert.deepEqual(nib.shape, ours.dims);
    assert.ok(maxAbsDiff(nib.affine, ours.affine) <= 1e-4);
    assert.ok(maxAbsDiff(nib.qform, ours.affine) <= 1e-4, 'the qform holds the same affine');
    assert.deepEqual(nib.v, ours.voxels.map((v) => v.value));
    assert.deepEqual([nib.min, nib.max], [ours.stats.min, ours.stats.max]);
    // And CT Lens reads its own output back the same.
    const back = JSON.parse((await cli(info, ['--json', target, '--voxel', '5,6,7', '30,40,11'], out)).stdout) as InfoJson;
    assert.ok(maxAbsDiff(back.affine, ours.affine) <= 1e-4);
    assert.deepEqual(back.voxels, ours.voxels);
    assert.ok(!readFileSync(target).includes('Secret'));
  });

  it('a folder without DICOM is a clear exit 2', async () => {
    const r = await cli(info, ['--json', out], out);
    assert.equal(r.code, 2);
    assert.match(JSON.parse(r.stdout).error, /NoImages: /);
  });
});
