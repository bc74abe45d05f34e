"""``atomgenbench submit``: local bare repositories as upstream and fork, a local HTTP server as the API.

Upstream is a bare repository with a ``develop`` branch holding
``jarvis_leaderboard/contributions/``; the fork is a bare clone of it (as a GitHub fork
is). Git runs for real; identities are passed with ``-c`` so no global config is needed.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli

REPO = Path(__file__).resolve().parents[1]
TOKEN = "ghp_TESTtoken1234567890secret"
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
IDENTITY = ["-c", "user.name=Upstream Admin", "-c", "user.email=admin@leaderboard.org"]


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def refs(bare: Path) -> str:
    return git("--git-dir", str(bare), "show-ref")


def tree_files(bare: Path, ref: str) -> dict[str, bytes]:
    names = git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", ref).split()
    out = {}
    for name in names:
        blob = subprocess.run(
            ["git", "--git-dir", str(bare), "show", f"{ref}:{name}"], capture_output=True, check=True
        ).stdout
        out[name] = blob
    return out


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")}


@pytest.fixture
def repos(tmp_path) -> tuple[Path, Path]:
    """(upstream, fork): bare repositories; upstream has develop with one contribution."""
    seed = tmp_path / "seed"
    contrib = seed / "jarvis_leaderboard" / "contributions" / "someone_else"
    contrib.mkdir(parents=True)
    (contrib / "metadata.json").write_text('{"model_name": "Other"}\n')
    (seed / "README.md").write_text("leaderboard\n")
    git("init", "-q", "-b", "develop", str(seed))
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "seed", cwd=seed)
    git("branch", "main", cwd=seed)
    upstream, fork = tmp_path / "upstream.git", tmp_path / "fork.git"
    git("clone", "-q", "--bare", str(seed), str(upstream))
    git("clone", "-q", "--bare", str(upstream), str(fork))
    return upstream, fork


class Api:
    """A stand-in for the GitHub REST API on 127.0.0.1 that records every request."""

    def __init__(self, status: int = 201, reply: dict | None = None):
        self.requests: list[dict] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                payload = json.dumps(reply or {"html_url": f"{api.url}/atomgptlab/jarvis_leaderboard/pull/7"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Api:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory, package_cdvae_dft3d) -> Path:
    """A valid 7-file dft_3d contribution with real-looking metadata."""
    meta = {
        "model_name": "CDVAE-small",
        "team_name": "Crystal Lab",
        "author_email": "lab@uni-crystal.edu",
        "project_url": "https://arxiv.org/abs/2110.06197",
        "git_url": ["https://github.com/crystal-lab/cdvae"],
        "date_submitted": "01-31-2026",
        "hardware_used": "1 CPU",
    }
    out = package_cdvae_dft3d(tmp_path_factory.mktemp("folders") / "cdvae_small", meta, 10.0)
    # package writes a template run.sh for imported predictions; the group fills it in before submitting
    (out / "run.sh").write_text("#!/usr/bin/env bash\nset -euo pipefail\npython sample.py --out runs/dft_3d\n")
    return out


@pytest.fixture
def folder(small_folder, tmp_path) -> Path:
    dest = tmp_path / "mine" / "cdvae_small"
    shutil.copytree(small_folder, dest)
    return dest


def submit(*args: str, token: str | None = TOKEN):
    result = CliRunner().invoke(cli, ["submit", *args], env={"GITHUB_TOKEN": token} if token else {})
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def git_calls(monkeypatch) -> list[list[str]]:
    """Every git command any code starts through subprocess.run (they still run)."""
    calls: list[list[str]] = []
    real = subprocess.run

    def recording(cmd, *args, **kwargs):
        if isinstance(cmd, (list, tuple)) and cmd and Path(str(cmd[0])).name == "git":
            calls.append([str(c) for c in cmd])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording)
    return calls


@pytest.mark.slow
def test_submit_one_of_ours_creates_the_branch_and_the_pull_request(repos, tmp_path):
    """Accepted: a committed folder lands on a fork branch; upstream unchanged; one POST with the token."""
    upstream, fork = repos
    folder = REPO / "submissions" / "atomgenbench-prior-cpu"
    before, upstream_refs = digest(folder), refs(upstream)
    clone = tmp_path / "clone"
    with Api() as api:
        result = submit(
            str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "add-prior",
            "--pr", "--api-url", api.url, "--upstream-slug", "atomgptlab/jarvis_leaderboard",
            "--fork-owner", "crystal-lab", "--workdir", str(clone), "--workers", "2",
        )  # fmt: skip
    assert result.exit_code == 0, result.output

    # the branch holds exactly that folder under contributions/, on top of develop
    target = "jarvis_leaderboard/contributions/atomgenbench-prior-cpu/"
    on_branch, on_develop = tree_files(fork, "add-prior"), tree_files(fork, "develop")
    added = {k: v for k, v in on_branch.items() if k not in on_develop}
    assert {k: v for k, v in on_branch.items() if k in on_develop} == on_develop
    assert {k[len(target) :]: v for k, v in added.items()} == {p.name: p.read_bytes() for p in folder.iterdir()}
    assert all(k.startswith(target) for k in added)
    parent = git("--git-dir", str(fork), "rev-parse", "add-prior^").strip()
    assert parent == git("--git-dir", str(upstream), "rev-parse", "develop").strip()
    message = git("--git-dir", str(fork), "log", "-1", "--format=%B", "add-prior")
    assert message.startswith("Add AtomGenBench contribution atomgenbench-prior-cpu (atomgenbench-prior-cpu)")
    assert "dft_3d_Tc_supercon, alex_supercon_Tc (14 leaderboard files)" in message
    assert refs(upstream) == upstream_refs and digest(folder) == before

    # exactly one well-formed POST, with the token in the header only
    assert len(api.requests) == 1
    request = api.requests[0]
    assert request["path"] == "/repos/atomgptlab/jarvis_leaderboard/pulls"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Accept"] == "application/vnd.github+json"
    body = json.loads(request["body"])
    assert set(body) == {"title", "head", "base", "body", "maintainer_can_modify"}
    assert body["head"] == "crystal-lab:add-prior" and body["base"] == "develop"
    assert body["title"] == "Add atomgenbench-prior-cpu (atomgenbench-prior-cpu) to AtomGenBench"
    assert (
        "| atomgenbench-prior-cpu | `AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip` | rmse | 0.2998 | 9/105 |"
        in (body["body"])
    )
    assert (
        "| atomgenbench-prior-cpu | `AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip` | rmse | 0.4275 | 83/825 |"
        in (body["body"])
    )
    assert TOKEN not in body["body"]
    assert f"pull request: {api.url}/atomgptlab/jarvis_leaderboard/pull/7" in result.output
    assert f"compare: {api.url}/atomgptlab/jarvis_leaderboard/compare/develop...crystal-lab:add-prior" in (
        result.output
    )

    # the token is in no output and no file of the clone (nor its base64 header form)
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode())
    assert TOKEN not in result.output
    files = [p for p in clone.rglob("*") if p.is_file()]
    assert (clone / ".git" / "config").is_file() and len(files) > 5
    for path in files:
        data = path.read_bytes()
        assert TOKEN.encode() not in data and encoded not in data, path


def test_invalid_folder_is_refused_before_any_git_command(repos, folder, git_calls):
    upstream, fork = repos
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "author_email": "lab at uni"}))
    state = refs(upstream), refs(fork)
    git_calls.clear()
    result = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream))
    assert result.exit_code == 1
    assert "is not a valid contribution" in result.output and "not an email address" in result.output
    assert "nothing was submitted" in result.output
    assert git_calls == [] and (refs(upstream), refs(fork)) == state


def test_placeholder_metadata_is_refused_before_any_git_command(repos, folder, git_calls):
    upstream, fork = repos
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "author_email": "me@example.org"}))
    git_calls.clear()
    result = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream))
    assert result.exit_code == 1 and "placeholders or example addresses" in result.output
    assert "author_email = 'me@example.org'" in result.output and git_calls == []


def test_dry_run_prints_the_plan_and_changes_nothing(repos, folder, git_calls):
    upstream, fork = repos
    (folder / ".DS_Store").write_bytes(b"\0junk")
    state, before = (refs(upstream), refs(fork)), digest(folder)
    git_calls.clear()
    result = submit(
        str(folder), "--fork", str(fork), "--upstream", str(upstream), "--dry-run", "--pr",
        "--upstream-slug", "atomgptlab/jarvis_leaderboard", "--fork-owner", "crystal-lab", "--branch", "b1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "-> jarvis_leaderboard/contributions/cdvae_small/ (10 files)" in out and f"  {RMSE}" in out
    assert "skipped (OS junk, not copied): .DS_Store" in out
    assert "branch:  b1" in out and "Add AtomGenBench contribution cdvae_small (CDVAE-small)" in out
    assert "POST https://api.github.com/repos/atomgptlab/jarvis_leaderboard/pulls (head crystal-lab:b1" in out
    assert f"`{RMSE}` | rmse | 0.3734 | 44/105 |" in out and "dry run: nothing was changed" in out
    assert git_calls == [] and (refs(upstream), refs(fork)) == state and digest(folder) == before
    assert TOKEN not in out


@pytest.mark.slow
def test_junk_is_left_out_and_the_fork_may_lack_history(tmp_path, repos, folder, git_calls):
    """.DS_Store / __MACOSX are not copied; a fork without upstream's history still gets the branch."""
    upstream, _ = repos
    empty_fork = tmp_path / "empty.git"
    git("init", "-q", "--bare", str(empty_fork))
    (folder / ".DS_Store").write_bytes(b"x")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._run.sh").write_bytes(b"x")
    result = submit(str(folder), "--fork", str(empty_fork), "--upstream", str(upstream), "--branch", "b2", token=None)
    assert result.exit_code == 0, result.output
    names = set(tree_files(empty_fork, "b2"))
    target = "jarvis_leaderboard/contributions/cdvae_small/"
    assert {n[len(target) :] for n in names if n.startswith(target)} == {
        p.name for p in folder.iterdir() if p.name not in (".DS_Store", "__MACOSX")
    }
    assert "open a pull request from b2 of your fork against develop" in result.output
    mode = git("--git-dir", str(empty_fork), "ls-tree", "b2", f"{target}run.sh").split()[0]
    assert mode == "100755"
    pushes = [c for c in git_calls if "push" in c]  # the recorder sees submit's git commands
    assert len(pushes) == 2 and any("--unshallow" in c for c in git_calls)  # shallow push refused, then full


