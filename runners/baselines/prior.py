"""``prior``: composition kept, lattice drawn from the training set, random positions.

For a test crystal with N atoms the lattice parameters (a, b, c, α, β, γ) are copied
from a training crystal with the same number of atoms, drawn uniformly at random
(the empirical training distribution for that N). When no training crystal has N
atoms the nearest available atom count is used (ties: the smaller count).
Fractional coordinates are uniform in [0, 1)^3; the species are the test crystal's
(its composition is the conditioning). Everything is seeded per (seed, id, sample):
``--samples K`` gives K independent draws.

The "checkpoint" is the table ``{N: [[a, b, c, α, β, γ], ...]}`` in a JSON file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pymatgen.core import Lattice, Structure

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner
from atomgenbench.runners.baselines.common import (
    BASELINE_PRESETS,
    id_rng,
    predict_each,
    read_checkpoint,
    write_checkpoint,
)


def lattice_table(data: BenchmarkData) -> dict[int, list[list[float]]]:
    """Training lattice parameters grouped by atom count."""
    table: dict[int, list[list[float]]] = {}
    for s in data.train.values():
        table.setdefault(len(s), []).append([round(float(x), 6) for x in (*s.lattice.abc, *s.lattice.angles)])
    return table


def nearest_count(available: list[int], n: int) -> int:
    """``n`` itself if available, else the closest count (the smaller one on a tie)."""
    return min(available, key=lambda m: (abs(m - n), m))


class PriorRunner(Runner):
    name = "prior"
    conditioning = "composition+train"
    presets = BASELINE_PRESETS
    supports_samples = True

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        table = lattice_table(data)
        return write_checkpoint(
            config, self.name, {"lattices_by_natoms": {str(k): v for k, v in sorted(table.items())}}
        )

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        table = {int(k): v for k, v in read_checkpoint(checkpoint)["lattices_by_natoms"].items()}
        counts = sorted(table)

        def predict(key: str, sample: int = 0) -> Structure:
            target = data.structure(key)
            rng = id_rng(config.seed, key, sample)
            pool = table[nearest_count(counts, len(target))]
            a, b, c, alpha, beta, gamma = pool[int(rng.integers(len(pool)))]
            species = [site.specie.symbol for site in target]
            coords = rng.random((len(species), 3))
            return Structure(Lattice.from_parameters(a, b, c, alpha, beta, gamma), species, coords)

        return predict_each(data.test_ids if ids is None else ids, predict, config.samples)
