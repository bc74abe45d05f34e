"""The standardized predictions format, written by runners and read by the evaluator.

A predictions folder holds two files:

``predictions.csv``
    columns ``id,sample,prediction``; one row per sample (0 … K−1) of *every* test id
    of the benchmark. The prediction is a jarvis-tools POSCAR with newlines escaped as
    ``\\n``, or empty when the model failed for that id and sample. Version 1 files
    (``id,prediction``, one sample) are still read.
``predictions.json``
    ``schema_version``, ``model``, ``preset``, ``seed``, ``benchmark``,
    ``toolkit_version``, ``time_taken_seconds`` (``{"fit": s, "reconstruct": s}``),
    ``failures`` (``{id: reason}`` for every empty sample-0 prediction),
    ``sample_failures`` (``{sample: {id: reason}}`` for samples ≥ 1), ``samples`` (K),
    ``sampling`` (how each sample is seeded), ``conditioning`` and free-form ``extra``
    (sampler settings, checkpoint, ...).

Both are written to temporary files and moved into place, so a reader never sees
half a file. This module is the single definition of the format.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.structures import escape, unescape
from atomgenbench.core.errors import PredictionsError
from atomgenbench.core.io import atomic_write_text

SCHEMA_VERSION = 2
CSV_NAME = "predictions.csv"
JSON_NAME = "predictions.json"
CSV_HEADER = ("id", "sample", "prediction")
CSV_HEADER_V1 = ("id", "prediction")
#: example ids shown in messages
EXAMPLE_IDS = 3


class PredictionsFormatError(PredictionsError):
    """A predictions file that does not follow the standardized format."""


@dataclass
class Predictions:
    """Predictions of one model for one benchmark.

    ``structures`` maps every id to the POSCAR text (real newlines) of its sample 0, or
    ``""`` for a failure; ``failures`` gives the reason for each failure. A run with
    ``samples`` = K > 1 holds samples 1 … K−1 in ``more_samples[s]`` (``{id: POSCAR or ""}``)
    with their reasons in ``more_failures[s]``. Everything that takes one structure per id
    (the leaderboard files, the single-sample metrics) uses sample 0.
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
    samples: int = 1
    sampling: str | None = None
    more_samples: dict[int, dict[str, str]] = field(default_factory=dict)
    more_failures: dict[int, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _fill_failures(self.structures, self.failures)
        self.samples = max(int(self.samples), 1 + max(self.more_samples, default=0))
        for s in range(1, self.samples):
            structures = self.more_samples.setdefault(s, {})
            failures = self.more_failures.setdefault(s, {})
            for key in self.structures:
                if key not in structures and key not in failures:
                    failures[key] = "no prediction for this sample"
            _fill_failures(structures, failures)

    def sample(self, s: int) -> dict[str, str]:
        """``{id: POSCAR or ""}`` of sample ``s`` (0 … ``samples`` − 1)."""
        return self.structures if s == 0 else self.more_samples[s]

    @property
    def ids(self) -> list[str]:
        return list(self.structures)

    def metadata(self) -> dict:
        meta = asdict(self)
        for key in ("structures", "more_samples", "more_failures"):
            meta.pop(key)
        meta["sample_failures"] = {str(s): dict(f) for s, f in sorted(self.more_failures.items()) if f}
        return meta

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write ``predictions.csv`` and ``predictions.json`` atomically into ``out_dir``."""
        from atomgenbench.core.versions import __version__

        if self.toolkit_version is None:
            self.toolkit_version = __version__
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for key in self.structures:
            for s in range(self.samples):
                text = self.sample(s).get(key, "")
                writer.writerow((key, s, escape(text) if text else ""))
        atomic_write_text(out / CSV_NAME, buf.getvalue())
        atomic_write_text(out / JSON_NAME, json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n")
        return out

    @classmethod
    def read(cls, path: str | os.PathLike, *, benchmark: str | None = None, model: str | None = None) -> Predictions:
        """Read a predictions folder, or a ``predictions.csv`` (its json beside it is optional)."""
        path = Path(path)
        csv_path = path / CSV_NAME if path.is_dir() else path
        json_path = csv_path.with_name(JSON_NAME)
        by_sample, failures_by_sample = read_predictions_csv_samples(csv_path)
        structures, failures = by_sample.get(0, {}), failures_by_sample.get(0, {})
        meta: dict = {}
        if json_path.is_file():
            try:
                meta = json.loads(json_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise PredictionsFormatError(f"{json_path}: invalid JSON ({exc})") from None
            except RecursionError:
                raise PredictionsFormatError(f"{json_path}: invalid JSON (nested too deeply)") from None
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
        sample_failures = meta.get("sample_failures") or {}
        if not isinstance(sample_failures, dict):
            raise PredictionsFormatError(f"{json_path}: 'sample_failures' must map samples to {{id: reason}}")
        for s, found in failures_by_sample.items():
            given = sample_failures.get(str(s)) or {}
            for key in found:
                found[key] = given.get(key, found[key]) if isinstance(given, dict) else found[key]
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
            samples=max(len(by_sample), 1),
            sampling=meta.get("sampling"),
            more_samples={s: v for s, v in by_sample.items() if s},
            more_failures={s: v for s, v in failures_by_sample.items() if s},
        )


def _fill_failures(structures: dict[str, str], failures: dict[str, str]) -> None:
    for key, text in structures.items():
        if not text and key not in failures:
            failures[key] = "no prediction"
    for key in failures:
        structures.setdefault(key, "")


def read_predictions_csv(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Parse ``predictions.csv``; return sample 0 as (id -> POSCAR text, id -> failure reason)."""
    structures, failures = read_predictions_csv_samples(path)
    return structures.get(0, {}), failures.get(0, {})


def read_predictions_csv_samples(path: Path) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """Parse ``predictions.csv`` (v2 ``id,sample,prediction`` or v1 ``id,prediction``).

    Returns ``{sample: {id: POSCAR text}}`` and ``{sample: {id: failure reason}}``. Raises
    :class:`PredictionsFormatError` naming the file and every bad row (a wrong header,
    duplicate or empty ids, a bad sample number, samples that are not 0 … K−1 for every
    id, rows with the wrong number of fields).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictionsFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PredictionsFormatError(f"{path}: not UTF-8 text ({exc})") from None
    table = parse_csv(text, str(path), headers=(CSV_HEADER, CSV_HEADER_V1), lenient=True)
    table.raise_errors()
    structures: dict[int, dict[str, str]] = {}
    failures: dict[int, dict[str, str]] = {}
    for row in table.rows:
        structures.setdefault(row.sample, {})[row.id] = unescape(row.prediction) if row.prediction.strip() else ""
        if not row.prediction.strip():
            failures.setdefault(row.sample, {})[row.id] = "empty prediction"
    k = len(structures)
    if sorted(structures) != list(range(k)):
        raise PredictionsFormatError(f"{path}: samples must be numbered 0 … K−1, got {sorted(structures)[:10]}")
    ids = list(structures.get(0, {}))
    for s in range(1, k):
        if set(structures[s]) != set(ids):
            odd = sorted(set(ids) ^ set(structures[s]))
            raise PredictionsFormatError(
                f"{path}: sample {s} does not cover the same ids as sample 0 ({len(odd)} differ, e.g. "
                f"{_examples(odd)}); write every sample of every id (an empty prediction is a failure)"
            )
    return structures, failures


# --------------------------------------------------------------------------- CSV reading

#: the leaderboard's CSV header, and the column orders a lenient read also accepts
LEADERBOARD_HEADER = ("id", "target", "prediction")
LEADERBOARD_HEADERS = (LEADERBOARD_HEADER, ("id", "prediction", "target"), ("id", "prediction"))
#: problems of one kind that are listed before "... and N more"
MAX_PROBLEMS_PER_KIND = 20


@dataclass(frozen=True)
class CsvRow:
    """One data row; ``line`` is its 1-based line number in the file (the header is line 1)."""

    line: int
    id: str
    target: str
    prediction: str
    sample: int = 0


@dataclass
class CsvTable:
    """What :func:`parse_csv` read: the rows, every problem (capped per kind) and warnings."""

    source: str
    rows: list[CsvRow] = field(default_factory=list)
    #: (line or None, message), at most :data:`MAX_PROBLEMS_PER_KIND` per kind
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: kind -> number of problems of that kind not listed in ``errors``
    omitted: dict[str, int] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def add(self, line: int | None, kind: str, message: str) -> None:
        """Record one problem; past the cap of its kind only count it."""
        self._counts[kind] = self._counts.get(kind, 0) + 1
        if self._counts[kind] <= MAX_PROBLEMS_PER_KIND:
            self.errors.append((line, message))
        else:
            self.omitted[kind] = self.omitted.get(kind, 0) + 1

    @property
    def ok(self) -> bool:
        return not self.errors

    def problem_lines(self) -> list[str]:
        """``row N: message`` per listed problem, then one ``... and N more`` line per capped kind."""
        lines = [f"row {line}: {msg}" if line is not None else msg for line, msg in self.errors]
        lines += [f"... and {n} more {kind} problem(s)" for kind, n in self.omitted.items()]
        return lines

    def raise_errors(self, error: type[Exception] = PredictionsFormatError) -> None:
        """Raise ``error`` listing every problem (one line each) when there is any."""
        if not self.errors:
            return
        lines = self.problem_lines()
        if len(lines) == 1:
            raise error(f"{self.source}: {lines[0]}")
        total = len(self.errors) + sum(self.omitted.values())
        raise error(f"{self.source}: {total} problems:\n  " + "\n  ".join(lines))


def parse_csv(
    text: str,
    source: str,
    *,
    headers: tuple[tuple[str, ...], ...] = (LEADERBOARD_HEADER,),
    lenient: bool = False,
) -> CsvTable:
    """Read CSV ``text`` whose header is one of ``headers``; collect every problem instead of stopping.

    The one CSV reader of atomgenbench. Both modes require a known header, the same
    number of fields on every row, and a non-empty id that occurs once.

    * strict (``lenient=False``, what ``validate`` enforces on leaderboard files): no
      byte-order mark, LF line endings (CRLF throughout is a warning), the header
      exactly as written in ``headers[0]``, no blank lines, no quoted fields.
    * lenient (``lenient=True``, what the leaderboard's own pandas reader accepts, used
      by ``evaluate``): a byte-order mark and any line endings are fine, the header is
      matched case- and space-insensitively against every entry of ``headers``,
      blank lines are skipped and quoted fields are read as CSV quoting.

    The ``target`` field of a row is ``""`` when the header has no ``target`` column.
    """
    table = CsvTable(source)
    text = _normalise_text(text, table, lenient)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not "".join(lines).strip():
        table.add(1, "header", "empty file; the first line must be the header " + repr(",".join(headers[0])))
        return table
    header = _header(lines[0], headers, lenient)
    if header is None:
        want = " or ".join(repr(",".join(h)) for h in (headers if lenient else headers[:1]))
        got = f"{lines[0][:80]!r}" + (f" ... ({len(lines[0]):,} characters)" if len(lines[0]) > 80 else "")
        table.add(1, "header", f"header must be {'exactly ' if not lenient else ''}{want}, got {got}")
        return table
    _read_rows(table, lines, header, lenient)
    return table


def _normalise_text(text: str, table: CsvTable, lenient: bool) -> str:
    """The text without a byte-order mark and with LF line endings; strict mode records what it changed."""
    if lenient:
        text = text.removeprefix("\ufeff")
    elif text.startswith("\ufeff"):
        table.add(1, "encoding", "the CSV starts with a byte-order mark; write plain UTF-8")
        text = text[1:]
    if "\r" in text:
        n_crlf, n_lf = text.count("\r\n"), text.count("\n")
        if not lenient:
            if text.count("\r") != n_crlf or n_crlf != n_lf:
                table.add(None, "line endings", "the CSV mixes line endings or has bare CR characters; use LF only")
            else:
                table.warnings.append(
                    "the CSV has Windows (CRLF) line endings; the leaderboard reads them, but LF is the norm"
                )
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _read_rows(table: CsvTable, lines: list[str], header: tuple[str, ...], lenient: bool) -> None:
    """Every data row of ``lines`` into ``table.rows``, or a problem naming its line."""
    i_id, i_pred = header.index("id"), header.index("prediction")
    i_target = header.index("target") if "target" in header else None
    i_sample = header.index("sample") if "sample" in header else None
    names = ",".join(header)
    seen: dict[tuple[str, int], int] = {}
    for lineno, fields in _rows(lines, lenient):
        if isinstance(fields, str):  # a quoted field (strict) or a CSV syntax error
            table.add(lineno, "quoting" if fields.startswith("quoted") else "CSV syntax", fields)
            continue
        if fields is None:
            if not lenient:
                table.add(lineno, "blank line", "blank line")
            continue
        if len(fields) != len(header):
            table.add(
                lineno,
                "field count",
                f"expected {len(header)} fields ({names}), got {len(fields)}"
                + (" (a POSCAR must be on one line with newlines written as \\n)" if len(fields) > 1 else ""),
            )
            continue
        key = fields[i_id].strip() if lenient else fields[i_id]
        if not key.strip():
            table.add(lineno, "empty id", "empty id")
            continue
        sample = 0
        if i_sample is not None:
            raw = fields[i_sample].strip()
            if not raw.isdigit():
                table.add(lineno, "sample", f"sample must be a whole number ≥ 0, got {fields[i_sample]!r}")
                continue
            sample = int(raw)
        if (key, sample) in seen:
            what = f"duplicate id {key!r}" + (f" sample {sample}" if i_sample is not None else "")
            table.add(lineno, "duplicate id", f"{what} (first on row {seen[(key, sample)]})")
            continue
        seen[(key, sample)] = lineno
        target = fields[i_target] if i_target is not None else ""
        table.rows.append(CsvRow(lineno, key, target, fields[i_pred], sample))


def _header(line: str, headers: tuple[tuple[str, ...], ...], lenient: bool) -> tuple[str, ...] | None:
    if not lenient:
        return headers[0] if line == ",".join(headers[0]) else None
    if len(line) > 1000:  # a header is a few words; csv refuses fields over 128 KiB with csv.Error
        return None
    try:
        got = tuple(h.strip().lower() for h in next(csv.reader([line]), []))
    except csv.Error:
        return None
    return got if got in headers else None


def _rows(lines: list[str], lenient: bool) -> Iterator[tuple[int, list[str] | str | None]]:
    """(line number, fields) of every data line; fields are ``None`` for a blank line, or the
    message of a quoted field (strict) or a CSV syntax error (lenient)."""
    if not lenient:
        for lineno, line in enumerate(lines[1:], start=2):
            if '"' in line:
                yield lineno, "quoted field; values must not contain commas, quotes or real newlines"
            else:
                yield lineno, (line.split(",") if line.strip() else None)
        return
    reader = csv.reader(io.StringIO("\n".join(lines[1:]) + "\n"))
    while True:
        lineno = reader.line_num + 2
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield lineno, f"not valid CSV ({exc})"
            return  # the reader cannot resynchronise after a quoting error
        blank = not fields or (len(fields) == 1 and not fields[0].strip())
        yield lineno, None if blank else fields


# --------------------------------------------------------------------------- ids


def check_overlap(pred_ids: Iterable[str], test_ids: Iterable[str], *, source: str, benchmark: str) -> str | None:
    """Compare the ids of a predictions input with a benchmark's test ids.

    Raises :class:`PredictionsError` when they share no id at all (the wrong file or
    the wrong ``--benchmark``), naming both counts and three example ids of each.
    Returns a warning naming the counts when the overlap is partial, else ``None``.
    """
    pred = list(dict.fromkeys(pred_ids))
    test = list(dict.fromkeys(test_ids))
    test_set = set(test)
    shared = [k for k in pred if k in test_set]
    if not shared:
        raise PredictionsError(
            f"{source}: none of its {len(pred)} ids is one of the {len(test)} test ids of {benchmark} "
            f"(its ids: {_examples(pred) or 'none'}; test ids: {_examples(test)}). Check that the file "
            f"holds predictions for {benchmark}, or pass the right --benchmark."
        )
    pred_set = set(pred)
    missing = [k for k in test if k not in pred_set]
    extra = [k for k in pred if k not in test_set]
    if not missing and not extra:
        return None
    parts = [f"{source}: {len(shared)} of the {len(test)} test ids of {benchmark} have a prediction"]
    if missing:
        parts.append(f"{len(missing)} are missing and count as unmatched (e.g. {_examples(missing)})")
    if extra:
        parts.append(f"{len(extra)} ids are not in the test split and are ignored (e.g. {_examples(extra)})")
    return "; ".join(parts)


def _examples(ids: list[str]) -> str:
    return ", ".join(ids[:EXAMPLE_IDS]) + (", ..." if len(ids) > EXAMPLE_IDS else "")


# --------------------------------------------------------------------------- writing
