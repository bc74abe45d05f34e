"""Who is measured: one runner interface for models, baselines and plugins.

Everything a runner author needs is importable from here::

    from atomgenbench.runners import BenchmarkData, Reconstruction, RunConfig, Runner, check_runner, id_rng

A runner subclasses :class:`Runner` (``name``, ``conditioning``, ``presets``, ``fit``,
``reconstruct`` yielding :class:`Reconstruction` records); the one driver
(:func:`atomgenbench.runners.api.run`, the ``run`` command) writes them as
:class:`atomgenbench.benchmarks.atomgen.predictions.Predictions`, resumably.
``atomgenbench.runners.registry.get_runner(name)`` finds built-in runners and plugins of the
entry-point group ``atomgenbench.runners``, and :func:`check_runner` (loaded on first use)
checks a runner against the contract. See docs/runners.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.runners.base import (
    CONDITIONING,
    PRESETS,
    Reconstruction,
    RunConfig,
    Runner,
    TrainerOptions,
    batch_seed,
    describe_conditioning,
    fixed_batches,
    id_rng,
    sample_seed,
)

if TYPE_CHECKING:
    from atomgenbench.runners.baselines.common import predict_each
    from atomgenbench.runners.testing import RunnerCheckError, RunnerCheckReport, check_runner

#: names loaded on first use (they import the driver and pymatgen's structure tools)
_LAZY = {
    "check_runner": "atomgenbench.runners.testing",
    "RunnerCheckError": "atomgenbench.runners.testing",
    "RunnerCheckReport": "atomgenbench.runners.testing",
    "predict_each": "atomgenbench.runners.baselines.common",
}

__all__ = [
    "CONDITIONING",
    "PRESETS",
    "BenchmarkData",
    "Reconstruction",
    "RunConfig",
    "Runner",
    "RunnerCheckError",
    "RunnerCheckReport",
    "TrainerOptions",
    "batch_seed",
    "check_runner",
    "describe_conditioning",
    "fixed_batches",
    "id_rng",
    "predict_each",
    "sample_seed",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
