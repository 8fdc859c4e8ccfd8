"""The training stages: stage 0 (the 2D MLLM on synthetic scenes) → transfer → stage 1 (task-shared) → stage 2
(TGH-MoE), or a ``Variant``'s replacement (the ablations), and the optional stage 3 (other HU windows).

Every stage writes ``<run>/<stage>.pt`` and resumes from ``<stage>.pt.part`` (model/loop.py); a finished stage is
skipped. Compute choices for the 2-core budget (measured, see model/README.md):
- the patch embedding and the first ``freeze_blocks`` 2D blocks stay as stage 0 left them, so their output is
  computed once per training volume and cached (model/per_slice.py);
- stage 2 evaluates each routed expert on its routed tokens only (``TGHMoE(sparse=True)``, tested equal to the
  dense path that the export uses).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .batches import STAGE_CODE, CTBatches, collate, encode_sample
from .checkpoints import checkpoint_model, load_model_state
from .loop import log, run_loop
from .losses import multitask_loss
from .mllm import CTLensMLLM, MLLMConfig
from .per_slice import cache_slice_tokens, slice_tokens, slice_tokens_and_detail
from .presets import Preset
from .preprocess import PreprocessConfig, image_to_pixels
from .tokenizer import WordTokenizer
from .transfer import transfer_2d_to_3d

RUNS = os.path.join(os.path.dirname(__file__), "runs")  # where Preset.stage3_from paths are resolved


def train_stage0(preset: Preset, tok: WordTokenizer, run: str) -> str:
    from . import scenes2d

    path = os.path.join(run, "stage0.pt")
    if os.path.exists(path):
        return path
    os.makedirs(run, exist_ok=True)
    torch.manual_seed(preset.seed)
    cfg = preset.model_config(len(tok), tok.image_id, stage0=True)
    model = CTLensMLLM(cfg)
    pre = preset.preprocess()
    n_img = cfg.num_image_tokens

    def step_fn(step: int):
        rng = np.random.default_rng([preset.seed, STAGE_CODE["stage0"], step])
        pix, samples = [], []
        for _ in range(preset.stage0_batch):
            img, q, a = scenes2d.sample(rng, preset.image_size)
            pix.append(image_to_pixels(img, pre))
            samples.append(encode_sample(tok, n_img, q, a))
        tokens = model.encoder.encode_slices(torch.stack(pix))
        return multitask_loss(model, tokens, [collate(tok, samples)])

    log(f"stage0: 2D MLLM on synthetic scenes, {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters")
    # The projector's standardisation (offset/scale) stays the identity in stage 0: scenes differ a lot from each
    # other; it is calibrated on CT features after the transfer.
    params = [q for n, q in model.named_parameters() if n not in ("projector.offset", "projector.scale")]
    run_loop("stage0", path, model, [{"params": params, "lr": preset.stage0_lr}],
             preset.stage0_steps, preset, step_fn, {"vocab": tok.vocab})
    return path


@torch.no_grad()
def calibrate_projector(model: CTLensMLLM, tokens_for, n_cases: int, n: int = 256) -> None:
    """Set the projector's standardisation from the pooled encoder output of up to ``n`` training volumes."""
    pooled = []
    for s in range(0, min(n, n_cases), 16):
        idx = list(range(s, min(s + 16, n, n_cases)))
        enc, _ = model.encoder.encode_volume(tokens_for(idx), None)
        pooled.append(model.projector.pool(enc, model.cfg.encoder.patch_grid, model.cfg.pooling))
    model.projector.calibrate(torch.cat(pooled))


def transfer_from_stage0(preset: Preset, stage0_path: str, tok: WordTokenizer) -> CTLensMLLM:
    """The 3D MLLM with every stage-0 parameter reused (ViT via transfer_2d_to_3d, projector and LLM as is)."""
    ck = torch.load(stage0_path, map_location="cpu")
    m2d = CTLensMLLM(MLLMConfig.from_dict(ck["config"]))
    load_model_state(m2d, ck["model"], f"stage-0 checkpoint {stage0_path}")
    cfg = preset.model_config(len(tok), tok.image_id)
    model = CTLensMLLM(cfg)
    vit_state = {k[len("encoder.lower."):]: v for k, v in m2d.state_dict().items() if k.startswith("encoder.lower.")}
    model.encoder = transfer_2d_to_3d(vit_state, cfg.encoder)
    # The MLP is reused; the standardisation is per pooled position, whose grid differs from 2D: calibrated later.
    proj = {k: v for k, v in m2d.projector.state_dict().items() if k.startswith(("fc1.", "fc2."))}
    model.projector.load_state_dict(proj, strict=False)
    model.llm.load_state_dict(m2d.llm.state_dict())
    return model


