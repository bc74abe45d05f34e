"""Checks of one leaderboard csv.zip against its benchmark (used by :mod:`atomgenbench.evaluator.submission.validate`).

Errors are what would make the live leaderboard reject the file, crash its build,
or silently score fewer rows than it should; warnings are what it tolerates but
a contributor should know (rows that can never match their target).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import MAX_PROBLEMS_PER_KIND, CsvRow, parse_csv
from atomgenbench.benchmarks.atomgen.registry import MAX_ATOMS, BenchmarkSpec, get_spec
from atomgenbench.benchmarks.atomgen.structures import (
    StructureParseError,
    jarvis_lattice_params,
    parse_poscar,
    unescape,
)
from atomgenbench.evaluator.leaderboard.contribution import (
    ContributionError,
    decode_text,
    parse_leaderboard_name,
    read_zip_member,
)
from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_COMMENT

#: hard cap on atoms per predicted cell (a defence: StructureMatcher time grows fast with size)
#: comment line of the placeholder written by ``package --fill-failures``
#: pandas-parsable plain float (no ``1_000``, ``nan``, ``inf``, hex ...)
FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
EXAMPLES = 3


@dataclass
class Finding:
    """One problem: ``severity`` is ``"error"`` or ``"warning"``; ``row`` is the CSV line or ``None``."""

    file: str
    row: int | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "message": self.message}


@dataclass
class FileCheck:
    """Result of checking one csv.zip: findings, and the parsed content for cross-file checks."""

    spec: BenchmarkSpec | None = None
    findings: list[Finding] = field(default_factory=list)
    #: structure files: id -> raw jarvis (a, b, c, alpha, beta, gamma) of the prediction
    lattice: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: float files: id -> predicted value
    values: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(f.severity == "error" for f in self.findings)


def _examples(items: list[str]) -> str:
    shown = ", ".join(items[:EXAMPLES])
    return shown + (", ..." if len(items) > EXAMPLES else "")


def resolve_spec(file_name: str) -> BenchmarkSpec:
    """The benchmark a file name scores; :class:`ContributionError` when the name is wrong."""
    name = parse_leaderboard_name(file_name)
    if name.subcategory != "AtomGen":
        raise ContributionError(
            f"{name.category}-{name.subcategory} is not an AtomGen benchmark; "
            "atomgenbench validates AtomGen contributions only"
        )
    try:
        spec = get_spec(name.benchmark)
    except KeyError:
        raise ContributionError(
            f"no benchmark {name.benchmark!r} (from property {name.prop!r} and dataset "
            f"{name.dataset!r}) exists on the leaderboard"
        ) from None
    if name.split not in spec.split_sizes:
        raise ContributionError(f"split {name.split!r} does not exist in {spec.name}; use 'test'")
    if name.split != "test":
        raise ContributionError(f"split {name.split!r}: contributions are scored on 'test'")
    if name.metric != spec.metric:
        raise ContributionError(f"metric {name.metric!r} is wrong for {spec.name}; use {spec.metric!r}")
    return spec


class _RowFindings:
    """Row-level errors of one file, at most :data:`MAX_PROBLEMS_PER_KIND` listed per kind."""

    def __init__(self, label: str, result: FileCheck):
        self.label, self.result = label, result
        self.counts: dict[str, int] = {}

    def add(self, kind: str, row: int, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_PROBLEMS_PER_KIND:
            self.result.findings.append(Finding(self.label, row, message))

    def close(self) -> None:
        for kind, n in self.counts.items():
            if n > MAX_PROBLEMS_PER_KIND:
                self.result.findings.append(
                    Finding(self.label, None, f"... and {n - MAX_PROBLEMS_PER_KIND} more {kind}")
                )


def id_set_findings(label: str, rows: list[CsvRow], expected: list[str]) -> list[Finding]:
    """The id column must equal the benchmark's test ids exactly: no missing or extra id.

    Repeated and empty ids are reported by the CSV reader (:func:`parse_csv`), which
    keeps the first row of an id only.
    """
    seen = {row.id: row.line for row in rows}
    want = set(expected)
    missing = [i for i in expected if i not in seen]
    extra = [i for i in seen if i not in want]
    if not (missing or extra):
        return []
    parts = [f"ids do not match the benchmark's {len(expected)} test ids: file has {len(seen)} distinct ids"]
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {_examples(missing)})")
    if extra:
        parts.append(f"{len(extra)} not in the test split (e.g. {_examples(extra)})")
    row = seen[extra[0]] if extra else None
    return [Finding(label, row, "; ".join(parts))]


def _same_poscar(given: str, benchmark: str) -> bool:
    """Whether a target column holds the benchmark's POSCAR (line by line, surrounding spaces ignored)."""

    def lines(text: str) -> list[str]:
        return [line.strip() for line in unescape(str(text)).strip().splitlines()]

    return given.strip() == str(benchmark).strip() or lines(given) == lines(benchmark)


def _forged_targets(label: str, rows: list[CsvRow], targets: dict[str, object]) -> list[Finding]:
    """A warning listing the rows whose target column is not the benchmark's POSCAR."""
    forged = [
        f"{row.id} (line {row.line})"
        for row in rows
        if isinstance(targets.get(row.id), str) and not _same_poscar(row.target, targets[row.id])
    ]
    if not forged:
        return []
    message = (
        f"{len(forged)} target structures differ from the benchmark's (the leaderboard scores against its own): "
        f"{_examples(forged)}"
    )
    return [Finding(label, None, message, "warning")]


