"""A baseline as a plugin: each test id gets a training crystal drawn with a seeded RNG.

The draw depends only on (seed, test id), so a resumed or reordered run writes the same file.
It ignores the test crystal entirely, which makes it a floor for any real model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from atomgenbench.runners import BenchmarkData, Reconstruction, RunConfig, Runner, id_rng


class RandomTrainRunner(Runner):
    name = "random-train"
    conditioning = "train"  # a key of atomgenbench.runners.CONDITIONING: it sees nothing of the test crystal
    presets = {"smoke": {}, "cpu": {}, "paper": {}}  # no parameters to set

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        # nothing to learn: the "checkpoint" is the list of training ids to draw from
        path = config.work_dir / "random-train.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(data.train_ids)) + "\n", encoding="utf-8")
        return path

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        train_ids = json.loads(Path(checkpoint).read_text(encoding="utf-8"))
        for key in data.test_ids if ids is None else ids:
            pick = train_ids[int(id_rng(config.seed, key).integers(len(train_ids)))]
            yield Reconstruction.ok(key, data.poscar(pick))
