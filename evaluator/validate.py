"""Strict validation of JARVIS-Leaderboard AtomGen contribution folders.

:func:`validate_paths` accepts contribution folders (``metadata.json``, ``run.sh``
and ``*.csv.zip`` files) and leaderboard-shaped trees (a folder holding
``contributions/``). It checks every rule the leaderboard enforces, and the ones
it should (exact id sets, parseable structures, metadata types), and returns a
:class:`ValidationReport` of errors (block a submission) and warnings (what the
leaderboard tolerates). Valid folders can also be scored exactly as the
leaderboard will show them. Nothing a user can put in a folder makes it crash:
every unexpected exception while checking a file becomes an error naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE, get_spec, lattice_specs
from atomgenbench.errors import DataError
from atomgenbench.evaluator.contribution import (
    MAX_TEXT_BYTES,
    SUFFIX,
    ContributionError,
    check_metadata,
    load_metadata,
    read_text_file,
)
from atomgenbench.evaluator.validate_files import (
    MAX_ATOMS,
    FileCheck,
    Finding,
    check_lattice_consistency,
    check_leaderboard_file,
)

#: optional extras the leaderboard carries in contribution folders (never checked upstream)
EXTRA_NAMES = frozenset(
    {
        "README.md",
        "Dockerfile",
        "LICENSE",
        "requirements.txt",
        "environment.yml",
        "environment.yaml",
        "config.json",
        "config.yaml",
    }
)
EXTRA_SUFFIXES = (".py", ".ipynb", ".md")


@dataclass
class ValidationReport:
    """Everything :func:`validate_paths` found; ``scores`` only for folders without errors."""

    folders: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    scores: dict[str, dict] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return bool(self.folders) and not self.errors

    def as_dict(self) -> dict:
        return {
            "valid": self.valid,
            "folders": self.folders,
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
            "scores": self.scores,
        }


def _is_contributions_tree(path: Path) -> bool:
    return (path / "contributions").is_dir() and not any(path.glob(f"*{SUFFIX}"))


def collect_folders(path: Path) -> tuple[list[Path], list[Finding]]:
    """Contribution folders under ``path``; a tree's ``contributions/`` must hold folders only."""
    if not _is_contributions_tree(path):
        return [path], []
    root = path / "contributions"
    folders, findings = [], []
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            findings.append(
                Finding(
                    str(entry),
                    None,
                    "contributions/ may hold folders only: stray file "
                    "(the leaderboard build crashes with NotADirectoryError)",
                )
            )
        else:
            folders.append(entry)
    if not folders:
        findings.append(Finding(str(root), None, "no contribution folders found"))
    return folders, findings


def _check_entries(folder: Path) -> tuple[list[Path], list[Finding]]:
    """Sort folder entries into csv.zip files and stray files/folders (errors)."""
    csvs, findings = [], []
    for entry in sorted(folder.iterdir()):
        label = str(entry)
        if entry.is_symlink():
            findings.append(Finding(label, None, "symbolic links are not allowed in a contribution"))
        elif entry.is_dir():
            findings.append(Finding(label, None, "stray folder: a contribution folder holds files only"))
        elif entry.name.startswith("."):
            findings.append(Finding(label, None, "stray hidden file (e.g. .DS_Store): remove it"))
        elif entry.name.endswith(SUFFIX):
            csvs.append(entry)
        elif entry.name in ("metadata.json", "run.sh"):
            continue
        elif entry.name in EXTRA_NAMES or entry.name.endswith(EXTRA_SUFFIXES):
            if entry.stat().st_size > 10 * MAX_TEXT_BYTES:
                findings.append(Finding(label, None, f"file is {entry.stat().st_size} bytes, too large for an extra"))
        else:
            findings.append(
                Finding(
                    label,
                    None,
                    "stray file: expected *.csv.zip, metadata.json, run.sh and "
                    "optional README.md / run.py / Dockerfile / environment.yml",
                )
            )
    return csvs, findings


def _check_metadata_file(folder: Path, csv_names: list[str]) -> list[Finding]:
    path = folder / "metadata.json"
    label = str(path)
    if not path.is_file():
        return [Finding(label, None, "metadata.json is missing")]
    try:
        meta = load_metadata(path)
    except ContributionError as exc:
        return [Finding(label, None, str(exc))]
    errors, warnings = check_metadata(meta, csv_names)
    return [Finding(label, None, m) for m in errors] + [Finding(label, None, m, "warning") for m in warnings]