@pytest.mark.slow
def test_a_rejected_push_leaves_everything_untouched_and_says_why(repos, folder):
    upstream, fork = repos
    hook = fork / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: pushes are closed today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before, state = digest(folder), refs(fork)
    result = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b3")
    assert result.exit_code == 1
    assert "git push to the fork" in result.output and "was rejected" in result.output
    assert "policy: pushes are closed today" in result.output and "is unchanged" in result.output
    assert digest(folder) == before and refs(fork) == state and TOKEN not in result.output


@pytest.mark.slow
def test_existing_folder_needs_force_and_nothing_else_changes(repos, folder, tmp_path):
    upstream, fork = repos
    seed = tmp_path / "seed2"
    git("clone", "-q", "-b", "develop", str(upstream), str(seed))
    old = seed / "jarvis_leaderboard" / "contributions" / "cdvae_small"
    old.mkdir()
    (old / "stale.txt").write_text("old\n")
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "an older cdvae_small", cwd=seed)
    git("push", "-q", "origin", "develop", cwd=seed)

    refused = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b4")
    assert refused.exit_code == 1 and "already exists on develop; pass --force" in refused.output
    assert "refs/heads/b4" not in refs(fork).split()  # the ref name: a commit hash may hold the letters "b4"
    result = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b4", "--force")
    assert result.exit_code == 0, result.output
    changed = git("--git-dir", str(fork), "diff", "--name-status", "b4^", "b4").splitlines()
    assert "D\tjarvis_leaderboard/contributions/cdvae_small/stale.txt" in changed
    assert all("\tjarvis_leaderboard/contributions/cdvae_small/" in line for line in changed)

    again = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b4", "--force")
    assert again.exit_code == 0 and "found branch b4" in again.output and "not pushing again" in again.output
    (folder / "README.md").write_text("changed\n")  # other content under the same branch name: refused
    other = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b4", "--force")
    assert other.exit_code == 1 and "branch 'b4' already exists on the fork with other content" in other.output


