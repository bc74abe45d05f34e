"""Target-side work of a benchmark, done once and cached per benchmark file.

Every evaluation of a benchmark needs the same facts about its test crystals: the parsed
cell, the Niggli and raw lattice parameters, space group and crystal system, the AMD
fingerprint, the validity and the cell the StructureMatcher compares
(:mod:`atomgenbench.evaluator.scoring.rms`). :func:`target_table` computes them once (in the worker
pool) and keeps them as JSON in the user cache (``$ATOMGENBENCH_CACHE`` or the platform
cache dir, folder ``targets/``), keyed by the benchmark file's sha256 and every setting and
library version they depend on; a corrupt or foreign cache file is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.registry import get_spec
from atomgenbench.benchmarks.atomgen.sources import cache_dir
from atomgenbench.benchmarks.atomgen.structures import parse_poscar
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.versions import package_version
from atomgenbench.evaluator.scoring import ccrmsd, rms, symmetry, validity
from atomgenbench.evaluator.scoring.lattice import raw_params_of

log = logging.getLogger("atomgenbench")

CACHE_VERSION = 2  # 2: the matcher's reduced cell (``reduced``)
#: ``guard(fn, what)``: run ``fn`` (under the per-pair time limit); ``None`` when it did not finish
Guard = Callable[[Callable, str], object]
_DEPENDS_ON = ("pymatgen", "spglib", "jarvis-tools", "average-minimum-distance", "smact", "numpy")


@dataclass(frozen=True)
class TargetInfo:
    """What every evaluation needs of one test crystal (``None``: not computed)."""

    lattice: tuple  # 3 × 3 matrix, Å
    species: tuple[str, ...]
    frac_coords: tuple  # n × 3
    niggli: tuple[float, ...] | None = None
    raw: tuple[float, ...] | None = None
    crystal_system: str | None = None
    spacegroup: int | None = None
    amd: tuple[float, ...] | None = None
    valid_structural: bool | None = None
    valid_composition: bool | None = None
    validity_note: str | None = None
    reduced: tuple | None = None  # rms.as_cell of the structure get_rms_dist compares

    def structure(self) -> Structure:
        """The parsed target (the same numbers as ``parse_poscar`` of its text)."""
        return Structure(self.lattice, list(self.species), self.frac_coords, coords_are_cartesian=False)


def describe(text: str, settings, structure: Structure | None = None, guard: Guard | None = None) -> TargetInfo:
    """The :class:`TargetInfo` of a target POSCAR for ``settings`` (a MatchSettings).

    ``guard(fn, what)`` runs each analysis (the worker's per-pair time limit; ``None`` on a
    timeout or error). Raises :class:`~atomgenbench.benchmarks.atomgen.structures.StructureParseError`
    for a target that does not parse.
    """
    guard = guard or _direct
    s = structure if structure is not None else parse_poscar(text)
    out = {
        "lattice": tuple(tuple(float(x) for x in row) for row in s.lattice.matrix),
        "species": tuple(site.specie.symbol for site in s),
        "frac_coords": tuple(tuple(float(x) for x in row) for row in s.frac_coords),
    }
    reduced = None
    if settings.lattice or settings.wants_ccrmsd or settings.wants_validity:
        reduced = s.lattice.get_niggli_reduced_lattice()
    if settings.lattice:
        out["niggli"] = tuple(float(x) for x in (*reduced.abc, *reduced.angles))
        out["raw"] = raw_params_of(s)
    if settings.rms:
        out["reduced"] = guard(lambda: rms.as_cell(rms.reduce_for_matcher(_matcher(), s)), "target reduction")
    if settings.symmetry:
        out["spacegroup"], out["crystal_system"] = guard(
            lambda: symmetry.analyse(s, settings.symprec), "target symmetry"
        ) or (None, "unknown")
    if settings.wants_ccrmsd:
        out["amd"] = guard(lambda: ccrmsd.amd_vector(s, settings.amd_k, reduced=reduced), "target AMD")
    if settings.wants_validity:
        out.update(assess_validity(s, float(reduced.abc[0]), guard))
    return TargetInfo(**out)


def assess_validity(structure: Structure, shortest_vector: float, guard: Guard) -> dict:
    """``valid_structural``, ``valid_composition`` and ``validity_note`` of one structure."""
    structural = guard(lambda: validity.structural(structure, shortest_vector), "structural validity")
    composition = guard(lambda: validity.composition(structure), "composition validity")
    notes = []
    if structural and structural[1]:
        notes.append(f"structural: {structural[1]}")
    if composition and not composition[0]:
        notes.append(f"composition: {composition[1]}")
    return {
        "valid_structural": None if structural is None else structural[0],
        "valid_composition": None if composition is None else composition[0],
        "validity_note": "; ".join(notes) or None,
    }


def _matcher():
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher()  # the reduction depends only on primitive_cell=True (its default), not the tolerances


def _direct(fn, what: str):
    return fn()


# --------------------------------------------------------------------------- the cache


def cache_path(benchmark: str, settings) -> Path:
    """Cache file of ``benchmark``'s targets under ``settings``."""
    spec = get_spec(benchmark)
    key = {
        "version": CACHE_VERSION,
        "sha256": spec.sha256,
        "lattice": settings.lattice,
        "rms": settings.rms,
        "symmetry": settings.symmetry,
        "symprec": settings.symprec,
        "ccrmsd": settings.wants_ccrmsd,
        "amd_k": settings.amd_k,
        "validity": settings.wants_validity,
        "min_distance": validity.MIN_DISTANCE,
        "min_volume": validity.MIN_VOLUME,
        "versions": {d: package_version(d) for d in _DEPENDS_ON},
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "targets" / f"{benchmark}-{spec.sha256[:12]}-{digest}.json"


def load(benchmark: str, settings, ids: list[str]) -> dict[str, TargetInfo] | None:
    """The cached table of ``benchmark`` (``None`` when missing, stale or unreadable)."""
    path = cache_path(benchmark, settings)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("cache_version") != CACHE_VERSION or list(doc["targets"]) != ids:
            return None
        return {k: _from_json(v) for k, v in doc["targets"].items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("ignoring unreadable target cache %s (%s)", path, exc)
        return None


def store(benchmark: str, settings, table: dict[str, TargetInfo]) -> None:
    """Write the table to the cache; a cache that cannot be written only costs time."""
    path = cache_path(benchmark, settings)
    doc = {"cache_version": CACHE_VERSION, "benchmark": benchmark, "targets": {k: asdict(v) for k, v in table.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, allow_nan=False) + "\n")
    except (OSError, ValueError) as exc:
        log.info("could not write the target cache %s (%s)", path, exc)


def _from_json(d: dict) -> TargetInfo:
    d = dict(d)
    for key in ("lattice", "frac_coords"):
        d[key] = tuple(tuple(row) for row in d[key])
    if d.get("reduced") is not None:
        lattice, species, frac = d["reduced"]
        d["reduced"] = (tuple(tuple(r) for r in lattice), tuple(species), tuple(tuple(r) for r in frac))
    for key in ("species", "niggli", "raw", "amd"):
        if d.get(key) is not None:
            d[key] = tuple(d[key])
    return TargetInfo(**d)
