"""Build the auxiliary data files from their upstream formats.

Two auxiliary files of the data root are not published upstream in the form the
toolkit reads; their upstream source is downloaded, their upstream source, verifies it,
converts it and writes the result into the cache (the download and placement are done by
:func:`atomgenbench.benchmarks.atomgen.sources.fetch`; this module only converts and checks):

* ``jarvis/supercon_3d_Tc.csv`` (``jid,Tc``) from the JARVIS ``supercon_3d``
  records — the zip that jarvis-tools ``jarvis.db.figshare.data("supercon_3d")``
  downloads (figshare file 38307921, member ``jarvis_epc_data_figshare_1058.json``;
  records carry ``jid``, ``Tc``, ``atoms``, ``lamb``, ``wlog``, ...).
* ``alexandria/DS-{A,B}.json.gz`` from the pandas pickles ``DS-{A,B}.pk.bz2`` of
  GitHub ``hyllios/utils`` (``models/supercond_modnet_model/``) at a pinned commit.
  A pickle can run code when loaded, so it is unpickled **only after** its
  sha256 equals the pinned value.

Verification. A conversion's output bytes may differ from the mirror's file (float
formatting, the pymatgen version writing ``as_dict()``), so a built file is not
checked against the mirror's file sha256. Instead:

1. the upstream download is checked against its own pinned sha256 where one is
   known (the two pickles); figshare publishes no checksum we could pin, so the
   supercon zip is checked by content only;
2. the converted content is checked by :func:`content_digest` — a sha256 over the
   sorted ``(id, T_c)`` pairs with T_c rounded to 1e-6 K — against the digest of
   the reference file (``DataFile.content_sha256``, computed from the verified
   mirror). Only then does the file enter the cache (written to a temporary name
   and moved into place).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomgenbench.benchmarks.atomgen.files import sha256_of
from atomgenbench.core.errors import DataError

SUPERCON_3D_URL = "https://ndownloader.figshare.com/files/38307921"  # as pinned in jarvis-tools
SUPERCON_3D_MEMBER = "jarvis_epc_data_figshare_1058.json"
HYLLIOS_COMMIT = "87bb7eebe929eea378e9f4dacf2a29af5276d1c6"
HYLLIOS_BASE = f"https://raw.githubusercontent.com/hyllios/utils/{HYLLIOS_COMMIT}/models/supercond_modnet_model"

#: record keys of the Alexandria json.gz layout, in order
ALEX_KEYS: tuple[str, ...] = ("mat_id", "Tc", "la", "wlog", "dosef", "debye", "structure")


@dataclass(frozen=True)
class UpstreamSource:
    """Where an auxiliary file comes from and how it is converted.

    ``sha256`` pins the downloaded upstream file (``None``: verified by content only).
    ``fmt`` is ``"supercon_zip"`` or ``"alexandria_pickle"``.
    """

    url: str
    sha256: str | None
    fmt: str


#: data-root path of a built file -> its upstream source
SOURCES: dict[str, UpstreamSource] = {
    "jarvis/supercon_3d_Tc.csv": UpstreamSource(SUPERCON_3D_URL, None, "supercon_zip"),
    "alexandria/DS-A.json.gz": UpstreamSource(
        f"{HYLLIOS_BASE}/DS-A.pk.bz2",
        "238359c7e0bbc24ca4cb06034ab434d1473bc22e0fc46cbba08a607e335a89b1",
        "alexandria_pickle",
    ),
    "alexandria/DS-B.json.gz": UpstreamSource(
        f"{HYLLIOS_BASE}/DS-B.pk.bz2",
        "00b45d3a4f225eef2b1dab42a86b2617303d80dedf2d6e3f5bd47bd6128142fc",
        "alexandria_pickle",
    ),
}


class UpstreamError(DataError, ValueError):
    """Upstream content that cannot be converted (message names file/record and problem)."""


# --------------------------------------------------------------------------- JARVIS supercon_3d


def supercon_records_from_zip(path: Path) -> list[dict[str, Any]]:
    """The JSON records inside the figshare zip that jarvis-tools downloads."""
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read(SUPERCON_3D_MEMBER))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise UpstreamError(f"{path}: not the supercon_3d archive with {SUPERCON_3D_MEMBER} ({exc})") from None


def supercon_records_to_csv(records: Iterable[dict[str, Any]]) -> str:
    """``jid,Tc`` CSV text from ``supercon_3d`` records (record order kept).

    Raises :class:`UpstreamError` for a record without ``jid``/``Tc``, a non-finite
    T_c or a repeated jid.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["jid", "Tc"])
    seen: set[str] = set()
    for i, rec in enumerate(records):
        jid, tc = rec.get("jid"), _finite(rec.get("Tc"), f"record {i}")
        if not isinstance(jid, str) or not jid:
            raise UpstreamError(f"record {i}: missing 'jid'")
        if jid in seen:
            raise UpstreamError(f"record {i}: duplicate jid {jid}")
        seen.add(jid)
        writer.writerow([jid, repr(tc)])
    return out.getvalue()


