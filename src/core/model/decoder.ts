// The package's language model behind the CausalLm interface of generate.ts: `embed_tokens` for input embeddings
// and `decoder_model_merged` with past_key_values.{i}.{key,value} → present.{i}.{key,value}.
//
// Token embeddings: the embed_tokens graph is a pure lookup, so the whole table is computed once at load time
// (one run over every id) and each decoding step gathers its row in JavaScript — one onnxruntime call per step
// instead of two. Tables that would be large (big vocabularies) keep calling the graph instead.

import * as ort from 'onnxruntime-node';
import type { CausalLm, KvCache } from './generate';
import { describeError, ModelError } from './errors';
import type { DecoderSpec } from './package';

/** Above this many floats the embedding table is not cached (64 MiB). */
const MAX_TABLE_FLOATS = 16 * 1024 * 1024;

/**
 * Index of the first NaN or ±Infinity in `values`, or -1. A graph with damaged weights can still load and run and
 * return NaN everywhere (issue 14: a report of 192 empty tokens and exit 0); the run must stop with a named error.
 */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

export function nonFiniteError(graph: string, what: string, values: Float32Array, at: number): ModelError {
  return new ModelError(
    'NonFiniteOutput',
    `onnx/${graph}.onnx produced ${values[at]} in ${what} (value ${at} of ${values.length}); its weights are likely damaged, so the run was stopped`,
  );
}

class OnnxKvCache implements KvCache {
  constructor(
    public length: number,
    public past: Record<string, ort.Tensor>,
  ) {}

  dispose(): void {
    for (const t of Object.values(this.past)) if (t.location !== 'cpu') t.dispose();
    this.past = {};
  }
}

export class OnnxCausalLm implements CausalLm {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  private table: Float32Array | null = null;
  /** Where the last step's present.* tensors live ('gpu-buffer' on WebGPU, 'cpu' otherwise); null before a step. */
  kvLocation: ort.Tensor.DataLocation | null = null;
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];

  private constructor(
    private readonly embedSession: ort.InferenceSession,
    private readonly decoderSession: ort.InferenceSession,
    readonly shape: DecoderSpec,
  ) {
    this.hiddenSize = shape.hiddenSize;
    this.vocabSize = shape.vocabSize;
    for (let i = 0; i < shape.layers; i++) {
      for (const kv of ['key', 'value']) {
        this.pastNames.push(`past_key_values.${i}.${kv}`);
        this.presentNames.push(`present.${i}.${kv}`);
      }
    }
  }

  static async create(
    embedSession: ort.InferenceSession,
    decoderSession: ort.InferenceSession,
    shape: DecoderSpec,
  ): Promise<OnnxCausalLm> {
    const lm = new OnnxCausalLm(embedSession, decoderSession, shape);
    if (shape.vocabSize * shape.hiddenSize <= MAX_TABLE_FLOATS) {
      const all = Array.from({ length: shape.vocabSize }, (_, i) => i);
      lm.table = await lm.runEmbed(all);
      const bad = firstNonFinite(lm.table);
      if (bad >= 0) throw nonFiniteError('embed_tokens', 'the embedding table', lm.table, bad);
    }
    return lm;
  }

  async embed(ids: readonly number[]): Promise<Float32Array> {
    const C = this.hiddenSize;
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
        throw new ModelError('BadInput', `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      }
    }
    if (!this.table) {
      const out = await this.runEmbed(ids);
      const bad = firstNonFinite(out);
      if (bad >= 0) throw nonFiniteError('embed_tokens', 'inputs_embeds', out, bad);
      return out;
    }
    const out = new Float32Array(ids.length * C);
    ids.forEach((id, n) => out.set(this.table!.subarray(id * C, (id + 1) * C), n * C));
    return out;
  }

  private async runEmbed(ids: readonly number[]): Promise<Float32Array> {
    const input = new ort.Tensor('int64', BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]);
    const out = await this.run(this.embedSession, { input_ids: input }, 'embed_tokens');
    const embeds = out.inputs_embeds;
    if (!embeds) throw new ModelError('TensorMismatch', 'embed_tokens returned no inputs_embeds');
    return (await embeds.getData()) as Float32Array;
  }

  newCache(): KvCache {
    const { heads, headDim } = this.shape;
    const past: Record<string, ort.Tensor> = {};
    for (const name of this.pastNames) past[name] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim]);
    return new OnnxKvCache(0, past);
  }

  async forward(embeds: Float32Array, length: number, cache: KvCache): Promise<Float32Array> {
    const c = cache as OnnxKvCache;
    const total = c.length + length;
    if (total > this.shape.maxPositions) {
      throw new ModelError('BadInput', `sequence of ${total} positions exceeds the model's ${this.shape.maxPositions}`);
    }
    const positions = new BigInt64Array(length);
    for (let n = 0; n < length; n++) positions[n] = BigInt(c.length + n);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, length, this.hiddenSize]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor('int64', positions, [1, length]),
      ...c.past,
    };
    const out = await this.run(this.decoderSession, feeds, 'decoder_model_merged');
    const logits = out.logits;
    if (!logits) throw new ModelError('TensorMismatch', 'decoder_model_merged returned no logits');
    const data = (await logits.getData()) as Float32Array;
    const V = this.vocabSize;
    if (data.length !== length * V) {
      throw new ModelError('TensorMismatch', `decoder_model_merged returned ${data.length} logits, expected ${length}×${V}`);
    }
    const last = data.slice((length - 1) * V, length * V);
    const bad = firstNonFinite(last);
    if (bad >= 0) {
      for (const t of Object.values(out)) if (t.location !== 'cpu') t.dispose();
      throw nonFiniteError('decoder_model_merged', `the logits at position ${total - 1}`, last, bad);
    }
    // The previous step's tensors are no longer needed; GPU-resident ones must be released explicitly.
    const old = c.past;
    c.past = {};
    for (let n = 0; n < this.pastNames.length; n++) {
      const present = out[this.presentNames[n]!];
      if (!present) throw new ModelError('TensorMismatch', `decoder_model_merged returned no ${this.presentNames[n]}`);
      c.past[this.pastNames[n]!] = present;
      this.kvLocation = present.location;
    }
    for (const t of Object.values(old)) if (t.location !== 'cpu') t.dispose();
    c.length = total;
    return last;
  }

  private async run(
    session: ort.InferenceSession,
    feeds: Record<string, ort.Tensor>,
    role: string,
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new ModelError('SessionFailed', `${role} failed: ${describeError(e)}`, { cause: e });
    }
  }
}