def test_usage_problems_exit_2_before_git(repos, folder, git_calls):
    upstream, fork = repos
    no_slug = submit(str(folder), "--fork", str(fork), "--upstream", str(upstream), "--pr")
    assert no_slug.exit_code == 2 and "--upstream-slug and --fork-owner" in no_slug.output
    no_token = submit(
        str(folder), "--fork", "https://github.com/me/jarvis_leaderboard.git", "--pr", "--token-env", "NO_SUCH_VAR"
    )
    assert no_token.exit_code == 2 and "NO_SUCH_VAR" in no_token.output
    bad_branch = submit(str(folder), "--fork", str(fork), "--branch", "a..b")
    assert bad_branch.exit_code == 2 and "not a valid git branch name" in bad_branch.output
    tree = folder.parent.parent / "lb"
    shutil.copytree(folder, tree / "contributions" / folder.name)
    whole = submit(str(tree), "--fork", str(fork))
    assert whole.exit_code == 2 and "a leaderboard tree; give one contribution folder" in whole.output
    assert git_calls == []


@pytest.mark.slow
def test_api_errors_are_reported_with_the_token_redacted(repos, folder):
    upstream, fork = repos
    reply = {"message": f"Validation Failed for {TOKEN}", "errors": [{"message": "A pull request already exists"}]}
    with Api(status=422, reply=reply) as api:
        result = submit(
            str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b5", "--pr",
            "--api-url", api.url, "--upstream-slug", "o/r", "--fork-owner", "me",
        )  # fmt: skip
    assert result.exit_code == 1 and len(api.requests) == 1
    assert "HTTP 422" in result.output and "A pull request already exists" in result.output
    assert TOKEN not in result.output and "***" in result.output
    assert "pushed jarvis_leaderboard/contributions/cdvae_small/ to branch b5" in result.output
    assert "run the same command again (with --branch b5) to open the pull request" in result.output
    state = refs(fork)
    with Api() as api:  # the same command once the API answers: no second push, the pull request opens
        again = submit(
            str(folder), "--fork", str(fork), "--upstream", str(upstream), "--branch", "b5", "--pr",
            "--api-url", api.url, "--upstream-slug", "o/r", "--fork-owner", "me",
        )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "found branch b5" in again.output and "pull request: " in again.output and len(api.requests) == 1
    assert json.loads(api.requests[0]["body"])["head"] == "me:b5" and refs(fork) == state


