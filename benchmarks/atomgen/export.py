"""``data export``: what an external generator needs as input, in the benchmark's id order.

For each id of a split: the id, the conditioning a model gets (reduced formula in the
jarvis-tools convention, the composition of the reference cell, T_c in K where the
family has a T_c table) and, on request, the reference structure. Formats:

* ``csv``: ``<benchmark>-<split>.csv`` with ``id,formula,composition,n_atoms,tc`` (and
  ``poscar``, the benchmark's escaped jarvis POSCAR, with structures);
* ``json``: ``<benchmark>-<split>.json``, a list of records with the same keys (and
  ``structure``, a pymatgen ``Structure.as_dict()``); ``evaluate`` reads it back;
* ``extxyz``: ``<benchmark>-<split>.extxyz``, one frame per id with ``id``, ``formula``,
  ``composition`` and ``tc`` in its info (structures required);
* ``cif``: ``<id>.cif`` per id and ``conditioning.csv`` in the output folder
  (structures required).

Rows are in the benchmark file's order, the order ``--in-test-order`` assumes. Every
file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.registry import require_structure
from atomgenbench.benchmarks.atomgen.structures import escape
from atomgenbench.benchmarks.atomgen.tc import TC_PROVENANCE, tc_table
from atomgenbench.core.errors import UsageError
from atomgenbench.core.io import atomic_write_text

FORMATS = ("csv", "cif", "extxyz", "json")
#: formats that consist of structures and so need ``with_structures``
STRUCTURE_FORMATS = ("cif", "extxyz")
COLUMNS = ("id", "formula", "composition", "n_atoms", "tc")


@dataclass(frozen=True)
class ExportRow:
    """One id of the split with its conditioning (the same values :mod:`conditioning` gives models)."""

    id: str
    formula: str
    composition: dict[str, int]
    tc: float | None

    @property
    def n_atoms(self) -> int:
        return sum(self.composition.values())

    def composition_text(self) -> str:
        return " ".join(f"{el}{n}" for el, n in self.composition.items())


@dataclass
class ExportResult:
    benchmark: str
    split: str
    fmt: str
    n: int
    files: list[Path]
    tc_source: str


def export_rows(data: BenchmarkData, split: str) -> list[ExportRow]:
    """Conditioning of every id of ``split``, in file order."""
    from jarvis.core.composition import Composition

    table = tc_table(data.spec.family)
    rows = []
    for key in data.raw[split]:
        counts: dict[str, int] = {}
        for site in data.structure(key):
            counts[site.specie.symbol] = counts.get(site.specie.symbol, 0) + 1
        rows.append(ExportRow(key, Composition(counts).reduced_formula, counts, table.get(key)))
    return rows


def export_split(
    benchmark: str, out_dir: str | Path, *, split: str = "test", fmt: str = "csv", with_structures: bool = False
) -> ExportResult:
    """Write the ids, conditioning and (``with_structures``) reference structures of a split."""
    spec = require_structure(benchmark, "data export")
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if split not in spec.split_sizes:
        raise UsageError(f"{benchmark} has no {split!r} split; its splits are {', '.join(spec.split_sizes)}")
    with_structures = with_structures or fmt in STRUCTURE_FORMATS  # extxyz and cif are structures
    data = load_benchmark(benchmark)
    rows = export_rows(data, split)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{benchmark}-{split}"
    if fmt == "csv":
        files = [_write_csv(stem.with_suffix(".csv"), rows, data if with_structures else None)]
    elif fmt == "json":
        files = [_write_json(stem.with_suffix(".json"), rows, data if with_structures else None)]
    elif fmt == "extxyz":
        files = [_write_extxyz(stem.with_suffix(".extxyz"), rows, data)]
    else:
        files = [_write_csv(out / "conditioning.csv", rows, None)]
        for row in rows:
            path = out / f"{row.id}.cif"
            atomic_write_text(path, data.structure(row.id).to(fmt="cif"))
            files.append(path)
    return ExportResult(benchmark, split, fmt, len(rows), files, TC_PROVENANCE.get(spec.family, ""))


def _record(row: ExportRow) -> dict:
    return {"id": row.id, "formula": row.formula, "composition": row.composition, "n_atoms": row.n_atoms, "tc": row.tc}


def _write_csv(path: Path, rows: list[ExportRow], data: BenchmarkData | None) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS + (("poscar",) if data is not None else ()))
    for row in rows:
        cells = [row.id, row.formula, row.composition_text(), row.n_atoms, "" if row.tc is None else repr(row.tc)]
        if data is not None:
            cells.append(escape(data.text(row.id)))
        writer.writerow(cells)
    atomic_write_text(path, buf.getvalue())
    return path


def _write_json(path: Path, rows: list[ExportRow], data: BenchmarkData | None) -> Path:
    records = []
    for row in rows:
        record = _record(row)
        if data is not None:
            record["structure"] = data.structure(row.id).as_dict()
        records.append(record)
    atomic_write_text(path, "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")  # one record a line
    return path


def _write_extxyz(path: Path, rows: list[ExportRow], data: BenchmarkData) -> Path:
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    frames = []
    for row in rows:
        atoms = AseAtomsAdaptor.get_atoms(data.structure(row.id))
        atoms.info = {"id": row.id, "formula": row.formula, "composition": row.composition_text()}
        if row.tc is not None:
            atoms.info["tc"] = row.tc
        frames.append(atoms)
    buf = io.StringIO()
    write(buf, frames, format="extxyz")
    atomic_write_text(path, buf.getvalue())
    return path
