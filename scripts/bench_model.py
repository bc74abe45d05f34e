"""Benchmark a runner: fit and reconstruct with a preset, time both, score with the evaluator.

Usage::

    python scripts/bench_model.py cdvae dft_3d_Tc_supercon                  # cpu preset
    python scripts/bench_model.py flowmm alex_supercon_Tc --out runs/flowmm-cpu/alex_supercon_Tc --baseline prior
    python scripts/bench_model.py cdvae dft_3d_Tc_supercon --set max_minutes=10 --set n_step_each=50
    python scripts/bench_model.py cdvae dft_3d_Tc_supercon --out runs/cdvae-cpu/dft_3d_Tc_supercon \
        --curve docs/results/curve_cdvae_dft_3d_Tc_supercon                  # + the learning curve

Prints one JSON object per model: wall and fit/reconstruct seconds, failures, and the
headline numbers of ``atomgenbench evaluate`` (match rate over all test ids, the
leaderboard's matched-only RMSE, lattice MAE on Niggli-reduced ``mae_*`` and raw
``raw_mae_*`` cells). Re-running into the same ``--out`` resumes (a finished fit is
not repeated). With ``--curve`` it then scores the snapshots that the run saved at its
``snapshot_minutes`` (match rate overall and per leakage stratum, Niggli lattice MAE,
validation loss; :mod:`curves`). Published AtomBench runs on dft_3d_Tc_supercon, for comparison: CDVAE
44/105 matched, RMSE 0.3734; FlowMM 5/105, RMSE 0.3211 (docs/results.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.runners.api import run
from atomgenbench.runners.config import parse_set_pairs


def summarise(preds, benchmark: str, workers: int = 1) -> dict:
    """Headline metrics of ``preds`` on ``benchmark`` via :func:`atomgenbench.evaluator.metrics.evaluate.evaluate`."""
    from atomgenbench.core.executors import Executor
    from atomgenbench.workflows.evaluation import EvaluationSettings, evaluate_input

    executor = Executor.create("process", workers)
    m = evaluate_input(Path("."), benchmark, EvaluationSettings(n_bootstrap=10), executor, predictions=preds).metrics
    out = {
        "n_total": m["n_total"],
        "n_parsed": m["n_parsed"],
        "n_matched": m["rmse"]["n_matched"],
        "match_rate": m["rmse"]["match_rate"],
        "rmse_matched": m["rmse"]["value"],
    }
    for p in LATTICE_PARAMS:
        out[f"mae_{p}"] = m["mae"][p]["value"]
        out[f"raw_mae_{p}"] = m["mae_raw"][p]["value"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a runner name: cdvae, flowmm, atomgpt, prior, nearest, oracle")
    ap.add_argument("benchmark", help="dft_3d_Tc_supercon or alex_supercon_Tc")
    ap.add_argument("--preset", default="cpu", choices=("smoke", "cpu", "paper"))
    ap.add_argument("--out", default=None, help="predictions folder (default /tmp/bench_<model>/<benchmark>)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset parameter (repeatable)",
    )
    ap.add_argument("--baseline", default=None, help="also run and score this baseline (e.g. prior)")
    ap.add_argument("--workers", type=int, default=1, help="processes for structure matching")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is fastest on a busy 2-core machine; 0 keeps torch's default)",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument(
        "--curve",
        type=Path,
        default=None,
        metavar="PREFIX",
        help="also score the run's learning-curve snapshots; write PREFIX.json and PREFIX.png "
        "(e.g. docs/results/curve_cdvae_dft_3d_Tc_supercon)",
    )
    args = ap.parse_args()
    from atomgenbench.core.output import configure

    # as the CLI does: dependencies log warnings only (no Lightning tips or "GPU available" lines,
    # no Hugging Face bars when snapshots are exported); --quiet also turns progress bars off
    configure(verbosity=-1 if args.quiet else 0, progress=not args.quiet)
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    out = args.out or f"/tmp/bench_{args.model}/{args.benchmark}"
    start = time.perf_counter()
    preds = run(
        args.model,
        args.benchmark,
        args.preset,
        out,
        seed=args.seed,
        overrides=parse_set_pairs(args.sets),
        progress=not args.quiet,
    )
    report = {
        "model": args.model,
        "benchmark": args.benchmark,
        "preset": args.preset,
        "out": out,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "time_taken_seconds": preds.time_taken_seconds,
        "failures": len(preds.failures),
        **summarise(preds, args.benchmark, args.workers),
    }
    print(json.dumps(report, indent=2), flush=True)
    if args.curve:
        import curves

        result = curves.curve(Path(out), args.workers)
        args.curve.parent.mkdir(parents=True, exist_ok=True)
        args.curve.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        curves.plot(result, args.curve.with_suffix(".png"))
    if args.baseline:
        base = run(
            args.baseline, args.benchmark, "cpu", f"{out}-{args.baseline}", seed=args.seed, progress=not args.quiet
        )
        print(json.dumps({"model": args.baseline, **summarise(base, args.benchmark, args.workers)}, indent=2))


if __name__ == "__main__":
    main()
