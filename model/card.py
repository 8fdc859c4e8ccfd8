"""The model card's tables, printed as Markdown from the measurement files (so the card's numbers are the files').

    python3 -m model.card --metrics this=RESULTS.jsonl shuffled=R2.jsonl prior=R3.jsonl "1.0=R4.jsonl" \\
                          --analysis analysis.json

``--metrics`` takes name=results.jsonl pairs (model.evaluate --out files, or the text prior's) and prints the
headline table, one column each; ``--analysis`` (model.analysis --out) adds the per-finding, consistency, routing
and heatmap tables.
"""

from __future__ import annotations

import argparse
import json
import sys

from .analysis import consistency, per_finding_from_results, presence_balanced_accuracy
from .evaluate import read_jsonl
from .labeller import FINDINGS
from .metrics import score

ROWS = [("BLEU-1 / 4", ("bleu1", "bleu4")), ("ROUGE-L", ("rougeL",)), ("METEOR", ("meteor",)), ("CIDEr-D (0–10)", ("cider",)),
        ("closed-VQA accuracy", ("closed_vqa_accuracy",)), ("open-VQA token F1", ("open_vqa_f1",)),
        ("finding F1 (reports, micro)", ("finding_f1",))]
NAMES = {"lung_nodule": "lung nodule", "pleural_effusion": "pleural effusion", "cardiomegaly": "cardiomegaly",
         "pericardial_effusion": "pericardial effusion", "emphysema": "emphysema", "consolidation": "consolidation",
         "arterial_calcification": "arterial calcification", "lymphadenopathy": "lymphadenopathy"}


def headline(named: dict[str, list[dict]], intervals: dict | None) -> str:
    cols = list(named)
    metrics = {n: score(lines) for n, lines in named.items()}
    extra = {n: (presence_balanced_accuracy(lines), consistency(lines)) for n, lines in named.items()}
    out = "| | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols) + "\n"
    for label, keys in ROWS:
        cells = []
        for n in cols:
            vals = [metrics[n][k] for k in keys]
            cell = " / ".join("n/a" if v is None else f"{v:.3f}" for v in vals)
            if intervals and n == cols[0] and keys[0] in intervals:
                lo, hi = intervals[keys[0]]["ci95"]
                cell += f" ({lo:.3f}–{hi:.3f})"
            cells.append(cell)
        out += f"| {label} | " + " | ".join(cells) + " |\n"
    out += "| presence questions, balanced accuracy | " + " | ".join(
        "n/a" if extra[n][0] is None else f"{extra[n][0]:.3f}" for n in cols) + " |\n"
    out += "| reports whose impression contradicts their findings | " + " | ".join(
        f"{extra[n][1]['contradicting']}/{extra[n][1]['reports']}" for n in cols) + " |\n"
    return out


def per_finding(analysis: dict, shuffled: list[dict] | None) -> str:
    pf = analysis["per_finding"]
    sh = per_finding_from_results(shuffled) if shuffled else None
    out = ("| finding | prevalence | report F1 | F1, shuffled images | presence: sensitivity | specificity | "
           "likelihood AUC |\n|---|---|---|---|---|---|---|\n")
    for f in FINDINGS:
        r = pf[f]
        (ts, ns), (tn, nn) = r["presence_sensitivity"], r["presence_specificity"]
        a = r.get("likelihood_auc")
        out += (f"| {NAMES[f]} | {r['prevalence']:.2f} | {r['report_f1']:.2f} | "
                f"{sh[f]['report_f1']:.2f} | " if sh else f"| {NAMES[f]} | {r['prevalence']:.2f} | {r['report_f1']:.2f} | n/a | ")
        out += f"{ts}/{ns} | {tn}/{nn} | {'n/a' if a is None else f'{a:.3f}'} |\n"
    return out


def routing_table(analysis: dict) -> str:
    r = analysis["routing"]
    names = r["group_names"]
    out = "| prompts | n | top group = the task's | mean gate (" + " / ".join(names) + ") |\n|---|---|---|---|\n"
    for k, v in r.items():
        if k == "group_names":
            continue
        out += f"| {k} | {v['prompts']} | {v['top_group_is_task']:.0%} | " + " / ".join(f"{g:.3f}" for g in v["mean_gate"]) + " |\n"
    return out


def heatmap_tables(analysis: dict) -> str:
    h = analysis.get("heatmaps")
    if not h:
        return "(no tissue maps beside the split's volumes)\n"
    tissues = [t for t in h["token_share"] if h["token_share"][t] >= 0.01][:9]
    out = "| | " + " | ".join(tissues) + " |\n|---|" + "---|" * len(tissues) + "\n"
    out += "| share of tokens | " + " | ".join(f"{h['token_share'][t]:.2f}" for t in tissues) + " |\n"
    for name, row in h["by_expert"].items():
        out += f"| {name} | " + " | ".join(f"{row.get(t, 0):.2f}" for t in tissues) + " |\n"
    out += "\n| finding | expert most tied to it | cases | its top token inside the finding | chance |\n|---|---|---|---|---|\n"
    for f, v in h["finding_hits"].items():
        if v["cases"]:
            out += f"| {NAMES[f]} | {v['expert']} | {v['cases']} | {v['top_token_in_mask']:.2f} | {v['chance']:.2f} |\n"
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.card", description=__doc__.split("\n\n")[0])
    p.add_argument("--metrics", nargs="+", metavar="NAME=RESULTS", required=True)
    p.add_argument("--analysis")
    a = p.parse_args(argv)
    named = {}
    for item in a.metrics:
        name, _, path = item.partition("=")
        named[name] = read_jsonl(path)
    analysis = json.load(open(a.analysis)) if a.analysis else None
    print(headline(named, analysis["intervals"] if analysis else None))
    if analysis:
        print(per_finding(analysis, next((v for k, v in named.items() if "shuffled" in k), None)))
        print(routing_table(analysis))
        print(heatmap_tables(analysis))
        iv = analysis["intervals"]
        print("| bootstrap (cases) | value | 95 % interval |\n|---|---|---|")
        for k, v in iv.items():
            print(f"| {k} | {v['value']:.3f} | {v['ci95'][0]:.3f} … {v['ci95'][1]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
