"""(prediction, target) pairs for checking and timing the fast StructureMatcher.

Sources (each yields ``(label, prediction Structure, target id, target Structure)``):

* :func:`contribution_pairs`: every structure (``rmse``) file of the three contributions in the
  data mirror and of every folder in ``submissions/``, on both datasets; targets from the
  benchmark JSON (``atomgenbench.benchmarks``), as the leaderboard reads them;
* :func:`sample_pairs`: a ``predictions.csv`` of ``atomgenbench run ... --samples K`` (every sample);
* :func:`strata_pairs`: training × test crystals of equal reduced formula (the leakage-strata sweep);
* :func:`hostile_pairs`: built cases: near-singular cells, 1-atom cells, 60°/120° cells and pairs
  placed on the ltol, angle_tol and stol edges (found by bisection on pymatgen's own decision).
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.core.structure_matcher import StructureMatcher

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"dft_3d": "dft_3d_Tc_supercon", "alex": "alex_supercon_Tc"}
FILE_KEY = {"dft_3d": "Tc_supercon-dft_3d", "alex": "Tc-alex_supercon"}
csv.field_size_limit(1 << 30)

Pair = tuple[str, Structure, str, Structure]
PEROVSKITE_O = ([0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5])


def mirror() -> Path:
    return Path(os.environ.get("ATOMGENBENCH_DATA") or REPO.parent / "shared" / "data")


def contribution_files(dataset: str) -> list[Path]:
    """The structure files of every contribution (mirror) and submission (repository) for ``dataset``."""
    name = f"AI-AtomGen-{FILE_KEY[dataset]}-test-rmse.csv.zip"
    roots = [mirror() / "jarvis_leaderboard" / "contributions", REPO / "submissions"]
    return sorted(p for root in roots for p in root.glob(f"*/{name}"))


def read_rows(path: Path) -> list[dict]:
    """Rows of a leaderboard csv.zip (``id,target,prediction``) or of a plain ``predictions.csv``."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return list(csv.DictReader(io.TextIOWrapper(zf.open(zf.namelist()[0]), encoding="utf-8")))
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _parsed(text: str) -> Structure | None:
    try:
        return parse_poscar(text)
    except StructureParseError:
        return None


def _pairs_of_rows(label: str, rows: list[dict], dataset: str, limit: int | None) -> Iterator[Pair]:
    bench = load_benchmark(DATASETS[dataset])
    test = set(bench.test_ids)
    rows = [r for r in rows if r["id"] in test]
    if limit is not None and len(rows) > limit:
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).astype(int)]
    for row in rows:
        pred = _parsed(row["prediction"])
        if pred is not None:
            yield label, pred, row["id"], bench.structure(row["id"])


def contribution_pairs(dataset: str, limit: int | None = None) -> Iterator[Pair]:
    """Every parseable row of every structure file of ``dataset`` (``limit``: rows per file, spread evenly)."""
    for path in contribution_files(dataset):
        yield from _pairs_of_rows(f"{path.parent.name}/{dataset}", read_rows(path), dataset, limit)


def sample_pairs(path: Path, dataset: str, limit: int | None = None) -> Iterator[Pair]:
    """Every sample of a ``run --samples K`` predictions.csv."""
    yield from _pairs_of_rows(f"{path.parent.name}", read_rows(path), dataset, limit)


def strata_pairs(dataset: str, limit: int | None = None) -> Iterator[Pair]:
    """Training × test pairs of equal reduced formula (``limit``: pairs, spread evenly)."""
    bench = load_benchmark(DATASETS[dataset])
    by_formula: dict[str, list[str]] = defaultdict(list)
    for key in bench.train_ids:
        by_formula[bench.structure(key).composition.reduced_formula].append(key)
    todo = [(t, k) for t in bench.test_ids for k in by_formula.get(bench.structure(t).composition.reduced_formula, [])]
    if limit is not None and len(todo) > limit:
        todo = [todo[i] for i in np.linspace(0, len(todo) - 1, limit).astype(int)]
    for test_id, train_id in todo:
        yield f"strata/{dataset}", bench.structure(train_id), test_id, bench.structure(test_id)


# -- hostile cases --------------------------------------------------------------------------------
def _cell(params, species, frac) -> Structure:
    return Structure(Lattice.from_parameters(*params), species, frac)


