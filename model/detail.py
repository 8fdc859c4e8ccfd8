"""The local-detail branch: a small 3D CNN over the full-resolution model input that tells the 8 findings, and its
stand-alone training (``python3 -m model.detail``).

Why it exists (model/README.md, Deviation 18): a nodule or an arterial calcification is ~25 voxels at 32×128×128,
a few percent of one 32×32 patch. The ViT's linear patch embedding has one 128-wide projection per patch, so a spot
of a few pixels at any of the 1,024 positions inside a patch cannot get a detector of its own: package 2.1's finding
head read nodule, calcification and lymphadenopathy at AUC 0.46–0.63. Convolutions share one detector over every
position, and a global max keeps a finding that lives in one place. The branch's 8 beliefs reach the LLM the way
the finding head's do (CTLensMLLM.enable_detail_evidence): through a zero-initialised linear map into the summary
token, inside ``vision_encoder.onnx``, so the runtime is unchanged.

Trained first on its own (binary cross-entropy on the training reports' labels; no LLM in the loop, ~0.3 s a
case on one core), then frozen while the LLM learns to read it (the preset's stage 3).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .labeller import FINDINGS


class DetailNet(nn.Module):
    """pixel_values [B,3,D,H,W] → finding logits [B,8] (the labeller's order); the form inside the model and its
    ONNX graph: convolutions with bias and ReLU (the training form's BatchNorm folded in, ``fold_batchnorm``).

    Full resolution in the first layer (in-plane stride 2 with a 3-wide kernel still sees every voxel), three
    stride-2 stages, then the channel-wise max and mean over every position: the max for findings of a few voxels,
    the mean for the diffuse ones.
    """

    STRIDES = ((1, 2, 2), 2, 1, 2, 1)

    def __init__(self, width: int = 16, batchnorm: bool = False):
        super().__init__()
        chans = [3, width, 2 * width, 2 * width, 4 * width, 4 * width]
        blocks = []
        for cin, cout, stride in zip(chans, chans[1:], self.STRIDES):
            conv = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=not batchnorm)
            blocks.append(nn.Sequential(conv, nn.BatchNorm3d(cout), nn.ReLU()) if batchnorm
                          else nn.Sequential(conv, nn.ReLU()))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(2 * chans[-1], len(FINDINGS))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.features(pixel_values).flatten(2)  # [B,C,N]
        return self.head(torch.cat([x.amax(2), x.mean(2)], dim=1))


def fold_batchnorm(state: dict, eps: float = 1e-5) -> dict:
    """The training form's state (Conv without bias → BatchNorm) → the model form's (Conv with bias), same function
    in eval mode. Why fold: the ONNX export fuses eval BatchNorm into the convolution anyway, and the package's
    weights are read back by name (model/package.py)."""
    out = {k: v for k, v in state.items() if k.startswith("head.")}
    i = 0
    while f"features.{i}.0.weight" in state:
        w = state[f"features.{i}.0.weight"]
        scale = state[f"features.{i}.1.weight"] / torch.sqrt(state[f"features.{i}.1.running_var"] + eps)
        out[f"features.{i}.0.weight"] = w * scale.view(-1, 1, 1, 1, 1)
        out[f"features.{i}.0.bias"] = state[f"features.{i}.1.bias"] - state[f"features.{i}.1.running_mean"] * scale
        i += 1
    return out


def load_detail(path: str) -> tuple[list, dict]:
    """A ``python3 -m model.detail`` checkpoint → (HU windows, DetailNet state in the model form)."""
    ck = torch.load(path, map_location="cpu")
    return [list(w) for w in ck["windows"]], fold_batchnorm(ck["state"])


def case_labels(lines_path: str) -> np.ndarray:
    """[n,8] 0/1 per case (row of the HU array): what model/labeller.py reads from its training report, the labels
    the finding head trains on (batches.report_findings)."""
    from .batches import report_findings

    with open(lines_path) as f:
        found = report_findings([json.loads(raw) for raw in f])
    return np.asarray([found[i] for i in range(len(found))], dtype=np.float32)


def evaluate(net: nn.Module, hu, labels: np.ndarray, idx: np.ndarray, pre, batch: int = 8) -> dict:
    """Per-finding AUC (None where a finding has one class only) of ``net`` on the cases ``idx``."""
    from .analysis import auc
    from .ct_data import hu_batch_to_pixels

    idx = np.sort(idx)  # memory-mapped rows read in order
    net.eval()
    with torch.no_grad():
        scores = np.concatenate([net(hu_batch_to_pixels(hu[idx[s:s + batch]], pre)).numpy()
                                 for s in range(0, len(idx), batch)])
    net.train()
    return {k: auc(scores[:, j].tolist(), (labels[idx, j] > 0.5).tolist()) for j, k in enumerate(FINDINGS)}


def main(argv=None) -> None:
    from .ct_data import hu_batch_to_pixels
    from .loop import log
    from .preprocess import PreprocessConfig

    ap = argparse.ArgumentParser(prog="python3 -m model.detail", description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a run's data folder (train_hu.npy, train_lines.jsonl)")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt); it also keeps the monitor cases' AUC history")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--stop-after", type=int, default=None,
                    help="stop after this many steps of the --steps schedule (its checkpoint at that step)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--monitor", type=int, default=400, help="training cases held out to watch AUC (the last N)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--windows", default="-600,1500;40,400;-950,100", help="the package's HU windows, L,W;L,W;L,W")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    windows = [tuple(float(v) for v in w.split(",")) for w in a.windows.split(";")]
    pre = PreprocessConfig(hu_windows=windows)
    hu = np.load(os.path.join(a.data, "train_hu.npy"), mmap_mode="r")
    labels = case_labels(os.path.join(a.data, "train_lines.jsonl"))
    n = hu.shape[0]
    train_idx, mon_idx = np.arange(n - a.monitor), np.arange(n - a.monitor, n)
    pos_rate = labels[train_idx].mean(0)
    net = DetailNet(a.width, batchnorm=True)  # BatchNorm to train; folded when loaded
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.05)
    # balanced BCE: each finding's positives and negatives weigh alike (prevalence 0.25–0.4)
    pos_weight = torch.from_numpy((1 - pos_rate) / pos_rate.clip(1e-3))

    t0, ema = time.time(), None
    history = []
    last = min(a.steps, a.stop_after or a.steps)
    for step in range(1, last + 1):
        idx = np.sort(rng.choice(train_idx, a.batch, replace=False))
        x = hu_batch_to_pixels(hu[idx], pre)
        if rng.random() < 0.5:  # left–right flip: the labels carry no side here
            x = x.flip(-1)
        loss = F.binary_cross_entropy_with_logits(net(x), torch.from_numpy(labels[idx]), pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
        if step % 20 == 0:
            log(f"detail step {step}/{a.steps} bce {float(loss):.4f} (ema {ema:.4f}) "
                f"{(time.time() - t0) / step:.2f} s/step")
        if step % a.eval_every == 0 or step == last:
            aucs = evaluate(net, hu, labels, mon_idx, pre)
            history.append({"step": step, "auc": aucs})
            log("detail AUC " + " ".join(f"{k[:8]} " + ("—" if v is None else f"{v:.3f}") for k, v in aucs.items()))
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            torch.save({"width": a.width, "windows": windows, "state": net.state_dict(), "step": step,
                        "history": history}, a.out + ".part")
            os.replace(a.out + ".part", a.out)
    log(f"detail: done in {(time.time() - t0) / 60:.1f} min → {a.out}")


if __name__ == "__main__":
    main()
