"""``nearest``: prototype substitution from the closest training crystal.

Rule, for a test crystal with composition ``{element: count}`` and N atoms:

1. **Candidates**: training crystals with the same N. Those whose sorted count
   multiset equals the test's (same stoichiometry pattern, e.g. ``(1, 1, 2)``) are
   preferred; only when there are none are other N-atom crystals considered.
2. **Species map and score**: test elements are paired with the prototype's elements
   by an optimal assignment (Hungarian) whose cost per pair is
   ``100 * |count difference| + |Mendeleev(Pettifor) number difference|``; the
   candidate with the lowest total cost wins (an identical composition costs 0).
   Ties go to the first training crystal in file order.
3. **Substitution**: every prototype site of element p gets the test element paired
   with p; if counts differ, surplus sites are relabelled with the elements still
   short, so the prediction always has the test composition.
4. **Volume**: ``V = V_proto * sum_sites v(test) / sum_sites v(proto)`` with per-element
   atomic volumes v fitted by non-negative least squares on the training cells
   (``V_i = sum_e n_ie v_e``); elements absent from training get the mean v. The
   cell is scaled isotropically.

No training crystal with N atoms -> a recorded failure (never happens on the two
AtomGenBench datasets, whose test atom counts all occur in training).
The "checkpoint" holds the fitted per-element volumes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
from pymatgen.core import Element, Structure
from scipy.optimize import linear_sum_assignment, nnls

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner
from atomgenbench.runners.baselines.common import (
    BASELINE_PRESETS,
    cell_counts,
    predict_each,
    read_checkpoint,
    write_checkpoint,
)

COUNT_WEIGHT = 100.0


def element_volumes(data: BenchmarkData) -> dict[str, float]:
    """Per-element atomic volumes (Å^3) fitted by NNLS to the training cell volumes."""
    train = list(data.train.values())
    elements = sorted({el for s in train for el in cell_counts(s)})
    index = {el: j for j, el in enumerate(elements)}
    a = np.zeros((len(train), len(elements)))
    b = np.array([s.volume for s in train])
    for i, s in enumerate(train):
        for el, n in cell_counts(s).items():
            a[i, index[el]] = n
    v, _ = nnls(a, b)
    mean = float(b.sum() / a.sum())
    return {el: round(float(x) if x > 0 else mean, 4) for el, x in zip(elements, v)} | {"_mean": round(mean, 4)}


@cache
def mendeleev(symbol: str) -> float:
    """Pettifor's Mendeleev number (a 1-D chemical-similarity scale); atomic number if unknown."""
    el = Element(symbol)
    return float(el.mendeleev_no if el.mendeleev_no is not None else el.Z)


def assign(test: dict[str, int], proto: dict[str, int]) -> tuple[float, dict[str, str]]:
    """Optimal pairing of prototype elements to test elements: (total cost, proto -> test)."""
    t_els, p_els = list(test), list(proto)
    size = max(len(t_els), len(p_els))
    cost = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            nt = test[t_els[i]] if i < len(t_els) else 0
            np_ = proto[p_els[j]] if j < len(p_els) else 0
            chem = abs(mendeleev(t_els[i]) - mendeleev(p_els[j])) if i < len(t_els) and j < len(p_els) else 0.0
            cost[i, j] = COUNT_WEIGHT * abs(nt - np_) + chem
    rows, cols = linear_sum_assignment(cost)
    mapping = {p_els[j]: t_els[i] for i, j in zip(rows, cols) if i < len(t_els) and j < len(p_els)}
    return float(cost[rows, cols].sum()), mapping


def substitute(proto: Structure, test: dict[str, int], mapping: dict[str, str]) -> list[str]:
    """Species per prototype site after substitution, with exactly the test composition."""
    need = dict(test)
    species: list[str | None] = []
    for site in proto:
        el = mapping.get(site.specie.symbol)
        if el is not None and need.get(el, 0) > 0:
            need[el] -= 1
            species.append(el)
        else:
            species.append(None)
    leftovers = [el for el, n in need.items() for _ in range(n)]
    return [s if s is not None else leftovers.pop(0) for s in species]


def _ordered(counts: dict[str, int]) -> list[str]:
    """Elements ordered by (count, symbol): the canonical slot order of a stoichiometry pattern."""
    return sorted(counts, key=lambda el: (counts[el], el))


