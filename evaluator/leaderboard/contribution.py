"""The JARVIS-Leaderboard contribution format: file names, csv.zip files, metadata.

Shared by the packager (:mod:`atomgenbench.evaluator.submission.package`) and the validator
(:mod:`atomgenbench.evaluator.submission.validate`), so that what one writes the other accepts:

* :func:`parse_leaderboard_name` — the six-token file-name grammar
  ``<Category>-<Subcategory>-<property>-<dataset>-<split>-<metric>.csv.zip``;
* :func:`read_csv_zip` — a strict, defensive reader (size caps against zip bombs,
  one member named after the zip, no path parts, UTF-8, LF endings, exact header);
* :func:`load_metadata` — ``metadata.json`` (its schema checks, :func:`check_metadata`, live in
  :mod:`atomgenbench.evaluator.leaderboard.metadata` and are re-exported here);
* :func:`write_csv_zip` — the one way atomgenbench writes a leaderboard file.

Every problem is reported as a :class:`ContributionError` whose message names the
problem; callers add the file name.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import CsvRow, parse_csv
from atomgenbench.core.archives import MAX_MEMBER_BYTES
from atomgenbench.core.errors import ValidationError
from atomgenbench.core.io import atomic_path
from atomgenbench.evaluator.inputs.load import SUFFIX
from atomgenbench.evaluator.leaderboard.metadata import (  # noqa: F401  (re-exported: validate and package import them here)
    REQUIRED_STR_FIELDS,
    check_date,
    check_metadata,
)

#: categories and subcategories the leaderboard knows (docs/<Cat>/<Sub>/ folders)
CATEGORIES = frozenset({"AI", "ES", "FF", "QC", "EXP"})
SUBCATEGORIES = frozenset(
    {
        "SinglePropertyPrediction",
        "SinglePropertyClass",
        "MLFF",
        "TextClass",
        "TokenClass",
        "TextSummary",
        "TextGen",
        "AtomGen",
        "ImageClass",
        "Spectra",
        "EigenSolver",
        "AgentTask",
    }
)
#: metrics accepted everywhere; ``rmse`` only for AtomGen
METRICS = frozenset({"mae", "acc", "multimae", "rouge"})
HEADER = "id,target,prediction"

#: defences against hostile or broken input
MAX_ZIP_BYTES = 32 * 1024 * 1024  # a csv.zip on disk
MAX_CSV_BYTES = MAX_MEMBER_BYTES  # its uncompressed member (one home: core/archives.py)
MAX_TEXT_BYTES = 1024 * 1024  # metadata.json, run.sh, README.md
#: the line package's run.sh template for imported predictions stops at until someone fills it in
TEMPLATE_RUN_SH_MARKER = "run.sh: fill in how the"


class ContributionError(ValidationError):
    """A contribution file that the leaderboard would reject or crash on."""


@dataclass(frozen=True)
class LeaderboardName:
    """The six tokens of a leaderboard file name."""

    category: str
    subcategory: str
    prop: str
    dataset: str
    split: str
    metric: str

    @property
    def benchmark(self) -> str:
        """Benchmark json.zip stem, ``<dataset>_<prop>``."""
        return f"{self.dataset}_{self.prop}"

    @property
    def stem(self) -> str:
        return "-".join((self.category, self.subcategory, self.prop, self.dataset, self.split, self.metric))

    @property
    def file_name(self) -> str:
        return self.stem + SUFFIX


def parse_leaderboard_name(file_name: str) -> LeaderboardName:
    """Split a leaderboard file name into its six tokens, checking the grammar."""
    if not file_name.endswith(SUFFIX):
        raise ContributionError(f"file name must end with {SUFFIX}")
    stem = file_name[: -len(SUFFIX)]
    tokens = stem.split("-")
    if len(tokens) != 6:
        raise ContributionError(
            f"file name must have exactly 6 '-'-separated parts "
            f"(Category-Subcategory-property-dataset-split-metric), got {len(tokens)}; use '_' inside "
            "the property and dataset"
        )
    name = LeaderboardName(*tokens)
    if any(not t for t in tokens):
        raise ContributionError("file name has an empty part")
    if name.category not in CATEGORIES:
        raise ContributionError(f"unknown category {name.category!r}; expected one of {sorted(CATEGORIES)}")
    if name.subcategory not in SUBCATEGORIES:
        raise ContributionError(f"unknown subcategory {name.subcategory!r}; expected one of {sorted(SUBCATEGORIES)}")
    allowed = METRICS | ({"rmse"} if name.subcategory == "AtomGen" else set())
    if name.metric not in allowed:
        raise ContributionError(
            f"unknown metric {name.metric!r} for {name.subcategory}; expected one of {sorted(allowed)}"
        )
    return name


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    size = path.stat().st_size
    if size > cap:
        raise ContributionError(f"{what} is {size} bytes, over the {cap}-byte limit")
    return path.read_bytes()


def read_zip_member(path: Path) -> tuple[str, bytes]:
    """Return (member name, bytes) of a single-member csv.zip, with every defence applied."""
    data = _read_capped(path, MAX_ZIP_BYTES, "the zip file")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ContributionError(f"not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(infos) != 1:
            shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            raise ContributionError(f"zip must hold exactly one member, found {len(infos)}: {shown or '(none)'}")
        info = infos[0]
        member = info.filename
        if "/" in member or "\\" in member or member.startswith("..") or ":" in member:
            raise ContributionError(f"zip member {member!r} has path parts; store it at the top level")
        expected = path.name[: -len(".zip")] if path.name.endswith(".zip") else None
        if expected is not None and member != expected:
            raise ContributionError(f"zip member is named {member!r}; it must be {expected!r}")
        if info.flag_bits & 0x1:
            raise ContributionError("zip member is encrypted")
        if info.file_size > MAX_CSV_BYTES:
            raise ContributionError(
                f"zip member unpacks to {info.file_size} bytes, over the {MAX_CSV_BYTES}-byte limit (zip bomb?)"
            )
        try:
            with zf.open(info) as fh:
                payload = fh.read(MAX_CSV_BYTES + 1)
        except NotImplementedError as exc:
            raise ContributionError(f"unsupported zip compression ({exc}); use DEFLATE") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ContributionError(f"corrupt zip member ({exc})") from None
        if len(payload) > MAX_CSV_BYTES:
            raise ContributionError(f"zip member unpacks to more than {MAX_CSV_BYTES} bytes (zip bomb?)")
    return member, payload


def decode_text(payload: bytes, what: str) -> str:
    """Strict UTF-8 decoding with a message naming the offending byte offset."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContributionError(f"{what} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def read_csv_zip(path: str | os.PathLike) -> tuple[list[CsvRow], list[str]]:
    """Read a leaderboard csv.zip strictly; return (rows, warnings).

    The zip defences of :func:`read_zip_member`, then the one CSV reader
    (:func:`atomgenbench.benchmarks.atomgen.predictions.parse_csv`, strict mode: exact
    header, LF endings, no blank lines or quoted fields, unique ids). Raises
    :class:`ContributionError` listing every problem, each with its line number.
    """
    path = Path(path)
    _, payload = read_zip_member(path)
    table = parse_csv(decode_text(payload, "the CSV"), path.name, lenient=False)
    table.raise_errors(ContributionError)
    return table.rows, table.warnings


