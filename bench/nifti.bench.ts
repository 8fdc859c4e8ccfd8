// NIfTI decoding benchmark (issue 2): time to the first slice and to the full volume, and peak memory, for the
// real head CT and a generated 512×512×400 int16 CT-like .nii.gz (~200 MB raw), against two baselines measured
// in the same run: zlib.gunzipSync alone (the floor: no parsing at all) and nifti-reader-js decompress + parse
// (what a JavaScript viewer does). Targets: first slice ≤ 0.1 s, full load within 1.05× of gunzipSync, memory ≤
// 2.5× the raw volume. Prints figures; asserts nothing.
//
// Each measurement runs in its own process (`--measure METHOD FILE`) so peak RSS belongs to that method alone.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeNifti, webInflate } from '../src/core/nifti';
import { nodeInflate } from '../src/core/nifti/inflate-node';
import { BIG_CT, generateBigCt } from './big-ct';

const ROOT = join(__dirname, '..');
const REAL_CT = join(ROOT, 'media', 'samples', 'head_ct_invesalius.nii.gz');
const REPS = Number(process.env.CTLENS_BENCH_REPS ?? 3);

const METHODS = ['ctlens (node:zlib)', 'ctlens (DecompressionStream)', 'zlib.gunzipSync alone', 'nifti-reader-js'] as const;
type Method = (typeof METHODS)[number];

interface Measurement {
  method: Method;
  firstMs: number;
  fullMs: number;
  /** Process CPU time (user + system, all threads) during the decode: steadier than wall time on a busy machine. */
  cpuMs: number;
  rawBytes: number;
  /** RSS just before decoding (Node + tsx + the compressed file in memory). */
  rssBeforeBytes: number;
  /** Process peak RSS (getrusage maxrss). */
  peakRssBytes: number;
  arrayBuffersBytes: number;
}

async function measure(method: Method, file: string): Promise<Measurement> {
  const buf = readFileSync(file);
  // A view, not `new Uint8Array(buf)`, which would copy the file and let GC of the copy blur the RSS figures.
  const input = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const rssBeforeBytes = process.memoryUsage().rss;
  let firstMs = NaN;
  let rawBytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  switch (method) {
    case 'ctlens (node:zlib)':
    case 'ctlens (DecompressionStream)': {
      const v = await decodeNifti(input, {
        inflate: method === 'ctlens (node:zlib)' ? nodeInflate : webInflate,
        onSlices: (kStart) => {
          if (kStart === 0) firstMs = performance.now() - t0;
        },
      });
      rawBytes = v.data.byteLength;
      break;
    }
    case 'zlib.gunzipSync alone': {
      rawBytes = gunzipSync(input).length; // whole file: this baseline does not know where voxels start
      break;
    }
    case 'nifti-reader-js': {
      const nifti = await import('nifti-reader-js');
      let data: ArrayBuffer = input.buffer as ArrayBuffer;
      if (nifti.isCompressed(data)) data = nifti.decompress(data) as ArrayBuffer;
      if (!nifti.isNIFTI(data)) throw new Error('nifti-reader-js: not NIfTI');
      const header = nifti.readHeader(data);
      if (!header) throw new Error('nifti-reader-js: no header');
      const voxels = new Int16Array(nifti.readImage(header, data));
      rawBytes = voxels.byteLength;
      break;
    }
  }
  const fullMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (Number.isNaN(firstMs)) firstMs = fullMs; // the baselines have nothing to show before the end
  return {
    method,
    firstMs,
    fullMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rawBytes,
    rssBeforeBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    arrayBuffersBytes: process.memoryUsage().arrayBuffers,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mb = (b: number) => (b / 1024 ** 2).toFixed(0);

function runDataset(label: string, file: string): void {
  const results = new Map<Method, Measurement[]>(METHODS.map((m) => [m, []]));
  for (let rep = 0; rep < REPS; rep++) {
    // Rotate the order every repetition so slow phases of a busy machine do not all land on one method.
    const order = METHODS.map((_, n) => METHODS[(n + rep) % METHODS.length]!);
    for (const method of order) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--measure', method, file], {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      if (r.status !== 0) throw new Error(`${method} on ${file} failed: ${r.stderr}`);
      results.get(method)!.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
    }
  }
  const raw = results.get('ctlens (node:zlib)')![0]!.rawBytes;
  const floorRuns = results.get('zlib.gunzipSync alone')!.map((m) => m.fullMs);
  const floor = median(floorRuns);
  const floorMin = Math.min(...floorRuns);
  const floorCpu = median(results.get('zlib.gunzipSync alone')!.map((m) => m.cpuMs));
  const fileBytes = readFileSync(file).length;
  console.log(`\n${label}: ${(raw / 1024 ** 2).toFixed(1)} MiB raw, ${(fileBytes / 1024 ** 2).toFixed(1)} MiB gzip; median (min) of ${REPS} runs, one process per run`);
  const rows = [['method', 'first slice ms', 'full volume ms', '× gunzipSync', 'CPU ms', '× gunzipSync', 'peak RSS MiB', '÷ raw', 'peak − before MiB', '÷ raw', 'arrayBuffers MiB']];
  for (const method of METHODS) {
    const ms = results.get(method)!;
    const first = ms.map((m) => m.firstMs);
    const full = ms.map((m) => m.fullMs);
    const peak = median(ms.map((m) => m.peakRssBytes));
    const own = median(ms.map((m) => m.peakRssBytes - m.rssBeforeBytes));
    rows.push([
      method,
      `${median(first).toFixed(1)} (${Math.min(...first).toFixed(1)})`,
      `${median(full).toFixed(0)} (${Math.min(...full).toFixed(0)})`,
      `${(median(full) / floor).toFixed(2)} (${(Math.min(...full) / floorMin).toFixed(2)})`,
      median(ms.map((m) => m.cpuMs)).toFixed(0),
      (median(ms.map((m) => m.cpuMs)) / floorCpu).toFixed(2),
      mb(peak),
      (peak / raw).toFixed(2),
      mb(own),
      (own / raw).toFixed(2),
      mb(median(ms.map((m) => m.arrayBuffersBytes))),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [n, r] of rows.entries()) {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--measure');
  if (at >= 0) {
    const result = await measure(process.argv[at + 1] as Method, process.argv[at + 2]!);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('Times from the compressed bytes in memory; "× gunzipSync": median over median (min over min).');
  console.log('"CPU ms": process CPU time during the decode, all threads (median); less sensitive to a busy machine than wall time.');
  console.log('"peak RSS": whole process (Node, tsx, the compressed file, the decode); "peak − before": minus RSS just before decoding.');
  if (!existsSync(BIG_CT)) {
    const t = performance.now();
    console.log(`generating ${BIG_CT} (once; .cache is git-ignored) …`);
    generateBigCt(BIG_CT);
    console.log(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  runDataset('Real head CT (head_ct_invesalius.nii.gz, 256×256×108 int16)', REAL_CT);
  runDataset('Generated CT 512×512×400 int16', BIG_CT);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