def pattern_index(by_n: dict[int, dict[tuple, str]]) -> dict[tuple, tuple[list[tuple], np.ndarray]]:
    """``(N, pattern) -> (compositions, Mendeleev numbers per slot (C, k))`` for a vectorised search."""
    groups: dict[tuple, list[tuple]] = {}
    for n, comps in by_n.items():
        for comp in comps:
            groups.setdefault((n, tuple(sorted(c for _, c in comp))), []).append(comp)
    index = {}
    for key, comps in groups.items():
        table = np.array([[mendeleev(el) for el in _ordered(dict(c))] for c in comps], dtype=float)
        index[key] = (comps, table)
    return index


def best_same_pattern(test: dict[str, int], comps: list[tuple], table: np.ndarray) -> tuple:
    """The composition (first in file order on ties) minimising the chemical cost of the best slot mapping."""
    return ranked_same_pattern(test, comps, table, 1)[0]


def ranked_same_pattern(test: dict[str, int], comps: list[tuple], table: np.ndarray, k: int) -> list[tuple]:
    """The ``k`` compositions of lowest chemical cost, best first (file order on ties)."""
    order = _ordered(test)
    m = np.array([mendeleev(el) for el in order])
    groups = [list(g) for _, g in itertools.groupby(range(len(order)), key=lambda i: test[order[i]])]
    best = np.full(len(comps), np.inf)
    for perm in itertools.product(*(itertools.permutations(g) for g in groups)):
        idx = [i for part in perm for i in part]
        best = np.minimum(best, np.abs(table - m[idx]).sum(axis=1))
    return [comps[int(i)] for i in np.argsort(best, kind="stable")[:k]]


def _ranked_any(test: dict[str, int], comps: list[tuple], k: int) -> list[tuple[float, tuple, dict[str, str]]]:
    """The ``k`` best (score, composition, mapping) by assignment score, file order on ties."""
    scored = [(*assign(test, dict(comp)), i, comp) for i, comp in enumerate(comps)]
    scored.sort(key=lambda t: (t[0], t[2]))
    return [(score, comp, mapping) for score, mapping, _, comp in scored[:k]]


class NearestRunner(Runner):
    name = "nearest"
    conditioning = "composition+train"
    presets = BASELINE_PRESETS
    supports_samples = True  # sample s: the (s+1)-th nearest prototype

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        return write_checkpoint(
            config,
            self.name,
            {
                "element_volumes": element_volumes(data),
                "rule": "prototype substitution, see runners/baselines/nearest.py",
            },
        )

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        volumes = read_checkpoint(checkpoint)["element_volumes"]
        # unique training compositions by atom count, first crystal in file order for each
        by_n: dict[int, dict[tuple, str]] = {}
        for key, s in data.train.items():
            comp = tuple(sorted(cell_counts(s).items()))
            by_n.setdefault(len(s), {}).setdefault(comp, key)
        by_pattern = pattern_index(by_n)

        def vol(counts: dict[str, int]) -> float:
            return sum(n * volumes.get(el, volumes["_mean"]) for el, n in counts.items())

        k = config.samples

        def ranked(key: str) -> tuple[dict[str, int], list[tuple[tuple, dict[str, str]]]]:
            target = data.structure(key)
            test = cell_counts(target)
            comps = by_n.get(len(target))
            if not comps:
                raise ValueError(f"no training crystal with {len(target)} atoms to use as a prototype")
            pattern = tuple(sorted(test.values()))
            if (len(target), pattern) in by_pattern:  # same stoichiometry pattern: vectorised search
                best = ranked_same_pattern(test, *by_pattern[(len(target), pattern)], k)
                return test, [(comp, assign(test, dict(comp))[1]) for comp in best]
            # no prototype with the same pattern: best count + chemistry assignment
            return test, [(comp, mapping) for _, comp, mapping in _ranked_any(test, list(comps), k)]

        cache: dict[str, tuple] = {}

        def predict(key: str, sample: int = 0) -> Structure:
            if key not in cache:
                cache.clear()  # samples of one id come one after another
                cache[key] = ranked(key)
            test, choices = cache[key]
            if sample >= len(choices):
                raise ValueError(f"only {len(choices)} training prototype(s) with {sum(test.values())} atoms")
            comp, mapping = choices[sample]
            comps = by_n[sum(test.values())]
            proto = data.structure(comps[comp])
            species = substitute(proto, test, mapping)
            out = Structure(proto.lattice, species, proto.frac_coords)
            out.scale_lattice(proto.volume * vol(test) / vol(dict(comp)))
            return out

        return predict_each(data.test_ids if ids is None else ids, predict, k)
