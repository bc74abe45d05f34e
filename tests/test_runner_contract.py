"""The runner contract, checked on every registered runner through the one driver (``api.run``).

Parametrized over the registry (built-in models on ``smoke``, the baselines, installed
plugins) plus the example plugin of ``examples/runner-plugin`` loaded from its source
folder when it is not installed. For each runner:

* a full run writes every test id exactly once, and every empty row has a reason;
* the same seed, fitted afresh, gives a byte-identical predictions.csv;
* a run interrupted twice resumes, asking only for the missing ids and without fitting again,
  to the same file;
* a failure (forced by wrapping the runner's records) is recorded with its reason, and an id
  the runner never yields becomes a failure row, not a missing one.

A fake plugin registered for the test checks the driver's refusals, and the model runners'
smoke runs print nothing but their summary line in a pipe.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import atomgenbench.runners.api as api
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.runners import Reconstruction, registry
from atomgenbench.runners.base import CONDITIONING, PRESETS, Runner, batch_seed, fixed_batches
from atomgenbench.runners.baselines.oracle import OracleRunner
from atomgenbench.runners.driver import NOT_RETURNED

BENCH = "dft_3d_Tc_supercon"
EXAMPLE_SRC = Path(__file__).resolve().parents[1] / "examples" / "runner-plugin" / "src"
EXAMPLE = "random-train"
STOP_AFTER = (40, 64)  # records written before each simulated kill; one id is left for the last session


def _names() -> list[str]:
    names = list(registry.available())
    return names if EXAMPLE in names else [*names, EXAMPLE]


def _runner(name: str) -> Runner:
    if name in registry.available():
        return registry.get_runner(name)
    sys.path.insert(0, str(EXAMPLE_SRC))  # the example plugin, not installed: import it from its source
    try:
        return importlib.import_module("random_train_runner").RandomTrainRunner()
    finally:
        sys.path.remove(str(EXAMPLE_SRC))


def _run(name: str, out: Path, wrap=None, refit: bool = True):
    """``api.run`` on ``smoke`` with the runner's ``reconstruct`` optionally wrapped."""
    runner = _runner(name)
    if wrap is not None:
        runner.reconstruct = wrap(runner.reconstruct)
    if not refit:
        runner.fit = lambda *a, **k: pytest.fail(f"{name}: the finished fit was repeated")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(api, "get_runner", lambda _: runner)
        return api.run(name, BENCH, "smoke", out, seed=0, progress=False)


def _copy_fit(src: Path, dst: Path) -> None:
    """A fresh output folder holding ``src``'s finished fit and no reconstruction."""
    shutil.copytree(src / "work", dst / "work", ignore=shutil.ignore_patterns(api.PARTIAL_NAME))


