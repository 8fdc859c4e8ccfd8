"""Ablations: the same 3D data, trainable parameters, learning rate and step budget for every variant.

    python3 -m model.ablate --preset demo --test model/runs/test/dataset.jsonl [--steps1 200 --steps2 150]
                            [--cases 60] [--variants tghmoe,scratch,dense,token_only,one_stage] [--seed 1 --out DIR]
                            [--from-stage1 model/runs/demo/stage1.pt] [--decisions]
    python3 -m model.ablate --compare model/runs/ablate-*/decisions.json     # the card's table with intervals
    python3 -m model.ablate --score CHECKPOINT --label NAME --test VAL/dataset.jsonl --cases 100 --out FILE.json
    python3 -m model.ablate --compare FILE.json --baseline NAME       # checkpoints compared (e.g. on validation)

``--decisions`` scores each variant by its teacher-forced decisions instead of greedy generation (seconds per
variant rather than minutes, so that three seeds of every variant fit beside the demo's training on two cores):
on every test case, (1) each finding's polarity where the reference report decides it — the first token of the
finding's sentence, P("no") against the rest; score log(1 − P(no)) − log P(no), AUC per finding, F1 at 0 —, and (2)
every closed question's answer as the most likely valid first token (yes/no, or the letters a–d), (3) the group
gate's top group on every prompt. ``--compare`` merges the seeds: mean and range per variant, and the paired
bootstrap 95 % interval (cases resampled, seed by seed) of each variant's difference to ``tghmoe``.

``--from-stage1`` starts the two-stage variants' stage 2 from an existing stage-1 checkpoint (e.g. the demo's),
for the variants that differ only in stage 2 (experts, gate): their comparison then runs at the demo's scale.
All variants train every parameter at one learning rate (``Preset.stage1_lr``) in both stages, so that the
stage-2 variants and one-stage training differ from the recipe only in what the variant names.

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

from .batches import sentence_starts
from .checkpoints import checkpoint_model
from .ct_data import build_ct_data
from .loop import log
from .presets import PRESETS, Preset
from .stages import Variant, train_ct
from .vocabulary import build_tokenizer

VARIANTS = {
    "tghmoe": Variant("tghmoe"),
    "gate_unsupervised": Variant("gate_unsupervised", gate_supervised=False),
    "scratch": Variant("scratch", transfer=False),
    "dense": Variant("dense", experts=False),
    "token_only": Variant("token_only", text_guided=False),
    "one_stage": Variant("one_stage", two_stage=False),
}
LABELS = {
    "prior": "text prior, no image (majority answer per question type, a normal report)",
    "tghmoe": "2D transfer + TGH-MoE, two-stage (the recipe)",
    "gate_unsupervised": "group gate unsupervised (no task loss)",
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
    from .metrics import score

    return score(prior_results(train_lines, test_path, cases))


def prior_results(train_lines: list[dict], test_path: str, cases: int | None = None) -> list[dict]:
    """What the text alone gets: the most frequent training answer of each question type (``qtype``; multiple
    choice: the most frequent answer text, as its letter in this question's choices) and, for every report, one
    normal report ("no finding" phrasing, a fixed draw of model/reports.py). No image, no model."""
    from collections import Counter

    import numpy as np

    from .evaluate import read_jsonl
    from .labeller import FINDINGS
    from .reports import make_report

    by_type: dict[str, Counter] = {}
    for l in train_lines:
        if l["task"] == "vqa":
            by_type.setdefault(l.get("qtype", ""), Counter())[l["answer"].split(". ", 1)[-1]] += 1
    normal = make_report({f: False for f in FINDINGS}, np.random.default_rng(0))
    out = []
    lines = read_jsonl(test_path)
    for l in (first_cases(lines, cases) if cases else lines):
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
    return out


@torch.no_grad()
def decision_metrics(model, tok, pre, test_path: str, cases: int) -> dict:
    """Teacher-forced decisions of a checkpoint on the first ``cases`` test cases (see the module docstring).

    Returns per-case records (for paired bootstraps) and the aggregates: per-finding AUC and F1, micro F1,
    closed accuracy, presence balanced accuracy, gate top-group accuracy per task."""
    import numpy as np

    from .analysis import auc
    from .evaluate import read_jsonl
    from .generate import encode_prompt, teacher_forced_logits
    from .labeller import FINDINGS
    from .metrics import is_closed, micro_f1, reference_choice
    from .reports import REPORT_PROMPTS
    from .preprocess import preprocess_file

    lines = first_cases(read_jsonl(test_path), cases)
    root = os.path.dirname(os.path.abspath(test_path))
    no_id = tok.ids["▁no"]
    yes_no = [tok.ids["▁yes"], tok.ids["▁no"]]
    letters = [tok.ids[f"▁{c}"] for c in "abcd"]
    report_prompt = tok.encode(REPORT_PROMPTS[0])  # the package's report prompt
    per_case: dict[str, dict] = {}
    scores = {f: [] for f in FINDINGS}
    truth = {f: [] for f in FINDINGS}
    gate_hits = {"report": [], "vqa": []}
    px_cache: dict[str, torch.Tensor] = {}

    def run(px, question_ids, answer_ids):
        prompt = [tok.bos_id] + question_ids + [tok.image_id] + [tok.answer_id]
        pv = encode_prompt(model, px, prompt)
        gates = pv.routing[0][0].mean(0) if pv.routing is not None else None
        return teacher_forced_logits(model, pv, answer_ids).log_softmax(-1), len(pv.ids), gates

    for l in lines:
        c = per_case.setdefault(l["case"], {"tp": 0, "fp": 0, "fn": 0, "hit": 0, "n": 0})
        img = l["image"]
        if img not in px_cache:
            px_cache = {img: preprocess_file(os.path.join(root, img), pre)}
        px = px_cache[img]
        if l["task"] == "report":
            ans = tok.encode(l["report"])
            lp, plen, gates = run(px, report_prompt, ans)
            for f, at in zip(FINDINGS, sentence_starts(tok, ans, len(FINDINGS))):
                p_no = float(lp[plen + at - 1, no_id].exp())  # the logits at position k predict token k + 1
                score = float(np.log(max(1 - p_no, 1e-9)) - np.log(max(p_no, 1e-9)))
                present = bool(l["labels"][f])
                scores[f].append(score)
                truth[f].append(present)
                said = score > 0
                c["tp"] += said and present
                c["fp"] += said and not present
                c["fn"] += present and not said
            if gates is not None:
                gate_hits["report"].append(int(gates.argmax()) == 0)
        elif is_closed(l):
            lp, plen, gates = run(px, tok.encode(l["question"]), [])
            last = lp[plen - 1]
            if l.get("choices"):
                pick = "abcd"[int(last[letters].argmax())]
                c["hit"] += pick == reference_choice(l["answer"], l["choices"])
            else:
                pick = ("yes", "no")[int(last[yes_no].argmax())]
                c["hit"] += pick == l["answer"]
                if l.get("qtype", "").startswith("presence:"):
                    c.setdefault("presence", []).append((l["qtype"], l["answer"] == "yes", pick == "yes",
                                                         float(last[yes_no[0]] - last[yes_no[1]])))
            c["n"] += 1
            if gates is not None:
                gate_hits["vqa"].append(int(gates.argmax()) == 1)
    tp = sum(c["tp"] for c in per_case.values())
    fp = sum(c["fp"] for c in per_case.values())
    fn = sum(c["fn"] for c in per_case.values())
    per_finding = {}
    for f in FINDINGS:
        said = [s > 0 for s in scores[f]]
        ftp = sum(a and b for a, b in zip(said, truth[f]))
        ffp = sum(a and not b for a, b in zip(said, truth[f]))
        ffn = sum(b and not a for a, b in zip(said, truth[f]))
        per_finding[f] = {"auc": auc(scores[f], truth[f]), "f1": micro_f1(ftp, ffp, ffn)}
    pres = [p for c in per_case.values() for p in c.get("presence", [])]
    bal = []
    for f in FINDINGS:
        mine = [p for p in pres if p[0] == f"presence:{f}"]
        pos = [p for p in mine if p[1]]
        neg = [p for p in mine if not p[1]]
        if pos and neg:
            bal.append((sum(p[2] for p in pos) / len(pos) + sum(not p[2] for p in neg) / len(neg)) / 2)
    n = sum(c["n"] for c in per_case.values())
    return {
        "cases": len(per_case),
        "finding_f1": micro_f1(tp, fp, fn),
        "mean_finding_auc": float(np.mean([v["auc"] for v in per_finding.values() if v["auc"] is not None])),
        "closed_vqa_accuracy": sum(c["hit"] for c in per_case.values()) / max(n, 1),
        "presence_balanced_accuracy": float(np.mean(bal)) if bal else None,
        "gate_top_group_is_task": {k: (float(np.mean(v)) if v else None) for k, v in gate_hits.items()},
        "per_finding": per_finding,
        "per_case": {k: {kk: vv for kk, vv in v.items() if kk != "presence"} for k, v in per_case.items()},
    }


def compare(paths: list[str], n_boot: int = 2000, baseline: str = "tghmoe") -> str:
    """Markdown over decisions.json files (one per seed): mean (range) per variant, and the paired bootstrap 95 %
    interval of the difference to the recipe (cases resampled; differences pooled over seeds)."""
    import numpy as np

    from .bootstrap import case_bootstrap, ci95, pooled_scores

    runs: dict[str, list[dict]] = {}
    for path in paths:
        seed_rows = json.load(open(path))
        for r in seed_rows:
            r["_file"] = path
            runs.setdefault(r["variant"], []).append(r)
    keys = ("finding_f1", "mean_finding_auc", "closed_vqa_accuracy", "presence_balanced_accuracy")
    head = "| variant | seeds | " + " | ".join(keys) + " | Δ finding F1 vs recipe (95 % CI) | Δ closed acc. vs recipe (95 % CI) | train min |\n"
    head += "|---|---|" + "---|" * (len(keys) + 3) + "\n"
    rng = np.random.default_rng(0)
    base = {r["_file"]: r for r in runs.get(baseline, [])}

    def paired(r: dict, b: dict):
        """A variant's and the recipe's pooled scores on the same resampled cases (one seed): their differences."""
        mine, recipe = r["metrics"]["per_case"], b["metrics"]["per_case"]

        def statistic(pick: list[str]) -> dict:
            a1, a2 = pooled_scores([mine[i] for i in pick], no_questions=0.0)
            b1, b2 = pooled_scores([recipe[i] for i in pick], no_questions=0.0)
            return {"finding_f1": a1 - b1, "closed_vqa_accuracy": a2 - b2}

        return sorted(mine), statistic

    body = ""
    for name in list(LABELS) + [n for n in runs if n not in LABELS]:
        rows = runs.get(name, [])
        if not rows:
            continue
        cells = []
        for k in keys:
            vals = [r["metrics"][k] for r in rows if r["metrics"].get(k) is not None]
            cells.append("n/a" if not vals else f"{np.mean(vals):.3f}" + (f" ({min(vals):.3f}–{max(vals):.3f})" if len(vals) > 1 else ""))
        diffs = []
        if name != baseline:
            pairs = [(r, base[r["_file"]]) for r in rows if r["_file"] in base]
            if pairs:
                draws = case_bootstrap([paired(r, b) for r, b in pairs], n_boot, rng)  # seeds pooled per draw
                for k in ("finding_f1", "closed_vqa_accuracy"):
                    point = np.mean([r["metrics"][k] - b["metrics"][k] for r, b in pairs])
                    lo, hi = ci95(draws[k])
                    diffs.append(f"{point:+.3f} ({lo:+.3f} … {hi:+.3f})")
        diffs = diffs or ["—", "—"]
        minutes = np.mean([r["train_minutes"] for r in rows])
        body += f"| {LABELS.get(name, name)} | {len(rows)} | " + " | ".join(cells) + " | " + " | ".join(diffs) + f" | {minutes:.1f} |\n"
    return head + body


def run_variant(preset: Preset, name: str, steps1: int, steps2: int, base: str, out: str, seed: int = 0,
                from_stage1: str | None = None, export: bool = True) -> str:
    from .export import export_package

    tok = build_tokenizer()
    data_dir = os.path.join(base, "data")
    data = build_ct_data(preset, "train", preset.train_cases, data_dir)
    run = os.path.join(out, name)
    os.makedirs(run, exist_ok=True)
    variant = dataclasses.replace(VARIANTS[name], seed=seed)
    if from_stage1 and variant.two_stage and variant.transfer and not os.path.exists(os.path.join(run, "stage1.pt")):
        import shutil

        shutil.copyfile(from_stage1, os.path.join(run, "stage1.pt"))
    final = train_ct(preset, tok, run, os.path.join(base, "stage0.pt"), data, variant, steps1, steps2, data_dir)
    if not export:
        return final
    package = os.path.join(run, "package")
    if not os.path.isfile(os.path.join(package, "onnx", "decoder_model_merged.onnx")):
        model = checkpoint_model(final)
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
    p.add_argument("--preset", choices=sorted(PRESETS), default="demo")
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
    p.add_argument("--decisions", action="store_true", help="score teacher-forced decisions (see the docstring)")
    p.add_argument("--from-stage1", help="stage-1 checkpoint for the two-stage transfer variants")
    p.add_argument("--compare", nargs="+", metavar="DECISIONS_JSON", help="only print the table with intervals")
    p.add_argument("--baseline", default="tghmoe", help="--compare: the row the differences are taken to")
    p.add_argument("--score", metavar="CHECKPOINT",
                   help="only score this checkpoint's teacher-forced decisions (its own preprocessing) on --test, "
                        "as row --label of --out (a decisions JSON, replaced or added)")
    p.add_argument("--label", help="--score: the row's name")
    p.add_argument("--prior-out", metavar="RESULTS_JSONL",
                   help="only write the text prior's results lines on --test (training answers of the preset's data)")
    a = p.parse_args(argv)
    if a.summarise:
        print(summarise(a.summarise))
        return 0
    if a.compare:
        print(compare(a.compare, baseline=a.baseline))
        return 0
    if a.score:
        return score_checkpoint(a)
    if a.prior_out:
        preset = PRESETS[a.preset]
        data = build_ct_data(preset, "train", preset.train_cases, os.path.join(os.path.dirname(__file__), "runs",
                                                                                preset.name, "data"))
        with open(a.prior_out, "w") as f:
            for line in prior_results(data["lines"], a.test):
                f.write(json.dumps(line) + "\n")
        return 0
    torch.set_num_threads(a.threads)
    if not a.test:
        p.error("--test is required (the test split's dataset.jsonl)")
    preset = PRESETS[a.preset]
    base = os.path.join(os.path.dirname(__file__), "runs", preset.name)
    # one learning rate for every parameter in both stages: variants differ only in what they name
    preset = dataclasses.replace(preset, stage2_lr=preset.stage1_lr, stage2_rest_lr=preset.stage1_lr)
    if a.decisions:
        return run_decisions(a, preset, base)
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
        data = build_ct_data(preset, "train", preset.train_cases, os.path.join(base, "data"))
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
        log(f"ablation {name}: evaluating on {a.cases} test cases")
        metrics = evaluate_package(package, a.test, a.cases, os.path.join(out, name, "results.jsonl"))
        usage = group_usage(package, a.test, min(a.cases, 10)) if VARIANTS[name].experts else None
        rows.append({"variant": name, "metrics": metrics, "train_minutes": minutes, "group_gates": usage,
                     "wall_minutes": (time.time() - t0) / 60})
        with open(summary_path, "w") as f:
            json.dump(rows, f, indent=1)
        log(f"ablation {name}: {json.dumps(metrics)}")
    with open(os.path.join(out, "ablation.md"), "w") as f:
        f.write(markdown(rows, a.steps1, a.steps2, a.cases))
    print(markdown(rows, a.steps1, a.steps2, a.cases))
    return 0


def score_checkpoint(a) -> int:
    """``--score``: one checkpoint's decisions, a row of a decisions JSON that ``--compare`` reads."""
    from .preprocess import PreprocessConfig

    if not (a.test and a.label and a.out):
        print("model.ablate: --score needs --test, --label and --out", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    ck = torch.load(a.score, map_location="cpu")
    tok = build_tokenizer()
    if list(tok.vocab) != list(ck["vocab"]):
        print(f"model.ablate: {a.score} was trained with another vocabulary", file=sys.stderr)
        return 2
    metrics = decision_metrics(checkpoint_model(a.score), tok, PreprocessConfig(**ck["preprocess"]), a.test, a.cases)
    rows = [r for r in (json.load(open(a.out)) if os.path.exists(a.out) else []) if r["variant"] != a.label]
    rows.append({"variant": a.label, "checkpoint": a.score, "metrics": metrics,
                 "train_minutes": ck.get("seconds", 0) / 60})
    with open(a.out, "w") as f:
        json.dump(rows, f)
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_case"}))
    return 0


def run_decisions(a, preset: Preset, base: str) -> int:
    out = a.out or os.path.join(os.path.dirname(__file__), "runs", f"ablate-{preset.name}-s{a.seed}")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "decisions.json")
    rows = json.load(open(path)) if os.path.exists(path) else []
    done = {r["variant"] for r in rows}
    tok = build_tokenizer()
    for name in a.variants.split(","):
        if name in done:
            continue
        t0 = time.time()
        final = run_variant(preset, name, a.steps1, a.steps2, base, out, a.seed, a.from_stage1, export=False)
        ck = torch.load(final, map_location="cpu")
        minutes = ck.get("seconds", 0) / 60
        s1 = os.path.join(out, name, "stage1.pt")
        if VARIANTS[name].two_stage and os.path.exists(s1) and not (a.from_stage1 and VARIANTS[name].transfer):
            minutes += torch.load(s1, map_location="cpu").get("seconds", 0) / 60
        model = checkpoint_model(final)
        log(f"ablation {name} (seed {a.seed}): teacher-forced decisions on {a.cases} test cases")
        metrics = decision_metrics(model, tok, preset.preprocess(), a.test, a.cases)
        rows.append({"variant": name, "seed": a.seed, "steps1": a.steps1, "steps2": a.steps2,
                     "from_stage1": a.from_stage1, "metrics": metrics, "train_minutes": minutes,
                     "wall_minutes": (time.time() - t0) / 60})
        with open(path, "w") as f:
            json.dump(rows, f)
        short = {k: v for k, v in metrics.items() if k not in ("per_case", "per_finding")}
        log(f"ablation {name} (seed {a.seed}): {json.dumps(short)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
