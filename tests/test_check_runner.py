"""``check_runner`` fails a deliberately broken runner, saying which property broke and for which id.

Each broken runner bends one rule of a correct one (:class:`PickTrain`, a training crystal
per test id drawn from ``id_rng(seed, id)``, or the oracle); check_runner must name the
broken property (:data:`atomgenbench.runners.testing.CHECKS`) and the first id where it shows.
"""

from __future__ import annotations

import itertools
import json
import pickle
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from atomgenbench.core.errors import AtomGenBenchError
from atomgenbench.runners import (
    BenchmarkData,
    Reconstruction,
    RunConfig,
    Runner,
    RunnerCheckError,
    check_runner,
    id_rng,
)
from atomgenbench.runners.baselines.oracle import OracleRunner
from atomgenbench.runners.safe_files import load_risk

BENCH = "dft_3d_Tc_supercon"
FIRST = "JVASP-20570"  # the first test id of dft_3d_Tc_supercon


class PickTrain(Runner):
    """A correct runner: a training crystal per test id, drawn from (seed, id)."""

    name = "pick-train"
    conditioning = "train"
    presets = {"smoke": {}, "cpu": {}, "paper": {}}

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        path = config.work_dir / "train-ids.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data.train_ids))
        return path

    def pick(self, key: str, config: RunConfig, train: list[str]) -> str:
        return train[int(id_rng(config.seed, key).integers(len(train)))]

    def reconstruct(self, data, checkpoint, config, ids=None):
        train = json.loads(Path(checkpoint).read_text())
        for key in data.test_ids if ids is None else ids:
            yield Reconstruction.ok(key, data.poscar(self.pick(key, config, train)))


COUNTER = itertools.count()


class GlobalCounter(PickTrain):
    """Draws from a module-level counter that keeps counting across runs."""

    def pick(self, key, config, train):
        return train[next(COUNTER) % len(train)]


class WallClock(PickTrain):
    """Seeds its generator from the clock."""

    def pick(self, key, config, train):
        return train[int(np.random.default_rng(time.time_ns()).integers(len(train)))]


class Positional(PickTrain):
    """One generator for the whole call: an id's draw depends on which ids come before it."""

    def reconstruct(self, data, checkpoint, config, ids=None):
        train = json.loads(Path(checkpoint).read_text())
        rng = np.random.default_rng(config.seed)
        for key in data.test_ids if ids is None else ids:
            yield Reconstruction.ok(key, data.poscar(train[int(rng.integers(len(train)))]))


class Twice(PickTrain):
    def reconstruct(self, data, checkpoint, config, ids=None):
        records = list(super().reconstruct(data, checkpoint, config, ids))
        yield from [records[0], *records]


class Silent(PickTrain):
    """Skips an id instead of yielding a failure for it."""

    def reconstruct(self, data, checkpoint, config, ids=None):
        yield from (r for r in super().reconstruct(data, checkpoint, config, ids) if r.id != data.test_ids[5])


class PeeksAtStructure(OracleRunner):
    """Declares composition-only conditioning but returns the test crystal itself."""

    name = "peek"
    conditioning = "composition"


class PeeksAtTest(OracleRunner):
    name = "peek-train"
    conditioning = "train"


class PickledCheckpoint(PickTrain):
    def fit(self, data, config):
        path = config.work_dir / "model.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(OrderedDict(ids=data.train_ids)))
        return path

    def reconstruct(self, data, checkpoint, config, ids=None):
        train = list(pickle.loads(Path(checkpoint).read_bytes())["ids"])
        for key in data.test_ids if ids is None else ids:
            yield Reconstruction.ok(key, data.poscar(self.pick(key, config, train)))


class UnknownConditioning(PickTrain):
    conditioning = "vibes"


def test_a_correct_runner_passes(tmp_path):
    report = check_runner(PickTrain(), workdir=tmp_path)
    assert report.skipped == {} and report.ids[0] == FIRST and report.samples == 1
    assert (report.workdir / "full" / "predictions.csv").is_file()  # kept under workdir


@pytest.mark.parametrize(
    "runner, check, message",
    [
        (Twice(), "ids exactly once", f"for id '{FIRST}' sample 0: yielded twice"),
        (Silent(), "ids exactly once", "for id 'JVASP-91708' sample 0: was asked for and never yielded"),
        (GlobalCounter(), "same seed, same bytes", f"for id '{FIRST}' sample 0: two runs with seed 0"),
        (WallClock(), "same seed, same bytes", "not from the clock, a global counter or an unseeded generator"),
        (Positional(), "resume", "a run killed twice and resumed disagrees with the uninterrupted run"),
        (PeeksAtStructure(), "conditioning", "replaced by other structures of the same composition"),
        (PeeksAtTest(), "conditioning", f"for id '{FIRST}' sample 0: declares conditioning 'train'"),
        (PickledCheckpoint(), "checkpoint without code", "model.pkl: a pickle whose loading imports or calls code"),
        (UnknownConditioning(), "declaration", "conditioning 'vibes' is not one of"),
    ],
    ids=["twice", "silent", "global-counter", "wall-clock", "positional", "peeks", "peeks-train", "pickle", "vibes"],
)
def test_a_broken_runner_fails_with_the_property_and_the_id(runner, check, message, tmp_path):
    with pytest.raises(RunnerCheckError) as info:
        check_runner(runner, workdir=tmp_path)
    err = info.value
    assert isinstance(err, AssertionError) and isinstance(err, AtomGenBenchError)
    assert err.check == check and f"[{check}]" in str(err) and message in str(err), str(err)
    assert str(err).startswith(f"check_runner: runner {runner.name!r} breaks [{check}]")


def test_the_runner_given_is_not_changed(tmp_path):
    runner = PickTrain()
    runner.marker = ["untouched"]
    check_runner(runner, workdir=tmp_path)
    assert runner.marker == ["untouched"] and "reconstruct" not in vars(runner) and "fit" not in vars(runner)


def test_a_runner_with_samples_is_checked_per_sample(tmp_path):
    report = check_runner(OracleRunner(), n_test=6, workdir=tmp_path)
    assert report.samples == 2 and report.skipped == {"conditioning": report.skipped["conditioning"]}
    assert "sees the whole test crystal" in report.skipped["conditioning"]
    rows = (report.workdir / "full" / "predictions.csv").read_text().splitlines()
    assert len(rows) == 1 + 6 * 2 and rows[2].startswith(f"{FIRST},1,")


def test_what_loads_without_code(tmp_path):
    import torch

    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": [1, 2.0, "x"]}))  # no import, no call: safe
    assert load_risk(plain) is None
    weights = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, weights)
    assert load_risk(weights) is None
    torch.save({"opt": Path("x")}, weights)  # a pathlib object: torch's weights-only loader refuses it
    assert "torch.load(weights_only=True) refuses it" in load_risk(weights)
    np.save(tmp_path / "ok.npy", np.arange(3))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    assert load_risk(tmp_path / "ok.npy") is None
    assert "allow_pickle" in load_risk(tmp_path / "objects.npy")


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="takes a Runner instance"):
        check_runner(PickTrain)
    with pytest.raises(ValueError, match="n_test >= 6"):
        check_runner(PickTrain(), n_test=3)
    with pytest.raises(RunnerCheckError, match=r"\[declaration\]: no preset 'tiny'"):
        check_runner(PickTrain(), preset="tiny")
