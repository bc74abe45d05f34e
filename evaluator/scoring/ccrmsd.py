"""AMD fingerprints for ccRMSD (the AtomBench authors' current definition).

Per structure: ``amd.AMD(amd.periodicset_from_pymatgen_structure(niggli), k)`` with
k = :data:`AMD_K` (package ``average-minimum-distance``, imported as ``amd``), where
``niggli`` is the Niggli-reduced cell. Per row, ``d`` is the L∞ distance between the
prediction's and the target's vectors (Å); ccRMSD = sqrt(mean d²) over rows where both
structures parse (see :mod:`atomgenbench.evaluator.metrics.registry`).
"""

from __future__ import annotations

import warnings

import numpy as np
from pymatgen.core import Lattice, Structure

AMD_K = 100
#: cap of the older ccRMSE variant (``compute_metrics.py --tau``), reported as ``ccrmsd_legacy``
LEGACY_TAU = 0.5


def niggli_structure(structure: Structure, reduced: Lattice | None = None) -> Structure:
    """``structure`` on its Niggli-reduced lattice (``reduced`` if already computed)."""
    reduced = reduced or structure.lattice.get_niggli_reduced_lattice()
    return Structure(reduced, structure.species, structure.cart_coords, coords_are_cartesian=True, to_unit_cell=True)


def amd_vector(structure: Structure, k: int = AMD_K, *, reduced: Lattice | None = None) -> tuple[float, ...]:
    """The k-term AMD of the Niggli-reduced cell of ``structure`` (Å)."""
    import amd

    with warnings.catch_warnings():  # amd warns about merged overlapping sites; validity reports those
        warnings.simplefilter("ignore")
        pset = amd.periodicset_from_pymatgen_structure(niggli_structure(structure, reduced))
        return tuple(float(x) for x in np.asarray(amd.AMD(pset, k), float))


def linf(u, v) -> float:
    """L∞ distance ``max_j |u_j − v_j|``."""
    return float(np.max(np.abs(np.asarray(u, float) - np.asarray(v, float))))
