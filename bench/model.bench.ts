// Model runtime benchmark (issue 4): the demo package on 2 CPU threads, a 128-token greedy report (EOS suppressed
// so every run generates the same length), onnxruntime-node against PyTorch eager on the same weights, the same
// phantom and the same thread count, in the same run. Prints figures; asserts nothing (targets: report ≤ 1.5 s end
// to end after load, ≥ 1.5× faster than PyTorch eager).
//   node --import tsx bench/model.bench.ts   (or: npm run bench -- model)

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run as benchCommand, type BenchFigures } from '../src/cli/commands/bench';

const ROOT = join(__dirname, '..');
const PACKAGE = join(ROOT, 'media', 'models', 'ctlens-tghmoe-demo');
const FILE = join(ROOT, 'test', 'fixtures', 'phantoms', 'fixture-00.nii.gz');
const THREADS = 2;
const TOKENS = 128;
const RUNS = 3;
const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';

async function ours(): Promise<BenchFigures> {
  let out = '';
  const code = await benchCommand(
    ['--model', PACKAGE, '--file', FILE, '--ep', 'cpu', '--threads', String(THREADS), '--max-tokens', String(TOKENS), '--runs', String(RUNS), '--json'],
    { stdout: (t) => (out += t), stderr: (t) => process.stderr.write(t), cwd: ROOT, env: process.env },
  );
  if (code !== 0) throw new Error(`ctlens bench failed: ${out}`);
  return JSON.parse(out) as BenchFigures;
}

interface TorchFigures {
  torch: string;
  threads: number;
  load_ms: number;
  preprocess_ms: number;
  generate_ms: number;
  tokens: number;
}

function torchEager(): TorchFigures | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(
    PYTHON,
    [join(ROOT, 'bench', 'torch_reference.py'), '--package', PACKAGE, '--file', FILE, '--tokens', String(TOKENS), '--runs', String(RUNS), '--threads', String(THREADS)],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(THREADS), OPENBLAS_NUM_THREADS: '1' } },
  );
  if (r.status !== 0) return `torch_reference.py failed: ${r.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchFigures;
}

async function main(): Promise<void> {
  if (!existsSync(join(PACKAGE, 'config.json'))) {
    throw new Error(`the demo package is missing at ${PACKAGE}`);
  }
  const o = await ours();
  const t = torchEager();
  const oursGenerate = o.generateMs;
  const f = (x: number) => x.toFixed(1).padStart(9);
  console.log(`demo package, ${TOKENS}-token greedy report, ${THREADS} threads, median of ${RUNS} runs after a warm-up`);
  console.log(`input: ${FILE.slice(ROOT.length + 1)}`);
  console.log('');
  console.log('                                   onnxruntime-node   PyTorch eager');
  const tf = typeof t === 'string' ? null : t;
  const row = (name: string, a: number | null, b: number | null) => console.log(`  ${name.padEnd(32)} ${a === null ? '        —' : f(a)} ms   ${b === null ? '        —' : f(b)} ms`);
  row('model load', o.loadMs, tf?.load_ms ?? null);
  row('NIfTI decode + preprocessing', o.fileDecodeMs + o.preprocessMs, tf?.preprocess_ms ?? null);
  row('vision encoder (+ guidance)', o.visionMs, null);
  row('prefill', o.prefillMs, null);
  console.log(`  ${'decode'.padEnd(32)} ${o.decodeTokensPerSecond.toFixed(1).padStart(9)} tok/s`);
  row('generation (vision+prefill+decode)', oursGenerate, tf?.generate_ms ?? null);
  row('report end to end, after load', o.reportMs, tf ? tf.preprocess_ms + tf.generate_ms : null);
  console.log(`  ${'peak RSS'.padEnd(32)} ${o.peakRssMb.toFixed(0).padStart(9)} MB`);
  console.log('');
  console.log(`report end to end: ${o.reportMs.toFixed(0)} ms (target ≤ 1500 ms) — ${o.reportMs <= 1500 ? 'met' : 'NOT met'}`);
  if (tf) {
    const ratio = (tf.preprocess_ms + tf.generate_ms) / o.reportMs;
    console.log(`PyTorch eager (torch ${tf.torch}, ${tf.threads} threads) / onnxruntime-node, end to end: ${ratio.toFixed(2)}× (goal ≥ 1.5×) — ${ratio >= 1.5 ? 'met' : 'NOT met'}`);
    console.log(`generation only: ${(tf.generate_ms / oursGenerate).toFixed(2)}×`);
  } else {
    console.log(`PyTorch eager comparison not run: ${t}`);
  }
  console.log(`execution provider: ${o.provider}; no GPU on this machine (GPU figures need a GPU host: ctlens bench --ep webgpu|cuda)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
