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
from model.preprocess import PreprocessConfig, hu_to_pixels, load_canonical_hu, preprocess_file, resample, stored_to_hu

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


def test_resampling_averages_shrinking_axes_and_interpolates_growing_ones():
    """Per axis: adaptive average pooling when it shrinks, linear (align_corners=False) when it grows."""
    rng = np.random.default_rng(0)
    vol = torch.from_numpy(rng.normal(-300, 400, (20, 16, 6)).astype(np.float32))  # [S, A, R]
    out = resample(vol, (5, 7, 9))  # S 20 → 5 (bins of 4), A 16 → 7 (uneven bins), R 6 → 9 (grows)
    ref = vol.reshape(5, 4, 16, 6).mean(1)
    ref = F.adaptive_avg_pool1d(ref.permute(0, 2, 1).reshape(-1, 1, 16), 7).reshape(5, 6, 7).permute(0, 2, 1)
    ref = F.interpolate(ref.reshape(-1, 1, 6), size=9, mode="linear", align_corners=False).reshape(5, 7, 9)
    assert torch.allclose(out, ref, atol=1e-4)
    assert torch.equal(resample(vol, (20, 16, 6)), vol)


def test_one_slice_finding_survives_downsampling():
    """A dense one-slice structure (a calcification) is averaged into its bin by 64 → 16 slices, never dropped:
    trilinear point taps at this factor read only slices 4o+1 and 4o+2 of every four (what package 1.0 saw)."""
    hu = np.full((8, 8, 64), -850.0, np.float32)
    hu[:, :, 32] = 1150.0
    res = resample(torch.from_numpy(hu).permute(2, 1, 0), (16, 8, 8))
    assert abs(float(res[8].max()) - (-850 + 2000 / 4)) < 1e-3
    taps = F.interpolate(torch.from_numpy(hu).permute(2, 1, 0)[None, None], size=(16, 8, 8), mode="trilinear",
                         align_corners=False)[0, 0]
    assert float(taps.max()) == -850.0


def test_preprocess_file_shape():
    x = preprocess_file(os.path.join(PHANTOMS, "fixture-01.nii.gz"), PreprocessConfig(input_size=[16, 64, 64]))
    assert x.shape == (1, 3, 16, 64, 64) and x.dtype == torch.float32
