"""PyTorch-eager side of bench/model.bench.ts: the same package weights (model/package.py rebuilds the model from
the ONNX initializers), the same volume, the same fixed-length greedy report, the same thread count.

    /usr/bin/python3 bench/torch_reference.py --package DIR --file F [--tokens 128] [--runs 3] [--threads 2]

Prints one JSON object: load, NIfTI read + preprocessing, and generation (vision encoder + prefill + decode)
times in ms (median of the runs after one warm-up), tokens generated, torch version and threads.
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--package", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    from model.package import load_package
    from model.preprocess import preprocess_file

    t0 = time.perf_counter()
    pkg = load_package(a.package)
    load_ms = (time.perf_counter() - t0) * 1000

    pre, gen, tokens = [], [], 0
    for run in range(a.runs + 1):  # the first run warms up
        t0 = time.perf_counter()
        pixels = preprocess_file(a.file, pkg.preprocess)
        t1 = time.perf_counter()
        timed = pkg.timed_report(pixels, max_new_tokens=a.tokens, min_new_tokens=a.tokens)
        if run == 0:
            continue
        pre.append((t1 - t0) * 1000)
        gen.append(timed["ms"])
        tokens = timed["tokens"]
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_ms": load_ms,
        "preprocess_ms": statistics.median(pre),
        "generate_ms": statistics.median(gen),
        "tokens": tokens,
        "runs": a.runs,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