def _check_run_sh(folder: Path) -> list[Finding]:
    path = folder / "run.sh"
    if not path.is_file():
        return [Finding(str(path), None, "run.sh is missing (the leaderboard requires it)")]
    try:
        text = read_text_file(path, "run.sh")
    except ContributionError as exc:
        return [Finding(str(path), None, str(exc))]
    if not text.strip():
        return [Finding(str(path), None, "run.sh is empty; say how the predictions were made", "warning")]
    return []


def _check_completeness(folder: Path, checks: dict[str, FileCheck]) -> list[Finding]:
    """AtomGenBench warnings: missing files of a family, MAE floats vs rmse POSCARs."""
    findings = []
    by_bench = {c.spec.name: c for c in checks.values() if c.spec is not None}
    for structure in ATOMGENBENCH_STRUCTURE:
        family = [get_spec(structure), *lattice_specs(structure)]
        present = [s for s in family if s.name in by_bench]
        if not present:
            continue
        missing = [s.leaderboard_file for s in family if s.name not in by_bench]
        if missing:
            findings.append(
                Finding(
                    str(folder),
                    None,
                    f"incomplete AtomGenBench set for {structure}: "
                    f"{len(missing)} of 7 files missing ({', '.join(missing)})",
                    "warning",
                )
            )
        struct = by_bench.get(structure)
        if struct is None or not struct.ok:
            continue
        for spec in lattice_specs(structure):
            check = by_bench.get(spec.name)
            if check is not None and check.ok:
                findings += check_lattice_consistency(str(folder / spec.leaderboard_file), check, struct)
    return findings


def validate_folder(folder: Path, *, max_atoms: int = MAX_ATOMS) -> tuple[list[Finding], list[Path]]:
    """Check one contribution folder; return (findings, its csv.zip files)."""
    csvs, findings = _check_entries(folder)
    if not csvs:
        findings.append(Finding(str(folder), None, f"no {SUFFIX} files: a contribution needs at least one"))
    checks: dict[str, FileCheck] = {}
    for path in csvs:
        try:
            checks[path.name] = check_leaderboard_file(path, str(path), max_atoms=max_atoms)
        except DataError:  # the benchmark data is missing: not a defect of the folder
            raise
        except Exception as exc:  # a defect nobody anticipated must not crash the run
            checks[path.name] = FileCheck(
                findings=[Finding(str(path), None, f"could not be checked ({type(exc).__name__}: {exc})")]
            )
        findings += checks[path.name].findings
    findings += _check_metadata_file(folder, [p.name for p in csvs])
    findings += _check_run_sh(folder)
    findings += _check_completeness(folder, checks)
    return findings, csvs


def score_folder(csvs: list[Path], *, workers: int = 1, progress: bool = False) -> dict[str, dict]:
    """Leaderboard scores of a valid folder's files, via the evaluator."""
    from atomgenbench.evaluator.leaderboard import score_leaderboard_file

    scores = {}
    for path in csvs:
        s = score_leaderboard_file(path, workers=workers, progress=progress)
        value = None if s.value is None or (isinstance(s.value, float) and math.isnan(s.value)) else s.value
        # n_matched: structure pairs matched (rmse) or rows joined to the benchmark (mae)
        n_matched = s.n_matched if s.n_matched is not None else s.n_scored
        scores[str(path)] = {"metric": s.metric, "value": value, "n_matched": n_matched, "n_total": s.n_total}
    return scores


def validate_paths(
    paths: list[Path], *, scores: bool = True, workers: int = 1, max_atoms: int = MAX_ATOMS, progress: bool = False
) -> ValidationReport:
    """Validate contribution folders and trees; score the folders that have no errors."""
    report = ValidationReport()
    for path in paths:
        folders, findings = collect_folders(Path(path))
        report.findings += findings
        for folder in folders:
            report.folders.append(str(folder))
            folder_findings, csvs = validate_folder(folder, max_atoms=max_atoms)
            report.findings += folder_findings
            if scores and not any(f.severity == "error" for f in folder_findings):
                report.scores.update(score_folder(csvs, workers=workers, progress=progress))
    return report
