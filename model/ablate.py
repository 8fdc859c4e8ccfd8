"""Ablations (issue 3, part 7): the same 3D data and step budget for every variant, scored on the test split.

    python3 -m model.ablate --preset demo --test model/runs/test/dataset.jsonl [--steps1 200 --steps2 150]
                            [--cases 60] [--variants tghmoe,scratch,dense,token_only,one_stage] [--seed 1 --out DIR]

Variants (each changes one thing against ``tghmoe``, the demo recipe):
- ``tghmoe``: 2D transfer, TGH-MoE, two stages (stage 1 task-shared, stage 2 experts + routers);
- ``scratch``: the 3D encoder from random weights instead of the transferred 2D ViT (all its blocks trained; the
  LLM and projector still come from stage 0, so only the encoder's origin differs);
- ``dense``: no experts — stage 2 continues the dense FFN for the same steps;
- ``token_only``: MoE without text guidance (uniform group gate, router sees the token only);
- ``one_stage``: experts upcycled from the start and trained with everything for steps1 + steps2 steps.

Every variant reuses the preset's stage-0 checkpoint and training data (``model/runs/<preset>/``), trains in
``model/runs/ablate-<preset>/<variant>/`` (resumable), is exported through the real export path and answered by
model.evaluate's PyTorch reference (greedy); the table lands in ``model/runs/ablate-<preset>/ablation.json`` and
``ablation.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import torch

from . import train as T

VARIANTS = {
    "tghmoe": T.Variant("tghmoe"),
    "scratch": T.Variant("scratch", transfer=False),
    "dense": T.Variant("dense", experts=False),
    "token_only": T.Variant("token_only", text_guided=False),
    "one_stage": T.Variant("one_stage", two_stage=False),
}
LABELS = {
    "prior": "text prior, no image (majority answer per question type, a normal report)",
    "tghmoe": "2D transfer + TGH-MoE, two-stage (the recipe)",
    "scratch": "(a) 3D encoder from scratch",
    "dense": "(b) dense FFN, no experts",
    "token_only": "(b) token-only MoE, no text guidance",
    "one_stage": "(c) one-stage training",
}
COLUMNS = ("bleu1", "bleu4", "rouge1", "rougeL", "meteor", "cider", "finding_f1", "closed_vqa_accuracy", "open_vqa_f1")


def first_cases(lines: list[dict], cases: int) -> list[dict]:
    """The lines of the first ``cases`` cases (in case-id order): the part of the test split the ablations score."""
    keep = set(sorted({l["case"] for l in lines})[:cases])
    return [l for l in lines if l["case"] in keep]


def evaluate_package(package_dir: str, data_path: str, cases: int, out_path: str) -> dict:
    from .evaluate import predict, read_jsonl
    from .metrics import score

    lines = first_cases(read_jsonl(data_path), cases)
    results = predict(package_dir, data_path, lines, max_new_tokens=192)
    with open(out_path, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    return score(results)


def group_usage(package_dir: str, data_path: str, cases: int) -> dict:
    """Mean group gate per task (report / closed VQA / open VQA) over the evaluated lines' prompts."""
    from .evaluate import read_jsonl
    from .generate import encode_prompt
    from .package import load_package

    pkg = load_package(package_dir)
    sums: dict = {}
    root = os.path.dirname(os.path.abspath(data_path))
    for l in first_cases(read_jsonl(data_path), cases):
        task = "report" if l["task"] == "report" else f"vqa_{l.get('answer_type', 'closed')}"
        pixels = pkg.pixels(os.path.join(root, l["image"]))
        gates = encode_prompt(pkg.model, pixels, pkg.prompt_ids(l["task"], l["question"])).routing[0]
        s = sums.setdefault(task, [torch.zeros_like(gates[0]), 0])
        s[0] += gates[0]
        s[1] += 1
    return {task: (v[0] / v[1]).tolist() for task, v in sums.items()}  # [K][G]