def write_csv_zip(path: str | os.PathLike, rows: Iterable[tuple[str, str, str]]) -> Path:
    """Write a leaderboard csv.zip: one DEFLATE member ``<stem>.csv``, header, LF endings.

    Written to a temporary file in the same folder and moved into place. Values
    must not contain commas, quotes or newlines (escape POSCARs first).
    """
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        raise ValueError(f"{path}: a leaderboard file name must end with {SUFFIX}")
    buf = io.StringIO()
    buf.write(HEADER + "\n")
    for row in rows:
        for value in row:
            if any(ch in value for ch in ',"\n\r'):
                raise ValueError(f"{path.name}: value {value[:60]!r} contains a comma, quote or newline")
        buf.write(",".join(row) + "\n")
    info = zipfile.ZipInfo(path.name[: -len(".zip")], date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with atomic_path(path) as tmp, open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        zf.writestr(info, buf.getvalue().encode("utf-8"))
    return path


def read_text_file(path: str | os.PathLike, what: str) -> str:
    """Read a small UTF-8 text file (metadata.json, run.sh) with a size cap."""
    path = Path(path)
    return decode_text(_read_capped(path, MAX_TEXT_BYTES, what), what)


def load_metadata(path: str | os.PathLike) -> dict:
    """Parse ``metadata.json``; it must be a JSON object."""
    text = read_text_file(path, "metadata.json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContributionError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ContributionError("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ContributionError(f"metadata must be a JSON object, got {type(data).__name__}")
    return data