@dataclass
class Variant:
    """What a CT training run does; the demo is the default, the ablations change one thing each."""

    name: str = "tghmoe"
    transfer: bool = True  # False: 3D encoder from scratch (every encoder block trained)
    two_stage: bool = True  # False: experts upcycled at once, one stage of stage1+stage2 steps
    experts: bool = True  # False: dense FFN (stage 2 continues without routed experts)
    text_guided: bool = True  # False: token-only MoE
    seed: int = 0  # > 0: another draw of the CT batches and of the new weights' initialisation (same data)
    gate_supervised: bool = True  # False: the group gate learns from the task losses alone (preset.gate_task_weight off)


def upcycle_experts(model: CTLensMLLM, preset: Preset, variant: Variant) -> None:
    gen = torch.Generator().manual_seed(7 + preset.seed + 1000 * variant.seed)
    for layer in model.encoder.moe_layers:
        layer.upcycle(preset.expert_noise, gen)


def train_ct(preset: Preset, tok: WordTokenizer, run: str, stage0_path: str, data: dict, variant: Variant,
             steps1: int, steps2: int, data_dir: str) -> str:
    """Stage 1 + stage 2 (or the variant's replacement); returns the final checkpoint path."""
    final = os.path.join(run, "stage2.pt" if variant.two_stage else "onestage.pt")
    if os.path.exists(final):
        return final
    if variant.seed:
        torch.manual_seed(1000 + variant.seed)
    if variant.transfer:
        model = transfer_from_stage0(preset, stage0_path, tok)
        freeze = preset.freeze_blocks
    else:
        model = transfer_from_stage0(preset, stage0_path, tok)
        torch.manual_seed(preset.seed + 1 + 1000 * variant.seed)
        fresh = CTLensMLLM(model.cfg).encoder  # random 3D encoder, nothing from the 2D ViT
        model.encoder = fresh
        freeze = 0
    for layer in model.encoder.moe_layers:
        layer.cfg.text_guided = variant.text_guided
    pre = preset.preprocess()
    n_img = model.cfg.num_image_tokens
    cached = None
    if freeze > 0:
        cached = cache_slice_tokens(model, data, preset, os.path.join(data_dir, f"slice_tokens_f{freeze}.npy"))

    def tokens_for(indices: list[int]) -> torch.Tensor:
        return slice_tokens(model, data["hu"], pre, indices, freeze, cached)

    if not os.path.exists(os.path.join(run, "stage1.pt")) and not os.path.exists(os.path.join(run, "stage1.pt.part")):
        calibrate_projector(model, tokens_for, data["hu"].shape[0])  # (a resumed stage restores its own values)

    frozen_names = {"encoder.lower.patch_embed.proj.weight", "encoder.lower.patch_embed.proj.bias",
                    "encoder.lower.pos_embed"} | {n for n, _ in model.named_parameters()
                                                  if any(n.startswith(f"encoder.lower.blocks.{i}.") for i in range(freeze))}
    if freeze == 0:
        frozen_names = set()
    for n, p in model.named_parameters():
        p.requires_grad_(n not in frozen_names)

    new_parts = ("expert_", "group_gate", "router", "text_proj")  # stage 2's fast group

    def groups_for(high: float, low: float, routed: bool) -> list[dict]:
        hi = [p for n, p in model.named_parameters() if p.requires_grad and any(s in n for s in new_parts)]
        lo = [p for n, p in model.named_parameters() if p.requires_grad and not any(s in n for s in new_parts)]
        return [{"params": lo, "lr": low}] + ([{"params": hi, "lr": high}] if routed else [])

    extra = {"vocab": tok.vocab, "preprocess": asdict(pre), "variant": asdict(variant), "preset": preset.name}

    def steps_of(stage: str):
        """The training step of a CT stage: its own deterministic batches, the multitask loss + finding head."""
        batches = CTBatches(tok, data["lines"], n_img, preset, stage, variant.seed)

        def step(step_index: int):
            idx, bs = batches(step_index)
            return multitask_loss(model, tokens_for(idx), bs, findings=batches.labels(idx),
                                  finding_weight=preset.finding_loss_weight,
                                  gate_task_weight=preset.gate_task_weight if variant.gate_supervised else 0.0)

        return step

    if variant.two_stage:
        s1 = os.path.join(run, "stage1.pt")
        step1 = steps_of("stage1")
        if os.path.exists(s1):
            model.load_state_dict(torch.load(s1, map_location="cpu")["model"])
        else:
            log(f"stage1 [{variant.name}]: task-shared, routed experts off, {steps1} steps")
            run_loop("stage1", s1, model, groups_for(0.0, preset.stage1_lr, False), steps1, preset, step1, extra)
        if variant.experts:
            upcycle_experts(model, preset, variant)
        step2 = steps_of("stage2")
        if variant.experts:
            log(f"stage2 [{variant.name}]: experts upcycled, routers + experts at {preset.stage2_lr}, rest at "
                f"{preset.stage2_rest_lr}, {steps2} steps")
            groups = groups_for(preset.stage2_lr, preset.stage2_rest_lr, True)
        else:
            log(f"stage2 [{variant.name}]: dense FFN (no experts), everything at {preset.stage2_rest_lr}, {steps2} steps")
            groups = groups_for(0.0, preset.stage2_rest_lr, False)
        run_loop("stage2", final, model, groups, steps2, preset, step2, extra)
    else:
        upcycle_experts(model, preset, variant)
        step_one = steps_of("onestage")
        log(f"one stage [{variant.name}]: experts from the start, {steps1 + steps2} steps")
        run_loop("onestage", final, model, groups_for(preset.stage1_lr, preset.stage1_lr, True), steps1 + steps2,
                 preset, step_one, extra)
    return final


