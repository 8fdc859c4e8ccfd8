"""The model card's analyses of a package on a test split: what the headline metrics of model/evaluate.py do not say.

    python3 -m model.analysis --package DIR --data TEST/dataset.jsonl --results RESULTS.jsonl [--shuffled R2.jsonl]
                              [--prior R3.jsonl] [--cases N] [--out analysis.json]

``RESULTS.jsonl`` is what ``python3 -m model.evaluate --package DIR --data … --out RESULTS.jsonl`` wrote (the
greedy outputs are generated once and scored here again). Sections of the JSON written to ``--out``:

- ``per_finding``: report F1 per finding (the labeller on the generated and on the reference report), presence
  questions' sensitivity and specificity, and the AUC of the model's own likelihood ratio
  log P("yes") − log P("no") at the answer position of the question "Is there a {finding}?", asked for every
  finding of every case (not only the questions the dataset happens to ask).
- ``consistency``: the share of generated reports whose impression contradicts their own findings (the labeller on
  each section; an impression that names a finding the findings deny, or leaves out one they report).
- ``routing``: the text-guided group gate (mean over the MoE layers) for the package's report prompt, the training
  report instructions, held-out paraphrases (``reports.HELDOUT_*``, never trained on) and the split's questions;
  the share whose top group is the prompt's task group (group names from config.json).
- ``heatmaps`` (needs the split's ``labels/<id>.nii.gz`` tissue maps): per expert of the prompt's top group, its
  share of routed weight by tissue against the tissues' share of tokens; and for each finding, how often the
  finding's mask holds the highest-weight token of the expert most tied to it (the expert is chosen on the first
  half of the cases, scored on the second), against the chance of a random token.
- ``intervals``: case-level bootstrap 95 % intervals (2,000 resamples, seed 0) of finding F1 and closed-VQA
  accuracy, and paired intervals of the differences to ``--shuffled`` / ``--prior`` results on the same lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np

from .bootstrap import case_bootstrap, ci95, pooled_scores
from .labeller import FINDINGS, label_report
from .metrics import closed_correct, finding_counts, first_yes_no, is_closed, micro_f1

PRESENCE_NAME = {  # the question's wording of each finding (reports.FINDING_NAMES' first name, with its article)
    "lung_nodule": "a lung nodule", "pleural_effusion": "a pleural effusion", "cardiomegaly": "cardiomegaly",
    "pericardial_effusion": "a pericardial effusion", "emphysema": "emphysema", "consolidation": "consolidation",
    "arterial_calcification": "arterial calcification", "lymphadenopathy": "lymphadenopathy",
}
FINDING_TISSUE = {  # model/phantom.py TISSUE ids that make up each finding (cardiomegaly: the heart itself)
    "lung_nodule": (11,), "pleural_effusion": (8,), "cardiomegaly": (5,), "pericardial_effusion": (9,),
    "emphysema": (13,), "consolidation": (12,), "arterial_calcification": (14,), "lymphadenopathy": (15,),
}


def split_report(text: str) -> tuple[str, str]:
    low = text.lower()
    at = low.find("impression")
    return (text, "") if at < 0 else (text[:at], text[at:])


def contradicts(report: str) -> bool:
    """The impression names a finding the findings section does not report, or omits one it does."""
    findings, impression = split_report(report)
    if not impression:
        return True
    f, i = label_report(findings), label_report(impression)
    return any(f[k] != i[k] for k in FINDINGS)


def auc(scores: list[float], positive: list[bool]) -> float | None:
    """Mann–Whitney AUC (ties count one half)."""
    pos = [s for s, y in zip(scores, positive) if y]
    neg = [s for s, y in zip(scores, positive) if not y]
    if not pos or not neg:
        return None
    s = np.asarray(scores)
    ranks = np.empty(len(s))
    order = np.argsort(s, kind="mergesort")
    ranks[order] = np.arange(1, len(s) + 1)
    for v in np.unique(s):  # average ranks of ties
        m = s == v
        ranks[m] = ranks[m].mean()
    r_pos = ranks[np.asarray(positive)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


# --- from results lines ------------------------------------------------------------------------------------------
def per_finding_from_results(lines: list[dict]) -> dict:
    out = {}
    reports = [l for l in lines if l["task"] == "report"]
    for f in FINDINGS:
        tp = fp = fn = 0
        for l in reports:
            p, r = label_report(l["prediction"])[f], label_report(l["report"])[f]
            tp += p and r
            fp += p and not r
            fn += r and not p
        sens = [0, 0]
        spec = [0, 0]
        for l in lines:
            if l.get("qtype") == f"presence:{f}":
                yes = first_yes_no(l["prediction"]) == "yes"
                if l["answer"] == "yes":
                    sens[0] += yes
                    sens[1] += 1
                else:
                    spec[0] += not yes
                    spec[1] += 1
        out[f] = {"report_f1": micro_f1(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn,
                  "presence_sensitivity": sens, "presence_specificity": spec,
                  "prevalence": sum(label_report(l["report"])[f] for l in reports) / max(len(reports), 1)}
    return out


def presence_balanced_accuracy(lines: list[dict]) -> float | None:
    """Mean over findings of (sensitivity + specificity) / 2 on the presence questions."""
    vals = []
    for f, row in per_finding_from_results(lines).items():
        (ts, ns), (tn, nn) = row["presence_sensitivity"], row["presence_specificity"]
        if ns and nn:
            vals.append((ts / ns + tn / nn) / 2)
    return float(np.mean(vals)) if vals else None


def consistency(lines: list[dict]) -> dict:
    reports = [l["prediction"] for l in lines if l["task"] == "report"]
    bad = [contradicts(r) for r in reports]
    return {"reports": len(reports), "contradicting": int(sum(bad)), "share": sum(bad) / max(len(reports), 1)}


def _case_metrics(lines: list[dict]) -> dict[str, dict]:
    """Per case: finding counts (tp, fp, fn) of its reports and closed-question hits / count."""
    per: dict[str, dict] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "hit": 0, "n": 0})
    for l in lines:
        c = per[str(l.get("case", l.get("image")))]
        if l["task"] == "report":
            tp, fp, fn = finding_counts([l["prediction"]], [l["report"]])
            c["tp"] += tp
            c["fp"] += fp
            c["fn"] += fn
        elif is_closed(l):
            c["hit"] += closed_correct(l, l["prediction"])
            c["n"] += 1
    return per


def bootstrap(lines: list[dict], others: dict[str, list[dict]] | None = None, n: int = 2000, seed: int = 0) -> dict:
    """Case-level bootstrap: 95 % intervals of finding F1 and closed accuracy, and of the paired differences to
    other results on the same cases."""
    mine = _case_metrics(lines)
    keys = sorted(mine)
    theirs = {name: _case_metrics(o) for name, o in (others or {}).items()}

    def statistic(pick: list[str]) -> dict:
        f1, acc = pooled_scores([mine[k] for k in pick])
        out = {"finding_f1": f1, "closed_vqa_accuracy": acc}
        for name, t in theirs.items():
            f1b, accb = pooled_scores([t[k] for k in pick if k in t])
            out[f"finding_f1 − {name}"] = f1 - f1b
            out[f"closed_vqa_accuracy − {name}"] = acc - accb
        return out

    draws = case_bootstrap([(keys, statistic)], n, np.random.default_rng(seed))
    point = statistic(keys)
    return {k: {"value": point[k], "ci95": ci95(v)} for k, v in draws.items()}


# --- with the model ----------------------------------------------------------------------------------------------
def presence_log_odds(pkg, px, finding: str) -> float:
    """The package's log P("yes") − log P("no") at the answer of "Is there {finding}?" on pixel values ``px``."""
    import torch

    gen = pkg.generate(px, "vqa", f"Is there {PRESENCE_NAME[finding]}?", max_new_tokens=1, do_sample=False)
    lp = torch.log_softmax(gen.prefill_logits.float(), -1)
    return float(lp[pkg.tokenizer.ids["▁yes"]] - lp[pkg.tokenizer.ids["▁no"]])


