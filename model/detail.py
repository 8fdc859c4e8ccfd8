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

    With ``cells`` (the mask-supervised form, Deviation 19) a 1×1×1 convolution also gives every position of the
    last grid (8×16×16 at 32×128×128) its own finding logits, trained on the phantoms' finding cells
    (ct_data.finding_cells), and a finding's logit adds the highest of them: a detector told *where* a nodule is
    learns in a few hundred steps what the case labels alone did not teach it in 1,500.
    """

    STRIDES = ((1, 2, 2), 2, 1, 2, 1)
    # input voxels per position of the last grid, per axis (D, H, W): (4, 8, 8)
    OUTPUT_STRIDE = tuple(int(v) for v in np.prod([(s, s, s) if isinstance(s, int) else s for s in STRIDES], axis=0))

    def __init__(self, width: int = 16, batchnorm: bool = False, cells: bool = False):
        super().__init__()
        chans = [3, width, 2 * width, 2 * width, 4 * width, 4 * width]
        blocks = []
        for cin, cout, stride in zip(chans, chans[1:], self.STRIDES):
            conv = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=not batchnorm)
            blocks.append(nn.Sequential(conv, nn.BatchNorm3d(cout), nn.ReLU()) if batchnorm
                          else nn.Sequential(conv, nn.ReLU()))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(2 * chans[-1], len(FINDINGS))
        self.cells = nn.Conv3d(chans[-1], len(FINDINGS), 1) if cells else None

    def forward_with_cells(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(finding logits [B,8], per-position logits [B,8,d,h,w] or None without ``cells``)."""
        f = self.features(pixel_values)
        x = f.flatten(2)  # [B,C,N]
        logits = self.head(torch.cat([x.amax(2), x.mean(2)], dim=1))
        if self.cells is None:
            return logits, None
        per_cell = self.cells(f)
        return logits + per_cell.flatten(2).amax(2), per_cell

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.forward_with_cells(pixel_values)[0]

    @staticmethod
    def shape_of(state: dict) -> dict:
        """The constructor arguments of the model form that ``state`` fits."""
        return {"width": state["features.0.0.weight"].shape[0], "cells": "cells.weight" in state}


BN_EPS = 1e-5  # torch.nn.BatchNorm3d's default, which DetailNet keeps


def fold_batchnorm(state: dict, eps: float = BN_EPS) -> dict:
    """The training form's state (Conv without bias → BatchNorm) → the model form's (Conv with bias), same function
    in eval mode. Why fold: the ONNX export fuses eval BatchNorm into the convolution anyway, and the package's
    weights are read back by name (model/package.py)."""
    out = {k: v for k, v in state.items() if k.startswith(("head.", "cells."))}
    i = 0
    while f"features.{i}.0.weight" in state:
        w = state[f"features.{i}.0.weight"]
        scale = state[f"features.{i}.1.weight"] / torch.sqrt(state[f"features.{i}.1.running_var"] + eps)
        out[f"features.{i}.0.weight"] = w * scale.view(-1, 1, 1, 1, 1)
        out[f"features.{i}.0.bias"] = state[f"features.{i}.1.bias"] - state[f"features.{i}.1.running_mean"] * scale
        i += 1
    return out


def unfold_batchnorm(folded: dict, eps: float = BN_EPS) -> dict:
    """The inverse of ``fold_batchnorm``: a model-form state (Conv with bias) → a training-form one whose BatchNorms
    have scale 1 and shift the bias, so folding it again gives the same weights exactly (1 − ε + ε is 1.0 in
    float32). Why: a package holds only the folded branch, and ``model.detail`` checkpoints are the training form."""
    out = {k: v.clone() for k, v in folded.items() if k.startswith(("head.", "cells."))}
    i = 0
    while f"features.{i}.0.weight" in folded:
        w, b = folded[f"features.{i}.0.weight"], folded[f"features.{i}.0.bias"]
        n = w.shape[0]
        out.update({f"features.{i}.0.weight": w.clone(), f"features.{i}.1.weight": torch.ones(n),
                    f"features.{i}.1.bias": b.clone(), f"features.{i}.1.running_mean": torch.zeros(n),
                    f"features.{i}.1.running_var": torch.full((n,), 1.0) - eps,
                    f"features.{i}.1.num_batches_tracked": torch.tensor(0)})
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


