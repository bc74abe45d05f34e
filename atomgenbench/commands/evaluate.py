"""``atomgenbench evaluate``: score predictions against a benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def resolve_benchmark(pred: Path, benchmark: str | None) -> str:
    """The benchmark to score: ``--benchmark``, else the one a leaderboard file name identifies."""
    from atomgenbench.benchmarks.atomgen.registry import UnknownBenchmarkError, get_spec, spec_for_leaderboard_file

    if benchmark:
        try:
            return get_spec(benchmark).name
        except UnknownBenchmarkError as exc:
            raise click.BadParameter(str(exc), param_hint="--benchmark") from None
    spec = spec_for_leaderboard_file(pred.name)
    if spec is None:
        raise click.UsageError(f"{pred}: cannot tell the benchmark from the file name; pass --benchmark NAME")
    return spec.name


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
):
    """Evaluate one input; return (metrics dict, per-row records or None). User errors -> ClickException."""
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.evaluator.inputs import InputError, load_predictions
    from atomgenbench.evaluator.leaderboard import score_float_file
    from atomgenbench.evaluator.pipeline import evaluate
    from atomgenbench.evaluator.results import float_result_json

    spec = get_spec(benchmark)
    try:
        if spec.kind == "float":
            return float_result_json(score_float_file(pred, benchmark)), None
        predictions = load_predictions(pred, benchmark)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    result = evaluate(
        predictions,
        benchmark,
        workers=workers,
        max_atoms=max_atoms,
        seed=seed,
        n_boot=n_boot,
        time_limit_s=time_limit,
        progress=progress,
    )
    return result.to_json(), result.records


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
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Processes for structure matching (0: in-process, no per-pair time limit).",
)
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
def evaluate(
    pred: Path,
    benchmark: str | None,
    out: Path | None,
    workers: int,
    as_json: bool,
    max_atoms: int,
    seed: int,
    n_bootstrap: int,
    time_limit: float,
    no_figures: bool,
) -> None:
    """Score PRED against a benchmark's test set.

    PRED is a leaderboard .csv/.csv.zip (id,target,prediction), a standardized
    predictions folder or predictions.csv, a folder of CIF/POSCAR files named by id,
    or an .extxyz file. Targets always come from the benchmark, never from PRED.

    Structure benchmarks report the leaderboard RMSE (matched rows only) with its
    match rate over all test ids, the species-blind and penalised variants,
    Niggli-reduced lattice MAE and histogram KLD (plus the legacy paired KLD),
    bootstrap 95% CIs and a breakdown by crystal system. Lattice-parameter files
    (…_a-dft_3d-test-mae.csv.zip) report the leaderboard MAE.
    """
    from atomgenbench.evaluator.report import dumps, write_outputs

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


def _summary(m: dict, out: Path | None) -> None:
    if m["kind"] == "float":
        click.echo(f"{m['benchmark']}: MAE {m['mae']['value']} over {m['mae']['n']}/{m['n_total']} ids")
    else:
        r = m["rmse"]
        click.echo(
            f"{m['benchmark']}: RMSE {r['leaderboard_value']} (matched {r['n_matched']}/{r['n_total']}, "
            f"match rate {r['match_rate']:.3f}); parsed {m['n_parsed']}/{m['n_total']}"
        )
        click.echo(
            "Niggli MAE: " + ", ".join(f"{k} {v['value']:.4f}" for k, v in m["mae"].items() if v["value"] is not None)
        )
        click.echo(
            "KLD (nats): " + ", ".join(f"{k} {v['value']:.4f}" for k, v in m["kld"].items() if v["value"] is not None)
        )
    if m.get("failures"):
        click.echo(f"{len(m['failures'])} failed rows (see metrics.json)")
    if out is not None:
        click.echo(f"wrote {out}/metrics.json and report.md")