def finding_auc(pkg, cases: list[dict], root: str) -> dict:
    """AUC of log P(yes) − log P(no) on "Is there {finding}?" for every finding of every case."""
    scores = defaultdict(list)
    truth = defaultdict(list)
    for c in cases:
        px = pkg.pixels(os.path.join(root, c["image"]))
        for f in FINDINGS:
            scores[f].append(presence_log_odds(pkg, px, f))
            truth[f].append(bool(c["labels"][f]))
    return {f: auc(scores[f], truth[f]) for f in FINDINGS}


def gate_of(pkg, px, task: str, question: str | None) -> np.ndarray:
    from .generate import encode_prompt

    routing = encode_prompt(pkg.model, px, pkg.prompt_ids(task, question)).routing
    return routing[0][0].mean(0).numpy()  # [G], mean over the MoE layers


def routing(pkg, px, questions: list[str]) -> dict:
    from . import reports

    names = list(pkg.ctlens["moe"].get("group_names", []))
    task_group = {t: (names.index(t) if t in names else None) for t in ("report", "vqa")}
    sets = {
        "package report prompt": [("report", None)],
        "training report instructions": [("vqa_as_report", p) for p in reports.REPORT_PROMPTS],
        "held-out report paraphrases": [("vqa_as_report", p) for p in reports.HELDOUT_REPORT_PROMPTS],
        "test-split questions": [("vqa", q) for q in questions],
        "held-out question paraphrases": [("vqa", q) for q in reports.HELDOUT_QUESTIONS],
    }
    out = {"group_names": names}
    for label, items in sets.items():
        gates, hits = [], []
        for kind, text in items:
            # a report instruction in the package's VQA template is what a user typing it in the chat sends
            task = "report" if kind != "vqa" else "vqa"
            g = gate_of(pkg, px, "report" if kind == "report" else "vqa", text)
            gates.append(g)
            want = task_group[task]
            hits.append(want is not None and int(np.argmax(g)) == want)
        gates = np.asarray(gates)
        out[label] = {"prompts": len(items), "top_group_is_task": float(np.mean(hits)),
                      "mean_gate": gates.mean(0).round(4).tolist(), "min_gate_of_task_group":
                      float(gates[:, task_group[task]].min()) if task_group[task] is not None else None}
    return out


