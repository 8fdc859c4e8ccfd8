"""How well a package reads lung nodules by nodule size and lobe: its presence log-odds log P("yes") − log P("no")
on "Is there a lung nodule?" for every case of a split, and the AUC of each size bin's nodules against all the
nodule-free cases (model.synth labels: ``lung_nodule: {"lobe", "size_mm"}`` or false).

    python3 -m model.synth --out model/runs/diag31 --n 300 --seed 31 --split val --no-label-maps
    python3 -m model.nodule_size --package media/models/ctlens-tghmoe-demo --data model/runs/diag31

Use a split no choice was made on (the card's seed-31 split, not the test split): this is a diagnosis.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

from .analysis import auc, presence_log_odds

SIZE_BINS = ((6, 10), (11, 15), (16, 20), (21, 30))  # mm; model.phantom draws 6–30


def size_bin(size_mm: int) -> str:
    for lo, hi in SIZE_BINS:
        if lo <= size_mm <= hi:
            return f"{lo}–{hi} mm"
    return f"{size_mm} mm"


def _order(name: str):
    """Size bins by size ("6–10 mm" before "11–15 mm"), other names alphabetically after them."""
    head = name.split("–")[0].split(" ")[0]
    return (0, int(head), name) if head.isdigit() else (1, 0, name)


def by_bin(rows: list[tuple[float, dict | bool]], key) -> dict[str, dict]:
    """rows: (log-odds, the case's lung_nodule label). Per bin of the present nodules (``key(label)``): n, AUC
    against every nodule-free case, and how many have log-odds > 0 (the greedy answer "yes")."""
    negatives = [s for s, label in rows if not label]
    bins: dict[str, list[float]] = defaultdict(list)
    for s, label in rows:
        if label:
            bins[key(label)].append(s)
    out = {}
    for b in sorted(bins, key=_order):
        scores = bins[b]
        out[b] = {"n": len(scores), "auc": auc(scores + negatives, [True] * len(scores) + [False] * len(negatives)),
                  "yes": sum(s > 0 for s in scores)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.nodule_size", description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True)
    p.add_argument("--data", required=True, help="a model.synth folder (cases.jsonl, images/)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    path = os.path.join(a.data, "cases.jsonl")
    if not os.path.isfile(path):
        print(f"model.nodule_size: no cases.jsonl in {a.data} (make one with python3 -m model.synth)", file=sys.stderr)
        return 2
    from .package import PackageError, load_package

    cases = [json.loads(l) for l in open(path, encoding="utf-8")]
    try:
        pkg = load_package(a.package)
    except (PackageError, OSError) as e:  # a broken or missing package: a message, not a traceback
        print(f"model.nodule_size: {e}", file=sys.stderr)
        return 2
    rows = [(presence_log_odds(pkg, pkg.pixels(os.path.join(a.data, c["image"])), "lung_nodule"),
             c["labels"]["lung_nodule"]) for c in cases]
    negatives = [s for s, label in rows if not label]
    result = {"cases": len(rows), "all": by_bin(rows, lambda _: "all")["all"],
              "by_size": by_bin(rows, lambda n: size_bin(n["size_mm"])), "by_lobe": by_bin(rows, lambda n: n["lobe"]),
              "false_yes": [sum(s > 0 for s in negatives), len(negatives)]}
    if a.json:
        print(json.dumps(result))
        return 0
    print(f"{result['cases']} cases; all nodules: n {result['all']['n']}, AUC {result['all']['auc']:.3f}, "
          f"said yes {result['all']['yes']}; nodule-free said yes {result['false_yes'][0]}/{result['false_yes'][1]}")
    for name in ("by_size", "by_lobe"):
        for b, r in result[name].items():
            print(f"  {b:18s} n {r['n']:3d}  AUC {r['auc']:.3f}  said yes {r['yes']}/{r['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
