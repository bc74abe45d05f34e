"""The standardized predictions format, written by runners and read by the evaluator.

A predictions folder holds two files:

``predictions.csv``
    columns ``id,prediction``; one row for *every* test id of the benchmark. The
    prediction is a jarvis-tools POSCAR with newlines escaped as ``\\n``, or empty
    when the model failed for that id.
``predictions.json``
    ``schema_version``, ``model``, ``preset``, ``seed``, ``benchmark``,
    ``toolkit_version``, ``time_taken_seconds`` (``{"fit": s, "reconstruct": s}``),
    ``failures`` (``{id: reason}`` for every empty prediction), ``conditioning`` and
    free-form ``extra`` (sampler settings, checkpoint, ...).

Both are written to temporary files and moved into place, so a reader never sees
half a file. This module is the single definition of the format.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.structures import escape, unescape
from atomgenbench.errors import PredictionsError

SCHEMA_VERSION = 1
CSV_NAME = "predictions.csv"
JSON_NAME = "predictions.json"
CSV_HEADER = ("id", "prediction")


class PredictionsFormatError(PredictionsError):
    """A predictions file that does not follow the standardized format."""


@dataclass
class Predictions:
    """Predictions of one model for one benchmark.

    ``structures`` maps every id to POSCAR text with real newlines, or ``""`` for a
    failure; ``failures`` gives the reason for each failure.
    """

    benchmark: str
    model: str
    structures: dict[str, str]
    failures: dict[str, str] = field(default_factory=dict)
    preset: str | None = None
    seed: int | None = None
    time_taken_seconds: dict[str, float] = field(default_factory=dict)
    conditioning: str | None = None
    toolkit_version: str | None = None
    extra: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        for key, text in self.structures.items():
            if not text and key not in self.failures:
                self.failures[key] = "no prediction"
        for key in self.failures:
            self.structures.setdefault(key, "")

    @property
    def ids(self) -> list[str]:
        return list(self.structures)

    def metadata(self) -> dict:
        meta = asdict(self)
        meta.pop("structures")
        return meta

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write ``predictions.csv`` and ``predictions.json`` atomically into ``out_dir``."""
        from atomgenbench.versions import __version__

        if self.toolkit_version is None:
            self.toolkit_version = __version__
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for key, text in self.structures.items():
            writer.writerow((key, escape(text) if text else ""))
        atomic_write_text(out / CSV_NAME, buf.getvalue())
        atomic_write_text(out / JSON_NAME, json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n")
        return out

    @classmethod
    def read(cls, path: str | os.PathLike, *, benchmark: str | None = None, model: str | None = None) -> Predictions:
        """Read a predictions folder, or a ``predictions.csv`` (its json beside it is optional)."""
        path = Path(path)
        csv_path = path / CSV_NAME if path.is_dir() else path
        json_path = csv_path.with_name(JSON_NAME)
        structures, failures = read_predictions_csv(csv_path)
        meta: dict = {}
        if json_path.is_file():
            try:
                meta = json.loads(json_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise PredictionsFormatError(f"{json_path}: invalid JSON ({exc})") from None
            except UnicodeDecodeError as exc:
                raise PredictionsFormatError(f"{json_path}: not UTF-8 text ({exc})") from None
            if not isinstance(meta, dict):
                raise PredictionsFormatError(f"{json_path}: must hold a JSON object, got {type(meta).__name__}")
        recorded = meta.get("failures") or {}
        if not isinstance(recorded, dict):
            raise PredictionsFormatError(
                f"{json_path}: 'failures' must map ids to reasons, got {type(recorded).__name__}"
            )
        for key in failures:
            failures[key] = recorded.get(key, failures[key])
        return cls(
            benchmark=benchmark or meta.get("benchmark") or "",
            model=model or meta.get("model") or csv_path.parent.name,
            structures=structures,
            failures=failures,
            preset=meta.get("preset"),
            seed=meta.get("seed"),
            time_taken_seconds=meta.get("time_taken_seconds") or {},
            conditioning=meta.get("conditioning"),
            toolkit_version=meta.get("toolkit_version"),
            extra=meta.get("extra") or {},
            schema_version=meta.get("schema_version", SCHEMA_VERSION),
        )


def read_predictions_csv(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Parse ``predictions.csv``; return (id -> POSCAR text, id -> failure reason).

    Raises :class:`PredictionsFormatError` naming the file and row for a wrong
    header, a duplicate id or a row with the wrong number of fields.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictionsFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PredictionsFormatError(f"{path}: not UTF-8 text ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(h.strip() for h in rows[0]) != CSV_HEADER:
        got = ",".join(rows[0]) if rows else "(empty file)"
        raise PredictionsFormatError(f"{path}: row 1: header must be 'id,prediction', got {got!r}")
    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise PredictionsFormatError(f"{path}: row {lineno}: expected 2 fields, got {len(row)}")
        key, pred = row[0].strip(), row[1]
        if not key:
            raise PredictionsFormatError(f"{path}: row {lineno}: empty id")
        if key in structures:
            raise PredictionsFormatError(f"{path}: row {lineno}: duplicate id {key!r}")
        structures[key] = unescape(pred) if pred.strip() else ""
        if not pred.strip():
            failures[key] = "empty prediction"
    return structures, failures


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
