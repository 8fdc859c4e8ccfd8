// What the model commands (report, ask, eval, bench) share: their options, where the bundled model is, reading a
// volume into the model's input, and turning known errors into exit code 2 with a one-line message (or {error}).

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { decodeNifti, NiftiError } from '../core/nifti';
import { nodeInflate } from '../core/nifti/inflate-node';
import { ModelError } from '../core/model/errors';
import { preprocessVolume, type PreprocessedInput, type PreprocessSpec } from '../core/model/preprocess';
import { EvalError } from '../core/eval';
import { MODEL_DTYPES, type ModelDtype } from '../core/model/dtype';
import { fallbackNote } from '../core/model/provider-note';
import type { ExecutionProviderChoice, GenerationOptions, ProviderReport } from '../shared/modelhost-protocol';
import { EXIT_INTERNAL, EXIT_USER_ERROR, readInputFile, UsageError, type CliIo } from './io';

export const DEFAULT_MODEL_NAME = 'ctlens-tghmoe-demo';
const PROVIDERS: readonly ExecutionProviderChoice[] = ['auto', 'cuda', 'webgpu', 'dml', 'coreml', 'cpu'];

/**
 * The bundled model, found from this file's own location — dist/cli.js in an installed extension or a checkout,
 * src/cli/*.ts under tsx — never from the current directory.
 */
export function defaultModelDir(from: string = __dirname): string {
  let dir = from;
  for (let up = 0; up < 5; up++) {
    const candidate = path.join(dir, 'media', 'models', DEFAULT_MODEL_NAME);
    if (existsSync(path.join(candidate, 'config.json'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve(from, '..', 'media', 'models', DEFAULT_MODEL_NAME);
}

export interface ModelOptions {
  positional: string[];
  json: boolean;
  model: string;
  ep: ExecutionProviderChoice;
  /** The graphs' weights: fp32 (default), fp16, or auto (fp16 on WebGPU where the package has them). */
  dtype: ModelDtype;
  threads?: number;
  generation: GenerationOptions;
  /** Command-specific flags with a value (e.g. --shard, --out), by name without dashes. */
  values: Record<string, string>;
  /** Command-specific boolean flags. */
  flags: Set<string>;
}

/**
 * Parses the options every model command takes, plus the command's own: `valueOptions` take a value,
 * `flagOptions` do not. `--name=value` and `--name value` both work.
 */
export function parseModelOptions(args: string[], io: CliIo, valueOptions: string[] = [], flagOptions: string[] = []): ModelOptions {
  const out: ModelOptions = {
    positional: [],
    json: false,
    model: defaultModelDir(),
    ep: 'auto',
    dtype: 'fp32',
    generation: {},
    values: {},
    flags: new Set(),
  };
  for (let n = 0; n < args.length; n++) {
    let a = args[n]!;
    let inline: string | undefined;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      if (n + 1 >= args.length) throw new UsageError(`${a} needs a value`);
      return args[++n]!;
    };
    switch (a) {
      case '--json':
        out.json = true;
        break;
      case '--model':
        out.model = path.resolve(io.cwd, value());
        break;
      case '--ep':
        out.ep = choiceOption('ep', value(), PROVIDERS);
        break;
      case '--dtype':
        out.dtype = choiceOption('dtype', value(), MODEL_DTYPES);
        break;
      case '--threads':
        out.threads = integerOption('threads', value(), 1);
        break;
      case '--max-tokens':
        out.generation.maxNewTokens = integerOption('max-tokens', value(), 1);
        break;
      case '--sample':
        out.generation.doSample = true;
        break;
      case '--temperature':
        out.generation.temperature = numberOption('temperature', value(), (x) => x > 0, 'a number > 0');
        out.generation.doSample = true;
        break;
      case '--top-p':
        out.generation.topP = numberOption('top-p', value(), (x) => x > 0 && x <= 1, 'a number in (0, 1]');
        out.generation.doSample = true;
        break;
      case '--repetition-penalty':
        out.generation.repetitionPenalty = numberOption('repetition-penalty', value(), (x) => x > 0, 'a number > 0');
        break;
      case '--seed':
        out.generation.seed = integerOption('seed', value(), 0);
        break;
      default: {
        const name = a.replace(/^--/, '');
        if (a.startsWith('--') && valueOptions.includes(name)) out.values[name] = value();
        else if (a.startsWith('--') && flagOptions.includes(name)) out.flags.add(name);
        else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
        else out.positional.push(a);
      }
    }
  }
  return out;
}

/** The number an option's text names, checked: `--NAME must be WANT, got 'TEXT'` otherwise. */
export function numberOption(name: string, text: string, check: (n: number) => boolean, want: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${want}, got '${text}'`);
  return n;
}

/** An integer option (a count, a seed) of at least `min`. */
/** `text` if it is one of `choices`, else the usage error naming them. */
function choiceOption<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${name} must be one of ${choices.join(' | ')}, got '${text}'`);
  return text as T;
}

export function integerOption(name: string, text: string, min: number): number {
  return numberOption(name, text, (n) => Number.isInteger(n) && n >= min, `an integer ≥ ${min}`);
}

export const MODEL_OPTIONS_HELP = [
  '  --model DIR            model package (default: the bundled ctlens-tghmoe-demo)',
  '  --ep auto|cuda|webgpu|dml|coreml|cpu   execution provider (default auto: GPU if one works, else CPU)',
  '  --dtype fp32|fp16|auto weights (default fp32; auto: fp16 on WebGPU where the package has onnx/*_fp16.onnx)',
  '  --threads N            CPU threads for onnxruntime (default: all cores)',
  '  --max-tokens N         most new tokens (default: the package generation_config)',
  '  --sample, --temperature T, --top-p P, --seed S, --repetition-penalty R   sampling (default: greedy)',
  '  --json                 one JSON object on stdout',
].join('\n');

/** Reads and decodes a NIfTI file and turns it into the model's input tensor. */
export async function readModelInput(
  file: string,
  spec: PreprocessSpec,
  signal?: AbortSignal,
): Promise<{ input: PreprocessedInput; decodeMs: number; preprocessMs: number }> {
  const bytes = await readInputFile(file);
  const t0 = performance.now();
  const volume = await decodeNifti(bytes, { inflate: nodeInflate, signal });
  const t1 = performance.now();
  const input = preprocessVolume(volume, spec, signal);
  return { input, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
}

/**
 * Reports an error the user can act on (bad file, bad package, bad arguments) and returns exit code 2; anything
 * else is rethrown (main prints it as an internal error, exit 1).
 */
export function failUserError(io: CliIo, command: string, json: boolean, err: unknown): number {
  let message: string;
  let code = EXIT_USER_ERROR;
  if (err instanceof UsageError) message = err.message;
  else if (err instanceof NiftiError || err instanceof EvalError) message = err.message;
  else if (err instanceof ModelError) {
    message = err.message;
    if (err.code === 'SessionFailed') code = EXIT_INTERNAL;
  } else throw err;
  if (json) io.stdout(`${JSON.stringify({ error: message })}\n`);
  else io.stderr(`ctlens ${command}: ${message}\n`);
  return code;
}

/** Aborts on Ctrl-C (first press) so generation stops within a step; returns the signal and a cleanup. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** The one stderr line saying why `auto` fell back (stdout stays the report or the JSON object). */
export function noteFallback(io: CliIo, command: string, report: ProviderReport): void {
  const note = fallbackNote(report);
  if (note) io.stderr(`ctlens ${command}: ${note}\n`);
}
