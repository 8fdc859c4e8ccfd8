// Soak benchmark (issue 14): one model host child process — the one the extension uses, through the same client —
// serving reports and answers in a row on several volumes, with cancels mixed in. Every 100 runs it prints the
// host's RSS (and its peak), this process's RSS and heap, and the latency of the last 100 reports and answers, so
// growth after warm-up is visible. Goal: host RSS within 5 % of its value after the first 100 runs, latency flat.
// Prints figures; asserts nothing.
//   npm run bench -- soak                         (1,000 runs: 500 reports, 500 answers)
//   CTLENS_SOAK_RUNS=200 CTLENS_SOAK_TOKENS=16 npm run bench -- soak
// Reports run to the package's own max_new_tokens (CTLENS_SOAK_TOKENS caps them); answers end by themselves
// (EOS). Every 10th run is cancelled after its first streamed token, and every 25th
// run is cancelled while still queued behind another.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../src/core/model/errors';
import { readModelPackage } from '../src/core/model/package';
import { preprocessVolume, type PreprocessedInput } from '../src/core/model/preprocess';
import { decodeNifti } from '../src/core/nifti';
import { nodeInflate } from '../src/core/nifti/inflate-node';
import { ModelHostClient } from '../src/modelhost/client';
import type { GenerateParams } from '../src/shared/modelhost-protocol';

const ROOT = join(__dirname, '..');
const PACKAGE = join(ROOT, 'media', 'models', 'ctlens-tghmoe-demo');
const RUNS = Number(process.env.CTLENS_SOAK_RUNS ?? 1000);
const TOKENS = process.env.CTLENS_SOAK_TOKENS ? Number(process.env.CTLENS_SOAK_TOKENS) : undefined;
const THREADS = Number(process.env.CTLENS_SOAK_THREADS ?? 1);
const EVERY = 100;
const VOLUMES = [
  'test/fixtures/phantoms/fixture-00.nii.gz',
  'test/fixtures/phantoms/fixture-01.nii.gz',
  'test/fixtures/phantoms/fixture-02.nii.gz',
  'test/fixtures/phantoms/fixture-03.nii.gz',
  'media/samples/head_ct_invesalius.nii.gz',
];
const QUESTIONS = ['Is there a pleural effusion?', 'Is there an enlarged heart?', 'Where is the nodule?', 'Is there emphysema?'];

/** Resident and peak resident memory of a process, MiB (Linux /proc; NaN elsewhere). */
function processMemory(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

const mib = (n: number) => `${n.toFixed(1)} MiB`;

async function main(): Promise<void> {
  const dist = join(ROOT, 'dist', 'modelhost.js');
  const useDist = existsSync(dist) && !process.env.CTLENS_SOAK_TSX;
  const host = new ModelHostClient({
    modulePath: useDist ? dist : join(ROOT, 'src', 'modelhost', 'main.ts'),
    execArgv: useDist ? [] : ['--import', 'tsx'],
    log: (line) => {
      if (!/Vulkan|BackendVk/.test(line)) console.log(`  ${line}`);
    },
  });
  const pkg = await readModelPackage(PACKAGE);
  const inputs: PreprocessedInput[] = [];
  for (const f of VOLUMES) {
    const vol = await decodeNifti(new Uint8Array(readFileSync(join(ROOT, f))), { inflate: nodeInflate });
    inputs.push(preprocessVolume(vol, pkg.spec.preprocess));
  }
  const load = await host.load({ packageDir: PACKAGE, executionProvider: 'cpu', threads: THREADS });
  const { pid } = await host.ping();
  console.log(
    `soak: ${RUNS} runs (reports ≤ ${TOKENS ?? pkg.generation.maxNewTokens} tokens, answers to EOS) on ${VOLUMES.length} volumes, host ${useDist ? 'dist/modelhost.js' : 'src via tsx'} pid ${pid}, ` +
      `${load.provider.used} × ${THREADS} thread(s), loaded in ${load.loadMs.toFixed(0)} ms`,
  );
  console.log('   runs | host RSS   (peak)     | bench RSS  heap     | report ms p50 / p90 | answer ms p50 / p90 | cancelled');

  const latency = { report: [] as number[], vqa: [] as number[] };
  let cancelled = 0;
  let failed = 0;
  let baseline = NaN;
  const started = performance.now();
  for (let n = 0; n < RUNS; n++) {
    const task = n % 2 === 0 ? 'report' : 'vqa';
    const input = inputs[Math.floor(n / 2) % inputs.length]!;
    const params: GenerateParams = {
      task,
      question: task === 'vqa' ? QUESTIONS[Math.floor(n / 2) % QUESTIONS.length] : undefined,
      pixelValues: input.pixelValues,
      geometry: input.geometry,
      stats: input.stats,
      options: task === 'report' && TOKENS ? { maxNewTokens: TOKENS } : {},
    };
    const controller = new AbortController();
    const cancelAfterFirstToken = n % 10 === 9;
    const t0 = performance.now();
    try {
      if (n % 25 === 24) {
        // A cancel of a queued request: a second request waits behind this one and is cancelled before it starts.
        const queuedController = new AbortController();
        const queued = host.generate({ ...params, task: 'vqa', question: 'Is there emphysema?' }, { signal: queuedController.signal });
        const first = host.generate(params, {});
        queuedController.abort();
        await queued.catch((e) => {
          if (!(e instanceof ModelError && e.code === 'Aborted')) throw e;
          cancelled++;
        });
        await first;
      } else {
        await host.generate(params, {
          signal: controller.signal,
          onEvent: (e) => {
            if (cancelAfterFirstToken && e.type === 'token') controller.abort();
          },
        });
      }
      if (!cancelAfterFirstToken) latency[task].push(performance.now() - t0);
    } catch (e) {
      if (e instanceof ModelError && e.code === 'Aborted') cancelled++;
      else {
        failed++;
        console.log(`  run ${n} failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    if ((n + 1) % EVERY === 0 || n + 1 === RUNS) {
      const m = processMemory(pid);
      const self = process.memoryUsage();
      if (n + 1 === EVERY) baseline = m.rss;
      const last = (xs: number[]) => xs.slice(-EVERY / 2);
      console.log(
        `  ${String(n + 1).padStart(5)} | ${mib(m.rss).padStart(10)} (${mib(m.hwm)}) | ${mib(self.rss / 2 ** 20).padStart(10)} ${mib(self.heapUsed / 2 ** 20)} | ` +
          `${percentile(last(latency.report), 0.5).toFixed(0).padStart(6)} / ${percentile(last(latency.report), 0.9).toFixed(0).padStart(5)}       | ` +
          `${percentile(last(latency.vqa), 0.5).toFixed(0).padStart(6)} / ${percentile(last(latency.vqa), 0.9).toFixed(0).padStart(5)}       | ${cancelled}`,
      );
    }
  }
  const end = processMemory(pid);
  const growth = ((end.rss - baseline) / baseline) * 100;
  console.log(
    `\nhost RSS after ${EVERY} runs ${mib(baseline)}, after ${RUNS} runs ${mib(end.rss)}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % (goal ≤ 5 %) · ` +
      `${cancelled} cancelled, ${failed} failed · ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  const { pid: after } = await host.ping();
  if (after !== pid) console.log(`the host was restarted during the soak (pid ${pid} → ${after})`);
  await host.dispose();
  if (failed > 0) process.exitCode = 1;
}

void main();
