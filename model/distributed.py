"""Distributed training (issue 13): ``torchrun --nproc_per_node N -m model.train --config CONFIG.json``.

PyTorch's own engine: ``torch.distributed`` (gloo on CPU, NCCL on CUDA), ``DistributedDataParallel``, a
``DistributedSampler`` over the cases (a case = one volume with its samples), gradient accumulation (``no_sync``
on all but the last micro-batch), logging and checkpoints on rank 0, resume from ``<stage>.pt.part`` on restart
(``torchrun --max-restarts`` restarts every rank after one is killed; they all resume from the last checkpoint),
bf16 autocast and activation checkpointing on CUDA.

The stages are model/stages.py's: stage 0 (the 2D MLLM, trained on rank 0 while the others wait), the transfer,
stage 1 (task-shared) and stage 2 (TGH-MoE upcycled, two learning rates). What differs from ``train_ct``:
- batches: an epoch is a permutation of the cases (``DistributedSampler``, seeded by the preset's seed and the
  stage), each case contributes one report and ``batch_vqa // batch_reports`` of its questions, drawn by
  (seed, stage, epoch, case) — not batches.CTBatches' per-step draws, so a torchrun run is not the ``--preset``
  run; ``--config demo.json`` without torchrun still is;
- the loss (``LocalLoss``) is ``losses.multitask_loss`` split across ranks: cross-entropy, the gate's task NLL and
  the finding head's BCE are normalised by their *global* counts (tokens, samples, rows) and scaled by the world
  size, so that DDP's gradient average equals the gradient of the one-process loss over the union of the ranks'
  batches (tested: 2 ranks × batch b = 1 process × batch 2b); the MoE balance term is per rank (as usual for DDP
  MoE training: it is not a sum over samples);
- the frozen per-slice blocks are recomputed each step (no feature cache; volumes are cached, model/data).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from .batches import STAGE_CODE, collate, encode_sample
from .checkpoints import checkpoint_model, save_checkpoint
from .ct_data import build_ct_data
from .loop import log, lr_at, resumable_optimizer
from .mllm import merge_image_features
from .per_slice import frozen_prefix, trainable_suffix
from .stages import Variant, calibrate_projector, train_stage0, transfer_from_stage0, upcycle_experts
from .tokenizer import WordTokenizer
from .vocabulary import build_tokenizer


# --- process group -------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Env:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()


def setup(dcfg) -> Env:
    if "WORLD_SIZE" not in os.environ:  # one process, no process group
        return Env(device=torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    cuda = torch.cuda.is_available()
    backend = dcfg.backend or ("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=dcfg.timeout_min))
    return Env(rank, world, local, torch.device("cuda", local) if cuda else torch.device("cpu"))


# --- the loss, split across ranks ----------------------------------------------------------------------------------
def per_slice_tokens(model, pixels: torch.Tensor, freeze: int) -> torch.Tensor:
    """[B,3,D,H,W] → [B,D·Np,C]: patch embedding + per-slice blocks (the frozen ones without gradient)."""
    if freeze > 0:
        with torch.no_grad():
            x = frozen_prefix(model, pixels, freeze)
    else:
        x = frozen_prefix(model, pixels, 0)
    return trainable_suffix(model, x, pixels.shape[0], freeze)


def global_counts(env: Env, micro: list[tuple[list, torch.Tensor]], k_moe: int) -> dict:
    """The normalisers of the one-process loss over the union of every rank's micro-batches of a step:
    ``micro`` = [(sub-batches, finding mask)] for each accumulated micro-batch of this rank."""
    k = len(micro[0][0])
    n, w, f = [0.0] * k, [0.0] * k, 0.0
    for batches, fmask in micro:
        for i, b in enumerate(batches):
            if b is not None:
                n[i] += float(b["input_ids"].shape[0])
                w[i] += float((b["weights"][:, 1:] * (b["labels"][:, 1:] != -100)).sum())
        f += float(fmask.sum())
    tot = env.all_sum(n + w + [f])
    return {"n": tot[:k], "w": tot[k : 2 * k], "rows": sum(tot[:k]), "find_rows": tot[2 * k], "k_moe": k_moe}


class LocalLoss(nn.Module):
    """This rank's share of losses.multitask_loss (see the module docstring); ``forward`` returns (loss, parts)."""

    def __init__(self, model, preset, freeze: int, world: int, gate_task_weight: float, bf16: bool):
        super().__init__()
        self.model, self.preset, self.freeze, self.world = model, preset, freeze, world
        self.gate_task_weight, self.bf16 = gate_task_weight, bf16

    def amp(self):
        # (torch 1.13's autocast initialises CUDA even when disabled with bf16: no context at all off CUDA)
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def forward(self, pixels, case_rows, batches, findings, fmask, counts, aux_scale: float = 1.0):
        model = self.model
        with self.amp():
            tokens = per_slice_tokens(model, pixels, self.freeze)[case_rows]
            live = [(i, b) for i, b in enumerate(batches) if b is not None]
            embeds = {i: model.embed_tokens(b["input_ids"]) for i, b in live}
            text = torch.cat([model.text_guidance(embeds[i], b["prompt_mask"]) for i, b in live])
            feats, routing, aux = model.image_features(tokens, text, sparse=True)
        feats = feats.float()
        ce, start = feats.new_zeros(()), 0
        for i, b in live:
            m = b["input_ids"].shape[0]
            ids = b["input_ids"]
            with self.amp():
                e = merge_image_features(embeds[i], feats[start : start + m].to(embeds[i].dtype),
                                         ids == model.cfg.image_token_id)
                pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand_as(ids)
                logits, _ = model.llm(e, b["attention_mask"], pos)
            labels = b["labels"][:, 1:].reshape(-1)
            tok_ce = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels, ignore_index=-100,
                                     reduction="none")
            w = b["weights"][:, 1:].reshape(-1) * (labels != -100)
            ce = ce + (tok_ce * w).sum() / max(counts["w"][i], 1e-6) * (counts["n"][i] / counts["rows"])
            start += m
        loss = self.world * ce + aux_scale * model.cfg.encoder.moe.aux_loss_weight * aux.float()
        parts = {"ce": ce.detach(), "aux": aux.detach().float()}
        if self.gate_task_weight > 0 and routing is not None:
            gates = routing[0].float()  # [B,K,G]
            task = torch.cat([torch.full((b["input_ids"].shape[0],), i, dtype=torch.long, device=gates.device)
                              for i, b in live])
            nll = F.nll_loss(gates.clamp(min=1e-6).log().flatten(0, 1), task.repeat_interleave(gates.shape[1]),
                             reduction="sum") / (counts["rows"] * gates.shape[1])
            loss = loss + self.world * self.gate_task_weight * nll
            parts["gate_nll"] = nll.detach()
        if self.preset.finding_loss_weight > 0 and model.finding_head is not None and counts["find_rows"] > 0:
            logits = model.finding_head(feats[:, -1])
            bce = (F.binary_cross_entropy_with_logits(logits, findings, reduction="none") * fmask[:, None]).sum() \
                / (counts["find_rows"] * findings.shape[1])
            loss = loss + self.world * self.preset.finding_loss_weight * bce
            parts["find_bce"] = bce.detach()
        return loss, parts


