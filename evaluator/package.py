"""Write a JARVIS-Leaderboard AtomGenBench contribution folder from predictions.

For each structure benchmark given (``dft_3d_Tc_supercon``, ``alex_supercon_Tc``)
:func:`package_contribution` writes seven files: the structure file (targets are
the benchmark's own POSCAR strings, predictions re-serialised as escaped
jarvis-tools POSCARs) and six lattice files whose predictions are the raw,
unreduced jarvis lattice parameters of those same POSCARs (the way the
leaderboard's own lattice files were made). It adds ``metadata.json``,
``run.sh`` and ``README.md``, builds everything in a temporary sibling folder
and renames it into place only when complete.

Failed predictions: the leaderboard needs every test id and crashes on an
unparseable POSCAR, so a failure cannot be left out or left empty. By default
packaging stops and lists the failed ids. With ``fill_failures=True`` each
failure gets :data:`PLACEHOLDER_POSCAR`, a one-atom helium cell. No benchmark
target contains helium, so under the leaderboard's species-aware matcher a
placeholder never matches: the RMSE is computed over the other rows exactly as
for any unmatched prediction, and the placeholder's lattice parameters (1 Å,
90°) enter the MAE files as a deliberately poor guess rather than flattering
ones. Every filled id and its reason is recorded in ``metadata.json``
(``failed_predictions``) and ``README.md``, and ``validate`` reports them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions, atomic_write_text
from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE, LATTICE_PARAMS, get_spec, lattice_specs
from atomgenbench.benchmarks.atomgen.structures import (
    StructureParseError,
    escape,
    jarvis_lattice_params,
    parse_poscar,
    to_escaped_poscar,
)
from atomgenbench.errors import AtomGenBenchError
from atomgenbench.evaluator.contribution import check_metadata, write_csv_zip
from atomgenbench.evaluator.validate_files import MAX_ATOMS, PLACEHOLDER_COMMENT

PLACEHOLDER_POSCAR = (
    f"{PLACEHOLDER_COMMENT}\n1.0\n1.0 0.0 0.0\n0.0 1.0 0.0\n0.0 0.0 1.0\nHe \n1 \ndirect\n0.0 0.0 0.0 He\n"
)
FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
METADATA_DEFAULTS = {
    "software_used": "atomgenbench,jarvis-tools,pymatgen",
    "hardware_used": "not specified",
    "database_version": "08-08-2025",
    "language": "python",
    "os": "linux",
}


class PackageError(AtomGenBenchError, ValueError):
    """Predictions or metadata that cannot become a leaderboard contribution."""


@dataclass
class PackageResult:
    """What :func:`package_contribution` wrote."""

    out_dir: Path
    files: list[str]
    filled: dict[str, dict[str, str]] = field(default_factory=dict)


def _ids_listing(ids: list[str], limit: int = 10) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def prediction_rows(
    benchmark: str, preds: Predictions, *, fill_failures: bool = False
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(id, escaped POSCAR) for every test id in benchmark order, and the filled failures.

    Raises :class:`PackageError` for ids outside the test split, and for failed,
    missing or unparseable predictions unless ``fill_failures``.
    """
    test = list(load_splits(benchmark)["test"])
    extra = sorted(set(preds.structures) - set(test))
    if extra:
        raise PackageError(
            f"{benchmark}: {len(extra)} predicted ids are not test ids of the benchmark: {_ids_listing(extra)}"
        )
    rows, failed = [], {}
    for key in test:
        text = preds.structures.get(key)
        reason = preds.failures.get(key) if text is not None else "missing from the predictions"
        if text:
            try:
                rows.append((key, to_escaped_poscar(parse_poscar(text, max_atoms=MAX_ATOMS))))
                continue
            except StructureParseError as exc:
                reason = f"unparseable prediction: {exc}"
        failed[key] = reason or "no prediction"
        rows.append((key, escape(PLACEHOLDER_POSCAR)))
    if failed and not fill_failures:
        detail = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:10])
        raise PackageError(
            f"{benchmark}: {len(failed)} of {len(test)} test ids have no usable prediction "
            f"({_ids_listing(list(failed))}). The leaderboard needs a valid structure for every id. "
            f"Re-run the model for them, or pass --fill-failures to write a recorded placeholder. "
            f"Reasons: {detail}"
        )
    return rows, failed


