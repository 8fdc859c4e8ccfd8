"""Independent reference for src/core/model/preprocess.ts (contract C6), used live by preprocess.test.ts.

Reads a JSON list of requests on stdin (one python start for all cases), each {"raw": path to little-endian file voxels (i fastest), "dtype": numpy dtype,
"dims": [nx, ny, nz], "affine": 4x4, "slope", "inter", "input_size": [D, H, W], "windows": [[L, W], ...],
"mean": [...], "std": [...], "out": path}. Writes pixel_values [3, D, H, W] float32 little-endian to "out".
nibabel does the canonical reorientation (as_closest_canonical), torch the anti-aliased resampling: per axis (S, A,
R in turn) adaptive average pooling where the axis shrinks, linear interpolation (align_corners=False) where it grows.
"""
import json
import sys

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F


def run(req: dict) -> dict:
    nx, ny, nz = req["dims"]
    data = np.fromfile(req["raw"], dtype=np.dtype(req["dtype"]).newbyteorder("<")).reshape((nx, ny, nz), order="F")
    img = nib.Nifti1Image(data, np.array(req["affine"], dtype=np.float64))
    canon = nib.as_closest_canonical(img)
    stored = np.asanyarray(canon.dataobj)
    hu = stored.astype(np.float32) * np.float32(req["slope"]) + np.float32(req["inter"])  # [R, A, S]
    res = torch.from_numpy(np.ascontiguousarray(hu.transpose(2, 1, 0)))  # [S, A, R]
    for axis, m in enumerate(req["input_size"]):
        n = res.shape[axis]
        if n == m:
            continue
        x = res.transpose(axis, 2)  # this axis last
        lead = x.shape[:2]
        x = x.reshape(-1, 1, n)
        x = F.adaptive_avg_pool1d(x, m) if m < n else F.interpolate(x, size=m, mode="linear", align_corners=False)
        res = x.reshape(*lead, m).transpose(axis, 2)
    chans = []
    for (level, width), m, s in zip(req["windows"], req["mean"], req["std"]):
        x = ((res - (level - width / 2)) / width).clamp(0, 1)
        chans.append((x - m) / s)
    out = torch.stack(chans).numpy().astype("<f4")
    out.tofile(req["out"])
    return {"canonical_affine": canon.affine.tolist(), "canonical_shape": list(canon.shape)}


def main() -> None:
    print(json.dumps([run(req) for req in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
