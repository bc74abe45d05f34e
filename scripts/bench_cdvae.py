"""Benchmark the CDVAE runner: train and reconstruct with a preset, time both, score the result.

Usage::

    python scripts/bench_cdvae.py dft_3d_Tc_supercon                       # cpu preset
    python scripts/bench_cdvae.py dft_3d_Tc_supercon --out /work/runs/cdvae-cpu/dft_3d_Tc_supercon --baseline prior
    python scripts/bench_cdvae.py alex_supercon_Tc --set max_minutes=10 --set n_step_each=50

Prints one JSON object per model: fit and reconstruction seconds, match rate
(matched / parsed; StructureMatcher ltol 0.3, stol 0.5, angle_tol 10), the mean
``get_rms_dist`` over matched rows, and the MAE of the Niggli-reduced a, b, c (Å)
and α, β, γ (°) over parsed rows. The published AtomBench CDVAE run on
dft_3d_Tc_supercon: 44/105 matched, RMSE 0.3734, MAE a/b/c 0.4899/0.2919/0.6394 Å.
Re-running into the same ``--out`` resumes (a finished fit is not repeated).
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", help="dft_3d_Tc_supercon or alex_supercon_Tc")
    parser.add_argument("--preset", default="cpu", choices=("smoke", "cpu", "paper"))
    parser.add_argument("--out", default=None, help="predictions folder (default /tmp/bench_cdvae/<benchmark>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset parameter (repeatable)")
    parser.add_argument("--baseline", default=None, help="also run and score this baseline (e.g. prior)")
    parser.add_argument("--workers", type=int, default=1, help="processes for structure matching")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on a busy 2-core machine; 0 keeps torch's default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    out = args.out or f"/tmp/bench_cdvae/{args.benchmark}"
    start = time.perf_counter()
    preds = run("cdvae", args.benchmark, args.preset, out, seed=args.seed, overrides=parse_set_pairs(args.sets),
                progress=not args.quiet)
    report = {"model": "cdvae", "benchmark": args.benchmark, "preset": args.preset, "out": out,
              "wall_seconds": round(time.perf_counter() - start, 1), "time_taken_seconds": preds.time_taken_seconds,
              "failures": len(preds.failures), **summarise(preds, args.benchmark, args.workers)}
    print(json.dumps(report, indent=2), flush=True)
    if args.baseline:
        base = run(args.baseline, args.benchmark, "cpu", f"{out}-{args.baseline}", seed=args.seed,
                   progress=not args.quiet)
        print(json.dumps({"model": args.baseline, **summarise(base, args.benchmark, args.workers)}, indent=2))


if __name__ == "__main__":
    main()
