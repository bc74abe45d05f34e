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
import logging
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.registry import (
    ATOMGENBENCH_STRUCTURE,
    LATTICE_PARAMS,
    MAX_ATOMS,
    get_spec,
    lattice_specs,
)
from atomgenbench.benchmarks.atomgen.structures import (
    StructureParseError,
    escape,
    jarvis_lattice_params,
    parse_poscar,
    to_escaped_poscar,
)
from atomgenbench.core.errors import AtomGenBenchError
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.versions import PROJECT_URL
from atomgenbench.evaluator.leaderboard.contribution import TEMPLATE_RUN_SH_MARKER, write_csv_zip
from atomgenbench.evaluator.leaderboard.metadata import (
    byline,
    check_metadata,
    contribution_name,
    folder_name_warning,
    normalize_metadata,
)
from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_POSCAR

FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: the install lines of run.sh (torch first, so that pip pulls no CUDA build on a CPU machine)
INSTALL_MODELS = "pip install torch==2.13.0 && pip install 'atomgenbench[models]'"
#: imported predictions need only the base package (for `package`), installed from where it exists
INSTALL_BASE = f"pip install 'atomgenbench @ git+{PROJECT_URL}'"
RUN_SH_HEAD = (
    "#!/usr/bin/env bash\n"
    "# Reproduces this contribution with atomgenbench "
    "(https://pypi.org/project/atomgenbench once released; install from the project repository).\n"
    "set -euo pipefail\n"
)
PACKAGE_FLAGS = {"dft_3d_Tc_supercon": "--dft-3d", "alex_supercon_Tc": "--alex"}
log = logging.getLogger("atomgenbench")
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
    warnings: list[str] = field(default_factory=list)


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


def family_files(benchmark: str) -> list[str]:
    """The seven leaderboard file names of a structure benchmark (structures first)."""
    return [get_spec(benchmark).leaderboard_file, *(s.leaderboard_file for s in lattice_specs(benchmark))]


def time_taken_from(predictions: Mapping[str, Predictions]) -> dict[str, float]:
    """Recorded run time per leaderboard file: the seconds of every recorded stage (fit, reconstruct).

    One rule for ``package`` and ``reproduce``: each of a benchmark's seven files gets the
    total of its run, rounded to 0.1 s; a run without recorded timings gives no entry.
    """
    out: dict[str, float] = {}
    for bench, preds in predictions.items():
        seconds = [float(v) for v in preds.time_taken_seconds.values() if isinstance(v, (int, float))]
        if seconds:
            out.update(dict.fromkeys(family_files(bench), round(sum(seconds), 1)))
    return out


def parse_time_taken(pairs: Sequence[str], files: Sequence[str]) -> dict[str, float]:
    """``["FILE=SECONDS", ...]`` -> ``{FILE: seconds}``; FILE is a file name of ``files`` or a benchmark name.

    A benchmark name (``dft_3d_Tc_supercon``) sets all seven of its files.
    """
    from atomgenbench.core.errors import UsageError, did_you_mean

    out: dict[str, float] = {}
    benchmarks = {b: family_files(b) for b in ATOMGENBENCH_STRUCTURE}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not sep or not name or not seconds >= 0:
            raise UsageError(f"--time-taken expects FILE=SECONDS with SECONDS >= 0, got {pair!r}")
        if name in benchmarks and set(benchmarks[name]) <= set(files):
            out.update(dict.fromkeys(benchmarks[name], seconds))
        elif name in files:
            out[name] = seconds
        else:
            raise UsageError(
                f"--time-taken {name!r}: not a file of this contribution{did_you_mean(name, [*files, *benchmarks])}"
            )
    return out


def build_metadata(
    meta: Mapping, files: list[str], filled: dict[str, dict[str, str]], time_taken: Mapping[str, object] | None = None
) -> tuple[dict, list[str]]:
    """metadata.json content and its warnings: defaults, the user's fields, time per file, failures.

    ``time_taken`` (recorded or given seconds) wins over ``time_taken_seconds`` in ``meta``
    except where it has no value. Raises :class:`PackageError` naming every schema problem.
    """
    try:
        given = {k: v for k, v in normalize_metadata(meta).items() if v is not None}
    except AtomGenBenchError as exc:
        raise PackageError(f"metadata: {exc}") from None
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
    seconds = {k: v for k, v in (earlier if isinstance(earlier, dict) else {}).items() if v != ""}
    seconds.update({k: v for k, v in (time_taken or {}).items() if v != ""})
    out["time_taken_seconds"] = {f: seconds.get(f, "") for f in files}
    if any(filled.values()):
        out["failed_predictions"] = {b: ids for b, ids in filled.items() if ids}
    errors, warnings = check_metadata(out, files)
    if errors:
        raise PackageError("metadata: " + "; ".join(errors))
    return out, warnings


