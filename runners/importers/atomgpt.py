"""Import AtomGPT outputs as standardized predictions.

Accepted inputs:

* the benchmark CSV AtomGPT writes (``id,target,prediction``, prediction an escaped
  POSCAR; ``id,prediction`` and a zipped CSV are accepted too). Rows are paired by
  id; the ``target`` column is ignored (targets come from the benchmark). The
  ``<stem>.misses.csv`` beside it (``id,stage,error,detail,...``), or the file given
  as ``misses``, turns its ids into failures with their recorded reason.
* ``out_inv.json`` of ``inverse_predict.py``: a list of ``{prompt, atoms}`` with jarvis
  ``Atoms.to_dict()`` structures and no ids. Entries are paired by row order with the
  ``material_id`` column of ``test_csv`` when given, else with the benchmark's test
  ids; the count must match, and the formula in each prompt must match its test
  crystal (which catches a shifted or shuffled order).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar, to_poscar, unescape
from atomgenbench.core.archives import ArchiveTooLarge, read_member
from atomgenbench.runners.importers.common import (
    ImportFormatError,
    assemble,
    check_count,
    formula_matches,
    read_test_csv_ids,
    require_test_ids,
)

FORMULA_RE = re.compile(r"chemical formula is\s+(\S+)\s*\.")


def _read_text(path: Path) -> str:
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise ImportFormatError(f"{path}: expected one member in the zip, found {names}")
                return read_member(zf, names[0]).decode("utf-8")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, UnicodeDecodeError, ArchiveTooLarge) as exc:
        raise ImportFormatError(f"{path}: unreadable ({exc})") from None


def default_misses_path(path: Path) -> Path:
    """``preds.csv`` -> ``preds.misses.csv`` (AtomGPT's naming)."""
    name = path.name[:-4] if path.name.endswith(".zip") else path.name
    stem = name[:-4] if name.endswith(".csv") else name
    return path.with_name(f"{stem}.misses.csv")


def read_misses(path: Path) -> dict[str, str]:
    """``{id: reason}`` from an AtomGPT ``.misses.csv``."""
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    if "id" not in (reader.fieldnames or []):
        raise ImportFormatError(f"{path}: no 'id' column (columns: {reader.fieldnames})")
    out = {}
    for row in reader:
        parts = [row.get(k) for k in ("stage", "error", "detail") if row.get(k)]
        out[row["id"].strip()] = "AtomGPT miss: " + (": ".join(parts) if parts else "no structure generated")
    return out


def read_prediction_csv(path: Path) -> list[tuple[str, str]]:
    """``[(id, escaped POSCAR)]`` in file order from an ``id,[target,]prediction`` CSV."""
    reader = csv.reader(io.StringIO(_read_text(path)))
    header = [h.strip() for h in next(reader, [])]
    if "id" not in header or "prediction" not in header:
        raise ImportFormatError(f"{path}: row 1: header must contain 'id' and 'prediction', got {header}")
    i_id, i_pred = header.index("id"), header.index("prediction")
    rows = []
    for lineno, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ImportFormatError(f"{path}: row {lineno}: expected {len(header)} fields, got {len(row)}")
        rows.append((row[i_id].strip(), row[i_pred]))
    return rows


def _from_csv(path: Path, data: BenchmarkData, misses: Path | None) -> tuple[dict, dict]:
    rows = read_prediction_csv(path)
    require_test_ids(data, [k for k, _ in rows], str(path))
    results: dict[str, tuple[str, str | None]] = {}
    for key, text in rows:
        if not text.strip():
            results[key] = ("", "empty prediction in the AtomGPT CSV")
            continue
        try:
            parse_poscar(text)  # validate; keep the file's own text so scores match the original exactly
            results[key] = (unescape(text), None)
        except StructureParseError as exc:
            results[key] = ("", f"unparseable prediction: {exc}")
    misses_path = misses or default_misses_path(path)
    n_miss = 0
    if misses_path.is_file():
        for key, reason in read_misses(misses_path).items():
            if key in set(data.test_ids) and not results.get(key, ("", None))[0]:
                results[key] = ("", reason)
                n_miss += 1
    elif misses is not None:
        raise ImportFormatError(f"{misses}: no such file")
    return results, {
        "pairing": "by id",
        "misses_file": str(misses_path) if misses_path.is_file() else None,
        "misses": n_miss,
    }


def _from_out_inv(path: Path, data: BenchmarkData, test_csv: Path | None) -> tuple[dict, dict]:
    from jarvis.core.atoms import Atoms

    try:
        entries = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: invalid JSON ({exc})") from None
    except RecursionError:
        raise ImportFormatError(f"{path}: invalid JSON (nested too deeply)") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "atoms" in e for e in entries):
        raise ImportFormatError(f"{path}: expected a list of {{prompt, atoms}} objects (out_inv.json)")
    ids = read_test_csv_ids(test_csv) if test_csv else data.test_ids
    source = str(test_csv) if test_csv else f"the test ids of {data.name}"
    check_count(len(ids), len(entries), source, str(path))
    require_test_ids(data, ids, source)
    results: dict[str, tuple[str, str | None]] = {}
    for row, (key, entry) in enumerate(zip(ids, entries), start=1):
        m = FORMULA_RE.search(str(entry.get("prompt", "")))
        if m and not formula_matches(m.group(1), data.structure(key)):
            raise ImportFormatError(
                f"{path}: entry {row}: prompt formula {m.group(1)} does not match {key} "
                f"({data.structure(key).composition.reduced_formula}); the order does not line up with {source}"
            )
        try:
            s = Atoms.from_dict(entry["atoms"]).pymatgen_converter()
            results[key] = (to_poscar(s), None)
        except Exception as exc:
            results[key] = ("", f"invalid structure in out_inv.json: {type(exc).__name__}: {exc}")
    return results, {"pairing": f"row order of {source}"}


def import_atomgpt(
    path: str | Path,
    benchmark: str,
    *,
    test_csv: str | Path | None = None,
    misses: str | Path | None = None,
    data: BenchmarkData | None = None,
) -> Predictions:
    """Standardized predictions from an AtomGPT benchmark CSV (by id) or ``out_inv.json`` (by order)."""
    path = Path(path)
    data = data or load_benchmark(benchmark)
    if path.name.endswith(".json"):
        results, extra = _from_out_inv(path, data, Path(test_csv) if test_csv else None)
    else:
        results, extra = _from_csv(path, data, Path(misses) if misses else None)
    return assemble(
        data, "atomgpt", results, conditioning="composition+tc", source=path, extra={"importer": "atomgpt", **extra}
    )
