"""Strict validation of JARVIS-Leaderboard AtomGen contribution folders.

:func:`validate_paths` accepts contribution folders (``metadata.json``, ``run.sh``
and ``*.csv.zip`` files) and leaderboard-shaped trees (a folder holding
``contributions/``). It checks every rule the leaderboard enforces, and the ones
it should (exact id sets, parseable structures, metadata types), and returns a
:class:`ValidationReport` of errors (block a submission) and warnings (what the
leaderboard tolerates). Every file that passes its own checks is scored as the
leaderboard computes it (a folder-level error such as a missing run.sh does not
change a file's number; the verdict stays invalid). The RMSE of structure files
comes from the installed pymatgen unless ``leaderboard_env`` asks for the pinned
leaderboard environment; either way each rmse score carries a ``leaderboard_env``
block (which environment, borderline rows, and with the pinned environment the rows
that differ). Nothing a user can put in a folder makes it crash: every unexpected
exception while checking a file becomes an error naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import (
    ATOMGENBENCH_STRUCTURE,
    get_spec,
    lattice_specs,
    spec_for_leaderboard_file,
)
from atomgenbench.core.errors import DataError
from atomgenbench.core.executors import SERIAL, Executor
from atomgenbench.core.versions import environment_versions
from atomgenbench.evaluator.leaderboard.contribution import (
    MAX_TEXT_BYTES,
    SUFFIX,
    TEMPLATE_RUN_SH_MARKER,
    ContributionError,
    check_metadata,
    load_metadata,
    read_text_file,
)
from atomgenbench.evaluator.submission.rules import (
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
    published: dict[str, list[dict]] = field(default_factory=dict)
    #: the Special/AtomGenBench heatmap of the folders without errors (``specialized.atomgenbench_pearson``)
    special: dict = field(default_factory=dict)

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
            "published": self.published,
            "special": self.special,
            "versions": environment_versions(),
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
    if TEMPLATE_RUN_SH_MARKER in text:
        message = (
            "run.sh is still package's template for imported predictions (it stops with 'fill in how the ... "
            "predictions are made'): write the commands that make them; submit refuses it without "
            "--allow-template-run-sh"
        )
        return [Finding(str(path), None, message, "warning")]
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
    """Check one contribution folder; return (findings, its csv.zip files that passed their own checks)."""
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
    return findings, [p for p in csvs if checks[p.name].ok]


def score_folder(
    csvs: list[Path],
    *,
    executor: Executor = SERIAL,
    leaderboard_env: bool = False,
) -> tuple[dict[str, dict], list[Finding]]:
    """Leaderboard scores of files that passed their checks, and findings from the pinned scorer.

    An rmse score's ``value`` is the leaderboard environment's with ``leaderboard_env``,
    else the installed pymatgen's (``value_from`` says which); ``leaderboard_env`` holds
    both environments' numbers, the differing ids and the borderline rows.
    """
    from atomgenbench.evaluator.leaderboard.score import score_leaderboard_file

    scores, findings = {}, []
    for path in csvs:
        s = score_leaderboard_file(path, executor=executor, environment="leaderboard" if leaderboard_env else "current")
        value = None if s.value is None or (isinstance(s.value, float) and math.isnan(s.value)) else s.value
        # n_matched: structure pairs matched (rmse) or rows joined to the benchmark (mae)
        n_matched = s.n_matched if s.n_matched is not None else s.n_scored
        entry = {"metric": s.metric, "value": value, "n_matched": n_matched, "n_total": s.n_total}
        if s.environment is not None:
            pinned = s.environment["leaderboard"]
            source = pinned if pinned is not None else s.environment["current"]
            entry.update(
                value=source["value"],
                n_matched=source["n_matched"],
                match_rate=source["match_rate"],
                value_from="leaderboard environment" if pinned is not None else "current environment",
                leaderboard_env=s.environment,
            )
            for key, message in (pinned or {}).get("errors", {}).items():
                findings.append(
                    Finding(
                        str(path),
                        None,
                        f"id {key}: the leaderboard's scorer (pymatgen {pinned['environment'].get('pymatgen')}) "
                        f"raises {message}; the leaderboard build would crash on this file",
                    )
                )
        scores[str(path)] = entry
    return scores, findings


def validate_paths(
    paths: list[Path],
    *,
    scores: bool = True,
    executor: Executor = SERIAL,
    max_atoms: int = MAX_ATOMS,
    leaderboard_env: bool = False,
    published: bool = False,
) -> ValidationReport:
    """Validate contribution folders and trees; score every file that passed its own checks.

    ``leaderboard_env`` scores the rmse files in the pinned leaderboard environment
    (built on first use); ``published`` adds the leaderboard's published rows of the
    AtomBench authors' runs for every structure benchmark scored.
    """
    from atomgenbench.evaluator.leaderboard.published import published_rows
    from atomgenbench.evaluator.leaderboard.specialized import atomgenbench_pearson

    report = ValidationReport()
    clean: list[Path] = []
    for path in paths:
        folders, findings = collect_folders(Path(path))
        report.findings += findings
        for folder in folders:
            report.folders.append(str(folder))
            folder_findings, scorable = validate_folder(folder, max_atoms=max_atoms)
            report.findings += folder_findings
            if not any(f.severity == "error" for f in folder_findings):
                clean.append(folder)
            if scores and scorable:
                folder_scores, score_findings = score_folder(
                    scorable, executor=executor, leaderboard_env=leaderboard_env
                )
                report.scores.update(folder_scores)
                report.findings += score_findings
    if scores and clean:
        table = atomgenbench_pearson(clean)
        report.special = table if table["models"] else {}
    if published:
        for path in report.scores:
            spec = spec_for_leaderboard_file(Path(path).name)
            if spec is not None and spec.kind == "structure":
                report.published.setdefault(spec.name, published_rows(spec.name))
    return report
