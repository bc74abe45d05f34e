"""Structural and composition validity of one crystal, as CDVAE (and MatterGen) define them.

*structural*: every interatomic distance, periodic images included, is at least
:data:`MIN_DISTANCE` (0.5 Å) and the cell volume is at least :data:`MIN_VOLUME` (0.1 Å³).
The distances are pymatgen's minimum-image ``distance_matrix`` between distinct sites plus
the shortest lattice vector (the distance of a site to its own image; CDVAE checks
distinct sites only, which differs only for cells shorter than 0.5 Å).

*composition*: SMACT charge neutrality with the Pauling electronegativity test, following
CDVAE's ``smact_validity``: a single element or an all-metal composition (SMACT's metal list)
is valid; otherwise some combination of SMACT oxidation states, one per element, must make
the gcd-reduced formula neutral and pass ``smact.screening.pauling_test`` (missing
electronegativity data counts as passing, as in CDVAE). An element with no SMACT
oxidation states (Pm, He, Ne, Es, ...) cannot be charge-balanced, and an element SMACT
has no data for (Og, ...) cannot be checked: either makes the composition invalid, with
the reason recorded, instead of crashing (MatterGen issue #235).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from pymatgen.core import Structure

MIN_DISTANCE = 0.5  # Å
MIN_VOLUME = 0.1  # Å^3


def structural(structure: Structure, shortest_vector: float | None = None) -> tuple[bool, str | None]:
    """(valid, reason when invalid); ``shortest_vector``: the Niggli ``a`` if already known (Å)."""
    volume = float(structure.volume)
    if not volume >= MIN_VOLUME:
        return False, f"cell volume {volume:.4g} Å^3 < {MIN_VOLUME} Å^3"
    if shortest_vector is None:
        shortest_vector = float(structure.lattice.get_niggli_reduced_lattice().abc[0])
    nearest = float(shortest_vector)
    if len(structure) > 1:
        dist = np.array(structure.distance_matrix, float)
        np.fill_diagonal(dist, np.inf)
        nearest = min(nearest, float(dist.min()))
    if not nearest >= MIN_DISTANCE:
        return False, f"atoms {nearest:.3f} Å apart (< {MIN_DISTANCE} Å)"
    return True, None


def composition(structure: Structure) -> tuple[bool, str]:
    """(valid, how it was decided) of the structure's reduced composition."""
    reduced = structure.composition.reduced_composition
    key = tuple(sorted((el.symbol, int(round(amount))) for el, amount in reduced.items()))
    return composition_of(key)


@lru_cache(maxsize=4096)
def composition_of(formula: tuple[tuple[str, int], ...]) -> tuple[bool, str]:
    """CDVAE's SMACT validity of a reduced formula given as ``((symbol, count), ...)``."""
    import smact
    from smact.screening import pauling_test

    symbols = [s for s, _ in formula]
    counts = [c for _, c in formula]
    if len(symbols) == 1:
        return True, "single element"
    if all(s in smact.metals for s in symbols):
        return True, "all metals (alloy)"
    try:
        elements = [smact.Element(s) for s in symbols]
    except KeyError:
        missing = [s for s in symbols if not _known(s)]
        return False, f"no SMACT data for {', '.join(missing)}"
    no_states = [e.symbol for e in elements if not e.oxidation_states]
    if no_states:
        return False, f"no SMACT oxidation states for {', '.join(no_states)}"
    electronegativities = [e.pauling_eneg for e in elements]
    neutral = False
    for states in itertools.product(*(e.oxidation_states for e in elements)):
        if sum(s * c for s, c in zip(states, counts)) != 0:
            continue
        neutral = True
        try:
            if pauling_test(states, electronegativities):
                return True, "charge-neutral, passes the electronegativity test"
        except TypeError:  # no electronegativity for an element: counted as passing (CDVAE)
            return True, "charge-neutral (electronegativity not known)"
    if neutral:
        return False, "charge-neutral oxidation states fail the electronegativity test"
    return False, "no charge-neutral combination of SMACT oxidation states"


def _known(symbol: str) -> bool:
    import smact

    try:
        smact.Element(symbol)
    except KeyError:
        return False
    return True
