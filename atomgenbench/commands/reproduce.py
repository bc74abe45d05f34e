"""``atomgenbench reproduce``: data → runs → package → evaluate → compare → report → validate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from atomgenbench.parallel import workers_option


def _names(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    if value.strip().lower() in ("", "none"):
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())


@click.command("reproduce")
@click.option(
    "--preset",
    type=click.Choice(["quick", "cpu", "paper"]),
    default="quick",
    show_default=True,
    help="quick: every stage in minutes on a laptop (models use their 'smoke' preset); "
    "cpu: real runs on 2 CPU cores; paper: the paper's hyper-parameters, for GPUs.",
)
@click.option("--models", help="Comma-separated models (default: atomgpt,cdvae,flowmm,template; 'none' for none).")
@click.option("--baselines", help="Comma-separated baselines (default: oracle,prior,nearest; 'none' for none).")
@click.option(
    "--benchmarks", help="Comma-separated structure benchmarks (default: dft_3d_Tc_supercon,alex_supercon_Tc)."
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (runs/, submissions/, eval/, report/, report.md, stages.json).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for training, sampling and bootstrap.")
@workers_option()
@click.option(
    "--n-bootstrap",
    type=click.IntRange(10),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95% CIs.",
)
@click.option("--team-name", default="atomgenbench", show_default=True, help="metadata.json team_name.")
@click.option(
    "--author-email",
    default="atomgenbench@users.noreply.github.com",
    show_default=True,
    help="metadata.json author_email (set your own before submitting).",
)
@click.option(
    "--project-url",
    default="https://github.com/atomgenbench/atomgenbench",
    show_default=True,
    help="metadata.json project_url.",
)
@click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator for the models.")
@click.option("--devices", default="1", show_default=True, help="Lightning devices for the models.")
@click.option(
    "--leaderboard-env",
    is_flag=True,
    help="After the stages, score every packaged structure file in the leaderboard's own environment "
    "(pymatgen 2024.3.1 and its other pins, built once into the user cache): OUT/leaderboard_env.json and a "
    "'What the leaderboard will show' table in report.md, beside this environment's RMSE.",
)
def reproduce(
    preset,
    models,
    baselines,
    benchmarks,
    out,
    seed,
    workers,
    n_bootstrap,
    team_name,
    author_email,
    project_url,
    accelerator,
    devices,
    leaderboard_env,
) -> None:
    """Fit every selected model and baseline on both AtomGenBench datasets, evaluate,
    compare, package and validate — one command, one progress bar (on a terminal).

    Resumable: stages whose outputs exist for the same configuration (hash in
    OUT/stages.json) are skipped, and interrupted model runs resume from their
    checkpoints. Results: OUT/report.md (tables, figures, published numbers beside
    ours), OUT/submissions/atomgenbench-<model>-<preset>/ (validated contribution
    folders), OUT/eval/ (per-model metrics.json, rows.csv, figures).
    """
    from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE
    from atomgenbench.output import progress_enabled
    from atomgenbench.reproduce import DEFAULT_BASELINES, DEFAULT_MODELS, ReproduceConfig
    from atomgenbench.reproduce import reproduce as run_reproduce
    from atomgenbench.runners.base import TrainerOptions

    cfg = ReproduceConfig(
        preset=preset,
        out=out,
        models=_names(models, DEFAULT_MODELS),
        baselines=_names(baselines, DEFAULT_BASELINES),
        benchmarks=_names(benchmarks, ATOMGENBENCH_STRUCTURE),
        seed=seed,
        workers=workers,
        n_bootstrap=n_bootstrap,
        metadata={
            "team_name": team_name,
            "author_email": author_email,
            "project_url": project_url,
            "git_url": [project_url],
        },
        trainer=TrainerOptions(accelerator=accelerator, devices=int(devices) if devices.isdigit() else devices),
        argv=["atomgenbench", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith("atomgenbench") else [],
    )
    if not cfg.labels:
        raise click.UsageError("nothing to run: --models and --baselines are both empty")
    if not cfg.benchmarks:
        raise click.UsageError("--benchmarks is empty")
    result = run_reproduce(cfg, progress=progress_enabled())
    click.echo(f"report: {result.report}")
    for folder in result.submissions:
        click.echo(f"contribution: {folder}")
    click.echo("validation: " + ("all folders valid" if result.valid else "FAILED"))
    _leaderboard_env_step(cfg, result, pinned=leaderboard_env)
    click.echo(f"total stage time: {sum(result.timings.values()):.0f} s")


def _leaderboard_env_step(cfg, result, *, pinned: bool) -> None:
    """The leaderboard-environment table of the packaged structure files (report.md, leaderboard_env.json)."""
    from atomgenbench.evaluator.leaderboard import environment_note

    if not pinned:
        click.echo(f"note: {environment_note()}")
        return
    import json

    from atomgenbench.benchmarks.atomgen.predictions import atomic_write_text
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.evaluator.env_report import files_report

    files = {
        folder.name: {b: folder / get_spec(b).leaderboard_file for b in cfg.benchmarks} for folder in result.submissions
    }
    sections, lines = files_report(files, pinned=True, workers=cfg.workers)
    atomic_write_text(cfg.out / "leaderboard_env.json", json.dumps(sections, indent=2) + "\n")
    report = result.report.read_text(encoding="utf-8") if result.report.is_file() else ""
    report = report.split("\n## What the leaderboard will show\n", 1)[0].rstrip("\n")  # a rerun replaces it
    atomic_write_text(result.report, report + "\n\n" + "\n".join(lines))
    for label, by_bench in sections.items():
        for bench, sec in by_bench.items():
            lb, cur = sec["leaderboard"], sec["current"]
            click.echo(
                f"{label} {bench}: leaderboard will show {lb['value']} ({lb['n_matched']} matched); "
                f"current environment {cur['value']} ({cur['n_matched']})"
            )
