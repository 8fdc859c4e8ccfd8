"""A diagnosis of the A–D questions: greedy answers against ranking a question's four full answers ("c. pleural
effusion" <eos>) by their teacher-forced log-likelihood, and how often the greedy answer's text (not its letter)
is the right choice. It tells a model that reads the finding but binds it to the wrong letter (greedy text right,
greedy letter wrong, ranked right) from one that does not read it.

    python3 -m model.synth --out model/runs/diag31 --n 300 --seed 31 --split val --no-label-maps
    python3 -m model.choices --package media/models/ctlens-tghmoe-demo --data model/runs/diag31

Use a split no choice was made on (the card's seed-31 split, not the test split). The benchmark itself scores the
greedy letter (model/metrics.py); ranking is not how the package answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

LETTERS = "ABCD"


def candidate_answers(line: dict) -> list[str]:
    """The answers a line's choices allow, written as the dataset writes answers ("C. pleural effusion")."""
    return [f"{LETTERS[i]}. {c}" for i, c in enumerate(line["choices"])]


def answer_text(answer: str) -> str:
    """"c. pleural effusion." → "pleural effusion" (the text after the letter, lower-case, no final stop)."""
    return answer.split(". ", 1)[-1].strip().rstrip(".").strip().lower()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.choices", description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True)
    p.add_argument("--data", required=True, help="a model.synth folder (dataset.jsonl, images/)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    path = os.path.join(a.data, "dataset.jsonl")
    if not os.path.isfile(path):
        print(f"model.choices: no dataset.jsonl in {a.data} (make one with python3 -m model.synth)", file=sys.stderr)
        return 2
    import torch

    from .generate import encode_prompt, teacher_forced_logits
    from .metrics import closed_correct
    from .package import PackageError, load_package

    lines = [l for l in (json.loads(x) for x in open(path, encoding="utf-8")) if l["task"] == "vqa" and l.get("choices")]
    try:
        pkg = load_package(a.package)
    except (PackageError, OSError) as e:  # a broken or missing package: a message, not a traceback
        print(f"model.choices: {e}", file=sys.stderr)
        return 2
    eos = pkg.generation_config["eos_token_id"]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, greedy right, ranked right, text right
    for l in lines:
        px = pkg.pixels(os.path.join(a.data, l["image"]))
        pv = encode_prompt(pkg.model, px, pkg.prompt_ids("vqa", l["question"]))
        start = len(pv.ids) - 1  # the logits there predict the answer's first token

        def loglik(answer: str) -> float:
            ids = pkg.tokenizer.encode(answer) + [eos]
            lp = torch.log_softmax(teacher_forced_logits(pkg.model, pv, ids).float(), -1)
            return sum(float(lp[start + j, t]) for j, t in enumerate(ids))

        ranked = max(candidate_answers(l), key=loglik)
        greedy = pkg.decode(pkg.generate(px, "vqa", l["question"]).ids)
        c = counts[l["qtype"].split(":")[0]]
        c[0] += 1
        c[1] += int(closed_correct(l, greedy))  # the benchmark's rule: the letter
        c[2] += int(closed_correct(l, ranked))
        c[3] += int(answer_text(greedy) == answer_text(l["answer"]))
    rows = {k: {"n": v[0], "greedy": v[1] / v[0], "ranked": v[2] / v[0], "greedy_text": v[3] / v[0]}
            for k, v in sorted(counts.items())}
    total = [sum(v[i] for v in counts.values()) for i in range(4)]
    if total[0]:
        rows["all"] = {"n": total[0], "greedy": total[1] / total[0], "ranked": total[2] / total[0],
                       "greedy_text": total[3] / total[0]}
    if a.json:
        print(json.dumps(rows))
        return 0
    print("question kind   n   greedy   ranked by likelihood   greedy answer's text right")
    for k, r in rows.items():
        print(f"{k:12s} {r['n']:4d}   {r['greedy']:.3f}    {r['ranked']:.3f}                  {r['greedy_text']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
