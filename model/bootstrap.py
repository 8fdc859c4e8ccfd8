"""Case-level bootstrap intervals, as the model card (model/analysis.py) and the ablations (model/ablate.py) report
them: the test cases resampled with replacement, the statistic recomputed on each resample, the 2.5th and 97.5th
percentiles of the draws.

A resample pools per-case counts (a case's reports' finding tp/fp/fn, its closed questions' hits and count)
instead of averaging per-case scores, so its F1 is a micro F1 like the headline metric (model/metrics.py).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Sequence

import numpy as np

from .metrics import micro_f1

Statistic = Callable[[list], dict]  # the case ids of one resample → named values


def pooled_scores(cases: Sequence[dict], no_questions: float = float("nan")) -> tuple[float, float]:
    """Micro F1 of the summed tp/fp/fn and closed accuracy sum(hit) / sum(n) of per-case counts
    (``{"tp", "fp", "fn", "hit", "n"}``); ``no_questions`` when the cases hold no closed question."""
    tp = sum(c["tp"] for c in cases)
    fp = sum(c["fp"] for c in cases)
    fn = sum(c["fn"] for c in cases)
    n = sum(c["n"] for c in cases)
    return micro_f1(tp, fp, fn), (sum(c["hit"] for c in cases) / n if n else no_questions)


def case_bootstrap(samples: Sequence[tuple[Sequence, Statistic]], n: int, rng: np.random.Generator) -> dict:
    """``n`` draws of ``{name: value}``. A sample is (its case ids, its statistic); in every draw each sample's cases
    are resampled on their own (one ``rng.integers`` call per sample, in order) and each value is the mean over the
    samples (several seeds' paired differences pooled; with one sample, its value). Returns name → the n values."""
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(n):
        values = []
        for ids, statistic in samples:
            values.append(statistic([ids[i] for i in rng.integers(len(ids), size=len(ids))]))
        for name in values[0]:
            draws[name].append(float(np.mean([v[name] for v in values])))
    return dict(draws)


def ci95(draws: Sequence[float]) -> list[float]:
    """The 95 % percentile interval of bootstrap draws."""
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
