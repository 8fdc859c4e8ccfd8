"""Reference preprocessing (DESIGN 3.1, contract C6); src/core/model/preprocess.ts must agree with it (≤ 1e-4).

canonical RAS (nibabel ``as_closest_canonical``: flips/permutation only) → HU in float32 (stored·slope + inter,
float32 arithmetic) → anti-aliased separable resample to D×H×W (``resample``: per axis, in the order S, A, R, an
axis that shrinks is averaged over bins — ``F.adaptive_avg_pool1d``, bin i = source [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) — and
an axis that grows or keeps its size is linearly interpolated, ``align_corners=False``), D along S, H along A, W
along R (x[c,d,h,w] samples v[i=w, j=h, k=d]) →
three windows clip((hu − (L − W/2)) / W, 0, 1) → (x − mean[c]) / std[c] → pixel_values [B,3,D,H,W] float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

# (level, width): lung, soft tissue, bone (DESIGN 3.1)
HU_WINDOWS = [(-600.0, 1500.0), (40.0, 400.0), (400.0, 1800.0)]


@dataclass
class PreprocessConfig:
    input_size: list[int] = field(default_factory=lambda: [16, 64, 64])  # D, H, W
    hu_windows: list[tuple[float, float]] = field(default_factory=lambda: list(HU_WINDOWS))
    # The stage-0 2D model's normalisation, applied to its "RGB" = the three windows.
    mean: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    std: list[float] = field(default_factory=lambda: [0.25, 0.25, 0.25])


def stored_to_hu(stored: np.ndarray, slope: float, inter: float) -> np.ndarray:
    """stored·slope + inter in float32 arithmetic (as the TypeScript runtime: fround at each step)."""
    if not np.isfinite(slope) or slope == 0:  # NIfTI: scl_slope 0 means "no scaling"
        slope, inter = 1.0, 0.0
    return stored.astype(np.float32) * np.float32(slope) + np.float32(inter)


def load_canonical_hu(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A NIfTI file → (HU [nR,nA,nS] float32 in canonical RAS voxel order, its affine)."""
    import nibabel as nib

    img = nib.load(path)
    if len(img.shape) > 3:  # 4D: first frame, as the viewer and the runtime do
        img = img.slicer[..., 0]
    canon = nib.as_closest_canonical(img)
    proxy = canon.dataobj
    stored = np.asarray(proxy.get_unscaled()) if hasattr(proxy, "get_unscaled") else np.asarray(proxy)
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    return stored_to_hu(stored, slope, inter), canon.affine


def resample(vol: torch.Tensor, size: tuple[int, int, int] | list[int]) -> torch.Tensor:
    """[D0,H0,W0] float32 → [D,H,W]: per axis (D, then H, then W) an average over bins when the axis shrinks — every
    source voxel counts, so a one-slice calcification survives 64 → 32 slices — and linear interpolation when it
    grows. (Trilinear point taps at a factor 2 read only half the source slices.)"""
    x = vol
    for axis, m in enumerate(size):
        n = x.shape[axis]
        if n == m:
            continue
        moved = x.movedim(axis, -1)
        shape = moved.shape
        flat = moved.reshape(-1, 1, n)
        if m < n:
            out = F.adaptive_avg_pool1d(flat, m)
        else:
            out = F.interpolate(flat, size=m, mode="linear", align_corners=False)
        x = out.reshape(*shape[:-1], m).movedim(-1, axis)
    return x.contiguous()


def hu_to_pixels(hu_ras: np.ndarray | torch.Tensor, cfg: PreprocessConfig) -> torch.Tensor:
    """HU [nR,nA,nS] canonical → pixel_values [3,D,H,W] float32."""
    hu = torch.as_tensor(np.ascontiguousarray(hu_ras), dtype=torch.float32)
    res = resample(hu.permute(2, 1, 0), cfg.input_size)  # [S,A,R] → [D,H,W]
    chans = []
    for (level, width), m, s in zip(cfg.hu_windows, cfg.mean, cfg.std):
        x = ((res - (level - width / 2)) / width).clamp(0, 1)
        chans.append((x - m) / s)
    return torch.stack(chans)


def preprocess_file(path: str, cfg: PreprocessConfig) -> torch.Tensor:
    """A NIfTI path → pixel_values [1,3,D,H,W]."""
    hu, _ = load_canonical_hu(path)
    return hu_to_pixels(hu, cfg)[None]


def image_to_pixels(img: np.ndarray, cfg: PreprocessConfig) -> torch.Tensor:
    """A stage-0 2D scene [3,H,W] in [0,1] → a one-slice "volume" [3,1,H,W] with the same normalisation."""
    x = torch.as_tensor(img, dtype=torch.float32)
    mean = torch.tensor(cfg.mean).view(3, 1, 1)
    std = torch.tensor(cfg.std).view(3, 1, 1)
    return ((x - mean) / std)[:, None]