def cell_loss(per_cell: torch.Tensor, cover: torch.Tensor, hard_weight: float = 0.0) -> torch.Tensor:
    """Per-position BCE, balanced within each case and finding: the mean over the cells the finding covers at least
    half of one voxel of, plus the mean over the cells it does not touch (partly touched cells count for neither),
    plus ``hard_weight`` × the BCE of the highest untouched cell. Why balanced per case: a nodule fills 1–3 of
    2,048 cells, so a plain mean would teach "never". The hardest-negative term aims at look-alike spots (hilar
    vessels), which cost little in a mean yet are what the finding's logit reads (its max over positions); from
    scratch at weight 1 it flattened the nodule output to one value in 300 steps, so it is off by default."""
    target = F.max_pool3d(cover, kernel_size=[c // p for c, p in zip(cover.shape[2:], per_cell.shape[2:])])
    target = target.flatten(2)
    logit = per_cell.flatten(2)
    pos, neg = (target >= 0.5).float(), (target == 0).float()
    bce = F.binary_cross_entropy_with_logits(logit, pos, reduction="none")
    per_pos = (bce * pos).sum(2) / pos.sum(2).clamp(min=1)
    per_neg = (bce * neg).sum(2) / neg.sum(2).clamp(min=1)
    hardest = torch.where(neg > 0, logit, torch.full_like(logit, -1e4)).amax(2)
    per_hard = F.softplus(hardest) * (neg.sum(2) > 0)  # BCE of that cell against 0
    return (per_pos + per_neg + hard_weight * per_hard).mean()


SMALL = [FINDINGS.index(k) for k in ("lung_nodule", "arterial_calcification", "lymphadenopathy")]


def crop_batch(hu, cells, idx: np.ndarray, crop, rng):
    """Crops of the cases ``idx`` (HU [B,*crop], finding cells [B,8,…] of the same region), each on the net's output
    grid (starts at multiples of ``stride``) so its per-position logits line up with the cells. Half of them hold a
    small finding where the case has one (centred on a random cell it covers, jittered), the rest lie anywhere.
    Why crops: a 16×64×64 crop costs an eighth of a volume and a positive-centred one always shows the finding, so
    the detector sees a nodule many times more often per CPU-second than in whole volumes."""
    from .ct_data import CELL as cell

    stride = DetailNet.OUTPUT_STRIDE
    size = hu.shape[1:]
    xs, ts = [], []
    for i in idx:
        c = np.asarray(cells[i])
        centre = None
        if rng.random() < 0.5:
            present = [j for j in SMALL if c[j].max() >= 128]
            if present:
                where = np.argwhere(c[present[int(rng.integers(len(present)))]] >= 128)
                centre = (where[int(rng.integers(len(where)))] + 0.5) * np.asarray(cell)
        start = []
        for a, (n, m, st) in enumerate(zip(size, crop, stride)):
            if centre is None:
                lo = int(rng.integers(0, (n - m) // st + 1)) * st
            else:
                lo = int(round((centre[a] - m / 2 + rng.uniform(-m / 4, m / 4)) / st)) * st
            start.append(int(np.clip(lo, 0, n - m)))
        z, y, x = start
        xs.append(np.asarray(hu[i, z:z + crop[0], y:y + crop[1], x:x + crop[2]]))
        ts.append(c[:, z // cell[0]:(z + crop[0]) // cell[0], y // cell[1]:(y + crop[1]) // cell[1],
                    x // cell[2]:(x + crop[2]) // cell[2]])
    return np.stack(xs), torch.from_numpy(np.stack(ts)).float() / 255


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
    ap.add_argument("--train-cases", type=int, default=None, help="train on the first N cases only (default: all but the monitor cases)")
    ap.add_argument("--monitor", type=int, default=400, help="training cases held out to watch AUC (the last N)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--windows", default="-600,1500;40,400;-950,100", help="the package's HU windows, L,W;L,W;L,W")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cells", default=None, metavar="PRESET",
                    help="supervise per-position logits with the phantoms' finding cells (Deviation 19) of PRESET's "
                         "training cases, the ones in --data (built into <data>/train_findings.npy on first use)")
    ap.add_argument("--cells-weight", type=float, default=1.0, help="weight of the per-position loss")
    ap.add_argument("--crop-steps", type=int, default=0,
                    help="with --cells: first this many steps on crops, per-position loss only (crop_batch)")
    ap.add_argument("--crop", default="16,64,64",
                    help=f"crop size D,H,W (multiples of {','.join(map(str, DetailNet.OUTPUT_STRIDE))})")
    ap.add_argument("--crop-batch", type=int, default=24)
    a = ap.parse_args(argv)

    if a.crop_steps and not a.cells:
        raise SystemExit("--crop-steps needs --cells: crops are trained on the finding cells")
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    windows = [tuple(float(v) for v in w.split(",")) for w in a.windows.split(";")]
    pre = PreprocessConfig(hu_windows=windows)
    hu = np.load(os.path.join(a.data, "train_hu.npy"), mmap_mode="r")
    labels = case_labels(os.path.join(a.data, "train_lines.jsonl"))
    n = hu.shape[0]
    train_idx, mon_idx = np.arange(min(n - a.monitor, a.train_cases or n)), np.arange(n - a.monitor, n)
    pos_rate = labels[train_idx].mean(0)
    cells = None
    if a.cells:
        from .ct_data import build_finding_cells
        from .presets import PRESETS

        if a.cells not in PRESETS:
            raise SystemExit(f"--cells: no preset {a.cells!r} (one of {', '.join(PRESETS)})")
        cells = build_finding_cells(PRESETS[a.cells], "train", n, a.data)
    net = DetailNet(a.width, batchnorm=True, cells=cells is not None)  # BatchNorm to train; folded when loaded
    history = []

    def auc_line(aucs: dict) -> str:
        return " ".join(f"{k[:8]} " + ("—" if v is None else f"{v:.3f}") for k, v in aucs.items())

    def run_phase(name: str, steps: int, last: int, loss_of, log_every: int, on_eval=None) -> None:
        """``last`` of ``steps`` AdamW steps on a one-cycle schedule, each on the loss ``loss_of()`` draws."""
        opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.05)
        t0, ema = time.time(), None
        for step in range(1, last + 1):
            loss = loss_of()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
            if step % log_every == 0:
                log(f"detail {name} step {step}/{steps} loss {float(loss):.4f} (ema {ema:.4f}) "
                    f"{(time.time() - t0) / step:.2f} s/step")
            if on_eval and (step % a.eval_every == 0 or step == last):
                on_eval(step)

    def save(step: int, phase: str) -> None:
        aucs = evaluate(net, hu, labels, mon_idx, pre)
        history.append({"step": step, "phase": phase, "auc": aucs})
        log(f"detail AUC ({phase} {step}) " + auc_line(aucs))
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        torch.save({"width": a.width, "windows": windows, "state": net.state_dict(), "step": step,
                    "history": history}, a.out + ".part")
        os.replace(a.out + ".part", a.out)

    t_start = time.time()
    if a.crop_steps:
        crop = tuple(int(v) for v in a.crop.split(","))

        def crop_loss():
            hx, target = crop_batch(hu, cells, rng.choice(train_idx, a.crop_batch, replace=False), crop, rng)
            x = hu_batch_to_pixels(hx, pre)
            if rng.random() < 0.5:
                x, target = x.flip(-1), target.flip(-1)
            return cell_loss(net.forward_with_cells(x)[1], target)

        run_phase("crop", a.crop_steps, a.crop_steps, crop_loss, 50)
        save(a.crop_steps, "crops")

    # balanced BCE: each finding's positives and negatives weigh alike (prevalence 0.25–0.4)
    pos_weight = torch.from_numpy((1 - pos_rate) / pos_rate.clip(1e-3))

    def volume_loss():
        idx = np.sort(rng.choice(train_idx, a.batch, replace=False))
        x = hu_batch_to_pixels(hu[idx], pre)
        target = None if cells is None else torch.from_numpy(np.asarray(cells[idx])).float() / 255
        if rng.random() < 0.5:  # left–right flip: the labels carry no side here
            x = x.flip(-1)
            target = None if target is None else target.flip(-1)
        logits, per_cell = net.forward_with_cells(x)
        loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels[idx]), pos_weight=pos_weight)
        if per_cell is not None:
            loss = loss + a.cells_weight * cell_loss(per_cell, target)
        return loss

    run_phase("volume", a.steps, min(a.steps, a.stop_after or a.steps), volume_loss, 20,
              on_eval=lambda step: save(step, "volumes"))
    log(f"detail: done in {(time.time() - t_start) / 60:.1f} min → {a.out}")


if __name__ == "__main__":
    main()
