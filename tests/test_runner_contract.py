"""The runner contract, checked on every registered runner by ``check_runner``.

:func:`atomgenbench.runners.testing.check_runner` is the one definition of the contract
(every test id exactly once, the same bytes for the same seed, resume, failures with reasons,
the declared conditioning, a checkpoint that loads without code); here it runs on every
registered runner (built-in models on ``smoke``, the baselines, installed plugins). The
example plugin has its own test file (examples/runner-plugin/tests), run by
tests/test_runner_sdk.py. Broken runners are in tests/test_check_runner.py.

A fake plugin registered for the test checks the driver's refusals, and the model runners'
smoke runs print nothing but their summary line in a pipe.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import atomgenbench.runners.api as api
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.runners import Reconstruction, batch_seed, check_runner, fixed_batches, registry
from atomgenbench.runners.baselines.oracle import OracleRunner
from atomgenbench.runners.testing import CHECKS

BENCH = "dft_3d_Tc_supercon"
#: conditionings whose runners may see less than the whole test crystal, which check_runner checks
CHECKABLE = ("train", "composition", "composition+tc", "composition+train")


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(registry.available()))
def test_runner_keeps_the_contract(name, tmp_path):
    runner = registry.get_runner(name)
    report = check_runner(runner, benchmark=BENCH, workdir=tmp_path)
    assert report.runner == name and len(report.ids) == 12 and report.preset == "smoke"
    expected_skips = set() if runner.conditioning in CHECKABLE else {"conditioning"}
    assert set(report.skipped) == expected_skips, report.skipped
    assert report.passed == [c for c in CHECKS if c not in expected_skips]
    assert report.samples == (2 if runner.supports_samples else 1)


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


@pytest.mark.slow
def test_model_smoke_runs_are_quiet_in_a_pipe(smoke_runs):
    """No Lightning tips, loading bars, dependency warnings or carriage returns: just one summary line
    per run (the suite's shared smoke runs, tests/conftest.py: three `atomgenbench run` in one
    interpreter, in a pipe, so a message that a dependency prints once per process shows up in
    whichever run triggers it first)."""
    text = smoke_runs.output
    assert smoke_runs.returncode == 0, text
    assert "\r" not in text and text.count("\n") == len(smoke_runs.models), text
    for name, line in zip(smoke_runs.models, text.splitlines()):
        assert line.startswith(f"{name} on {BENCH}: ") and "105 predictions" in line, text