def _bases(rng: np.random.Generator) -> list[Structure]:
    """Awkward reference cells: 1-atom, hexagonal/rhombohedral (60°, 120°), near-singular, cubic."""
    out = [
        _cell((3.0, 3.0, 3.0, 90, 90, 90), ["Cu"], [[0, 0, 0]]),
        _cell((2.5, 2.5, 4.1, 90, 90, 120), ["Mg"], [[0.3, 0.2, 0.1]]),
        _cell((3.1, 3.1, 3.1, 60, 60, 60), ["Al"], [[0, 0, 0]]),
        _cell((3.2, 3.2, 5.1, 90, 90, 120), ["Mg", "Mg"], [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]),
        _cell((3.0, 3.0, 3.0, 60, 60, 60), ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
        _cell((4.0, 4.0, 4.0, 90, 90, 90), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        _cell(
            (3.9, 3.9, 3.9, 90, 90, 90),
            ["Sr", "Ti", "O", "O", "O"],
            [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        ),
        _cell(
            (2.9, 2.9, 6.3, 90, 90, 120), ["Nb", "Se", "Se"], [[0, 0, 0.25], [1 / 3, 2 / 3, 0.62], [1 / 3, 2 / 3, 0.88]]
        ),
        _cell((5.0, 5.0, 5.0, 179.0 / 2, 89.9, 120.0), ["Fe", "Co"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ]
    flat = Structure(Lattice([[4, 0, 0], [0, 4, 0], [2.0, 2.0, 0.04]]), ["Ga", "As"], [[0, 0, 0], [0.3, 0.6, 0.5]])
    needle = Structure(Lattice([[0.9, 0, 0], [0, 0.9, 0], [0, 0, 25.0]]), ["H", "H"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    sheared = Structure(Lattice([[3, 0, 0], [2.999, 0.05, 0], [0, 0, 3]]), ["Li"], [[0, 0, 0]])
    out += [flat, needle, sheared]
    for _ in range(4):  # random low-symmetry cells with 4-8 sites
        n = int(rng.integers(4, 9))
        p = rng.uniform([3, 3, 3, 70, 70, 70], [7, 7, 7, 110, 110, 110])
        out.append(_cell(p, list(rng.choice(["Ba", "Cu", "O"], n)), rng.random((n, 3))))
    return out


def _strained(s: Structure, strain: np.ndarray, shift: np.ndarray | float) -> Structure:
    return Structure(Lattice(s.lattice.matrix @ (np.eye(3) + strain)), s.species, s.frac_coords + shift)


def _moved(kind: str, base: Structure, direction: np.ndarray, moves: np.ndarray, x: float) -> Structure:
    """``base`` deformed by ``x`` along one kind of path towards a tolerance edge."""
    if kind == "ltol":  # stretch a, shrink b and c (volume scaling undoes the rest)
        return _strained(base, np.diag([x, -x / 2, -x / 2]), 0.0)
    if kind == "angle":  # shear a towards b
        return _strained(base, np.array([[0, x, 0], [0, 0, 0], [0, 0, 0]]), 0.0)
    if kind == "stol":  # displace the sites
        return _strained(base, np.zeros((3, 3)), x * moves)
    return _strained(base, x * direction / 3, x * moves)  # both


def _edge(kind, base, direction, moves, matcher: StructureMatcher, steps: int = 50) -> float | None:
    """The ``x`` in [0, 0.6] where pymatgen's decision on ``_moved(kind, ..., x)`` flips (bisection), if it does."""

    def matched(x: float) -> bool:
        return matcher.get_rms_dist(_moved(kind, base, direction, moves, x), base) is not None

    lo, hi = 0.0, 0.6
    ok_lo = matched(lo)
    if matched(hi) == ok_lo:
        return None
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if matched(mid) == ok_lo else (lo, mid)
    return (lo + hi) / 2


def hostile_pairs(limit: int | None = None, seed: int = 0) -> Iterator[Pair]:
    """Built pairs: perturbed copies of awkward cells, and pairs on the tolerance edges."""
    rng = np.random.default_rng(seed)
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    count = 0
    for b, base in enumerate(_bases(rng)):
        n = len(base)
        for scale in (0.0, 1e-9, 1e-4, 0.02, 0.1):  # near-identical to far
            pred = _strained(base, rng.normal(0, scale, (3, 3)), rng.normal(0, scale, (n, 3)))
            yield "hostile/perturbed", pred, f"base{b}", base
            count += 1
        for kind in ("ltol", "angle", "stol", "mixed"):
            direction, moves = rng.normal(0, 1, (3, 3)), rng.normal(0, 1, (n, 3))
            x = _edge(kind, base, direction, moves, matcher)
            if x is None:
                continue
            for dx in (-1e-6, -1e-9, -1e-12, 0.0, 1e-12, 1e-9, 1e-6):
                yield f"hostile/edge-{kind}", _moved(kind, base, direction, moves, x + dx), f"base{b}", base
                count += 1
        if limit is not None and count >= limit:
            return