def check_structure_rows(
    label: str,
    rows: list[CsvRow],
    spec: BenchmarkSpec,
    targets: dict[str, object],
    result: FileCheck,
    *,
    max_atoms: int = MAX_ATOMS,
) -> None:
    """Every prediction must parse with jarvis-tools and pymatgen; warn on rows that cannot match."""
    comp_mismatch: list[str] = []
    count_mismatch: list[str] = []
    placeholders: list[str] = []
    bad = _RowFindings(label, result)
    result.findings += _forged_targets(label, rows, targets)
    for row in rows:
        try:
            pred = parse_poscar(row.prediction, max_atoms=max_atoms)
            result.lattice[row.id] = jarvis_lattice_params(row.prediction)
        except StructureParseError as exc:
            bad.add("invalid structures", row.line, f"id {row.id!r}: prediction is not a valid structure: {exc}")
            continue
        except Exception as exc:  # anything else jarvis/pymatgen raise on hostile text
            bad.add(
                "invalid structures",
                row.line,
                f"id {row.id!r}: prediction cannot be read ({type(exc).__name__}: {exc})",
            )
            continue
        if row.prediction.startswith(PLACEHOLDER_COMMENT):
            placeholders.append(row.id)
            continue
        target_text = targets.get(row.id)
        if not isinstance(target_text, str):
            continue
        try:
            target = parse_poscar(target_text)
        except StructureParseError:
            continue
        if len(pred) != len(target):
            count_mismatch.append(f"{row.id} (line {row.line}: {len(pred)} vs {len(target)} atoms)")
        if pred.composition.reduced_composition != target.composition.reduced_composition:
            comp_mismatch.append(
                f"{row.id} (line {row.line}: {pred.composition.reduced_formula} vs "
                f"{target.composition.reduced_formula})"
            )
    bad.close()
    n = len(rows)
    if placeholders:
        result.findings.append(
            Finding(
                label,
                None,
                f"{len(placeholders)} of {n} rows are placeholders for failed "
                f"predictions (e.g. {_examples(placeholders)})",
                "warning",
            )
        )
    if comp_mismatch:
        result.findings.append(
            Finding(
                label,
                None,
                f"{len(comp_mismatch)} of {n} predictions have another "
                f"composition than their target and can never match: "
                f"{_examples(comp_mismatch)}",
                "warning",
            )
        )
    if count_mismatch:
        result.findings.append(
            Finding(
                label,
                None,
                f"{len(count_mismatch)} of {n} predictions have another atom "
                f"count than their target: {_examples(count_mismatch)}",
                "warning",
            )
        )


def check_float_rows(label: str, rows: list[CsvRow], targets: dict[str, object], result: FileCheck) -> None:
    """Every prediction must be a finite plain float; a target that disagrees with the benchmark is a warning."""
    bad_targets: list[str] = []
    bad = _RowFindings(label, result)
    for row in rows:
        text = row.prediction.strip()
        if not FLOAT_RE.match(text) or not math.isfinite(float(text)):
            bad.add(
                "invalid numbers", row.line, f"id {row.id!r}: prediction {row.prediction[:40]!r} is not a finite number"
            )
            continue
        result.values[row.id] = float(text)
        truth = targets.get(row.id)
        target = row.target.strip()
        if isinstance(truth, (int, float)) and not (FLOAT_RE.match(target) and abs(float(target) - truth) <= 1e-6):
            bad_targets.append(f"{row.id} (line {row.line})")
    bad.close()
    if bad_targets:
        result.findings.append(
            Finding(
                label,
                None,
                f"{len(bad_targets)} target values differ from the benchmark "
                f"(the leaderboard ignores them): {_examples(bad_targets)}",
                "warning",
            )
        )


def check_leaderboard_file(path: Path, label: str, *, max_atoms: int = MAX_ATOMS) -> FileCheck:
    """All checks of one csv.zip: name, zip, CSV layout, ids and every row."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    result = FileCheck()
    try:
        spec = resolve_spec(path.name)
        _, payload = read_zip_member(path)
        text = decode_text(payload, "the CSV")
    except ContributionError as exc:
        line = re.match(r"line (\d+): ", str(exc))
        result.findings.append(Finding(label, int(line.group(1)) if line else None, str(exc)))
        return result
    table = parse_csv(text, label, lenient=False)
    result.findings += [Finding(label, row, message) for row, message in table.errors]
    result.findings += [Finding(label, None, f"... and {n} more {kind} problems") for kind, n in table.omitted.items()]
    result.findings += [Finding(label, None, w, "warning") for w in table.warnings]
    if table.errors and not table.rows:  # nothing readable (e.g. a wrong header): no row checks
        return result
    result.spec = spec
    rows = table.rows
    targets = load_splits(spec.name)["test"]
    result.findings += id_set_findings(label, rows, list(targets))
    if spec.kind == "structure":
        check_structure_rows(label, rows, spec, targets, result, max_atoms=max_atoms)
    else:
        check_float_rows(label, rows, targets, result)
    return result


def check_lattice_consistency(
    label: str, lattice_file: FileCheck, structure_file: FileCheck, tol: float = 2e-4
) -> list[Finding]:
    """Warn when MAE floats disagree with the raw jarvis parameters of the rmse POSCARs."""
    spec = lattice_file.spec
    index = ("a", "b", "c", "alpha", "beta", "gamma").index(spec.lattice_param)
    off = [
        f"{i} ({v:g} vs {structure_file.lattice[i][index]:g})"
        for i, v in lattice_file.values.items()
        if i in structure_file.lattice and abs(v - structure_file.lattice[i][index]) > tol
    ]
    if not off:
        return []
    return [
        Finding(
            label,
            None,
            f"{len(off)} of {len(lattice_file.values)} values differ by more than {tol:g} "
            f"from the lattice parameter {spec.lattice_param} of the same id's structure in "
            f"{spec.structure_benchmark}'s file: {_examples(off)}",
            "warning",
        )
    ]
