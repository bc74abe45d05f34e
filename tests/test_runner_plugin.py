"""A third-party runner installs from examples/runner-plugin and runs through the normal CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "runner-plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
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
            str(EXAMPLE),
        ],
        check=True,
        cwd=tmp_path_factory.mktemp("build"),
    )
    return target


def _cli(args: list[str], plugin_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "atomgenbench", *args], capture_output=True, text=True, env=env)


def test_plugin_is_listed_and_runs_105_predictions_that_evaluate_scores(plugin_path, tmp_path):
    listed = _cli(["run", "--list"], plugin_path)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("random-train"))
    assert "composition+train" in line and "atomgenbench-random-train-runner" in line
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


def test_unknown_runner_suggests_the_plugin(plugin_path, tmp_path):
    res = _cli(["run", "random-trian", "-b", "dft_3d_Tc_supercon", "-o", str(tmp_path / "x")], plugin_path)
    assert res.returncode == 2 and "did you mean 'random-train'" in res.stderr and "Traceback" not in res.stderr