def enable_activation_checkpointing(model, freeze: int) -> int:
    """Recompute the trainable per-slice blocks, the 3D blocks and the LLM layers in backward. Returns the count."""
    from torch.utils.checkpoint import checkpoint

    blocks = list(model.encoder.lower.blocks[freeze:]) + list(model.encoder.upper) + list(model.llm.layers)
    for blk in blocks:
        if getattr(blk, "_ctlens_checkpointed", False):
            continue
        orig = blk.forward

        def fwd(*args, _orig=orig, **kw):
            return checkpoint(_orig, *args, use_reentrant=False, **kw)

        blk.forward = fwd
        blk._ctlens_checkpointed = True
    return len(blocks)


# --- batches -------------------------------------------------------------------------------------------------------
def collate_cases(items: list[dict], tok, n_img: int, preset, max_positions: int) -> dict:
    """Cases → pixels [B,3,D,H,W], per-sample rows (reports first, then questions, as batches.CTBatches), the two
    sub-batches (None when empty), the finding head's targets (labeller on the case's report) and its mask."""
    from .labeller import FINDINGS, label_report

    rows, subs, cut = [[], []], [[], []], 0
    for c, it in enumerate(items):
        for t, group in enumerate((it["reports"], it["vqa"])):
            for q, a in group:
                ids, plen = encode_sample(tok, n_img, q, a)
                if len(ids) > max_positions:
                    ids, cut = ids[:max_positions], cut + 1
                subs[t].append((ids, plen))
                rows[t].append(c)
    case_rows = torch.tensor(rows[0] + rows[1], dtype=torch.long)
    batches = [collate(tok, s, preset.decision_weight) if s else None for s in subs]
    find = []
    for it in items:
        if it["reports"]:
            found = label_report(it["reports"][0][1])
            find.append([float(found[f]) for f in FINDINGS])
        else:
            find.append([0.0] * len(FINDINGS))
    find_t, has = torch.tensor(find), torch.tensor([float(bool(it["reports"])) for it in items])
    return {"pixels": torch.stack([it["pixels"] for it in items]), "case_rows": case_rows, "batches": batches,
            "findings": find_t[case_rows], "fmask": has[case_rows], "skipped": [s for it in items for s in it["skipped"]],
            "truncated": cut, "cases": [it["index"] for it in items]}


