"""The runner SDK: one public API, plain POSCAR text, open vocabularies, plugins in ``reproduce``.

* ``atomgenbench.runners`` exports everything a runner author needs, and the example plugin
  imports from nowhere else;
* ``BenchmarkData.poscar`` is plain POSCAR text (``text`` is the escaped one-line form);
* a runner's declaration is checked when it is loaded: an unknown conditioning needs a
  ``conditioning_description``, the standard presets are required and more are allowed;
* ``reproduce --models`` runs a plugin, and the example plugin's own test passes.

Plugins are registered by faking the entry points, as tests/test_runner_contract.py does.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

import atomgenbench.runners as public
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.structures import parse_poscar
from atomgenbench.cli import cli
from atomgenbench.core.errors import RunError
from atomgenbench.runners import api, registry
from atomgenbench.runners.baselines.oracle import OracleRunner

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "runner-plugin"
BENCH = "dft_3d_Tc_supercon"


class Vibes(OracleRunner):
    """A runner with a conditioning of its own, documented, and an extra preset."""

    name = "vibes"
    conditioning = "composition+vibes"
    conditioning_description = "composition of the test crystal and a hunch"
    presets = {"smoke": {}, "cpu": {}, "paper": {}, "tiny": {}}


class Undocumented(OracleRunner):
    conditioning = "composition+vibes"


class Redefined(OracleRunner):
    conditioning_description = "something else"


class NoPaper(OracleRunner):
    presets = {"smoke": {}, "cpu": {}}


def _plugins(monkeypatch, **targets: str) -> None:
    eps = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in targets.items()]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == registry.ENTRY_POINT_GROUP else [])


def test_the_public_api_is_one_import():
    for name in public.__all__:
        assert getattr(public, name) is not None, name
    assert public.check_runner.__module__ == "atomgenbench.runners.testing"
    assert issubclass(public.RunnerCheckError, AssertionError)
    assert public.BenchmarkData is load_benchmark(BENCH).__class__
    with pytest.raises(AttributeError, match="no_such_name"):
        public.no_such_name  # noqa: B018


def test_the_example_plugin_imports_only_the_public_api():
    tree = ast.parse((EXAMPLE / "src" / "random_train_runner" / "__init__.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in modules if m.startswith("atomgenbench")} == {"atomgenbench.runners"}


def test_poscar_is_plain_text_and_text_is_escaped():
    data = load_benchmark(BENCH)
    key = data.test_ids[0]
    text, poscar = data.text(key), data.poscar(key)
    assert "\\n" in text and "\n" not in text  # the stored one-line form
    assert "\\n" not in poscar and poscar.count("\n") >= 7 and poscar == text.replace("\\n", "\n")
    assert parse_poscar(poscar) == data.structure(key)
    assert data.poscar(data.train_ids[0]).startswith(data.text(data.train_ids[0]).split("\\n")[0] + "\n")


def test_a_new_conditioning_with_its_description_and_an_extra_preset_run(monkeypatch, tmp_path):
    _plugins(monkeypatch, vibes=f"{__name__}:Vibes")
    res = CliRunner().invoke(cli, ["run", "vibes", "-b", BENCH, "-p", "tiny", "-o", str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "v" / "predictions.json").read_text())
    assert meta["conditioning"] == "composition+vibes" and meta["preset"] == "tiny"
    assert meta["extra"]["conditioning_description"] == Vibes.conditioning_description
    listed = CliRunner().invoke(cli, ["run", "--list"]).output
    assert "composition+vibes" in listed and "smoke, cpu, paper, tiny" in listed
    res = CliRunner().invoke(cli, ["run", "vibes", "-b", BENCH, "-p", "huge", "-o", str(tmp_path / "h")])
    assert res.exit_code == 2 and "unknown preset 'huge'" in res.output and "tiny" in res.output


@pytest.mark.parametrize(
    "cls, message",
    [
        ("Undocumented", "conditioning 'composition\\+vibes' is not one of .* needs `conditioning_description`"),
        ("Redefined", "conditioning 'target' is built in .* only for a new label"),
        ("NoPaper", "`presets` lacks paper"),
    ],
)
def test_a_wrong_declaration_is_refused_when_loaded(monkeypatch, tmp_path, cls, message):
    _plugins(monkeypatch, bad=f"{__name__}:{cls}")
    with pytest.raises(RunError, match=f"runner plugin 'bad' .*{message}"):
        registry.get_runner("bad")
    listed = CliRunner().invoke(cli, ["run", "--list"])
    assert listed.exit_code == 0 and "runner plugin 'bad'" in listed.output  # the others are still listed
    res = CliRunner().invoke(cli, ["run", "bad", "-b", BENCH, "-o", str(tmp_path / "x")])
    assert res.exit_code == 1 and "error: runner plugin 'bad'" in res.output and "Traceback" not in res.output
    with pytest.raises(RunError, match=f"runner 'oracle' \\({cls}\\): {message}"):  # an instance, unregistered
        api.run(globals()[cls](), BENCH, "smoke", tmp_path / "y", progress=False)


def test_every_builtin_declaration_is_valid():
    for entry in registry.available().values():
        if entry.origin == "built-in":
            assert public.describe_conditioning(registry.load_runner_class(entry)), entry.name


@pytest.fixture
def example_plugin(monkeypatch):
    """The example plugin, importable from its source folder and registered as ``random-train``."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    _plugins(monkeypatch, **{"random-train": "random_train_runner:RandomTrainRunner"})


def test_reproduce_runs_a_plugin(example_plugin, tmp_path):
    args = ["--preset", "quick", "--models", "random-train", "--baselines", "none", "--benchmarks", BENCH]
    res = CliRunner().invoke(cli, ["reproduce", *args, "--n-bootstrap", "10", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{") :])
    assert summary["valid"] and [Path(p).name for p in summary["submissions"]] == ["atomgenbench-random-train-quick"]
    meta = json.loads((tmp_path / "runs" / "random-train" / BENCH / "predictions.json").read_text())
    assert meta["model"] == "random-train" and meta["preset"] == "smoke" and meta["conditioning"] == "train"
    assert "random-train" in (tmp_path / "report.md").read_text()
    res = CliRunner().invoke(cli, ["reproduce", "--models", "random-trian", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "did you mean 'random-train'" in res.output


def test_the_example_plugins_own_test_passes(tmp_path):
    """``pytest`` in examples/runner-plugin, as its author runs it: the plugin is not installed, check_runner passes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t")],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
