"""Conditioning data for the structure benchmarks: what each model is given per test id.

* composition: from the benchmark's reference POSCAR (what a model is allowed to see);
* T_c: from :mod:`atomgenbench.benchmarks.atomgen.tc`, with its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.tc import TC_PROVENANCE, tc_table

__all__ = ["TC_PROVENANCE", "Conditioning", "conditioning_for", "tc_table"]


@dataclass(frozen=True)
class Conditioning:
    """What a model is given for one test id."""

    id: str
    formula: str  # reduced formula, jarvis-tools convention
    composition: dict[str, int]  # element -> count in the reference cell
    tc: float | None
    source: str


def conditioning_for(benchmark: str) -> dict[str, Conditioning]:
    """Per test id: composition (from the reference POSCAR) and T_c, with provenance."""
    from jarvis.core.composition import Composition

    data = load_benchmark(benchmark)
    table = tc_table(data.spec.family)
    out: dict[str, Conditioning] = {}
    for key in data.test_ids:
        s = data.structure(key)
        counts: dict[str, int] = {}
        for site in s:
            counts[site.specie.symbol] = counts.get(site.specie.symbol, 0) + 1
        formula = Composition(counts).reduced_formula
        out[key] = Conditioning(key, formula, counts, table.get(key), TC_PROVENANCE.get(data.spec.family, ""))
    return out