def micro_batches(ds, env: Env, micro: int, seed: int, start: int, workers: int):
    """Endless (epoch, items) micro-batches from micro-batch number ``start`` on (resume skips without loading)."""
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    m = start
    while True:
        sampler = DistributedSampler(ds, num_replicas=env.world, rank=env.rank, shuffle=True, seed=seed)
        per_epoch = len(sampler) // micro
        if per_epoch == 0:
            raise ValueError(f"{len(ds)} cases are fewer than {env.world} ranks × micro-batch {micro}")
        epoch, within = divmod(m, per_epoch)
        sampler.set_epoch(epoch)
        ds.epoch = epoch
        order = list(sampler)[within * micro : per_epoch * micro]
        loader = DataLoader(ds, batch_size=micro, sampler=order, num_workers=workers, collate_fn=list,
                            persistent_workers=False)
        for items in loader:
            yield epoch, items
            m += 1


def _maybe_killed(env: Env, step: int) -> None:
    """Test hook: CTLENS_TEST_KILL="rank:step:marker" SIGKILLs that rank after that step, once (marker file)."""
    spec = os.environ.get("CTLENS_TEST_KILL")
    if not spec:
        return
    rank, at, marker = spec.split(":", 2)
    if int(rank) == env.rank and int(at) == step and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)


def _to(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, list):
        return [_to(v, device) for v in x]
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    return x


