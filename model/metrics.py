"""Report and VQA metrics of the benchmark, defined exactly so that the TypeScript port (src/core/eval) agrees to
1e-9 on the same results lines.

Tokenisation (every metric): ASCII letters A–Z are lower-cased (nothing else is touched), then the tokens are the
matches of ``[0-9]+(?:\\.[0-9]+)?|[a-z]+`` in order: runs of letters, and integers or decimals. Everything else
(punctuation, spaces, non-ASCII characters) only separates tokens; "12mm" gives "12", "mm".

Report metrics, over the report samples (task "report": reference ``report``, hypothesis ``prediction``):
- ``bleu1..bleu4``: corpus BLEU (Papineni et al. 2002): clipped n-gram counts summed over all samples, uniform
  weights over n = 1..N, brevity penalty exp(1 − r/c) when the total hypothesis length c is below the total
  reference length r; 0 when any p_n is 0; no smoothing.
- ``rouge1``, ``rougeL``: ROUGE-1 and ROUGE-L F1 (β = 1) per sample (unigram overlap with clipping; longest common
  subsequence), averaged over samples. A sample with an empty side scores 0.
- ``meteor``: METEOR with exact and Porter-stem matching (no synonyms, no paraphrases) and the parameters of
  Banerjee & Lavie (2005): Fmean = 10PR / (R + 9P), penalty = 0.5 (chunks / matches)^3, score = Fmean (1 − penalty);
  per sample, averaged. Alignment: first every hypothesis token, left to right, takes the leftmost unmatched
  reference token equal to it; then the remaining ones the same way comparing Porter stems. Chunks are maximal
  runs of matches adjacent in both hypothesis and reference.
- ``cider``: CIDEr-D as in pycocoevalcap (Vedantam et al. 2015) with one reference per sample: n = 1..4, TF-IDF
  n-gram vectors with document frequencies over the evaluated references (idf = log(N) − log(max(1, df))),
  clipped hypothesis weights, Gaussian length penalty σ = 6 on the token counts, mean over n, ×10; averaged over
  samples. **Scale: pycocoevalcap's (0 to 10, ×10), not a fraction**, so numbers compare with the literature.
- ``finding_f1``: micro F1 over (sample, finding) pairs for the 8 findings, positives given by the rule-based
  negation-aware labeller (model/labeller.py) applied to the reference report and to the prediction
  (2TP / (2TP + FP + FN); 1.0 when nothing is positive on either side).

VQA metrics, over the VQA samples (task "vqa"); closed = ``answer_type == "closed"`` (else: has ``choices`` or the
answer is yes/no), open otherwise:
- ``closed_vqa_accuracy`` (M3D rule): multiple choice (``choices`` present) is correct when the letter the
  prediction gives equals the answer's letter. The prediction's letter: A–D (either case) at its start, alone or
  followed by "." ")" or ":" (optionally inside "(" ), e.g. "B", "b. right lobe", "(C)"; if there is none, the choice
  whose text's tokens occur earliest in the prediction's tokens (ties: the longer choice). Yes/no questions are
  correct when the first "yes" or "no" token of the prediction equals the answer's. Other closed answers: token
  sequences equal.
- ``open_vqa_f1``: SQuAD-style token F1 (multiset overlap; tokens "a", "an", "the" dropped) per sample, averaged;
  both empty scores 1, one empty 0.
- ``n_report``, ``n_vqa``: sample counts. A metric whose group is empty is ``None`` (JSON null).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

from .labeller import FINDINGS as LABELLED_FINDINGS, label_report
from .porter import stem

TOKEN_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
ARTICLES = frozenset(("a", "an", "the"))
METRIC_KEYS = ("bleu1", "bleu2", "bleu3", "bleu4", "rouge1", "rougeL", "meteor", "cider", "closed_vqa_accuracy",
               "open_vqa_f1", "finding_f1", "n_report", "n_vqa")


def ascii_lower(text: str) -> str:
    return text.translate(_LOWER)


def tokenize(text: str) -> list[str]:
    return TOKEN_RE.findall(ascii_lower(text))


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


# --- BLEU --------------------------------------------------------------------------------------------------------
def corpus_bleu(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]], max_n: int = 4) -> list[float]:
    """[BLEU-1, …, BLEU-max_n] of the corpus (one reference per hypothesis)."""
    clipped = [0] * max_n
    total = [0] * max_n
    c = r = 0
    for h, ref in zip(hyps, refs):
        c += len(h)
        r += len(ref)
        for n in range(1, max_n + 1):
            hc, rc = ngrams(h, n), ngrams(ref, n)
            clipped[n - 1] += sum(min(k, rc[g]) for g, k in hc.items())
            total[n - 1] += max(len(h) - n + 1, 0)
    if c == 0:
        return [0.0] * max_n
    bp = 1.0 if c > r else math.exp(1.0 - r / c)
    out = []
    log_sum = 0.0
    for n in range(1, max_n + 1):
        if clipped[n - 1] == 0 or total[n - 1] == 0:
            out.extend([0.0] * (max_n - n + 1))
            break
        log_sum += math.log(clipped[n - 1] / total[n - 1])
        out.append(bp * math.exp(log_sum / n))
    return out


# --- ROUGE -------------------------------------------------------------------------------------------------------
def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def rouge1(h: Sequence[str], ref: Sequence[str]) -> float:
    if not h or not ref:
        return 0.0
    hc, rc = Counter(h), Counter(ref)
    overlap = sum(min(k, rc[g]) for g, k in hc.items())
    return _f1(overlap / len(h), overlap / len(ref))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            cur[j + 1] = prev[j] + 1 if x == y else max(prev[j + 1], cur[j])
        prev = cur
    return prev[-1]


def rouge_l(h: Sequence[str], ref: Sequence[str]) -> float:
    if not h or not ref:
        return 0.0
    lcs = lcs_length(h, ref)
    return _f1(lcs / len(h), lcs / len(ref))


# --- METEOR ------------------------------------------------------------------------------------------------------
def meteor_alignment(h: Sequence[str], ref: Sequence[str]) -> list[tuple[int, int]]:
    """Matched (hypothesis index, reference index) pairs, sorted by hypothesis index."""
    used_h = [False] * len(h)
    used_r = [False] * len(ref)
    pairs = []
    for key in (lambda w: w, stem):
        hk = [key(w) for w in h]
        rk = [key(w) for w in ref]
        for i in range(len(h)):
            if used_h[i]:
                continue
            for j in range(len(ref)):
                if not used_r[j] and rk[j] == hk[i]:
                    used_h[i] = used_r[j] = True
                    pairs.append((i, j))
                    break
    return sorted(pairs)


def meteor(h: Sequence[str], ref: Sequence[str], alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5) -> float:
    if not h or not ref:
        return 0.0
    pairs = meteor_alignment(h, ref)
    m = len(pairs)
    if m == 0:
        return 0.0
    p, r = m / len(h), m / len(ref)
    fmean = p * r / (alpha * p + (1 - alpha) * r)  # = 10PR / (R + 9P) for alpha 0.9
    chunks = 1
    for (i0, j0), (i1, j1) in zip(pairs, pairs[1:]):
        if not (i1 == i0 + 1 and j1 == j0 + 1):
            chunks += 1
    penalty = gamma * (chunks / m) ** beta
    return fmean * (1 - penalty)


# --- CIDEr-D -----------------------------------------------------------------------------------------------------
def cider_d(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]], n: int = 4, sigma: float = 6.0) -> list[float]:
    """Per-sample CIDEr-D (×10, pycocoevalcap scale); document frequencies from refs."""
    N = len(refs)
    if N == 0:
        return []
    ref_counts = [Counter() for _ in refs]
    for k, ref in enumerate(refs):
        for m in range(1, n + 1):
            ref_counts[k].update(ngrams(ref, m))
    df: Counter = Counter()
    for rc in ref_counts:
        df.update(rc.keys())
    log_n = math.log(float(N))

    def vec(counts: Counter):
        v = [dict() for _ in range(n)]
        norm = [0.0] * n
        for g, tf in counts.items():
            w = tf * (log_n - math.log(max(1.0, df[g])))
            v[len(g) - 1][g] = w
            norm[len(g) - 1] += w * w
        return v, [math.sqrt(x) for x in norm]

    scores = []
    for h, ref, rc in zip(hyps, refs, ref_counts):
        hc: Counter = Counter()
        for m in range(1, n + 1):
            hc.update(ngrams(h, m))
        vh, nh = vec(hc)
        vr, nr = vec(rc)
        delta = len(h) - len(ref)
        total = 0.0
        for m in range(n):
            val = 0.0
            for g, w in vh[m].items():
                if g in vr[m]:
                    val += min(w, vr[m][g]) * vr[m][g]
            if nh[m] != 0 and nr[m] != 0:
                val /= nh[m] * nr[m]
            total += val * math.exp(-(delta * delta) / (2 * sigma * sigma))
        scores.append(total / n * 10.0)
    return scores


# --- VQA ---------------------------------------------------------------------------------------------------------
# Whitespace spelled out (Python's \s and JavaScript's \s differ on a few control and Unicode characters).
_LETTER_RE = re.compile(r"^[ \t\n\r\f\v]*\(?[ \t\n\r\f\v]*([a-d])[ \t\n\r\f\v]*(?:[.):]|\Z)")


def answer_letter(text: str) -> str | None:
    """The A–D letter a text starts with ("B", "b. lobe", "(C)"), lower-cased, or None."""
    m = _LETTER_RE.match(ascii_lower(text))
    return m.group(1) if m else None


def _find(seq: Sequence[str], sub: Sequence[str]) -> int:
    if not sub:
        return -1
    for i in range(len(seq) - len(sub) + 1):
        if list(seq[i : i + len(sub)]) == list(sub):
            return i
    return -1


def predicted_choice(prediction: str, choices: Sequence[str]) -> str | None:
    """The letter a prediction picks among choices (A–D), lower-cased, or None."""
    letter = answer_letter(prediction)
    if letter is not None:
        return letter
    toks = tokenize(prediction)
    best = None  # (position, -length, index)
    for k, choice in enumerate(choices[:4]):
        ct = tokenize(choice)
        pos = _find(toks, ct)
        if pos >= 0 and (best is None or (pos, -len(ct)) < best[:2]):
            best = (pos, -len(ct), k)
    return "abcd"[best[2]] if best else None


def reference_choice(answer: str, choices: Sequence[str]) -> str | None:
    letter = answer_letter(answer)
    if letter is not None:
        return letter
    at = tokenize(answer)
    for k, choice in enumerate(choices[:4]):
        if tokenize(choice) == at:
            return "abcd"[k]
    return None


def first_yes_no(text: str) -> str | None:
    for t in tokenize(text):
        if t in ("yes", "no"):
            return t
    return None


def is_closed(line: dict) -> bool:
    kind = line.get("answer_type")
    if kind in ("closed", "open"):
        return kind == "closed"
    return bool(line.get("choices")) or tokenize(str(line.get("answer", ""))) in (["yes"], ["no"])


def closed_correct(line: dict, prediction: str) -> bool:
    answer = str(line.get("answer", ""))
    choices = line.get("choices")
    if choices:
        ref = reference_choice(answer, choices)
        return ref is not None and predicted_choice(prediction, choices) == ref
    yn = first_yes_no(answer)
    if yn is not None and tokenize(answer)[0] == yn:
        return first_yes_no(prediction) == yn
    return tokenize(prediction) == tokenize(answer)


def token_f1(prediction: str, answer: str) -> float:
    p = [t for t in tokenize(prediction) if t not in ARTICLES]
    a = [t for t in tokenize(answer) if t not in ARTICLES]
    if not p and not a:
        return 1.0
    if not p or not a:
        return 0.0
    common = sum((Counter(p) & Counter(a)).values())
    if common == 0:
        return 0.0
    return _f1(common / len(p), common / len(a))


# --- finding F1 --------------------------------------------------------------------------------------------------
def finding_counts(predictions: Iterable[str], references: Iterable[str]) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for pred, ref in zip(predictions, references):
        lp, lr = label_report(pred), label_report(ref)
        for f in LABELLED_FINDINGS:
            if lp[f] and lr[f]:
                tp += 1
            elif lp[f]:
                fp += 1
            elif lr[f]:
                fn += 1
    return tp, fp, fn


def micro_f1(tp: int, fp: int, fn: int) -> float:
    d = 2 * tp + fp + fn
    return 1.0 if d == 0 else 2 * tp / d


# --- all metrics of a results file -------------------------------------------------------------------------------
class ResultsError(ValueError):
    """A results line that cannot be scored (message names the line)."""


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def score(lines: Sequence[dict]) -> dict:
    """The C5 metrics of results lines (dataset lines with a ``prediction``)."""
    report_h, report_r, preds_raw, refs_raw = [], [], [], []
    closed, open_f1 = [], []
    for n, line in enumerate(lines, 1):
        where = f"line {n}" + (f" (id {line['id']})" if isinstance(line, dict) and "id" in line else "")
        if not isinstance(line, dict):
            raise ResultsError(f"{where}: not a JSON object")
        pred = line.get("prediction")
        if not isinstance(pred, str):
            raise ResultsError(f"{where}: no 'prediction' string (score results lines, not dataset lines)")
        task = line.get("task")
        if task == "report":
            ref = line.get("report")
            if not isinstance(ref, str):
                raise ResultsError(f"{where}: report sample without a 'report' string")
            report_h.append(tokenize(pred))
            report_r.append(tokenize(ref))
            preds_raw.append(pred)
            refs_raw.append(ref)
        elif task == "vqa":
            ans = line.get("answer")
            if not isinstance(ans, str):
                raise ResultsError(f"{where}: VQA sample without an 'answer' string")
            if is_closed(line):
                closed.append(1.0 if closed_correct(line, pred) else 0.0)
            else:
                open_f1.append(token_f1(pred, ans))
        else:
            raise ResultsError(f"{where}: task must be 'report' or 'vqa', got {task!r}")
    out: dict = {}
    if report_h:
        bleu = corpus_bleu(report_h, report_r, 4)
        for n in range(4):
            out[f"bleu{n + 1}"] = bleu[n]
        out["rouge1"] = _mean([rouge1(h, r) for h, r in zip(report_h, report_r)])
        out["rougeL"] = _mean([rouge_l(h, r) for h, r in zip(report_h, report_r)])
        out["meteor"] = _mean([meteor(h, r) for h, r in zip(report_h, report_r)])
        out["cider"] = _mean(cider_d(report_h, report_r))
        out["finding_f1"] = micro_f1(*finding_counts(preds_raw, refs_raw))
    else:
        for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge1", "rougeL", "meteor", "cider", "finding_f1"):
            out[k] = None
    out["closed_vqa_accuracy"] = _mean(closed)
    out["open_vqa_f1"] = _mean(open_f1)
    out["n_report"] = len(report_h)
    out["n_vqa"] = len(closed) + len(open_f1)
    return {k: out[k] for k in METRIC_KEYS}
