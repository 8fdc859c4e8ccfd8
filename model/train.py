"""Training: stage 0 (2D MLLM on synthetic scenes) → transfer → stage 1 (task-shared) → stage 2 (TGH-MoE) → export.

    python3 -m model.train --preset demo            # the bundled package, ≤ 90 min on 2 CPU cores
    python3 -m model.train --preset tiny --out /tmp/run   # seconds; what the tests run

Every stage writes ``<run>/<stage>.pt`` (model, optimizer, step, config) every few steps and at its end; running
the command again resumes from the last checkpoint and skips finished stages. Batches are drawn from a generator
seeded by (seed, stage, step), so a resumed run sees the same batches as an uninterrupted one.

This module is the command; the pieces it runs are one module each: ``presets`` (``Preset``, ``PRESETS``),
``vocabulary`` (the tokenizer), ``ct_data`` (the generated training cases), ``stages`` (stage 0 → transfer →
stage 1 → stage 2, stage 3, the ablations' ``Variant``), ``batches``, ``losses``, ``per_slice`` (the frozen
blocks' cache), ``loop`` (the resumable loop and its schedule), ``checkpoints``; ``export`` writes the package.
With ``--config`` under torchrun or with a dataset on disk the run goes through ``distributed``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from .checkpoints import checkpoint_model
from .ct_data import build_ct_data
from .loop import log
from .preprocess import PreprocessConfig
from .presets import PRESETS
from . import stages
from .stages import Variant, train_ct, train_stage0, train_stage3
from .vocabulary import build_tokenizer


def continuation_data_dir(stage3_from: str) -> str:
    """The data folder a continuation trains on: that of the run it continues; where that run has none (a
    continuation itself), that of the run it continued, and so on, each checkpoint naming its preset. Why: a
    continuation of a continuation would otherwise generate the 10,000 cases again (20 min, 10 GB). With no folder
    anywhere on the chain, the first one (where build_ct_data then generates them)."""
    first = os.path.join(stages.RUNS, os.path.dirname(stage3_from), "data")
    rel, seen = stage3_from, set()
    while True:
        data_dir = os.path.join(stages.RUNS, os.path.dirname(rel), "data")
        if os.path.isdir(data_dir):
            return data_dir
        checkpoint = os.path.join(stages.RUNS, rel)
        if rel in seen or not os.path.exists(checkpoint):
            return first
        seen.add(rel)
        earlier = PRESETS.get(torch.load(checkpoint, map_location="cpu").get("preset"))
        if earlier is None or not earlier.stage3_from:
            return first
        rel = earlier.stage3_from


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="a built-in preset (default demo)")
    p.add_argument("--config", help="a config file (model/configs/*.json: preset, data source, distributed options)")
    p.add_argument("--out", help="run folder (default model/runs/<preset>)")
    p.add_argument("--package", help="export the result here (default: no export)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    p.add_argument("--data-only", action="store_true",
                   help="only generate the CT training data into <run>/data (e.g. on a second core while stage 0 trains)")
    p.add_argument("--data-workers", type=int, default=1,
                   help="processes that generate the training data when it is not there yet (one per free core: "
                        "10,000 cases take ~20 min in one, ~10 in two)")
    a = p.parse_args(argv)
    if a.config and a.preset:
        p.error("--config and --preset are exclusive")
    torch.set_num_threads(a.threads)
    if a.config:
        from .config import ConfigError, load_config

        try:
            cfg = load_config(a.config)
        except (ConfigError, OSError) as e:
            print(f"model.train: {e}", file=sys.stderr)
            return 2
        preset = cfg.preset
        if "WORLD_SIZE" in os.environ or cfg.data.source != "builtin":  # torchrun, or a dataset on disk
            from .distributed import train_distributed

            return train_distributed(cfg, a.out or os.path.join(os.path.dirname(__file__), "runs", preset.name),
                                     a.package)
    else:
        preset = PRESETS[a.preset or "demo"]
    run = a.out or os.path.join(os.path.dirname(__file__), "runs", preset.name)
    os.makedirs(run, exist_ok=True)
    data_dir = os.path.join(run, "data")
    t0 = time.time()
    tok = build_tokenizer()
    log(f"preset {preset.name}: vocabulary {len(tok)} tokens, run folder {run}")
    if a.data_only:
        build_ct_data(preset, "train", preset.train_cases, data_dir, a.data_workers)
        return 0
    if preset.stage3_from:
        # A continuation of another run: its stage 3 starts from that run's checkpoint and trains on that run's data
        # (stages 0–2 here would be unused).
        data = build_ct_data(preset, "train", preset.train_cases, continuation_data_dir(preset.stage3_from),
                             a.data_workers)
        final = train_stage3(preset, tok, run, None, data)
    else:
        stage0 = train_stage0(preset, tok, run)
        data = build_ct_data(preset, "train", preset.train_cases, data_dir, a.data_workers)
        final = train_ct(preset, tok, run, stage0, data, Variant(), preset.stage1_steps, preset.stage2_steps, data_dir)
        if preset.stage3_steps > 0:
            final = train_stage3(preset, tok, run, final, data)
    log(f"training finished in {(time.time() - t0) / 60:.1f} min (this invocation) → {final}")
    if a.package:
        from .export import export_package  # onnx is loaded only when a package is written (export needs no train)

        model = checkpoint_model(final)
        ck = torch.load(final, map_location="cpu")
        export_package(model, tok, PreprocessConfig(**ck["preprocess"]), a.package,
                       {"training": f"preset {preset.name}"})
        log(f"exported → {a.package}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
