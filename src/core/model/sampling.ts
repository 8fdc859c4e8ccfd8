// Next-token selection: greedy, temperature / top-p sampling with a seedable PRNG, and the repetition penalty.
// Semantics follow Hugging Face transformers' logits processors (RepetitionPenaltyLogitsProcessor,
// TemperatureLogitsWarper, TopPLogitsWarper) so that a package's generation_config.json means the same thing
// here as in PyTorch.

export interface SamplingOptions {
  /** false: greedy (argmax). */
  doSample: boolean;
  /** > 0; 1 leaves the distribution unchanged. Ignored when greedy. */
  temperature: number;
  /** In (0, 1]; 1 disables nucleus filtering. Ignored when greedy. */
  topP: number;
  /** ≥ 1; 1 disables the penalty. Applies to greedy decoding too (as in transformers). */
  repetitionPenalty: number;
}

/** A uniform [0, 1) generator. Deterministic for a given seed, independent of Math.random. */
export type Rng = () => number;

/**
 * xoshiro128** seeded through splitmix32: small, fast, and well distributed in 32 bits, so a seed reproduces the
 * same sample on every platform.
 */
export function createRng(seed: number): Rng {
  let x = seed >>> 0;
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(v: number, k: number): number {
  return ((v << k) | (v >>> (32 - k))) >>> 0;
}

/** Index of the largest value; the first one on ties (torch.argmax does the same). NaN never wins. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > bestValue || (best < 0 && v === -Infinity)) {
      best = i;
      bestValue = v;
    }
  }
  return best < 0 ? 0 : best;
}

/**
 * Repetition penalty in place, as transformers does it: for every distinct id already in the sequence, a positive
 * logit is divided by the penalty and a negative one multiplied by it.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  const done = new Set<number>();
  for (const id of seen) {
    if (done.has(id) || id < 0 || id >= logits.length) continue;
    done.add(id);
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/**
 * Draws one id from softmax(logits / temperature) restricted to the smallest set of most likely ids whose
 * probability mass reaches topP (at least one id is always kept).
 */
export function sampleTopP(logits: Float32Array, temperature: number, topP: number, rng: Rng): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity) return 0;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((logits[i]! - max) / temperature);
    probs[i] = p;
    sum += p;
  }
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => probs[i]! > 0);
  order.sort((i, j) => probs[j]! - probs[i]! || i - j);
  let keep = order.length;
  if (topP < 1) {
    // transformers removes the tokens whose ascending cumulative mass is ≤ 1 - topP; keeping the descending
    // prefix until the mass reaches topP is the same set.
    let cumulative = 0;
    for (let r = 0; r < order.length; r++) {
      cumulative += probs[order[r]!]! / sum;
      if (cumulative >= topP) {
        keep = r + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let r = 0; r < keep; r++) kept += probs[order[r]!]!;
  let u = rng() * kept;
  for (let r = 0; r < keep; r++) {
    u -= probs[order[r]!]!;
    if (u < 0) return order[r]!;
  }
  return order[keep - 1]!;
}

/**
 * Picks the next token from the last position's logits. `logits` is modified (penalty applied), so pass a copy if
 * the caller still needs the raw values.
 */
export function selectNextToken(
  logits: Float32Array,
  history: Iterable<number>,
  options: SamplingOptions,
  rng: Rng,
): number {
  applyRepetitionPenalty(logits, history, options.repetitionPenalty);
  if (!options.doSample || options.temperature <= 0) return argmax(logits);
  return sampleTopP(logits, options.temperature, options.topP, rng);
}
