"""``atomgenbench compare``: several models on one benchmark, with paired bootstrap differences."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from atomgenbench.cli.options import (
    evaluation_options,
    executor_options,
    flatten,
    force_option,
    json_option,
    list_option,
)

log = logging.getLogger("atomgenbench")


@click.command("compare")
@click.argument("preds", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--benchmark",
    "-b",
    help="Structure benchmark name; may be omitted when the first PRED is a "
    "leaderboard csv.zip whose name identifies it.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for comparison.json, comparison.md, per-model metrics and bar charts; with --format, "
    "the file the headline table is written to instead.",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["markdown", "latex", "csv"]),
    help="Write only the headline table for papers to the FILE --out names: one row per model (and the "
    "published rows with --published), match rate, RMSE, ccRMSD, structural validity and Niggli MAE with "
    "± the 95% CI half-width, the best value per column in bold; latex is a standalone booktabs document.",
)
@list_option("--labels", help="Model labels, one per PRED (default: folder/file names).")
@executor_options()
@evaluation_options
@click.option(
    "--published",
    is_flag=True,
    help="Show the leaderboard's published AtomGPT/CDVAE/FlowMM rows of the benchmark beside the comparison "
    "(labelled with the environment they were computed in).",
)
@json_option("comparison.json")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option(
    "--in-test-order",
    "in_test_order",
    multiple=True,
    is_flag=False,
    flag_value="*",
    metavar="[PRED]",
    help="The structures of PRED (or, given without a value, of every input) are in the benchmark's test order: "
    "structure i is the prediction for test id i. Repeat it to name several inputs.",
)
@force_option("files in a non-empty --out folder that atomgenbench did not write (its own are always replaced)")
def compare(
    preds: tuple[Path, ...],
    benchmark: str | None,
    out: Path,
    labels: tuple | None,
    executor,
    settings,
    in_test_order: tuple,
    published: bool,
    table_format: str | None,
    as_json: bool,
    no_figures: bool,
    force: bool,
) -> None:
    """Evaluate each PRED on the same benchmark and compare them.

    The first PRED is the reference: for every other model the table gives the
    difference (model − reference) in RMSE, match rate, penalised RMSE, Niggli MAE
    and histogram KLD with a paired bootstrap 95% CI (the same resampled test ids
    for all models). Writes comparison.md/json, bar charts of KLD, MAE and RMSE
    (PNG) and each model's metrics.json under OUT/<label>/. With --format,
    OUT is a file that receives the headline table (Markdown, LaTeX or CSV) and
    nothing else is written. Both print the comparison, with each model's match
    rate and RMSE per leakage stratum (twin, seen-formula, unseen).
    """
    from atomgenbench.core.errors import UsageError
    from atomgenbench.core.io import atomic_write_text, check_output_folder, output_folder
    from atomgenbench.workflows.evaluation import comparison_text, evaluate_many, resolve_benchmark, write_comparison

    if table_format and out.is_dir():
        raise UsageError(f"--out {out} is a folder; with --format, --out names the table file to write")
    if not table_format and out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; without --format, --out names a folder (or add --format)")
    if not table_format:
        check_output_folder(out, command="compare", force=force)  # before any work
    name = resolve_benchmark(preds[0], benchmark)
    names = _labels(preds, flatten(labels))
    inputs = dict(zip(names, preds))
    if as_json:
        executor = executor.with_progress(False)
    evaluations = evaluate_many(
        inputs, name, settings, executor, in_test_order=_in_test_order(names, preds, in_test_order)
    )
    if table_format:
        from atomgenbench.evaluator.leaderboard.published import published_rows
        from atomgenbench.evaluator.reports import tables

        docs = {label: ev.metrics for label, ev in evaluations.items()}
        table = tables.headline(docs, published=published_rows(name) if published else None)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out, tables.render(table, table_format))
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write the table ({exc.strerror or exc})") from None
        log.info("wrote the %s table to %s", table_format, out)
    if table_format:
        comp, text = comparison_text(evaluations, settings, published=published)
    else:
        try:
            with output_folder(out, command="compare", force=force):
                comp, text = write_comparison(evaluations, out, settings, published=published, figures=not no_figures)
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write outputs ({exc.strerror or exc})") from None
    if as_json:
        click.echo(json.dumps(comp.to_json(), indent=2))
        return
    click.echo(text)


def _labels(preds: tuple[Path, ...], labels: tuple[str, ...] | None) -> list[str]:
    """One unique label per input, usable as a folder name."""
    from atomgenbench.evaluator.inputs.load import model_label

    names = list(labels) if labels else [model_label(p) for p in preds]
    if len(names) != len(preds):
        raise click.BadParameter(f"{len(names)} labels for {len(preds)} inputs", param_hint="--labels")
    if len(set(names)) != len(names):
        raise click.BadParameter(f"labels must be unique, got {names}", param_hint="--labels")
    bad = [n for n in names if not n or n in (".", "..") or "/" in n or "\\" in n]
    if bad:
        raise click.BadParameter(
            f"labels name folders under --out: no empty labels, '.', '..' or path separators, got {bad}",
            param_hint="--labels",
        )
    return names


def _in_test_order(names: list[str], preds: tuple[Path, ...], flags: tuple) -> dict[str, bool]:
    """``--in-test-order`` for every input (the bare flag) or for the inputs it names (``--in-test-order PRED``)."""
    chosen = set(flags)
    every = "*" in chosen
    return {label: every or str(path) in chosen or label in chosen for label, path in zip(names, preds)}
