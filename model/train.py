"""Training: stage 0 (2D MLLM on synthetic scenes) → transfer → stage 1 (task-shared) → stage 2 (TGH-MoE) → export.

    python3 -m model.train --preset demo            # the bundled package, ≤ 90 min on 2 CPU cores
    python3 -m model.train --preset tiny --out /tmp/run   # seconds; what the tests run

Every stage writes ``<run>/<stage>.pt`` (model, optimizer, step, config) every few steps and at its end; running
the command again resumes from the last checkpoint and skips finished stages. Batches are drawn from a generator
seeded by (seed, stage, step), so a resumed run sees the same batches as an uninterrupted one.

Compute choices for the 2-core budget (measured, see model/README.md):
- the patch embedding and the first ``freeze_blocks`` 2D blocks stay as stage 0 left them, so their output is
  computed once per training volume and cached (``<run>/data/slice_tokens.npy``);
- stage 2 evaluates each routed expert on its routed tokens only (``TGHMoE(sparse=True)``, tested equal to the
  dense path that the export uses);
- report and VQA samples share a batch (so the text-guided group gate sees both tasks) but run through the LLM
  as two length-homogeneous sub-batches.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .llm import LLMConfig
from .mllm import CTLensMLLM, MLLMConfig, merge_image_features
from .preprocess import PreprocessConfig, hu_to_pixels, image_to_pixels, resample
from .tghmoe import MoEConfig
from .tokenizer import WordTokenizer
from .transfer import EncoderConfig, transfer_2d_to_3d
from .vit2d import ViTConfig

STAGE_CODE = {"stage0": 0, "stage1": 1, "stage2": 2, "onestage": 3, "stage3": 4}


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

PRESETS = {
    # 32×128×128 input, patch 32 (4×4 tokens a slice, 512 visual tokens), every encoder block trained, 10,000
    # training phantoms, reports whose sentences decide polarity at their first token, a task-supervised gate.
    "demo": Preset("demo", image_size=128, patch_size=32, slices=32, pooling=[4, 2, 2], summary_max=True,
                   group_names=list(TASKS), train_cases=10000, stage0_steps=800, stage1_steps=2400, stage2_steps=1000, stage2_rest_lr=1.5e-4,
                   freeze_blocks=0, shared_cases=True, decision_weight=4.0, gate_task_weight=0.2, expert_noise=0.05),
    # The card's window experiment: the demo, then 600 steps with the lung window replaced by a low-attenuation
    # window (L −950 / W 100). Run it in the demo's run folder to reuse its stages 0–2:
    #   python3 -m model.train --preset demo_law --out model/runs/demo
    "demo_law": Preset("demo_law", image_size=128, patch_size=32, slices=32, pooling=[4, 2, 2], summary_max=True,
                       group_names=list(TASKS), train_cases=10000, stage0_steps=800, stage1_steps=2400,
                       stage2_steps=1000, stage2_rest_lr=1.5e-4, freeze_blocks=0, shared_cases=True,
                       decision_weight=4.0, gate_task_weight=0.2, expert_noise=0.05, stage3_steps=600,
                       stage3_windows=[[-950.0, 100.0], [40.0, 400.0], [400.0, 1800.0]]),
    # The 2.0 package's continuation: the demo's stages 0–2, then 3,000 steps with the bone window (the most redundant
    # of the three: the mediastinal window already saturates calcification and bone alike) replaced by a
    # low-attenuation window (L −950 / W 100), where emphysema (−975 HU) parts from lung (−850 HU). Run it in a folder
    # holding the demo's stage0–2 checkpoints and data to reuse them (model/README.md, Commands):
    #   python3 -m model.train --preset demo_law_long --out model/runs/law_long
    "demo_law_long": Preset("demo_law_long", image_size=128, patch_size=32, slices=32, pooling=[4, 2, 2],
                            summary_max=True, group_names=list(TASKS), train_cases=10000, stage0_steps=800,
                            stage1_steps=2400, stage2_steps=1000, stage2_rest_lr=1.5e-4, freeze_blocks=0,
                            shared_cases=True, decision_weight=4.0, gate_task_weight=0.2, expert_noise=0.05,
                            stage3_steps=3000, stage3_lr=2e-4,
                            stage3_windows=[[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]]),
    # Then finding evidence (CTLensMLLM.enable_finding_evidence): demo_law_long's result, the finding head's beliefs
    # written into the summary token, 3,000 more steps. Needs demo_law_long's run (model/README.md, Commands):
    #   python3 -m model.train --preset demo_law_evidence --out model/runs/law_evidence
    "demo_law_evidence": Preset("demo_law_evidence", image_size=128, patch_size=32, slices=32, pooling=[4, 2, 2],
                                summary_max=True, group_names=list(TASKS), train_cases=10000, stage0_steps=800,
                                stage1_steps=2400, stage2_steps=1000, stage2_rest_lr=1.5e-4, freeze_blocks=0,
                                shared_cases=True, decision_weight=4.0, gate_task_weight=0.2, expert_noise=0.05,
                                stage3_steps=3000, stage3_lr=2e-4, stage3_from="law_long/stage3.pt",
                                finding_evidence=True,
                                stage3_windows=[[-600.0, 1500.0], [40.0, 400.0], [-950.0, 100.0]]),
    # The 1.0 recipe (16×64×64, frozen blocks 0–1, 1000 cases), for comparison runs.
    "demo1": Preset("demo1"),
    # A few seconds end to end: the pipeline test (tiny model, 3 cases, a handful of steps per stage).
    "tiny": Preset("tiny", image_size=32, patch_size=16, vit_dim=32, vit_depth=3, vit_heads=2, slices=4,
                   top_blocks=1, llm_dim=32, llm_layers=1, llm_heads=2, max_positions=320, pooling=[2, 1, 1],
                   train_cases=3, val_cases=1, synth_size=[48, 48, 24], stage0_steps=3, stage0_batch=4,
                   stage1_steps=3, stage2_steps=3, batch_reports=1, batch_vqa=2, freeze_blocks=1, warmup=1,
                   checkpoint_every=2, log_every=1),
}


def build_tokenizer() -> WordTokenizer:
    from . import reports, scenes2d

    texts = list(reports.all_texts()) + list(scenes2d.all_texts()) + list(reports.REPORT_PROMPTS)
    return WordTokenizer.build(texts)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- batches -------------------------------------------------------------------------------------------------------
def encode_sample(tok: WordTokenizer, n_img: int, question: str, answer: str) -> tuple[list[int], int]:
    """ids of ``<bos> question <image>×n <answer> answer <eos>`` and the prompt length (up to <answer>).

    The image comes after the question, next to ``<answer>``: with an oracle image (finding labels written into
    the summary token) the LLM learned to read it sooner and more stably this way than with the image first."""
    prompt = [tok.bos_id] + tok.encode(question.strip()) + [tok.image_id] * n_img + [tok.answer_id]
    return prompt + tok.encode(answer.strip()) + [tok.eos_id], len(prompt)


def collate(tok: WordTokenizer, samples: list[tuple[list[int], int]], decision_weight: float = 1.0) -> dict:
    """Right-padded batch: input_ids, labels (-100 on prompt/pad), attention_mask, prompt_mask (non-image prompt),
    weights (CE weight per label position: ``decision_weight`` on the first answer token and on every token that
    starts a sentence — after "." or ":" — where the reports put a finding's polarity; 1 elsewhere)."""
    s = max(len(ids) for ids, _ in samples)
    b = len(samples)
    input_ids = torch.full((b, s), tok.pad_id, dtype=torch.long)
    labels = torch.full((b, s), -100, dtype=torch.long)
    attention = torch.zeros(b, s, dtype=torch.long)
    prompt_mask = torch.zeros(b, s, dtype=torch.bool)
    for r, (ids, plen) in enumerate(samples):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        labels[r, plen : len(ids)] = torch.tensor(ids[plen:])
        attention[r, : len(ids)] = 1
        prompt_mask[r, :plen] = True
    prompt_mask &= input_ids != tok.image_id
    weights = torch.ones(b, s)
    if decision_weight != 1.0:
        marks = torch.tensor([tok.ids.get(m, -1) for m in (".", ":")])
        starts = torch.zeros(b, s, dtype=torch.bool)
        starts[:, 1:] = torch.isin(input_ids[:, :-1], marks)
        for r, (ids, plen) in enumerate(samples):
            starts[r, plen] = True
        weights[starts & (labels != -100)] = decision_weight
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention, "prompt_mask": prompt_mask,
            "weights": weights}


