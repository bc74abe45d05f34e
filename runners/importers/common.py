"""Shared pieces of the importers: pairing rows with benchmark ids, building structures, assembling predictions."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from pymatgen.core import Composition, Lattice, Structure

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.sources import sha256_of
from atomgenbench.benchmarks.atomgen.structures import to_poscar
from atomgenbench.core.errors import PredictionsError

ABSENT = "absent from the imported file"

csv.field_size_limit(1 << 30)  # CIF / POSCAR columns can be long


class ImportFormatError(PredictionsError):
    """An input file that does not line up with the benchmark (message names file, row and problem)."""


def read_test_csv_ids(path: str | Path) -> list[str]:
    """``material_id`` column of a CDVAE/FlowMM ``test.csv``, in row order."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            column = next((c for c in ("material_id", "id") if c in (reader.fieldnames or [])), None)
            if column is None:
                raise ImportFormatError(f"{path}: no 'material_id' column (columns: {reader.fieldnames})")
            ids = []
            for lineno, row in enumerate(reader, start=2):
                value = (row.get(column) or "").strip()
                if not value:
                    raise ImportFormatError(f"{path}: row {lineno}: empty {column}")
                ids.append(value)
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    return ids


def require_test_ids(data: BenchmarkData, ids: Sequence[str], source: str) -> None:
    """Every id must be a test id of the benchmark, and none may repeat."""
    seen: set[str] = set()
    test = set(data.test_ids)
    unknown = []
    for row, key in enumerate(ids, start=1):
        if key in seen:
            raise ImportFormatError(f"{source}: entry {row}: duplicate id {key!r}")
        seen.add(key)
        if key not in test:
            unknown.append(f"{key} (entry {row})")
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ImportFormatError(
            f"{source}: {len(unknown)} id(s) are not test ids of {data.name}: {', '.join(unknown[:5])}{more}; "
            "is this output for another benchmark or split?"
        )


def check_count(n_rows: int, n_items: int, rows_source: str, items_source: str) -> None:
    if n_rows != n_items:
        raise ImportFormatError(
            f"{items_source} holds {n_items} crystals but {rows_source} has {n_rows} ids; "
            "they must be the same test set in the same order"
        )


def build_structure(lattice: np.ndarray | Lattice, numbers: Iterable[int], frac: np.ndarray) -> Structure:
    """A validated structure from a lattice, atomic numbers and fractional coordinates (ValueError if invalid)."""
    numbers = [int(z) for z in numbers]
    frac = np.asarray(frac, dtype=float)
    lat = lattice if isinstance(lattice, Lattice) else Lattice(np.asarray(lattice, dtype=float))
    if not numbers:
        raise ValueError("no atoms")
    if not (np.all(np.isfinite(lat.matrix)) and np.all(np.isfinite(frac))):
        raise ValueError("non-finite lattice or coordinates")
    bad = [z for z in numbers if not 1 <= z <= 118]
    if bad:
        raise ValueError(f"atomic number(s) out of range: {bad[:5]}")
    if not lat.volume > 1e-8 or not np.isfinite(lat.volume):
        raise ValueError(f"non-positive cell volume ({lat.volume:.4g})")
    return Structure(lat, numbers, frac % 1.0)


def check_compositions(
    data: BenchmarkData, rows: list[tuple[str, Structure | None]], source: str, pairing: str
) -> None:
    """Predicted compositions must equal the paired targets' (CDVAE/FlowMM force the composition).

    A mismatch means rows and ids are misaligned; raise naming the first offenders.
    """
    bad = []
    for row, (key, s) in enumerate(rows, start=1):
        if s is None:
            continue
        want = data.structure(key).composition.reduced_composition
        if s.composition.reduced_composition != want:
            bad.append(f"entry {row} ({key}): predicted {s.composition.reduced_formula}, target {want.reduced_formula}")
    if bad:
        raise ImportFormatError(
            f"{source}: {len(bad)} of {len(rows)} predictions have a different composition than the test crystal "
            f"they are paired with ({pairing}); first: {'; '.join(bad[:3])}. Check that the test CSV is the one "
            "the model was evaluated on, or pass --no-composition-check if the model does not fix the composition"
        )


def formula_matches(formula: str, structure: Structure) -> bool:
    try:
        return Composition(formula).reduced_composition == structure.composition.reduced_composition
    except Exception:
        return False


def assemble(
    data: BenchmarkData,
    model: str,
    results: dict[str, tuple[str, str | None]],
    *,
    conditioning: str,
    source: Path,
    extra: dict,
) -> Predictions:
    """Predictions with one row per benchmark test id; ids the file lacks become failures."""
    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    for key in data.test_ids:
        poscar, reason = results.get(key, ("", ABSENT))
        structures[key] = poscar
        if not poscar:
            failures[key] = reason or "empty prediction"
    return Predictions(
        benchmark=data.name,
        model=model,
        structures=structures,
        failures=failures,
        conditioning=conditioning,
        extra={
            "imported_from": str(source),
            "source_sha256": sha256_of(source),
            "absent_ids": sum(1 for k in data.test_ids if k not in results),
            **extra,
        },
    )


def poscar_or_failure(make) -> tuple[tuple[str, str | None], Structure | None]:
    """Run ``make()`` -> Structure; return ((poscar, None), s) or (("", reason), None)."""
    try:
        s = make()
        return (to_poscar(s), None), s
    except Exception as exc:
        return ("", f"invalid prediction: {exc}"), None
