"""``atomgenbench validate``: strict checks of contribution folders, with their scores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from atomgenbench.evaluator.validate_files import MAX_ATOMS, Finding
from atomgenbench.parallel import workers_option


def _where(f: Finding) -> str:
    return f"{f.file}:{f.row}" if f.row is not None else f.file


def _print_human(report) -> None:
    for f in report.errors:
        click.echo(f"ERROR   {_where(f)}: {f.message}")
    for f in report.warnings:
        click.echo(f"warning {_where(f)}: {f.message}")
    if report.scores:
        click.echo("\nScores the leaderboard will show:")
        for path, s in report.scores.items():
            value = "n/a" if s["value"] is None else f"{s['value']:.4f}"
            click.echo(
                f"  {Path(path).parent.name}/{Path(path).name}  {s['metric']} = {value}  "
                f"({s['n_matched']}/{s['n_total']} matched)"
            )
    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = "VALID" if report.valid else "INVALID"
    click.echo(f"\n{verdict}: {len(report.folders)} folder(s), {n_err} error(s), {n_warn} warning(s)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"valid", "errors", "warnings", "scores"} as JSON instead of text.'
)
@click.option("--no-scores", is_flag=True, help="Skip scoring (structure matching is slow on alex_supercon).")
@workers_option()
@click.option(
    "--max-atoms",
    type=click.IntRange(min=1),
    default=MAX_ATOMS,
    show_default=True,
    help="Reject predicted cells with more atoms than this.",
)
def validate(paths: tuple[Path, ...], as_json: bool, no_scores: bool, workers: int, max_atoms: int) -> None:
    """Check JARVIS-Leaderboard AtomGen contribution folders strictly.

    PATHS are contribution folders (metadata.json, run.sh, *.csv.zip) or
    leaderboard-shaped trees (a folder holding contributions/). Every file name,
    zip member, header, id set, structure, number and metadata field is checked;
    errors name the file and CSV line. Warnings report what the leaderboard
    tolerates (time_taken_seconds keyed by other files, missing lattice files,
    lattice floats that disagree with the structures, rows that cannot match).
    A folder without errors is scored exactly as the leaderboard will show it.

    Exit status: 0 valid, 1 invalid, 2 usage error.
    """
    from atomgenbench.evaluator.validate import validate_paths

    report = validate_paths(
        list(paths), scores=not no_scores, workers=workers, max_atoms=max_atoms, progress=not as_json
    )
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_human(report)
    raise SystemExit(0 if report.valid else 1)
