#!/usr/bin/env python
"""The template runner's leave-one-out labels with pymatgen's matcher and with the fast one: equal?

For each benchmark it computes every training crystal's labels (its ``k`` candidate templates,
species substituted, matched against it; runners/template/labels.py) twice from an empty cache,
once with pymatgen's own ``get_rms_dist`` steps and once with the fast path, and prints (and writes
as JSON) the label count, the positives, the disagreements and both wall times. The two caches are
temporary folders; the user's cache is not touched.

Usage:
  OMP_NUM_THREADS=1 python scripts/check_template_labels.py --workers 1 --out labels.json
  python scripts/check_template_labels.py --benchmarks dft_3d_Tc_supercon --limit 200   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.sources import ENV_CACHE
from atomgenbench.runners.template import labels as labels_mod
from atomgenbench.runners.template.runner import PRESETS


def labels_with(data, k: int, matcher: str, workers: int, ids: list[str]) -> tuple[dict, float]:
    """The labels of ``ids`` from an empty temporary cache, and the wall time they took."""
    old = os.environ.get(ENV_CACHE)
    with tempfile.TemporaryDirectory(prefix=f"labels-{matcher}-") as tmp:
        os.environ[ENV_CACHE] = tmp
        try:
            t0 = time.perf_counter()
            store = labels_mod.compute_labels(data, k, workers=workers, ids=ids, matcher=matcher)
            return store["labels"], time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop(ENV_CACHE, None)
            else:
                os.environ[ENV_CACHE] = old


def check(benchmark: str, workers: int, limit: int | None) -> dict:
    data = load_benchmark(benchmark)
    k = int(PRESETS["cpu"]["candidates"])
    ids = labels_mod.label_order(data.train_ids)[:limit]
    reference, t_ref = labels_with(data, k, "pymatgen", workers, ids)
    fast, t_fast = labels_with(data, k, "fast", workers, ids)
    pairs = [(q, a, b) for q in ids for a, b in zip(reference[q], fast[q], strict=True)]
    differ = [{"query": q, "template": a[0], "pymatgen": a[1], "fast": b[1]} for q, a, b in pairs if a != b]
    return {
        "benchmark": benchmark,
        "queries": len(ids),
        "labels": len(pairs),
        "positives": sum(a[1] for _, a, _ in pairs),
        "disagreements": len(differ),
        "first_disagreements": differ[:20],
        "seconds_pymatgen": round(t_ref, 1),
        "seconds_fast": round(t_fast, 1),
        "speedup": round(t_ref / t_fast, 2) if t_fast else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=["dft_3d_Tc_supercon", "alex_supercon_Tc"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N training crystals")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    results = []
    for benchmark in args.benchmarks:
        row = check(benchmark, args.workers, args.limit)
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "first_disagreements"}), flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
