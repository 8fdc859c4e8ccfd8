"""The card's window probe: what a linear patch embedding can see of emphysema under two lung windows.

    python3 -m model.window_probe      # needs model/runs/demo/data (python3 -m model.train --preset demo --data-only)

Per case, the mean window value of every visual token (32 × 4 × 4 tokens of 1 × 32 × 32 input voxels, as the demo's
patch embedding sees them); a logistic regression on the 64 lowest token means plus their mean and spread, fitted
on the first 800 training cases and scored (AUC) on the next 400. Training cases only: nothing of the test split.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from .analysis import auc

DATA = os.path.join(os.path.dirname(__file__), "runs", "demo", "data")
WINDOWS = {"lung -600/1500": (-600.0, 1500.0), "low-attenuation -950/100": (-950.0, 100.0)}


def token_features(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    x = np.clip((np.asarray(hu, np.float32) - (level - width / 2)) / width, 0, 1)  # [32,128,128]
    t = x.reshape(32, 4, 32, 4, 32).mean((2, 4)).reshape(-1)  # 512 token means
    return np.concatenate([np.sort(t)[:64], [t.mean(), t.std()]])


def logistic_scores(x: np.ndarray, y: np.ndarray, xt: np.ndarray, steps: int = 3000, l2: float = 1e-2) -> np.ndarray:
    mu, sd = x.mean(0), x.std(0) + 1e-6
    x, xt = (x - mu) / sd, (xt - mu) / sd
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        g = 1 / (1 + np.exp(-(x @ w + b))) - y
        w -= 0.1 * (x.T @ g / len(y) + l2 * w)
        b -= 0.1 * g.mean()
    return xt @ w + b


def main(n_fit: int = 800, n_score: int = 400) -> int:
    hu = np.load(os.path.join(DATA, "train_hu.npy"), mmap_mode="r")
    with open(os.path.join(DATA, "train_lines.jsonl")) as f:
        labels = {l["index"]: l["labels"] for l in map(json.loads, f) if l["task"] == "report"}
    n = n_fit + n_score
    for finding in ("emphysema",):
        y = np.array([bool(labels[i][finding]) for i in range(n)])
        for name, (level, width) in WINDOWS.items():
            x = np.stack([token_features(hu[i], level, width) for i in range(n)])
            s = logistic_scores(x[:n_fit], y[:n_fit].astype(float), x[n_fit:])
            print(f"{finding} {name}: AUC {auc(list(s), list(y[n_fit:])):.3f} (fit {n_fit} / score {n_score} training cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