def benchmark_files(benchmark: str, rows: list[tuple[str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """The seven leaderboard files of one structure benchmark: file name -> CSV rows."""
    spec = get_spec(benchmark)
    targets = load_splits(benchmark)["test"]
    files = {spec.leaderboard_file: [(k, str(targets[k]), pred) for k, pred in rows]}
    params = {k: jarvis_lattice_params(pred) for k, pred in rows}
    for lspec in lattice_specs(benchmark):
        index = LATTICE_PARAMS.index(lspec.lattice_param)
        ltargets = load_splits(lspec.name)["test"]
        files[lspec.leaderboard_file] = [(k, repr(float(ltargets[k])), repr(params[k][index])) for k, _ in rows]
    return files


def build_metadata(
    meta: Mapping, files: list[str], filled: dict[str, dict[str, str]], time_taken: Mapping[str, object] | None = None
) -> dict:
    """metadata.json content: defaults, the user's fields, time per file, recorded failures.

    Raises :class:`PackageError` listing every schema problem.
    """
    given = {k: v for k, v in meta.items() if v is not None}
    earlier = given.pop("time_taken_seconds", None)
    given.pop("failed_predictions", None)  # recomputed below (metadata may come from an earlier package run)
    order = ("model_name", "team_name", "author_email", "project_url", "git_url", "date_submitted")
    out = {k: given[k] for k in order if k in given}
    out.update({**METADATA_DEFAULTS, **given})
    if isinstance(out.get("git_url"), str):
        out["git_url"] = [out["git_url"]]
    out.setdefault("git_url", [])
    out.setdefault("team_name", out.get("model_name"))
    out.setdefault("date_submitted", _dt.date.today().strftime("%m-%d-%Y"))
    time_taken = {**(earlier if isinstance(earlier, dict) else {}), **(time_taken or {})}
    out["time_taken_seconds"] = {f: time_taken.get(f, "") for f in files}
    if any(filled.values()):
        out["failed_predictions"] = {b: ids for b, ids in filled.items() if ids}
    errors, _ = check_metadata(out, files)
    if errors:
        raise PackageError("metadata: " + "; ".join(errors))
    return out


def readme_text(name: str, meta: dict, files: list[str], filled: dict[str, dict[str, str]]) -> str:
    lines = [
        f"# {name}",
        "",
        f"{meta['model_name']} by {meta['team_name']} on JARVIS-Leaderboard AtomGenBench.",
        f"Written by `atomgenbench package` ({len(files)} leaderboard files). Project: {meta['project_url']}.",
        "",
        "Structure files hold escaped jarvis-tools POSCARs; the lattice files hold the raw, unreduced",
        "jarvis lattice parameters of those same POSCARs. `run.sh` reproduces the predictions.",
        "",
    ]
    for bench, ids in filled.items():
        if ids:
            lines += [
                f"**{len(ids)} failed predictions for {bench}** were filled with a one-atom helium "
                "placeholder that can never match its target (ids and reasons in metadata.json, "
                f"`failed_predictions`): {_ids_listing(list(ids))}.",
                "",
            ]
    return "\n".join(lines)


def _write_folder(tmp: Path, files: dict[str, list], meta: dict, run_sh: str, readme: str) -> None:
    for name, rows in files.items():
        write_csv_zip(tmp / name, rows)
    atomic_write_text(tmp / "metadata.json", json.dumps(meta, indent=2) + "\n")
    atomic_write_text(tmp / "run.sh", run_sh)
    atomic_write_text(tmp / "README.md", readme)
    for path in tmp.iterdir():
        os.chmod(path, 0o755 if path.name == "run.sh" else 0o644)


def package_contribution(
    predictions: Mapping[str, Predictions],
    metadata: Mapping,
    out_dir: str | os.PathLike,
    *,
    run_sh: str,
    force: bool = False,
    fill_failures: bool = False,
    time_taken: Mapping[str, object] | None = None,
) -> PackageResult:
    """Write a complete contribution folder at ``out_dir`` (7 files per benchmark + metadata, run.sh, README)."""
    out_dir = Path(out_dir)
    if not FOLDER_NAME_RE.match(out_dir.name):
        raise PackageError(
            f"contribution folder name {out_dir.name!r} must use letters, digits, '_', '-' and '.' "
            "(it becomes the model name on the leaderboard)"
        )
    if out_dir.exists() and not force:
        raise PackageError(f"{out_dir} already exists; pass --force to replace it")
    unknown = sorted(set(predictions) - set(ATOMGENBENCH_STRUCTURE))
    if unknown or not predictions:
        raise PackageError(
            f"predictions must be for {' and/or '.join(ATOMGENBENCH_STRUCTURE)}, got {sorted(predictions)}"
        )
    files: dict[str, list] = {}
    filled: dict[str, dict[str, str]] = {}
    for bench in ATOMGENBENCH_STRUCTURE:
        if bench in predictions:
            rows, filled[bench] = prediction_rows(bench, predictions[bench], fill_failures=fill_failures)
            files.update(benchmark_files(bench, rows))
    meta = build_metadata(metadata, list(files), filled, time_taken)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    os.chmod(tmp, 0o755)
    try:
        _write_folder(tmp, files, meta, run_sh, readme_text(out_dir.name, meta, list(files), filled))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PackageResult(out_dir, list(files), filled)
