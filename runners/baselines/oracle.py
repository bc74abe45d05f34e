"""``oracle``: the prediction is the target crystal itself (a sanity check of the whole pipeline).

Scores RMSE 0 and match rate 1 by construction; anything else means the evaluator,
the predictions format or the data layer is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import unescape
from atomgenbench.runners.base import RunConfig, Runner
from atomgenbench.runners.baselines.common import BASELINE_PRESETS, reconstruct_each, write_checkpoint


class OracleRunner(Runner):
    name = "oracle"
    conditioning = "target"
    presets = BASELINE_PRESETS
    trivial_fit = True

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        return write_checkpoint(config, self.name, {"note": "no training: predictions are the targets"})

    def reconstruct(
        self,
        data: BenchmarkData,
        checkpoint: Path,
        config: RunConfig,
        ids: list[str] | None = None,
        on_result: Callable[[str, str, str | None], None] | None = None,
    ) -> Predictions:
        # the benchmark's own POSCAR text, unchanged: identical to the target by construction
        return reconstruct_each(self, data, config, lambda key: unescape(data.text(key)), ids, on_result)