def test_token_reaches_git_only_as_an_environment_header():
    from atomgenbench.evaluator.submission.remote import Redactor, auth_header_value, display_url, git_env, github_slug

    env = git_env(TOKEN, "https://github.com/me/jarvis_leaderboard.git")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == f"Authorization: {auth_header_value(TOKEN)}"
    assert base64.b64decode(auth_header_value(TOKEN).split()[1]).decode() == f"x-access-token:{TOKEN}"
    assert "GIT_CONFIG_COUNT" not in git_env(TOKEN, "/local/fork.git")  # never sent to other remotes
    assert "GIT_CONFIG_COUNT" not in git_env(None, "https://github.com/me/x.git")
    redact = Redactor(TOKEN)
    assert redact(f"bad {TOKEN} and {auth_header_value(TOKEN)}") == "bad *** and Basic ***"
    assert github_slug("https://github.com/atomgptlab/jarvis_leaderboard.git") == "atomgptlab/jarvis_leaderboard"
    assert github_slug("git@github.com:me/jarvis_leaderboard.git") == "me/jarvis_leaderboard"
    assert github_slug("ssh://git@ghe.corp.org/team/jl") == "team/jl"
    assert github_slug("/tmp/fork.git") is None
    assert display_url("https://user:pw@github.com/me/x.git") == "https://github.com/me/x.git"


def test_a_template_run_sh_is_refused_unless_allowed(folder, tmp_path):
    from atomgenbench.benchmarks.atomgen.predictions import Predictions
    from atomgenbench.evaluator.submission.package import run_sh_text

    imported = Predictions("dft_3d_Tc_supercon", "CDVAE-small", {})  # made elsewhere: no preset
    (folder / "run.sh").write_text(run_sh_text({"dft_3d_Tc_supercon": imported}))
    result = submit(str(folder), "--fork", str(tmp_path / "fork.git"), "--dry-run")
    assert result.exit_code == 1
    assert "run.sh is still package's template" in result.output and "--allow-template-run-sh" in result.output
    allowed = submit(str(folder), "--fork", str(tmp_path / "fork.git"), "--dry-run", "--allow-template-run-sh")
    assert allowed.exit_code == 0, allowed.output
    assert "run.sh is still package's template" in allowed.output  # still shown, as validate's warning


def test_the_token_goes_only_over_https(folder, tmp_path):
    common = ["--fork", "https://github.com/me/jarvis_leaderboard.git", "--pr", "--dry-run"]
    result = submit(str(folder), *common, "--api-url", "http://api.example.org")
    assert result.exit_code == 2
    assert "--api-url 'http://api.example.org': the token is sent only over https" in result.output
    assert TOKEN not in result.output
