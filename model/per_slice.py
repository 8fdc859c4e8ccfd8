"""The per-slice encoder pass over training volumes: the patch embedding and the first ``freeze_blocks`` 2D blocks
(the frozen prefix, whose output can be computed once per volume and cached in ``<run>/data/slice_tokens_f*.npy``),
then the trainable per-slice blocks."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from .ct_data import hu_batch_to_pixels
from .loop import log
from .mllm import CTLensMLLM
from .presets import Preset
from .preprocess import PreprocessConfig


def frozen_prefix(model: CTLensMLLM, pixel_values: torch.Tensor, freeze_blocks: int) -> torch.Tensor:
    """patch embedding + the first ``freeze_blocks`` 2D blocks: [B,3,D,H,W] → [B·D,Np,C]."""
    enc = model.encoder
    b, _, d, h, w = pixel_values.shape
    x = pixel_values.permute(0, 2, 1, 3, 4).reshape(b * d, 3, h, w)
    x = enc.lower.patch_embed(x) + enc.lower.pos_embed
    for blk in enc.lower.blocks[:freeze_blocks]:
        x = blk(x)
    return x


def trainable_suffix(model: CTLensMLLM, x: torch.Tensor, batch: int, freeze_blocks: int) -> torch.Tensor:
    """The per-slice blocks after the frozen ones: [B·D,Np,C] → [B,D·Np,C]."""
    for blk in model.encoder.lower.blocks[freeze_blocks:]:
        x = blk(x)
    return x.reshape(batch, -1, x.shape[-1])


def slice_tokens(model: CTLensMLLM, hu: np.ndarray, pre: PreprocessConfig, indices: list[int], freeze: int = 0,
                 cached: np.ndarray | None = None) -> torch.Tensor:
    """Per-slice encoder output [B,D·Np,C] of the training volumes ``indices`` (resampled HU ``hu``, or the frozen
    blocks' ``cached`` output). A volume listed more than once (a case's report and its questions) goes through the
    per-slice blocks once, and its output is repeated for each row."""
    unique, rows = unique_rows(indices)
    if len(unique) < len(indices):
        return slice_tokens(model, hu, pre, unique, freeze, cached)[rows]
    b = len(indices)
    if cached is not None:
        x = torch.from_numpy(np.asarray(cached[indices], dtype=np.float32))  # [B,D·Np,C]
        x = x.reshape(b * pre.input_size[0], -1, x.shape[-1])
    else:
        x = frozen_prefix(model, hu_batch_to_pixels(hu[indices], pre), 0)
    return trainable_suffix(model, x, b, freeze)


def unique_rows(indices: list[int]) -> tuple[list[int], torch.Tensor]:
    """The distinct volumes of ``indices`` (sorted: memory-mapped rows read in order) and which one each row is."""
    unique = sorted(set(indices))
    return unique, torch.tensor([unique.index(i) for i in indices])


def slice_tokens_and_detail(model: CTLensMLLM, hu: np.ndarray, pre: PreprocessConfig,
                            indices: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``slice_tokens`` with every block trained (no frozen prefix, no cache) and, for a model with the detail
    branch (model/detail.py), its logits [B,8], frozen (no gradient): both from one windowing of each volume."""
    unique, rows = unique_rows(indices)
    pixels = hu_batch_to_pixels(hu[unique], pre)
    tokens = trainable_suffix(model, frozen_prefix(model, pixels, 0), len(unique), 0)[rows]
    if model.detail is None:
        return tokens, None
    with torch.no_grad():
        return tokens, model.detail(pixels)[rows]


def cache_slice_tokens(model: CTLensMLLM, data: dict, preset: Preset, path: str) -> np.ndarray:
    if os.path.exists(path):
        arr = np.load(path, mmap_mode="r")
        if arr.shape[0] == data["hu"].shape[0]:
            return arr
    pre = preset.preprocess()
    n = data["hu"].shape[0]
    out = None
    t0 = time.time()
    with torch.no_grad():
        for s in range(0, n, 16):
            x = frozen_prefix(model, hu_batch_to_pixels(data["hu"][s : s + 16], pre), preset.freeze_blocks)
            if out is None:
                out = np.zeros((n, preset.slices * x.shape[1], x.shape[2]), np.float16)
            out[s : s + 16] = x.reshape(-1, preset.slices * x.shape[1], x.shape[2]).numpy()
    np.save(path, out)
    log(f"cached frozen per-slice features of {n} volumes in {time.time() - t0:.0f} s → {path}")
    return np.load(path, mmap_mode="r")
