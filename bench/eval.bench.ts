// Synthetic benchmark and metrics speed (issue 3 parts 1 and 6, issue 4's `ctlens eval`): seconds per generated
// phantom case (Debian python3, default 128×128×64 grid; target < 0.5 s), and scoring throughput of
// src/core/eval scoreResults vs `python3 -m model.evaluate --predictions` on the same results lines (the committed
// fixture repeated to ~7k lines), with their maximum difference. Prints figures; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRIC_KEYS, readResults, scoreResults, type Metrics } from '../src/core/eval';

const ROOT = join(__dirname, '..');
const PY = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';
const env = { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1' };

console.log(`cpus ${cpus().length} · load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// --- generation ------------------------------------------------------------------------------------------------
const N_CASES = Number(process.env.CTLENS_BENCH_CASES ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'ctlens-bench-eval-'));
try {
  const gen = spawnSync(
    PY,
    [
      '-c',
      `
import json, time
from model import synth
synth.generate_case(0, "test", 0)  # warm-up (imports, first allocation)
t = time.perf_counter(); [synth.generate_case(1, "test", i) for i in range(${N_CASES})]; gen = time.perf_counter() - t
stats = synth.write_dataset(${JSON.stringify(dir)}, ${N_CASES}, 1, "test")
print(json.dumps({"generate_s": gen / ${N_CASES}, "generate_and_write_s": stats["seconds_per_case"]}))
`,
    ],
    { cwd: ROOT, env, encoding: 'utf8' },
  );
  if (gen.status !== 0) {
    console.log(`phantom generation: skipped (${PY} failed: ${gen.stderr.trim().split('\n').pop()})`);
  } else {
    const g = JSON.parse(gen.stdout) as { generate_s: number; generate_and_write_s: number };
    console.log(
      `phantom 128×128×64: ${g.generate_s.toFixed(3)} s/case in memory, ${g.generate_and_write_s.toFixed(3)} s/case ` +
        `with .nii.gz + dataset lines (${N_CASES} cases; target < 0.5 s)`,
    );
  }

  // --- scoring ---------------------------------------------------------------------------------------------------
  const fixture = readFileSync(join(ROOT, 'test/fixtures/eval/results.jsonl'), 'utf8').trim().split('\n');
  const REPEAT = 50;
  const big: string[] = [];
  for (let r = 0; r < REPEAT; r++) {
    for (const l of fixture) {
      const o = JSON.parse(l);
      o.id = `${o.id}-${r}`;
      big.push(JSON.stringify(o));
    }
  }
  const file = join(dir, 'results.jsonl');
  writeFileSync(file, big.join('\n') + '\n');
  const t0 = performance.now();
  const ours = scoreResults(readResults(readFileSync(file, 'utf8')));
  const tsMs = performance.now() - t0;
  const t1 = performance.now();
  const py = spawnSync(PY, ['-m', 'model.evaluate', '--predictions', file, '--json'], { cwd: ROOT, env, encoding: 'utf8' });
  const pyMs = performance.now() - t1;
  console.log(
    `scoring ${big.length} lines (${ours.n_report} reports, ${ours.n_vqa} VQA): TypeScript ${tsMs.toFixed(0)} ms ` +
      `(${((big.length / tsMs) * 1000).toFixed(0)} lines/s)` +
      (py.status === 0 ? `, Python ${pyMs.toFixed(0)} ms (process included)` : ', Python skipped'),
  );
  if (py.status === 0) {
    const theirs = JSON.parse(py.stdout) as Metrics;
    let maxDiff = 0;
    for (const k of METRIC_KEYS) {
      const a = ours[k];
      const b = theirs[k];
      if (a !== null && b !== null) maxDiff = Math.max(maxDiff, Math.abs(a - b));
    }
    console.log(`max |TypeScript − Python| over the ${METRIC_KEYS.length} keys: ${maxDiff.toExponential(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
