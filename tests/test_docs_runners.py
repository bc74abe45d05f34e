"""docs/runners.md is a working tutorial: its code blocks run, in order, in an empty folder.

A fenced block that starts with ``# file: PATH`` is written to ``PATH``; every other
```` ```python ```` block is executed in one namespace with that folder as the working
directory. Then the folder the tutorial built is installed with ``pip install --no-deps
--target``, its entry point is read back from the installed metadata and loaded through the
registry, and the test file the tutorial wrote is run (it calls ``check_runner``).
"""

from __future__ import annotations

import inspect
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import distributions
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.runners import Runner, registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "runners.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
FILE = re.compile(r"\A# file: (\S+)\n")


def blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of every fenced block of the page, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def test_the_page_has_a_tutorial():
    kinds = [(lang, bool(FILE.match(text))) for lang, text in blocks() if lang in ("python", "toml")]
    assert ("python", True) in kinds and ("python", False) in kinds and ("toml", True) in kinds


@pytest.fixture
def tutorial(tmp_path, monkeypatch) -> Iterator[dict]:
    """Run the page's blocks in ``tmp_path``; return the namespace the executed blocks left."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the page adds src/ to it
    namespace: dict = {"__name__": "tutorial"}
    for lang, text in blocks():
        written = FILE.match(text)
        if written and lang in ("python", "toml"):
            path = tmp_path / written.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif lang == "python":
            exec(compile(text, f"{DOC}:block", "exec"), namespace)
    yield namespace
    sys.modules.pop("same_formula", None)  # the tutorial's module, imported from this test's folder


def test_the_tutorial_runs_and_builds_an_installable_tested_plugin(tutorial, tmp_path, monkeypatch):
    assert isinstance(tutorial["SameFormulaRunner"](), Runner) and tutorial["report"].skipped == {}
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", site, "."],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    (dist,) = [d for d in distributions(path=[str(site)]) if d.metadata["Name"] == "atomgenbench-same-formula"]
    eps = list(dist.entry_points.select(group=registry.ENTRY_POINT_GROUP))
    assert [(ep.name, ep.value) for ep in eps] == [("same-formula", "same_formula:SameFormulaRunner")]
    assert (site / "same_formula.py").read_text() == (tmp_path / "src" / "same_formula.py").read_text()
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == registry.ENTRY_POINT_GROUP else [])
    assert registry.available()["same-formula"].origin == "atomgenbench-same-formula"
    assert type(registry.get_runner("same-formula")).__name__ == "SameFormulaRunner"
    res = CliRunner().invoke(cli, ["run", "same-formula", "-b", "dft_3d_Tc_supercon", "-p", "smoke", "-o", "cli"])
    assert res.exit_code == 0 and "same-formula on dft_3d_Tc_supercon: " in res.output, res.output

    tests = runpy.run_path(str(tmp_path / "tests" / "test_same_formula.py"))
    ran = [name for name in tests if name.startswith("test_")]
    for name in ran:
        wants = inspect.signature(tests[name]).parameters
        tests[name](**({"tmp_path": tmp_path / name} if "tmp_path" in wants else {}))
    assert ran == ["test_same_formula_keeps_the_runner_contract"]