def ddp_loop(name: str, path: str, model, groups: list[dict], steps: int, preset, env: Env, cfg, ds, tok, n_img: int,
             freeze: int, gate_task_weight: float, extra: dict) -> None:
    dcfg = cfg.distributed
    micro, accum = dcfg.micro_batch or preset.batch_reports, dcfg.grad_accum
    cuda = env.device.type == "cuda"
    opt, start = resumable_optimizer(model, groups, path)
    part = path + ".part"
    if start and env.main:
        log(f"{name}: resuming at step {start}/{steps} (world {env.world})")
    trainable = {id(p) for g in groups for p in g["params"]}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    model.train()
    step_mod = LocalLoss(model, preset, freeze, env.world, gate_task_weight, bf16=cuda and dcfg.bf16)
    if env.world > 1:
        ddp = nn.parallel.DistributedDataParallel(step_mod, device_ids=[env.local_rank] if cuda else None,
                                                  find_unused_parameters=dcfg.find_unused_parameters)
    else:
        ddp = step_mod
    stage_seed = preset.seed * 10 + STAGE_CODE[name]
    batches = micro_batches(ds, env, micro, stage_seed, start * accum, cfg.data.num_workers)
    t0, t_data, t_step, n_vol = time.time(), 0.0, 0.0, 0
    skipped, truncated = 0, 0
    params = [p for g in groups for p in g["params"]]
    for step in range(start, steps):
        scale = lr_at(step, steps, preset.warmup)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * scale
        parts_sum: dict[str, float] = {}
        # The step's micro-batches are collated first, so that the loss is normalised over all of them: accumulating
        # a micro-batches of b cases is the step of one micro-batch of a·b cases (up to float rounding).
        ta = time.time()
        micro_list = []
        for a in range(accum):
            epoch, items = next(batches)
            b = collate_cases(items, tok, n_img, preset, model.cfg.llm.max_positions)
            for key, reason in b["skipped"]:
                log(f"rank {env.rank}: skipped volume {key}: {reason}")
            skipped, truncated = skipped + len(b["skipped"]), truncated + b["truncated"]
            micro_list.append(b)
        counts = global_counts(env, [(b["batches"], b["fmask"]) for b in micro_list], len(model.encoder.moe_layers))
        tb = time.time()
        t_data += tb - ta
        for a, b in enumerate(micro_list):
            b = _to(b, env.device)
            sync = contextlib.nullcontext() if (env.world == 1 or a == accum - 1) else ddp.no_sync()
            with sync:
                loss, parts = ddp(b["pixels"], b["case_rows"], b["batches"], b["findings"], b["fmask"], counts,
                                  1.0 / accum)
                loss.backward()
            for k, v in parts.items():  # shares of the step's means; aux: the mean over micro-batches
                parts_sum[k] = parts_sum.get(k, 0.0) + float(v) / (accum if k == "aux" else 1)
            n_vol += b["pixels"].shape[0]
        t_step += time.time() - tb
        tc = time.time()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t_step += time.time() - tc
        _maybe_killed(env, step + 1)
        if (step + 1) % preset.log_every == 0 or step + 1 == steps:
            keys = sorted(parts_sum)
            tot = env.all_sum([parts_sum[k] for k in keys] + [n_vol, t_data, t_step])
            if env.main:
                info = dict(zip(keys, tot))
                # ce, find_bce, gate_nll are shares of the global mean (sum over ranks); aux is a per-rank mean
                info["aux"] = info.get("aux", 0.0) / env.world
                wall = time.time() - t0
                vols = tot[len(keys)]
                log(f"{name} step {step + 1}/{steps} ce {info['ce']:.4f} "
                    + " ".join(f"{k} {info[k]:.4f}" for k in keys if k != "ce")
                    + f" lr {opt.param_groups[0]['lr']:.2e} world {env.world} epoch {epoch} "
                    f"{vols / wall:.2f} volumes/s; per rank and step: data {tot[-2] / env.world / (step + 1 - start):.3f} s, "
                    f"compute {tot[-1] / env.world / (step + 1 - start):.3f} s")
        if (step + 1) % preset.checkpoint_every == 0 and step + 1 < steps and env.main:
            save_checkpoint(part, model=model.state_dict(), optimizer=opt.state_dict(), step=step + 1)
    skipped_all, trunc_all = env.all_sum([skipped, truncated])
    model.eval()
    if env.main:
        save_checkpoint(path, model=model.state_dict(), config=model.cfg.to_dict(),
                        routed=all(m.routed for m in model.encoder.moe_layers) and bool(model.encoder.moe_layers),
                        seconds=time.time() - t0, steps=steps, world=env.world, skipped_volumes=int(skipped_all),
                        truncated_samples=int(trunc_all), timing={"data_s": t_data, "compute_s": t_step}, **extra)
        if os.path.exists(part):
            os.remove(part)
        log(f"{name}: done in {(time.time() - t0) / 60:.1f} min, {int(skipped_all)} volumes skipped, "
            f"{int(trunc_all)} samples truncated to {model.cfg.llm.max_positions} tokens → {path}")
    env.barrier()


# --- the run -------------------------------------------------------------------------------------------------------
def build_tokenizer_for(idx) -> WordTokenizer:
    from . import reports, scenes2d

    texts = list(reports.all_texts()) + list(scenes2d.all_texts()) + list(reports.REPORT_PROMPTS)
    if idx is not None:
        texts += [t for s in idx.samples for t in (s.question, s.answer)]
    return WordTokenizer.build(texts)


