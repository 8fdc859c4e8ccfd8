"""Training FLOPs per case of a preset (analytic, checked against ``torch.profiler``'s counted FLOPs), and what a
step costs on a GPU at an assumed utilisation. Issue 13: "an estimate, from measured FLOPs per step".

    python3 -m model.flops --config model/configs/gpu.json [--measure]   # --measure: profile one case here

A case = one volume with its report and ``batch_vqa // batch_reports`` questions (the distributed engine's unit):
the per-slice blocks run once per volume, the 3D blocks (their MoE is text-guided) and the LLM once per sample.
Counted: matrix products (2 FLOPs per multiply-add); norms, softmax, activations are left out (a few %).
Training = 3 × forward (backward ≈ 2 × forward), + 1 forward with activation checkpointing.
"""

from __future__ import annotations

import argparse
import json
import sys


def forward_flops(p, report_tokens: int = 300, question_tokens: int = 30, vocab: int = 8000, routed: bool = True) -> dict:
    C, r = p.vit_dim, p.vit_mlp_ratio
    np_ = (p.image_size // p.patch_size) ** 2
    n3d = p.slices * np_
    rows = 1 + max(1, p.batch_vqa // max(p.batch_reports, 1))
    D = p.llm_dim
    grid = [p.slices // p.pooling[0], (p.image_size // p.patch_size) // p.pooling[1],
            (p.image_size // p.patch_size) // p.pooling[2]]
    n_img = grid[0] * grid[1] * grid[2] + int(p.summary_token)
    per_slice_blocks = p.vit_depth - p.top_blocks
    patch = 2 * p.slices * np_ * 3 * p.patch_size ** 2 * C
    lower = 2 * p.slices * np_ * per_slice_blocks * (4 * C * C + 2 * C * C * r + 2 * np_ * C)
    ffn = 2 * C * C * r
    moe = ffn * (1 + (p.groups * p.top_k if routed else 0))
    upper_row = 2 * n3d * p.top_blocks * (4 * C * C + 2 * n3d * C) + n3d * p.top_blocks * moe
    proj = 2 * n_img * (C * D + D * D)
    lengths = [n_img + report_tokens] + [n_img + question_tokens] * (rows - 1)
    llm = sum(2 * s * p.llm_layers * (12 * D * D + 2 * s * D) + 2 * s * D * vocab for s in lengths)
    total = patch + lower + rows * (upper_row + proj) + llm
    return {"patch_embed": patch, "per_slice_blocks": lower, "3d_blocks": rows * upper_row, "projector": rows * proj,
            "llm": llm, "forward_per_case": total, "rows_per_case": rows, "visual_tokens": n3d, "image_tokens": n_img}


def measure(p, stage2: bool = True) -> float:
    """FLOPs torch.profiler counts for one case's forward (tokens from the synthetic benchmark's texts)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from .data.volumes import Case, CaseDataset
    from .distributed import Env, LocalLoss, collate_cases, global_counts
    from .mllm import CTLensMLLM
    from .vocabulary import build_tokenizer

    tok = build_tokenizer()
    torch.manual_seed(0)
    model = CTLensMLLM(p.model_config(len(tok), tok.image_id))
    if stage2:
        for layer in model.encoder.moe_layers:
            layer.upcycle(0.05, torch.Generator().manual_seed(0))
    rep = "Findings: " + " ".join(["no pleural effusion ."] * 60) + " Impression: no acute abnormality ."
    q = [("is there a pleural effusion in the right lung ?", "yes")] * 8
    case = Case("x", "builtin", [("describe this chest ct .", rep)], q, 0)
    import numpy as np

    hu = np.zeros((1, p.slices, p.image_size, p.image_size), np.float16) - 500
    ds = CaseDataset([case], p.preprocess(), 0, 2, max(1, p.batch_vqa // p.batch_reports), hu_array=hu)
    b = collate_cases([ds[0]], tok, model.cfg.num_image_tokens, p, 10 ** 6)
    counts = global_counts(Env(), [(b["batches"], b["fmask"])], 1)
    loss_fn = LocalLoss(model, p, 0, 1, 0.0, False)
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        loss_fn(b["pixels"], b["case_rows"], b["batches"], b["findings"], b["fmask"], counts)
    lens = [int(x["attention_mask"].sum(1).float().mean()) - model.cfg.num_image_tokens for x in b["batches"]]
    return sum(e.flops for e in prof.key_averages()), lens, len(tok)


def main(argv=None) -> int:
    from .config import load_config

    ap = argparse.ArgumentParser(prog="python3 -m model.flops", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--measure", action="store_true", help="also profile one case's forward on this CPU")
    ap.add_argument("--gpu-tflops", type=float, default=989.0, help="bf16 dense peak (H200 SXM: 989)")
    ap.add_argument("--mfu", type=float, default=0.35, help="assumed model FLOPs utilisation")
    ap.add_argument("--report-tokens", type=int, default=300)
    ap.add_argument("--question-tokens", type=int, default=30)
    a = ap.parse_args(argv)
    cfg = load_config(a.config)
    p = cfg.preset
    out = {"config": a.config}
    if a.measure:
        measured, lens, vocab = measure(p)
        est = forward_flops(p, lens[0], lens[1], vocab)
        out.update(measured_forward_flops=measured, analytic_forward_flops=est["forward_per_case"],
                   ratio=measured / est["forward_per_case"], text_tokens=lens)
    est = forward_flops(p, a.report_tokens, a.question_tokens)
    ac = cfg.distributed.activation_checkpointing
    train = est["forward_per_case"] * (4 if ac else 3)
    per_gpu = a.gpu_tflops * 1e12 * a.mfu
    out.update(breakdown=est, train_flops_per_case=train, activation_checkpointing=ac,
               cases_per_s_one_gpu=per_gpu / train, cases_per_s_8_gpus=8 * per_gpu / train,
               assumed=f"{a.gpu_tflops} TFLOP/s peak × MFU {a.mfu}, {a.report_tokens}-token reports, "
                       f"{a.question_tokens}-token questions")
    micro, accum = cfg.distributed.micro_batch or p.batch_reports, cfg.distributed.grad_accum
    out["step_s_8_gpus"] = micro * accum * train / per_gpu
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
