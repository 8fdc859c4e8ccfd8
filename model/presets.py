"""The training presets: one ``Preset`` per run recipe (architecture, data, schedule), ``PRESETS`` by name.

A preset is everything ``python3 -m model.train --preset NAME`` needs besides the code; ``model/configs/*.json``
hold the same fields as config files (model/config.py, tested equal).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .llm import LLMConfig
from .mllm import MLLMConfig
from .preprocess import PreprocessConfig
from .tghmoe import MoEConfig
from .transfer import EncoderConfig
from .vit2d import ViTConfig


@dataclass
class Preset:
    name: str
    seed: int = 0
    # architecture
    image_size: int = 64
    patch_size: int = 16
    vit_dim: int = 128
    vit_depth: int = 6
    vit_heads: int = 4
    vit_mlp_ratio: int = 2
    slices: int = 16
    top_blocks: int = 2
    groups: int = 2
    experts_per_group: int = 4
    top_k: int = 2
    llm_dim: int = 192
    llm_layers: int = 4
    llm_heads: int = 4
    max_positions: int = 384
    pooling: list[int] = field(default_factory=lambda: [2, 2, 2])
    pooling_2d: list[int] = field(default_factory=lambda: [1, 1, 1])
    summary_token: bool = True
    summary_max: bool = False  # the summary token also reads the max over all visual tokens (mllm.Projector)
    group_names: list[str] = field(default_factory=lambda: ["group 0", "group 1"])
    # data
    train_cases: int = 1000
    val_cases: int = 32
    synth_size: list[int] = field(default_factory=lambda: [128, 128, 64])
    # schedule
    stage0_steps: int = 2000
    stage0_batch: int = 32
    stage0_lr: float = 1e-3
    stage1_steps: int = 1800
    stage2_steps: int = 700
    batch_reports: int = 4
    batch_vqa: int = 8
    stage1_lr: float = 5e-4
    stage2_lr: float = 5e-4  # routers, experts, text projection
    stage2_rest_lr: float = 5e-5  # everything else in stage 2 ("the rest at a lower rate")
    freeze_blocks: int = 2
    finding_loss_weight: float = 1.0  # BCE of the summary token's finding head (needs summary_token)
    # Report and VQA lines of a step come from the same cases (each case: its report and batch_vqa/batch_reports of
    # its questions), so every volume goes through the prompt-independent per-slice blocks once per step.
    shared_cases: bool = False
    decision_weight: float = 1.0  # CE weight of a sentence's first answer token (where a finding's polarity is)
    gate_task_weight: float = 0.0  # > 0: the text-guided group gate is supervised with the task (group i = task i)
    expert_noise: float = 0.0  # symmetry breaking at upcycling (TGHMoE.upcycle)
    # Stage 3 (0 steps: none): the input's HU windows become ``stage3_windows`` and the whole routed model trains on
    # for ``stage3_steps`` at ``stage3_lr`` — how package 2.0 gained a low-attenuation channel (model/README.md).
    stage3_steps: int = 0
    stage3_windows: list | None = None
    stage3_lr: float = 3e-4
    # Stage 3 starts from this checkpoint (a path under model/runs/) instead of the run's own stage 2, and with
    # ``finding_evidence`` it adds the finding-evidence map first (CTLensMLLM.enable_finding_evidence).
    stage3_from: str | None = None
    finding_evidence: bool = False
    # Stage 3 adds the local-detail branch (model/detail.py) from this checkpoint (a path under model/runs/, written
    # by ``python3 -m model.detail``), frozen, with its zero-initialised evidence map into the summary token.
    detail_from: str | None = None
    # Stage 3 trains the detail branch's evidence map at this rate (None: ``stage3_lr``). Why a rate of its own: at
    # the shared rate the model's decisions did not follow the branch (Deviation 19); at 50× they did for
    # consolidation, not for the small findings (Deviation 20).
    detail_evidence_lr: float | None = None
    # The finding head's BCE reads the summary token before the evidence maps add to it: where the head reads it in
    # the model. Off, it reads it after them (every run before demo_cells_read), so the BCE trained the maps too: a
    # head that can be fitted through the beliefs it is given (Deviation 20).
    finding_loss_before_evidence: bool = False
    # > 0: stage 3 adds this weight × a BCE that pulls the language model's P(present) at every finding decision (a
    # report sentence's first token, a presence question's yes/no) towards the frozen detail branch's belief: the
    # branch, alone, called the small findings at validation F1 0.54–0.75 while the model's reports called none
    # (Deviation 21).
    decision_distill_weight: float = 0.0
    # A presence question's decision counts this many times a report sentence's in the distillation's mean: a step
    # holds ~10 times fewer of them (2 questions per case, 40 % about presence, against 8 report sentences).
    presence_distill_weight: float = 1.0
    # Stage 3's batch order (not ``seed``, which also picks the training phantoms): 0 is every run before it.
    stage3_seed: int = 0
    warmup: int = 50
    checkpoint_every: int = 100
    log_every: int = 20

    def model_config(self, vocab_size: int, image_token_id: int, stage0: bool = False) -> MLLMConfig:
        vit = ViTConfig(image_size=self.image_size, patch_size=self.patch_size, dim=self.vit_dim,
                        depth=self.vit_depth, heads=self.vit_heads, mlp_ratio=self.vit_mlp_ratio)
        moe = MoEConfig(groups=self.groups, experts_per_group=self.experts_per_group, top_k=self.top_k,
                        group_names=list(self.group_names))
        enc = EncoderConfig(vit=vit, slices=1 if stage0 else self.slices, top_blocks=0 if stage0 else self.top_blocks,
                            moe=moe, text_dim=self.llm_dim)
        llm = LLMConfig(vocab_size=vocab_size, dim=self.llm_dim, layers=self.llm_layers, heads=self.llm_heads,
                        max_positions=self.max_positions)
        return MLLMConfig(encoder=enc, llm=llm, pooling=list(self.pooling_2d if stage0 else self.pooling),
                          image_token_id=image_token_id, summary_token=self.summary_token and not stage0,
                          summary_max=self.summary_max and not stage0)

    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(input_size=[self.slices, self.image_size, self.image_size])


TASKS = ("report", "vqa")  # group i of the text-guided gate is task i when the gate is supervised

# The demo's architecture, data and stages 0–2; the continuations below change only their stage 3.
_DEMO = dict(image_size=128, patch_size=32, slices=32, pooling=[4, 2, 2], summary_max=True, group_names=list(TASKS),
             train_cases=10000, stage0_steps=800, stage1_steps=2400, stage2_steps=1000, stage2_rest_lr=1.5e-4,
             freeze_blocks=0, shared_cases=True, decision_weight=4.0, gate_task_weight=0.2, expert_noise=0.05)
# Lung / soft tissue / low attenuation (Deviation 16): the windows of package 2.1 and of every run after it.
_LAW_WINDOWS = [[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]]


def _demo(name: str, **stage3) -> Preset:
    return Preset(name, **copy.deepcopy({**_DEMO, **stage3}))  # no list shared between presets


def _after_21(name: str, **change) -> Preset:
    """A continuation of package 2.1's model (law_evidence/stage3.pt): its windows, its finding evidence, 3,000
    stage-3 steps at 2e-4, unless ``change`` says otherwise."""
    return _demo(name, **{"stage3_steps": 3000, "stage3_lr": 2e-4, "stage3_from": "law_evidence/stage3.pt",
                          "finding_evidence": True, "stage3_windows": _LAW_WINDOWS, **change})


def _with_cells(name: str, **change) -> Preset:
    """``_after_21`` with Deviation 19's mask-taught branch (detail_cells/detail.pt), 1,500 stage-3 steps."""
    return _after_21(name, **{"stage3_steps": 1500, "detail_from": "detail_cells/detail.pt", **change})


