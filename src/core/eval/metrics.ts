// The benchmark's report and VQA metrics, a port of model/metrics.py whose docstring defines each one exactly
// (tokenisation, corpus vs per-sample aggregation, METEOR alignment, CIDEr-D scale). The two agree to ≤ 1e-9 on
// the same results lines: iteration orders and the order of floating-point sums follow the Python code (Map keeps
// insertion order as Python's dict and Counter do).

import { FINDINGS, labelReport } from './labeller';
import { stem } from './porter';
import { asciiLower, tokenize } from './tokenize';

type Tokens = readonly string[];

/** n-gram counts in first-occurrence order; keys are the tokens joined by a space (tokens never hold one). */
export function ngrams(tokens: Tokens, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

function counter(tokens: Tokens): Map<string, number> {
  return ngrams(tokens, 1);
}

// --- BLEU ----------------------------------------------------------------------------------------------------------

/** [BLEU-1, …, BLEU-maxN] of a corpus, one reference per hypothesis (Papineni 2002, no smoothing). */
export function corpusBleu(hyps: readonly Tokens[], refs: readonly Tokens[], maxN = 4): number[] {
  const clipped = new Array<number>(maxN).fill(0);
  const total = new Array<number>(maxN).fill(0);
  let c = 0;
  let r = 0;
  for (let s = 0; s < hyps.length; s++) {
    const h = hyps[s]!;
    const ref = refs[s]!;
    c += h.length;
    r += ref.length;
    for (let n = 1; n <= maxN; n++) {
      const hc = ngrams(h, n);
      const rc = ngrams(ref, n);
      for (const [g, k] of hc) clipped[n - 1]! += Math.min(k, rc.get(g) ?? 0);
      total[n - 1]! += Math.max(h.length - n + 1, 0);
    }
  }
  if (c === 0) return new Array<number>(maxN).fill(0);
  const bp = c > r ? 1 : Math.exp(1 - r / c);
  const out: number[] = [];
  let logSum = 0;
  for (let n = 1; n <= maxN; n++) {
    if (clipped[n - 1] === 0 || total[n - 1] === 0) {
      while (out.length < maxN) out.push(0);
      break;
    }
    logSum += Math.log(clipped[n - 1]! / total[n - 1]!);
    out.push(bp * Math.exp(logSum / n));
  }
  return out;
}

// --- ROUGE ---------------------------------------------------------------------------------------------------------

function f1(p: number, r: number): number {
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

/** ROUGE-1 F1 of one sample (clipped unigram overlap). */
export function rouge1(h: Tokens, ref: Tokens): number {
  if (!h.length || !ref.length) return 0;
  const rc = counter(ref);
  let overlap = 0;
  for (const [g, k] of counter(h)) overlap += Math.min(k, rc.get(g) ?? 0);
  return f1(overlap / h.length, overlap / ref.length);
}

export function lcsLength(a: Tokens, b: Tokens): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 0; j < b.length; j++) {
      cur[j + 1] = x === b[j] ? prev[j]! + 1 : Math.max(prev[j + 1]!, cur[j]!);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** ROUGE-L F1 (β = 1) of one sample. */
export function rougeL(h: Tokens, ref: Tokens): number {
  if (!h.length || !ref.length) return 0;
  const lcs = lcsLength(h, ref);
  return f1(lcs / h.length, lcs / ref.length);
}

// --- METEOR --------------------------------------------------------------------------------------------------------

/** Matched [hypothesis index, reference index] pairs (exact stage, then Porter-stem stage), by hypothesis index. */
export function meteorAlignment(h: Tokens, ref: Tokens): Array<[number, number]> {
  const usedH = new Array<boolean>(h.length).fill(false);
  const usedR = new Array<boolean>(ref.length).fill(false);
  const pairs: Array<[number, number]> = [];
  for (const key of [(w: string) => w, stem]) {
    const hk = h.map(key);
    const rk = ref.map(key);
    for (let i = 0; i < h.length; i++) {
      if (usedH[i]) continue;
      for (let j = 0; j < ref.length; j++) {
        if (!usedR[j] && rk[j] === hk[i]) {
          usedH[i] = usedR[j] = true;
          pairs.push([i, j]);
          break;
        }
      }
    }
  }
  return pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** METEOR (exact + stem; α 0.9, β 3, γ 0.5) of one sample. */
export function meteor(h: Tokens, ref: Tokens, alpha = 0.9, beta = 3, gamma = 0.5): number {
  if (!h.length || !ref.length) return 0;
  const pairs = meteorAlignment(h, ref);
  const m = pairs.length;
  if (m === 0) return 0;
  const p = m / h.length;
  const r = m / ref.length;
  const fmean = (p * r) / (alpha * p + (1 - alpha) * r);
  let chunks = 1;
  for (let k = 1; k < m; k++) {
    const [i0, j0] = pairs[k - 1]!;
    const [i1, j1] = pairs[k]!;
    if (!(i1 === i0 + 1 && j1 === j0 + 1)) chunks++;
  }
  const penalty = gamma * (chunks / m) ** beta;
  return fmean * (1 - penalty);
}

// --- CIDEr-D -------------------------------------------------------------------------------------------------------

function allNgrams(tokens: Tokens, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let m = 1; m <= n; m++) for (const [g, k] of ngrams(tokens, m)) out.set(g, (out.get(g) ?? 0) + k);
  return out;
}

/** Per-sample CIDEr-D on pycocoevalcap's scale (×10); document frequencies from refs. */
export function ciderD(hyps: readonly Tokens[], refs: readonly Tokens[], n = 4, sigma = 6): number[] {
  const N = refs.length;
  if (N === 0) return [];
  const refCounts = refs.map((r) => allNgrams(r, n));
  const df = new Map<string, number>();
  for (const rc of refCounts) for (const g of rc.keys()) df.set(g, (df.get(g) ?? 0) + 1);
  const logN = Math.log(N);
  const order = (g: string) => g.split(' ').length - 1;

  const vec = (counts: Map<string, number>) => {
    const v = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    for (const [g, tf] of counts) {
      const w = tf * (logN - Math.log(Math.max(1, df.get(g) ?? 0)));
      v[order(g)]!.set(g, w);
      norm[order(g)]! += w * w;
    }
    return { v, norm: norm.map(Math.sqrt) };
  };

  const scores: number[] = [];
  for (let s = 0; s < hyps.length; s++) {
    const h = hyps[s]!;
    const ref = refs[s]!;
    const vh = vec(allNgrams(h, n));
    const vr = vec(refCounts[s]!);
    const delta = h.length - ref.length;
    let total = 0;
    for (let m = 0; m < n; m++) {
      let val = 0;
      for (const [g, w] of vh.v[m]!) {
        const wr = vr.v[m]!.get(g);
        if (wr !== undefined) val += Math.min(w, wr) * wr;
      }
      if (vh.norm[m] !== 0 && vr.norm[m] !== 0) val /= vh.norm[m]! * vr.norm[m]!;
      total += val * Math.exp(-(delta * delta) / (2 * sigma * sigma));
    }
    scores.push((total / n) * 10);
  }
  return scores;
}

// --- VQA -----------------------------------------------------------------------------------------------------------

// Whitespace spelled out as in the Python pattern (the two languages' \s differ on a few characters).
const LETTER_RE = /^[ \t\n\r\f\v]*\(?[ \t\n\r\f\v]*([a-d])[ \t\n\r\f\v]*(?:[.):]|$)/;
const ARTICLES = new Set(['a', 'an', 'the']);

/** The A–D letter a text starts with ("B", "b. lobe", "(C)"), lower-cased, or null. */
export function answerLetter(text: string): string | null {
  const m = LETTER_RE.exec(asciiLower(text));
  return m ? m[1]! : null;
}

function find(seq: Tokens, sub: Tokens): number {
  if (!sub.length) return -1;
  outer: for (let i = 0; i + sub.length <= seq.length; i++) {
    for (let k = 0; k < sub.length; k++) if (seq[i + k] !== sub[k]) continue outer;
    return i;
  }
  return -1;
}

/** The letter (a–d) a prediction picks: a leading letter, else the choice whose text occurs first (ties: longer). */
export function predictedChoice(prediction: string, choices: readonly string[]): string | null {
  const letter = answerLetter(prediction);
  if (letter !== null) return letter;
  const toks = tokenize(prediction);
  let best: { pos: number; len: number; k: number } | null = null;
  choices.slice(0, 4).forEach((choice, k) => {
    const ct = tokenize(choice);
    const pos = find(toks, ct);
    if (pos >= 0 && (best === null || pos < best.pos || (pos === best.pos && ct.length > best.len))) {
      best = { pos, len: ct.length, k };
    }
  });
  const b = best as { pos: number; len: number; k: number } | null;
  return b ? 'abcd'[b.k]! : null;
}

export function referenceChoice(answer: string, choices: readonly string[]): string | null {
  const letter = answerLetter(answer);
  if (letter !== null) return letter;
  const at = tokenize(answer);
  for (let k = 0; k < Math.min(choices.length, 4); k++) {
    const ct = tokenize(choices[k]!);
    if (ct.length === at.length && ct.every((t, i) => t === at[i])) return 'abcd'[k]!;
  }
  return null;
}

export function firstYesNo(text: string): 'yes' | 'no' | null {
  for (const t of tokenize(text)) if (t === 'yes' || t === 'no') return t;
  return null;
}

/** Fields of a VQA line the closed/open rules read. */
export interface VqaFields {
  answer?: unknown;
  answer_type?: unknown;
  choices?: unknown;
}

function choicesOf(line: VqaFields): string[] | null {
  return Array.isArray(line.choices) && line.choices.length > 0 ? line.choices.map(String) : null;
}

export function isClosed(line: VqaFields): boolean {
  if (line.answer_type === 'closed' || line.answer_type === 'open') return line.answer_type === 'closed';
  if (choicesOf(line)) return true;
  const t = tokenize(String(line.answer ?? ''));
  return t.length === 1 && (t[0] === 'yes' || t[0] === 'no');
}

/** M3D rule (see model/metrics.py). */
export function closedCorrect(line: VqaFields, prediction: string): boolean {
  const answer = String(line.answer ?? '');
  const choices = choicesOf(line);
  if (choices) {
    const ref = referenceChoice(answer, choices);
    return ref !== null && predictedChoice(prediction, choices) === ref;
  }
  const yn = firstYesNo(answer);
  if (yn !== null && tokenize(answer)[0] === yn) return firstYesNo(prediction) === yn;
  const p = tokenize(prediction);
  const a = tokenize(answer);
  return p.length === a.length && p.every((t, i) => t === a[i]);
}

/** SQuAD-style token F1 without articles. */
export function tokenF1(prediction: string, answer: string): number {
  const p = tokenize(prediction).filter((t) => !ARTICLES.has(t));
  const a = tokenize(answer).filter((t) => !ARTICLES.has(t));
  if (!p.length && !a.length) return 1;
  if (!p.length || !a.length) return 0;
  const ac = counter(a);
  let common = 0;
  for (const [g, k] of counter(p)) common += Math.min(k, ac.get(g) ?? 0);
  if (common === 0) return 0;
  return f1(common / p.length, common / a.length);
}

// --- finding F1 ----------------------------------------------------------------------------------------------------

export function findingCounts(predictions: readonly string[], references: readonly string[]): [number, number, number] {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let s = 0; s < predictions.length; s++) {
    const lp = labelReport(predictions[s]!);
    const lr = labelReport(references[s]!);
    for (const f of FINDINGS) {
      if (lp[f] && lr[f]) tp++;
      else if (lp[f]) fp++;
      else if (lr[f]) fn++;
    }
  }
  return [tp, fp, fn];
}

export function microF1(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d === 0 ? 1 : (2 * tp) / d;
}
