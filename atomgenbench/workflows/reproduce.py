"""``atomgenbench reproduce``: one command from data to a validated leaderboard folder.

Stages, in order (each recorded in ``<out>/stages.json`` with a configuration hash
and its wall time; a stage whose outputs exist for the same hash is skipped, so an
interrupted run resumes where it stopped):

1. ``fetch``    — verify or download every data file the selected benchmarks need;
2. ``run``      — fit and reconstruct each model and baseline on each benchmark
                  (``atomgenbench.runners.api.run``, itself resumable) → ``runs/<model>/<benchmark>/``;
3. ``package``  — a contribution folder per model and non-oracle baseline
                  → ``submissions/atomgenbench-<model>-<preset>/``;
4. ``evaluate`` — every metric, on the packaged structure file where there is one
                  (so the report equals what ``atomgenbench evaluate`` gives on the
                  folder), else on ``predictions.csv`` → ``eval/<benchmark>/<model>/``;
5. ``compare``  — paired bootstrap table and bar charts per benchmark → ``report/<benchmark>/``;
6. ``leaderboard_env`` — which environment decides each packaged structure file's RMSE
                  (with ``--leaderboard-env`` also the leaderboard's own) → ``leaderboard_env.json``;
7. ``report``   — ``report.md`` with all tables, figures, published numbers, hardware and times,
                  and ``report.html``, one self-contained page with a crystal viewer;
8. ``validate`` — ``atomgenbench validate`` rules on every packaged folder → ``validation.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import CSV_NAME
from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE, get_spec, lattice_specs, require_structure
from atomgenbench.core.errors import RunError
from atomgenbench.core.executors import Executor
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.output import bar, ensure_configured
from atomgenbench.runners.base import TrainerOptions
from atomgenbench.workflows.evaluation import EvaluationSettings

log = logging.getLogger("atomgenbench")

#: reproduce preset -> runner preset of the models (baselines have the same parameters in every preset)
PRESET_MAP = {"quick": "smoke", "cpu": "cpu", "paper": "paper"}
DEFAULT_MODELS = ("atomgpt", "cdvae", "flowmm", "template")
DEFAULT_BASELINES = ("oracle", "prior", "nearest")
NOT_PACKAGED = frozenset({"oracle"})  # a sanity check, never a leaderboard entry
STAGES_FILE = "stages.json"
LEADERBOARD_ENV_FILE = "leaderboard_env.json"


class ReproduceError(RunError):
    """A stage failed in a way the user must fix (the message says which and why)."""


@dataclass
class ReproduceConfig:
    """What to reproduce and where."""

    preset: str
    out: Path
    models: tuple[str, ...] = DEFAULT_MODELS
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    benchmarks: tuple[str, ...] = ATOMGENBENCH_STRUCTURE
    seed: int = 0
    executor: Executor = field(default_factory=lambda: Executor.create("process", "auto"))
    n_bootstrap: int = 1000
    leaderboard_env: bool = False  # score the packaged files in the leaderboard's pinned environment too
    metadata: dict = field(default_factory=dict)
    trainer: TrainerOptions = field(default_factory=TrainerOptions)
    argv: list[str] = field(default_factory=list)

    @property
    def runner_preset(self) -> str:
        return PRESET_MAP[self.preset]

    @property
    def settings(self) -> EvaluationSettings:
        """The evaluation settings of every evaluate stage (the results tables keep the species-blind column)."""
        return EvaluationSettings(seed=self.seed, n_bootstrap=self.n_bootstrap, legacy_anonymous=True)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.baselines) + tuple(self.models)

    def submission_dir(self, label: str) -> Path:
        return self.out / "submissions" / f"atomgenbench-{label}-{self.preset}"


@dataclass
class Stage:
    key: str
    run: Callable[[], dict]
    fingerprint: Callable[[], str] | None = None  # None: always run


@dataclass
class ReproduceResult:
    out: Path
    report: Path
    submissions: list[Path]
    valid: bool
    timings: dict[str, float]


def _sha(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(part.read_bytes() if part.is_file() else b"<missing>")
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


class _StageBook:
    """``stages.json``: per stage its fingerprint, wall seconds and summary."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, dict] = json.loads(path.read_text()) if path.is_file() else {}

    def done(self, key: str, fingerprint: str) -> bool:
        return self.data.get(key, {}).get("fingerprint") == fingerprint

    def record(self, key: str, fingerprint: str | None, seconds: float, info: dict) -> None:
        self.data[key] = {"fingerprint": fingerprint, "seconds": round(seconds, 2), **info}
        atomic_write_text(self.path, json.dumps(self.data, indent=2, sort_keys=True, default=str) + "\n")


