"""Config files for training (``model/configs/*.json``): the ``Preset`` of model/presets.py plus the data source and
the distributed/runtime options, validated before anything trains.

    {"preset": {"name": "demo", ... every Preset field ...},      # required; only Preset's fields
     "data": {"source": "builtin" | "synthetic" | "ct-rate" | "m3d-cap" | "m3d-vqa", ...},   # optional
     "distributed": {"micro_batch": 4, "grad_accum": 1, ...}}       # optional

``python3 -m model.train --config model/configs/demo.json`` trains exactly what ``--preset demo`` trains (the
config holds the same Preset values, tested). Under ``torchrun`` (or with a file data source) the run goes through
model/distributed.py instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from .presets import PRESETS, Preset

SOURCES = ("builtin", "synthetic", "ct-rate", "m3d-cap", "m3d-vqa")


@dataclass
class DataConfig:
    source: str = "builtin"  # builtin: the preset's generated phantoms (model/ct_data.py build_ct_data)
    root: str | None = None  # dataset folder (synthetic: the folder of dataset.jsonl; ct-rate: the CT-RATE root)
    split: str = "train"  # ct-rate: train | valid; m3d: train | validation | test (the file's split)
    path: str | None = None  # m3d-vqa: the CSV; m3d-cap: the json; synthetic: dataset.jsonl (default root/…)
    cache: str | None = None  # folder for preprocessed volumes (hu_to_pixels output, float16); None: no cache
    num_workers: int = 2  # DataLoader workers doing the loading + preprocessing
    label_questions: bool = True  # ct-rate: add "Is there X?" yes/no questions from the abnormality labels
    m3d_hu_range: list[float] = field(default_factory=lambda: [-1000.0, 1000.0])  # M3D's [0,1] → HU (assumed)
    limit: int | None = None  # only the first N volumes (smoke runs)


@dataclass
class DistConfig:
    micro_batch: int | None = None  # cases per rank per forward pass; None: preset.batch_reports
    grad_accum: int = 1  # micro-batches per optimizer step
    backend: str | None = None  # None: nccl on CUDA, gloo on CPU
    bf16: bool = True  # autocast to bfloat16 (CUDA only; ignored on CPU)
    activation_checkpointing: bool = True  # recompute block activations in backward (CUDA only unless forced)
    force_activation_checkpointing: bool = False  # also on CPU (tests)
    find_unused_parameters: bool = True  # routed experts that get no token in a step have no gradient
    timeout_min: int = 60  # collective timeout (rank 0 trains stage 0 while the others wait)


@dataclass
class RunConfig:
    preset: Preset
    data: DataConfig = field(default_factory=DataConfig)
    distributed: DistConfig = field(default_factory=DistConfig)
    path: str | None = None

    def to_dict(self) -> dict:
        return {"preset": dataclasses.asdict(self.preset), "data": dataclasses.asdict(self.data),
                "distributed": dataclasses.asdict(self.distributed)}


class ConfigError(ValueError):
    pass


def _build(cls, d: dict, where: str):
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected an object, got {type(d).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    defaults = cls(**({"name": d.get("name", "?")} if cls is Preset else {}))
    for k, v in d.items():
        ref = getattr(defaults, k)
        ok = (ref is None or v is None or isinstance(v, type(ref)) or (isinstance(ref, float) and isinstance(v, int)
              and not isinstance(v, bool)))
        if isinstance(ref, bool) != isinstance(v, bool) and ref is not None and v is not None:
            ok = False
        if not ok:
            raise ConfigError(f"{where}.{k}: expected {type(ref).__name__}, got {v!r}")
    out = cls(**d)
    for k, v in d.items():  # JSON has no tuples; floats given as ints become floats like the dataclass defaults
        if isinstance(getattr(defaults, k), float) and isinstance(v, int):
            setattr(out, k, float(v))
    return out


def validate_preset(p: Preset, builtin_data: bool = True) -> list[str]:
    """Shapes that do not fit, as messages (empty: fine)."""
    errs = []
    if p.image_size % p.patch_size:
        errs.append(f"image_size {p.image_size} is not a multiple of patch_size {p.patch_size}")
    grid = p.image_size // max(p.patch_size, 1)
    if p.vit_dim % p.vit_heads:
        errs.append(f"vit_dim {p.vit_dim} is not divisible by vit_heads {p.vit_heads}")
    elif (p.vit_dim // p.vit_heads) % 2:
        errs.append(f"ViT head dim {p.vit_dim // p.vit_heads} must be even (slice RoPE rotates pairs)")
    if p.llm_dim % p.llm_heads:
        errs.append(f"llm_dim {p.llm_dim} is not divisible by llm_heads {p.llm_heads}")
    if not 0 <= p.top_blocks <= p.vit_depth:
        errs.append(f"top_blocks {p.top_blocks} must be within 0..vit_depth {p.vit_depth}")
    if p.freeze_blocks > p.vit_depth - p.top_blocks:
        errs.append(f"freeze_blocks {p.freeze_blocks} > the {p.vit_depth - p.top_blocks} per-slice blocks")
    if not 1 <= p.top_k <= p.experts_per_group:
        errs.append(f"top_k {p.top_k} must be within 1..experts_per_group {p.experts_per_group}")
    if len(p.group_names) != p.groups:
        errs.append(f"group_names has {len(p.group_names)} names for {p.groups} groups")
    if len(p.pooling) != 3 or len(p.pooling_2d) != 3:
        errs.append("pooling and pooling_2d need 3 factors (D, H, W)")
    else:
        for axis, n, f in zip("DHW", (p.slices, grid, grid), p.pooling):
            if f < 1 or n % f:
                errs.append(f"pooling {p.pooling}: {axis} = {n} tokens is not a multiple of {f}")
    if len(p.synth_size) != 3:
        errs.append("synth_size needs 3 sizes (R, A, S)")
    if p.shared_cases and p.batch_vqa % p.batch_reports:
        errs.append(f"shared_cases: batch_vqa {p.batch_vqa} is not a multiple of batch_reports {p.batch_reports}")
    if builtin_data and p.batch_reports > p.train_cases:
        errs.append(f"batch_reports {p.batch_reports} > train_cases {p.train_cases}")
    n_img = (p.slices // max(p.pooling[0], 1)) * (grid // max(p.pooling[1], 1)) * (grid // max(p.pooling[2], 1)) \
        + int(p.summary_token) if len(p.pooling) == 3 else 0
    if n_img + 64 > p.max_positions:
        errs.append(f"{n_img} image tokens leave fewer than 64 of max_positions {p.max_positions} for text")
    for k in ("stage0_steps", "stage1_steps", "stage2_steps", "checkpoint_every", "log_every", "stage0_batch"):
        if getattr(p, k) < 1:
            errs.append(f"{k} must be ≥ 1")
    return errs


def from_dict(d: dict, where: str = "config") -> RunConfig:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    unknown = sorted(set(d) - {"preset", "data", "distributed", "comment"})
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(unknown)} (known: preset, data, distributed)")
    if "preset" not in d:
        raise ConfigError(f"{where}: no 'preset' section")
    pd = d["preset"]
    if isinstance(pd, dict) and "name" not in pd:
        raise ConfigError(f"{where}.preset: 'name' is required")
    preset = _build(Preset, pd, f"{where}.preset")
    data = _build(DataConfig, d.get("data", {}), f"{where}.data")
    dist = _build(DistConfig, d.get("distributed", {}), f"{where}.distributed")
    errs = validate_preset(preset, data.source == "builtin")
    if data.source not in SOURCES:
        errs.append(f"data.source {data.source!r} is not one of {', '.join(SOURCES)}")
    if data.source not in ("builtin",) and not (data.root or data.path):
        errs.append(f"data.source {data.source} needs data.root or data.path")
    if dist.grad_accum < 1 or (dist.micro_batch is not None and dist.micro_batch < 1):
        errs.append("distributed.grad_accum and micro_batch must be ≥ 1")
    if dist.backend not in (None, "gloo", "nccl"):
        errs.append(f"distributed.backend {dist.backend!r}: gloo or nccl")
    if errs:
        raise ConfigError(f"{where}: " + "; ".join(errs))
    return RunConfig(preset, data, dist)


def load_config(path: str) -> RunConfig:
    with open(path, encoding="utf-8") as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not JSON ({e})") from None
    cfg = from_dict(d, os.path.basename(path))
    cfg.path = path
    if cfg.data.root and not os.path.isabs(cfg.data.root):  # relative to the working directory, as given
        cfg.data.root = os.path.abspath(cfg.data.root)
    return cfg


def preset_dict(name: str) -> dict:
    return {"preset": dataclasses.asdict(PRESETS[name])}
