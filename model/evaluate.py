"""Evaluate a model package on a benchmark split, or score existing outputs.

    python3 -m model.evaluate --package DIR --data DATASET.jsonl [--limit N] [--out RESULTS.jsonl] [--json]
                              [--shuffle-images]
    python3 -m model.evaluate --predictions RESULTS.jsonl [--json]

With ``--package`` every dataset line (the first N with ``--limit``) is answered by the package's PyTorch
reference (``model.package``, greedy decoding) and the results lines (C5: the dataset line plus ``prediction``)
are scored, and written to ``--out`` when given. With ``--predictions`` the lines are scored as they are
(``ctlens eval --out`` writes the same format), so both languages can be compared on one file.

``--shuffle-images`` answers every line on another case's volume (the next distinct image of the lines, in order):
the control that says how much of a score comes from the image rather than from the text prior.

Output: the metrics of model/metrics.py (docstring there defines each); ``--json`` prints one JSON object with the
keys bleu1 bleu2 bleu3 bleu4 rouge1 rougeL meteor cider closed_vqa_accuracy open_vqa_f1 finding_f1 n_report n_vqa
(fractions in 0..1 except cider, on the pycocoevalcap 0–10 scale; null where a group has no samples).
Exit status 2 with a one-line message (or ``{"error": …}`` with --json) for unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .metrics import METRIC_KEYS, ResultsError, score


class UsageError(Exception):
    pass


def read_jsonl(path: str) -> list[dict]:
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    lines = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            raw = raw.strip()
            if not raw:
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{path}:{n}: each line must be a JSON object")
            lines.append(obj)
    return lines


def shifted_images(lines: list[dict]) -> dict[str, str]:
    """image → the next distinct image of the lines (cyclic): a derangement whenever there are two or more."""
    images = list(dict.fromkeys(str(l.get("image", "")) for l in lines))
    return {img: images[(k + 1) % len(images)] for k, img in enumerate(images)}


def predict(package_dir: str, data_path: str, lines: list[dict], max_new_tokens: int | None, progress=None,
            shuffle_images: bool = False, shard: tuple[int, int] | None = None) -> list[dict]:
    """Greedy predictions of the package's PyTorch reference for each line; returns results lines.

    As ``ctlens eval`` does: report samples use the package's report prompt (their ``question`` is not read), VQA
    samples its VQA template with the line's question; greedy decoding whatever generation_config.json says;
    ``max_new_tokens`` None means the package's own limit.
    """
    try:
        from . import package as pkg_mod  # the PyTorch model stack: imported only when a model must run
    except ImportError as e:
        raise UsageError(f"model.package is not available ({e}); score existing outputs with --predictions") from None
    try:
        model = pkg_mod.load_package(package_dir)
    except (pkg_mod.PackageError, OSError, KeyError, ValueError) as e:
        raise UsageError(f"cannot load the model package {package_dir}: {e}") from None
    root = os.path.dirname(os.path.abspath(data_path))
    swap = shifted_images(lines) if shuffle_images else {}  # from every line, so shards shuffle alike
    if shard is not None:  # shard i of N: lines i, i+N, i+2N … (as ``ctlens eval --shard``); merge = score them all
        i, n = shard
        lines = lines[i::n]
    out = []
    for k, line in enumerate(lines, 1):
        name = str(line.get("image", ""))
        image = os.path.join(root, swap.get(name, name))
        if not os.path.isfile(image):
            raise UsageError(f"line {k} (id {line.get('id')}): image not found: {image}")
        task = line.get("task")
        if task not in ("report", "vqa"):
            raise UsageError(f"line {k} (id {line.get('id')}): task must be 'report' or 'vqa', got {task!r}")
        question = line.get("question") if task == "vqa" else None
        gen = model.generate(model.pixels(image), task, question, max_new_tokens, do_sample=False)
        out.append({**line, "prediction": model.decode(gen.ids)})
        if progress:
            progress(k, len(lines))
    return out


def format_table(metrics: dict) -> str:
    rows = []
    for k in METRIC_KEYS:
        v = metrics[k]
        rows.append(f"{k:20s} {'n/a' if v is None else (v if isinstance(v, int) else f'{v:.4f}')}")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m model.evaluate", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--package", help="model package folder (runs the model)")
    src.add_argument("--predictions", nargs="+", help="results jsonl to score as is (several: the shards, merged)")
    p.add_argument("--data", help="dataset.jsonl (with --package)")
    p.add_argument("--limit", type=int, help="only the first N lines")
    p.add_argument("--out", help="write results lines here (with --package)")
    p.add_argument("--max-new-tokens", type=int, help="default: the package's generation_config.json")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--shard", help="i/N: predict only lines i, i+N, … (0-based; with --package); score the merged "
                                   "shards with --predictions shard*.jsonl")
    p.add_argument("--shuffle-images", action="store_true",
                   help="control run: answer each line on another case's volume (with --package)")
    a = p.parse_args(argv)

    def fail(msg: str) -> int:
        if a.json:
            print(json.dumps({"error": msg}))
        else:
            print(f"model.evaluate: {msg}", file=sys.stderr)
        return 2

    try:
        shard = None
        if a.shard:
            try:
                i, n = (int(x) for x in a.shard.split("/"))
                assert n >= 1 and 0 <= i < n
            except (ValueError, AssertionError):
                raise UsageError(f"--shard wants i/N with 0 <= i < N, got {a.shard!r}") from None
            shard = (i, n)
        if a.predictions:
            lines = [l for path in a.predictions for l in read_jsonl(path)]
            ids = [l.get("id") for l in lines]
            if len(set(ids)) < len(ids):
                raise UsageError("the merged predictions repeat ids (the same shard twice?)")
            if a.limit is not None:
                lines = lines[: a.limit]
        else:
            if not a.data:
                raise UsageError("--package needs --data DATASET.jsonl")
            lines = read_jsonl(a.data)
            if a.limit is not None:
                lines = lines[: a.limit]
            t0 = time.perf_counter()

            def progress(k, n):
                if k == n or k % max(1, n // 20) == 0:
                    print(f"evaluate: {k}/{n} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

            lines = predict(a.package, a.data, lines, a.max_new_tokens, progress, a.shuffle_images, shard)
            if a.out:
                with open(a.out, "w", encoding="utf-8") as f:
                    for line in lines:
                        f.write(json.dumps(line) + "\n")
        if not lines:
            raise UsageError("no lines to score")
        metrics = score(lines)
    except (UsageError, ResultsError) as e:
        return fail(str(e))
    print(json.dumps(metrics) if a.json else format_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
