"""``atomgenbench package``: write a JARVIS-Leaderboard contribution folder from predictions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from atomgenbench.cli.options import METADATA_OPTION_FIELDS, emit, in_test_order_option, json_option, metadata_options

DATASETS = {"dft_3d": "dft_3d_Tc_supercon", "alex": "alex_supercon_Tc"}


def _load_metadata_file(path: Path) -> dict:
    """Metadata from a YAML or JSON file (an object of metadata.json fields; docs/metadata.md)."""
    from atomgenbench.evaluator.submission.package import PackageError

    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            from atomgenbench.core.yaml_text import load_yaml

            data = load_yaml(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PackageError(f"{path}: cannot read metadata ({exc})") from None
    except Exception as exc:  # yaml syntax errors
        raise PackageError(f"{path}: cannot parse metadata ({exc})") from None
    if not isinstance(data, dict):
        raise PackageError(f"{path}: metadata must be a mapping of field names to values")
    return data


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dft-3d",
    "dft_3d",
    type=click.Path(exists=True, path_type=Path),
    help="Predictions for dft_3d_Tc_supercon (any evaluator input format).",
)
@click.option(
    "--alex",
    type=click.Path(exists=True, path_type=Path),
    help="Predictions for alex_supercon_Tc (any evaluator input format).",
)
@click.option("--name", help="Contribution folder name (default: the model name, lower-case, '_' for spaces).")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: submissions/<name>).",
)
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON file with metadata.json fields (docs/metadata.md; `atomgenbench metadata init` writes one); "
    "command-line options override it.",
)
@metadata_options
@click.option(
    "--fill-failures",
    is_flag=True,
    help="Write a recorded one-atom He placeholder for failed predictions instead of refusing.",
)
@click.option(
    "--time-taken",
    "time_taken_pairs",
    multiple=True,
    metavar="FILE=SECONDS",
    help="Seconds it took to make a leaderboard file (or all 7 files of a benchmark name); repeatable. "
    "Default: the run's recorded timings.",
)
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@in_test_order_option
@json_option("a summary of the folder")
def package(
    dft_3d, alex, name, out, metadata_file, fill_failures, time_taken_pairs, force, in_test_order, as_json, **options
) -> None:
    """Write a JARVIS-Leaderboard AtomGenBench contribution folder.

    Give predictions for dft_3d_Tc_supercon (--dft-3d) and/or alex_supercon_Tc
    (--alex) as a leaderboard csv/csv.zip, a standardized predictions folder or
    predictions.csv, a folder of CIF/POSCAR files named by id, or an .extxyz file.
    Each dataset yields 7 files (structures + 6 lattice parameters, computed from
    the predicted structures as the leaderboard does), plus metadata.json, run.sh
    and README.md. Metadata needs at least model_name, author_email and project_url.
    Every test id needs a valid prediction; failures are refused unless
    --fill-failures. The folder is built aside and moved into place when complete.

    Example: atomgenbench package --dft-3d runs/cdvae_dft --alex runs/cdvae_alex
    --model-name CDVAE --author-email me@example.org --project-url https://arxiv.org/abs/2110.06197
    """
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.leaderboard.metadata import contribution_name
    from atomgenbench.evaluator.submission.package import family_files, package_contribution, parse_time_taken

    inputs = {DATASETS[k]: p for k, p in (("dft_3d", dft_3d), ("alex", alex)) if p is not None}
    if not inputs:
        raise click.UsageError("give predictions with --dft-3d and/or --alex")
    meta = _load_metadata_file(metadata_file) if metadata_file else {}
    opts = {"os": options.pop("os_"), **options}
    git_urls = opts.pop("git_url")
    meta.update({k: v for k, v in opts.items() if k in METADATA_OPTION_FIELDS and v is not None})
    if git_urls:
        meta["git_url"] = list(git_urls)
    if not meta.get("model_name"):
        raise click.UsageError("--model-name (or model_name in --metadata) is required")
    time_taken = parse_time_taken(time_taken_pairs, [f for b in inputs for f in family_files(b)])
    out_dir = out or Path("submissions") / (name or contribution_name(str(meta["model_name"])))
    predictions = {bench: load_predictions(path, bench, in_test_order=in_test_order) for bench, path in inputs.items()}
    try:
        result = package_contribution(
            predictions,
            meta,
            out_dir,
            force=force,
            fill_failures=fill_failures,
            time_taken=time_taken,
            package_flags=["--in-test-order"] if in_test_order else [],
        )
    except OSError as exc:
        raise click.ClickException(f"{out_dir}: cannot write the contribution folder ({exc.strerror or exc})") from None
    n_filled = sum(len(v) for v in result.filled.values())
    doc = {"out": str(result.out_dir), "files": [str(f) for f in result.files], "filled": result.filled}
    notes = [
        f"wrote {result.out_dir}: {len(result.files)} leaderboard files, metadata.json, run.sh, README.md"
        + (f" ({n_filled} failed predictions filled with placeholders)" if n_filled else ""),
        f"next: atomgenbench validate {result.out_dir}",
    ]
    emit(as_json, doc, [], notes)
