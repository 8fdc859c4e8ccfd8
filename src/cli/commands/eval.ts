// `ctlens eval DATASET.jsonl [--model DIR] [--json] [--shard i/N] [--out results.jsonl] [--limit N]`
// `ctlens eval --merge results-*.jsonl [--json]`
//
// Runs the model on every line of a dataset (contract C5: report and VQA samples), writes results lines (the
// dataset line plus `prediction`) as it goes, and prints the metrics of src/core/eval (the same numbers as
// `python3 -m model.evaluate --predictions … --json`). `--shard i/N` runs every N-th line from i, so a cluster
// scheduler (a Slurm array, …) can split a large dataset; `--merge` scores the shards' results together.
// Progress goes to stderr. Greedy decoding, as the M3D-Bench habit and the Python evaluator use.

import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  EvalError,
  METRIC_KEYS,
  mergeResults,
  readDataset,
  readResults,
  scoreResults,
  selectShard,
  type Metrics,
  type ResultLine,
} from '../../core/eval';
import { CtLensModel } from '../../core/model/model';
import type { PreprocessedInput } from '../../core/model/preprocess';
import { EXIT_OK, UsageError, type CliIo } from '../io';
import {
  failUserError,
  integerOption,
  interruptSignal,
  MODEL_OPTIONS_HELP,
  parseModelOptions,
  readModelInput,
} from '../model-cli';

const USAGE = [
  'usage: ctlens eval DATASET.jsonl [--shard i/N] [--out RESULTS.jsonl] [--limit N] [options]',
  '       ctlens eval --merge RESULTS.jsonl ... [--json]',
  MODEL_OPTIONS_HELP,
].join('\n');

function parseShard(text: string | undefined): [number, number] {
  if (text === undefined) return [0, 1];
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard wants i/N with 0 ≤ i < N, got '${text}'`);
  return [Number(m[1]), Number(m[2])];
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * Expands `*` and `?` in the file-name part of a path that does not exist as written (a pattern quoted past the
 * shell, or a shell without globbing), sorted; other paths are returned as they are.
 */
export async function expandPattern(file: string): Promise<string[]> {
  const base = path.basename(file);
  if (!/[*?]/.test(base) || existsSync(file)) return [file];
  const dir = path.dirname(file);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [file];
  }
  const hits = names.filter((n) => re.test(n)).sort();
  if (hits.length === 0) throw new UsageError(`no file matches ${file}`);
  return hits.map((n) => path.join(dir, n));
}

/** --json prints exactly the metric keys of `python3 -m model.evaluate --json`, so the two can be compared. */
function printMetrics(io: CliIo, metrics: Metrics, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify(metrics)}\n`);
    return;
  }
  const rows = METRIC_KEYS.map((k) => {
    const v = metrics[k];
    return `  ${k.padEnd(20)} ${v === null ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(4)}`;
  });
  io.stdout(`${rows.join('\n')}\n`);
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  const wantsJson = args.includes('--json');
  const interrupt = interruptSignal();
  try {
    const opts = parseModelOptions(args, io, ['shard', 'out', 'limit'], ['merge']);
    if (opts.flags.has('merge')) {
      if (opts.positional.length === 0) throw new UsageError(`--merge needs results files\n${USAGE}`);
      const files = (await Promise.all(opts.positional.map((f) => expandPattern(path.resolve(io.cwd, f))))).flat();
      const parts = await Promise.all(files.map(async (f) => readResults(await readText(f), path.relative(io.cwd, f))));
      const merged = mergeResults(parts);
      io.stderr(`eval: merged ${parts.length} files, ${merged.length} results\n`);
      printMetrics(io, scoreResults(merged), opts.json);
      return EXIT_OK;
    }
    if (opts.positional.length !== 1) throw new UsageError(`one DATASET.jsonl expected\n${USAGE}`);
    const datasetPath = path.resolve(io.cwd, opts.positional[0]!);
    const [shard, shards] = parseShard(opts.values.shard);
    let lines = selectShard(readDataset(await readText(datasetPath), opts.positional[0]), shard, shards);
    if (opts.values.limit !== undefined) lines = lines.slice(0, integerOption('limit', opts.values.limit, 1));
    if (lines.length === 0) throw new EvalError('Empty', `shard ${shard}/${shards} of ${opts.positional[0]} has no lines`);
    const out = opts.values.out ? path.resolve(io.cwd, opts.values.out) : null;
    if (out) await writeFile(out, '');

    const model = await CtLensModel.load(opts.model, { executionProvider: opts.ep, threads: opts.threads, dtype: opts.dtype });
    const results: ResultLine[] = [];
    const t0 = performance.now();
    try {
      io.stderr(`eval: ${lines.length} samples (shard ${shard}/${shards}) with ${model.pkg.name} on ${model.provider.used}\n`);
      // Several lines share one volume (a report and its questions): preprocess each image once.
      let cachedImage = '';
      let cached: PreprocessedInput | null = null;
      for (const [n, line] of lines.entries()) {
        const image = path.resolve(path.dirname(datasetPath), line.image);
        if (image !== cachedImage || !cached) {
          cached = (await readModelInput(image, model.pkg.spec.preprocess, interrupt.signal)).input;
          cachedImage = image;
        }
        const r = await model.generate(
          {
            task: line.task,
            question: line.task === 'vqa' ? line.question : undefined,
            pixelValues: cached.pixelValues,
            geometry: cached.geometry,
            stats: cached.stats,
            options: { ...opts.generation, doSample: opts.generation.doSample ?? false },
          },
          {},
          interrupt.signal,
        );
        const result: ResultLine = { ...line, prediction: r.text };
        results.push(result);
        if (out) await appendFile(out, `${JSON.stringify(result)}\n`);
        const elapsed = (performance.now() - t0) / 1000;
        io.stderr(`eval: ${n + 1}/${lines.length} ${line.id} (${(elapsed / (n + 1)).toFixed(2)} s/sample)\n`);
      }
    } finally {
      await model.release();
    }
    printMetrics(io, scoreResults(results), opts.json);
    return EXIT_OK;
  } catch (err) {
    return failUserError(io, 'eval', wantsJson, err);
  } finally {
    interrupt.dispose();
  }
}
