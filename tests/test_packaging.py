"""The distribution installs under the ``atomgenbench`` name only (issue: one package)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GENERIC = ("benchmarks", "runners", "evaluator")
#: one xdist worker builds the module's wheel once
pytestmark = pytest.mark.xdist_group("packaging")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the sdist, as an installer from the registry would build it."""
    sdist_dir, wheel_dir, unpack = (tmp_path_factory.mktemp(n) for n in ("sdist", "wheel", "unpack"))
    # The build runs on a copy of the tracked and untracked-not-ignored files: a build in the
    # checkout writes atomgenbench-0.1.0/ and the egg-info there, and two xdist workers building
    # at once removed each other's files (CI, stop 32: "No such file or directory").
    tree = tmp_path_factory.mktemp("tree")
    listed = (
        subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source, target = REPO / name, tree / name
        if source.is_symlink() or source.is_file():  # the package's three links stay links
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    # no build isolation: setuptools and wheel are installed and there is no network but the registries
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(sdist_dir), str(tree)],
        check=True,
        capture_output=True,
    )
    (sdist,) = sdist_dir.glob("atomgenbench-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(unpack, filter="data")
    (source,) = unpack.iterdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
        ],
        check=True,
        cwd=unpack,
    )
    (path,) = wheel_dir.glob("atomgenbench-*.whl")
    return path


@pytest.mark.slow
def test_sdist_to_wheel_ships_exactly_the_tracked_sources(wheel):
    """Every tracked .py file of atomgenbench/ and the user's three folders is in the wheel, and nothing else."""
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "atomgenbench/*.py", *(f"{folder}/*.py" for folder in GENERIC)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    untracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--others", "--exclude-standard", "*.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = {p if p.startswith("atomgenbench/") else f"atomgenbench/{p}" for p in tracked + untracked}
    expected = {p for p in expected if not p.startswith(("atomgenbench/tests", "atomgenbench/scripts"))}
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    assert shipped == expected, (sorted(shipped - expected), sorted(expected - shipped))
    data = set(zipfile.ZipFile(wheel).namelist())
    assert "atomgenbench/evaluator/leaderboard/metadata.schema.json" in data
    assert "atomgenbench/evaluator/reports/html_assets/report.js" in data


def test_wheel_holds_only_the_atomgenbench_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"atomgenbench", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    for folder in GENERIC:
        assert f"atomgenbench/{folder}/__init__.py" in names
    assert "atomgenbench/benchmarks/atomgen/registry.py" in names
    assert "atomgenbench/runners/baselines/nearest.py" in names
    assert "atomgenbench/evaluator/metrics/evaluate.py" in names


@pytest.mark.slow
def test_wheel_install_imports_atomgenbench_but_not_generic_names(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True
    )
    assert not any((target / name).exists() for name in GENERIC)
    probe = (
        "import importlib, sys\n"
        "import atomgenbench.evaluator, atomgenbench.runners, atomgenbench.benchmarks.atomgen\n"
        f"assert atomgenbench.evaluator.__file__.startswith({str(target)!r}), atomgenbench.evaluator.__file__\n"
        "for name in ('benchmarks', 'runners', 'evaluator'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        continue\n"
        "    sys.exit(f'{name} is importable')\n"
    )
    # -I: isolated mode (no cwd, no user site), so only the target folder and site-packages are on the path
    env_path = f"import sys; sys.path.insert(0, {str(target)!r}); exec({probe!r})"
    proc = subprocess.run([sys.executable, "-I", "-c", env_path], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_no_file_imports_the_generic_names():
    pattern = re.compile(r"^\s*(from|import)\s+(benchmarks|runners|evaluator)\b", re.MULTILINE)
    offenders = []
    for path in REPO.rglob("*.py"):
        if any(part in {".git", "build", "submissions", ".venv"} for part in path.parts):
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
