"""``atomgenbench run``: train a model or baseline and reconstruct a benchmark's test crystals."""

from __future__ import annotations

from pathlib import Path

import click

from atomgenbench.cli.options import emit, json_option
from atomgenbench.runners.base import TrainerOptions


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


@click.command(name="run")
@click.argument("model", required=False, metavar="MODEL")
@click.option(
    "--list",
    "list_runners",
    is_flag=True,
    help="List every runner (built-in and plugins) with its conditioning and presets, and exit.",
)
@click.option("--benchmark", "-b", help="Structure benchmark, e.g. dft_3d_Tc_supercon or alex_supercon_Tc.")
@click.option(
    "--preset",
    "-p",
    default="cpu",
    show_default=True,
    help="smoke: seconds (tests); cpu: a real run on 2 cores; paper: the paper's settings (GPU); "
    "or a preset of the runner's own (`run --list` shows them).",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Output folder: predictions.csv, predictions.json, and work/ (checkpoints, partial results).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--samples",
    "-k",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Structures per test id (match@k); each seeded from (seed, id, sample). Sample 0 is what `package` uses.",
)
@click.option(
    "--set",
    "set_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one preset parameter (value read as a YAML scalar); repeatable.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="YAML file of parameter overrides (applied before --set).",
)
@click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator (cpu, gpu, auto).")
@click.option("--devices", default="1", show_default=True, help="Lightning devices (a number or 'auto').")
@click.option("--num-nodes", type=int, default=1, show_default=True, help="Lightning num_nodes.")
@click.option("--strategy", default="auto", show_default=True, help="Lightning strategy (auto, ddp, ...).")
@json_option("a summary of the run")
def run(
    as_json,
    model,
    list_runners,
    benchmark,
    preset,
    out_dir,
    seed,
    samples,
    set_pairs,
    config_file,
    accelerator,
    devices,
    num_nodes,
    strategy,
) -> None:
    """Fit MODEL on a benchmark's training split and reconstruct every test crystal.

    MODEL is a native model (atomgpt, cdvae, flowmm), a baseline (oracle, prior,
    nearest), or a plugin runner (entry-point group atomgenbench.runners; see
    docs/runners.md); `atomgenbench run --list` shows them all. Writes
    OUT/predictions.csv and OUT/predictions.json. Re-running the same command
    resumes: a finished fit is reused and only missing test ids are
    reconstructed. Example:

    \b
        atomgenbench run nearest --benchmark dft_3d_Tc_supercon --preset cpu --out runs/nearest
    """
    from atomgenbench.benchmarks.atomgen.registry import get_spec
    from atomgenbench.core.output import progress_enabled
    from atomgenbench.runners.config import load_yaml_overrides, merge_overrides, parse_set_pairs
    from atomgenbench.runners.registry import describe, find

    if list_runners:
        _list_runners(describe())
        return
    missing = [name for name, value in (("MODEL", model), ("--benchmark", benchmark), ("--out", out_dir)) if not value]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or use --list to see the runners)")
    find(model)  # an unknown model (built-in or plugin) is a usage error (exit 2) with "did you mean"
    get_spec(benchmark)  # an unknown name is a usage error (exit 2) with "did you mean"
    # errors (ConfigError, UnknownBenchmarkError, DataError, RunError) reach the CLI's one handler
    overrides = merge_overrides(load_yaml_overrides(config_file) if config_file else None, parse_set_pairs(set_pairs))
    trainer = TrainerOptions(accelerator=accelerator, devices=_devices(devices), num_nodes=num_nodes, strategy=strategy)
    kwargs = {"seed": seed, "overrides": overrides, "trainer": trainer, "samples": samples}
    _check_writable(Path(out_dir))
    preds = _run_model(model, benchmark, preset, out_dir, progress=progress_enabled(), **kwargs)
    n_fail = len(preds.failures)
    t = preds.time_taken_seconds
    per_id = f", {preds.samples} samples per id" if preds.samples > 1 else ""
    doc = {
        "model": model,
        "benchmark": benchmark,
        "preset": preset,
        "out": str(out_dir),
        "n_ids": len(preds.ids),
        "n_failures": n_fail,
        "samples": preds.samples,
        "time_taken_seconds": t,
    }
    line = (
        f"{model} on {benchmark}: {len(preds.ids) - n_fail}/{len(preds.ids)} predictions{per_id} "
        f"({n_fail} failures), fit {t.get('fit', 0):.1f}s, reconstruct {t.get('reconstruct', 0):.1f}s -> {out_dir}"
    )
    emit(as_json, doc, [line])


def _run_model(model: str, benchmark: str, preset: str, out_dir, **kwargs):
    """``api.run``; a model whose optional dependency is missing is one clear line."""
    from atomgenbench.runners.api import run as run_model

    try:
        return run_model(model, benchmark, preset, out_dir, **kwargs)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in {"atomgenbench", "benchmarks", "runners", "evaluator"}:
            raise
        raise click.ClickException(
            f"model {model!r} needs the Python package {exc.name!r}, which is not installed. "
            "Install the model extras: pip install 'atomgenbench[models]'."
        ) from None


def _list_runners(rows: list[dict[str, str]]) -> None:
    """One line per runner: name, conditioning, presets and where it comes from."""
    width = max(len(r["name"]) for r in rows)
    cond = max(len(r["conditioning"]) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['conditioning']:<{cond}}  presets: {r['presets']}  [{r['origin']}]")


def _check_writable(folder: Path) -> None:
    """Make ``folder`` and write one probe file there, or stop with one line (exit 1) before any work."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".atomgenbench-probe-"):
            pass
    except OSError as exc:
        raise click.ClickException(f"{folder}: cannot write the run folder ({exc.strerror or exc})") from None