def readme_text(
    name: str, meta: dict, files: list[str], filled: dict[str, dict[str, str]], samples: dict[str, int] | None = None
) -> str:
    """The folder's README.md, titled with the model name (``samples``: K per benchmark where K > 1)."""
    lines = [
        f"# {meta['model_name']}",
        "",
        f"{byline(meta['model_name'], meta['team_name'])} on JARVIS-Leaderboard AtomGenBench.",
        f"Written by `atomgenbench package` ({len(files)} leaderboard files). Project: {meta['project_url']}.",
        "",
        "Structure files hold escaped jarvis-tools POSCARs; the lattice files hold the raw, unreduced",
        "jarvis lattice parameters of those same POSCARs. `run.sh` reproduces the predictions.",
        "",
    ]
    if name != meta["model_name"]:
        lines[3:3] = [f"Contribution folder: `{name}`."]
    for bench, k in (samples or {}).items():
        lines += [
            f"The {bench} run drew {k} samples per test id; the leaderboard takes one structure per id, "
            "so these files hold **sample 0** of each id. No sample was chosen by comparing with the targets.",
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


def _run_command(bench: str, preds: Predictions) -> list[str]:
    """The run.sh lines that regenerate one benchmark's predictions with our runners."""
    out = f"runs/{bench}"
    cmd = ["atomgenbench", "run", preds.model, "--benchmark", bench, "--preset", str(preds.preset)]
    cmd += ["--seed", str(preds.seed if preds.seed is not None else 0)]
    trainer = preds.extra.get("trainer") if isinstance(preds.extra.get("trainer"), dict) else {}
    defaults = {"accelerator": "cpu", "devices": 1, "num_nodes": 1, "strategy": "auto"}
    for key, default in defaults.items():
        if key in trainer and trainer[key] != default:
            cmd += [f"--{key.replace('_', '-')}", str(trainer[key])]
    lines = [f"# {bench}: {preds.model}, preset {preds.preset}, seed {cmd[cmd.index('--seed') + 1]}"]
    overrides, params = preds.extra.get("overrides"), preds.extra.get("params")
    if isinstance(overrides, dict):
        for key, value in overrides.items():
            cmd += ["--set", f"{key}={json.dumps(value)}"]  # JSON is YAML: --set reads it back exactly
    elif isinstance(params, dict) and params:
        config = f"run-{bench}.yaml"
        lines += [
            "# every parameter of the run, as recorded in its predictions.json",
            f"cat > {config} <<'EOF'",
            json.dumps({"params": params}, indent=2, sort_keys=True),
            "EOF",
        ]
        cmd += ["--config", config]
    return [*lines, shlex.join([*cmd, "--out", out])]


def _template_lines(bench: str, preds: Predictions) -> list[str]:
    """run.sh lines for predictions made outside our runners: a template the user fills in."""
    origin = f" ({preds.model})" if preds.model else ""
    return [
        f"# {bench}: the predictions{origin} were made outside atomgenbench's runners.",
        f"# Fill in the commands that make them, writing runs/{bench}/ (a predictions folder, predictions.csv,",
        "# a leaderboard csv/csv.zip, CIF/POSCAR files named by id or an .extxyz file), for example:",
        f"#   python predict.py --benchmark {bench} --out runs/{bench}/predictions.csv",
        f'echo "{TEMPLATE_RUN_SH_MARKER} {bench} predictions are made (see the comments)" >&2; exit 1',
    ]


def run_sh_text(
    predictions: Mapping[str, Predictions] | None = None,
    *,
    name: str = "contribution",
    package_flags: Sequence[str] = (),
    commands: Sequence[Sequence[str]] | None = None,
) -> str:
    """The one run.sh builder: the commands that reproduce a contribution, with no local paths.

    With ``commands`` (``reproduce``: ``[["atomgenbench", "reproduce", ...]]``) run.sh installs
    atomgenbench with the model extras and runs exactly those. Otherwise, per benchmark of
    ``predictions``: the exact ``atomgenbench run`` line of a run of our runners (model, preset,
    seed, overrides or recorded parameters, trainer options), or a template to fill in for
    imported predictions; then the ``atomgenbench package`` line (plus ``package_flags``) that
    rebuilds the folder from ``runs/`` and this folder's metadata.json into ``reproduced/<name>``.
    """
    if commands is not None:
        return RUN_SH_HEAD + INSTALL_MODELS + "\n" + "".join(shlex.join(c) + "\n" for c in commands)
    predictions = predictions or {}
    ours = {b: p for b, p in predictions.items() if p.model and p.preset}
    lines = [
        INSTALL_MODELS if ours else INSTALL_BASE,
        "# Run it from any folder: it writes runs/ and reproduced/ there.",
        'HERE="$(cd "$(dirname "$0")" && pwd)"',
        "atomgenbench data fetch --all",
    ]
    package = ["atomgenbench", "package"]
    for bench in ATOMGENBENCH_STRUCTURE:
        if bench in predictions:
            preds = predictions[bench]
            lines += _run_command(bench, preds) if bench in ours else _template_lines(bench, preds)
            package += [PACKAGE_FLAGS[bench], f"runs/{bench}"]
    package += [*package_flags, "--out", f"reproduced/{name}", "--force"]
    lines.append(shlex.join(package) + ' --metadata "$HERE/metadata.json"')
    return RUN_SH_HEAD + "\n".join(lines) + "\n"


def _write_folder(tmp: Path, files: dict[str, list], meta: dict, run_sh: str, readme: str) -> None:
    for name, rows in files.items():
        write_csv_zip(tmp / name, rows)
    atomic_write_text(tmp / "metadata.json", json.dumps(meta, indent=2) + "\n")
    atomic_write_text(tmp / "run.sh", run_sh)
    atomic_write_text(tmp / "README.md", readme)
    for path in tmp.iterdir():
        os.chmod(path, 0o755 if path.name == "run.sh" else 0o644)


def _check_folder_name(out_dir: Path) -> list[str]:
    if not FOLDER_NAME_RE.match(out_dir.name):
        raise PackageError(
            f"contribution folder name {out_dir.name!r} must use letters, digits, '_', '-' and '.' "
            f"(it becomes the model name on the leaderboard); suggested: {contribution_name(out_dir.name)!r}"
        )
    problem = folder_name_warning(out_dir.name)
    return [problem] if problem else []


def package_contribution(
    predictions: Mapping[str, Predictions],
    metadata: Mapping,
    out_dir: str | os.PathLike,
    *,
    run_sh: str | None = None,
    force: bool = False,
    fill_failures: bool = False,
    time_taken: Mapping[str, object] | None = None,
    package_flags: Sequence[str] = (),
) -> PackageResult:
    """Write a complete contribution folder at ``out_dir`` (7 files per benchmark + metadata, run.sh, README).

    ``run_sh`` defaults to :func:`run_sh_text` of ``predictions`` (``package_flags`` are the
    extra ``package`` options it repeats). ``time_taken`` defaults to the predictions' recorded
    timings (:func:`time_taken_from`); a file left without seconds is a logged warning.
    """
    out_dir = Path(out_dir)
    warnings = _check_folder_name(out_dir)
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
    seconds = {**time_taken_from(predictions), **(time_taken or {})}
    meta, meta_warnings = build_metadata(metadata, list(files), filled, seconds)
    warnings += meta_warnings
    if run_sh is None:
        flags = list(package_flags)
        if fill_failures and "--fill-failures" not in flags:
            flags.append("--fill-failures")
        run_sh = run_sh_text(predictions, name=out_dir.name, package_flags=flags)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    os.chmod(tmp, 0o755)
    try:
        samples = {b: p.samples for b, p in predictions.items() if p.samples > 1}
        _write_folder(tmp, files, meta, run_sh, readme_text(out_dir.name, meta, list(files), filled, samples))
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
    for warning in warnings:
        log.warning("%s: %s", out_dir.name, warning)
    return PackageResult(out_dir, list(files), filled, warnings)