def hardware() -> str:
    """One line describing this machine (CPU count, architecture, memory, GPU)."""
    parts = [f"{os.cpu_count()} CPU cores ({platform.machine()})"]
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        parts.append(f"{pages * size / 2**30:.0f} GiB RAM")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        parts.append(f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU")
        parts.append(f"torch {torch.__version__}")
    except ImportError:
        parts.append("no torch")
    parts.append(f"Python {platform.python_version()} on {platform.system()}")
    return ", ".join(parts)


def plan(cfg: ReproduceConfig) -> list[Stage]:
    """The ordered stages of a reproduce run."""
    stages = [Stage("fetch", lambda: _fetch(cfg))]
    for bench in cfg.benchmarks:
        for label in cfg.labels:
            stages.append(Stage(f"run/{label}/{bench}", lambda lab=label, b=bench: _run(cfg, lab, b)))
    for label in cfg.labels:
        if label not in NOT_PACKAGED:
            stages.append(
                Stage(
                    f"package/{label}",
                    lambda lab=label: _package(cfg, lab),
                    lambda lab=label: _sha(cfg.metadata, cfg.preset, *[_pred_csv(cfg, lab, b) for b in cfg.benchmarks]),
                )
            )
    for bench in cfg.benchmarks:
        for label in cfg.labels:
            stages.append(
                Stage(
                    f"evaluate/{label}/{bench}",
                    lambda lab=label, b=bench: _evaluate(cfg, lab, b),
                    lambda lab=label, b=bench: _sha(cfg.seed, cfg.n_bootstrap, _eval_input(cfg, lab, b)),
                )
            )
        stages.append(Stage(f"compare/{bench}", lambda b=bench: _compare(cfg, b)))
    stages.append(Stage("leaderboard_env", lambda: _leaderboard_env(cfg)))
    stages.append(Stage("report", lambda: _report(cfg)))
    stages.append(Stage("validate", lambda: _validate(cfg)))
    return stages


def reproduce(cfg: ReproduceConfig, progress: bool = True) -> ReproduceResult:
    """Run every stage of :func:`plan` with one progress bar; resumable."""
    from atomgenbench.runners.registry import find, load_runner_class

    ensure_configured()  # dependency loggers quiet also when called as a library
    for name in cfg.labels:  # built-in or plugin: unknown is a UsageError with "did you mean"
        entry = find(name)
        if entry.origin != "built-in":
            load_runner_class(entry)  # a broken plugin is a RunError naming it, before any stage runs
    for bench in cfg.benchmarks:
        require_structure(bench, "reproduce")
    cfg.out.mkdir(parents=True, exist_ok=True)
    book = _StageBook(cfg.out / STAGES_FILE)
    stages = plan(cfg)
    stage_bar = bar(stages, progress=progress, desc=f"reproduce {cfg.preset}", unit="stage")
    for i, stage in enumerate(stage_bar, start=1):
        stage_bar.set_postfix_str(stage.key)
        fingerprint = stage.fingerprint() if stage.fingerprint else None
        if fingerprint is not None and book.done(stage.key, fingerprint) and _outputs_exist(cfg, stage.key):
            _note(stage_bar, f"[{i}/{len(stages)}] {stage.key}: done earlier, skipped")
            continue
        start = time.perf_counter()
        info = stage.run() or {}
        book.record(stage.key, fingerprint, time.perf_counter() - start, info)
        _note(stage_bar, f"[{i}/{len(stages)}] {stage.key}: {time.perf_counter() - start:.0f} s")
    stage_bar.close()
    validation = book.data.get("validate", {})
    return ReproduceResult(
        cfg.out,
        cfg.out / "report.md",
        [cfg.submission_dir(lab) for lab in cfg.labels if lab not in NOT_PACKAGED],
        bool(validation.get("valid")),
        {k: v["seconds"] for k, v in book.data.items()},
    )


def _note(stage_bar, text: str) -> None:
    """One line per stage where no bar is drawn (a pipe, a log file); the bar says it on a terminal."""
    if getattr(stage_bar, "disable", True):
        log.info("%s", text)


def _outputs_exist(cfg: ReproduceConfig, key: str) -> bool:
    kind, *rest = key.split("/")
    if kind == "package":
        return cfg.submission_dir(rest[0]).is_dir()
    if kind == "evaluate":
        return _readable(_eval_dir(cfg, rest[0], rest[1]))
    return True


def _fetch(cfg: ReproduceConfig) -> dict:
    from atomgenbench.benchmarks.atomgen.conditioning import tc_table
    from atomgenbench.benchmarks.atomgen.sources import fetch

    names = [b for bench in cfg.benchmarks for b in (bench, *(s.name for s in lattice_specs(bench)))]
    for name in names:
        fetch(name, progress=False)
    for bench in cfg.benchmarks:
        tc_table(get_spec(bench).family)
    return {"files": names}


def _run_dir(cfg: ReproduceConfig, label: str, bench: str) -> Path:
    return cfg.out / "runs" / label / bench


def _pred_csv(cfg: ReproduceConfig, label: str, bench: str) -> Path:
    return _run_dir(cfg, label, bench) / CSV_NAME


def _run(cfg: ReproduceConfig, label: str, bench: str) -> dict:
    from atomgenbench.runners.api import run

    preds = run(
        label,
        bench,
        cfg.runner_preset,
        _run_dir(cfg, label, bench),
        seed=cfg.seed,
        trainer=cfg.trainer,
        progress=False,
    )
    return {"failures": len(preds.failures), "time_taken_seconds": preds.time_taken_seconds}


def _package(cfg: ReproduceConfig, label: str) -> dict:
    from atomgenbench.benchmarks.atomgen.predictions import Predictions
    from atomgenbench.evaluator.submission.package import package_contribution

    preds = {b: Predictions.read(_run_dir(cfg, label, b)) for b in cfg.benchmarks}
    meta = {"model_name": f"atomgenbench-{label}-{cfg.preset}", **cfg.metadata}
    meta.setdefault("hardware_used", hardware())
    result = package_contribution(
        preds,
        meta,
        cfg.submission_dir(label),
        run_sh=_run_sh(cfg, label),
        force=True,
        fill_failures=True,  # time_taken_seconds: package's one rule (evaluator.package.time_taken_from)
    )
    return {"files": len(result.files), "filled": {b: len(v) for b, v in result.filled.items()}}


def _run_sh(cfg: ReproduceConfig, label: str) -> str:
    from atomgenbench.evaluator.submission.package import run_sh_text

    models = [label] if label in cfg.models else []
    baselines = [label] if label in cfg.baselines else []
    cmd = [
        "atomgenbench",
        "reproduce",
        "--preset",
        cfg.preset,
        "--seed",
        str(cfg.seed),
        "--models",
        ",".join(models) or "none",
        "--baselines",
        ",".join(baselines) or "none",
        "--benchmarks",
        ",".join(cfg.benchmarks),
        "--out",
        "reproduce-out",
    ]
    return run_sh_text(commands=[cmd])


def _eval_dir(cfg: ReproduceConfig, label: str, bench: str) -> Path:
    return cfg.out / "eval" / bench / label


def _eval_input(cfg: ReproduceConfig, label: str, bench: str) -> Path:
    """The packaged structure file when this label is packaged, else predictions.csv."""
    if label not in NOT_PACKAGED:
        return cfg.submission_dir(label) / get_spec(bench).leaderboard_file
    return _pred_csv(cfg, label, bench)


def _evaluate(cfg: ReproduceConfig, label: str, bench: str) -> dict:
    from atomgenbench.workflows.evaluation import evaluate_to_folder

    source = _eval_input(cfg, label, bench)
    out = _eval_dir(cfg, label, bench)
    executor = cfg.executor.with_progress(False)
    evaluation = evaluate_to_folder(source, bench, out, cfg.settings, executor, label=label, html=False)
    rmse = evaluation.result.rmse
    return {"source": str(source), "match_rate": rmse.match_rate, "n_matched": rmse.n_matched}


def _compare(cfg: ReproduceConfig, bench: str) -> dict:
    from atomgenbench.evaluator.metrics.compare import markdown
    from atomgenbench.evaluator.reports.plots import plot_bars
    from atomgenbench.workflows.evaluation import compare_results, read_result

    results = {lab: read_result(_eval_dir(cfg, lab, bench)) for lab in cfg.labels}
    out = cfg.out / "report" / bench
    out.mkdir(parents=True, exist_ok=True)
    comp = compare_results(results, cfg.settings)
    atomic_write_text(out / "comparison.json", json.dumps(comp.to_json(), indent=2) + "\n")
    atomic_write_text(out / "comparison.md", markdown(comp))
    figures = plot_bars({label: res.to_json() for label, res in results.items()}, out)
    return {"figures": [str(p.relative_to(cfg.out)) for p in figures]}


def _leaderboard_env(cfg: ReproduceConfig) -> dict:
    """Which environment decided each packaged structure file's RMSE (``leaderboard_env.json``).

    The evaluate stage already recorded this environment's section (on the packaged file); with
    ``cfg.leaderboard_env`` the files are also scored in the leaderboard's pinned environment:
    the number the leaderboard will show.
    """
    from atomgenbench.evaluator.leaderboard.score import score_files

    packaged = [lab for lab in cfg.labels if lab not in NOT_PACKAGED]
    if cfg.leaderboard_env:
        files = {
            cfg.submission_dir(lab).name: {
                b: cfg.submission_dir(lab) / get_spec(b).leaderboard_file for b in cfg.benchmarks
            }
            for lab in packaged
        }
        sections = score_files(files, cfg.executor.with_progress(False), pinned=True)
        for lab in packaged:  # each folder carries what the leaderboard will show (its README.md)
            _write_readme_section(cfg.submission_dir(lab), sections[cfg.submission_dir(lab).name])
    else:
        sections = {
            cfg.submission_dir(lab).name: {
                b: json.loads((_eval_dir(cfg, lab, b) / "metrics.json").read_text())["leaderboard_env"]
                for b in cfg.benchmarks
            }
            for lab in packaged
        }
    atomic_write_text(cfg.out / LEADERBOARD_ENV_FILE, json.dumps(sections, indent=2) + "\n")
    return {"pinned": cfg.leaderboard_env, "files": sum(len(v) for v in sections.values())}


def _write_readme_section(folder: Path, by_bench: dict[str, dict]) -> None:
    from atomgenbench.evaluator.reports.env_report import readme_with_section

    readme = folder / "README.md"
    atomic_write_text(readme, readme_with_section(readme.read_text(encoding="utf-8"), by_bench))


def _report(cfg: ReproduceConfig) -> dict:
    from atomgenbench.evaluator.reports.summary import report_markdown

    book = _StageBook(cfg.out / STAGES_FILE)
    sections, figures, sources = {}, {}, {}
    for bench in cfg.benchmarks:
        sections[bench] = {
            lab: json.loads((_eval_dir(cfg, lab, bench) / "metrics.json").read_text()) for lab in cfg.labels
        }
        sources[bench] = {lab: str(_eval_input(cfg, lab, bench).relative_to(cfg.out)) for lab in cfg.labels}
        figures[bench] = list(book.data.get(f"compare/{bench}", {}).get("figures", []))
        figures[bench] += [
            str((_eval_dir(cfg, lab, bench) / "lattice_histograms.png").relative_to(cfg.out))
            for lab in cfg.labels
            if (_eval_dir(cfg, lab, bench) / "lattice_histograms.png").is_file()
        ]
    preamble = [
        f"Command: `{shlex.join(cfg.argv) if cfg.argv else 'atomgenbench reproduce --preset ' + cfg.preset}`",
        "",
        f"Preset `{cfg.preset}` (models run with runner preset `{cfg.runner_preset}`), seed {cfg.seed}.",
        "",
        f"Hardware: {hardware()}.",
        "",
        "Wall time per model (fit + reconstruct, seconds):",
        "",
        "| model | " + " | ".join(cfg.benchmarks) + " |",
        "|---|" + "---|" * len(cfg.benchmarks),
    ]
    for label in cfg.labels:
        cells = []
        for bench in cfg.benchmarks:
            t = book.data.get(f"run/{label}/{bench}", {}).get("time_taken_seconds") or {}
            cells.append(" + ".join(f"{k} {float(v):.0f}" for k, v in t.items()) or "–")
        preamble.append(f"| {label} | " + " | ".join(cells) + " |")
    text = report_markdown("atomgenbench results", sections, figures, preamble, sources)
    text += _paper_tables(sections)
    from atomgenbench.evaluator.reports.html import write_html_report

    write_html_report(
        [cfg.out / "eval"], cfg.out / "report.html", title=f"atomgenbench reproduce --preset {cfg.preset}"
    )
    if (cfg.out / LEADERBOARD_ENV_FILE).is_file() and cfg.leaderboard_env:
        from atomgenbench.evaluator.reports.env_report import files_lines

        text += "\n\n" + "\n".join(files_lines(json.loads((cfg.out / LEADERBOARD_ENV_FILE).read_text())))
    atomic_write_text(cfg.out / "report.md", text)
    return {"report": "report.md"}


def _paper_tables(sections: dict[str, dict[str, dict]]) -> str:
    """Per benchmark: the headline table for papers and the table by leakage stratum (Markdown)."""
    from atomgenbench.evaluator.leaderboard.published import published_rows
    from atomgenbench.evaluator.reports import tables

    lines = ["", "## Headline tables and leakage strata", ""]
    for bench, docs in sections.items():
        if not docs:
            continue
        table = tables.headline(docs, published=published_rows(bench))
        lines += [
            f"### {bench}: headline table (`atomgenbench compare --format markdown|latex|csv`)",
            "",
            tables.markdown(table),
        ]
        if any(doc.get("by_stratum") for doc in docs.values()):
            lines += [
                f"### {bench}: by leakage stratum",
                "",
                "twin: a training crystal matches the test crystal (`atomgenbench data check`); seen-formula: its "
                "reduced formula is in the training split; unseen: neither (docs/metrics.md).",
                "",
                tables.strata_markdown(docs),
            ]
    return "\n".join(lines)


def _validate(cfg: ReproduceConfig) -> dict:
    from atomgenbench.evaluator.submission.validate import validate_paths

    folders = [cfg.submission_dir(lab) for lab in cfg.labels if lab not in NOT_PACKAGED]
    if not folders:
        return {"valid": True, "errors": []}
    report = validate_paths(folders, scores=False)
    atomic_write_text(cfg.out / "validation.json", json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    errors = [f"{f.file}:{f.row}: {f.message}" for f in report.errors]
    if errors:
        raise ReproduceError("packaged folders failed validation:\n  " + "\n  ".join(errors[:20]))
    return {"valid": True, "folders": [str(f) for f in folders], "warnings": len(report.warnings)}


def _readable(folder: Path) -> bool:
    """Whether an evaluate stage's folder holds a result this version reads (else the stage runs again)."""
    from atomgenbench.workflows.evaluation import read_result

    try:
        read_result(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True
