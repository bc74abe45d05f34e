"""Leakage strata: how close each test crystal of a structure benchmark is to the training split.

Every test id falls in exactly one stratum, tried in this order:

* ``twin`` — a training crystal matches it under the StructureMatcher of ``atomgenbench
  data check`` (:func:`atomgenbench.benchmarks.atomgen.check.train_twins`, with the same
  tolerances :data:`~atomgenbench.benchmarks.atomgen.check.DEFAULT_TOLERANCES`);
* ``seen-formula`` — no twin, but its reduced formula occurs in the training split;
* ``unseen`` — neither.

:func:`strata` computes the table once per benchmark file and keeps it as JSON in the user
cache (``$ATOMGENBENCH_CACHE`` or the platform cache dir, folder ``strata/``), keyed by the
benchmark file's sha256; a missing, stale or unreadable file is recomputed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from atomgenbench.benchmarks.atomgen.check import DEFAULT_TOLERANCES, parse_split, train_twins
from atomgenbench.benchmarks.atomgen.registry import get_spec, require_structure
from atomgenbench.benchmarks.atomgen.sources import cache_dir
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.versions import package_version

log = logging.getLogger("atomgenbench")

TWIN, SEEN_FORMULA, UNSEEN = "twin", "seen-formula", "unseen"
#: every stratum, in the order the reports list them
STRATA = (TWIN, SEEN_FORMULA, UNSEEN)
CACHE_VERSION = 1


def strata(benchmark: str, *, progress: bool = False) -> dict[str, str]:
    """``{test id: stratum}`` of a structure benchmark, in test-split order (cached)."""
    return strata_table(benchmark, progress=progress)["strata"]


def twins(benchmark: str, *, progress: bool = False) -> dict[str, list[str]]:
    """``{test id: matching training ids}`` of the ``twin`` stratum (cached with the strata)."""
    return strata_table(benchmark, progress=progress)["twins"]


def strata_table(benchmark: str, *, progress: bool = False) -> dict:
    """The cached document: ``strata``, ``twins``, ``tolerances`` and what it was computed with."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    require_structure(benchmark, "the leakage strata")
    splits = load_splits(benchmark)
    ids = list(splits["test"])
    doc = _load(benchmark, ids)
    if doc is not None:
        return doc
    train = parse_split(splits["train"], f"{benchmark} train", progress=progress)
    test = parse_split(splits["test"], f"{benchmark} test", progress=progress)
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(**DEFAULT_TOLERANCES)
    found, seen = train_twins(train, test, matcher, progress=progress, desc=f"{benchmark} strata")
    table = {k: TWIN if k in found else SEEN_FORMULA if k in seen else UNSEEN for k in ids}
    doc = {**_header(benchmark), "strata": table, "twins": {k: found[k] for k in ids if k in found}}
    _store(benchmark, doc)
    return doc


def cache_path(benchmark: str) -> Path:
    """Cache file of ``benchmark``'s strata: ``strata/<benchmark>-<sha256 of the benchmark file>.json``."""
    return cache_dir() / "strata" / f"{benchmark}-{get_spec(benchmark).sha256}.json"


def _header(benchmark: str) -> dict:
    return {
        "cache_version": CACHE_VERSION,
        "benchmark": benchmark,
        "sha256": get_spec(benchmark).sha256,
        "tolerances": dict(DEFAULT_TOLERANCES),
        "compared_with": "train split, within the same reduced formula",
        "pymatgen": package_version("pymatgen"),
    }


def _load(benchmark: str, ids: list[str]) -> dict | None:
    path = cache_path(benchmark)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        header = _header(benchmark)
        if any(doc.get(k) != v for k, v in header.items()) or list(doc["strata"]) != ids:
            return None
        if not set(doc["strata"].values()) <= set(STRATA) or not isinstance(doc["twins"], dict):
            return None
        return doc
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.info("ignoring unreadable strata cache %s (%s)", path, exc)
        return None


def _store(benchmark: str, doc: dict) -> None:
    """Write the cache file (temporary file, then ``os.replace``); an unwritable cache only costs time."""
    path = cache_path(benchmark)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    except OSError as exc:
        log.info("cannot write strata cache %s (%s)", path, exc)
