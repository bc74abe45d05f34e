"""Space group and crystal system of one crystal, and the 7 × 7 crystal-system confusion matrix.

Both come from one pymatgen ``SpacegroupAnalyzer(structure, symprec)`` (spglib; pymatgen's
default ``angle_tolerance`` of 5°) on the cell as given. A structure spglib cannot analyse
gets space group ``None`` and crystal system ``"unknown"``.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

SYMPREC = 0.1
ANGLE_TOLERANCE = 5.0  # pymatgen's SpacegroupAnalyzer default (degrees)
CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")


def analyse(structure: Structure, symprec: float = SYMPREC) -> tuple[int | None, str]:
    """(international space-group number, crystal system) of ``structure``."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        sga = SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=ANGLE_TOLERANCE)
        return int(sga.get_space_group_number()), str(sga.get_crystal_system())
    except Exception:  # spglib can fail on degenerate cells
        return None, "unknown"


def confusion(target: list[str | None], predicted: list[str | None]) -> dict:
    """Counts of (target crystal system, predicted crystal system) over rows where both are known."""
    index = {s: i for i, s in enumerate(CRYSTAL_SYSTEMS)}
    matrix = np.zeros((len(CRYSTAL_SYSTEMS), len(CRYSTAL_SYSTEMS)), int)
    undetermined = 0
    for t, p in zip(target, predicted):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
        else:
            undetermined += 1
    return {
        "systems": list(CRYSTAL_SYSTEMS),
        "rows": "crystal system of the target",
        "columns": "crystal system of the prediction",
        "matrix": matrix.tolist(),
        "n": int(matrix.sum()),
        "n_undetermined": undetermined,
        "denominator": "test ids whose prediction parsed and both crystal systems are known",
    }
