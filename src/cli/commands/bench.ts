// `ctlens bench [--model DIR] [--ep …] [--threads N] [--file F] [--runs N] [--max-tokens N] [--json]`
// Speed of the model on this machine: load time, vision encoder (with text guidance), prefill, decode tokens/s and
// a fixed-length report end to end (file decode + preprocessing + generation, after load), median of the runs,
// plus the process's peak RSS. The report length is fixed (EOS suppressed until --max-tokens, default 128) so
// runs and machines compare. The default input is the bundled sample CT.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { CtLensModel } from '../../core/model/model';
import { readModelPackage } from '../../core/model/package';
import { EXIT_OK, UsageError, type CliIo } from '../io';
import { failUserError, integerOption, MODEL_OPTIONS_HELP, parseModelOptions, readModelInput } from '../model-cli';

const USAGE = `usage: ctlens bench [--file F] [--runs N] [options]\n${MODEL_OPTIONS_HELP}`;

export function defaultBenchFile(from: string = __dirname): string | null {
  let dir = from;
  for (let up = 0; up < 5; up++) {
    const candidate = path.join(dir, 'media', 'samples', 'head_ct_invesalius.nii.gz');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface BenchFigures {
  model: string;
  provider: string;
  /** The graphs' weights (fp32, or fp16 with --dtype). */
  dtype: string;
  attempts: { provider: string; ok: boolean; error?: string }[];
  threads: number;
  runs: number;
  newTokens: number;
  loadMs: number;
  fileDecodeMs: number;
  preprocessMs: number;
  visionMs: number;
  prefillMs: number;
  decodeTokensPerSecond: number;
  decodeMsPerToken: number;
  /** Vision encoder + prefill + decode (the model's share of the report). */
  generateMs: number;
  /** File decode + preprocessing + generation. */
  reportMs: number;
  peakRssMb: number;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  const wantsJson = args.includes('--json');
  try {
    const opts = parseModelOptions(args, io, ['file', 'runs']);
    if (opts.positional.length) throw new UsageError(`unexpected '${opts.positional[0]}'\n${USAGE}`);
    const runs = opts.values.runs === undefined ? 3 : integerOption('runs', opts.values.runs, 1);
    const file = opts.values.file ? path.resolve(io.cwd, opts.values.file) : defaultBenchFile();
    if (!file) throw new UsageError('no --file given and the bundled sample CT was not found');
    const tokens = opts.generation.maxNewTokens ?? 128;
    const pkg = await readModelPackage(opts.model);
    const model = await CtLensModel.load(opts.model, { executionProvider: opts.ep, threads: opts.threads, dtype: opts.dtype });
    const samples: Omit<BenchFigures, 'model' | 'provider' | 'dtype' | 'attempts' | 'threads' | 'runs' | 'loadMs' | 'peakRssMb'>[] = [];
    try {
      // One warm-up run (first-run allocations, lazy kernels), then the measured runs.
      for (let r = 0; r <= runs; r++) {
        const t0 = performance.now();
        const { input, decodeMs, preprocessMs } = await readModelInput(file, pkg.spec.preprocess);
        const res = await model.generate({
          task: 'report',
          pixelValues: input.pixelValues,
          geometry: input.geometry,
          stats: input.stats,
          options: { ...opts.generation, doSample: false, maxNewTokens: tokens, minNewTokens: tokens },
        });
        const reportMs = performance.now() - t0;
        if (r === 0) continue;
        samples.push({
          newTokens: res.timings.newTokens,
          fileDecodeMs: decodeMs,
          preprocessMs,
          visionMs: res.timings.visionMs,
          prefillMs: res.timings.prefillMs,
          decodeTokensPerSecond: res.timings.tokensPerSecond,
          decodeMsPerToken: res.timings.tokensPerSecond > 0 ? 1000 / res.timings.tokensPerSecond : 0,
          generateMs: res.timings.totalMs,
          reportMs,
        });
      }
    } finally {
      await model.release();
    }
    const pick = (k: keyof (typeof samples)[number]) => median(samples.map((s) => s[k]));
    const figures: BenchFigures = {
      model: pkg.name,
      provider: model.provider.used,
      dtype: model.provider.dtype ?? 'fp32',
      attempts: model.provider.attempts.map(({ provider, ok, error }) => ({ provider, ok, ...(error ? { error } : {}) })),
      threads: opts.threads ?? availableParallelism(),
      runs,
      newTokens: pick('newTokens'),
      loadMs: model.loadMs,
      fileDecodeMs: pick('fileDecodeMs'),
      preprocessMs: pick('preprocessMs'),
      visionMs: pick('visionMs'),
      prefillMs: pick('prefillMs'),
      decodeTokensPerSecond: pick('decodeTokensPerSecond'),
      decodeMsPerToken: pick('decodeMsPerToken'),
      generateMs: pick('generateMs'),
      reportMs: pick('reportMs'),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
    if (opts.json) io.stdout(`${JSON.stringify(figures)}\n`);
    else {
      const f = (x: number, d = 1) => x.toFixed(d);
      const failed = figures.attempts.filter((a) => !a.ok).map((a) => `    ${a.provider}: ${a.error}`);
      const row = (label: string, value: string) => `  ${label.padEnd(34)} ${value}`;
      io.stdout(
        [
          `${figures.model} on ${figures.provider}, ${figures.dtype} (${figures.threads} threads), ${figures.runs} runs, median:`,
          ...(failed.length ? ['  providers that could not be used:', ...failed] : []),
          row('model load', `${f(figures.loadMs)} ms`),
          row('NIfTI decode', `${f(figures.fileDecodeMs)} ms`),
          row('preprocessing', `${f(figures.preprocessMs)} ms`),
          row('vision encoder (+ text guidance)', `${f(figures.visionMs)} ms`),
          row('prefill', `${f(figures.prefillMs)} ms`),
          row('decode', `${f(figures.decodeTokensPerSecond)} tokens/s`),
          row(`report of ${figures.newTokens} tokens, end to end`, `${f(figures.reportMs)} ms`),
          row('peak RSS', `${f(figures.peakRssMb)} MB`),
        ].join('\n') + '\n',
      );
    }
    return EXIT_OK;
  } catch (err) {
    return failUserError(io, 'bench', wantsJson, err);
  }
}
