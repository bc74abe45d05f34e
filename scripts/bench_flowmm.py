"""Benchmark the FlowMM runner: train + sample with a preset, time both, and score.

Usage::

    python scripts/bench_flowmm.py dft_3d_Tc_supercon --preset cpu --out /work/runs/flowmm-cpu/dft_3d_Tc_supercon
    python scripts/bench_flowmm.py dft_3d_Tc_supercon --baseline prior   # also score the prior baseline

Prints fit/sample seconds, match rate (matched / parsed, AtomBench rule), mean RMS
over matched rows (``get_rms_dist``, ltol 0.3, stol 0.5, angle_tol 10) and the MAE
of the Niggli-reduced a, b, c (Å) and α, β, γ (°) over parsed rows. ``--set k=v``
overrides preset parameters (repeatable).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from runners.api import run
from runners.config import parse_set_pairs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_summary import summarise  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("benchmark")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--out", default=None, help="predictions folder (default /tmp/bench_flowmm/<benchmark>)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--baseline", default=None, help="also run and score this baseline (e.g. prior)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is fastest on a shared 2-core machine; 0 keeps torch's default)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    out = args.out or f"/tmp/bench_flowmm/{args.benchmark}"
    start = time.perf_counter()
    preds = run("flowmm", args.benchmark, args.preset, out, seed=args.seed, overrides=parse_set_pairs(args.sets),
                progress=not args.quiet)
    result = {"model": "flowmm", "preset": args.preset, "wall_seconds": round(time.perf_counter() - start, 1),
              "time_taken_seconds": preds.time_taken_seconds, "failures": len(preds.failures),
              **summarise(preds, args.benchmark, args.workers)}
    print(json.dumps(result, indent=2))
    if args.baseline:
        base = run(args.baseline, args.benchmark, "cpu", f"{out}-{args.baseline}", seed=args.seed,
                   progress=not args.quiet)
        print(json.dumps({"model": args.baseline, **summarise(base, args.benchmark, args.workers)}, indent=2))


if __name__ == "__main__":
    main()
