#!/usr/bin/env python
"""How far the input cell limits lie from every real crystal and every published prediction.

For each structure benchmark (all splits) and each prediction file of the official and committed
contributions, prints the longest lattice vector, the largest aspect ratio, the range of volume per
atom and the smallest flatness (volume / (a b c)), and counts the cells that
:func:`atomgenbench.benchmarks.atomgen.limits.cell_problem` would refuse (it must be 0 everywhere):

    ATOMGENBENCH_DATA=../shared/data python scripts/check_limits.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from jarvis.io.vasp.inputs import Poscar

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.limits import cell_problem
from atomgenbench.benchmarks.atomgen.registry import REGISTRY
from atomgenbench.benchmarks.atomgen.structures import unescape
from atomgenbench.evaluator.inputs.load import read_leaderboard_rows

REPO = Path(__file__).resolve().parents[1]


def cell(text: str) -> tuple[np.ndarray, int] | None:
    """(lattice rows, atom count) of a POSCAR text, or None when it does not parse or is empty."""
    try:
        atoms = Poscar.from_string(unescape(str(text))).atoms
    except Exception:
        return None
    n = len(atoms.elements)
    return (np.asarray(atoms.lattice_mat, float), n) if n else None


def summary(label: str, texts) -> int:
    lengths, aspects, per_atom, flat, refused = [], [], [], [], 0
    for text in texts:
        got = cell(text)
        if got is None:
            continue
        m, n = got
        norms = np.linalg.norm(m, axis=1)
        volume = abs(float(np.linalg.det(m)))
        if norms.min() <= 0 or volume <= 0:
            continue  # degenerate: refused by the parser before the limits
        lengths.append(norms.max())
        aspects.append(norms.max() / norms.min())
        per_atom.append(volume / n)
        flat.append(volume / float(np.prod(norms)))
        refused += cell_problem(m, n) is not None
    print(
        f"| {label} | {len(lengths)} | {max(lengths):.1f} | {max(aspects):.2f} | "
        f"{min(per_atom):.2f}-{max(per_atom):.1f} | {min(flat):.3f} | {refused} |"
    )
    return refused


def main() -> int:
    print("| source | cells | longest vector (Å) | largest aspect | volume/atom (Å³) | smallest flatness | refused |")
    print("|---|---|---|---|---|---|---|")
    refused = 0
    for name, spec in REGISTRY.items():
        if spec.kind == "structure":
            refused += summary(name, (t for split in load_splits(name).values() for t in split.values()))
    data = Path(os.environ.get("ATOMGENBENCH_DATA", REPO.parent / "shared" / "data"))
    files = sorted((data / "jarvis_leaderboard" / "contributions").glob("*/*rmse.csv.zip"))
    files += sorted((REPO / "submissions").glob("*/*rmse.csv.zip"))
    for path in files:
        refused += summary(f"{path.parent.name}/{path.name}", read_leaderboard_rows(path).values())
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
