"""Limits on an input cell, checked before any analysis (docs/inputs.md, "Input limits").

A POSCAR of a few bytes can describe a cell that no matcher should be asked about: one row with
a 10,000 Å lattice vector made pymatgen's StructureMatcher and Niggli reduction take about 70 s
and 15 GB of memory, and the leaderboard's own scorer fails on it with MemoryError. Each limit
below lies far outside every crystal of the four structure benchmarks (all splits) and every
prediction of the official and committed contributions, so no score moves; the largest real
values are in the comments (``scripts/check_limits.py`` recomputes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CellLimits:
    #: longest lattice vector (Å); benchmarks at most 22.0 (alex), predictions at most 17.3
    max_length: float = 100.0
    #: longest / shortest lattice vector; benchmarks at most 7.1 (carbon24), predictions at most 8.1
    max_aspect: float = 30.0
    #: volume per atom (Å³); benchmarks 5.3-76.5, predictions 0.76-59
    min_volume_per_atom: float = 0.1
    max_volume_per_atom: float = 1000.0
    #: volume / (a b c), 1 for a rectangular cell and 0 for a flat one; benchmarks at least 0.064,
    #: predictions at least 0.11
    min_flatness: float = 0.01


LIMITS = CellLimits()


def cell_problem(lattice: np.ndarray, n_atoms: int, limits: CellLimits = LIMITS) -> str | None:
    """Why a cell (3×3 matrix, rows are vectors) with ``n_atoms`` sites is refused; ``None``: within limits."""
    lengths = np.linalg.norm(np.asarray(lattice, float), axis=1)
    volume = abs(float(np.linalg.det(lattice)))
    longest, shortest = float(lengths.max()), float(lengths.min())
    if longest > limits.max_length:
        return f"lattice vector of {longest:.4g} Å exceeds the {limits.max_length:g} Å limit"
    if shortest <= 0 or longest / shortest > limits.max_aspect:
        return (
            f"lattice vectors of {shortest:.4g} and {longest:.4g} Å: aspect ratio above the limit of "
            f"{limits.max_aspect:g}"
        )
    per_atom = volume / max(n_atoms, 1)
    if not limits.min_volume_per_atom <= per_atom <= limits.max_volume_per_atom:
        return (
            f"volume per atom {per_atom:.4g} Å³ outside the limits "
            f"{limits.min_volume_per_atom:g}-{limits.max_volume_per_atom:g} Å³"
        )
    flatness = volume / math.prod(float(x) for x in lengths)
    if flatness < limits.min_flatness:
        return f"nearly flat cell (volume / (a b c) = {flatness:.3g}, limit {limits.min_flatness:g})"
    return None


#: atom sites a CIF may ask pymatgen to build: listed sites × symmetry operations, an upper bound
#: on the cell after symmetry expansion. pymatgen's CIF reader is quadratic in the sites it builds:
#: 8,000 listed P1 sites took 9 s, 100 general sites of Fm-3m (19,200 atoms) 21 s, and one CIF of
#: 200,000 sites did not finish in 3 minutes. Real predictions have at most a few hundred atoms
#: (``--max-atoms`` refuses more than 200 after parsing anyway).
MAX_CIF_SITES = 10_000
_CIF_OPERATION_KEYS = (
    "_symmetry_equiv_pos_as_xyz",
    "_space_group_symop_operation_xyz",
    "_space_group_symop.operation_xyz",
    "_symmetry_equiv_pos_as_xyz_",
)
_CIF_GROUP_KEYS = ("_symmetry_space_group_name_H-M", "_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M_")


def _cif_operations(data: dict) -> int:
    """Symmetry operations a CIF block applies (listed, else of its named group; 192 if unknown)."""
    for key in _CIF_OPERATION_KEYS:
        if key in data:
            value = data[key]
            return len(value) if isinstance(value, list) else 1
    name = next((data[k] for k in _CIF_GROUP_KEYS if k in data), None)
    if name is None:
        return 1  # pymatgen then reads the block as P1
    from pymatgen.symmetry.groups import SpaceGroup

    try:
        return len(SpaceGroup(str(name).strip("'\" ")).symmetry_ops)
    except Exception:  # noqa: BLE001 - an unknown symbol: assume the largest group
        return 192


def cif_site_problem(data: dict, limit: int = MAX_CIF_SITES) -> str | None:
    """Why a CIF block (``CifBlock.data``) is refused before pymatgen builds it; ``None``: within the limit."""
    sites = data.get("_atom_site_fract_x", data.get("_atom_site_Cartn_x", []))
    rows = len(sites) if isinstance(sites, list) else 1
    operations = _cif_operations(data)
    if rows * operations > limit:
        return (
            f"CIF of {rows:,} atom sites × {operations} symmetry operations: over the limit of {limit:,} sites "
            "(docs/inputs.md, Input limits)"
        )
    return None
