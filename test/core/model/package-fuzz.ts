// The model-package fuzzer (issue 14), shared by the CI test (test/core/model/package-fuzz.test.ts, 80
// cases) and the benchmark (bench/package-fuzz.bench.ts, thousands). Every case is a copy of the bundled package
// with one file damaged — a JSON value changed, deleted or retyped, JSON text truncated or bit-flipped, a graph
// truncated, bit-flipped or zeroed over a range — and goes the way `ctlens report` goes: read and check the
// package, preprocess a phantom with its spec, load it on the CPU, generate a few tokens of a report and of an
// answer. Each case must end in a ModelError (any code: a named refusal) or a finished run; anything else thrown
// is an internal error, and a case that does not end within the time limit is a hang. Nothing here knows the
// bundled package's numbers: every mutation is drawn from whatever files the package holds.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtLensModel } from '../../../src/core/model/model';
import { ModelError } from '../../../src/core/model/errors';
import { readModelPackage } from '../../../src/core/model/package';
import { preprocessVolume } from '../../../src/core/model/preprocess';
import { decodeNifti } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import type { NiftiVolume } from '../../../src/core/nifti/types';
import { prng } from '../../prng';
export { prng };

export const JSON_FILES = ['config.json', 'generation_config.json', 'tokenizer_config.json', 'tokenizer.json'] as const;
export const GRAPH_FILES = ['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'] as const;

export interface FuzzCase {
  n: number;
  file: string;
  mutation: string;
}

export interface FuzzOutcome extends FuzzCase {
  /** 'ran' (loaded and generated), a ModelError code, 'internal' or 'hang'. */
  result: string;
  message?: string;
  ms: number;
}

export interface FuzzSummary {
  cases: number;
  byResult: Record<string, number>;
  byFile: Record<string, Record<string, number>>;
  internal: FuzzOutcome[];
  hangs: FuzzOutcome[];
  slowestMs: number;
  totalMs: number;
}


type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value in a JSON tree (arrays longer than 8 contribute their first and last 4 entries). */
function jsonPaths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) {
    const idx = v.length <= 8 ? v.map((_, i) => i) : [0, 1, 2, 3, v.length - 4, v.length - 3, v.length - 2, v.length - 1];
    for (const i of idx) jsonPaths(v[i]!, [...at, i], out);
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) jsonPaths(v[k]!, [...at, k], out);
  }
  return out;
}

/** Values that break assumptions: zero, negatives, huge, fractional, wrong types, and values from elsewhere. */
function hostileValue(rand: () => number, old: Json): Json {
  const n = typeof old === 'number' ? old : 1;
  const pool: Json[] = [
    0, -1, 1, 2, n + 1, n - 1, n * 2, Math.floor(n / 2), n * 1000, 3e15, 1e308, -1e308, 2 ** 31, 2 ** 53, 0.5, n + 0.5,
    '', 'x', '<image>', '{question}', String(n), null, true, false, [], {}, [n], [n, n], [0, 0, 0], [3e15, 1, 1],
    [-1, 64, 64], [1, 1, 1], { a: 1 }, 'a'.repeat(1000),
  ];
  return pool[Math.floor(rand() * pool.length)]!;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? {} : value;
  let parent = root as Record<string | number, Json> | Json[];
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete (parent as Record<string, Json>)[last];
  } else (parent as Record<string | number, Json>)[last] = value;
  return root;
}

/** One mutation of a JSON file's text: structured (a value changed, deleted, duplicated) or raw bytes. */
export function mutateJson(text: string, rand: () => number): { text: string; mutation: string } {
  const pick = rand();
  if (pick < 0.12) {
    const cut = Math.floor(rand() * text.length);
    return { text: text.slice(0, cut), mutation: `truncated at ${cut}` };
  }
  if (pick < 0.2) {
    const b = Buffer.from(text, 'utf8');
    const at = Math.floor(rand() * b.length);
    b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
    return { text: b.toString('latin1'), mutation: `bit flip at byte ${at}` };
  }
  const root = JSON.parse(text) as Json;
  const paths = jsonPaths(root).filter((p) => p.length > 0);
  const path = paths[Math.floor(rand() * paths.length)]!;
  const old = path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k]!, root);
  const where = path.join('.');
  if (pick < 0.35) return { text: JSON.stringify(setAt(root, path, undefined)), mutation: `deleted ${where}` };
  if (pick < 0.45 && Array.isArray(old) && old.length > 0) {
    const copy = [...old, old[0]!];
    return { text: JSON.stringify(setAt(root, path, copy)), mutation: `appended to ${where}` };
  }
  const value = hostileValue(rand, old);
  const shown = JSON.stringify(value)!.slice(0, 40);
  return { text: JSON.stringify(setAt(root, path, value)), mutation: `${where} = ${shown}` };
}

/** One mutation of a graph file: a truncation, bit flips (anywhere, or in the file's last 64 KiB where the graph
 * signature sits after the weights), or a zeroed range. */
