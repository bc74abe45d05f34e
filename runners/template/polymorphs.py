"""Which candidate templates rebuild a training crystal of the query's own composition.

The benchmarks list each crystal once, so a crystal whose composition already occurs in the training
split is a *different* polymorph of it (or, on dft_3d, sometimes a twin: the labels teach the scorer
which). A candidate template that, with the query's species substituted, matches one of those
training crystals under the leaderboard's matcher mostly rebuilds that polymorph rather than the
query: the runner without this feature missed 156 of the 218 alex test crystals of a known composition,
and for 107 of them its template rebuilt such a crystal (docs/results.md, "Template runner").

The feature needs only the query's composition and the training crystals: whether the substituted
template ``t`` (for composition ``C``) matches training crystal ``p`` of composition ``C`` depends on
``(C, t, p)`` alone, not on the query's structure. :class:`PolymorphTable` computes it on demand,
once per ``(C, t)`` against every training crystal of ``C``, and caches it per benchmark file.
Which of those crystals count depends on the pool: the query itself (leave-one-out) and crystals
held out of the pool (:mod:`.holdout`) are left out at lookup time.
"""

from __future__ import annotations

import json
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.registry import get_spec
from atomgenbench.benchmarks.atomgen.sources import cache_dir
from atomgenbench.core.io import atomic_write_text
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.template import labels as labels_mod
from atomgenbench.runners.template.candidates import Candidate, CandidateIndex, Comp

VERSION = 1


def cache_path(benchmark: str) -> Path:
    spec = get_spec(benchmark)
    tol = f"{labels_mod.LTOL}-{labels_mod.STOL}-{labels_mod.ANGLE_TOL}"
    return cache_dir() / "template_labels" / f"{benchmark}-{spec.sha256[:12]}-polymorphs-v{VERSION}-{tol}.json"


class PolymorphTable:
    """``(composition, template id) -> training crystals of that composition it rebuilds``, on demand."""

    def __init__(self, data: BenchmarkData, cache: bool = True):
        self.data = data
        self.members: dict[Comp, list[str]] = {}
        for key in data.train_ids:
            self.members.setdefault(tuple(sorted(cell_counts(data.structure(key)).items())), []).append(key)
        self.path = cache_path(data.name) if cache else None
        self.known: dict[str, list[str]] = {}
        if self.path is not None and self.path.is_file():
            self.known = json.loads(self.path.read_text(encoding="utf-8"))
        self._dirty = False

    @staticmethod
    def _key(comp: Comp, template_id: str) -> str:
        return json.dumps([[list(x) for x in comp], template_id])

    def rebuilt(self, test: dict[str, int], cands: list[Candidate], index: CandidateIndex) -> list[list[str]]:
        """Per candidate: the training crystals of ``test``'s composition (all of them) that the substituted
        candidate matches. Pairs not known yet are matched here, each training crystal against all of a
        query's new candidates in one call (its reduced cell made once); a candidate whose substituted
        composition is not ``test``'s cannot match and is not matched."""
        comp = tuple(sorted(test.items()))
        members = self.members.get(comp, [])
        if not members:
            return [[] for _ in cands]
        keys = [self._key(comp, c.template_id) for c in cands]
        new = [(k, c) for k, c in zip(keys, cands) if k not in self.known]
        if new:
            preds = [(k, index.substituted(test, c)) for k, c in new]
            same = [(k, p) for k, p in preds if tuple(sorted(cell_counts(p).items())) == comp]
            for k, _ in preds:
                self.known[k] = []
            for member in members:
                hits = labels_mod._label_query(
                    (self.data.structure(member), [p for _, p in same], labels_mod.DEFAULT_MATCHER)
                )
                for (k, _), hit in zip(same, hits):
                    if hit:
                        self.known[k].append(member)
            self._dirty = True
        return [self.known[k] for k in keys]

    def save(self) -> None:
        """Write the cache (what was computed since it was read)."""
        if self.path is not None and self._dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.known, sort_keys=True) + "\n")
            self._dirty = False
