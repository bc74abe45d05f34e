"""Read predictions in every supported format into one :class:`Predictions` object.

Supported inputs (the ``target`` column of a leaderboard file is always ignored;
targets come from the benchmark itself):

* a leaderboard ``.csv`` / ``.csv.zip`` with header ``id,target,prediction``
  (POSCAR predictions with newlines escaped as ``\\n``, jarvis or pymatgen dialect);
* the toolkit's standardized predictions folder, or its ``predictions.csv``;
* a folder of CIF / POSCAR files named by id (``<id>.cif``, ``<id>.vasp``,
  ``<id>.poscar`` or ``<id>`` with no suffix);
* an ``.extxyz`` file whose frames carry the id in ``info["id"]`` (needs ``ase``).

Malformed input raises :class:`InputError` naming the file and row. A single
prediction that cannot be read becomes a recorded failure instead.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import CSV_NAME, Predictions, PredictionsFormatError
from atomgenbench.benchmarks.atomgen.structures import to_poscar, unescape
from atomgenbench.errors import PredictionsError

STRUCTURE_SUFFIXES = {".cif", ".vasp", ".poscar", ".txt", ""}
LEADERBOARD_HEADERS = (("id", "target", "prediction"), ("id", "prediction", "target"), ("id", "prediction"))


class InputError(PredictionsError):
    """A predictions input that cannot be read (message names file, row and problem)."""


def load_predictions(path: str | Path, benchmark: str) -> Predictions:
    """Read predictions for ``benchmark`` from ``path`` (any supported format).

    Returns ``Predictions`` whose ``structures`` maps each id present in the input
    to POSCAR text with real newlines (``""`` for a failure) and whose ``failures``
    gives the reason of each failure.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    model = _model_name(path)
    if path.is_dir():
        if (path / CSV_NAME).is_file():
            return _read_standardized(path, benchmark)
        structures, failures = _read_structure_folder(path)
    elif path.name == CSV_NAME:
        return _read_standardized(path, benchmark)
    elif path.suffix.lower() == ".extxyz" or path.name.lower().endswith(".xyz"):
        structures, failures = _read_extxyz(path)
    elif path.name.lower().endswith((".csv", ".csv.zip")):
        rows = read_leaderboard_rows(path)
        structures, failures = {}, {}
        for key, pred in rows.items():
            structures[key] = unescape(pred) if pred.strip() else ""
            if not pred.strip():
                failures[key] = "empty prediction"
    else:
        raise InputError(
            f"{path}: unsupported input; expected a .csv/.csv.zip, a predictions folder, "
            "a folder of CIF/POSCAR files or an .extxyz file"
        )
    return Predictions(benchmark=benchmark, model=model, structures=structures, failures=failures)


def load_float_predictions(path: str | Path) -> tuple[dict[str, float], dict[str, str]]:
    """Read a lattice-parameter leaderboard file: (id -> finite float, id -> failure reason)."""
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    for key, raw in read_leaderboard_rows(path).items():
        try:
            value = float(raw)
        except ValueError:
            failures[key] = f"prediction {raw!r} is not a number"
            continue
        if not math.isfinite(value):
            failures[key] = f"prediction {raw!r} is not finite"
            continue
        values[key] = value
    return values, failures


def read_leaderboard_rows(path: str | Path) -> dict[str, str]:
    """``id -> prediction`` (raw cell text) of a leaderboard ``.csv`` or single-member ``.csv.zip``."""
    path = Path(path)
    text = _read_csv_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputError(f"{path}: row 1: empty file")
    header = tuple(h.strip().lower() for h in rows[0])
    if header not in LEADERBOARD_HEADERS:
        raise InputError(f"{path}: row 1: header must be 'id,target,prediction', got {','.join(rows[0])!r}")
    i_id, i_pred = header.index("id"), header.index("prediction")
    out: dict[str, str] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{path}: row {lineno}: expected {len(header)} fields, got {len(row)} "
                "(a POSCAR must be on one line with newlines written as \\n)"
            )
        key = row[i_id].strip()
        if not key:
            raise InputError(f"{path}: row {lineno}: empty id")
        if key in out:
            raise InputError(f"{path}: row {lineno}: duplicate id {key!r}")
        out[key] = row[i_pred]
    return out


def _read_csv_text(path: Path) -> str:
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise InputError(f"{path}: a .csv.zip must hold exactly one CSV member, found {members}")
                data = zf.read(members[0])
        else:
            data = path.read_bytes()
        return data.decode("utf-8-sig")
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a zip archive") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; expected a leaderboard .csv/.csv.zip (id,target,prediction)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from None


def _read_standardized(path: Path, benchmark: str) -> Predictions:
    try:
        preds = Predictions.read(path, benchmark=benchmark)
    except PredictionsFormatError as exc:
        raise InputError(str(exc)) from None
    preds.benchmark = benchmark
    return preds


def _read_structure_folder(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    from pymatgen.core import Structure

    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    seen: dict[str, Path] = {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    for file in files:
        suffix = file.suffix.lower()
        if suffix not in STRUCTURE_SUFFIXES:
            continue
        key = file.stem if suffix else file.name
        if key in seen:
            raise InputError(f"{file}: duplicate id {key!r} (also {seen[key].name})")
        seen[key] = file
        text = file.read_text(encoding="utf-8", errors="replace")
        if suffix == ".cif":
            try:
                text = to_poscar(Structure.from_str(text, fmt="cif"))
            except Exception as exc:  # pymatgen raises assorted errors on bad CIFs
                structures[key], failures[key] = "", f"unreadable CIF {file.name} ({type(exc).__name__}: {exc})"
                continue
        structures[key] = text
    if not seen:
        raise InputError(f"{folder}: no {CSV_NAME} and no CIF/POSCAR files named by id")
    return structures, failures


def _read_extxyz(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    try:
        from ase.io import iread
        from pymatgen.io.ase import AseAtomsAdaptor
    except ImportError:
        raise InputError(f"{path}: reading extxyz needs the 'ase' package (pip install ase)") from None
    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    try:
        for index, atoms in enumerate(iread(str(path), format="extxyz")):
            key = next((str(atoms.info[k]) for k in ("id", "name", "material_id") if k in atoms.info), None)
            if key is None:
                raise InputError(f"{path}: frame {index + 1}: no 'id' in the comment line")
            if key in structures:
                raise InputError(f"{path}: frame {index + 1}: duplicate id {key!r}")
            try:
                structures[key] = to_poscar(AseAtomsAdaptor.get_structure(atoms))
            except Exception as exc:  # e.g. no cell
                structures[key], failures[key] = "", f"unusable frame ({type(exc).__name__}: {exc})"
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: not a readable extxyz file ({type(exc).__name__}: {exc})") from None
    return structures, failures


def _model_name(path: Path) -> str:
    """Best guess of a model label: the contribution folder of a leaderboard file, else the name."""
    if path.is_file() and path.name.endswith(".csv.zip"):
        return path.parent.name
    if path.name == CSV_NAME:
        return path.parent.name
    return path.stem if path.is_file() else path.name
