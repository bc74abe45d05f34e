"""``atomgenbench compare``: several models on one benchmark, with paired bootstrap differences."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from atomgenbench.commands.input_options import in_test_order_option
from atomgenbench.parallel import workers_option

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
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for comparison.json, comparison.md, per-model metrics and bar charts.",
)
@click.option("--labels", help="Comma-separated model labels, one per PRED (default: folder/file names).")
@workers_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--n-bootstrap",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Bootstrap resamples (shared by all models: paired).",
)
@click.option(
    "--max-atoms",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Predictions with more atoms are recorded as failures.",
)
@click.option(
    "--published",
    is_flag=True,
    help="Show the leaderboard's published AtomGPT/CDVAE/FlowMM rows of the benchmark beside the comparison "
    "(labelled with the environment they were computed in).",
)
@in_test_order_option
def compare(
    preds: tuple[Path, ...],
    benchmark: str | None,
    out: Path,
    labels: str | None,
    workers: int,
    seed: int,
    n_bootstrap: int,
    max_atoms: int,
    in_test_order: bool,
    published: bool,
) -> None:
    """Evaluate each PRED on the same benchmark and compare them.

    The first PRED is the reference: for every other model the table gives the
    difference (model − reference) in RMSE, match rate, penalised RMSE, Niggli MAE
    and histogram KLD with a paired bootstrap 95% CI (the same resampled test ids
    for all models). Writes comparison.md/json, bar charts of KLD, MAE and RMSE
    (PNG) and each model's metrics.json under OUT/<label>/.
    """
    from atomgenbench.benchmarks.atomgen.predictions import atomic_write_text
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.commands.evaluate import check_ids, resolve_benchmark
    from atomgenbench.errors import UsageError
    from atomgenbench.evaluator.compare import compare as run_compare
    from atomgenbench.evaluator.compare import markdown
    from atomgenbench.evaluator.inputs import load_predictions
    from atomgenbench.evaluator.pipeline import evaluate
    from atomgenbench.evaluator.plots import plot_bars
    from atomgenbench.evaluator.report import write_outputs

    name = resolve_benchmark(preds[0], benchmark)
    if get_spec(name).kind != "structure":
        raise UsageError(f"{name} is a lattice-parameter benchmark; compare works on structure benchmarks")
    names = [s.strip() for s in labels.split(",")] if labels else [_label(p) for p in preds]
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
    inputs = {}
    for label, path in zip(names, preds):  # read and check every input before the slow part
        inputs[label] = load_predictions(path, name, in_test_order=in_test_order)
        check_ids(inputs[label].structures, name, path)
    results = {}
    for (label, predictions), path in zip(inputs.items(), preds):
        log.info("evaluating %s (%s)", label, path)
        results[label] = evaluate(
            predictions, name, workers=workers, seed=seed, n_boot=n_bootstrap, max_atoms=max_atoms, progress=True
        )
    comp = run_compare(results, n_boot=n_bootstrap, seed=seed)
    from atomgenbench.evaluator.published import published_lines, published_rows

    extra = {"published": published_rows(name)} if published else {}
    text = markdown(comp) + ("\n" + "\n".join(published_lines(name)) + "\n" if published else "")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for label, res in results.items():
            write_outputs(res.to_json(), out / label, res.records, figures=True)
        atomic_write_text(out / "comparison.json", json.dumps({**comp.to_json(), **extra}, indent=2) + "\n")
        atomic_write_text(out / "comparison.md", text)
        plot_bars({label: res.to_json() for label, res in results.items()}, out)
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write outputs ({exc.strerror or exc})") from None
    click.echo(text)


def _label(path: Path) -> str:
    """A model label from a path: the contribution folder of a leaderboard file, else the name."""
    if path.is_file() and path.name.endswith(".csv.zip"):
        return path.parent.name
    if path.name == "predictions.csv":
        return path.parent.name
    return path.stem if path.is_file() else path.name
