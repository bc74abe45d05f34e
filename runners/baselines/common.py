"""Shared plumbing of the baselines: seeded per-id randomness, JSON checkpoints, one record per id."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.structures import to_poscar
from atomgenbench.core.io import atomic_write_text
from atomgenbench.runners.base import Reconstruction, RunConfig, id_rng

#: the baselines have no hyper-parameters worth tuning; all presets are the same
BASELINE_PRESETS: dict[str, dict] = {"smoke": {}, "cpu": {}, "paper": {}}

__all__ = ["BASELINE_PRESETS", "cell_counts", "id_rng", "predict_each", "read_checkpoint", "write_checkpoint"]


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


def predict_each(
    ids: Iterable[str], predict: Callable[..., Structure | str], samples: int = 1
) -> Iterator[Reconstruction]:
    """A :class:`Reconstruction` per id (and sample) from ``predict(id)``, or ``predict(id, sample)``
    when ``samples`` > 1; an exception becomes a failure with its message."""
    for key in ids:
        for sample in range(samples):
            try:
                result = predict(key) if samples == 1 else predict(key, sample)
                poscar = result if isinstance(result, str) else to_poscar(result)
                record = Reconstruction.from_pair(key, poscar, None, sample)
            except Exception as exc:  # one bad id must not stop the run
                record = Reconstruction.failed(key, f"{type(exc).__name__}: {exc}", sample)
            yield record
