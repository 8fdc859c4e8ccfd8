"""The CT training data: ``n`` synthetic cases of a split generated once into ``<run>/data`` (resampled HU
``<split>_hu.npy`` [n,D,H,W] float16 + the dataset lines ``<split>_lines.jsonl``), and HU batches → pixel values."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

from .loop import log
from .presets import Preset
from .preprocess import PreprocessConfig, resample


def _case_hu(case) -> np.ndarray:
    """The HU a reader of the written file gets: int16 storage with the case's slope/inter, in float32."""
    from .preprocess import stored_to_hu
    from .synth import stored_values

    slope, inter = case.scaling
    return stored_to_hu(stored_values(case.phantom.hu, case.scaling), slope, inter)


def build_ct_data(preset: Preset, split: str, n: int, data_dir: str) -> dict:
    """Generate ``n`` cases of ``split`` in memory: resampled HU [n,D,H,W] (float16) + the dataset lines."""
    from .synth import dataset_lines, generate_case

    os.makedirs(data_dir, exist_ok=True)
    hu_path = os.path.join(data_dir, f"{split}_hu.npy")
    lines_path = os.path.join(data_dir, f"{split}_lines.jsonl")
    if os.path.exists(hu_path) and os.path.exists(lines_path):
        hu = np.load(hu_path, mmap_mode="r")
        if hu.shape[0] == n:
            with open(lines_path) as f:
                return {"hu": hu, "lines": [json.loads(l) for l in f]}
    part = hu_path + ".part.npy"
    while os.path.exists(part) and time.time() - os.path.getmtime(part) < 300:  # another process (--data-only) is on it
        time.sleep(20)
        if os.path.exists(hu_path) and os.path.exists(lines_path):
            return build_ct_data(preset, split, n, data_dir)
    d, h, w = preset.slices, preset.image_size, preset.image_size
    # written in place on disk (10,000 cases of 32×128×128 are 10 GB), renamed when complete
    hu_all = np.lib.format.open_memmap(hu_path + ".part.npy", mode="w+", dtype=np.float16, shape=(n, d, h, w))
    lines = []
    t0 = time.time()
    for i in range(n):
        case = generate_case(preset.seed, split, i, size=tuple(preset.synth_size))
        hu_all[i] = resample(torch.from_numpy(_case_hu(case)).permute(2, 1, 0), (d, h, w)).numpy()
        for line in dataset_lines(case, f"images/{case.id}.nii.gz"):
            line["index"] = i
            lines.append(line)
        if (i + 1) % 50 == 0 or i + 1 == n:
            log(f"data {split}: {i + 1}/{n} cases ({(time.time() - t0) / (i + 1):.2f} s/case)")
    hu_all.flush()
    del hu_all
    with open(lines_path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    os.replace(hu_path + ".part.npy", hu_path)
    return {"hu": np.load(hu_path, mmap_mode="r"), "lines": lines}


def hu_batch_to_pixels(hu: np.ndarray, pre: PreprocessConfig) -> torch.Tensor:
    """Resampled HU [B,D,H,W] → pixel_values [B,3,D,H,W] (windows + normalisation of preprocess.hu_to_pixels)."""
    x = torch.from_numpy(np.asarray(hu, dtype=np.float32))
    chans = []
    for (level, width), m, s in zip(pre.hu_windows, pre.mean, pre.std):
        chans.append((((x - (level - width / 2)) / width).clamp(0, 1) - m) / s)
    return torch.stack(chans, 1)
