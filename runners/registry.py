"""Name -> runner class. Imported lazily so baselines work without torch."""

from __future__ import annotations

import importlib

from atomgenbench.runners.base import Runner

RUNNERS: dict[str, str] = {
    "oracle": "atomgenbench.runners.baselines.oracle:OracleRunner",
    "prior": "atomgenbench.runners.baselines.prior:PriorRunner",
    "nearest": "atomgenbench.runners.baselines.nearest:NearestRunner",
    "atomgpt": "atomgenbench.runners.atomgpt.runner:AtomGPTRunner",
    "cdvae": "atomgenbench.runners.cdvae.runner:CDVAERunner",
    "flowmm": "atomgenbench.runners.flowmm.runner:FlowMMRunner",
}

BASELINES = ("oracle", "prior", "nearest")
MODELS = ("atomgpt", "cdvae", "flowmm")


def get_runner(name: str) -> Runner:
    """Instantiate the runner called ``name``."""
    try:
        target = RUNNERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(RUNNERS)}") from None
    module_name, cls = target.split(":")
    return getattr(importlib.import_module(module_name), cls)()
