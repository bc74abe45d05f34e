"""``StructureMatcher.get_rms_dist`` with the target's reduction done once per benchmark.

``get_rms_dist(pred, target)`` first reduces both structures (species copy, primitive cell,
Niggli cell) and then matches them. The target's half of that reduction is the same in every
evaluation of a benchmark, so :func:`reduce_for_matcher` runs it once (its result is kept in the
target cache) and :func:`rms_dist` runs the rest of pymatgen's own sequence of steps. Its result
equals ``get_rms_dist`` bit for bit (tests/test_rms_reuse.py checks every dft_3d pair of the three
published contributions and 150 alex pairs); with a pymatgen whose matcher lacks these steps it calls
``get_rms_dist`` itself.

``implementation="fast"`` hands the same question to :class:`~.fastmatch.FastMatcher`, the vectorised
matcher with pymatgen's decisions and values (docs/results.md, "Fast StructureMatcher"), when the
matcher has the settings it reproduces (species comparator, primitive cells, volumes scaled, no
supercells or subsets); otherwise pymatgen's steps run as above.
"""

from __future__ import annotations

import inspect
from functools import lru_cache

from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

Cell = tuple  # (3 × 3 lattice matrix, species symbols, n × 3 fractional coordinates)


def reduce_for_matcher(matcher: StructureMatcher, structure: Structure) -> Structure:
    """The structure ``matcher.get_rms_dist`` compares for ``structure`` (before the volume scaling)."""
    (copied,) = matcher._process_species([structure])
    return matcher._get_reduced_structure(copied, matcher._primitive_cell, True)


def as_cell(structure: Structure) -> Cell:
    """A JSON-ready copy of a reduced structure (floats round-trip exactly)."""
    return (
        tuple(tuple(float(x) for x in row) for row in structure.lattice.matrix),
        tuple(site.specie.symbol for site in structure),
        tuple(tuple(float(x) for x in row) for row in structure.frac_coords),
    )


def from_cell(cell: Cell) -> Structure:
    lattice, species, frac = cell
    return Structure(lattice, list(species), frac, coords_are_cartesian=False)


#: the matcher implementations: "fast" (the default) or "pymatgen" (its own StructureMatcher)
IMPLEMENTATIONS = ("fast", "pymatgen")


def rms_dist(
    matcher: StructureMatcher,
    pred: Structure,
    target: Structure,
    reduced_target: Cell | None = None,
    *,
    implementation: str = "pymatgen",
):
    """``matcher.get_rms_dist(pred, target)``, reusing ``reduced_target`` (:func:`as_cell` of the reduced target)."""
    if implementation == "fast" and _fast_settings(matcher):
        fast = _fast_matcher(matcher.ltol, matcher.stol, matcher.angle_tol)
        return fast.rms_dist(pred, reduced_target if reduced_target is not None else fast.prepare(target))
    if reduced_target is None or type(matcher) is not StructureMatcher or not _has_steps():
        return matcher.get_rms_dist(pred, target)  # only pymatgen's own matcher is known to have the steps
    s1 = reduce_for_matcher(matcher, pred)
    s1, s2, fu, s1_supercell = matcher._preprocess(s1, from_cell(reduced_target), skip_structure_reduction=True)
    match = matcher._match(s1, s2, fu, s1_supercell, use_rms=True, break_on_match=False)
    return None if match is None else (match[0], max(match[1]))


@lru_cache(maxsize=1)
def _has_steps() -> bool:
    """Whether the installed matcher has the steps :func:`rms_dist` calls."""
    needed = ("_process_species", "_get_reduced_structure", "_preprocess", "_match")
    if not all(hasattr(StructureMatcher, name) for name in needed):
        return False
    return "skip_structure_reduction" in inspect.signature(StructureMatcher._preprocess).parameters


def _fast_settings(matcher: StructureMatcher) -> bool:
    """Whether ``matcher`` has the settings :class:`~.fastmatch.FastMatcher` reproduces."""
    from pymatgen.analysis.structure_matcher import SpeciesComparator

    return (
        type(matcher) is StructureMatcher
        and type(matcher._comparator) is SpeciesComparator
        and matcher._primitive_cell
        and matcher._scale
        and not matcher._supercell
        and not matcher._subset
        and not matcher._ignored_species
    )


@lru_cache(maxsize=4)
def _fast_matcher(ltol: float, stol: float, angle_tol: float):
    """One :class:`~.fastmatch.FastMatcher` per process and tolerances."""
    from atomgenbench.evaluator.scoring.fastmatch import FastMatcher

    return FastMatcher(ltol, stol, angle_tol)