def heatmaps(pkg, cases: list[dict], root: str) -> dict | None:
    """Experts' routed weight by tissue, and whether a finding's mask holds the top token of "its" expert."""
    import nibabel as nib

    from .generate import encode_prompt
    from .phantom import TISSUE

    names = {v: k for k, v in TISSUE.items()}
    grid = pkg.ctlens["patch_grid"]  # tokens along (S, A, R)
    prompts = [("report", None), ("vqa", "Is there a pleural effusion?")]
    share = defaultdict(lambda: defaultdict(float))  # (prompt, expert) → tissue → weight
    token_share = defaultdict(float)
    per_case = []  # (case labels, {finding: token mask}, weights [P,E,N])
    for c in cases:
        lm = c.get("label_map")
        if not lm or not os.path.isfile(os.path.join(root, lm)):
            return None
        canon = nib.as_closest_canonical(nib.load(os.path.join(root, lm)))
        t = np.asarray(canon.dataobj).astype(np.int32).transpose(2, 1, 0)  # [S, A, R]
        d, h, w = grid
        bs, ba, br = t.shape[0] // d, t.shape[1] // h, t.shape[2] // w
        blocks = t[: d * bs, : h * ba, : w * br].reshape(d, bs, h, ba, w, br).transpose(0, 2, 4, 1, 3, 5)
        blocks = blocks.reshape(d * h * w, -1)  # token order (d, h, w) row-major, as the encoder's
        major = np.array([np.bincount(b, minlength=len(names)).argmax() for b in blocks])
        masks = {f: np.isin(blocks, FINDING_TISSUE[f]).any(1) for f in FINDINGS}
        px = pkg.pixels(os.path.join(root, c["image"]))
        weights = []
        for p, (task, q) in enumerate(prompts):
            gates, probs = encode_prompt(pkg.model, px, pkg.prompt_ids(task, q)).routing
            g = int(gates[0].mean(0).argmax())
            wt = probs[0, -1, :, g, :].numpy().T  # last MoE layer, top group: [E, N]
            weights.append(wt)
            for e in range(wt.shape[0]):
                for tid in np.unique(major):
                    share[(p, e)][names[int(tid)]] += float(wt[e][major == tid].sum())
        for tid in np.unique(major):
            token_share[names[int(tid)]] += float((major == tid).sum())
        per_case.append((c["labels"], masks, np.asarray(weights)))
    tissues = sorted(token_share, key=lambda k: -token_share[k])
    total = sum(token_share.values())
    by_expert = {}
    for (p, e), row in sorted(share.items()):
        s = sum(row.values())
        by_expert[f"{prompts[p][0]} prompt, expert {e}"] = {k: round(row.get(k, 0.0) / s, 4) for k in tissues}
    half = len(per_case) // 2
    hits = {}
    for f in FINDINGS:
        # the expert most tied to f: highest mean weight on tokens holding f, chosen on the first half (report prompt)
        tie = np.zeros(per_case[0][2].shape[1])
        for labels, masks, wts in per_case[:half]:
            if labels[f] and masks[f].any():
                tie += wts[0][:, masks[f]].mean(1)
        e = int(tie.argmax())
        hit, chance, n = 0, 0.0, 0
        for labels, masks, wts in per_case[half:]:
            if labels[f] and masks[f].any():
                hit += bool(masks[f][int(wts[0][e].argmax())])
                chance += float(masks[f].mean())
                n += 1
        hits[f] = {"expert": e, "cases": n, "top_token_in_mask": hit / n if n else None,
                   "chance": chance / n if n else None}
    return {"token_share": {k: round(token_share[k] / total, 4) for k in tissues}, "by_expert": by_expert,
            "finding_hits": hits, "cases": len(per_case)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.analysis", description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True)
    p.add_argument("--data", required=True, help="the split's dataset.jsonl (cases.jsonl beside it)")
    p.add_argument("--results", required=True, help="model.evaluate --out of this package on this split")
    p.add_argument("--shuffled", help="results of the shuffled-image control (paired intervals)")
    p.add_argument("--prior", help="results of the text prior (paired intervals)")
    p.add_argument("--cases", type=int, default=100, help="cases for the likelihood AUCs and heatmaps (default 100)")
    p.add_argument("--out", help="write the JSON here")
    a = p.parse_args(argv)
    from .evaluate import read_jsonl
    from .package import load_package

    root = os.path.dirname(os.path.abspath(a.data))
    lines = read_jsonl(a.results)
    cases = read_jsonl(os.path.join(root, "cases.jsonl"))[: a.cases]
    pkg = load_package(a.package)
    others = {}
    if a.shuffled:
        others["shuffled images"] = read_jsonl(a.shuffled)
    if a.prior:
        others["text prior"] = read_jsonl(a.prior)
    out = {"per_finding": per_finding_from_results(lines), "presence_balanced_accuracy": presence_balanced_accuracy(lines),
           "consistency": consistency(lines), "intervals": bootstrap(lines, others)}
    for name, o in others.items():
        out.setdefault("controls", {})[name] = {"per_finding": per_finding_from_results(o),
                                                "presence_balanced_accuracy": presence_balanced_accuracy(o)}
    aucs = finding_auc(pkg, cases, root)
    for f in FINDINGS:
        out["per_finding"][f]["likelihood_auc"] = aucs[f]
    px = pkg.pixels(os.path.join(root, cases[0]["image"]))
    questions = list(dict.fromkeys(l["question"] for l in read_jsonl(a.data) if l["task"] == "vqa"))[:200]
    out["routing"] = routing(pkg, px, questions)
    out["heatmaps"] = heatmaps(pkg, cases, root)
    text = json.dumps(out, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
