// A CT Lens model package (DESIGN 4): reading and validating it before anything heavy is loaded, so a broken or
// mismatched package is refused with a message naming the file or field at fault. This module reads JSON only
// (no onnxruntime), so the extension host can read a package's preprocessing spec and prompts cheaply; the graphs'
// tensor names and shapes are checked against it once sessions exist (`checkGraphs`).

import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelError } from './errors';
import { fp16GraphPath } from './dtype';
import { checkGraphSignatures } from './graphs';
import type { PreprocessSpec } from './preprocess';
import type { GraphRole } from './sessions';
import { tokenizerRegexProblem } from './tokenizer-regex';

/** Major versions of the `ctlens` block this runtime understands. */
// 2.0 (the retrained demo) changes weights and sizes, not the package format: both read the same way.
export const SUPPORTED_MAJOR_VERSIONS = [1, 2];

export const PACKAGE_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/decoder_model_merged.onnx',
] as const;

export interface MoeSpec {
  /** Encoder block indices that hold TGH-MoE FFNs (the K top blocks). */
  layers: number[];
  groups: number;
  groupNames: string[];
  expertsPerGroup: number;
  topK: number;
}

export interface PackageSpec {
  version: string;
  preprocess: PreprocessSpec;
  /** [slices, rows, cols] of the encoder's visual tokens (the routing grid). */
  patchGrid: [number, number, number];
  pooling: number[];
  moe: MoeSpec;
  promptTemplates: { report: string; vqa: string };
  imageToken: string;
  numImageTokens: number;
  /** Width of text_guidance (= LLM embedding width). */
  textGuidanceDim: number;
  trainedOn: string;
}

export interface DecoderSpec {
  layers: number;
  heads: number;
  headDim: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
}

export interface GenerationDefaults {
  maxNewTokens: number;
  eosTokenIds: number[];
  padTokenId: number | null;
  bosTokenId: number | null;
  doSample: boolean;
  temperature: number;
  topP: number;
  repetitionPenalty: number;
}

