// The decoding loop, readable top to bottom (after transformers.js): prefill the whole prompt once, then feed one
// token per step on top of the KV cache — `present.*` of one step become `past_key_values.*` of the next, so the
// prefix is never recomputed. Sessions and tensors stay behind the `CausalLm` interface (src/core/model/decoder.ts
// implements it with onnxruntime), which keeps this loop testable with a toy model.

import { ModelError, throwIfAborted } from './errors';
import { createRng, selectNextToken, type SamplingOptions } from './sampling';

/** A causal language model with a KV cache. */
export interface CausalLm {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** Input embeddings of `ids`, [ids.length × hiddenSize] row-major. */
  embed(ids: readonly number[]): Promise<Float32Array>;
  /** A fresh, empty cache (past length 0). */
  newCache(): KvCache;
  /**
   * Runs `length` new positions (embeddings [length × hiddenSize]) on top of `cache`, which it extends in place,
   * and returns the logits of the last new position (a copy the caller may modify).
   */
  forward(embeds: Float32Array, length: number, cache: KvCache): Promise<Float32Array>;
}

export interface KvCache {
  /** Positions already in the cache. */
  readonly length: number;
  /** Frees what the cache holds (GPU buffers); the cache is unusable afterwards. */
  dispose(): void;
}

export interface GenerateConfig extends SamplingOptions {
  maxNewTokens: number;
  /** EOS is suppressed until this many tokens exist (transformers' min_new_tokens; benchmarks use it). */
  minNewTokens?: number;
  eosTokenIds: number[];
  /** Seed of the sampling PRNG (ignored when greedy). */
  seed: number;
}

export interface GenerateCallbacks {
  /** Called after each new token, before the next step runs. */
  onToken?(tokenId: number, step: number): void;
  /** Called with the last-position logits of the prefill (raw, before penalty), e.g. for parity checks. */
  onPrefillLogits?(logits: Float32Array): void;
}

export interface GenerateOutput {
  tokenIds: number[];
  finishReason: 'eos' | 'length';
  prefillMs: number;
  decodeMs: number;
}

/**
 * Generates from a prompt given as embeddings (image features already in place). The repetition penalty applies
 * to the generated ids only, as model/generate.py does (the prompt holds a hundred image placeholders and the
 * question's own words, which an answer may rightly repeat). Cancelling through `signal` rejects with an Aborted
 * ModelError within one decoding step.
 */
export async function generate(
  lm: CausalLm,
  promptEmbeds: Float32Array,
  promptLength: number,
  config: GenerateConfig,
  callbacks: GenerateCallbacks = {},
  signal?: AbortSignal,
): Promise<GenerateOutput> {
  if (promptLength < 1 || promptEmbeds.length !== promptLength * lm.hiddenSize) {
    throw new ModelError('BadInput', `prompt embeddings hold ${promptEmbeds.length} values, expected ${promptLength}×${lm.hiddenSize}`);
  }
  if (!(config.maxNewTokens >= 1)) throw new ModelError('BadInput', `max new tokens must be ≥ 1, got ${config.maxNewTokens}`);
  throwIfAborted(signal);
  const rng = createRng(config.seed);
  const eos = new Set(config.eosTokenIds);
  const tokenIds: number[] = [];
  const cache = lm.newCache();
  try {
    const t0 = performance.now();
    let logits = await lm.forward(promptEmbeds, promptLength, cache);
    const prefillMs = performance.now() - t0;
    callbacks.onPrefillLogits?.(logits.slice());
    const t1 = performance.now();
    for (let step = 0; ; step++) {
      throwIfAborted(signal);
      if (tokenIds.length < (config.minNewTokens ?? 0)) for (const id of eos) logits[id] = -Infinity;
      const next = selectNextToken(logits, tokenIds, config, rng);
      tokenIds.push(next);
      if (eos.has(next)) return { tokenIds, finishReason: 'eos', prefillMs, decodeMs: performance.now() - t1 };
      callbacks.onToken?.(next, step);
      if (tokenIds.length >= config.maxNewTokens) {
        return { tokenIds, finishReason: 'length', prefillMs, decodeMs: performance.now() - t1 };
      }
      throwIfAborted(signal);
      logits = await lm.forward(await lm.embed([next]), 1, cache);
    }
  } finally {
    cache.dispose();
  }
}
