"""The Dask engine gives the process engine's records exactly, survives a killed worker, leaves nothing behind."""

from __future__ import annotations

import os
import signal
import threading
import time

import distributed  # noqa: E402  (the test extra installs dask[distributed]; never skipped)
import psutil
import pytest

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.core.errors import UsageError
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.inputs.load import load_predictions
from atomgenbench.evaluator.scoring.matching import MatchSettings, score_pair, score_pairs

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def tasks(contributions):
    preds = load_predictions(
        contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip", BENCH
    )
    targets = load_splits(BENCH)["test"]
    settings = MatchSettings(anonymous=False)
    return [(k, preds.structures.get(k, ""), str(t), settings) for k, t in targets.items()]


def _children() -> set[int]:
    """Child processes, except multiprocessing's per-interpreter resource tracker (it lives as long as we do)."""
    out = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(proc.cmdline()):
                out.add(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.mark.slow
def test_dask_local_cluster_equals_process_engine_and_cleans_up(tasks):
    before = _children()
    dask = Executor.create("dask", 2)
    with dask.session():  # one cluster for every map of the block (the CLI opens one per command)
        assert _children() - before == set()  # started by the first map, not before
        ours = score_pairs(tasks, executor=dask)
        cluster = _children() - before  # two workers and their helpers
        assert score_pairs(tasks[:8], executor=dask) == ours[:8] and _children() - before == cluster
        assert len(cluster) >= 4
    reference = score_pairs(tasks, executor=Executor.create("process", 2))
    assert [r.__dict__ for r in ours] == [r.__dict__ for r in reference]
    assert sum(r.rms is not None for r in ours) == 44  # the published CDVAE dft_3d match count
    deadline = time.time() + 15
    while _children() - before and time.time() < deadline:  # helper processes exit with their worker
        time.sleep(0.2)
    assert _children() - before == set()


@pytest.mark.slow
def test_killed_worker_chunks_are_retried_with_identical_results(tasks):
    reference = score_pairs(tasks, executor=Executor.create("process", 2))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        killed = threading.Event()

        def kill() -> None:
            os.kill(pids[0], signal.SIGKILL)
            killed.set()

        killer = threading.Timer(1.0, kill)
        killer.start()
        try:
            got = Executor.create("dask", 2, cluster.scheduler_address).map(score_pair, tasks)
        finally:
            killer.cancel()
        assert killed.is_set(), "the run ended before a worker was killed: the test proved nothing"
        assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
    assert [r.__dict__ for r in got] == [r.__dict__ for r in reference]


def test_scheduler_without_dask_engine_is_a_usage_error():
    with pytest.raises(UsageError, match="--engine dask"):
        Executor.create("process", 1, "tcp://127.0.0.1:1")
    with pytest.raises(UsageError, match="unknown engine"):
        Executor.create("ray", 1)


def test_dask_scheduler_address_in_the_environment_does_not_break_the_process_engine(contributions, monkeypatch):
    from click.testing import CliRunner

    from atomgenbench.cli import cli

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    path = contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip"
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--json", "-j", "1"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_evaluate_cli_dask_engine_equals_process_engine(contributions, tmp_path):
    import json

    from click.testing import CliRunner

    from atomgenbench.cli import cli

    path = contributions / "atomgpt_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    out = {}
    for engine in ("process", "dask"):
        res = CliRunner().invoke(cli, ["evaluate", str(path), "--engine", engine, "-j", "2", "--json"])
        assert res.exit_code == 0, res.output
        metrics = json.loads(res.stdout)
        metrics.pop("timings", None)
        metrics.get("settings", {}).pop("timings", None)
        out[engine] = metrics
    assert out["dask"]["rmse"] == out["process"]["rmse"]
    assert out["dask"]["mae"] == out["process"]["mae"] and out["dask"]["kld"] == out["process"]["kld"]


@pytest.mark.slow
def test_validate_and_compare_take_the_dask_engine(contributions, tmp_path):
    import json
    import shutil

    from click.testing import CliRunner

    from atomgenbench.cli import cli

    name = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    folder = tmp_path / "atomgpt_invatoms"
    folder.mkdir()
    for f in (contributions / "atomgpt_invatoms").iterdir():  # the dft_3d files only: seconds, not minutes
        if "dft_3d" in f.name or f.name in ("metadata.json", "run.sh"):
            shutil.copy(f, folder / f.name)
    before = _children()
    scores = {}
    for engine in ("process", "dask"):
        res = CliRunner().invoke(cli, ["validate", str(folder), "--json", "--engine", engine, "-j", "2"])
        doc = json.loads(res.stdout)
        scores[engine] = {k: (v["value"], v["n_matched"]) for k, v in doc["scores"].items()}
    assert scores["dask"] == scores["process"] and scores["dask"][str(folder / name)] == (0.1001, 31)
    other = contributions / "cdvae_invatoms" / name
    tables = {}
    for engine in ("process", "dask"):
        out = tmp_path / f"cmp-{engine}"
        args = ["compare", str(folder / name), str(other), "--engine", engine, "-j", "2", "--n-bootstrap", "50"]
        res = CliRunner().invoke(cli, [*args, "-o", str(out)])
        assert res.exit_code == 0, res.output
        tables[engine] = json.loads((out / "comparison.json").read_text())["table"]
    assert tables["dask"] == tables["process"]
    deadline = time.time() + 20
    while _children() - before and time.time() < deadline:
        time.sleep(0.5)
    assert not _children() - before, "the local Dask cluster left processes behind"
