#!/usr/bin/env python
"""Per-pair speed of the fast StructureMatcher against pymatgen's ``get_rms_dist``.

Pairs: the alex structure files of the three official contributions in the data mirror
(atomgpt, cdvae, flowmm; targets from the benchmark JSON). Three timings per file, interleaved
(pymatgen, evaluator path, fast; then again), medians of ``--repeats``:

* ``get_rms_dist``: ``StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist(pred, target)``;
* ``rms_dist``: the evaluator's path today (``atomgenbench.evaluator.scoring.rms.rms_dist``: pymatgen's own
  steps with the target's reduced cell computed once beforehand);
* ``fast``: ``FastMatcher().rms_dist(pred, ReducedTarget)``, the target reduced once beforehand.

pymatgen's cache of reduced structures is cleared before every timed pass (each prediction is
new to the matcher, as in an evaluation). Then a cProfile of the fast path on one file, grouped
by step, shows where the remaining time goes.

Usage: OMP_NUM_THREADS=1 python scripts/bench_matcher.py [--repeats 3] [--limit N] [--profile cdvae_invatoms]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matcher_pairs import _pairs_of_rows, mirror, read_rows  # noqa: E402
from pymatgen.core.structure_matcher import StructureMatcher  # noqa: E402

from atomgenbench.evaluator.scoring import rms  # noqa: E402
from atomgenbench.evaluator.scoring.fastmatch import FastMatcher, ReducedTarget  # noqa: E402

OFFICIAL = ("atomgpt_invatoms", "cdvae_invatoms", "flowmm_invatoms")
STEPS = {  # cProfile function name -> step
    "reduce": "reduction (pymatgen Niggli + primitive cell)",
    "mappings": "lattice mappings (find_all_mappings)",
    "_search": "site test and everything after it",
    "_equal_inputs": "equal-input check (pymatgen cache key)",
    "_lll": "LLL bases",
    "_shortest": "shortest vectors (27 images)",
    "linear_sum_assignment": "assignment (scipy)",
}


def load(name: str, limit: int | None):
    path = mirror() / "jarvis_leaderboard" / "contributions" / name / "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip"
    return list(_pairs_of_rows(name, read_rows(path), "alex", limit))


def timed(fn, pairs) -> float:
    StructureMatcher._get_reduced_istructure.cache_clear()
    start = time.perf_counter()
    for item in pairs:
        fn(item)
    return (time.perf_counter() - start) / len(pairs) * 1e3


def bench(name: str, pairs, repeats: int) -> dict:
    ref = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    fast = FastMatcher()
    cells = [rms.as_cell(rms.reduce_for_matcher(ref, t)) for _, _, _, t in pairs]
    targets = [ReducedTarget.of(c, original=t) for c, (_, _, _, t) in zip(cells, pairs)]
    items = [(p, t, c, rt) for (_, p, _, t), c, rt in zip(pairs, cells, targets)]
    runs = {"get_rms_dist": [], "rms_dist": [], "fast": []}
    for _ in range(repeats):
        runs["get_rms_dist"].append(timed(lambda it: ref.get_rms_dist(it[0], it[1]), items))
        runs["rms_dist"].append(timed(lambda it: rms.rms_dist(ref, it[0], it[1], it[2]), items))
        runs["fast"].append(timed(lambda it: fast.rms_dist(it[0], it[3]), items))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(
        f"{name:18s} pairs {len(pairs):4d}  get_rms_dist {med['get_rms_dist']:6.2f} ms"
        f"  rms_dist {med['rms_dist']:6.2f} ms"
        f"  fast {med['fast']:5.2f} ms  speed-up {med['get_rms_dist'] / med['fast']:4.1f}x vs get_rms_dist,"
        f" {med['rms_dist'] / med['fast']:4.1f}x vs rms_dist  (runs {runs})  hand-overs {fast.counters.as_dict()}",
        flush=True,
    )
    return med


def profile(name: str, pairs) -> None:
    fast = FastMatcher()
    targets = [fast.prepare(t) for _, _, _, t in pairs]
    StructureMatcher._get_reduced_istructure.cache_clear()
    prof = cProfile.Profile()
    prof.enable()
    for (_, p, _, _), t in zip(pairs, targets):
        fast.rms_dist(p, t)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    print(
        f"\nprofile of the fast path on {name} ({len(pairs)} pairs, {total / len(pairs) * 1e3:.2f} ms/pair profiled):"
    )
    for func, (_, _, _, cum, _) in stats.stats.items():
        if func[2] in STEPS:
            print(f"  {STEPS[func[2]]:45s} {100 * cum / total:5.1f} %")
    stats.sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="rows per file (spread evenly)")
    parser.add_argument("--profile", default="cdvae_invatoms")
    args = parser.parse_args(argv)
    loaded = {name: load(name, args.limit) for name in OFFICIAL}
    meds = {name: bench(name, pairs, args.repeats) for name, pairs in loaded.items()}
    total = {
        k: sum(m[k] * len(loaded[n]) for n, m in meds.items()) / sum(map(len, loaded.values()))
        for k in meds[OFFICIAL[0]]
    }
    print(
        f"{'all three':18s} get_rms_dist {total['get_rms_dist']:.2f} ms  rms_dist {total['rms_dist']:.2f} ms  "
        f"fast {total['fast']:.2f} ms  speed-up {total['get_rms_dist'] / total['fast']:.1f}x vs get_rms_dist, "
        f"{total['rms_dist'] / total['fast']:.1f}x vs rms_dist"
    )
    if args.profile:
        profile(args.profile, loaded[args.profile])
    return 0


if __name__ == "__main__":
    sys.exit(main())