def prior_baseline(train_lines: list[dict], test_path: str, cases: int) -> dict:
    """What the text alone gets: the most frequent training answer of each question type (``qtype``; multiple
    choice: the most frequent answer text, as its letter in this question's choices) and, for every report, one
    normal report ("no finding" phrasing, a fixed draw of model/reports.py). No image, no model."""
    from collections import Counter

    import numpy as np

    from .evaluate import read_jsonl
    from .labeller import FINDINGS
    from .metrics import score
    from .reports import make_report

    by_type: dict[str, Counter] = {}
    for l in train_lines:
        if l["task"] == "vqa":
            by_type.setdefault(l.get("qtype", ""), Counter())[l["answer"].split(". ", 1)[-1]] += 1
    normal = make_report({f: False for f in FINDINGS}, np.random.default_rng(0))
    out = []
    for l in first_cases(read_jsonl(test_path), cases):
        if l["task"] == "report":
            pred = normal
        else:
            counts = by_type.get(l.get("qtype", ""), Counter())
            pred = counts.most_common(1)[0][0] if counts else "no"
            if l.get("choices"):
                ranked = [a for a, _ in counts.most_common()] if counts else []
                best = next((c for c in ranked if c in l["choices"]), l["choices"][0])
                pred = f"{'ABCD'[l['choices'].index(best)]}. {best}"
        out.append({**l, "prediction": pred})
    return score(out)


def run_variant(preset: T.Preset, name: str, steps1: int, steps2: int, base: str, out: str, seed: int = 0) -> str:
    from .export import export_package

    tok = T.build_tokenizer()
    data_dir = os.path.join(base, "data")
    data = T.build_ct_data(preset, "train", preset.train_cases, data_dir)
    run = os.path.join(out, name)
    os.makedirs(run, exist_ok=True)
    variant = dataclasses.replace(VARIANTS[name], seed=seed)
    final = T.train_ct(preset, tok, run, os.path.join(base, "stage0.pt"), data, variant, steps1, steps2, data_dir)
    package = os.path.join(run, "package")
    if not os.path.isfile(os.path.join(package, "onnx", "decoder_model_merged.onnx")):
        model = T.checkpoint_model(final)
        if not all(layer.routed for layer in model.encoder.moe_layers):
            for layer in model.encoder.moe_layers:  # dense variant: zero experts, the same function
                layer.upcycle()
        ck = torch.load(final, map_location="cpu")
        from .preprocess import PreprocessConfig

        export_package(model, tok, PreprocessConfig(**ck["preprocess"]), package,
                       {"training": f"ablation {name}"})
    return package


def markdown(rows: list[dict], steps1: int, steps2: int, cases: int) -> str:
    head = "| variant | " + " | ".join(COLUMNS) + " | train min |\n|---|" + "---|" * (len(COLUMNS) + 1) + "\n"
    body = ""
    for r in rows:
        m = r["metrics"]
        cells = ["n/a" if m.get(k) is None else f"{m[k]:.3f}" for k in COLUMNS]
        body += f"| {LABELS[r['variant']]} | " + " | ".join(cells) + f" | {r['train_minutes']:.1f} |\n"
    note = (f"\nSame data (the demo's training cases), same budget: stage 1 {steps1} + stage 2 {steps2} steps "
            f"(one-stage: {steps1 + steps2}); scored on the first {cases} cases of the test split.\n")
    return head + body + note