export interface ModelPackage {
  dir: string;
  /** Folder name, e.g. `ctlens-tghmoe-demo`. */
  name: string;
  spec: PackageSpec;
  decoder: DecoderSpec;
  generation: GenerationDefaults;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  graphs: Record<GraphRole, string>;
  /** The fp16 variant (onnx/<role>_fp16.onnx, see dtype.ts) when the package has all three files, else null. */
  graphsFp16: Record<GraphRole, string> | null;
  /** config.json as written (for display). */
  config: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/**
 * Bounds on what a package may declare, checked before anything is allocated from its numbers (issue 14: an absurd
 * `input_size` once reached `new Float32Array(3e15)`). Each is far above any 3D MLLM we know of (M3D, RadFM,
 * CT-CHAT: inputs of 32×256×256, vocabularies of 32k–152k, contexts of 2k–32k, 32–80 layers), so only a damaged or
 * hostile package meets them.
 */
export const PACKAGE_LIMITS = {
  /** config.json, generation_config.json, tokenizer_config.json. */
  jsonBytes: 4 * 1024 * 1024,
  /** tokenizer.json (a 150k-token BPE is ~10 MB). */
  tokenizerBytes: 64 * 1024 * 1024,
  /** One ONNX file: protobuf's own 2 GiB message limit (larger exports keep weights in external data). */
  graphBytes: 2 * 1024 * 1024 * 1024,
  /** Values of one pixel_values tensor, channels included (512 MiB of float32). */
  inputValues: 128 * 1024 * 1024,
  inputSide: 4096,
  channels: 16,
  vocab: 1 << 21,
  hidden: 1 << 16,
  layers: 1024,
  heads: 1024,
  positions: 1 << 20,
  /** MoE layers, groups, experts per group. */
  moe: 1024,
  /** Visual tokens in the routing grid (router_probs is layers × tokens × groups × experts floats). */
  gridTokens: 1 << 20,
  routerValues: 64 * 1024 * 1024,
} as const;

async function readJson(dir: string, file: string, maxBytes: number = PACKAGE_LIMITS.jsonBytes): Promise<Json> {
  let text: string;
  try {
    const size = (await stat(join(dir, file))).size;
    if (size > maxBytes) throw new ModelError('BadConfig', `${file} is ${size} bytes, above the ${maxBytes}-byte limit for this file`);
    text = await readFile(join(dir, file), 'utf8');
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError('MissingFile', `${file} is missing from the model package ${dir}`, { cause: e });
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (e) {
    throw new ModelError('BadConfig', `${file} is not a valid JSON object (${(e as Error).message})`, { cause: e });
  }
}

/** Field readers that name the file and path at fault. */
class Fields {
  constructor(
    private readonly file: string,
    private readonly obj: Json,
    private readonly path = '',
  ) {}

  private fail(key: string, want: string, got: unknown): never {
    const where = `${this.path}${key}`;
    const shown = got === undefined ? 'missing' : `got ${JSON.stringify(got)?.slice(0, 80)}`;
    throw new ModelError('BadConfig', `${this.file}: ${where} must be ${want} (${shown})`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  child(key: string): Fields {
    const v = this.obj[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(key, 'an object', v);
    return new Fields(this.file, v as Json, `${this.path}${key}.`);
  }

  str(key: string): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || v === '') this.fail(key, 'a non-empty string', v);
    return v as string;
  }

  num(key: string, check: (n: number) => boolean = Number.isFinite, want = 'a number'): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !check(v)) this.fail(key, want, v);
    return v as number;
  }

  int(key: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const want = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}..${max}`;
    return this.num(key, (n) => Number.isInteger(n) && n >= min && n <= max, want);
  }

  bool(key: string): boolean {
    const v = this.obj[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
    return v as boolean;
  }

  ints(key: string, length?: number, min = 0, max = Number.MAX_SAFE_INTEGER): number[] {
    const v = this.obj[key];
    const ok =
      Array.isArray(v) &&
      (length === undefined ? v.length <= PACKAGE_LIMITS.moe : v.length === length) &&
      v.every((n) => Number.isInteger(n) && n >= min && n <= max);
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
    if (!ok) this.fail(key, `${length ?? 'a list of'} integers ${range}`, v);
    return v as number[];
  }

  nums(key: string, length?: number): number[] {
    const v = this.obj[key];
    const ok =
      Array.isArray(v) &&
      (length === undefined ? v.length <= PACKAGE_LIMITS.moe : v.length === length) &&
      v.every((n) => typeof n === 'number' && Number.isFinite(n));
    if (!ok) this.fail(key, `${length ?? 'a list of'} numbers`, v);
    return v as number[];
  }

  strs(key: string, length?: number): string[] {
    const v = this.obj[key];
    const ok =
      Array.isArray(v) &&
      (length === undefined ? v.length <= PACKAGE_LIMITS.moe : v.length === length) &&
      v.every((s) => typeof s === 'string');
    if (!ok) this.fail(key, `${length ?? 'a list of'} strings`, v);
    return v as string[];
  }

  /** An integer or a list of integers (eos_token_id may be either). */
  intList(key: string): number[] {
    const v = this.obj[key];
    if (Number.isInteger(v)) return [v as number];
    return this.ints(key);
  }
}

/**
 * The first token of tokenizer.json whose id is not an integer in 0..vocabSize−1, as a message, else null. Checked
 * on the JSON before the tokenizer library sees it: the library does not validate ids, and one seen in the package
 * fuzz (a vocabulary entry mapped to [3e15, 1, 1]) made its constructor loop for minutes. Vocabularies are
 * token → id objects (WordLevel, BPE, WordPiece) or lists whose index is the id (Unigram).
 */
export function tokenizerIdProblem(json: Json, vocabSize: number): string | null {
  const ok = (id: unknown) => Number.isInteger(id) && (id as number) >= 0 && (id as number) < vocabSize;
  const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 40) ?? String(v);
  const model = json.model as Json | undefined;
  const vocab = model && typeof model === 'object' ? model.vocab : undefined;
  if (Array.isArray(vocab)) {
    if (vocab.length > vocabSize) return `its vocabulary lists ${vocab.length} tokens, more than vocab_size ${vocabSize}`;
  } else if (vocab && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab)) {
      if (!ok(id)) return `it maps ${shown(token)} to ${shown(id)}, not a token id below vocab_size ${vocabSize}`;
    }
  }
  if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) return 'its added_tokens is not a list';
  for (const t of (json.added_tokens as unknown[] | undefined) ?? []) {
    const o = (typeof t === 'object' && t !== null ? t : {}) as Json;
    if (!ok(o.id)) return `its added token ${shown(o.content)} has id ${shown(o.id)}, not a token id below vocab_size ${vocabSize}`;
    const bad = addedTokenProblem(o);
    if (bad) return `its added token ${shown(o.content)} ${bad}`;
  }
  return null;
}

/** An added token's fields as the tokenizer library reads them: a non-empty string and boolean flags. Seen in the
 * package fuzz: `rstrip: "{question}"` or `single_word: [1, 1, 1]` made the library's token splitting hang. */
function addedTokenProblem(o: Json): string | null {
  if (typeof o.content !== 'string' || o.content === '') return 'has no content string';
  for (const flag of ['single_word', 'lstrip', 'rstrip', 'normalized', 'special']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') return `has ${flag} ${JSON.stringify(o[flag])?.slice(0, 40)}, not true or false`;
  }
  return null;
}

/** tokenizer_config.json's added_tokens_decoder (id → added token), checked like tokenizer.json's added_tokens. */
export function tokenizerConfigProblem(config: Json, vocabSize: number): string | null {
  const dec = config.added_tokens_decoder;
  if (dec === undefined) return null;
  if (typeof dec !== 'object' || dec === null || Array.isArray(dec)) return 'added_tokens_decoder is not an object';
  for (const [id, t] of Object.entries(dec)) {
    const n = Number(id);
    if (!(Number.isInteger(n) && n >= 0 && n < vocabSize)) return `added_tokens_decoder has id ${JSON.stringify(id).slice(0, 40)}, not a token id below vocab_size ${vocabSize}`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return `added_tokens_decoder.${id} is not an object`;
    const bad = addedTokenProblem(t as Json);
    if (bad) return `added_tokens_decoder.${id} ${bad}`;
  }
  return null;
}

/** Reads `hu_windows` in either form: [[level, width], …] or [{center|level, width, name?}, …]. */
function readWindows(f: Fields): { center: number; width: number }[] {
  const v = f.raw('hu_windows');
  if (!Array.isArray(v) || v.length === 0) return f.nums('hu_windows').map(() => ({ center: 0, width: 0 }));
  return v.map((w, n) => {
    // JSON's 1e999 parses to Infinity: windows must be finite, with a positive width.
    const ok = (center: unknown, width: unknown) => Number.isFinite(center) && Number.isFinite(width) && (width as number) > 0;
    if (Array.isArray(w) && w.length === 2 && ok(w[0], w[1])) return { center: w[0], width: w[1] };
    if (typeof w === 'object' && w !== null) {
      const o = w as Json;
      const center = typeof o.center === 'number' ? o.center : o.level;
      if (ok(center, o.width)) return { center: center as number, width: o.width as number };
    }
    throw new ModelError('BadConfig', `config.json: ctlens.hu_windows[${n}] must be [level, width] or {level, width} (got ${JSON.stringify(w)})`);
  });
}

function majorVersion(v: string): number {
  const m = /^v?(\d+)/.exec(v);
  return m ? Number(m[1]) : NaN;
}

function readSpec(config: Json): PackageSpec {
  const root = new Fields('config.json', config);
  const c = root.child('ctlens');
  const versionRaw = c.raw('version');
  if (typeof versionRaw !== 'string' && typeof versionRaw !== 'number') c.str('version');
  const version = String(versionRaw);
  if (!SUPPORTED_MAJOR_VERSIONS.includes(majorVersion(version))) {
    throw new ModelError(
      'VersionMismatch',
      `config.json: ctlens.version is ${JSON.stringify(versionRaw)}, this CT Lens understands major version ${SUPPORTED_MAJOR_VERSIONS.join(', ')}`,
    );
  }
  const orientation = c.has('orientation') ? c.str('orientation') : 'RAS';
  if (orientation !== 'RAS') throw new ModelError('BadConfig', `config.json: ctlens.orientation must be "RAS" (got ${JSON.stringify(orientation)})`);
  const L = PACKAGE_LIMITS;
  const windows = readWindows(c);
  if (windows.length > L.channels) throw new ModelError('BadConfig', `config.json: ctlens.hu_windows has ${windows.length} windows, at most ${L.channels} are supported`);
  const mean = c.nums('mean', windows.length);
  const std = c.nums('std', windows.length);
  if (std.some((x) => !(x > 0))) throw new ModelError('BadConfig', `config.json: ctlens.std values must be > 0 (got ${JSON.stringify(std)})`);
  const inputSize = c.ints('input_size', 3, 1, L.inputSide) as [number, number, number];
  const inputValues = windows.length * inputSize[0] * inputSize[1] * inputSize[2];
  if (inputValues > L.inputValues) {
    throw new ModelError(
      'BadConfig',
      `config.json: ctlens.input_size ${inputSize.join('×')} × ${windows.length} channels is ${inputValues} values, above the limit of ${L.inputValues}`,
    );
  }
  const patchGrid = c.ints('patch_grid', 3, 1, L.inputSide) as [number, number, number];
  inputSize.forEach((n, a) => {
    if (n % patchGrid[a]! !== 0) {
      throw new ModelError('BadConfig', `config.json: ctlens.input_size ${inputSize.join('×')} is not a multiple of patch_grid ${patchGrid.join('×')}`);
    }
  });
  const gridTokens = patchGrid[0] * patchGrid[1] * patchGrid[2];
  if (gridTokens > L.gridTokens) throw new ModelError('BadConfig', `config.json: ctlens.patch_grid ${patchGrid.join('×')} is ${gridTokens} tokens, above the limit of ${L.gridTokens}`);
  const m = c.child('moe');
  const groups = m.int('groups', 1, L.moe);
  const moe: MoeSpec = {
    layers: m.ints('layers', undefined, 0, L.layers),
    groups,
    groupNames: m.has('group_names') ? m.strs('group_names', groups) : Array.from({ length: groups }, (_, g) => `group ${g}`),
    expertsPerGroup: m.int('experts_per_group', 1, L.moe),
    topK: m.int('top_k', 1, L.moe),
  };
  if (moe.topK > moe.expertsPerGroup) throw new ModelError('BadConfig', `config.json: ctlens.moe.top_k ${moe.topK} is more than experts_per_group ${moe.expertsPerGroup}`);
  if (new Set(moe.layers).size !== moe.layers.length) throw new ModelError('BadConfig', `config.json: ctlens.moe.layers lists a layer twice (${JSON.stringify(moe.layers)})`);
  const routerValues = moe.layers.length * gridTokens * groups * moe.expertsPerGroup;
  if (routerValues > L.routerValues) {
    throw new ModelError('BadConfig', `config.json: ctlens.moe and patch_grid make router_probs ${routerValues} values, above the limit of ${L.routerValues}`);
  }
  const t = c.child('prompt_templates');
  const imageToken = c.str('image_token');
  const promptTemplates = { report: t.str('report'), vqa: t.str('vqa') };
  if (!promptTemplates.vqa.includes('{question}')) {
    throw new ModelError('BadConfig', 'config.json: ctlens.prompt_templates.vqa must contain {question}');
  }
  return {
    version,
    preprocess: { inputSize, windows, mean, std },
    patchGrid,
    pooling: c.has('pooling') ? c.ints('pooling', undefined, 1) : [1, 1, 1],
    moe,
    promptTemplates,
    imageToken,
    numImageTokens: c.int('num_image_tokens', 1, L.positions),
    textGuidanceDim: c.has('text_guidance_dim') ? c.int('text_guidance_dim', 1, L.hidden) : 0,
    trainedOn: c.has('trained_on') ? c.str('trained_on') : 'synthetic chest CT phantoms',
  };
}

/** Decoder sizes from config.json: Hugging Face names at the top level, or an `llm` block. */
function readDecoder(config: Json): DecoderSpec {
  const root = new Fields('config.json', config);
  const f = root.has('llm') ? root.child('llm') : root;
  const pick = (...keys: string[]) => keys.find((k) => f.has(k)) ?? keys[0]!;
  const L = PACKAGE_LIMITS;
  const hiddenSize = f.int(pick('hidden_size', 'dim', 'n_embd'), 1, L.hidden);
  const heads = f.int(pick('num_attention_heads', 'heads', 'n_head'), 1, L.heads);
  if (hiddenSize % heads !== 0) throw new ModelError('BadConfig', `config.json: hidden size ${hiddenSize} is not divisible by ${heads} heads`);
  return {
    layers: f.int(pick('num_hidden_layers', 'layers', 'n_layer'), 1, L.layers),
    heads,
    headDim: f.has('head_dim') ? f.int('head_dim', 1, L.hidden) : hiddenSize / heads,
    hiddenSize,
    vocabSize: f.int(pick('vocab_size'), 1, L.vocab),
    maxPositions: f.int(pick('max_position_embeddings', 'max_positions', 'n_positions'), 1, L.positions),
  };
}

function readGeneration(gen: Json): GenerationDefaults {
  const f = new Fields('generation_config.json', gen);
  const optInt = (k: string) => (f.has(k) ? f.int(k, 0) : null);
  return {
    maxNewTokens: f.has('max_new_tokens') ? f.int('max_new_tokens', 1, PACKAGE_LIMITS.positions) : 256,
    eosTokenIds: f.intList('eos_token_id'),
    padTokenId: optInt('pad_token_id'),
    bosTokenId: optInt('bos_token_id'),
    doSample: f.has('do_sample') ? f.bool('do_sample') : false,
    temperature: f.has('temperature') ? f.num('temperature', (n) => n > 0, 'a number > 0') : 1,
    topP: f.has('top_p') ? f.num('top_p', (n) => n > 0 && n <= 1, 'a number in (0, 1]') : 1,
    repetitionPenalty: f.has('repetition_penalty') ? f.num('repetition_penalty', (n) => n > 0, 'a number > 0') : 1,
  };
}

export interface ReadPackageOptions {
  /**
   * Also read each graph's declared inputs, outputs and weight shapes and check them against config.json (default
   * true; a few small reads per file, no weights). Only tests of the JSON rules turn it off.
   */
  checkGraphs?: boolean;
}

/**
 * Reads and checks a package folder: every file present and within its size limit, the ctlens block complete, of a
 * known version and within PACKAGE_LIMITS, and (by default) the graphs' declared signatures consistent with it — all
 * before the caller allocates anything from the package's numbers.
 */
export async function readModelPackage(dir: string, options: ReadPackageOptions = {}): Promise<ModelPackage> {
  const root = resolve(dir);
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new ModelError('MissingFile', `model package folder ${root} does not exist or is not a folder`, { cause: e });
  }
  for (const file of PACKAGE_FILES) {
    try {
      await stat(join(root, file));
    } catch (e) {
      throw new ModelError('MissingFile', `${file} is missing from the model package ${root}`, { cause: e });
    }
  }
  const config = await readJson(root, 'config.json');
  const spec = readSpec(config);
  const decoder = readDecoder(config);
  if (spec.textGuidanceDim === 0) spec.textGuidanceDim = decoder.hiddenSize;
  const generation = readGeneration(await readJson(root, 'generation_config.json'));
  const tokenizerJson = await readJson(root, 'tokenizer.json', PACKAGE_LIMITS.tokenizerBytes);
  const tokenizerConfig = await readJson(root, 'tokenizer_config.json');
  const idProblem = tokenizerIdProblem(tokenizerJson, decoder.vocabSize);
  if (idProblem) throw new ModelError('BadConfig', `tokenizer.json: ${idProblem}`);
  const regexProblem = tokenizerRegexProblem(tokenizerJson);
  if (regexProblem) throw new ModelError('BadConfig', `tokenizer.json: ${regexProblem}`);
  const configProblem = tokenizerConfigProblem(tokenizerConfig, decoder.vocabSize);
  if (configProblem) throw new ModelError('BadConfig', `tokenizer_config.json: ${configProblem}`);
  for (const id of generation.eosTokenIds) {
    if (id >= decoder.vocabSize) throw new ModelError('BadConfig', `generation_config.json: eos_token_id ${id} is outside the vocabulary of ${decoder.vocabSize}`);
  }
  if (spec.numImageTokens >= decoder.maxPositions) {
    throw new ModelError('BadConfig', `config.json: ctlens.num_image_tokens ${spec.numImageTokens} leaves no room in the model's ${decoder.maxPositions} positions`);
  }
  const pkg: ModelPackage = {
    dir: root,
    name: basename(root),
    spec,
    decoder,
    generation,
    tokenizerJson,
    tokenizerConfig,
    graphs: {
      vision_encoder: join(root, 'onnx/vision_encoder.onnx'),
      embed_tokens: join(root, 'onnx/embed_tokens.onnx'),
      decoder_model_merged: join(root, 'onnx/decoder_model_merged.onnx'),
    },
    graphsFp16: null,
    config,
  };
  const fp16 = Object.fromEntries(Object.entries(pkg.graphs).map(([role, p]) => [role, fp16GraphPath(p)])) as Record<GraphRole, string>;
  const present = await Promise.all(Object.values(fp16).map((p) => stat(p).then((s) => s.isFile(), () => false)));
  if (present.every(Boolean)) pkg.graphsFp16 = fp16;
  if (options.checkGraphs ?? true) await checkGraphSignatures(pkg, PACKAGE_LIMITS.graphBytes);
  return pkg;
}
