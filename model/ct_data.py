"""The CT training data: ``n`` synthetic cases of a split generated once into ``<run>/data`` (resampled HU
``<split>_hu.npy`` [n,D,H,W] float16 + the dataset lines ``<split>_lines.jsonl``), and HU batches → pixel values."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from .loop import log
from .presets import Preset
from .preprocess import PreprocessConfig, resample


def _case_hu(case) -> np.ndarray:
    """The HU a reader of the written file gets: int16 storage with the case's slope/inter, in float32."""
    from .preprocess import stored_to_hu
    from .synth import stored_values

    slope, inter = case.scaling
    return stored_to_hu(stored_values(case.phantom.hu, case.scaling), slope, inter)


def _another_writer_finished(part: str, done) -> bool:
    """While ``part`` is fresh (written to in the last 5 min), another process is building it: wait, do not clobber
    it. True once ``done()`` says it finished; False when there is no such process (or it died)."""
    while os.path.exists(part) and time.time() - os.path.getmtime(part) < 300:
        time.sleep(20)
        if done():
            return True
    return False


def build_ct_data(preset: Preset, split: str, n: int, data_dir: str, workers: int = 1) -> dict:
    """Generate ``n`` cases of ``split`` in memory: resampled HU [n,D,H,W] (float16) + the dataset lines. With
    ``workers`` > 1 that many processes generate contiguous index ranges into the same file (the same cases as one
    process: a case depends only on seed, split and index)."""
    os.makedirs(data_dir, exist_ok=True)
    hu_path = os.path.join(data_dir, f"{split}_hu.npy")
    lines_path = os.path.join(data_dir, f"{split}_lines.jsonl")
    if os.path.exists(hu_path) and os.path.exists(lines_path):
        hu = np.load(hu_path, mmap_mode="r")
        if hu.shape[0] == n:
            with open(lines_path) as f:
                return {"hu": hu, "lines": [json.loads(l) for l in f]}
    part = hu_path + ".part.npy"
    if _another_writer_finished(part, lambda: os.path.exists(hu_path) and os.path.exists(lines_path)):
        return build_ct_data(preset, split, n, data_dir)  # another process (--data-only) was on it
    d, h, w = preset.slices, preset.image_size, preset.image_size
    # written in place on disk (10,000 cases of 32×128×128 are 10 GB), renamed when complete
    np.lib.format.open_memmap(part, mode="w+", dtype=np.float16, shape=(n, d, h, w)).flush()
    workers = max(1, min(workers, n))
    bounds = [(n * k // workers, n * (k + 1) // workers) for k in range(workers)]
    if workers == 1:
        lines = _fill_cases(preset, split, part, *bounds[0])
    else:
        import multiprocessing

        # spawn, not fork: a forked child would inherit the parent's torch thread pool state
        with multiprocessing.get_context("spawn").Pool(workers, torch.set_num_threads, (1,)) as pool:
            lines = [l for chunk in pool.starmap(_fill_cases, [(preset, split, part, a, b) for a, b in bounds])
                     for l in chunk]
    with open(lines_path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    os.replace(part, hu_path)
    return {"hu": np.load(hu_path, mmap_mode="r"), "lines": lines}


def _fill_cases(preset: Preset, split: str, part: str, start: int, stop: int) -> list[dict]:
    """Cases start..stop-1 into rows of the memory-mapped ``part`` file; returns their dataset lines."""
    from .synth import dataset_lines, generate_case

    d, h, w = preset.slices, preset.image_size, preset.image_size
    hu_all = np.load(part, mmap_mode="r+")
    lines = []
    t0 = time.time()
    for i in range(start, stop):
        case = generate_case(preset.seed, split, i, size=tuple(preset.synth_size))
        hu_all[i] = resample(torch.from_numpy(_case_hu(case)).permute(2, 1, 0), (d, h, w)).numpy()
        for line in dataset_lines(case, f"images/{case.id}.nii.gz"):
            line["index"] = i
            lines.append(line)
        done = i + 1 - start
        if done % 50 == 0 or i + 1 == stop:
            log(f"data {split} {start}–{stop - 1}: {done}/{stop - start} cases ({(time.time() - t0) / done:.2f} s/case)")
    hu_all.flush()
    return lines


# The finding cells: per case and finding, the largest share of one model-input voxel the finding covers, in each
# cell of CELL = (2, 4, 4) input voxels (uint8, 255 = fully covered). Why cells, not voxels: they are the targets of
# the detail branch's per-position logits (model/detail.py), which live on a coarser grid; 16×32×32 cells of 8
# findings keep 10,000 cases in 1.3 GB.
CELL = (2, 4, 4)


def finding_cells(phantom, input_size) -> np.ndarray:
    """A phantom's finding map → [8, D/2, H/4, W/4] uint8 coverage (``CELL``), on the model input's grid."""
    from .phantom import FINDINGS

    bits = torch.from_numpy(phantom.findings).permute(2, 1, 0)  # [S,A,R] as the HU is, before resampling
    cover = torch.stack([resample(((bits >> b) & 1).float(), input_size) for b in range(len(FINDINGS))])
    cells = F.max_pool3d(cover[None], CELL)[0]
    return (cells * 255).round().to(torch.uint8).numpy()


def build_finding_cells(preset: Preset, split: str, n: int, data_dir: str) -> np.ndarray:
    """``<split>_findings.npy`` [n,8,D/2,H/4,W/4] for the cases of ``build_ct_data`` (same seed, split and index:
    the same phantoms), generated again when a run's data folder predates it."""
    from .synth import generate_case

    path = os.path.join(data_dir, f"{split}_findings.npy")
    if os.path.exists(path):
        cells = np.load(path, mmap_mode="r")
        if cells.shape[0] == n:
            return cells
    if _another_writer_finished(path + ".part.npy", lambda: os.path.exists(path)):
        return build_finding_cells(preset, split, n, data_dir)  # a second trainer started meanwhile was on it
    size = (preset.slices, preset.image_size, preset.image_size)
    shape = (n, 8) + tuple(s // c for s, c in zip(size, CELL))
    out = np.lib.format.open_memmap(path + ".part.npy", mode="w+", dtype=np.uint8, shape=shape)
    t0 = time.time()
    for i in range(n):
        out[i] = finding_cells(generate_case(preset.seed, split, i, size=tuple(preset.synth_size)).phantom, size)
        if (i + 1) % 200 == 0 or i + 1 == n:
            log(f"finding cells {split}: {i + 1}/{n} cases ({(time.time() - t0) / (i + 1):.2f} s/case)")
    out.flush()
    del out
    os.replace(path + ".part.npy", path)
    return np.load(path, mmap_mode="r")


def hu_batch_to_pixels(hu: np.ndarray, pre: PreprocessConfig) -> torch.Tensor:
    """Resampled HU [B,D,H,W] → pixel_values [B,3,D,H,W] (windows + normalisation of preprocess.hu_to_pixels)."""
    x = torch.from_numpy(np.asarray(hu, dtype=np.float32))
    chans = []
    for (level, width), m, s in zip(pre.hu_windows, pre.mean, pre.std):
        chans.append((((x - (level - width / 2)) / width).clamp(0, 1) - m) / s)
    return torch.stack(chans, 1)
