"""Orchestration: fit a runner, reconstruct a benchmark's test set with resume, write predictions.

Layout of an output folder ``OUT``::

    OUT/predictions.csv, OUT/predictions.json   final standardized predictions
    OUT/work/run_config.json                    the resolved config and its hash
    OUT/work/fit.json                           written once fit() returned: checkpoint + seconds
    OUT/work/partial.jsonl                      one line per reconstructed (id, sample), appended as they finish
    OUT/work/...                                whatever the runner keeps (checkpoints, logs)

Re-running the same command resumes: a finished fit is not repeated (runners resume
an unfinished one from ``OUT/work`` themselves), and only ids missing from
``partial.jsonl`` are reconstructed (:mod:`atomgenbench.runners.driver`, the one
reconstruction loop of every runner). Re-running with a *different* config into the
same folder is refused rather than mixing results.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import JSON_NAME, Predictions
from atomgenbench.core.errors import ConfigError, RunError
from atomgenbench.core.io import atomic_write_text
from atomgenbench.runners.base import RunConfig, Runner, TrainerOptions, declaration_problems, describe_conditioning
from atomgenbench.runners.config import config_fingerprint, config_hash
from atomgenbench.runners.driver import PARTIAL_NAME, reconstruct_all
from atomgenbench.runners.registry import get_runner

__all__ = ["PARTIAL_NAME", "RunError", "existing_config_hash", "run"]

FIT_NAME = "fit.json"
SAMPLING = "each sample seeded from (seed, id, sample): independent of order, batch, resume point and workers"
RUN_CONFIG_NAME = "run_config.json"


def existing_config_hash(out_dir: str | os.PathLike) -> str | None:
    """The config hash recorded in ``out_dir/predictions.json``, or ``None``."""
    path = Path(out_dir) / JSON_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("extra", {}).get("config_hash")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def _check_work_dir(config: RunConfig, chash: str) -> None:
    """Refuse to resume a work folder that belongs to a different configuration."""
    work = config.work_dir
    work.mkdir(parents=True, exist_ok=True)
    path = work / RUN_CONFIG_NAME
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8")).get("config_hash")
        except json.JSONDecodeError:
            old = None
        if old and old != chash:
            raise RunError(
                f"{config.out_dir} holds a run with a different configuration (hash {old}, now {chash}); "
                "use a new --out folder or delete the old one"
            )
    record = {"config_hash": chash, **config_fingerprint(config)}
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def _global_rank() -> int:
    """Rank of this process in a Lightning/torchrun multi-process job (0 when single-process)."""
    if "RANK" in os.environ:
        return int(os.environ["RANK"])
    local, node = int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("NODE_RANK", 0))
    return local + node * int(os.environ.get("LOCAL_WORLD_SIZE", 1) or 1) if (local or node) else 0


def _fit(runner, data, config: RunConfig) -> tuple[Path, float]:
    """Fit unless ``work/fit.json`` says a finished checkpoint exists; return (checkpoint, seconds)."""
    record_path = config.work_dir / FIT_NAME
    if record_path.is_file():
        try:
            rec = json.loads(record_path.read_text(encoding="utf-8"))
            ckpt = Path(rec["checkpoint"])
            ckpt = ckpt if ckpt.is_absolute() else config.work_dir / ckpt
            if ckpt.exists():
                return ckpt, float(rec.get("seconds", 0.0))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
    start = time.perf_counter()
    ckpt = Path(runner.fit(data, config))
    seconds = time.perf_counter() - start
    try:
        stored = str(ckpt.resolve().relative_to(config.work_dir.resolve()))
    except ValueError:
        stored = str(ckpt.resolve())
    atomic_write_text(record_path, json.dumps({"checkpoint": stored, "seconds": round(seconds, 3)}) + "\n")
    return ckpt, seconds


def run(
    model: str | Runner,
    benchmark: str,
    preset: str,
    out_dir: str | os.PathLike,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    trainer: TrainerOptions | None = None,
    progress: bool = True,
    samples: int = 1,
    *,
    data: BenchmarkData | None = None,
) -> Predictions:
    """Fit ``model`` on ``benchmark`` and reconstruct every test id; write ``out_dir/predictions.*``.

    ``model`` is a runner name (built-in or plugin) or a :class:`Runner` instance, so a runner
    can be run (and checked, :func:`atomgenbench.runners.testing.check_runner`) before it is
    registered anywhere. Resumable: see the module docstring. If ``out_dir`` already holds
    complete predictions with the same config hash, they are returned without any work.
    ``data`` is the benchmark already loaded, or a slice of it (``check_runner`` runs on a
    few test ids); default: :func:`load_benchmark`. Raises :class:`UsageError` for an
    unknown model, :class:`ConfigError` for an unknown preset or parameter, and
    :class:`RunError` for a runner whose declaration is wrong or an output folder that
    belongs to another configuration.
    """
    # an unknown name is a UsageError (exit 2) with "did you mean"
    runner = model if isinstance(model, Runner) else get_runner(model)
    name = runner.name if isinstance(model, Runner) else model  # a plugin is known by its entry-point name
    if isinstance(model, Runner) and (problems := declaration_problems(runner)):
        raise RunError(f"runner {name!r} ({type(runner).__qualname__}): " + "; ".join(problems))
    config = _config(runner, name, benchmark, preset, out_dir, seed, overrides, trainer, progress, samples)
    chash = config_hash(config)
    if data is not None and data.name != benchmark:
        raise RunError(f"the data given is benchmark {data.name!r}, not {benchmark!r}")
    try:
        data = data if data is not None else load_benchmark(benchmark)
    except ValueError as exc:  # e.g. a lattice-parameter benchmark
        raise RunError(str(exc)) from None
    if existing_config_hash(config.out_dir) == chash:
        done = Predictions.read(config.out_dir)
        if set(done.ids) == set(data.test_ids):
            return done
    _check_work_dir(config, chash)

    checkpoint, fit_seconds = _fit(runner, data, config)
    if _global_rank() != 0:  # under multi-process training only rank 0 reconstructs and writes
        return Predictions(benchmark=benchmark, model=name, structures={}, preset=preset, seed=int(seed))
    records, reconstruct_seconds = reconstruct_all(runner, data, checkpoint, config, samples=config.samples)
    preds = _predictions(runner, data, config, records, checkpoint, chash)
    preds.time_taken_seconds = {"fit": round(fit_seconds, 3), "reconstruct": round(reconstruct_seconds, 3)}
    preds.write(config.out_dir)
    return preds


def _config(
    runner: Runner,
    name: str,
    benchmark: str,
    preset: str,
    out_dir: str | os.PathLike,
    seed: int,
    overrides: dict[str, Any] | None,
    trainer: TrainerOptions | None,
    progress: bool,
    samples: int,
) -> RunConfig:
    """The run's configuration, with the preset resolved and the sample count checked."""
    samples = int(samples)
    if samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {samples}")
    if samples > 1 and not runner.supports_samples:
        raise ConfigError(
            f"{name!r} draws one structure per id and does not support --samples {samples}; "
            "runners that do: " + ", ".join(_sampling_runners())
        )
    try:
        params = runner.resolve_params(preset, overrides)
    except ValueError as exc:  # unknown preset or parameter: a usage mistake (exit 2)
        raise ConfigError(str(exc)) from None
    return RunConfig(
        model=name,
        benchmark=benchmark,
        preset=preset,
        seed=int(seed),
        params=params,
        trainer=trainer or TrainerOptions(),
        out_dir=Path(out_dir),
        progress=progress,
        samples=samples,
    )


