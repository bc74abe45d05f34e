"""``atomgenbench import``: convert official AtomGPT/CDVAE/FlowMM outputs to standardized predictions."""

from __future__ import annotations

from pathlib import Path

import click

from atomgenbench.cli.options import emit, json_option

_BENCH = click.option(
    "--benchmark",
    "-b",
    required=True,
    help="Structure benchmark the output is for (dft_3d_Tc_supercon, alex_supercon_Tc).",
)
_OUT = click.option(
    "--out",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write predictions.csv and predictions.json into.",
)
_TEST_CSV = click.option(
    "--test-csv",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The test.csv the model was evaluated on; its material_id column gives the ids, in order.",
)
_EVAL = click.option(
    "--eval-index", type=int, default=0, show_default=True, help="Which eval to import (num_evals > 1)."
)
_TRUST = click.option(
    "--trust-pickle",
    is_flag=True,
    help="Allow arbitrary pickled code in the .pt file (only for files you trust and that "
    "cannot be read safely otherwise).",
)
_COMP = click.option(
    "--composition-check/--no-composition-check",
    default=True,
    show_default=True,
    help="Require each prediction's composition to equal its paired test crystal's "
    "(detects misaligned rows; the official runs force the composition).",
)


def _finish(make, out_dir: str) -> None:
    """Run the importer (its errors reach the CLI's one handler) and write the predictions."""
    preds = make()
    try:
        preds.write(out_dir)
    except OSError as exc:
        raise click.ClickException(f"{out_dir}: cannot write predictions ({exc.strerror or exc})") from None
    n_fail = len(preds.failures)
    doc = {
        "model": preds.model,
        "out": str(Path(out_dir) / "predictions.csv"),
        "n_ids": len(preds.ids),
        "n_failures": n_fail,
        "absent_ids": preds.extra.get("absent_ids", 0),
    }
    line = (
        f"{preds.model} -> {doc['out']}: {len(preds.ids) - n_fail}/{len(preds.ids)} "
        f"predictions, {n_fail} failures ({doc['absent_ids']} ids absent from the file)"
    )
    emit(bool(click.get_current_context().params.get("as_json")), doc, [line])


@click.group(name="import")
def import_() -> None:
    """Convert official model outputs into standardized predictions keyed by benchmark ids.

    Every test id of the benchmark gets a row; ids the output lacks become failures.
    Then score with `atomgenbench evaluate OUT/predictions.csv --benchmark NAME`.
    """


@import_.command(name="cdvae")
@click.argument("pt_file", type=click.Path(dir_okay=False, exists=True))
@_TEST_CSV
@_BENCH
@_OUT
@_EVAL
@_TRUST
@_COMP
@json_option("a summary of the import")
def cdvae(pt_file, test_csv, benchmark, out_dir, eval_index, trust_pickle, composition_check, as_json) -> None:
    """CDVAE eval_recon.pt (scripts/evaluate.py --tasks recon); crystal i = row i of --test-csv."""
    from atomgenbench.runners.importers.cdvae import import_cdvae

    _finish(
        lambda: import_cdvae(
            pt_file,
            test_csv,
            benchmark,
            eval_index=eval_index,
            trust_pickle=trust_pickle,
            check_composition=composition_check,
        ),
        out_dir,
    )


@import_.command(name="flowmm")
@click.argument("pt_file", type=click.Path(dir_okay=False, exists=True))
@_TEST_CSV
@_BENCH
@_OUT
@_EVAL
@_TRUST
@_COMP
@json_option("a summary of the import")
def flowmm(pt_file, test_csv, benchmark, out_dir, eval_index, trust_pickle, composition_check, as_json) -> None:
    """FlowMM consolidated_reconstruct.pt; order verified with its batch_indices against --test-csv."""
    from atomgenbench.runners.importers.flowmm import import_flowmm

    _finish(
        lambda: import_flowmm(
            pt_file,
            test_csv,
            benchmark,
            eval_index=eval_index,
            trust_pickle=trust_pickle,
            check_composition=composition_check,
        ),
        out_dir,
    )


@import_.command(name="atomgpt")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_BENCH
@_OUT
@click.option(
    "--misses",
    type=click.Path(dir_okay=False, exists=True),
    help="AtomGPT's .misses.csv (default: <stem>.misses.csv beside FILE, if present).",
)
@click.option(
    "--test-csv",
    type=click.Path(dir_okay=False, exists=True),
    help="For out_inv.json only: ids in order (default: the benchmark's test ids in order).",
)
@json_option("a summary of the import")
def atomgpt(file, benchmark, out_dir, misses, test_csv, as_json) -> None:
    """AtomGPT benchmark CSV (id,target,prediction; paired by id) or out_inv.json (paired by order)."""
    from atomgenbench.runners.importers.atomgpt import import_atomgpt

    _finish(lambda: import_atomgpt(file, benchmark, test_csv=test_csv, misses=misses), out_dir)
