"""The reusable GitHub Action (``action.yml``): its script steps run locally on a good and a bad folder.

The steps' shell is taken from action.yml and run with bash, with the environment the
action gives it and ``GITHUB_STEP_SUMMARY`` pointed at a temporary file; the summary and
the ``::error``/``::warning`` workflow commands are checked.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


def action() -> dict:
    return yaml.safe_load((REPO / "action.yml").read_text())


def step(name: str) -> dict:
    for s in action()["runs"]["steps"]:
        if s.get("name") == name:
            return s
    raise AssertionError(f"action.yml has no step {name!r}")


@pytest.fixture(scope="module")
def shims(tmp_path_factory) -> Path:
    """A PATH folder whose `python` is the interpreter running the tests."""
    folder = tmp_path_factory.mktemp("bin")
    (folder / "python").symlink_to(sys.executable)
    return folder


def run_step(name: str, cwd: Path, env: dict[str, str], shims: Path) -> subprocess.CompletedProcess:
    """Run one composite step's script as the runner would: bash, the step's env, the inputs' values."""
    s = step(name)
    assert s["shell"] == "bash"
    full = {**os.environ, **env, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s["run"]],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory, package_cdvae_dft3d) -> Path:
    meta = {
        "model_name": "CDVAE",
        "author_email": "lab@uni-crystal.edu",
        "project_url": "https://arxiv.org/abs/2110.06197",
        "hardware_used": "1 CPU",
    }
    return package_cdvae_dft3d(tmp_path_factory.mktemp("good") / "cdvae_small", meta, 5.0)


def break_folder(folder: Path) -> None:
    """Row 5 of the structure file gets an unparseable POSCAR; the e-mail loses its '@'."""
    path = folder / RMSE
    with zipfile.ZipFile(path) as zf:
        lines = zf.read(zf.namelist()[0]).decode().split("\n")
    key, target, _ = lines[4].split(",")
    lines[4] = f"{key},{target},not a poscar"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(RMSE[:-4], "\n".join(lines))
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "author_email": "lab at uni"}))


def validate_env(summary: Path, paths: str = "", base: str = "") -> dict[str, str]:
    return {"PATHS": paths, "LEADERBOARD_ENV": "false", "BASE": base, "GITHUB_STEP_SUMMARY": str(summary)}


@pytest.mark.slow
def test_good_and_bad_folders(tmp_path, good_folder, shims):
    work = tmp_path / "repo"
    shutil.copytree(good_folder, work / "submissions" / "good")
    shutil.copytree(good_folder, work / "submissions" / "Bad Copy")
    break_folder(work / "submissions" / "Bad Copy")
    (work / "submissions" / "README.md").write_text("notes\n")  # *.md beside the folders is fine
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")

    proc = run_step("Validate contribution folders", work, validate_env(summary, "submissions/*"), shims)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    bad = "submissions/Bad Copy"
    row_error = re.search(
        rf"^::error file={re.escape(bad)}/{re.escape(RMSE)},line=5,title=atomgenbench validate::.+$", out, re.M
    )
    assert row_error, out
    assert f"::error file={bad}/metadata.json,title=atomgenbench validate::author_email" in out
    assert "suggested name: 'bad_copy'" in out and out.count("::warning ") >= 1
    assert "submissions/good" not in "".join(line for line in out.splitlines() if line.startswith("::error"))

    text = summary.read_text()
    assert text.startswith("earlier step\n## atomgenbench validate")  # appended, not overwritten
    assert "| `submissions/good` | valid | 0 |" in text and "| `submissions/Bad Copy` | **INVALID** |" in text
    assert f"| good | `{RMSE}` | rmse | 0.3734 | 44/105 |" in text
    from atomgenbench.evaluator.leaderboard.specialized import atomgenbench_pearson

    row = atomgenbench_pearson([good_folder])["values"][good_folder.name]
    cells = " | ".join(f"{row[f'Tc_supercon_{p}-dft_3d']:.2f}" for p in ("a", "b", "c", "alpha", "beta", "gamma"))
    assert f"| good | dft_3d_Tc_supercon | {cells} |" in text.split("### Special/AtomGenBench page")[1]
    assert "Traceback" not in proc.stdout + proc.stderr

    shutil.rmtree(work / "submissions" / "Bad Copy")
    ok = run_step("Validate contribution folders", work, validate_env(tmp_path / "s2.md", "submissions/*"), shims)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "::error" not in ok.stdout and "| `submissions/good` | valid |" in (tmp_path / "s2.md").read_text()