def _predictions(runner: Runner, data, config: RunConfig, records: dict, checkpoint, chash: str) -> Predictions:
    """The reconstructed records of every test id and sample as :class:`Predictions` (failures with reasons)."""
    samples = config.samples
    by_sample: dict[int, dict[str, str]] = {s: {} for s in range(samples)}
    failures_by_sample: dict[int, dict[str, str]] = {s: {} for s in range(samples)}
    for key in data.test_ids:
        for s in range(samples):
            rec = records[(key, s)]
            by_sample[s][key] = rec.structure or ""
            if rec.failure is not None:
                failures_by_sample[s][key] = rec.failure
    structures, failures = by_sample.pop(0), failures_by_sample.pop(0)
    return Predictions(
        benchmark=config.benchmark,
        model=config.model,
        structures=structures,
        failures=failures,
        samples=samples,
        sampling=SAMPLING if samples > 1 else None,
        more_samples=by_sample,
        more_failures=failures_by_sample,
        preset=config.preset,
        seed=config.seed,
        conditioning=runner.conditioning,
        extra={
            **runner.reconstruct_metadata(checkpoint, config),
            "config_hash": chash,
            "params": config.params,
            "conditioning_description": describe_conditioning(runner),
            "checkpoint": str(checkpoint),
            "trainer": vars(config.trainer),
        },
    )


def _sampling_runners() -> list[str]:
    from atomgenbench.runners.registry import available, load_runner_class

    names = []
    for name, entry in available().items():
        try:
            if load_runner_class(entry).supports_samples:
                names.append(name)
        except Exception:  # a broken plugin is reported by `run --list`, not here
            continue
    return names