def summarise(paths: list[str]) -> str:
    """One markdown table over several ablation.json files (seeds): per variant the mean, and the range when a
    variant ran more than once; the variants in LABELS order."""
    runs: dict[str, list[dict]] = {}
    budget = None
    for path in paths:
        for r in json.load(open(path)):
            runs.setdefault(r["variant"], []).append(r)
    head = ("| variant | runs | " + " | ".join(COLUMNS) + " | train min |\n|---|---|" + "---|" * (len(COLUMNS) + 1)
            + "\n")
    body = ""
    for name in LABELS:
        rows = runs.get(name, [])
        if name == "prior":
            rows = rows[:1]  # the same numbers in every file: no training, no seed
        if not rows:
            continue
        cells = []
        for k in COLUMNS:
            vals = [r["metrics"][k] for r in rows if r["metrics"].get(k) is not None]
            if not vals:
                cells.append("n/a")
            elif len(vals) == 1:
                cells.append(f"{vals[0]:.3f}")
            else:
                cells.append(f"{sum(vals) / len(vals):.3f} ({min(vals):.3f}–{max(vals):.3f})")
        minutes = sum(r["train_minutes"] for r in rows) / len(rows)
        body += f"| {LABELS[name]} | {len(rows)} | " + " | ".join(cells) + f" | {minutes:.1f} |\n"
    return head + body


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.ablate", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(T.PRESETS), default="demo")
    p.add_argument("--test", help="test split dataset.jsonl (python3 -m model.synth --split test)")
    p.add_argument("--steps1", type=int, default=200)
    p.add_argument("--steps2", type=int, default=150)
    p.add_argument("--cases", type=int, default=60, help="test cases scored (each: 1 report + its VQA lines)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--out", help="default model/runs/ablate-<preset>")
    p.add_argument("--seed", type=int, default=0, help="> 0: another draw of batches and new weights (same data)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    p.add_argument("--summarise", nargs="+", metavar="ABLATION_JSON",
                   help="only print one table over these ablation.json files (several seeds): mean (range)")
    a = p.parse_args(argv)
    if a.summarise:
        print(summarise(a.summarise))
        return 0
    torch.set_num_threads(a.threads)
    if not a.test:
        p.error("--test is required (the test split's dataset.jsonl)")
    preset = T.PRESETS[a.preset]
    base = os.path.join(os.path.dirname(__file__), "runs", preset.name)
    if not os.path.exists(os.path.join(base, "stage0.pt")):
        print(f"model.ablate: {base}/stage0.pt is missing: run python3 -m model.train --preset {preset.name} first",
              file=sys.stderr)
        return 2
    out = a.out or os.path.join(os.path.dirname(__file__), "runs", f"ablate-{preset.name}")
    os.makedirs(out, exist_ok=True)
    summary_path = os.path.join(out, "ablation.json")
    rows = json.load(open(summary_path)) if os.path.exists(summary_path) else []
    done = {r["variant"] for r in rows}
    if "prior" not in done:
        data = T.build_ct_data(preset, "train", preset.train_cases, os.path.join(base, "data"))
        rows.append({"variant": "prior", "metrics": prior_baseline(data["lines"], a.test, a.cases),
                     "train_minutes": 0.0, "group_gates": None, "wall_minutes": 0.0})
        with open(summary_path, "w") as f:
            json.dump(rows, f, indent=1)
    for name in a.variants.split(","):
        if name in done:
            continue
        t0 = time.time()
        package = run_variant(preset, name, a.steps1, a.steps2, base, out, a.seed)
        ck = torch.load(os.path.join(out, name, "stage2.pt" if VARIANTS[name].two_stage else "onestage.pt"))
        minutes = ck.get("seconds", 0) / 60
        if VARIANTS[name].two_stage and os.path.exists(os.path.join(out, name, "stage1.pt")):
            minutes += torch.load(os.path.join(out, name, "stage1.pt")).get("seconds", 0) / 60
        T.log(f"ablation {name}: evaluating on {a.cases} test cases")
        metrics = evaluate_package(package, a.test, a.cases, os.path.join(out, name, "results.jsonl"))
        usage = group_usage(package, a.test, min(a.cases, 10)) if VARIANTS[name].experts else None
        rows.append({"variant": name, "metrics": metrics, "train_minutes": minutes, "group_gates": usage,
                     "wall_minutes": (time.time() - t0) / 60})
        with open(summary_path, "w") as f:
            json.dump(rows, f, indent=1)
        T.log(f"ablation {name}: {json.dumps(metrics)}")
    with open(os.path.join(out, "ablation.md"), "w") as f:
        f.write(markdown(rows, a.steps1, a.steps2, a.cases))
    print(markdown(rows, a.steps1, a.steps2, a.cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
