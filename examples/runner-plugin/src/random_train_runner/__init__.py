"""A baseline as a plugin: each test id gets a training crystal drawn with a seeded RNG.

The draw depends only on (seed, test id), so a resumed or reordered run gives the same file.
It ignores the test crystal entirely, which makes it a floor for any real model.
"""

from __future__ import annotations

from pathlib import Path

from atomgenbench.benchmarks.atomgen.structures import unescape
from atomgenbench.runners.base import RunConfig, Runner
from atomgenbench.runners.baselines.common import id_rng, reconstruct_each, write_checkpoint


class RandomTrainRunner(Runner):
    name = "random-train"
    conditioning = "composition+train"  # a key of atomgenbench.runners.base.CONDITIONING
    presets = {"smoke": {}, "cpu": {}, "paper": {}}

    def fit(self, data, config: RunConfig) -> Path:
        # nothing to learn: the "checkpoint" records the training ids it draws from
        return write_checkpoint(config, self.name, {"train_ids": sorted(data.train_ids)})

    def reconstruct(self, data, checkpoint: Path, config: RunConfig, ids=None, on_result=None):
        train_ids = sorted(data.train_ids)

        def predict(key: str) -> str:
            pick = train_ids[int(id_rng(config.seed, key).integers(len(train_ids)))]
            return unescape(data.text(pick))

        return reconstruct_each(self, data, config, predict, ids, on_result)
