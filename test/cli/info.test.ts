// `ctlens info`: the --json object against nibabel on every fixture and, LIVE, on the real head CT; exit codes and
// error output; the human summary.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, type InfoJson } from '../../src/cli/commands/info';
import type { CliIo } from '../../src/cli/io';
import { EXPECTED, FIXTURE_DIR, assertClose, assertMatrixClose, sameValue, type NibabelInfo } from '../core/nifti/fixtures';
import { requirePython, runPython } from '../reference-python';

const ROOT = join(__dirname, '..', '..');
const HEAD_CT = join(ROOT, 'media', 'samples', 'head_ct_invesalius.nii.gz');
const NIBABEL_INFO = join(FIXTURE_DIR, 'nibabel_info.py');

async function info(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: FIXTURE_DIR, env: {} };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

/** Runs the real entry point (src/cli/main.ts through tsx), as `npx ctlens` would after a build. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function compareWithNibabel(ours: InfoJson, nib: NibabelInfo | Omit<NibabelInfo, 'canonical'>): void {
  assert.deepEqual(Object.keys(ours).sort(), ['affine', 'datatype', 'dims', 'format', 'frames', 'orientation', 'spacing', 'stats', 'voxels']);
  assert.equal(ours.format, nib.format);
  assert.deepEqual(ours.dims, nib.dims);
  assert.equal(ours.frames, nib.frames);
  assert.equal(ours.datatype, nib.datatype);
  ours.spacing.forEach((s, a) => assertClose(s, nib.spacing[a]!, `spacing[${a}]`));
  assertMatrixClose(ours.affine, nib.affine, 'affine');
  assert.equal(ours.orientation, nib.orientation);
  assertClose(ours.stats.min, nib.stats.min!, 'min');
  assertClose(ours.stats.max, nib.stats.max!, 'max');
  assertClose(ours.stats.mean, nib.stats.mean!, 'mean');
  assert.equal(ours.voxels.length, nib.voxels.length);
  ours.voxels.forEach((v, n) => {
    assert.deepEqual(v.ijk, nib.voxels[n]!.ijk);
    // JSON turns NaN/Inf into null on both sides.
    assert.ok(v.value === nib.voxels[n]!.value || sameValue(v.value, nib.voxels[n]!.value), `voxel ${v.ijk}: ${v.value} vs ${nib.voxels[n]!.value}`);
  });
}

describe('cli/info', () => {
  describe('--json agrees with nibabel', () => {
    for (const [name, nib] of Object.entries(EXPECTED.fixtures)) {
      it(name, async () => {
        const voxelArgs = nib.voxels.flatMap((v) => ['--voxel', v.ijk.join(',')]);
        const r = await info([name, '--json', ...voxelArgs]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one JSON line');
        compareWithNibabel(JSON.parse(r.stdout), nib);
      });
    }
  });

  it('accepts several voxels after one --voxel and --voxel=i,j,k', async () => {
    const r = await info(['int16_las_sform.nii.gz', '--json', '--voxel', '0,0,0', '1,2,3', '--voxel=6,5,4']);
    assert.deepEqual(JSON.parse(r.stdout).voxels.map((v: { ijk: number[] }) => v.ijk), [[0, 0, 0], [1, 2, 3], [6, 5, 4]]);
  });

  describe('errors: exit 2 and {error} with --json, one line on stderr without', () => {
    for (const [name, e] of Object.entries(EXPECTED.errors)) {
      it(name, async () => {
        const r = await info([name, '--json']);
        assert.equal(r.code, 2);
        const out = JSON.parse(r.stdout);
        assert.deepEqual(Object.keys(out), ['error']);
        assert.ok(out.error.startsWith(`${e.code}: `) && out.error.includes(e.message), out.error);
        const plain = await info([name]);
        assert.equal(plain.code, 2);
        assert.equal(plain.stdout, '');
        assert.match(plain.stderr, new RegExp(`^ctlens info: ${e.code}: .+\\n$`));
      });
    }
    it('missing file', async () => {
      const r = await info(['nope.nii', '--json']);
      assert.equal(r.code, 2);
      assert.equal(JSON.parse(r.stdout).error, 'cannot read nope.nii: no such file');
    });
    it('voxel outside the volume', async () => {
      const r = await info(['int16_las_sform.nii.gz', '--json', '--voxel', '7,0,0']);
      assert.equal(r.code, 2);
      assert.match(JSON.parse(r.stdout).error, /voxel 7,0,0 is outside the volume 7×6×5/);
    });
    it('bad arguments', async () => {
      for (const args of [[], ['a.nii', 'b.nii'], ['a.nii', '--voxel', '1,2'], ['a.nii', '--frobnicate']]) {
        const r = await info([...args, '--json']);
        assert.equal(r.code, 2, args.join(' '));
        assert.match(JSON.parse(r.stdout).error, /usage: ctlens info FILE/);
      }
    });
  });

  it('prints a readable summary without --json', async () => {
    const r = await info(['series_4d.nii.gz', '--voxel', '1,2,0']);
    assert.equal(r.code, 0);
    const nib = EXPECTED.fixtures['series_4d.nii.gz']!;
    assert.match(r.stdout, /format\s+NIfTI-1, little-endian/);
    assert.match(r.stdout, /dims\s+5 × 4 × 3, 3 frames \(stats and voxels from frame 0\)/);
    assert.match(r.stdout, /orientation\s+LAS \(affine from sform, code 1\)/);
    assert.match(r.stdout, /datatype\s+float32/);
    assert.ok(r.stdout.includes(`min ${Number(nib.stats.min!.toPrecision(6))}`), r.stdout);
    assert.match(r.stdout, /voxel 1,2,0\s+\S+/);
  });

  describe('the ctlens entry point', () => {
    it('runs info and exits 0', () => {
      const r = cli(['info', join(FIXTURE_DIR, 'scaled_int16.nii.gz'), '--json']);
      assert.equal(r.status, 0, r.stderr);
      compareWithNibabel({ ...JSON.parse(r.stdout), voxels: [] }, { ...EXPECTED.fixtures['scaled_int16.nii.gz']!, voxels: [] });
    });
    it('exits 2 with {error} on a bad file and on an unknown command', () => {
      const bad = cli(['info', join(FIXTURE_DIR, 'complex64.nii'), '--json']);
      assert.equal(bad.status, 2);
      assert.match(JSON.parse(bad.stdout).error, /^UnsupportedDatatype: datatype 32 \(complex64\)/);
      const unknown = cli(['frobnicate']);
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    });
  });

  it('LIVE: agrees with nibabel on the real head CT (needs Debian python3 + nibabel)', function () {
    this.timeout(120_000);
    const py = requirePython(this, 'nibabel, numpy');
    const voxels = ['0,0,0', '128,128,54', '255,255,107', '100,60,20', '200,140,90', '30,220,70', '128,40,54', '64,128,100'];
    const nib = JSON.parse(runPython(py, [NIBABEL_INFO, HEAD_CT, ...voxels.flatMap((v) => ['--voxel', v])])) as NibabelInfo;
    const ours = cli(['info', HEAD_CT, '--json', '--voxel', ...voxels]);
    assert.equal(ours.status, 0, ours.stderr);
    const parsed = JSON.parse(ours.stdout) as InfoJson;
    compareWithNibabel(parsed, nib);
    // The file as the sample README describes it, so a silently different sample also fails here.
    assert.deepEqual(parsed.dims, [256, 256, 108]);
    assert.equal(parsed.orientation, 'LAS');
  });
});
