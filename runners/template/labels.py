"""Leave-one-out training labels: does a substituted template match the training crystal it is offered to?

Each training crystal ``q`` plays the test crystal: its ``k`` candidates come from the rest of the
training split (:class:`CandidateIndex` with ``exclude=q``), each is given ``q``'s species by
``nearest``'s substitution, and its label is whether it matches ``q`` under the leaderboard's matcher
(pymatgen ``StructureMatcher`` ltol 0.3, stol 0.5, angle_tol 10, volume rescaled), computed with
pymatgen's own steps, stopping at the first mapping under ``stol`` (the query's reduced cell is made
once), in the project's process pool (:class:`atomgenbench.core.executors.Executor`). A matcher call
over the time limit counts as no match. The fast ``get_rms_dist`` (``matcher="fast"``) decides every
label the same way but searches every mapping, and for a yes/no answer on substituted templates,
which mostly match at the first mapping, it is slower (docs/results.md, "Fast StructureMatcher").

Labels are cached per benchmark file (sha256), candidate count and matcher settings under
``<cache dir>/template_labels/``, as JSON, in chunks: an interrupted computation resumes.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from pathlib import Path

from pymatgen.analysis.structure_matcher import StructureMatcher

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.registry import get_spec
from atomgenbench.benchmarks.atomgen.sources import cache_dir
from atomgenbench.core.io import atomic_write_text
from atomgenbench.evaluator.scoring import rms
from atomgenbench.evaluator.scoring.matching import ANGLE_TOL, LTOL, STOL, _PairTimeout, _time_limit
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.template.candidates import CandidateIndex

LABEL_VERSION = 1
PAIR_TIME_LIMIT_S = 20.0
CHUNK_QUERIES = 400


#: the ``get_rms_dist`` implementation the labels use unless told otherwise (pymatgen's stops at the first
#: mapping under stol, which makes it the faster one for a yes/no answer: docs/results.md)
DEFAULT_MATCHER = "pymatgen"


def cache_path(benchmark: str, k: int) -> Path:
    spec = get_spec(benchmark)
    key = {"v": LABEL_VERSION, "sha256": spec.sha256, "k": k, "tol": [LTOL, STOL, ANGLE_TOL]}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "template_labels" / f"{benchmark}-{spec.sha256[:12]}-k{k}-{digest}.json"


def label_order(ids: list[str]) -> list[str]:
    """Training ids in a fixed pseudo-random order (by CRC-32 of the id): any prefix is a random subset."""
    return sorted(ids, key=lambda i: (zlib.crc32(i.encode()), i))


def _label_query(task: tuple) -> list[bool]:
    """In a worker: match each substituted template against the query structure."""
    query, preds, implementation = task
    matcher = StructureMatcher(ltol=LTOL, stol=STOL, angle_tol=ANGLE_TOL)
    try:
        reduced = rms.as_cell(rms.reduce_for_matcher(matcher, query))
    except Exception:  # a query the matcher cannot reduce: no label is positive
        return [False] * len(preds)
    out = []
    for pred in preds:
        try:
            with _time_limit(PAIR_TIME_LIMIT_S):
                out.append(_matches(matcher, pred, query, reduced, implementation))
        except _PairTimeout:
            out.append(False)
        except Exception:
            out.append(False)
    return out


def _matches(matcher: StructureMatcher, pred, query, reduced: rms.Cell, implementation: str = DEFAULT_MATCHER) -> bool:
    """Whether ``get_rms_dist(pred, query)`` finds a match.

    ``fast``: the project's vectorised ``get_rms_dist`` (:mod:`atomgenbench.evaluator.scoring.fastmatch`,
    pymatgen's decisions). ``pymatgen``: pymatgen's own steps, stopping at the first mapping under
    ``stol``: the matcher keeps a mapping whose RMS is below ``stol``, so "some mapping is below
    ``stol``" is the same test with ``break_on_match`` on or off; on is faster for the matching pairs.
    """
    if implementation == "fast":
        return rms.rms_dist(matcher, pred, query, reduced, implementation="fast") is not None
    if not rms._has_steps():
        return rms.rms_dist(matcher, pred, query, reduced) is not None
    s1 = rms.reduce_for_matcher(matcher, pred)
    s1, s2, fu, s1_supercell = matcher._preprocess(s1, rms.from_cell(reduced), skip_structure_reduction=True)
    return matcher._match(s1, s2, fu, s1_supercell, use_rms=True, break_on_match=True) is not None


def _tasks(
    data: BenchmarkData, index: CandidateIndex, ids: list[str], k: int, implementation: str
) -> tuple[list, list]:
    tasks, cands = [], []
    for q in ids:
        query = data.structure(q)
        test = cell_counts(query)
        ranked = index.ranked(test, k, exclude=q)
        cands.append([c.template_id for c in ranked])
        tasks.append((query, [index.substituted(test, c) for c in ranked], implementation))
    return tasks, cands


def compute_labels(
    data: BenchmarkData,
    k: int,
    *,
    workers: int = 2,
    progress: bool = False,
    ids: list[str] | None = None,
    matcher: str = DEFAULT_MATCHER,
) -> dict:
    """``{"labels": {query id: [[template id, 0/1], ...]}, "seconds": s}`` for every training crystal.

    Read from the cache and completed there; ``ids`` restricts the computation to some queries.
    ``matcher`` is the ``get_rms_dist`` implementation, ``fast`` or ``pymatgen``: the same decisions
    (scripts/check_template_labels.py compares them), so a cache made with either serves both.
    """
    from atomgenbench.core.executors import Executor
    from atomgenbench.evaluator.scoring.matching import _warm_imports

    if matcher not in ("fast", "pymatgen"):
        raise ValueError(f"matcher must be 'fast' or 'pymatgen', not {matcher!r}")

    path = cache_path(data.name, k)
    store = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"labels": {}, "seconds": 0.0}
    wanted = [q for q in label_order(data.train_ids if ids is None else ids) if q not in store["labels"]]
    index = CandidateIndex(data)
    _warm_imports()
    for start in range(0, len(wanted), CHUNK_QUERIES):
        t0 = time.perf_counter()
        chunk = wanted[start : start + CHUNK_QUERIES]
        tasks, cands = _tasks(data, index, chunk, k, matcher)
        results = Executor.create("process", workers, progress=progress).map(
            _label_query, tasks, desc="labels", unit="query"
        )
        for q, names, labels in zip(chunk, cands, results):
            store["labels"][q] = [[n, int(y)] for n, y in zip(names, labels)]
        store["seconds"] = round(store["seconds"] + time.perf_counter() - t0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(store) + "\n")
    return store


def _spacegroup(structure) -> tuple:
    from atomgenbench.evaluator.scoring.symmetry import analyse

    return analyse(structure)


def spacegroup_table(data: BenchmarkData, *, workers: int = 2) -> dict[str, list]:
    """``{training id: [space group number or None, crystal system]}``, cached per benchmark file."""
    from atomgenbench.core.executors import Executor

    spec = get_spec(data.name)
    path = cache_dir() / "template_labels" / f"{data.name}-{spec.sha256[:12]}-spacegroups.json"
    if path.is_file():
        table = json.loads(path.read_text(encoding="utf-8"))
        if set(table) == set(data.train_ids):
            return table
    ids = data.train_ids
    found = Executor.create("process", workers, progress=False).map(
        _spacegroup, [data.structure(i) for i in ids], desc="symmetry"
    )
    table = {i: [sg, system] for i, (sg, system) in zip(ids, found)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(table) + "\n")
    return table
