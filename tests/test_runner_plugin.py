"""A third-party runner installs from examples/runner-plugin and runs through the normal CLI."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.core.errors import RunError, UsageError
from atomgenbench.runners import registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "runner-plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """``pip install --no-deps --target`` of a copy of the example (no build files land in the repository)."""
    target = tmp_path_factory.mktemp("plugin-site")
    source = tmp_path_factory.mktemp("plugin-src") / "runner-plugin"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        cwd=tmp_path_factory.mktemp("build"),
    )
    return target


def _cli(args: list[str], plugin_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "atomgenbench", *args], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_plugin_is_listed_and_runs_105_predictions_that_evaluate_scores(plugin_path, tmp_path):
    listed = _cli(["run", "--list"], plugin_path)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("random-train"))
    assert " train " in line and "smoke, cpu, paper" in line and "[atomgenbench-random-train-runner]" in line
    assert "nearest" in listed.stdout  # the built-ins are still there

    out = tmp_path / "run"
    ran = _cli(["run", "random-train", "-b", "dft_3d_Tc_supercon", "-p", "cpu", "-o", str(out)], plugin_path)
    assert ran.returncode == 0, ran.stderr
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0].startswith("id,") and len(rows) == 106
    again = _cli(
        ["run", "random-train", "-b", "dft_3d_Tc_supercon", "-p", "cpu", "-o", str(tmp_path / "b")], plugin_path
    )
    assert (
        again.returncode == 0
        and (tmp_path / "b" / "predictions.csv").read_bytes() == (out / "predictions.csv").read_bytes()
    )

    scored = _cli(
        ["evaluate", str(out / "predictions.csv"), "-b", "dft_3d_Tc_supercon", "--json", "--workers", "2"], plugin_path
    )
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads(scored.stdout)
    assert metrics["rmse"]["n_total"] == 105
    meta = json.loads((out / "predictions.json").read_text())
    assert meta["model"] == "random-train" and meta["conditioning"] == "train" and not meta["failures"]


def test_unknown_runner_suggests_the_plugin(plugin_path, tmp_path):
    res = _cli(["run", "random-trian", "-b", "dft_3d_Tc_supercon", "-o", str(tmp_path / "x")], plugin_path)
    assert res.returncode == 2 and "did you mean 'random-train'" in res.stderr and "Traceback" not in res.stderr


# --- discovery rules, with entry points faked in-process ------------------------------------------------


def _entry_points(monkeypatch, *pairs: tuple[str, str]) -> None:
    eps = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in pairs]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(registry, "_warned", set())


def test_a_builtin_name_wins_over_a_plugin_with_a_warning(monkeypatch, caplog):
    _entry_points(monkeypatch, ("oracle", "somewhere.else:Impostor"))
    monkeypatch.setattr(logging.getLogger("atomgenbench"), "propagate", True)  # an earlier CLI test may have cut it
    with caplog.at_level(logging.WARNING, logger="atomgenbench"):
        assert type(registry.get_runner("oracle")).__name__ == "OracleRunner"
        registry.get_runner("oracle")
    warned = [r.getMessage() for r in caplog.records if "built-in" in r.getMessage()]
    assert len(warned) == 1 and "'oracle'" in warned[0]  # once per process, not per lookup
    assert registry.available()["oracle"].origin == "built-in"


def test_a_broken_plugin_is_named_and_does_not_hide_the_others(monkeypatch):
    _entry_points(monkeypatch, ("broken", "no_such_module_xyz:Runner"), ("notarunner", "json:dumps"))
    res = CliRunner().invoke(cli, ["run", "--list"])
    assert res.exit_code == 0, res.output
    lines = {line.split()[0]: line for line in res.output.splitlines()}
    assert {"oracle", "prior", "nearest", "atomgpt", "cdvae", "flowmm"} <= set(lines)
    assert "runner plugin 'broken' (no_such_module_xyz:Runner" in lines["broken"]
    assert "ModuleNotFoundError" in lines["broken"]
    assert "not a subclass of atomgenbench.runners.base.Runner" in lines["notarunner"]
    with pytest.raises(RunError, match="runner plugin 'broken'.*cannot be loaded"):
        registry.get_runner("broken")
    res = CliRunner().invoke(cli, ["run", "broken", "-b", "dft_3d_Tc_supercon", "-o", "unused"])
    assert res.exit_code == 1 and "error: runner plugin 'broken'" in res.output and "Traceback" not in res.output


def test_unknown_model_is_a_usage_error_with_did_you_mean():
    with pytest.raises(UsageError, match="unknown model 'nearst' \\(did you mean 'nearest'\\?\\)"):
        registry.get_runner("nearst")
