import assert from 'node:assert/strict';
import { generate, type CausalLm, type GenerateConfig, type KvCache } from '../../../src/core/model/generate';
import { TextStreamer } from '../../../src/core/model/streamer';

/**
 * A toy LM whose next-token logits depend on the whole sequence so far (through the cache), so a loop that
 * recomputed or dropped the prefix would produce different tokens. It records every forward call.
 */
class ToyLm implements CausalLm {
  readonly hiddenSize = 2;
  readonly vocabSize = 7;
  readonly calls: { length: number; past: number }[] = [];
  disposed = 0;

  async embed(ids: readonly number[]): Promise<Float32Array> {
    const out = new Float32Array(ids.length * 2);
    ids.forEach((id, n) => {
      out[2 * n] = id;
      out[2 * n + 1] = 1;
    });
    return out;
  }

  newCache(): KvCache & { sum: number; n: number } {
    const lm = this;
    return {
      sum: 0,
      n: 0,
      get length() {
        return this.n;
      },
      dispose() {
        lm.disposed++;
      },
    };
  }

  async forward(embeds: Float32Array, length: number, cache: KvCache): Promise<Float32Array> {
    const c = cache as KvCache & { sum: number; n: number };
    this.calls.push({ length, past: c.n });
    for (let n = 0; n < length; n++) c.sum += embeds[2 * n]!;
    c.n += length;
    // Favour (sum of all ids so far + positions) mod 6 + 1; id 0 is EOS and wins once 9 positions are in.
    const logits = new Float32Array(7).fill(-1);
    logits[((c.sum + c.n) % 6) + 1] = 5;
    logits[2] = 3; // a strong runner-up that the repetition penalty can bring forward
    if (c.n >= 9) logits[0] = 10;
    return logits;
  }
}

/** The same toy computed without a cache: the whole sequence every time. */
function toyReference(prompt: number[], steps: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const sum = seq.reduce((a, b) => a + b, 0);
    if (seq.length >= 9) {
      out.push(0);
      break;
    }
    const next = ((sum + seq.length) % 6) + 1;
    out.push(next);
    seq.push(next);
  }
  return out;
}

const GREEDY: GenerateConfig = {
  doSample: false,
  temperature: 1,
  topP: 1,
  repetitionPenalty: 1,
  maxNewTokens: 20,
  eosTokenIds: [0],
  seed: 1,
};

async function promptOf(lm: ToyLm, ids: number[]) {
  return { embeds: await lm.embed(ids), length: ids.length };
}

describe('core/model/generate', () => {
  it('prefills once, then feeds one token per step on the cache, and stops at EOS', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [3, 1, 4]);
    const out = await generate(lm, p.embeds, p.length, GREEDY);
    assert.deepEqual(out.tokenIds, toyReference([3, 1, 4], 20));
    assert.equal(out.finishReason, 'eos');
    assert.equal(out.tokenIds.at(-1), 0);
    assert.deepEqual(lm.calls[0], { length: 3, past: 0 });
    lm.calls.slice(1).forEach((c, n) => assert.deepEqual(c, { length: 1, past: 3 + n }));
    assert.equal(lm.disposed, 1);
  });

  it('suppresses EOS until min new tokens', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [3, 1, 4]);
    const out = await generate(lm, p.embeds, p.length, { ...GREEDY, minNewTokens: 10, maxNewTokens: 10 });
    assert.equal(out.tokenIds.length, 10);
    assert.ok(!out.tokenIds.includes(0));
    assert.equal(out.finishReason, 'length');
  });

  it('stops at max new tokens', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [1]);
    const out = await generate(lm, p.embeds, p.length, { ...GREEDY, maxNewTokens: 3 });
    assert.equal(out.tokenIds.length, 3);
    assert.equal(out.finishReason, 'length');
    assert.equal(lm.calls.length, 3); // prefill + 2 steps; the third token needs no further forward
  });

  it('applies the repetition penalty to generated ids, not the prompt (as model/generate.py)', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [2]);
    // Greedy gives 4, 3, 1, 3. With penalty 2 the second 3 (logit 5 → 2.5) loses to the runner-up id 2 (logit
    // 3); the prompt's own id 2 is not penalised, so 2 can win.
    const plain = await generate(lm, p.embeds, p.length, { ...GREEDY, maxNewTokens: 4 });
    const penalised = await generate(lm, p.embeds, p.length, { ...GREEDY, maxNewTokens: 4, repetitionPenalty: 2 });
    assert.deepEqual(plain.tokenIds, [4, 3, 1, 3]);
    assert.deepEqual(penalised.tokenIds, [4, 3, 1, 2]);
  });

  it('samples reproducibly for a seed, and differently for another', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [1]);
    const cfg = { ...GREEDY, doSample: true, temperature: 3, topP: 1, maxNewTokens: 8, eosTokenIds: [] };
    const a = await generate(lm, p.embeds, p.length, { ...cfg, seed: 42 });
    const b = await generate(lm, p.embeds, p.length, { ...cfg, seed: 42 });
    assert.deepEqual(a.tokenIds, b.tokenIds);
    const others = await Promise.all([1, 2, 3, 4, 5].map((seed) => generate(lm, p.embeds, p.length, { ...cfg, seed })));
    assert.ok(others.some((o) => o.tokenIds.join() !== a.tokenIds.join()));
  });

  it('honours cancellation within one decoding step', async () => {
    const lm = new ToyLm();
    const p = await promptOf(lm, [1]);
    const ac = new AbortController();
    let tokens = 0;
    await assert.rejects(
      generate(lm, p.embeds, p.length, { ...GREEDY, eosTokenIds: [] }, {
        onToken: () => {
          if (++tokens === 3) ac.abort();
        },
      }, ac.signal),
      /^ModelError: Aborted/,
    );
    assert.equal(tokens, 3);
    assert.equal(lm.calls.length, 3); // prefill + the 2 steps that produced tokens 2 and 3; none after the abort
    assert.equal(lm.disposed, 1);
  });

  it('refuses a prompt whose embeddings do not match its length', async () => {
    const lm = new ToyLm();
    await assert.rejects(generate(lm, new Float32Array(3), 2, GREEDY), /BadInput: prompt embeddings hold 3 values, expected 2×2/);
  });
});

describe('core/model/streamer', () => {
  it('emits only complete text, holding back a broken UTF-8 sequence', () => {
    // A byte-level toy: ids are bytes; "é" is two bytes (0xC3 0xA9), so its first byte alone decodes to U+FFFD.
    const dec = new TextDecoder();
    const s = new TextStreamer((ids) => dec.decode(new Uint8Array(ids)));
    const bytes = [...new TextEncoder().encode('né a')];
    const parts = bytes.map((b) => s.push(b));
    assert.deepEqual(parts, ['n', '', 'é', ' ', 'a']);
    assert.equal(s.flush(), '');
    assert.equal(s.text, 'né a');
  });

  it('never re-emits text when the decoder rewrites the past', () => {
    const words = ['a', 'b', ',', 'c'];
    // A decoder that drops the space before punctuation: "a b" then "a b," would be "a b ," naively.
    const s = new TextStreamer((ids) => ids.map((i) => words[i]).join(' ').replace(' ,', ','));
    const parts = [0, 1, 2, 3].map((i) => s.push(i));
    assert.equal(parts.join(''), 'a b, c');
  });
});