def _rows(out: Path) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO((out / "predictions.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "sample", "prediction"]
    assert {r[1] for r in rows[1:]} == {"0"}  # one sample per id unless --samples
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == len(set(ids)), "an id is written twice"
    return {r[0]: r[2] for r in rows[1:]}


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


@pytest.fixture(scope="module", params=_names())
def full(request, tmp_path_factory) -> tuple[str, Path]:
    """A complete run of each runner: (name, output folder)."""
    out = tmp_path_factory.mktemp(request.param) / "a"
    _run(request.param, out)
    return request.param, out


def test_declares_conditioning_and_every_preset(full):
    runner = _runner(full[0])
    assert runner.conditioning in CONDITIONING and set(PRESETS) <= set(runner.presets)


def test_every_test_id_exactly_once_and_each_failure_has_a_reason(full, data):
    _, out = full
    rows = _rows(out)
    assert list(rows) == data.test_ids and len(rows) == 105
    failures = json.loads((out / "predictions.json").read_text())["failures"]
    assert set(failures) == {k for k, v in rows.items() if not v} and all(failures.values())
    lines = [json.loads(x) for x in (out / "work" / api.PARTIAL_NAME).read_text().splitlines()]
    assert sorted((r["id"], r["sample"]) for r in lines) == sorted((k, 0) for k in data.test_ids)


def test_same_seed_gives_identical_bytes(full, tmp_path):
    name, out = full
    _run(name, tmp_path / "b")  # fitted again from scratch
    assert (tmp_path / "b" / "predictions.csv").read_bytes() == (out / "predictions.csv").read_bytes()


def test_interrupted_run_resumes_to_the_same_file(full, data, tmp_path):
    """Killed twice (after 40 records, then after 64 more), then finished: the same bytes as one session."""
    name, out = full
    resumed = tmp_path / "c"
    partial = resumed / "work" / api.PARTIAL_NAME
    _copy_fit(out, resumed)
    asked: list[list[str]] = []

    def spy(stop_after: int | None):
        def wrap(reconstruct):
            def recording(data, checkpoint, config, ids=None):
                asked.append(list(ids))
                for done, rec in enumerate(reconstruct(data, checkpoint, config, ids=ids)):
                    if done == stop_after:
                        raise KeyboardInterrupt("simulated kill")
                    yield rec

            return recording

        return wrap

    written: list[list[str]] = []
    for stop_after in STOP_AFTER:
        with pytest.raises(KeyboardInterrupt):
            _run(name, resumed, wrap=spy(stop_after), refit=False)
        assert not (resumed / "predictions.csv").exists()
        written.append([json.loads(x)["id"] for x in partial.read_text().splitlines()])
    assert [len(w) for w in written] == [STOP_AFTER[0], sum(STOP_AFTER)]
    _run(name, resumed, wrap=spy(None), refit=False)
    # each session asked only for the ids still missing
    assert asked == [data.test_ids] + [[k for k in data.test_ids if k not in w] for w in written]
    assert (resumed / "predictions.csv").read_bytes() == (out / "predictions.csv").read_bytes()


def test_a_failure_is_recorded_with_its_reason(full, data, tmp_path):
    name, out = full
    forced, dropped = data.test_ids[2], data.test_ids[4]

    def wrap(reconstruct):
        def failing(*args, **kwargs):
            for rec in reconstruct(*args, **kwargs):
                if rec.id == forced:
                    yield Reconstruction.failed(rec.id, "forced by the contract test")
                elif rec.id != dropped:
                    yield rec

        return failing

    broken = tmp_path / "d"
    _copy_fit(out, broken)
    preds = _run(name, broken, wrap=wrap, refit=False)
    rows, before = _rows(broken), _rows(out)
    assert rows[forced] == "" and rows[dropped] == "" and list(rows) == data.test_ids
    assert preds.failures[forced] == "forced by the contract test" and preds.failures[dropped] == NOT_RETURNED
    assert json.loads((broken / "predictions.json").read_text())["failures"][forced] == "forced by the contract test"
    assert {k: v for k, v in rows.items() if k not in (forced, dropped)} == {
        k: v for k, v in before.items() if k not in (forced, dropped)
    }


# --- the driver's rules, on a fake plugin registered for the test ------------------------------------


class FakeRunner(OracleRunner):
    """An oracle whose records are bent by ``MODE``: each way a runner can break the contract."""

    name = "fake"
    MODE = "ok"

    def reconstruct(self, data, checkpoint, config, ids=None):
        records = list(super().reconstruct(data, checkpoint, config, ids))
        if self.MODE == "raise-in-predict":
            from atomgenbench.runners.baselines.common import predict_each

            def predict(key):
                if key == records[1].id:
                    raise ValueError("no prototype for this crystal")
                return records[[r.id for r in records].index(key)].structure

            yield from predict_each([r.id for r in records], predict)
        elif self.MODE == "twice":
            yield from [records[0], *records]
        elif self.MODE == "stranger":
            yield Reconstruction.ok("JVASP-not-a-test-id", records[0].structure)
        elif self.MODE == "not-a-record":
            yield (records[0].id, records[0].structure, None)
        else:
            yield from records


@pytest.fixture
def fake_plugin(monkeypatch):
    """Register :class:`FakeRunner` as the plugin ``fake`` (entry points are looked up at each call)."""
    ep = EntryPoint("fake", f"{__name__}:FakeRunner", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(FakeRunner, "MODE", "ok")
    return FakeRunner


def test_an_exception_for_one_id_is_a_failure_row(fake_plugin, data, tmp_path):
    fake_plugin.MODE = "raise-in-predict"
    preds = api.run("fake", BENCH, "smoke", tmp_path / "f", progress=False)
    assert list(preds.structures) == data.test_ids
    assert preds.failures == {data.test_ids[1]: "ValueError: no prototype for this crystal"}


@pytest.mark.parametrize(
    "mode, message",
    [
        ("twice", "yielded id '.*' sample 0 twice"),
        ("stranger", "yielded id 'JVASP-not-a-test-id' sample 0 although it was not asked for"),
        ("not-a-record", "yielded tuple, not a Reconstruction"),
    ],
)
def test_records_that_break_the_contract_are_refused(fake_plugin, tmp_path, mode, message):
    fake_plugin.MODE = mode
    with pytest.raises(api.RunError, match=f"runner 'fake' {message}"):
        api.run("fake", BENCH, "smoke", tmp_path / mode, progress=False)
    assert not (tmp_path / mode / "predictions.csv").exists()


def test_fixed_batches_are_cut_from_the_full_order():
    order = [f"t{i}" for i in range(10)]
    got = list(fixed_batches(["t9", "t1", "x", "t1"], order, 4))  # "x" is not in the order
    assert got == [(0, order[0:4]), (2, order[8:10]), (3, ["x"])]
    assert batch_seed(5, 0) == 5 and len({batch_seed(5, 1), batch_seed(6, 1), batch_seed(5, 2)}) == 3


def test_a_record_holds_a_structure_or_a_reason():
    assert Reconstruction.from_pair("x", "", None) == Reconstruction("x", 0, None, "no prediction")
    for structure, failure in ((None, None), ("POSCAR", "why"), ("", "why"), (None, "")):
        with pytest.raises(ValueError, match="exactly one"):
            Reconstruction("x", 0, structure, failure)


# --- quiet output ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["atomgpt", "cdvae", "flowmm"])
def test_model_smoke_runs_are_quiet_in_a_pipe(name, tmp_path):
    """No Lightning tips, loading bars, dependency warnings or carriage returns: just the summary line."""
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "PYTHONWARNINGS")}
    args = ["run", name, "-b", BENCH, "-p", "smoke", "-o", str(tmp_path / name)]
    proc = subprocess.run(
        [sys.executable, "-m", "atomgenbench", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    text = proc.stdout.decode("utf-8")
    assert proc.returncode == 0, text
    assert "\r" not in text and text.count("\n") == 1, text
    assert text.startswith(f"{name} on {BENCH}: ") and "105 predictions" in text, text
