"""Reference preprocessing (C6): files in RAS or LPS with any scaling give the model input of the phantom they
were written from; windows and normalisation follow the formula."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model import synth
from model.preprocess import PreprocessConfig, hu_to_pixels, load_canonical_hu, preprocess_file, stored_to_hu

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PHANTOMS = os.path.join(ROOT, "test", "fixtures", "phantoms")


def fixture_cases():
    with open(os.path.join(PHANTOMS, "cases.jsonl")) as f:
        return [json.loads(l) for l in f]


@pytest.mark.parametrize("k, index", [(0, 0), (1, 3), (2, 4), (3, 6)])  # make_phantoms.py: seed 9000, test split
def test_files_decode_to_the_phantom_they_were_written_from(k, index):
    rec = fixture_cases()[k]
    case = synth.generate_case(9000, "test", index, size=(80, 80, 40))
    case = dataclasses.replace(case, orientation=rec["orientation"], scaling=(rec["scl_slope"], rec["scl_inter"]))
    hu, affine = load_canonical_hu(os.path.join(PHANTOMS, rec["image"]))
    expected = stored_to_hu(synth.stored_values(case.phantom.hu, case.scaling), *case.scaling)
    assert hu.dtype == np.float32 and hu.shape == expected.shape
    assert np.array_equal(hu, expected)  # canonical RAS voxel order, scaling applied
    assert np.allclose(affine, case.canonical_affine())


def test_pixels_follow_the_window_formula():
    cfg = PreprocessConfig(input_size=[4, 8, 8])
    hu = np.full((8, 8, 4), 40.0, np.float32)  # soft tissue everywhere: no resampling effect
    hu[0, 0, 0] = -1000.0
    px = hu_to_pixels(hu, cfg)
    assert px.shape == (3, 4, 8, 8)
    for c, (level, width) in enumerate(cfg.hu_windows):
        x = min(max((40.0 - (level - width / 2)) / width, 0.0), 1.0)
        assert abs(px[c, 2, 4, 4].item() - (x - cfg.mean[c]) / cfg.std[c]) < 1e-6
    # D runs along S, H along A, W along R: the air voxel (i=0, j=0, k=0) lands at [d=0, h=0, w=0]
    assert px[1, 0, 0, 0] < px[1, 0, 0, 1] and px[1, 0, 0, 0] < px[1, 1, 0, 0]


def test_resampling_is_torch_trilinear_without_align_corners():
    cfg = PreprocessConfig(input_size=[5, 7, 9])
    rng = np.random.default_rng(0)
    hu = rng.normal(-300, 400, (20, 16, 12)).astype(np.float32)
    px = hu_to_pixels(hu, cfg)
    res = F.interpolate(torch.from_numpy(hu.transpose(2, 1, 0).copy())[None, None], size=(5, 7, 9),
                        mode="trilinear", align_corners=False)[0, 0]
    level, width = cfg.hu_windows[0]
    lung = (((res - (level - width / 2)) / width).clamp(0, 1) - cfg.mean[0]) / cfg.std[0]
    assert torch.equal(px[0], lung)


def test_preprocess_file_shape():
    x = preprocess_file(os.path.join(PHANTOMS, "fixture-01.nii.gz"), PreprocessConfig())
    assert x.shape == (1, 3, 16, 64, 64) and x.dtype == torch.float32
