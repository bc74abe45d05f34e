"""POSCAR text <-> structures, exactly as the leaderboard reads and writes them.

The leaderboard parses every structure with jarvis-tools
``Poscar.from_string(text).atoms.pymatgen_converter()`` after undoing the
``\\n`` escaping; everything in atomgenbench goes through :func:`parse_poscar`
so that evaluator, validator and runners agree on what a POSCAR means.
"""

from __future__ import annotations

import math

import numpy as np
from pymatgen.core import Element, Structure

from atomgenbench.benchmarks.atomgen.limits import cell_problem
from atomgenbench.core.errors import StructureError

ESCAPED_NEWLINE = "\\n"
#: hydrogen isotope labels that pymatgen silently turns into H
ISOTOPES = {"D": "deuterium", "T": "tritium"}


class StructureParseError(StructureError):
    """A POSCAR text that cannot be turned into a valid structure (message says why)."""


def escape(text: str) -> str:
    """One-line form used in leaderboard CSVs: real newlines become the two characters ``\\n``."""
    return text.replace("\r\n", "\n").replace("\n", ESCAPED_NEWLINE)


def unescape(text: str) -> str:
    """Inverse of :func:`escape` (what the leaderboard scorer does)."""
    return text.replace(ESCAPED_NEWLINE, "\n")


def parse_poscar(text: str, *, max_atoms: int | None = None) -> Structure:
    """Parse a (possibly escaped) POSCAR the way the leaderboard does and validate it.

    Accepts the jarvis dialect (trailing element labels) and the pymatgen dialect.
    Raises :class:`StructureParseError` naming the problem: unparseable text, unknown
    element, non-finite numbers, non-positive volume or more atoms than ``max_atoms``.
    """
    from jarvis.io.vasp.inputs import Poscar

    if not isinstance(text, str) or not text.strip():
        raise StructureParseError("empty prediction")
    raw = unescape(text)
    dialect = _unsupported_dialect(raw)
    if dialect:
        raise StructureParseError(dialect)
    try:
        atoms = Poscar.from_string(raw).atoms
    except Exception as exc:  # jarvis raises assorted errors on malformed text
        raise StructureParseError(f"not a VASP5 POSCAR ({type(exc).__name__}: {exc})") from None
    n = len(atoms.elements)
    if n == 0:
        raise StructureParseError("no atoms")
    if max_atoms is not None and n > max_atoms:
        raise StructureParseError(f"{n} atoms exceeds the cap of {max_atoms}")
    lattice = np.asarray(atoms.lattice_mat, dtype=float)
    coords = np.asarray(atoms.frac_coords, dtype=float)
    if not (np.all(np.isfinite(lattice)) and np.all(np.isfinite(coords))):
        raise StructureParseError("non-finite lattice or coordinates")
    volume = float(np.linalg.det(lattice))
    if not math.isfinite(volume) or volume <= 1e-8:
        raise StructureParseError(f"degenerate cell (volume {volume:.4g} Å³; a cell needs a positive volume)")
    problem = cell_problem(lattice, n)
    if problem:
        raise StructureParseError(f"implausible cell: {problem} (docs/inputs.md, Input limits)")
    isotopes = sorted({e for e in atoms.elements if e in ISOTOPES})
    if isotopes:
        named = ", ".join(f"{e} ({ISOTOPES[e]})" for e in isotopes)
        raise StructureParseError(
            f"isotope label {named}: not an element of the benchmarks (the parser would read it as H); write H"
        )
    try:
        structure = atoms.pymatgen_converter()
    except Exception as exc:  # unknown element symbols end up here
        raise StructureParseError(f"cannot convert to pymatgen ({type(exc).__name__}: {exc})") from None
    unknown = sorted({getattr(sp, "symbol", str(sp)) for sp in structure.composition if not isinstance(sp, Element)})
    if unknown:  # pymatgen turns unknown symbols into dummy species instead of failing
        raise StructureParseError(f"unknown element symbol(s): {', '.join(unknown)}")
    return structure


def _unsupported_dialect(raw: str) -> str | None:
    """Why a POSCAR the leaderboard's parser would misread is refused (``None``: fine)."""
    lines = raw.splitlines()
    scale = lines[1].split() if len(lines) > 1 else []
    if len(scale) == 1 and scale[0].startswith("-"):
        return (
            f"negative scale factor {scale[0]} on line 2 (VASP reads it as the cell volume, the leaderboard's "
            "jarvis-tools parser multiplies the lattice by it); write the scaled lattice with 1.0 on line 2"
        )
    counts = lines[5].split() if len(lines) > 5 else []
    if counts and all(c.isdigit() for c in counts):
        return (
            "VASP4-style POSCAR: no element-symbol line (line 6 holds the atom counts); the leaderboard's "
            "parser needs VASP5, with the element symbols on line 6 and the counts on line 7"
        )
    return None


def niggli_cell(structure: Structure) -> Structure:
    """Niggli-reduced copy of ``structure`` (the same atoms, a canonical cell), as the model
    runners train on; the input itself if pymatgen cannot reduce it (some degenerate cells)."""
    try:
        return structure.get_reduced_structure("niggli")
    except Exception:
        return structure


def to_poscar(structure: Structure, comment: str = "System") -> str:
    """jarvis-tools POSCAR text (real newlines) for a pymatgen structure.

    Same dialect as the leaderboard's own files: species and count lines with a
    trailing space, ``direct`` coordinates followed by the element label.
    """
    from jarvis.core.atoms import Atoms
    from jarvis.io.vasp.inputs import Poscar

    atoms = Atoms(
        lattice_mat=np.asarray(structure.lattice.matrix, dtype=float),
        coords=np.asarray(structure.frac_coords, dtype=float),
        elements=[site.specie.symbol for site in structure],
        cartesian=False,
    )
    return Poscar(atoms, comment=comment).to_string()


def to_escaped_poscar(structure: Structure) -> str:
    """One-line escaped jarvis POSCAR, as stored in leaderboard CSVs."""
    return escape(to_poscar(structure))


def jarvis_lattice_params(text: str) -> tuple[float, float, float, float, float, float]:
    """Raw, unreduced (a, b, c, α, β, γ) of a POSCAR as jarvis-tools reports them.

    This is how the leaderboard's twelve lattice-parameter files are made (no
    Niggli or primitive reduction; jarvis rounds the matrix to 5 dp, lengths to
    6 dp and angles to 4 dp).
    """
    from jarvis.io.vasp.inputs import Poscar

    atoms = Poscar.from_string(unescape(text)).atoms
    a, b, c = (float(x) for x in atoms.lattice.abc)
    alpha, beta, gamma = (float(x) for x in atoms.lattice.angles)
    return a, b, c, alpha, beta, gamma
