"""Cases (a volume and its samples) → preprocessed pixel values, in DataLoader workers, with a cache.

Preprocessing is the package's: ``preprocess.hu_to_pixels`` with the preset's ``PreprocessConfig`` (canonical RAS
from the NIfTI header, anti-aliased resampling to D×H×W, the three HU windows, the 2D model's mean/std). With a cache
folder the result is kept as float16 ``<cache>/<sha1>.npy`` (key: path, size, mtime and the preprocessing), so a
volume is read and resampled once, then each epoch reads 3·D·H·W·2 bytes. A volume that cannot be read (missing,
corrupt, not 3D, non-finite, constant) is skipped — its reason logged by the trainer and counted, and remembered in
the cache as ``<sha1>.bad`` — and the case is replaced by the next readable one, so every rank keeps its batch size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from ..preprocess import PreprocessConfig, hu_to_pixels, load_canonical_hu


@dataclasses.dataclass
class Case:
    key: str  # the volume's path, or "builtin:<i>" for the preset's generated phantoms
    kind: str  # nifti | m3d-npy | builtin
    reports: list[tuple[str, str]]  # (prompt, report)
    vqa: list[tuple[str, str]]  # (question, answer)
    index: int = -1  # builtin: the row of the HU array


def cases_from_index(idx) -> list[Case]:
    """Samples grouped by volume, in the order the volumes first appear."""
    by: dict[str, Case] = {}
    for s in idx.samples:
        c = by.setdefault(s.image, Case(s.image, s.kind, [], []))
        (c.reports if s.task == "report" else c.vqa).append((s.question, s.answer))
    return list(by.values())


def cases_from_builtin(lines: list[dict]) -> list[Case]:
    """model/ct_data.py build_ct_data's lines (``index`` = row of its HU array) as cases."""
    by: dict[int, Case] = {}
    for l in lines:
        c = by.setdefault(l["index"], Case(f"builtin:{l['index']}", "builtin", [], [], l["index"]))
        if l["task"] == "report":
            c.reports.append((l["question"], l["report"]))
        else:
            c.vqa.append((l["question"], l["answer"]))
    return [by[i] for i in sorted(by)]


def load_hu(path: str, kind: str, hu_range=(-1000.0, 1000.0)) -> np.ndarray:
    """A volume file → HU [nR,nA,nS] float32 (checked: 3D, every axis ≥ 2, finite, not constant)."""
    if kind == "m3d-npy":
        arr = np.load(path)
        if arr.ndim == 4 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 3:
            raise ValueError(f"expected [1,D,H,W] or [D,H,W], got shape {list(np.shape(arr))}")
        lo, hi = hu_range
        hu = (lo + (hi - lo) * arr.astype(np.float32)).transpose(2, 1, 0)  # [D,H,W] → [R,A,S]
    else:
        hu, _ = load_canonical_hu(path)
        if hu.ndim != 3:
            raise ValueError(f"expected a 3D volume, got shape {list(hu.shape)}")
    if min(hu.shape) < 2:
        raise ValueError(f"degenerate shape {list(hu.shape)}")
    if not np.isfinite(hu).all():
        raise ValueError("non-finite voxel values")
    if float(hu.max()) == float(hu.min()):
        raise ValueError(f"constant volume ({float(hu.min())})")
    return hu


def cache_key(path: str, pre: PreprocessConfig, kind: str, hu_range) -> str:
    st = os.stat(path)
    text = json.dumps([os.path.abspath(path), st.st_size, int(st.st_mtime), kind, list(hu_range),
                       dataclasses.asdict(pre)])
    return hashlib.sha1(text.encode()).hexdigest()


def hu_pixels(hu_row: np.ndarray, pre: PreprocessConfig) -> torch.Tensor:
    """A builtin row (already resampled HU [D,H,W]) → [3,D,H,W]: the windows of hu_to_pixels."""
    from ..ct_data import hu_batch_to_pixels

    return hu_batch_to_pixels(np.asarray(hu_row)[None], pre)[0]


class CaseDataset(Dataset):
    """Item i: case i's pixel values [3,D,H,W] and the samples drawn for it this epoch (``epoch`` attribute,
    set before each epoch's DataLoader is made): one report (if it has any) and up to ``per_case`` questions,
    drawn from (seed, stage, epoch, case) — the same on every rank and in every worker."""

    def __init__(self, cases: list[Case], pre: PreprocessConfig, seed: int, stage: int, per_case: int,
                 cache: str | None = None, hu_range=(-1000.0, 1000.0), hu_array=None, max_tries: int = 16):
        self.cases, self.pre, self.seed, self.stage, self.per_case = cases, pre, seed, stage, per_case
        self.cache, self.hu_range, self.hu_array, self.max_tries = cache, tuple(hu_range), hu_array, max_tries
        self.epoch = 0
        if cache:
            os.makedirs(cache, exist_ok=True)

    def __len__(self) -> int:
        return len(self.cases)

    def pixels(self, case: Case) -> torch.Tensor:
        if case.kind == "builtin":
            return hu_pixels(self.hu_array[case.index], self.pre)
        if not os.path.isfile(case.key):
            raise FileNotFoundError("volume file missing")
        if not self.cache:
            return hu_to_pixels(load_hu(case.key, case.kind, self.hu_range), self.pre)
        base = os.path.join(self.cache, cache_key(case.key, self.pre, case.kind, self.hu_range))
        if os.path.exists(base + ".bad"):
            with open(base + ".bad") as f:
                raise ValueError(f.read().strip() + " (remembered in the cache)")
        if os.path.exists(base + ".npy"):
            return torch.from_numpy(np.load(base + ".npy").astype(np.float32))
        try:
            px = hu_to_pixels(load_hu(case.key, case.kind, self.hu_range), self.pre)
        except Exception as e:
            with open(f"{base}.bad.{os.getpid()}", "w") as f:
                f.write(f"{type(e).__name__}: {e}")
            os.replace(f"{base}.bad.{os.getpid()}", base + ".bad")
            raise
        tmp = f"{base}.{os.getpid()}.tmp.npy"
        np.save(tmp, px.numpy().astype(np.float16))
        os.replace(tmp, base + ".npy")
        return torch.from_numpy(np.load(base + ".npy").astype(np.float32))  # what a later epoch reads

    def draw(self, j: int) -> tuple[list, list]:
        case = self.cases[j]
        rng = np.random.default_rng([self.seed, self.stage, self.epoch, j])
        reports = [case.reports[int(rng.integers(len(case.reports)))]] if case.reports else []
        k = min(self.per_case, len(case.vqa))
        vqa = [case.vqa[int(i)] for i in rng.choice(len(case.vqa), k, replace=False)] if k else []
        return reports, vqa

    def __getitem__(self, i: int) -> dict:
        skipped = []
        for t in range(self.max_tries):
            j = (i + t) % len(self.cases)
            try:
                px = self.pixels(self.cases[j])
            except Exception as e:  # a bad volume never stops the run: logged, counted, replaced
                skipped.append((self.cases[j].key, f"{type(e).__name__}: {e}"))
                continue
            reports, vqa = self.draw(j)
            return {"index": j, "pixels": px, "reports": reports, "vqa": vqa, "skipped": skipped}
        raise RuntimeError(f"{self.max_tries} unreadable volumes in a row from case {i}: {skipped[-1]}")
