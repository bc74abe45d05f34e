#!/usr/bin/env python
"""Check the fast StructureMatcher against pymatgen's ``get_rms_dist`` on every pair it can find.

For every pair: ``StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist(pred, target)``
and ``FastMatcher().rms_dist(pred, reduced target)``. Per source it prints and writes (JSON) the
pair count, decision disagreements (one matched, the other not), value mismatches (``rms`` or
``max_dist`` differing by more than 1e-9 relative and 1e-12 absolute), the largest relative and
absolute differences (relative to max(|value|, 1e-6): an RMS of 0 against 7e-16 is
floating-point noise, not a relative difference of infinity) and the fast path's hand-overs to
pymatgen (count, fraction, reasons).

pymatgen's cache of reduced structures is cleared before every reference call: that cache
returns the reduction of an earlier structure that compares equal within its site tolerance, so
without clearing, the reference for a prediction would depend on the order of the pairs.

Sources (``--sources``, comma-separated; default all):
  contrib   every contribution and submission structure file, both datasets
  samples   every predictions.csv given with --samples-csv DATASET=PATH (repeatable)
  strata    training × test pairs of equal reduced formula, both datasets
  hostile   built hard cases (scripts/matcher_pairs.py)

Usage:
  OMP_NUM_THREADS=1 python scripts/check_matcher.py --out check.json \\
      --samples-csv dft_3d=/work/runs/matcher/nearest-dft_3d_Tc_supercon-k20/predictions.csv ...
  python scripts/check_matcher.py --sources hostile --limit 100   # quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matcher_pairs import contribution_pairs, hostile_pairs, sample_pairs, strata_pairs  # noqa: E402
from pymatgen.core.structure_matcher import StructureMatcher  # noqa: E402

from atomgenbench.evaluator.scoring.fastmatch import FastMatcher  # noqa: E402

REL, ABS = 1e-9, 1e-12
FLOOR = 1e-6  # relative differences of values below this are taken relative to it


class Tally:
    """Per-source comparison counts."""

    def __init__(self) -> None:
        self.pairs = self.matched = self.disagree = self.mismatch = self.handed = 0
        self.max_rel = self.max_abs = 0.0
        self.reasons: dict[str, int] = {}
        self.examples: list[str] = []

    def add(self, ref, got, where: str) -> None:
        self.pairs += 1
        if (ref is None) != (got is None):
            self.disagree += 1
            self.examples.append(f"decision {where}: pymatgen {ref} fast {got}")
            return
        if ref is None:
            return
        self.matched += 1
        for a, b in zip(ref, got):
            diff = abs(a - b)
            self.max_abs = max(self.max_abs, diff)
            self.max_rel = max(self.max_rel, diff / max(abs(a), FLOOR))
            if diff > REL * abs(a) and diff > ABS:
                self.mismatch += 1
                self.examples.append(f"value {where}: pymatgen {ref} fast {got}")
                break

    def row(self) -> dict:
        return {
            "pairs": self.pairs,
            "matched": self.matched,
            "disagreements": self.disagree,
            "value_mismatches": self.mismatch,
            "max_rel_diff": self.max_rel,
            "max_abs_diff": self.max_abs,
            "handed_over": self.handed,
            "handed_over_fraction": self.handed / self.pairs if self.pairs else 0.0,
            "reasons": self.reasons,
            "examples": self.examples[:20],
        }


def sources(args) -> list:
    """(name, iterator) per source asked for."""
    wanted = args.sources.split(",")
    out = []
    for ds in ("dft_3d", "alex"):
        if "contrib" in wanted:
            out.append((f"contrib/{ds}", contribution_pairs(ds, args.limit)))
    if "samples" in wanted:
        for spec in args.samples_csv:
            ds, path = spec.split("=", 1)
            out.append((f"samples/{Path(path).parent.name}", sample_pairs(Path(path), ds, args.limit)))
    if "strata" in wanted:
        for ds in ("dft_3d", "alex"):
            out.append((f"strata/{ds}", strata_pairs(ds, args.limit)))
    if "hostile" in wanted:
        out.append(("hostile", hostile_pairs(args.limit)))
    return out


def check(name: str, pairs, fast: FastMatcher, ref: StructureMatcher) -> dict:
    tally, targets = Tally(), {}
    start = time.perf_counter()
    for label, pred, target_id, target in pairs:
        key = (label.split("/")[0], target_id, id(target))
        if key not in targets:
            targets[key] = fast.prepare(target)
        before = dict(fast.counters.reasons)
        handed = fast.counters.handed_over
        StructureMatcher._get_reduced_istructure.cache_clear()  # a fresh get_rms_dist (see the docstring)
        want = ref.get_rms_dist(pred, target)
        got = fast.rms_dist(pred, targets[key])
        if fast.counters.handed_over > handed:
            tally.handed += 1
            for reason, count in fast.counters.reasons.items():
                if count > before.get(reason, 0):
                    tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
        tally.add(want, got, f"{label} {target_id}")
    row = tally.row() | {"seconds": round(time.perf_counter() - start, 1)}
    print(
        f"{name:45s} pairs {row['pairs']:6d} matched {row['matched']:6d} disagree {row['disagreements']} "
        f"mismatch {row['value_mismatches']} max_rel {row['max_rel_diff']:.2e} max_abs {row['max_abs_diff']:.2e} "
        f"handed {row['handed_over']} ({100 * row['handed_over_fraction']:.2f} %) {row['reasons']} "
        f"[{row['seconds']} s]",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", default="contrib,samples,strata,hostile")
    parser.add_argument("--samples-csv", action="append", default=[], metavar="DATASET=PATH")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pairs per file/source")
    parser.add_argument("--out", type=Path, help="write the per-source results as JSON")
    args = parser.parse_args(argv)
    fast, ref = FastMatcher(0.3, 0.5, 10.0), StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    results = {}
    for name, pairs in sources(args):
        results[name] = check(name, pairs, fast, ref)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    total = {
        k: sum(r[k] for r in results.values()) for k in ("pairs", "disagreements", "value_mismatches", "handed_over")
    }
    total["max_rel_diff"] = max((r["max_rel_diff"] for r in results.values()), default=0.0)
    total["lll_fallbacks"] = fast.counters.lll_fallbacks
    print("total", json.dumps(total))
    if args.out:
        args.out.write_text(json.dumps(results | {"total": total}, indent=1))
    return 0 if total["disagreements"] == 0 and total["value_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
