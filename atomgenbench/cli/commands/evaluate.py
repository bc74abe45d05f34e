"""``atomgenbench evaluate``: score predictions against a benchmark."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from atomgenbench.cli.options import (
    evaluation_options,
    executor_options,
    force_option,
    in_test_order_option,
    json_option,
    note,
)

log = logging.getLogger("atomgenbench")


@click.command("evaluate")
@click.argument("pred", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--benchmark",
    "-b",
    help="Benchmark name (see `atomgenbench data list`). "
    "May be omitted for a leaderboard csv.zip whose file name identifies it.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for metrics.json, report.md, rows.csv and PNG figures.",
)
@executor_options(minimum=0, help_extra="0: in this process, without the per-pair time limit.")
@json_option("metrics.json")
@evaluation_options
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@in_test_order_option
@force_option("files in a non-empty --out folder that atomgenbench did not write (its own are always replaced)")
def evaluate(
    pred: Path,
    benchmark: str | None,
    out: Path | None,
    executor,
    as_json: bool,
    settings,
    no_figures: bool,
    in_test_order: bool,
    force: bool,
) -> None:
    """Score PRED against a benchmark's test set.

    PRED is a leaderboard .csv/.csv.zip (id,target,prediction), a standardized
    predictions folder or predictions.csv, a folder or .zip of CIF/POSCAR files named
    by id, a JSON list of pymatgen structures with ids, an .extxyz file or any file
    ASE reads (docs/inputs.md). Targets always come from the benchmark, never from PRED.

    Structure benchmarks report the leaderboard RMSE (matched rows only) with its
    match rate over all test ids, the penalised variant (and with --legacy-anonymous the species-blind one),
    Niggli-reduced lattice MAE and histogram KLD (plus the legacy paired KLD),
    bootstrap 95% CIs and a breakdown by crystal system. Lattice-parameter files
    (…_a-dft_3d-test-mae.csv.zip) report the leaderboard MAE.
    """
    from atomgenbench.core.io import check_output_folder, output_folder
    from atomgenbench.evaluator.reports.evaluation import dumps
    from atomgenbench.workflows.evaluation import evaluate_input, resolve_benchmark, write_evaluation

    name = resolve_benchmark(pred, benchmark)
    if as_json:
        executor = executor.with_progress(False)
    if out is not None:
        check_output_folder(out, command="evaluate", force=force)  # before any work
    evaluation = evaluate_input(pred, name, settings, executor, in_test_order=in_test_order)
    if out is not None:
        try:
            with output_folder(out, command="evaluate", force=force):
                write_evaluation(evaluation, out, figures=not no_figures)
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write outputs ({exc.strerror or exc})") from None
    if as_json:
        sys.stdout.write(dumps(evaluation.metrics))
        return
    _summary(evaluation.metrics, out)


def _num(value: float | None, n: int, what: str = "matched") -> str:
    """``0.1234``, or ``n/a (0 matched)`` when there is no value."""
    return f"{value:.4f}" if value is not None else f"n/a ({n} {what})"


def _summary(m: dict, out: Path | None) -> None:
    if m["kind"] == "float":
        mae = m["mae"]
        click.echo(f"{m['benchmark']}: MAE {_num(mae['value'], mae['n'], 'scored')} over {mae['n']}/{m['n_total']} ids")
    else:
        r = m["rmse"]
        rate = "n/a" if r["match_rate"] is None else f"{r['match_rate']:.3f}"
        click.echo(
            f"{m['benchmark']}: RMSE {_num(r['leaderboard_value'], r['n_matched'])} (matched "
            f"{r['n_matched']}/{r['n_total']}, match rate {rate}); parsed {m['n_parsed']}/{m['n_total']}"
        )
        for label, key in (("Niggli MAE", "mae"), ("KLD (nats)", "kld")):
            click.echo(f"{label}: " + ", ".join(f"{k} {_num(v['value'], v['n'], 'parsed')}" for k, v in m[key].items()))
        if "ccrmsd" in m:
            from atomgenbench.evaluator.reports.lines import summary_line

            click.echo(summary_line(m))
        if "samples" in m:
            from atomgenbench.evaluator.reports.lines import samples_line

            click.echo(samples_line(m))
        if m.get("leaderboard_env"):
            from atomgenbench.evaluator.reports.env_report import environment_lines

            for line in environment_lines(m["leaderboard_env"], indent=""):
                click.echo(line)
    if m.get("failures"):
        click.echo(f"{len(m['failures'])} failed rows (see metrics.json)")
    if out is not None:
        note(f"wrote {out}/metrics.json and report.md")
