"""Shared plumbing of the baselines: seeded per-id randomness, JSON checkpoints, the reconstruct loop."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymatgen.core import Structure
from tqdm.auto import tqdm

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.predictions import Predictions, atomic_write_text
from atomgenbench.benchmarks.atomgen.structures import to_poscar
from atomgenbench.runners.base import RunConfig, Runner

#: the baselines have no hyper-parameters worth tuning; all presets are the same
BASELINE_PRESETS: dict[str, dict] = {"smoke": {}, "cpu": {}, "paper": {}}


def id_rng(seed: int, identifier: str) -> np.random.Generator:
    """A generator that depends only on (seed, id), so resumed or reordered runs agree."""
    return np.random.default_rng([int(seed), zlib.crc32(identifier.encode("utf-8"))])


def cell_counts(structure: Structure) -> dict[str, int]:
    """Element -> number of sites in the cell, in order of first appearance."""
    counts: dict[str, int] = {}
    for site in structure:
        counts[site.specie.symbol] = counts.get(site.specie.symbol, 0) + 1
    return counts


def write_checkpoint(config: RunConfig, name: str, payload: dict) -> Path:
    """Write the baseline's small JSON "checkpoint" into the work folder (atomically)."""
    path = config.work_dir / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"model": name, "benchmark": config.benchmark, "seed": config.seed, **payload}
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def read_checkpoint(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def reconstruct_each(
    runner: Runner,
    data: BenchmarkData,
    config: RunConfig,
    predict: Callable[[str], Structure | str],
    ids: list[str] | None,
    on_result: Callable[[str, str, str | None], None] | None,
) -> Predictions:
    """Call ``predict(id)`` for every id; an exception becomes a failure with its message."""
    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    todo = list(data.test_ids if ids is None else ids)
    for key in tqdm(todo, desc=f"{runner.name} {data.name}", unit="crystal", disable=not config.progress):
        try:
            result = predict(key)
            poscar = result if isinstance(result, str) else to_poscar(result)
            reason = None
        except Exception as exc:  # one bad id must not stop the run
            poscar, reason = "", f"{type(exc).__name__}: {exc}"
        structures[key] = poscar
        if reason:
            failures[key] = reason
        if on_result is not None:
            on_result(key, poscar, reason)
    return Predictions(
        benchmark=data.name,
        model=runner.name,
        structures=structures,
        failures=failures,
        preset=config.preset,
        seed=config.seed,
        conditioning=runner.conditioning,
    )
