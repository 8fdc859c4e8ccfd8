"""The resumable training loop of every stage: AdamW, warm-up + cosine learning-rate schedule, gradient clipping,
the log line, ``<run>/<stage>.pt.part`` every ``checkpoint_every`` steps and the stage checkpoint at the end."""

from __future__ import annotations

import math
import os
import time

import torch

from .checkpoints import save_checkpoint
from .mllm import CTLensMLLM
from .presets import Preset


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def lr_at(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def resumable_optimizer(model, groups: list[dict], path: str) -> tuple[torch.optim.Optimizer, int]:
    """AdamW over ``groups`` (each remembering its ``base_lr`` for the schedule), with model and optimizer state
    resumed from ``<path>.part`` when a stage was interrupted: (optimizer, the step to start at)."""
    opt = torch.optim.AdamW(groups, weight_decay=0.01, foreach=True)  # one kernel per op type, not per tensor
    for g in opt.param_groups:
        g["base_lr"] = g["lr"]
    part = path + ".part"
    if not os.path.exists(part):
        return opt, 0
    ck = torch.load(part, map_location="cpu")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    return opt, ck["step"]


def run_loop(name: str, path: str, model: CTLensMLLM, groups: list[dict], steps: int, preset: Preset,
             step_fn, extra: dict) -> None:
    """Generic resumable loop: ``step_fn(step) → (loss, info)``; checkpoints model + optimizer + step."""
    opt, start = resumable_optimizer(model, groups, path)
    part = path + ".part"
    if start:
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
