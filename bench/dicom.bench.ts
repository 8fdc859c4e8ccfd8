// DICOM series decoding benchmark (issue 12): a 512×512×300 CT series written from the real head CT by
// test/fixtures/dicom/make_series.py (variants `big`: Explicit VR Little Endian, 150 MB; `big_j2k`: JPEG 2000
// lossless by gdcm), read from disk and decoded by CT Lens (the folder read, parse, sort, HU) against dcm2niix
// converting the same files to an uncompressed .nii (its own read + decode + write) in the same run. Wall and CPU
// time, median of CTLENS_BENCH_REPS (3); first slice time for CT Lens. Prints figures; asserts nothing.
//   CTLENS_BENCH_DICOM_DIR=DIR  reuse series written there before (DIR/big, DIR/big_j2k)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDicomFiles } from '../src/core/dicom';

const ROOT = join(__dirname, '..');
const REPS = Number(process.env.CTLENS_BENCH_REPS ?? 3);
const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function ctlens(dir: string): Promise<{ wallMs: number; cpuMs: number; firstMs: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
  let first = 0;
  await decodeDicomFiles(files, { onSlices: () => void (first ||= performance.now() - t0) });
  return { wallMs: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(c0)), firstMs: first };
}

function dcm2niix(dir: string, out: string): { wallMs: number; cpuMs: number } {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'dcm2niix', '-z', 'n', '-b', 'n', '-f', 'series', '-o', out, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dcm2niix failed: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wallMs: performance.now() - t0, cpuMs: (u! + s!) * 1000 };
}

async function main(): Promise<void> {
  console.log(`${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const reuse = process.env.CTLENS_BENCH_DICOM_DIR;
  const root = reuse ?? mkdtempSync(join(tmpdir(), 'ctlens-dicom-bench-'));
  try {
    for (const variant of ['big', 'big_j2k']) {
      const dir = join(root, variant);
      if (!existsSync(dir)) {
        const r = spawnSync(PYTHON, [join(ROOT, 'test', 'fixtures', 'dicom', 'make_series.py'), root, variant], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`make_series.py ${variant} failed: ${r.stderr}`);
      }
      const ours: Awaited<ReturnType<typeof ctlens>>[] = [];
      const theirs: ReturnType<typeof dcm2niix>[] = [];
      for (let n = 0; n < REPS; n++) {
        ours.push(await ctlens(dir));
        theirs.push(dcm2niix(dir, join(root, `${variant}-out`)));
      }
      const row = (name: string, xs: { wallMs: number; cpuMs: number; firstMs?: number }[]) =>
        `  ${name.padEnd(10)} wall ${median(xs.map((x) => x.wallMs)).toFixed(0).padStart(6)} ms   cpu ${median(xs.map((x) => x.cpuMs)).toFixed(0).padStart(6)} ms` +
        (xs[0]!.firstMs !== undefined ? `   first slice ${median(xs.map((x) => x.firstMs!)).toFixed(0)} ms` : '');
      console.log(`${variant}: 512×512×300, median of ${REPS}`);
      console.log(row('ctlens', ours));
      console.log(row('dcm2niix', theirs));
    }
  } finally {
    if (!reuse) rmSync(root, { recursive: true, force: true });
  }
}

void main();