def train_stage3(preset: Preset, tok: WordTokenizer, run: str, stage2_path: str, data: dict) -> str:
    """Stage 3: the trained routed model continues on ``stage3_windows`` (every parameter at ``stage3_lr``, the
    stage-2 losses and gate supervision). Returns ``<run>/stage3.pt``, whose preprocessing carries the new windows."""
    final = os.path.join(run, "stage3.pt")
    if os.path.exists(final):
        return final
    start = os.path.join(RUNS, preset.stage3_from) if preset.stage3_from else stage2_path
    model = checkpoint_model(start)
    if preset.finding_evidence and model.finding_evidence is None:
        model.enable_finding_evidence()
    pre = PreprocessConfig(input_size=[preset.slices, preset.image_size, preset.image_size],
                           hu_windows=[tuple(w) for w in preset.stage3_windows])
    if preset.detail_from:
        add_detail_branch(model, os.path.join(RUNS, preset.detail_from), pre)
    n_img = model.cfg.num_image_tokens
    batches = CTBatches(tok, data["lines"], n_img, preset, "stage3", preset.stage3_seed)

    def step(step_index: int):
        idx, bs = batches(step_index)
        tokens, detail = slice_tokens_and_detail(model, data["hu"], pre, idx)
        return multitask_loss(model, tokens, bs, findings=batches.labels(idx), finding_weight=preset.finding_loss_weight,
                              gate_task_weight=preset.gate_task_weight, detail_logits=detail,
                              finding_loss_before_evidence=preset.finding_loss_before_evidence,
                              distill_weight=preset.decision_distill_weight, no_id=tok.ids["▁no"],
                              distill_task_weights=(1.0, preset.presence_distill_weight))

    if preset.decision_distill_weight > 0 and model.detail is None:
        raise ValueError(f"preset {preset.name}: decision distillation needs the detail branch (detail_from)")
    for n, q in model.named_parameters():
        q.requires_grad_(not n.startswith("detail."))  # the branch stays as model.detail trained it
    map_lr = preset.detail_evidence_lr if model.detail is not None else None
    fast, rest = [], []
    for n, q in model.named_parameters():
        if q.requires_grad:
            (fast if map_lr is not None and n.startswith("detail_evidence.") else rest).append(q)
    groups = [{"params": rest, "lr": preset.stage3_lr}] + ([{"params": fast, "lr": map_lr}] if fast else [])
    log(f"stage3 from {start}: HU windows {preset.stage3_windows}, finding evidence {model.finding_evidence is not None}, "
        f"detail branch {'none' if model.detail is None else 'frozen, from ' + (preset.detail_from or start)}"
        f"{f', its evidence map at {map_lr}' if fast else ''}, everything else at {preset.stage3_lr}, "
        f"{preset.stage3_steps} steps")
    extra = {"vocab": tok.vocab, "preprocess": asdict(pre), "variant": asdict(Variant()), "preset": preset.name}
    run_loop("stage3", final, model, groups, preset.stage3_steps, preset, step, extra)
    return final


def add_detail_branch(model: CTLensMLLM, path: str, pre: PreprocessConfig) -> None:
    """The stand-alone-trained detail branch (model/detail.py) into ``model``; its input windows must be the run's.
    A model that has a branch already gets the new one's weights in its place and keeps its trained evidence map
    (Deviation 22: package 2.3 with a sharper branch); a model without one gets it with a zero map."""
    from .detail import DetailNet, load_detail

    windows, state = load_detail(path)
    if [tuple(w) for w in windows] != [tuple(w) for w in pre.hu_windows]:
        raise ValueError(f"{path} was trained on HU windows {windows}, this stage uses {pre.hu_windows}")
    if model.detail is None:
        model.enable_detail_evidence(state)
        return
    shape = DetailNet.shape_of(state)
    if (shape["width"], shape["cells"]) != (model.cfg.detail_width, model.cfg.detail_cells):
        raise ValueError(f"{path} is a branch of width {shape['width']} (cells {shape['cells']}), the model's has width "
                         f"{model.cfg.detail_width} (cells {model.cfg.detail_cells})")
    model.detail.load_state_dict(state)
