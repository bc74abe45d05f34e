"""The runner interface every model and baseline implements.

A runner is trained with :meth:`Runner.fit` and then reconstructs every test id of
a structure benchmark with :meth:`Runner.reconstruct`, conditioned exactly as the
AtomBench paper conditions that model (see ``Runner.conditioning``).

Configuration is a named preset (``smoke``, ``cpu``, ``paper``) merged with user
overrides (CLI ``--set key=value`` or a YAML file) into a :class:`RunConfig`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.predictions import Predictions

PRESETS = ("smoke", "cpu", "paper")

#: what each conditioning label means (recorded in predictions.json)
CONDITIONING = {
    "composition+tc": "reduced formula and T_c of the test crystal (AtomGPT)",
    "composition": "composition of the test crystal only (FlowMM)",
    "structure": "the full test crystal, encoded then decoded (CDVAE)",
    "target": "the test crystal itself (oracle sanity check)",
    "composition+train": "composition of the test crystal and the training set (baselines)",
}


@dataclass
class TrainerOptions:
    """Options passed through to the Lightning Trainer (scale-out without code changes)."""

    accelerator: str = "cpu"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"


@dataclass
class RunConfig:
    """Everything that determines a run: model, benchmark, preset, seed and parameters."""

    model: str
    benchmark: str
    preset: str = "cpu"
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    trainer: TrainerOptions = field(default_factory=TrainerOptions)
    out_dir: Path | None = None
    progress: bool = True

    @property
    def work_dir(self) -> Path:
        """Where checkpoints and logs go (``<out_dir>/work``)."""
        if self.out_dir is None:
            raise ValueError("RunConfig.out_dir is not set")
        return Path(self.out_dir) / "work"


class Runner(ABC):
    """Base class of every model and baseline.

    Subclasses set ``name``, ``conditioning`` (a key of :data:`CONDITIONING`) and
    ``presets`` (``{"smoke": {...}, "cpu": {...}, "paper": {...}}``), and implement
    :meth:`fit` and :meth:`reconstruct`.
    """

    name: str = ""
    conditioning: str = ""
    presets: dict[str, dict[str, Any]] = {}
    #: True for runners that need no training (baselines read the training set directly)
    trivial_fit: bool = False

    def resolve_params(self, preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Preset parameters with ``overrides`` applied; unknown keys are an error."""
        if preset not in self.presets:
            raise ValueError(f"{self.name}: unknown preset {preset!r}; choose from {sorted(self.presets)}")
        params = copy.deepcopy(self.presets[preset])
        for key, value in (overrides or {}).items():
            if key not in params:
                raise ValueError(
                    f"{self.name}: unknown parameter {key!r} for preset {preset!r}; "
                    f"known: {', '.join(sorted(params)) or '(none: this model has no parameters)'}"
                )
            params[key] = value
        return params

    @abstractmethod
    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        """Train on ``data``'s training split; return the checkpoint path.

        Must resume from ``config.work_dir`` when a partial run is there.
        """

    @abstractmethod
    def reconstruct(
        self,
        data: BenchmarkData,
        checkpoint: Path,
        config: RunConfig,
        ids: list[str] | None = None,
        on_result: Callable[[str, str, str | None], None] | None = None,
    ) -> Predictions:
        """Reconstruct the test crystals ``ids`` (default: all test ids).

        Returns predictions with a row for every requested id; a failure is an empty
        structure with a reason, never a missing row. ``on_result(id, poscar, reason)``
        is called as each id finishes so the caller can checkpoint partial results.
        """
