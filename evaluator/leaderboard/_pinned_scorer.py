"""The leaderboard's AtomGen RMSE, run inside the pinned leaderboard environment.

This file is executed *by path* with the python of the isolated environment that
:mod:`atomgenbench.evaluator.leaderboard.pinned_env` builds (pymatgen 2024.3.1, numpy 1.26.4,
pandas 2.2.1, jarvis-tools 2024.3.4, scipy 1.13.0rc1). It imports only the standard
library and those pinned packages, never atomgenbench. Everything crosses the
boundary as JSON lines; no pickles.

The per-row work is the leaderboard's own (atomgptlab/jarvis_leaderboard
``rebuild.py`` at 7fbfa84a): both POSCARs go through
``Poscar.from_string(text.replace("\\\\n", "\\n")).atoms.pymatgen_converter()`` and one
``StructureMatcher(stol=0.5, angle_tol=10, ltol=0.3)`` gives ``get_rms_dist(pred,
target)``; a row counts when that is not ``None`` and contributes its first value;
the score is ``round(np.array(rms).mean(), 4)`` in file order.

Modes:

``--probe``
    print ``{"python", "executable", "versions": {dist: version}}`` after importing
    everything the scorer needs (a broken environment fails here).
``--score ROWS.jsonl [--ltol L --stol S --angle-tol A]``
    read ``{"id", "prediction", "target"}`` per line; print one line per row,
    ``{"id", "rms": float | null}`` or ``{"id", "error": "Type: message"}``, flushed
    as it goes (the caller names the row a crash stopped at).
``--mean``
    read a JSON list of floats on stdin; print ``{"value": round(mean, 4) | null, "n"}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings

#: distributions reported by --probe
PROBED = ("pymatgen", "numpy", "pandas", "jarvis-tools", "scipy", "spglib", "monty")


def probe() -> dict:
    from importlib import metadata

    import jarvis.io.vasp.inputs  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pymatgen.analysis.structure_matcher  # noqa: F401
    import scipy  # noqa: F401

    versions = {}
    for name in PROBED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "executable": sys.executable, "versions": versions}


def _structure(text: str):
    from jarvis.io.vasp.inputs import Poscar

    return Poscar.from_string(text.replace("\\n", "\n")).atoms.pymatgen_converter()


def score(path: str, ltol: float, stol: float, angle_tol: float) -> int:
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(stol=stol, angle_tol=angle_tol, ltol=ltol)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            out: dict = {"id": row["id"]}
            try:
                target = _structure(row["target"])
                pred = _structure(row["prediction"])
                rms = matcher.get_rms_dist(pred, target)
                out["rms"] = None if rms is None else float(rms[0])
            except Exception as exc:  # the leaderboard has no try/except here: report the row, go on
                out["error"] = f"{type(exc).__name__}: {exc}"
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()
    return 0


def mean() -> dict:
    import numpy as np

    values = json.load(sys.stdin)
    if not values:
        return {"value": None, "n": 0}
    return {"value": float(round(np.array(values).mean(), 4)), "n": len(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--probe", action="store_true")
    mode.add_argument("--score", metavar="ROWS.jsonl")
    mode.add_argument("--mean", action="store_true")
    parser.add_argument("--ltol", type=float, default=0.3)
    parser.add_argument("--stol", type=float, default=0.5)
    parser.add_argument("--angle-tol", type=float, default=10.0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # library chatter would only fill the caller's stderr buffer
    if args.probe:
        print(json.dumps(probe()))
        return 0
    if args.mean:
        print(json.dumps(mean()))
        return 0
    return score(args.score, args.ltol, args.stol, args.angle_tol)


if __name__ == "__main__":
    sys.exit(main())
