"""A shipped model package back into the checkpoints training continues from: its stage-3 checkpoint and, where
it has one, its detail branch as a ``python3 -m model.detail`` checkpoint.

Why: run folders (``model/runs/``) are not kept between machines, but the packages in git are, and their ONNX
initializers are the PyTorch parameters by name (Deviation 7; ``model/package.py`` rebuilds the model from them).
A continuation preset (``stage3_from``, ``detail_from``) then starts from a package exactly as from its run:
reading 2.3 and 2.4 back this way reproduces their validation and test scores to the last digit.

    python3 -m model.from_package --package media/models/ctlens-tghmoe-demo --preset demo_sharp_swap \\
        --out model/runs/sharp_swap/stage3.pt --detail-out model/runs/detail_sharp/detail.pt
    git archive deaa57d media/models/ctlens-tghmoe-demo | tar -x -C /tmp/p21     # an earlier package (2.1)
    python3 -m model.from_package --package /tmp/p21/media/models/ctlens-tghmoe-demo --preset demo_law_evidence \\
        --out model/runs/law_evidence/stage3.pt

A run folder made this way has no training data: ``--data`` links it to one (``model/runs/demo/data``), which
``model.train`` then finds for every continuation of it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict

import torch

from .checkpoints import save_checkpoint
from .detail import unfold_batchnorm
from .package import PackageError, PackageModel, load_package
from .presets import PRESETS
from .stages import Variant


def stage3_payload(pm: PackageModel, preset: str) -> dict:
    """The checkpoint ``train_stage3`` writes, rebuilt from a loaded package: weights, config, routed, vocabulary and
    preprocessing (the package's HU windows). ``preset`` names the run it stands for (continuations read it)."""
    if pm.model.finding_head is None:
        raise PackageError(f"{pm.dir} has no finding head: only stage-3 packages (2.1 and later) continue here")
    return dict(model=pm.model.state_dict(), config=pm.model.cfg.to_dict(), routed=True, vocab=pm.tokenizer.vocab,
                preprocess=asdict(pm.preprocess), variant=asdict(Variant()), preset=preset, steps=0,
                from_package=os.path.abspath(pm.dir), package_version=pm.ctlens.get("version"))


def detail_payload(pm: PackageModel) -> dict:
    """The loaded package's detail branch as a ``model.detail`` checkpoint (the training form, ``unfold_batchnorm``),
    which ``load_detail`` folds back to the package's weights exactly."""
    if pm.model.detail is None:
        raise PackageError(f"{pm.dir} has no detail branch")
    return {"width": pm.model.cfg.detail_width, "windows": [list(w) for w in pm.preprocess.hu_windows],
            "state": unfold_batchnorm(pm.model.detail.state_dict()), "step": -1,
            "from_package": os.path.abspath(pm.dir)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.from_package", description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True, help="a model package folder (config.json, onnx/, tokenizer.json)")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), help="the preset whose run this stands for")
    p.add_argument("--out", required=True, help="the stage-3 checkpoint to write, e.g. model/runs/sharp_swap/stage3.pt")
    p.add_argument("--detail-out", help="also write the package's detail branch here (a model.detail checkpoint)")
    p.add_argument("--data", help="link the run folder's data/ to this training-data folder")
    a = p.parse_args(argv)
    try:
        pm = load_package(a.package)
        payload = stage3_payload(pm, a.preset)
        detail = detail_payload(pm) if a.detail_out else None
    except PackageError as e:
        p.exit(1, f"model.from_package: {e}\n")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    save_checkpoint(a.out, **payload)
    print(f"wrote {a.out} (package {payload['package_version']}, preset {a.preset})")
    if detail is not None:
        os.makedirs(os.path.dirname(os.path.abspath(a.detail_out)), exist_ok=True)
        torch.save(detail, a.detail_out)
        print(f"wrote {a.detail_out} (detail branch, width {detail['width']})")
    if a.data:
        link = os.path.join(os.path.dirname(os.path.abspath(a.out)), "data")
        if not os.path.lexists(link):
            os.symlink(os.path.relpath(os.path.abspath(a.data), os.path.dirname(link)), link)
            print(f"linked {link} → {a.data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
