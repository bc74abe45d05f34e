"""The run orchestration: CLI, resume from partial results, config hashing, overrides."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

import atomgenbench.runners.api as api
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import unescape
from atomgenbench.cli import cli
from atomgenbench.runners.baselines.oracle import OracleRunner
from atomgenbench.runners.config import ConfigError, load_yaml_overrides, parse_set_pairs

BENCH = "dft_3d_Tc_supercon"


class CountingOracle(OracleRunner):
    """Oracle that records its calls and can be 'killed' after ``stop_after`` records."""

    presets = {"smoke": {"lr": 0.1, "epochs": 1}, "cpu": {"lr": 0.1, "epochs": 5}, "paper": {"lr": 0.1, "epochs": 9}}

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.fit_calls = 0
        self.requested: list[list[str]] = []

    def fit(self, data, config):
        self.fit_calls += 1
        return super().fit(data, config)

    def reconstruct(self, data, checkpoint, config, ids=None):
        self.requested.append(list(ids or data.test_ids))
        for done, rec in enumerate(super().reconstruct(data, checkpoint, config, ids)):
            if self.stop_after is not None and done >= self.stop_after:
                raise KeyboardInterrupt("simulated kill")
            yield rec


@pytest.fixture
def fake(monkeypatch):
    holder = {}

    def use(runner):
        holder["runner"] = runner
        monkeypatch.setattr(api, "get_runner", lambda name: runner)
        return runner

    return use


def test_oracle_cli_then_evaluate_gives_rmse_zero(tmp_path):
    out = tmp_path / "oracle"
    res = CliRunner().invoke(
        cli, ["run", "oracle", "--benchmark", BENCH, "--preset", "smoke", "--out", str(out), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "predictions.csv").is_file() and (out / "predictions.json").is_file()
    meta = json.loads((out / "predictions.json").read_text())
    assert meta["model"] == "oracle" and meta["preset"] == "smoke" and meta["seed"] == 0
    assert set(meta["time_taken_seconds"]) == {"fit", "reconstruct"}
    assert meta["conditioning"] == "target" and meta["extra"]["config_hash"]
    res = CliRunner().invoke(cli, ["evaluate", str(out / "predictions.csv"), "--benchmark", BENCH, "--json"])
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output[res.output.index("{") :])
    assert scores["rmse"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert scores["rmse"]["match_rate"] == pytest.approx(1.0)


def test_resume_reconstructs_only_missing_ids(tmp_path, fake):
    data = load_benchmark(BENCH)
    out = tmp_path / "run"
    first = fake(CountingOracle(stop_after=30))
    with pytest.raises(KeyboardInterrupt):
        api.run("oracle", BENCH, "smoke", out, progress=False)
    assert not (out / "predictions.csv").exists()
    partial = out / "work" / api.PARTIAL_NAME
    assert len(partial.read_text().splitlines()) == 30
    with open(partial, "a") as fh:  # a line torn by the kill
        fh.write('{"id": "JVASP-1", "poscar": "Sys')
    second = fake(CountingOracle())
    preds = api.run("oracle", BENCH, "smoke", out, progress=False)
    assert first.fit_calls == 1 and second.fit_calls == 0  # the finished fit is reused
    assert second.requested == [data.test_ids[30:]]
    assert preds.ids == data.test_ids and not preds.failures
    written = Predictions.read(out)
    assert all(written.structures[k] == unescape(data.text(k)) for k in data.test_ids)


def test_complete_output_is_reused_and_other_config_refused(tmp_path, fake):
    out = tmp_path / "run"
    fake(CountingOracle())
    preds = api.run("oracle", BENCH, "smoke", out, progress=False)
    assert api.existing_config_hash(out) == preds.extra["config_hash"]
    again = fake(CountingOracle())
    api.run("oracle", BENCH, "smoke", out, progress=False)
    assert again.fit_calls == 0 and again.requested == []
    with pytest.raises(api.RunError, match="different configuration"):
        api.run("oracle", BENCH, "smoke", out, seed=1, progress=False)


def test_yaml_then_set_overrides_are_recorded(tmp_path, fake):
    fake(CountingOracle())
    cfg = tmp_path / "over.yaml"
    cfg.write_text(yaml.safe_dump({"params": {"lr": 0.5, "epochs": 3}}))
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        [
            "run",
            "oracle",
            "-b",
            BENCH,
            "-p",
            "cpu",
            "-o",
            str(out),
            "--config",
            str(cfg),
            "--set",
            "epochs=7",
            "--seed",
            "3",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "predictions.json").read_text())
    assert meta["extra"]["params"] == {"lr": 0.5, "epochs": 7} and meta["seed"] == 3 and meta["preset"] == "cpu"


def test_unknown_parameter_is_a_clear_error(tmp_path, fake):
    fake(CountingOracle())
    res = CliRunner().invoke(
        cli, ["run", "oracle", "-b", BENCH, "-p", "smoke", "-o", str(tmp_path / "x"), "--set", "learning_rate=1"]
    )
    assert res.exit_code == 2  # a usage mistake, like an unknown preset
    assert "unknown parameter 'learning_rate'" in res.output and "epochs, lr" in res.output
    assert "Traceback" not in res.output


def test_missing_dependency_is_a_clear_error(tmp_path, monkeypatch):
    def boom(name):
        raise ModuleNotFoundError("No module named 'torch_geometric'", name="torch_geometric")

    monkeypatch.setattr(api, "get_runner", boom)
    res = CliRunner().invoke(cli, ["run", "cdvae", "-b", BENCH, "-p", "smoke", "-o", str(tmp_path / "x")])
    assert res.exit_code == 1 and "needs the Python package 'torch_geometric'" in res.output


def test_bad_benchmark_and_set_syntax(tmp_path):
    res = CliRunner().invoke(cli, ["run", "prior", "-b", "nope", "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown benchmark 'nope'" in res.output  # a usage mistake
    res = CliRunner().invoke(cli, ["run", "prior", "-b", BENCH, "-o", str(tmp_path / "x"), "--set", "novalue"])
    assert res.exit_code == 2 and "key=value" in res.output


def test_set_values_are_yaml_scalars(tmp_path):
    assert parse_set_pairs(["a=3", "b=1e-3", "c=true", "d=hello", "e=null", "f=0.5", "g=[1, 2]"]) == {
        "a": 3,
        "b": 0.001,
        "c": True,
        "d": "hello",
        "e": None,
        "f": 0.5,
        "g": [1, 2],
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("params: {lr: 1}\nseed: 2\n")
    with pytest.raises(ConfigError, match="no other top-level keys"):
        load_yaml_overrides(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_yaml_overrides(bad)


class SamplerOracle(OracleRunner):
    """Oracle that reports sampler metadata (as the model runners do)."""

    def reconstruct_metadata(self, checkpoint, config):
        return {"sampler": "test-sampler", "steps": 7}


def test_resume_with_nothing_missing_keeps_runner_metadata(tmp_path, fake):
    """Killed after the last id but before predictions.* were written: the rerun keeps the sampler settings."""
    out = tmp_path / "run"
    fake(SamplerOracle())
    first = api.run("oracle", BENCH, "smoke", out, progress=False)
    assert first.extra["sampler"] == "test-sampler"
    for name in ("predictions.csv", "predictions.json"):
        (out / name).unlink()
    again = api.run("oracle", BENCH, "smoke", out, progress=False)
    assert again.extra["sampler"] == "test-sampler" and again.extra["steps"] == 7
    assert json.loads((out / "predictions.json").read_text())["extra"]["sampler"] == "test-sampler"


def test_partial_lines_of_the_older_layout_resume(tmp_path, fake):
    """partial.jsonl lines written before Reconstruction (``poscar``/``reason``, no sample) still count."""
    data = load_benchmark(BENCH)
    out = tmp_path / "run"
    fake(CountingOracle(stop_after=5))
    with pytest.raises(KeyboardInterrupt):
        api.run("oracle", BENCH, "smoke", out, progress=False)
    partial = out / "work" / api.PARTIAL_NAME
    lines = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [(r["id"], r["sample"]) for r in lines] == [(k, 0) for k in data.test_ids[:5]]
    old = {"session": "old", "elapsed": 2.5}
    legacy = [{"id": r["id"], "poscar": r["structure"], "reason": None, **old} for r in lines]
    legacy[0] = {"id": lines[0]["id"], "poscar": "", "reason": "an old failure", **old}
    partial.write_text("".join(json.dumps(r) + "\n" for r in legacy))
    second = fake(CountingOracle())
    preds = api.run("oracle", BENCH, "smoke", out, progress=False)
    assert second.requested == [data.test_ids[5:]]
    assert preds.failures == {data.test_ids[0]: "an old failure"} and preds.structures[data.test_ids[0]] == ""
    assert preds.structures[data.test_ids[1]] == unescape(data.text(data.test_ids[1]))
    assert preds.time_taken_seconds["reconstruct"] >= 2.5  # the old session's seconds are kept
