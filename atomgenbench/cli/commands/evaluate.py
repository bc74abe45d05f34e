"""``atomgenbench evaluate``: score predictions against a benchmark."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from atomgenbench.cli.options import engine_options, in_test_order_option, workers_option

log = logging.getLogger("atomgenbench")


def resolve_benchmark(pred: Path, benchmark: str | None) -> str:
    """The benchmark to score: ``--benchmark``, else the one a leaderboard file name identifies."""
    from atomgenbench.benchmarks.atomgen.registry import get_spec, spec_for_leaderboard_file
    from atomgenbench.core.errors import UsageError

    if benchmark:
        return get_spec(benchmark).name  # an unknown name is a UsageError with "did you mean"
    spec = spec_for_leaderboard_file(pred.name)
    if spec is None:
        raise UsageError(f"{pred}: cannot tell the benchmark from the file name; pass --benchmark NAME")
    return spec.name


def check_ids(ids, benchmark: str, source: Path) -> None:
    """No shared id with the test split is an error; a partial overlap is a warning with the counts."""
    from atomgenbench.benchmarks.atomgen.dataset import test_ids
    from atomgenbench.benchmarks.atomgen.predictions import check_overlap

    warning = check_overlap(ids, test_ids(benchmark), source=str(source), benchmark=benchmark)
    if warning:
        log.warning("%s", warning)


def run_evaluation(
    pred: Path,
    benchmark: str,
    *,
    workers: int,
    max_atoms: int,
    seed: int,
    n_boot: int,
    time_limit: float,
    progress: bool,
    in_test_order: bool = False,
    engine: str = "process",
    scheduler: str | None = None,
    leaderboard_env: bool = False,
    legacy_anonymous: bool = False,
):
    """Evaluate one input; return (metrics dict, per-row records or None).

    Structure benchmarks get a ``leaderboard_env`` section (which pymatgen decided the
    RMSE, borderline rows; with ``leaderboard_env`` also the leaderboard environment's
    value and the ids that differ: :func:`atomgenbench.evaluator.leaderboard.score.environment_section`).
    """
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.evaluator.inputs.load import load_float_predictions, load_predictions
    from atomgenbench.evaluator.leaderboard.score import score_float_file
    from atomgenbench.evaluator.metrics.evaluate import evaluate
    from atomgenbench.evaluator.metrics.results import float_result_json

    spec = get_spec(benchmark)
    if spec.kind == "float":
        values, failures = load_float_predictions(pred)
        check_ids([*values, *failures], benchmark, pred)
        if leaderboard_env:
            log.info("%s: a lattice-parameter MAE does not depend on pymatgen; --leaderboard-env changes nothing", pred)
        return float_result_json(score_float_file(pred, benchmark)), None
    predictions = load_predictions(pred, benchmark, in_test_order=in_test_order)
    check_ids(predictions.structures, benchmark, pred)
    result = evaluate(
        predictions,
        benchmark,
        workers=workers,
        max_atoms=max_atoms,
        seed=seed,
        n_boot=n_boot,
        time_limit_s=time_limit,
        progress=progress,
        engine=engine,
        scheduler=scheduler,
        legacy_anonymous=legacy_anonymous,
    )
    from atomgenbench.evaluator.leaderboard.score import environment_section

    metrics = result.to_json()
    metrics["leaderboard_env"] = environment_section(
        predictions.structures, benchmark, result.records, pinned=leaderboard_env, workers=workers, progress=progress
    )
    return metrics, result.records


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
@workers_option(minimum=0, help_extra="0: in this process, without the per-pair time limit.")
@engine_options
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json to stdout.")
@click.option(
    "--max-atoms",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Predictions with more atoms are recorded as failures.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option(
    "--n-bootstrap",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95% CIs (0: no CIs).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds allowed per StructureMatcher call; a pair over it counts as unmatched.",
)
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option(
    "--legacy-anonymous",
    is_flag=True,
    help="Also compute the species-blind RMSE of the old leaderboard (get_rms_anonymous, rmse_anonymous in "
    "metrics.json). Off by default: it costs more than the rest of the evaluation together.",
)
@click.option(
    "--leaderboard-env",
    is_flag=True,
    help="Also score the structures in the leaderboard's own environment (pymatgen 2024.3.1 and its other pins, "
    "built once into the user cache; docs/leaderboard-env.md): the RMSE the leaderboard will show, beside this "
    "environment's, with every id that differs. Lattice-parameter files do not depend on it.",
)
@in_test_order_option
def evaluate(
    pred: Path,
    benchmark: str | None,
    out: Path | None,
    workers: int,
    engine: str,
    scheduler: str | None,
    as_json: bool,
    max_atoms: int,
    seed: int,
    n_bootstrap: int,
    time_limit: float,
    no_figures: bool,
    leaderboard_env: bool,
    in_test_order: bool,
    legacy_anonymous: bool,
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
    from atomgenbench.evaluator.reports.evaluation import dumps, write_outputs

    name = resolve_benchmark(pred, benchmark)
    metrics, records = run_evaluation(
        pred,
        name,
        workers=workers,
        max_atoms=max_atoms,
        seed=seed,
        n_boot=n_bootstrap,
        time_limit=time_limit,
        progress=not as_json,
        in_test_order=in_test_order,
        engine=engine,
        scheduler=scheduler,
        leaderboard_env=leaderboard_env,
        legacy_anonymous=legacy_anonymous,
    )
    if out is not None:
        try:
            write_outputs(metrics, out, records, figures=not no_figures)
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write outputs ({exc.strerror or exc})") from None
    if as_json:
        sys.stdout.write(dumps(metrics))
        return
    _summary(metrics, out)


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
            from atomgenbench.evaluator.metrics.registry import summary_line

            click.echo(summary_line(m))
        if "samples" in m:
            from atomgenbench.evaluator.metrics.registry import samples_line

            click.echo(samples_line(m))
        if m.get("leaderboard_env"):
            from atomgenbench.evaluator.reports.env_report import environment_lines

            for line in environment_lines(m["leaderboard_env"], indent=""):
                click.echo(line)
    if m.get("failures"):
        click.echo(f"{len(m['failures'])} failed rows (see metrics.json)")
    if out is not None:
        click.echo(f"wrote {out}/metrics.json and report.md")
