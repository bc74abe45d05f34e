"""``atomgenbench report``: one self-contained report.html from existing result folders."""

from __future__ import annotations

from pathlib import Path

import click

from atomgenbench.cli.options import emit, json_option


def _predictions(values: tuple[str, ...]) -> dict[str, Path]:
    """``LABEL=PATH`` pairs of ``--pred`` as a dict (a click error naming a malformed one)."""
    out = {}
    for value in values:
        label, sep, path = value.partition("=")
        if not sep or not label or not path:
            raise click.BadParameter(f"expected LABEL=PATH, got {value!r}", param_hint="--pred")
        if not Path(path).exists():
            raise click.BadParameter(f"{path}: no such file or folder", param_hint="--pred")
        out[label] = Path(path)
    return out


@click.command("report")
@click.argument("result_dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The page to write (default: report.html in the first RESULT_DIR).",
)
@click.option(
    "--pred",
    "preds",
    multiple=True,
    metavar="LABEL=PATH",
    help="The predictions a model's folder was evaluated from, for the crystal viewer (repeatable). "
    "Default: the path in the folder's source.txt; without either the viewer shows the targets only.",
)
@click.option(
    "--contribution",
    "contributions",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A leaderboard contribution folder (repeatable): the Pearson-r heatmap of the leaderboard's "
    "Special/AtomGenBench page from its 12 lattice files. Default: from each evaluation's rows.csv.",
)
@click.option("--title", help="Title of the page (default: the benchmarks' names).")
@json_option("the page's path and size")
def report(
    as_json: bool,
    result_dirs: tuple[Path, ...],
    out: Path | None,
    preds: tuple[str, ...],
    contributions: tuple[Path, ...],
    title: str | None,
) -> None:
    """Write report.html from the result folders of evaluate, compare or reproduce.

    RESULT_DIR is an evaluation folder (metrics.json, rows.csv), a comparison folder
    (comparison.json and a folder per model) or a folder of evaluation folders. The page
    holds the leaderboard table, the figures, the per-crystal table with a 3-D viewer of
    target and prediction, and the settings and versions; it is one file that opens from
    disk with no network access.
    """
    from atomgenbench.evaluator.reports.html import write_html_report

    target = out or result_dirs[0] / "report.html"
    try:
        path = write_html_report(
            list(result_dirs), target, predictions=_predictions(preds), title=title, contributions=list(contributions)
        )
    except OSError as exc:
        raise click.ClickException(f"{target}: cannot write the page ({exc.strerror or exc})") from None
    size = path.stat().st_size / 1e6
    emit(
        as_json,
        {"page": str(path), "bytes": path.stat().st_size},
        [],
        [f"wrote {path} ({size:.1f} MB); open it in a browser"],
    )
