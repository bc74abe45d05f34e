"""Candidate templates of a composition, built exactly as ``nearest`` builds its prototypes.

:class:`CandidateIndex` holds the training crystals grouped by atom count and stoichiometry
pattern, one representative (the first crystal in file order) per composition, and ranks them
with ``nearest``'s own functions. ``exclude`` drops one training crystal from the pool, so a
training crystal can play the test crystal against the rest of the training split
(leave-one-out labels): a composition then keeps its next crystal as representative, or
leaves the pool when that crystal was its only one. With ``exclude=None`` the ranking is
``nearest``'s, candidate 0 being ``nearest``'s prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.baselines.nearest import _ranked_any, assign, pattern_index, ranked_same_pattern, substitute

Comp = tuple  # sorted ((element, count), ...)


@dataclass(frozen=True)
class Candidate:
    """One template for a query: the training crystal, its composition, nearest's pairing and cost, its rank."""

    template_id: str
    comp: Comp
    mapping: dict[str, str]  # template element -> query element
    cost: float  # nearest's assignment cost (count and Mendeleev-number terms)
    rank: int  # position in nearest's order (0: nearest's own choice)
    same_pattern: bool


class CandidateIndex:
    """Training compositions by atom count and pattern, with the crystals holding each composition."""

    def __init__(self, data: BenchmarkData, train_ids: list[str] | None = None):
        self.data = data
        self.members: dict[Comp, list[str]] = {}
        by_n: dict[int, dict[Comp, str]] = {}
        for key in data.train_ids if train_ids is None else train_ids:
            s = data.structure(key)
            comp = tuple(sorted(cell_counts(s).items()))
            self.members.setdefault(comp, []).append(key)
            by_n.setdefault(len(s), {}).setdefault(comp, key)
        self.by_n = by_n
        self.by_pattern = pattern_index(by_n)

    def representative(self, comp: Comp, exclude: str | None) -> str | None:
        return next((k for k in self.members[comp] if k != exclude), None)

    def ranked(self, test: dict[str, int], k: int, exclude: str | None = None) -> list[Candidate]:
        """Up to ``k`` candidates for composition ``test``, best first by nearest's rule."""
        n = sum(test.values())
        comps = self.by_n.get(n)
        if not comps:
            return []
        pattern = tuple(sorted(test.values()))
        key = (n, pattern)
        gone = self._excluded_comp(exclude)
        if key in self.by_pattern:
            table_comps, table = self.by_pattern[key]
            usable = len(table_comps) - (gone in table_comps)
            if usable > 0:
                best = ranked_same_pattern(test, table_comps, table, k + (gone is not None))
                chosen = [c for c in best if c != gone][:k]
                return [self._candidate(test, c, r, True, exclude) for r, c in enumerate(chosen)]
        pool = [c for c in comps if c != gone]
        ranked = _ranked_any(test, pool, k)
        return [self._candidate(test, c, r, False, exclude) for r, (_, c, _) in enumerate(ranked)]

    def _excluded_comp(self, exclude: str | None) -> Comp | None:
        """The composition that leaves the pool when ``exclude`` does (it was its only crystal)."""
        if exclude is None:
            return None
        comp = tuple(sorted(cell_counts(self.data.structure(exclude)).items()))
        return comp if self.members.get(comp) == [exclude] else None

    def _candidate(self, test: dict[str, int], comp: Comp, rank: int, same: bool, exclude: str | None) -> Candidate:
        cost, mapping = assign(test, dict(comp))
        return Candidate(self.representative(comp, exclude), comp, mapping, cost, rank, same)

    def substituted(self, test: dict[str, int], cand: Candidate) -> Structure:
        """The template with the query's species (nearest's substitution), at the template's volume."""
        proto = self.data.structure(cand.template_id)
        return Structure(proto.lattice, substitute(proto, test, cand.mapping), proto.frac_coords)