def records_via_jarvis_tools(store_dir: str | None = None) -> list[dict[str, Any]]:
    """The same records through jarvis-tools itself (no checksum; verify by content)."""
    from jarvis.db.figshare import data

    return data("supercon_3d", store_dir=store_dir)


# --------------------------------------------------------------------------- Alexandria DS-A/B


def load_pinned_pickle(path: Path, sha256: str):
    """Unpickle a bz2 pandas pickle, but only after its sha256 equals ``sha256``."""
    actual = sha256_of(path)
    if actual != sha256:
        raise UpstreamError(f"{path}: sha256 {actual} is not the pinned {sha256}; refusing to unpickle it")
    import pandas as pd

    return pd.read_pickle(path, compression="bz2")


def frame_to_records(frame) -> list[dict[str, Any]]:
    """Alexandria records (``mat_id, Tc, la, wlog, dosef, debye, structure``) from a DataFrame.

    Accepts ``Tc`` or ``tc`` and ``mat_id`` as a column or as the index; structures
    may be pymatgen ``Structure`` objects or their dicts (stored as ``as_dict()``).
    """
    frame = frame.reset_index() if "mat_id" not in frame.columns and frame.index.name == "mat_id" else frame
    columns = {c.lower() if c.lower() == "tc" else c: c for c in frame.columns}
    missing = [k for k in ALEX_KEYS if (k.lower() if k == "Tc" else k) not in columns]
    if missing:
        raise UpstreamError(f"DataFrame lacks columns {missing} (has {list(frame.columns)})")
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        rec: dict[str, Any] = {}
        for key in ALEX_KEYS:
            value = row[columns[key.lower() if key == "Tc" else key]]
            if key == "mat_id":
                value = str(value)
            elif key == "structure":
                value = value.as_dict() if hasattr(value, "as_dict") else value
                if not isinstance(value, dict):
                    raise UpstreamError(f"row {i} ({rec['mat_id']}): structure is {type(value).__name__}")
            else:
                value = _finite(value, f"row {i} ({rec['mat_id']}) {key}", allow_nan=key != "Tc")
            rec[key] = value
        records.append(rec)
    return records


def alexandria_records(path: Path) -> list[dict[str, Any]]:
    """Records of a converted ``DS-*.json.gz``."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


# --------------------------------------------------------------------------- content check


def content_digest(path: Path) -> str:
    """sha256 of the sorted ``id<TAB>T_c`` lines (T_c to 1e-6 K) of a T_c file (csv or json.gz)."""
    if str(path).endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            pairs = [(row["jid"], float(row["Tc"])) for row in csv.DictReader(fh)]
    else:
        pairs = [(str(r["mat_id"]), float(r["Tc"])) for r in alexandria_records(path)]
    text = "\n".join(f"{k}\t{v:.6f}" for k, v in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- build


def convert(fmt: str, raw: Path, out: Path, *, sha256: str | None = None) -> None:
    """Convert an upstream file ``raw`` of format ``fmt`` to the data-root layout at ``out``."""
    if fmt == "supercon_zip":
        out.write_text(supercon_records_to_csv(supercon_records_from_zip(raw)), encoding="utf-8")
    elif fmt == "alexandria_pickle":
        if sha256 is None:
            raise UpstreamError("a pickle needs a pinned sha256 before it may be unpickled")
        records = frame_to_records(load_pinned_pickle(raw, sha256))
        with gzip.open(out, "wt", encoding="utf-8") as fh:
            json.dump(records, fh)
    else:
        raise UpstreamError(f"unknown upstream format {fmt!r}")


def _finite(value: Any, where: str, *, allow_nan: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UpstreamError(f"{where}: {value!r} is not a number") from None
    if math.isinf(number) or (math.isnan(number) and not allow_nan):
        raise UpstreamError(f"{where}: {value!r} is not a finite number")
    return number
