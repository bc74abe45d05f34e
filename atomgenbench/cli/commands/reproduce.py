"""``atomgenbench reproduce``: data → runs → package → evaluate → compare → report → validate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from atomgenbench.cli.options import emit, executor_options, flatten, json_option, list_option
from atomgenbench.core.versions import PROJECT_URL


def _names(values: tuple | None, default: tuple[str, ...]) -> tuple[str, ...]:
    names = flatten(values)
    if names is None:
        return default
    return tuple(n for n in names if n.lower() != "none")


@click.command("reproduce")
@click.option(
    "--preset",
    type=click.Choice(["quick", "cpu", "paper"]),
    default="quick",
    show_default=True,
    help="quick: every stage in minutes on a laptop (models use their 'smoke' preset); "
    "cpu: real runs on 2 CPU cores; paper: the paper's hyper-parameters, for GPUs.",
)
@list_option("--models", help="Models, built-in or plugins (default: atomgpt,cdvae,flowmm,template; 'none' for none).")
@list_option("--baselines", help="Baselines (default: oracle,prior,nearest; 'none' for none).")
@list_option("--benchmarks", help="Structure benchmarks (default: dft_3d_Tc_supercon,alex_supercon_Tc).")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (runs/, submissions/, eval/, report/, report.md, stages.json).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for training, sampling and bootstrap.")
@executor_options()
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
    default=PROJECT_URL,
    show_default=True,
    help="metadata.json project_url.",
)
@click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator for the models.")
@click.option("--devices", default="1", show_default=True, help="Lightning devices for the models.")
@click.option(
    "--leaderboard-env",
    is_flag=True,
    help="Also score every packaged structure file in the leaderboard's own environment (its pinned "
    "pymatgen and other pins, built once into the user cache): the leaderboard_env stage writes "
    "OUT/leaderboard_env.json and report.md gets a 'What the leaderboard will show' table.",
)
@json_option("a summary (report, folders, validity, stage times)")
def reproduce(
    as_json,
    preset,
    models,
    baselines,
    benchmarks,
    out,
    seed,
    executor,
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
    from atomgenbench.core.output import progress_enabled
    from atomgenbench.runners.base import TrainerOptions
    from atomgenbench.workflows.reproduce import DEFAULT_BASELINES, DEFAULT_MODELS, ReproduceConfig
    from atomgenbench.workflows.reproduce import reproduce as run_reproduce

    cfg = ReproduceConfig(
        preset=preset,
        out=out,
        models=_names(models, DEFAULT_MODELS),
        baselines=_names(baselines, DEFAULT_BASELINES),
        benchmarks=_names(benchmarks, ATOMGENBENCH_STRUCTURE),
        seed=seed,
        executor=executor,
        n_bootstrap=n_bootstrap,
        leaderboard_env=leaderboard_env,
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
    result = run_reproduce(cfg, progress=progress_enabled() and not as_json)
    if as_json:
        doc = {
            "report": str(result.report),
            "report_html": str(result.out / "report.html"),
            "submissions": [str(f) for f in result.submissions],
            "valid": result.valid,
            "stage_seconds": result.timings,
        }
        emit(True, doc, [])
        return
    click.echo(f"report: {result.report} (and {result.out / 'report.html'}: open it in a browser)")
    for folder in result.submissions:
        click.echo(f"contribution: {folder}")
    click.echo("validation: " + ("all folders valid" if result.valid else "FAILED"))
    _print_leaderboard_env(cfg)
    click.echo(f"total stage time: {sum(result.timings.values()):.0f} s")


def _print_leaderboard_env(cfg) -> None:
    """One line per packaged structure file: what the leaderboard will show (or why this is not known)."""
    import json

    from atomgenbench.evaluator.leaderboard.score import environment_note
    from atomgenbench.workflows.reproduce import LEADERBOARD_ENV_FILE

    if not cfg.leaderboard_env:
        click.echo(f"note: {environment_note()}")
        return
    sections = json.loads((cfg.out / LEADERBOARD_ENV_FILE).read_text(encoding="utf-8"))
    for label, by_bench in sections.items():
        for bench, sec in by_bench.items():
            lb, cur = sec["leaderboard"], sec["current"]
            click.echo(
                f"{label} {bench}: leaderboard will show {lb['value']} ({lb['n_matched']} matched); "
                f"current environment {cur['value']} ({cur['n_matched']})"
            )
