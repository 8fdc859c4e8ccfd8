// Model-package fuzz at scale (issue 14): CTLENS_PACKAGE_FUZZ_CASES (default 1,200) damaged copies of the bundled
// package — JSON values changed, deleted or retyped, JSON text truncated or bit-flipped, graphs truncated,
// bit-flipped or overwritten — each read, preprocessed, loaded on the CPU and run as `ctlens report` would. Prints
// the outcome counts per file; the goal is zero internal errors, zero hangs and zero crashes. The CI test runs 80
// cases of another seed in-process (test/core/model/package-fuzz.test.ts).
//
// The cases run in a worker process watched from here: a synchronous loop (which no in-process timeout can
// interrupt) or a native crash shows up as a worker that stops reporting or dies; it is recorded against the case
// it was running, and a new worker resumes with the next case.
//   npm run bench -- package-fuzz      (or: node --import tsx bench/package-fuzz.bench.ts)

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fuzzPackage, type FuzzCase, type FuzzOutcome } from '../test/core/model/package-fuzz';

const ROOT = join(__dirname, '..');
const CASES = Number(process.env.CTLENS_PACKAGE_FUZZ_CASES ?? 1200);
const SEED = Number(process.env.CTLENS_PACKAGE_FUZZ_SEED ?? 0x1400);
/** A case that reports nothing for this long is a hang (the slowest normal case takes well under a second). */
const WATCHDOG_MS = 60_000;

async function worker(from: number): Promise<void> {
  const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  await fuzzPackage({
    packageDir: join(ROOT, 'media', 'models', 'ctlens-tghmoe-demo'),
    volumeFile: join(ROOT, 'test', 'fixtures', 'phantoms', 'fixture-00.nii.gz'),
    cases: CASES,
    seed: SEED,
    from,
    caseTimeoutMs: WATCHDOG_MS / 2,
    onCase: (c) => line({ case: c }),
    onOutcome: (o) => line({ outcome: { ...o, message: o.message?.slice(0, 2000) } }),
  });
}

/** Runs a worker from case `from`; resolves with its outcomes and, if it hung or died, the case it was on. */
function runWorker(from: number, onOutcome: (o: FuzzOutcome) => void): Promise<{ lost?: FuzzCase & { result: string; message: string } }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--worker', String(from)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let current: FuzzCase | null = null;
    let hung = false;
    let stderrTail = '';
    let timer = setTimeout(() => kill(), WATCHDOG_MS);
    const kill = () => {
      hung = true;
      child.kill('SIGKILL');
    };
    child.stderr.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-2000);
    });
    createInterface({ input: child.stdout }).on('line', (l) => {
      let m: { case?: FuzzCase; outcome?: FuzzOutcome };
      try {
        m = JSON.parse(l);
      } catch {
        return; // a library's own console output
      }
      clearTimeout(timer);
      timer = setTimeout(() => kill(), WATCHDOG_MS);
      if (m.case) current = m.case;
      if (m.outcome) {
        current = null;
        onOutcome(m.outcome);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!current) return resolve({});
      const result = hung ? 'hang' : 'crash';
      const why = hung ? `no progress for ${WATCHDOG_MS / 1000} s` : `worker died (${signal ?? `exit code ${code}`}): ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
      resolve({ lost: { ...current, result, message: why } });
    });
  });
}

async function main(): Promise<void> {
  console.log(`package fuzz: ${CASES} cases, seed ${SEED}, package media/models/ctlens-tghmoe-demo, CPU, 3 tokens per run, watchdog ${WATCHDOG_MS / 1000} s`);
  const byResult: Record<string, number> = {};
  const byFile: Record<string, Record<string, number>> = {};
  const bad: FuzzOutcome[] = [];
  let done = 0;
  let slowest = 0;
  const count = (o: FuzzOutcome) => {
    done++;
    byResult[o.result] = (byResult[o.result] ?? 0) + 1;
    const f = (byFile[o.file] ??= {});
    f[o.result] = (f[o.result] ?? 0) + 1;
    slowest = Math.max(slowest, o.ms);
    if (['internal', 'hang', 'crash'].includes(o.result)) {
      bad.push(o);
      console.log(`  case ${o.n} ${o.file} ${o.mutation}: ${o.result}: ${o.message?.split('\n').slice(0, 4).join(' | ')}`);
    }
    if (done % 100 === 0) console.log(`  ${done} cases…`);
  };
  const t0 = performance.now();
  let from = 0;
  while (from < CASES) {
    let last = from - 1;
    const { lost } = await runWorker(from, (o) => {
      last = o.n;
      count(o);
    });
    if (!lost) {
      if (last >= CASES - 1 || last < from) break; // finished (or a worker that ran nothing: do not spin)
      from = last + 1;
      continue;
    }
    count({ ...lost, ms: NaN });
    last = lost.n;
    from = last + 1;
  }
  console.log(`\noutcomes: ${JSON.stringify(byResult)}`);
  for (const [file, counts] of Object.entries(byFile).sort()) console.log(`  ${file.padEnd(32)} ${JSON.stringify(counts)}`);
  const n = (r: string) => byResult[r] ?? 0;
  console.log(
    `${done} cases · internal errors: ${n('internal')} · hangs: ${n('hang')} · crashes: ${n('crash')} · ` +
      `slowest case ${slowest.toFixed(0)} ms · total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (bad.length) process.exitCode = 1;
}

const at = process.argv.indexOf('--worker');
if (at >= 0) void worker(Number(process.argv[at + 1]));
else void main();