export function mutateGraph(bytes: Buffer, rand: () => number): { bytes: Buffer; mutation: string } {
  const pick = rand();
  const b = Buffer.from(bytes);
  if (pick < 0.3) {
    const cut = Math.floor(rand() * b.length);
    return { bytes: b.subarray(0, cut), mutation: `truncated to ${cut} of ${b.length} bytes` };
  }
  if (pick < 0.85) {
    const flips = 1 + Math.floor(rand() * 8);
    const tail = rand() < 0.5;
    const from = tail ? Math.max(0, b.length - 65536) : 0;
    const at: number[] = [];
    for (let i = 0; i < flips; i++) {
      const p = from + Math.floor(rand() * (b.length - from));
      b[p] = b[p]! ^ (1 << Math.floor(rand() * 8));
      at.push(p);
    }
    return { bytes: b, mutation: `${flips} bit flip(s)${tail ? ' in the tail' : ''} at ${at.slice(0, 3).join(',')}${flips > 3 ? ',…' : ''}` };
  }
  const start = Math.floor(rand() * b.length);
  const len = Math.min(b.length - start, 1 + Math.floor(rand() * 4096));
  b.fill(rand() < 0.5 ? 0 : 0xff, start, start + len);
  return { bytes: b, mutation: `${len} bytes set at ${start}` };
}

/** Rejects with 'hang' when `p` does not settle within `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('hang')), ms);
    }),
  ]);
}

class Hang extends Error {}

/** Runs one damaged package the way `ctlens report` and `ctlens ask` do; resolves when it ran. */
async function exercise(dir: string, volume: NiftiVolume, maxNewTokens: number): Promise<void> {
  const pkg = await readModelPackage(dir);
  const input = preprocessVolume(volume, pkg.spec.preprocess);
  const model = await CtLensModel.load(dir, { executionProvider: 'cpu', threads: 1 });
  try {
    for (const [task, question] of [['report', undefined], ['vqa', 'Is there a pleural effusion?']] as const) {
      const r = await model.generate({
        task,
        question,
        pixelValues: input.pixelValues,
        geometry: input.geometry,
        stats: input.stats,
        options: { maxNewTokens, minNewTokens: maxNewTokens },
      });
      // A finished run must say what it is: the runtime's notices are never lost to a broken package.
      if (r.notices.length === 0) throw new Error('a run finished without its notices');
    }
  } finally {
    await model.release();
  }
}

export interface FuzzOptions {
  packageDir: string;
  volumeFile: string;
  cases: number;
  seed: number;
  /** Share of cases that damage a graph (the rest damage a JSON file). */
  graphShare?: number;
  maxNewTokens?: number;
  caseTimeoutMs?: number;
  /** Cases before this one are drawn (the sequence stays the same) but not run: resuming after a crash or hang. */
  from?: number;
  /** Called before each case runs (a watchdog in another process can then name the case that hung). */
  onCase?: (c: FuzzCase) => void;
  onOutcome?: (o: FuzzOutcome) => void;
}

export async function fuzzPackage(o: FuzzOptions): Promise<FuzzSummary> {
  const rand = prng(o.seed);
  const work = mkdtempSync(join(tmpdir(), 'ctlens-pkgfuzz-'));
  const dir = join(work, 'pkg');
  cpSync(o.packageDir, dir, { recursive: true });
  const originals = new Map<string, Buffer>([...JSON_FILES, ...GRAPH_FILES].map((f) => [f, readFileSync(join(o.packageDir, f))]));
  const volume = await decodeNifti(new Uint8Array(readFileSync(o.volumeFile)), { inflate: nodeInflate });
  const summary: FuzzSummary = { cases: 0, byResult: {}, byFile: {}, internal: [], hangs: [], slowestMs: 0, totalMs: 0 };
  const t0 = performance.now();
  try {
    for (let n = 0; n < o.cases; n++) {
      const graph = rand() < (o.graphShare ?? 0.3);
      const files = graph ? GRAPH_FILES : JSON_FILES;
      const file = files[Math.floor(rand() * files.length)]!;
      const original = originals.get(file)!;
      let mutation: string;
      const skip = n < (o.from ?? 0);
      if (graph) {
        const m = mutateGraph(original, rand);
        if (!skip) writeFileSync(join(dir, file), m.bytes);
        mutation = m.mutation;
      } else {
        const m = mutateJson(original.toString('utf8'), rand);
        if (!skip) writeFileSync(join(dir, file), m.text, m.mutation.startsWith('bit flip') ? 'latin1' : 'utf8');
        mutation = m.mutation;
      }
      if (n < (o.from ?? 0)) continue;
      o.onCase?.({ n, file, mutation });
      const started = performance.now();
      let result = 'ran';
      let message: string | undefined;
      try {
        await withTimeout(exercise(dir, volume, o.maxNewTokens ?? 3), o.caseTimeoutMs ?? 30000).catch((e) => {
          if (e instanceof Error && e.message === 'hang') throw new Hang();
          throw e;
        });
      } catch (e) {
        if (e instanceof Hang) result = 'hang';
        else if (e instanceof ModelError) result = e.code;
        else result = 'internal';
        message = e instanceof Error ? (result === 'internal' ? (e.stack ?? e.message) : e.message) : String(e);
      }
      const ms = performance.now() - started;
      const outcome: FuzzOutcome = { n, file, mutation, result, message, ms };
      summary.cases++;
      summary.byResult[result] = (summary.byResult[result] ?? 0) + 1;
      const f = (summary.byFile[file] ??= {});
      f[result] = (f[result] ?? 0) + 1;
      if (result === 'internal') summary.internal.push(outcome);
      if (result === 'hang') summary.hangs.push(outcome);
      summary.slowestMs = Math.max(summary.slowestMs, ms);
      o.onOutcome?.(outcome);
      writeFileSync(join(dir, file), original);
      // A hung case may still be running against this folder: later cases get a fresh one.
      if (result === 'hang') cpSync(o.packageDir, dir, { recursive: true });
    }
  } finally {
    summary.totalMs = performance.now() - t0;
    rmSync(work, { recursive: true, force: true });
  }
  return summary;
}