@pytest.mark.slow
def test_default_paths_are_the_changed_contribution_folders(tmp_path, good_folder, shims):
    """No `paths`: only folders changed since the base commit, and stray files, are checked."""
    work = tmp_path / "leaderboard"
    root = work / "jarvis_leaderboard" / "contributions"
    shutil.copytree(good_folder, root / "old_entry")
    break_folder(root / "old_entry")  # broken, but not changed by the pull request: not checked
    ident = ["-c", "user.name=t", "-c", "user.email=t@t.org"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run(["git", *ident, "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", *ident, "-C", str(work), "commit", "-q", "-m", "base"], check=True)
    base = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    shutil.copytree(good_folder, root / "new_entry")
    (root / ".DS_Store").write_bytes(b"x")
    subprocess.run(["git", *ident, "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", *ident, "-C", str(work), "commit", "-q", "-m", "add"], check=True)

    summary = tmp_path / "summary.md"
    proc = run_step("Validate contribution folders", work, validate_env(summary, base=base), shims)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=jarvis_leaderboard/contributions/.DS_Store,title=atomgenbench validate::" in proc.stdout
    text = summary.read_text()
    assert "| `jarvis_leaderboard/contributions/new_entry` | valid |" in text and "old_entry" not in text
    assert f"changed under jarvis_leaderboard/contributions/ since {base[:12]}" in text


def test_install_step_uses_the_validate_extra(tmp_path):
    """The install script asks pip for atomgenbench[validate]: the action's source, or a PyPI version."""
    log = tmp_path / "pip.log"
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (shim / "python").chmod(0o755)
    for version, expected in (("", "-m pip install /the/action[validate]"), ("0.1.0", "atomgenbench[validate]==0.1.0")):
        proc = run_step(
            "Install atomgenbench (validate extra, no torch)",
            tmp_path,
            {"VERSION": version, "ACTION_PATH": "/the/action"},
            shim,
        )
        assert proc.returncode == 0, proc.stderr
        assert log.read_text().splitlines()[-1].endswith(expected)


def test_the_validate_extra_pulls_no_torch():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert "validate" in cfg["options.extras_require"]
    extra = [r for r in cfg["options.extras_require"]["validate"].split("\n") if r.strip()]
    base = [r for r in cfg["options"]["install_requires"].split("\n") if r.strip() and not r.startswith("#")]
    names = [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in base + extra]
    seen: set[str] = set()
    todo = [n.lower().replace("_", "-") for n in names]
    while todo:  # every distribution these pull in, through the installed metadata
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" not in req:
                todo.append(re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower().replace("_", "-"))
    assert {"pymatgen", "jarvis-tools", "jsonschema", "rfc3986-validator"} <= seen
    assert not seen & {"torch", "pytorch-lightning", "torch-geometric", "transformers"}, sorted(seen)


def test_leaderboard_env_input_reaches_validate(monkeypatch, tmp_path, good_folder):
    from atomgenbench.evaluator.submission import action as github

    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        report = {"valid": True, "folders": cmd[-1:], "errors": [], "warnings": [], "scores": {}}
        return subprocess.CompletedProcess(cmd, 0, json.dumps(report), "")

    monkeypatch.setattr(github.subprocess, "run", fake_run)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github.main(["--paths", str(good_folder), "--leaderboard-env", "true"]) == 0
    assert github.main(["--paths", str(good_folder), "--leaderboard-env", "false"]) == 0
    assert "--leaderboard-env" in calls[0] and "--leaderboard-env" not in calls[1]
    assert calls[0][:4] == [sys.executable, "-m", "atomgenbench", "validate"]
    monkeypatch.undo()
    helptext = subprocess.run(
        [sys.executable, "-m", "atomgenbench", "validate", "--help"], capture_output=True, text=True
    ).stdout
    assert "--leaderboard-env" in helptext  # the option the action passes exists


def test_workflow_command_escaping():
    from atomgenbench.evaluator.submission.action import annotation

    line = annotation("error", "a,b:c/x.csv.zip", 3, "50% bad\nsecond line")
    assert line == "::error file=a%2Cb%3Ac/x.csv.zip,line=3,title=atomgenbench validate::50%25 bad%0Asecond line"
    assert annotation("warning", None, None, "m") == "::warning title=atomgenbench validate::m"
