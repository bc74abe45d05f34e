"""What ``atomgenbench data list/show/check`` report about the benchmark data.

* :func:`data_status` — every benchmark and conditioning file, and where it would be read
  from (no hashing, no parsing);
* :func:`benchmark_info` — counts, elements, atoms per cell and T_c coverage of one
  benchmark (value ranges for a lattice-parameter benchmark);
* :func:`check_benchmark` — test crystals that duplicate training crystals (pymatgen
  ``StructureMatcher``, compared within the same reduced formula), duplicates within
  the test split, and ids without conditioning data.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from atomgenbench.benchmarks.atomgen import sources
from atomgenbench.benchmarks.atomgen.registry import REGISTRY, get_spec, require_structure
from atomgenbench.core.errors import DataError
from atomgenbench.core.output import bar

if TYPE_CHECKING:
    from pymatgen.core import Structure

#: StructureMatcher tolerances of `data check` (pymatgen's defaults)
DEFAULT_TOLERANCES = {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0}
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


def ordered_splits(sizes: dict[str, int]) -> list[tuple[str, int]]:
    """Split sizes in train, val, test order."""
    return sorted(sizes.items(), key=lambda kv: SPLIT_ORDER.get(kv[0], 9))


def data_status() -> dict[str, list[dict]]:
    """Benchmarks and auxiliary files with where each would be read from."""
    benchmarks = []
    for spec in REGISTRY.values():
        status, path = sources.where(sources.benchmark_file(spec.name))
        benchmarks.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "family": spec.family,
                "metric": spec.metric,
                "split_sizes": spec.split_sizes,
                "leaderboard_file": spec.leaderboard_file,
                "status": status,
                "path": str(path) if path else None,
            }
        )
    aux = []
    for key, datafile in sources.AUX_FILES.items():
        status, path = sources.where(datafile)
        aux.append(
            {
                "name": key,
                "file": datafile.path,
                "description": datafile.description,
                "status": status,
                "path": str(path) if path else None,
            }
        )
    return {"benchmarks": benchmarks, "aux": aux}


def parse_split(values: dict[str, object], desc: str, *, progress: bool = True) -> dict[str, Structure]:
    """Parse every POSCAR of one split; :class:`DataError` names the id that does not parse."""
    from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar

    out = {}
    for key, text in bar(values.items(), progress=progress, desc=desc, unit="crystal", leave=False):
        try:
            out[key] = parse_poscar(str(text))
        except StructureParseError as exc:
            raise DataError(f"{desc}: id {key}: {exc}") from None
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else {}


def benchmark_info(name: str, *, progress: bool = True) -> dict:
    """Counts, elements, atoms per cell and T_c coverage (structure) or value ranges (float)."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    spec = get_spec(name)
    splits = load_splits(name)
    info: dict = {
        "name": name,
        "kind": spec.kind,
        "family": spec.family,
        "splits": spec.split_sizes,
        "leaderboard_file": spec.leaderboard_file,
    }
    if spec.kind == "float":
        info["values"] = {s: _summary([float(v) for v in vals.values()]) for s, vals in splits.items()}
        return info
    from atomgenbench.benchmarks.atomgen.tc import TC_PROVENANCE, tc_table

    elements: Counter = Counter()
    natoms: dict[str, list[int]] = {}
    for split, values in splits.items():
        structs = parse_split(values, f"{name} {split}", progress=progress)
        natoms[split] = [len(s) for s in structs.values()]
        for s in structs.values():
            elements.update({el.symbol for el in s.composition.elements})
    info["atoms_per_cell"] = {s: _summary(v) for s, v in natoms.items()}
    info["elements"] = dict(elements.most_common())
    table = tc_table(spec.family)
    if table:
        tc = {s: [table[i] for i in vals if i in table] for s, vals in splits.items()}
        info["tc"] = {s: {**_summary(v), "covered": len(v), "of": len(splits[s])} for s, v in tc.items()}
        info["tc_source"] = TC_PROVENANCE.get(spec.family, "")
    return info


@dataclass
class CheckReport:
    """Findings of `data check` for one structure benchmark."""

    name: str
    tolerances: dict[str, float]
    test_size: int
    train_size: int
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # test id -> matching train ids
    test_internal_duplicates: list[list[str]] = field(default_factory=list)
    test_formula_in_train: int = 0
    missing_tc: dict[str, list[str]] = field(default_factory=dict)  # split -> ids without T_c
    tc_source: str = ""


def check_benchmark(
    name: str,
    *,
    ltol: float = DEFAULT_TOLERANCES["ltol"],
    stol: float = DEFAULT_TOLERANCES["stol"],
    angle_tol: float = DEFAULT_TOLERANCES["angle_tol"],
    progress: bool = True,
) -> CheckReport:
    """Test crystals that duplicate training crystals, and ids without conditioning data.

    Crystals are compared only within the same reduced formula, with pymatgen's
    ``StructureMatcher(ltol, stol, angle_tol)`` (species-aware, primitive cells).
    Raises :class:`UsageError` for a lattice-parameter benchmark.
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher

    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.benchmarks.atomgen.tc import TC_PROVENANCE, tc_table

    spec = require_structure(name, "data check")
    splits = load_splits(name)
    train = parse_split(splits["train"], f"{name} train", progress=progress)
    test = parse_split(splits["test"], f"{name} test", progress=progress)
    matcher = StructureMatcher(ltol=ltol, stol=stol, angle_tol=angle_tol)
    report = CheckReport(name, {"ltol": ltol, "stol": stol, "angle_tol": angle_tol}, len(test), len(train))
    report.duplicates, seen = train_twins(train, test, matcher, progress=progress, desc=f"{name} matching")
    report.test_formula_in_train = len(seen)
    test_groups: dict[str, list[str]] = defaultdict(list)
    for key, s in test.items():
        test_groups[s.composition.reduced_formula].append(key)
    for keys in test_groups.values():
        report.test_internal_duplicates.extend(_clusters(keys, test, matcher))
    table = tc_table(spec.family)
    if table:
        report.missing_tc = {s: [i for i in vals if i not in table] for s, vals in splits.items()}
        report.tc_source = TC_PROVENANCE.get(spec.family, "")
    return report


def train_twins(
    train: dict[str, Structure], test: dict[str, Structure], matcher, *, progress: bool = True, desc: str = "matching"
) -> tuple[dict[str, list[str]], set[str]]:
    """``({test id: matching train ids}, test ids whose reduced formula occurs in train)``.

    A test crystal is compared, with ``matcher.fit``, only with the training crystals of
    its own reduced formula (the species-aware matcher rejects every other pair).
    """
    by_formula: dict[str, list[str]] = defaultdict(list)
    for key, s in train.items():
        by_formula[s.composition.reduced_formula].append(key)
    twins: dict[str, list[str]] = {}
    seen: set[str] = set()
    for key, s in bar(test.items(), progress=progress, desc=desc, unit="crystal", leave=False):
        candidates = by_formula.get(s.composition.reduced_formula, [])
        if candidates:
            seen.add(key)
        hits = [c for c in candidates if matcher.fit(s, train[c])]
        if hits:
            twins[key] = hits
    return twins, seen


def _clusters(keys: list[str], structs: dict, matcher) -> list[list[str]]:
    """Groups (size > 1) of mutually matching crystals among ``keys``."""
    groups: list[list[str]] = []
    for key in keys:
        for group in groups:
            if matcher.fit(structs[key], structs[group[0]]):
                group.append(key)
                break
        else:
            groups.append([key])
    return [g for g in groups if len(g) > 1]