def _taught(name: str, **change) -> Preset:
    """``_with_cells`` at package 2.2's map rate (1e-2) with the finding decisions taught by the branch at weight 1
    (Deviation 21): package 2.3's recipe, unless ``change`` says otherwise."""
    return _with_cells(name, **{"detail_evidence_lr": 1e-2, "decision_distill_weight": 1.0, **change})


def _after_23(name: str, **change) -> Preset:
    """Package 2.3's recipe continued from its checkpoint (cells_taught/stage3.pt), 1,000 more stage-3 steps."""
    return _taught(name, **{"stage3_steps": 1000, "stage3_from": "cells_taught/stage3.pt", "detail_from": None,
                            **change})


PRESETS = {
    # 32×128×128 input, patch 32 (4×4 tokens a slice, 512 visual tokens), every encoder block trained, 10,000
    # training phantoms, reports whose sentences decide polarity at their first token, a task-supervised gate.
    "demo": _demo("demo"),
    # The card's window experiment: the demo, then 600 steps with the lung window replaced by a low-attenuation
    # window (L −950 / W 100). Run it in the demo's run folder to reuse its stages 0–2:
    #   python3 -m model.train --preset demo_law --out model/runs/demo
    "demo_law": _demo("demo_law", stage3_steps=600, stage3_windows=[[-950.0, 100.0], [40.0, 400.0], [400.0, 1800.0]]),
    # The 2.0 package's continuation: the demo's stages 0–2, then 3,000 steps with the bone window (the most redundant
    # of the three: the mediastinal window already saturates calcification and bone alike) replaced by a
    # low-attenuation window (L −950 / W 100), where emphysema (−975 HU) parts from lung (−850 HU). Run it in a folder
    # holding the demo's stage0–2 checkpoints and data to reuse them (model/README.md, Commands):
    #   python3 -m model.train --preset demo_law_long --out model/runs/law_long
    "demo_law_long": _demo("demo_law_long", stage3_steps=3000, stage3_lr=2e-4, stage3_windows=_LAW_WINDOWS),
    # Then finding evidence (CTLensMLLM.enable_finding_evidence): demo_law_long's result, the finding head's beliefs
    # written into the summary token, 3,000 more steps. Needs demo_law_long's run (model/README.md, Commands):
    #   python3 -m model.train --preset demo_law_evidence --out model/runs/law_evidence
    "demo_law_evidence": _demo("demo_law_evidence", stage3_steps=3000, stage3_lr=2e-4, stage3_from="law_long/stage3.pt",
                               finding_evidence=True, stage3_windows=_LAW_WINDOWS),
    # Then the local-detail branch (model/detail.py, Deviation 18): package 2.1's model, the stand-alone-trained
    # detail CNN added frozen with its zero-initialised evidence map, 3,000 more steps. Needs demo_law_evidence's
    # run and the branch (model/README.md, Commands):
    #   python3 -m model.detail --data model/runs/demo/data --out model/runs/detail/detail.pt --steps 3000 \
    #       --stop-after 1500 --batch 12 --eval-every 500
    #   python3 -m model.train --preset demo_detail --out model/runs/detail_run
    "demo_detail": _after_21("demo_detail", detail_from="detail/detail.pt"),
    # demo_detail's control: package 2.1's model, 3,000 more stage-3 steps with nothing added, so the branch and the
    # extra training are told apart (model/README.md, Deviation 18):
    #   python3 -m model.train --preset demo_more --out model/runs/more_run
    "demo_more": _after_21("demo_more"),
    # The branch trained on the phantoms' finding cells as well (Deviation 19: told where the findings are, on crops
    # first), then 1,500 stage-3 steps from package 2.1's model (1,500: what this session's clock allowed):
    #   python3 -m model.detail --data model/runs/demo/data --out model/runs/detail_cells/detail.pt --cells demo \
    #       --crop-steps 3000 --steps 300 --batch 12 --eval-every 150
    #   python3 -m model.train --preset demo_cells --out model/runs/cells_run
    "demo_cells": _with_cells("demo_cells"),
    # demo_cells continued: its result, 1,000 more steps (the branch stays frozen; its evidence map trains on)
    #   python3 -m model.train --preset demo_cells_more --out model/runs/cells_more
    "demo_cells_more": _after_21("demo_cells_more", stage3_steps=1000, stage3_from="cells_run/stage3.pt"),
    # demo_cells with the branch's evidence map at ten times the rate of everything else (2e-3): the one change.
    #   python3 -m model.train --preset demo_cells_fast --out model/runs/cells_fast
    "demo_cells_fast": _with_cells("demo_cells_fast", detail_evidence_lr=2e-3),
    # The same at fifty times (1e-2): the dose beside it.
    #   python3 -m model.train --preset demo_cells_faster --out model/runs/cells_faster
    "demo_cells_faster": _with_cells("demo_cells_faster", detail_evidence_lr=1e-2),
    # demo_cells_fast with the finding head's BCE on the summary token before the evidence (Deviation 20): the maps
    # then learn from the language model's loss alone.
    #   python3 -m model.train --preset demo_cells_read --out model/runs/cells_read
    "demo_cells_read": _with_cells("demo_cells_read", detail_evidence_lr=2e-3, finding_loss_before_evidence=True),
    # The same at fifty times (demo_cells_faster's rate).
    #   python3 -m model.train --preset demo_cells_read50 --out model/runs/cells_read50
    "demo_cells_read50": _with_cells("demo_cells_read50", detail_evidence_lr=1e-2, finding_loss_before_evidence=True),
    # demo_cells_faster (package 2.2's recipe) whose finding decisions also learn from the branch's beliefs
    # (Deviation 21), at two weights:
    #   python3 -m model.train --preset demo_cells_taught --out model/runs/cells_taught
    "demo_cells_taught": _taught("demo_cells_taught"),
    #   python3 -m model.train --preset demo_cells_taught4 --out model/runs/cells_taught4
    "demo_cells_taught4": _taught("demo_cells_taught4", decision_distill_weight=4.0),
    # demo_cells_taught with another batch order (seed 1): the seed range of its gain.
    #   python3 -m model.train --preset demo_cells_taught_s1 --out model/runs/cells_taught_s1
    "demo_cells_taught_s1": _taught("demo_cells_taught_s1", stage3_seed=1),
    # Package 2.3 continued 1,000 steps with the presence questions' decisions weighted 8× in the distillation, and
    # its control, 1,000 more steps as they were (Deviation 21):
    #   python3 -m model.train --preset demo_taught_presence --out model/runs/taught_presence
    #   python3 -m model.train --preset demo_taught_more --out model/runs/taught_more
    "demo_taught_presence": _after_23("demo_taught_presence", presence_distill_weight=8.0),
    "demo_taught_more": _after_23("demo_taught_more"),
    # Package 2.3's recipe with a sharper branch, the one change: model.detail with 4,500 crop steps instead of
    # 3,000 (Deviation 22), at batch orders 0 and 1:
    #   python3 -m model.detail --data model/runs/demo/data --out model/runs/detail_sharp/detail.pt --cells demo \
    #       --crop-steps 4500 --steps 300 --batch 12 --eval-every 150
    #   python3 -m model.train --preset demo_sharp_taught --out model/runs/sharp_taught
    #   python3 -m model.train --preset demo_sharp_taught_s1 --out model/runs/sharp_taught_s1
    "demo_sharp_taught": _taught("demo_sharp_taught", detail_from="detail_sharp/detail.pt"),
    "demo_sharp_taught_s1": _taught("demo_sharp_taught_s1", detail_from="detail_sharp/detail.pt", stage3_seed=1),
    # The shorter form this session's machine allowed (1,500 steps ran at 0.28 it/s there): package 2.3 with its
    # branch replaced by the sharper one (its evidence map kept), 500 more steps; and its control, 500 more steps
    # with 2.3's own branch (Deviation 22):
    #   python3 -m model.train --preset demo_sharp_swap --out model/runs/sharp_swap
    #   python3 -m model.train --preset demo_taught_more500 --out model/runs/taught_more500
    "demo_sharp_swap": _after_23("demo_sharp_swap", stage3_steps=500, detail_from="detail_sharp/detail.pt"),
    "demo_taught_more500": _after_23("demo_taught_more500", stage3_steps=500),
    # Package 2.4 (sharp_swap/stage3.pt, read back from the package) continued 500 more steps as it was: whether its
    # calcification decisions follow the sharper branch given more time (Deviation 23), beside demo_sharp_taught:
    #   python3 -m model.train --preset demo_sharp_more500 --out model/runs/sharp_more500
    "demo_sharp_more500": _after_23("demo_sharp_more500", stage3_steps=500, stage3_from="sharp_swap/stage3.pt"),
    # ... and 1,000 steps more from there (2.4 + 1,500 in all): its branch's evidence map for calcification had
    # doubled in those 500 steps (column norm 7.0 → 13.5) while the decisions still called none (Deviation 23):
    #   python3 -m model.train --preset demo_sharp_more1500 --out model/runs/sharp_more1500
    "demo_sharp_more1500": _after_23("demo_sharp_more1500", stage3_from="sharp_more500/stage3.pt"),
    # Package 2.5 trained 1,000 steps more again (a measurement of the trend, not a candidate: Deviation 23):
    #   python3 -m model.train --preset demo_sharp_more2500 --out model/runs/sharp_more2500
    "demo_sharp_more2500": _after_23("demo_sharp_more2500", stage3_from="sharp_more1500/stage3.pt"),
    # Session 26's candidates for the next package (model/README.md, Deviation 24), chosen by a rule written before
    # scoring: package 2.5 continued in two chains of two 1,000-step legs (each a warm restart, as every continuation
    # since 2.4). A leg's batches are a function of (step, batch order), so every leg in batch order 0 since 2.4
    # re-drew the same 4,000 reports (a third of the 10,000 cases); the fresh chain reads batch orders 2 and 3, new:
    #   python3 -m model.train --preset demo_sharp_more2500 --out model/runs/sharp_more2500     (order 0, as before)
    #   python3 -m model.train --preset demo_sharp_more3500 --out model/runs/sharp_more3500     (then order 2)
    #   python3 -m model.train --preset demo_sharp_fresh2500 --out model/runs/sharp_fresh2500   (order 2)
    #   python3 -m model.train --preset demo_sharp_fresh3500 --out model/runs/sharp_fresh3500   (then order 3)
    "demo_sharp_more3500": _after_23("demo_sharp_more3500", stage3_from="sharp_more2500/stage3.pt", stage3_seed=2),
    "demo_sharp_fresh2500": _after_23("demo_sharp_fresh2500", stage3_from="sharp_more1500/stage3.pt", stage3_seed=2),
    "demo_sharp_fresh3500": _after_23("demo_sharp_fresh3500", stage3_from="sharp_fresh2500/stage3.pt", stage3_seed=3),
    # Package 2.6 (sharp_more3500/stage3.pt, read back from the package) 1,000 steps more in batch order 4, which no
    # leg has drawn: a measurement of the trend after the choice, scored on validation only (Deviation 24):
    #   python3 -m model.train --preset demo_sharp_more4500 --out model/runs/sharp_more4500
    "demo_sharp_more4500": _after_23("demo_sharp_more4500", stage3_from="sharp_more3500/stage3.pt", stage3_seed=4),
    # The same two continuations in batch order 1, run after the choice: the seed range of package 2.5's gain.
    #   python3 -m model.train --preset demo_sharp_more500_s1 --out model/runs/sharp_more500_s1
    #   python3 -m model.train --preset demo_sharp_more1500_s1 --out model/runs/sharp_more1500_s1
    "demo_sharp_more500_s1": _after_23("demo_sharp_more500_s1", stage3_steps=500, stage3_from="sharp_swap/stage3.pt",
                                       stage3_seed=1),
    "demo_sharp_more1500_s1": _after_23("demo_sharp_more1500_s1", stage3_from="sharp_more500_s1/stage3.pt",
                                        stage3_seed=1),
    # The 1.0 recipe (16×64×64, frozen blocks 0–1, 1000 cases), for comparison runs.
    "demo1": Preset("demo1"),
    # A few seconds end to end: the pipeline test (tiny model, 3 cases, a handful of steps per stage).
    "tiny": Preset("tiny", image_size=32, patch_size=16, vit_dim=32, vit_depth=3, vit_heads=2, slices=4,
                   top_blocks=1, llm_dim=32, llm_layers=1, llm_heads=2, max_positions=320, pooling=[2, 1, 1],
                   train_cases=3, val_cases=1, synth_size=[48, 48, 24], stage0_steps=3, stage0_batch=4,
                   stage1_steps=3, stage2_steps=3, batch_reports=1, batch_vqa=2, freeze_blocks=1, warmup=1,
                   checkpoint_every=2, log_every=1),
}
