"""``atomgenbench compare``: several models on one benchmark, with paired bootstrap differences."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from atomgenbench.cli.options import engine_options, in_test_order_option, workers_option

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
@click.option("--labels", help="Comma-separated model labels, one per PRED (default: folder/file names).")
@workers_option()
@engine_options
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
    engine: str,
    scheduler: str | None,
    seed: int,
    n_bootstrap: int,
    max_atoms: int,
    in_test_order: bool,
    published: bool,
    table_format: str | None,
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
    from atomgenbench.benchmarks.atomgen.predictions import atomic_write_text
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.cli.commands.evaluate import check_ids, resolve_benchmark
    from atomgenbench.core.errors import UsageError
    from atomgenbench.evaluator.inputs.load import load_predictions, model_label
    from atomgenbench.evaluator.metrics.compare import compare as run_compare
    from atomgenbench.evaluator.metrics.compare import markdown
    from atomgenbench.evaluator.metrics.evaluate import evaluate
    from atomgenbench.evaluator.reports.evaluation import write_outputs
    from atomgenbench.evaluator.reports.plots import plot_bars

    if table_format and out.is_dir():
        raise UsageError(f"--out {out} is a folder; with --format, --out names the table file to write")
    if not table_format and out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; without --format, --out names a folder (or add --format)")
    name = resolve_benchmark(preds[0], benchmark)
    if get_spec(name).kind != "structure":
        raise UsageError(f"{name} is a lattice-parameter benchmark; compare works on structure benchmarks")
    names = [s.strip() for s in labels.split(",")] if labels else [model_label(p) for p in preds]
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
            predictions,
            name,
            workers=workers,
            engine=engine,
            scheduler=scheduler,
            seed=seed,
            n_boot=n_bootstrap,
            max_atoms=max_atoms,
            progress=True,
        )
    comp = run_compare(results, n_boot=n_bootstrap, seed=seed)
    from atomgenbench.evaluator.leaderboard.published import published_lines, published_rows

    extra = {"published": published_rows(name)} if published else {}
    text = markdown(comp) + ("\n" + "\n".join(published_lines(name)) + "\n" if published else "")
    if table_format:
        from atomgenbench.evaluator.reports import tables

        docs = {label: res.to_json() for label, res in results.items()}
        table = tables.headline(docs, published=extra.get("published"))
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out, tables.render(table, table_format))
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write the table ({exc.strerror or exc})") from None
        click.echo(text)
        log.info("wrote the %s table to %s", table_format, out)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for label, res in results.items():
            write_outputs(res.to_json(), out / label, res.records, figures=True)
        atomic_write_text(out / "comparison.json", json.dumps({**comp.to_json(), **extra}, indent=2) + "\n")
        atomic_write_text(out / "comparison.md", text)
        docs = {label: res.to_json() for label, res in results.items()}
        plot_bars(docs, out)
        curves = {label: d["samples"]["match_at_k"]["curve"] for label, d in docs.items() if "samples" in d}
        if curves:  # every multi-sample model's match@k curve in one figure
            from atomgenbench.evaluator.reports.plots import plot_match_at_k

            plot_match_at_k(curves, out / "match_at_k.png", title=f"match@k on {name}")
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write outputs ({exc.strerror or exc})") from None
    click.echo(text)