def train_distributed(cfg, run: str, package: str | None = None, env: Env | None = None) -> int:
    from .data import load_index
    from .data.volumes import CaseDataset, cases_from_builtin, cases_from_index

    preset, dcfg = cfg.preset, cfg.distributed
    env = env or setup(dcfg)
    os.makedirs(run, exist_ok=True)
    say = log if env.main else (lambda m: None)  # rank 0 logs
    say(f"distributed: world {env.world}, backend {dist.get_backend() if env.world > 1 else 'none'}, "
        f"device {env.device}, micro-batch {dcfg.micro_batch or preset.batch_reports} cases × accumulation "
        f"{dcfg.grad_accum}, data {cfg.data.source}")
    try:
        idx = None if cfg.data.source == "builtin" else load_index(cfg.data, say)
    except (OSError, ValueError) as e:  # a missing folder, a CSV without its columns: before anything trains
        print(f"model.train: data: {e}", file=sys.stderr, flush=True)
        return 2
    if idx is not None and not idx.samples:
        print(f"model.train: data: no usable sample in {cfg.data.root or cfg.data.path}", file=sys.stderr, flush=True)
        return 2
    tok = build_tokenizer() if cfg.data.source in ("builtin", "synthetic") else build_tokenizer_for(idx)
    # stage 0 on rank 0, the others wait (the collective timeout is distributed.timeout_min)
    stage0 = os.path.join(run, "stage0.pt")
    if env.main and not os.path.exists(stage0):
        train_stage0(preset, tok, run)
    data_dir = os.path.join(run, "data")
    if cfg.data.source == "builtin":
        if env.main:
            build_ct_data(preset, "train", preset.train_cases, data_dir)
        env.barrier()
        data = build_ct_data(preset, "train", preset.train_cases, data_dir)
        cases, hu = cases_from_builtin(data["lines"]), data["hu"]
    else:
        env.barrier()
        cases, hu = cases_from_index(idx), None
    pre = preset.preprocess()
    per_case = max(1, preset.batch_vqa // max(preset.batch_reports, 1))

    def dataset(stage: str) -> CaseDataset:
        return CaseDataset(cases, pre, preset.seed, STAGE_CODE[stage], per_case, cache=cfg.data.cache,
                           hu_range=cfg.data.m3d_hu_range, hu_array=hu)

    variant = Variant()
    # The new weights (text projection, routers, finding head …) from a seed, not from whatever the process's
    # generator holds (a one-process ``model.train`` run's come after stage 0's draws, so a restart that skips stage 0 would differ).
    torch.manual_seed(preset.seed + 1)
    model = transfer_from_stage0(preset, stage0, tok)
    freeze = preset.freeze_blocks
    n_img = model.cfg.num_image_tokens
    s1, s2 = os.path.join(run, "stage1.pt"), os.path.join(run, "stage2.pt")
    if env.main and not any(os.path.exists(p) for p in (s1, s1 + ".part", s2)):
        ds = dataset("stage1")
        px = {}

        def tokens_for(indices):
            for i in indices:
                px.setdefault(i, ds[i]["pixels"])
            with torch.no_grad():
                return per_slice_tokens(model, torch.stack([px[i] for i in indices]), freeze)

        calibrate_projector(model, tokens_for, len(cases))
    model.to(env.device)
    frozen = set()
    if freeze > 0:
        frozen = {"encoder.lower.patch_embed.proj.weight", "encoder.lower.patch_embed.proj.bias",
                  "encoder.lower.pos_embed"} | {n for n, _ in model.named_parameters()
                                                if any(n.startswith(f"encoder.lower.blocks.{i}.") for i in range(freeze))}
    new_parts = ("expert_", "group_gate", "router", "text_proj")

    def groups_for(high: float, low: float, routed: bool) -> list[dict]:
        named = [(n, p) for n, p in model.named_parameters() if n not in frozen]
        hi = [p for n, p in named if any(s in n for s in new_parts)]
        lo = [p for n, p in named if not any(s in n for s in new_parts)]
        return [{"params": lo, "lr": low}] + ([{"params": hi, "lr": high}] if routed else [])

    if env.device.type == "cuda" and dcfg.activation_checkpointing or dcfg.force_activation_checkpointing:
        n = enable_activation_checkpointing(model, freeze)
        say(f"activation checkpointing on {n} blocks")
    extra = {"vocab": tok.vocab, "preprocess": dataclasses.asdict(pre), "variant": dataclasses.asdict(variant),
             "preset": preset.name, "data": dataclasses.asdict(cfg.data)}
    common = dict(preset=preset, env=env, cfg=cfg, tok=tok, n_img=n_img, freeze=freeze, extra=extra)
    if os.path.exists(s2):
        say(f"stage2: {s2} exists")
    else:
        if os.path.exists(s1):
            model.load_state_dict(torch.load(s1, map_location="cpu")["model"])
        else:
            say(f"stage1 (distributed): task-shared, routed experts off, {preset.stage1_steps} steps")
            ddp_loop("stage1", s1, model, groups_for(0.0, preset.stage1_lr, False), preset.stage1_steps,
                     ds=dataset("stage1"), gate_task_weight=0.0, **common)
            model.load_state_dict(torch.load(s1, map_location="cpu")["model"])  # every rank: rank 0's weights
        upcycle_experts(model.cpu(), preset, variant)
        model.to(env.device)
        say(f"stage2 (distributed): experts upcycled, {preset.stage2_steps} steps")
        ddp_loop("stage2", s2, model, groups_for(preset.stage2_lr, preset.stage2_rest_lr, True), preset.stage2_steps,
                 ds=dataset("stage2"), gate_task_weight=preset.gate_task_weight, **common)
    if package and env.main:
        from .export import export_package

        m = checkpoint_model(s2)
        export_package(m, tok, pre, package, {"training": f"config {cfg.path or preset.name}, world {env.world}"})
        say(f"exported → {package}")
    env.barrier()
    if env.world > 1:
        dist.destroy_process_group()
    return 0
