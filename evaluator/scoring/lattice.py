"""Lattice parameters of a structure: Niggli-reduced (the paper) and raw jarvis values (the leaderboard)."""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.benchmarks.atomgen.structures import jarvis_lattice_params

__all__ = ["LATTICE_PARAMS", "niggli_params", "raw_params", "raw_params_of", "crystal_system", "UNITS"]

#: unit of each lattice parameter
UNITS = {"a": "Å", "b": "Å", "c": "Å", "alpha": "°", "beta": "°", "gamma": "°"}


def niggli_params(structure: Structure) -> tuple[float, ...]:
    """(a, b, c, α, β, γ) of the Niggli-reduced cell of ``structure`` (a ≤ b ≤ c; Å and degrees).

    The cell is reduced as given (no primitive search first), as the paper describes.
    """
    lattice = structure.lattice.get_niggli_reduced_lattice()
    return tuple(float(x) for x in (*lattice.abc, *lattice.angles))


def raw_params(poscar_text: str) -> tuple[float, ...]:
    """Unreduced (a, b, c, α, β, γ) exactly as jarvis-tools reports them (the leaderboard's lattice files)."""
    return tuple(float(x) for x in jarvis_lattice_params(poscar_text))


def raw_params_of(structure: Structure) -> tuple[float, ...]:
    """:func:`raw_params` of an already parsed structure (jarvis-tools' values from its lattice matrix)."""
    from jarvis.core.lattice import Lattice as JarvisLattice

    lattice = JarvisLattice(lattice_mat=structure.lattice.matrix)
    return tuple(float(x) for x in (*lattice.abc, *lattice.angles))


def crystal_system(structure: Structure, symprec: float = 0.1) -> str:
    """Crystal system of ``structure`` by spglib through pymatgen (``"unknown"`` if it fails)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        return str(SpacegroupAnalyzer(structure, symprec=symprec).get_crystal_system())
    except Exception:  # spglib can fail on degenerate cells
        return "unknown"


def as_array(rows: list[tuple[float, ...] | None]) -> np.ndarray:
    """Stack per-row 6-tuples into an (n, 6) array with NaN rows for missing values."""
    out = np.full((len(rows), len(LATTICE_PARAMS)), np.nan)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = row
    return out


#: the first line of the one-atom placeholder cell that ``package --fill-failures`` writes for a failed prediction
PLACEHOLDER_COMMENT = "atomgenbench-placeholder-for-failed-prediction"
#: that cell: one helium atom in a 1 Å cube (no benchmark crystal matches it)
PLACEHOLDER_POSCAR = (
    f"{PLACEHOLDER_COMMENT}\n1.0\n1.0 0.0 0.0\n0.0 1.0 0.0\n0.0 0.0 1.0\nHe \n1 \ndirect\n0.0 0.0 0.0 He\n"
)
#: its raw (a, b, c, α, β, γ), what the lattice-parameter files hold for a failed prediction (a test checks it)
PLACEHOLDER_RAW = (1.0, 1.0, 1.0, 90.0, 90.0, 90.0)