def lm_loss(model: CTLensMLLM, batch: dict, feats: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the answer tokens, the image features placed at the <image> positions."""
    ids = batch["input_ids"]
    embeds = merge_image_features(embeds, feats, ids == model.cfg.image_token_id)
    pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
    logits, _ = model.llm(embeds, batch["attention_mask"], pos)
    labels = batch["labels"][:, 1:].reshape(-1)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels, ignore_index=-100, reduction="none")
    w = batch["weights"][:, 1:].reshape(-1) * (labels != -100)
    return (ce * w).sum() / w.sum().clamp(min=1e-6)


def multitask_loss(model: CTLensMLLM, tokens: torch.Tensor, batches: list[dict], sparse: bool = True,
                   findings: torch.Tensor | None = None, finding_weight: float = 0.0, gate_task_weight: float = 0.0):
    """One encoder pass over all samples (their text guidance each), then the LLM per sub-batch.

    tokens [B,N,C] per-slice encoder output, rows in the order of the concatenated sub-batches; findings [B,8]
    (0/1 from the labeller) for the summary token's finding head.
    Returns (loss, info); loss = mean CE over sub-batches (weighted by samples) + 0.01·balance
    + finding_weight·BCE(finding head) + gate_task_weight·NLL(group gate, task) where sub-batch i is task i.
    """
    embeds = [model.embed_tokens(b["input_ids"]) for b in batches]
    text = torch.cat([model.text_guidance(e, b["prompt_mask"]) for e, b in zip(embeds, batches)])
    feats, routing, aux = model.image_features(tokens, text, sparse=sparse)
    ce, start = 0.0, 0
    for e, b in zip(embeds, batches):
        n = b["input_ids"].shape[0]
        ce = ce + lm_loss(model, b, feats[start : start + n], e) * n
        start += n
    ce = ce / start
    loss = ce + model.cfg.encoder.moe.aux_loss_weight * aux
    info = {"ce": float(ce), "aux": float(aux)}
    if gate_task_weight > 0 and routing is not None:
        gates = routing[0]  # [B,K,G]
        task = torch.cat([torch.full((b["input_ids"].shape[0],), i, dtype=torch.long) for i, b in enumerate(batches)])
        nll = F.nll_loss(gates.clamp(min=1e-6).log().flatten(0, 1), task.repeat_interleave(gates.shape[1]))
        loss = loss + gate_task_weight * nll
        info.update(gate_nll=float(nll), gate_acc=float((gates.mean(1).argmax(-1) == task).float().mean()))
    if findings is not None and finding_weight > 0 and model.finding_head is not None:
        logits = model.finding_head(feats[:, -1])  # the summary token
        bce = F.binary_cross_entropy_with_logits(logits, findings)
        loss = loss + finding_weight * bce
        info.update(find_bce=float(bce), find_acc=float(((logits > 0).float() == findings).float().mean()))
    return loss, info


# --- optimisation --------------------------------------------------------------------------------------------------
def lr_at(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def save_checkpoint(path: str, **payload) -> None:
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def run_loop(name: str, path: str, model: CTLensMLLM, groups: list[dict], steps: int, preset: Preset,
             step_fn, extra: dict) -> None:
    """Generic resumable loop: ``step_fn(step) → (loss, info)``; checkpoints model + optimizer + step."""
    opt = torch.optim.AdamW(groups, weight_decay=0.01, foreach=True)  # one kernel per op type, not per tensor
    for g in opt.param_groups:
        g["base_lr"] = g["lr"]
    start = 0
    part = path + ".part"
    if os.path.exists(part):
        ck = torch.load(part, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start = ck["step"]
        log(f"{name}: resuming at step {start}/{steps}")
    model.train()
    t0, c0 = time.time(), time.process_time()
    ema = None
    for step in range(start, steps):
        scale = lr_at(step, steps, preset.warmup)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * scale
        loss, info = step_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
        opt.step()
        ema = info["ce"] if ema is None else 0.95 * ema + 0.05 * info["ce"]
        if (step + 1) % preset.log_every == 0 or step + 1 == steps:
            rate = (step + 1 - start) / (time.time() - t0)
            eta = (steps - step - 1) / max(rate, 1e-9)
            extra_info = " ".join(f"{k} {v:.4f}" for k, v in info.items() if k != "ce")
            log(f"{name} step {step + 1}/{steps} ce {info['ce']:.4f} (ema {ema:.4f}) {extra_info} "
                f"lr {opt.param_groups[0]['lr']:.2e} {rate:.2f} it/s "
                f"(cpu {(time.process_time() - c0) / (step + 1 - start):.2f} s/it) eta {eta / 60:.1f} min")
        if (step + 1) % preset.checkpoint_every == 0 and step + 1 < steps:
            save_checkpoint(part, model=model.state_dict(), optimizer=opt.state_dict(), step=step + 1)
    model.eval()
    save_checkpoint(path, model=model.state_dict(), config=model.cfg.to_dict(),
                    routed=all(m.routed for m in model.encoder.moe_layers) and bool(model.encoder.moe_layers),
                    seconds=time.time() - t0, cpu_seconds=time.process_time() - c0, steps=steps, **extra)
    if os.path.exists(part):
        os.remove(part)
    log(f"{name}: done in {(time.time() - t0) / 60:.1f} min → {path}")


# --- stage 0: the 2D MLLM ------------------------------------------------------------------------------------------
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


# --- CT data -------------------------------------------------------------------------------------------------------
def _case_hu(case) -> np.ndarray:
    """The HU a reader of the written file gets: int16 storage with the case's slope/inter, in float32."""
    from .preprocess import stored_to_hu
    from .synth import stored_values

    slope, inter = case.scaling
    return stored_to_hu(stored_values(case.phantom.hu, case.scaling), slope, inter)


def build_ct_data(preset: Preset, split: str, n: int, data_dir: str) -> dict:
    """Generate ``n`` cases of ``split`` in memory: resampled HU [n,D,H,W] (float16) + the dataset lines."""
    from .synth import dataset_lines, generate_case

    os.makedirs(data_dir, exist_ok=True)
    hu_path = os.path.join(data_dir, f"{split}_hu.npy")
    lines_path = os.path.join(data_dir, f"{split}_lines.jsonl")
    if os.path.exists(hu_path) and os.path.exists(lines_path):
        hu = np.load(hu_path, mmap_mode="r")
        if hu.shape[0] == n:
            with open(lines_path) as f:
                return {"hu": hu, "lines": [json.loads(l) for l in f]}
    part = hu_path + ".part.npy"
    while os.path.exists(part) and time.time() - os.path.getmtime(part) < 300:  # another process (--data-only) is on it
        time.sleep(20)
        if os.path.exists(hu_path) and os.path.exists(lines_path):
            return build_ct_data(preset, split, n, data_dir)
    d, h, w = preset.slices, preset.image_size, preset.image_size
    # written in place on disk (10,000 cases of 32×128×128 are 10 GB), renamed when complete
    hu_all = np.lib.format.open_memmap(hu_path + ".part.npy", mode="w+", dtype=np.float16, shape=(n, d, h, w))
    lines = []
    t0 = time.time()
    for i in range(n):
        case = generate_case(preset.seed, split, i, size=tuple(preset.synth_size))
        hu_all[i] = resample(torch.from_numpy(_case_hu(case)).permute(2, 1, 0), (d, h, w)).numpy()
        for line in dataset_lines(case, f"images/{case.id}.nii.gz"):
            line["index"] = i
            lines.append(line)
        if (i + 1) % 50 == 0 or i + 1 == n:
            log(f"data {split}: {i + 1}/{n} cases ({(time.time() - t0) / (i + 1):.2f} s/case)")
    hu_all.flush()
    del hu_all
    with open(lines_path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    os.replace(hu_path + ".part.npy", hu_path)
    return {"hu": np.load(hu_path, mmap_mode="r"), "lines": lines}


def hu_batch_to_pixels(hu: np.ndarray, pre: PreprocessConfig) -> torch.Tensor:
    """Resampled HU [B,D,H,W] → pixel_values [B,3,D,H,W] (windows + normalisation of preprocess.hu_to_pixels)."""
    x = torch.from_numpy(np.asarray(hu, dtype=np.float32))
    chans = []
    for (level, width), m, s in zip(pre.hu_windows, pre.mean, pre.std):
        chans.append((((x - (level - width / 2)) / width).clamp(0, 1) - m) / s)
    return torch.stack(chans, 1)


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
    unique = sorted(set(indices))
    if len(unique) < len(indices):
        x = slice_tokens(model, hu, pre, unique, freeze, cached)
        return x[torch.tensor([unique.index(i) for i in indices])]
    b = len(indices)
    if cached is not None:
        x = torch.from_numpy(np.asarray(cached[indices], dtype=np.float32))  # [B,D·Np,C]
        x = x.reshape(b * pre.input_size[0], -1, x.shape[-1])
    else:
        x = frozen_prefix(model, hu_batch_to_pixels(hu[indices], pre), 0)
    return trainable_suffix(model, x, b, freeze)


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


def report_findings(lines: list[dict]) -> dict[int, list[float]]:
    """Case index → the 8 findings (0/1) that model/labeller.py reads from the case's training report."""
    from .labeller import FINDINGS, label_report

    out = {}
    for l in lines:
        if l["task"] == "report":
            found = label_report(l["report"])
            out[l["index"]] = [float(found[f]) for f in FINDINGS]
    return out


class CTBatches:
    """Deterministic multitask batches: ``batch_reports`` report lines + ``batch_vqa`` VQA lines per step."""

    def __init__(self, tok: WordTokenizer, lines: list[dict], n_img: int, preset: Preset, stage: str, seed: int = 0):
        self.tok, self.n_img, self.preset, self.stage, self.seed = tok, n_img, preset, stage, seed
        self.reports = [l for l in lines if l["task"] == "report"]
        self.vqa = [l for l in lines if l["task"] == "vqa"]
        self.vqa_of: dict[int, list[dict]] = {}
        for l in self.vqa:
            self.vqa_of.setdefault(l["index"], []).append(l)
        self.findings = report_findings(lines)

    def labels(self, indices: list[int]) -> torch.Tensor:
        return torch.tensor([self.findings[i] for i in indices])

    def __call__(self, step: int) -> tuple[list[int], list[dict]]:
        p = self.preset
        rng = np.random.default_rng([p.seed, STAGE_CODE[self.stage], step, *([self.seed] if self.seed else [])])
        rep = [self.reports[i] for i in rng.choice(len(self.reports), p.batch_reports, replace=False)]
        if p.shared_cases:  # the questions of the same cases
            per_case = p.batch_vqa // p.batch_reports
            vqa = []
            for l in rep:
                own = self.vqa_of[l["index"]]
                vqa += [own[i] for i in rng.choice(len(own), per_case, replace=False)]
        else:
            vqa = [self.vqa[i] for i in rng.choice(len(self.vqa), p.batch_vqa, replace=False)]
        batches = []
        for group in (rep, vqa):
            samples = [encode_sample(self.tok, self.n_img, l["question"], l.get("report") or l["answer"]) for l in group]
            batches.append(collate(self.tok, samples, p.decision_weight))
        return [l["index"] for l in rep + vqa], batches


@torch.no_grad()
def calibrate_projector(model: CTLensMLLM, tokens_for, n_cases: int, n: int = 256) -> None:
    """Set the projector's standardisation from the pooled encoder output of up to ``n`` training volumes."""
    pooled = []
    for s in range(0, min(n, n_cases), 16):
        idx = list(range(s, min(s + 16, n, n_cases)))
        enc, _ = model.encoder.encode_volume(tokens_for(idx), None)
        pooled.append(model.projector.pool(enc, model.cfg.encoder.patch_grid, model.cfg.pooling))
    model.projector.calibrate(torch.cat(pooled))


def load_model_state(model: CTLensMLLM, state: dict, source: str) -> None:
    """Load a checkpoint's weights; one written before the projector had its standardisation (offset, scale) keeps
    the identity there. Any other missing or unexpected name is an error naming ``source``."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"projector.offset", "projector.scale"}:
        raise ValueError(f"{source} does not match its model: missing {missing}, unexpected {unexpected}")


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
    start = os.path.join(os.path.dirname(__file__), "runs", preset.stage3_from) if preset.stage3_from else stage2_path
    model = checkpoint_model(start)
    if preset.finding_evidence and model.finding_evidence is None:
        model.enable_finding_evidence()
    pre = PreprocessConfig(input_size=[preset.slices, preset.image_size, preset.image_size],
                           hu_windows=[tuple(w) for w in preset.stage3_windows])
    n_img = model.cfg.num_image_tokens
    batches = CTBatches(tok, data["lines"], n_img, preset, "stage3")

    def step(step_index: int):
        idx, bs = batches(step_index)
        return multitask_loss(model, slice_tokens(model, data["hu"], pre, idx), bs, findings=batches.labels(idx),
                              finding_weight=preset.finding_loss_weight, gate_task_weight=preset.gate_task_weight)

    for q in model.parameters():
        q.requires_grad_(True)
    log(f"stage3 from {start}: HU windows {preset.stage3_windows}, finding evidence {model.finding_evidence is not None}, "
        f"everything at {preset.stage3_lr}, {preset.stage3_steps} steps")
    extra = {"vocab": tok.vocab, "preprocess": asdict(pre), "variant": asdict(Variant()), "preset": preset.name}
    run_loop("stage3", final, model, [{"params": list(model.parameters()), "lr": preset.stage3_lr}],
             preset.stage3_steps, preset, step, extra)
    return final


def upcycle_experts(model: CTLensMLLM, preset: Preset, variant: Variant) -> None:
    gen = torch.Generator().manual_seed(7 + preset.seed + 1000 * variant.seed)
    for layer in model.encoder.moe_layers:
        layer.upcycle(preset.expert_noise, gen)


def checkpoint_model(path: str) -> CTLensMLLM:
    ck = torch.load(path, map_location="cpu")
    model = CTLensMLLM(MLLMConfig.from_dict(ck["config"]))
    if ck.get("routed"):
        for layer in model.encoder.moe_layers:
            layer.routed = True
    load_model_state(model, ck["model"], path)
    return model.eval()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="a built-in preset (default demo)")
    p.add_argument("--config", help="a config file (model/configs/*.json: preset, data source, distributed options)")
    p.add_argument("--out", help="run folder (default model/runs/<preset>)")
    p.add_argument("--package", help="export the result here (default: no export)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    p.add_argument("--data-only", action="store_true",
                   help="only generate the CT training data into <run>/data (e.g. on a second core while stage 0 trains)")
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
        build_ct_data(preset, "train", preset.train_cases, data_dir)
        return 0
    stage0 = train_stage0(preset, tok, run)
    data = build_ct_data(preset, "train", preset.train_cases, data_dir)
    final = train_ct(preset, tok, run, stage0, data, Variant(), preset.stage1_steps, preset.stage2_steps, data_dir)
    if preset.stage3_steps > 0:
        final = train_stage3(preset, tok, run, final, data)
    log(f"training finished in {(time.time() - t0) / 60:.1f} min (this invocation) → {final}")
    if a.package:
        from .export import export_package

        model = checkpoint_model(final)
        ck = torch.load(final, map_location="cpu")
        export_package(model, tok, PreprocessConfig(**ck["preprocess"]), a.package,
                       {"training": f"preset {preset.name}"})
        log(f"exported → {a.package}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
