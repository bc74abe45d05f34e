#!/usr/bin/env python
"""Time the evaluator against a plain sequential loop of the same pymatgen calls.

For one full 14-file AtomGenBench contribution, the baseline does what the
leaderboard scorer does, row by row in one process: parse prediction and target
with the leaderboard's jarvis parser, call
``StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist`` on every pair,
average the matched values; plain MAE for the lattice files. Then it times
``atomgenbench.evaluator.leaderboard.score_leaderboard_file(..., workers=N)`` on the same files,
asserts that every number is identical and prints both times and the speed-up.

Usage: python scripts/bench_evaluator.py [CONTRIBUTION_DIR] [--workers 2]
(default: $ATOMGENBENCH_DATA/jarvis_leaderboard/contributions/cdvae_invatoms)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def sequential_score(path: Path) -> tuple[float, int | None]:
    """Leaderboard score of one file by a plain loop (no pool, no short-cuts)."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.benchmarks.atomgen.registry import spec_for_leaderboard_file
    from atomgenbench.benchmarks.atomgen.structures import parse_poscar

    spec = spec_for_leaderboard_file(path.name)
    targets = load_splits(spec.name)["test"]
    df = pd.read_csv(path, dtype={"id": str})
    if spec.kind == "float":
        df = df[df["id"].isin(targets)]
        err = np.abs(df["prediction"].astype(float).to_numpy() - np.array([float(targets[i]) for i in df["id"]]))
        return round(float(err.mean()), 4), None
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    values = []
    for key, pred in zip(df["id"], df["prediction"]):
        if key not in targets:
            continue
        rms = matcher.get_rms_dist(parse_poscar(pred), parse_poscar(str(targets[key])))
        if rms is not None:
            values.append(rms[0])
    return (round(float(np.mean(values)), 4) if values else float("nan")), len(values)


def _cpu() -> float:
    """CPU seconds of this process plus its finished children (the pool workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contribution", nargs="?", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    data = Path(os.environ.get("ATOMGENBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    os.environ.setdefault("ATOMGENBENCH_DATA", str(data))
    folder = args.contribution or data / "jarvis_leaderboard" / "contributions" / "cdvae_invatoms"
    files = sorted(folder.glob("*.csv.zip"))
    if not files:
        print(f"no *.csv.zip in {folder}", file=sys.stderr)
        return 2

    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.benchmarks.atomgen.registry import spec_for_leaderboard_file
    from atomgenbench.evaluator.leaderboard import score_leaderboard_file

    for f in files:  # read the benchmark JSONs once so neither side pays for it
        load_splits(spec_for_leaderboard_file(f.name).name)

    t0, c0 = time.perf_counter(), _cpu()
    baseline = {f.name: sequential_score(f) for f in files}
    t_seq, c_seq = time.perf_counter() - t0, _cpu() - c0

    t0, c0 = time.perf_counter(), _cpu()
    ours = {}
    for f in files:
        s = score_leaderboard_file(f, workers=args.workers)
        ours[f.name] = (s.value, s.n_matched)
    t_ours, c_ours = time.perf_counter() - t0, _cpu() - c0

    mismatches = {
        k: (baseline[k], ours[k])
        for k in baseline
        if not (baseline[k] == ours[k] or (np.isnan(baseline[k][0]) and np.isnan(ours[k][0])))
    }
    for name in sorted(baseline):
        print(f"{name:55s} {baseline[name][0]!s:>9} {ours[name][0]!s:>9}  matched {ours[name][1]}")
    print(f"contribution: {folder.name} ({len(files)} files)")
    print(f"sequential loop : {t_seq:7.2f} s wall, {c_seq:7.2f} s CPU")
    print(f"evaluator (workers={args.workers}): {t_ours:7.2f} s wall, {c_ours:7.2f} s CPU (incl. workers)")
    print(f"load average at end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"speed-up        : {t_seq / t_ours:7.2f}x")
    if mismatches:
        print(f"MISMATCH: {mismatches}", file=sys.stderr)
        return 1
    print("identical numbers: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
