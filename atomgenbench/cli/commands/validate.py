"""``atomgenbench validate``: strict checks of contribution folders, with their scores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from atomgenbench.benchmarks.atomgen.registry import MAX_ATOMS
from atomgenbench.cli.options import executor_options
from atomgenbench.core.versions import LEADERBOARD_ENV_TEXT
from atomgenbench.evaluator.submission.rules import Finding

LEADERBOARD_ENV_HELP = (
    f"Score the rmse files in the leaderboard's own environment ({LEADERBOARD_ENV_TEXT}; built once with uv or "
    "venv+pip into the user cache, docs/leaderboard-env.md) and list every id that it decides differently from the "
    "installed pymatgen."
)


def _where(f: Finding) -> str:
    return f"{f.file}:{f.row}" if f.row is not None else f.file


def _print_human(report) -> None:
    from atomgenbench.evaluator.leaderboard.published import published_lines
    from atomgenbench.evaluator.reports.env_report import environment_lines

    for f in report.errors:
        click.echo(f"ERROR   {_where(f)}: {f.message}")
    for f in report.warnings:
        click.echo(f"warning {_where(f)}: {f.message}")
    if report.scores:
        heading = "Scores the leaderboard will show" if report.valid else "Scores of the files without errors"
        click.echo(f"\n{heading}:")
        for path, s in report.scores.items():
            value = "n/a" if s["value"] is None else f"{s['value']:.4f}"
            source = f"  [{s['value_from']}]" if "value_from" in s else ""
            click.echo(
                f"  {Path(path).parent.name}/{Path(path).name}  {s['metric']} = {value}  "
                f"({s['n_matched']}/{s['n_total']} {'matched' if s['metric'] == 'rmse' else 'rows'}){source}"
            )
            if "leaderboard_env" in s:
                for line in environment_lines(s["leaderboard_env"], indent="      "):
                    click.echo(line)
    if report.special:
        from atomgenbench.evaluator.leaderboard.specialized import special_lines

        click.echo("")
        for line in special_lines(report.special):
            click.echo(line)
    for benchmark in report.published:
        click.echo("")
        for line in published_lines(benchmark):
            click.echo(line)
    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = "VALID" if report.valid else "INVALID"
    click.echo(f"\n{verdict}: {len(report.folders)} folder(s), {n_err} error(s), {n_warn} warning(s)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"valid", "folders", "errors", "warnings", "scores", "published", "special", "versions"} as JSON '
    "instead of text (special: the leaderboard's Special/AtomGenBench Pearson r heatmap of the folders).",
)
@click.option("--no-scores", is_flag=True, help="Skip scoring (structure matching is slow on alex_supercon).")
@click.option("--leaderboard-env", is_flag=True, help=LEADERBOARD_ENV_HELP)
@click.option(
    "--published",
    is_flag=True,
    help="Also show the leaderboard's published rows (AtomGPT, CDVAE, FlowMM) of every structure benchmark scored.",
)
@executor_options()
@click.option(
    "--max-atoms",
    type=click.IntRange(min=1),
    default=MAX_ATOMS,
    show_default=True,
    help="Reject predicted cells with more atoms than this.",
)
def validate(
    paths: tuple[Path, ...],
    as_json: bool,
    no_scores: bool,
    leaderboard_env: bool,
    published: bool,
    executor,
    max_atoms: int,
) -> None:
    """Check JARVIS-Leaderboard AtomGen contribution folders strictly.

    PATHS are contribution folders (metadata.json, run.sh, *.csv.zip) or
    leaderboard-shaped trees (a folder holding contributions/). Every file name,
    zip member, header, id set, structure, number and metadata field is checked;
    errors name the file and CSV line. Warnings report what the leaderboard
    tolerates (time_taken_seconds keyed by other files, missing lattice files,
    lattice floats that disagree with the structures, rows that cannot match).

    Every file without errors is scored as the leaderboard computes it. The RMSE
    of a structure file comes from the installed pymatgen, which can decide
    borderline rows differently from the leaderboard's pinned pymatgen: the output
    says so and lists the borderline rows; --leaderboard-env gives the exact number
    the leaderboard will show, beside the current one, with every id that differs.
    The 12 lattice files also get the Pearson r (2 dp) per file that the
    leaderboard's Special/AtomGenBench heatmap page shows.

    Exit status: 0 valid, 1 invalid, 2 usage error.
    """
    from atomgenbench.evaluator.submission.validate import validate_paths

    if no_scores and leaderboard_env:
        from atomgenbench.core.errors import UsageError

        raise UsageError("--leaderboard-env scores the rmse files; it cannot be combined with --no-scores")
    report = validate_paths(
        list(paths),
        scores=not no_scores,
        executor=executor.with_progress(executor.progress and not as_json),
        max_atoms=max_atoms,
        leaderboard_env=leaderboard_env,
        published=published,
    )
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_human(report)
    raise SystemExit(0 if report.valid else 1)
