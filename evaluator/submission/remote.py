"""The remote side of ``submit``: URLs and secrets, the git commands, the push, and the pull-request call.

The token never appears in a log, an error or a URL: :class:`Redactor` masks it everywhere, git
receives it through its environment (:func:`git_env`), and the API is called over TLS only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.core.errors import SubmitError
from atomgenbench.core.versions import LEADERBOARD_REPO, __version__

DEFAULT_UPSTREAM = f"https://github.com/{LEADERBOARD_REPO}.git"
DEFAULT_API_URL = "https://api.github.com"
CONTRIBUTIONS = "jarvis_leaderboard/contributions"
JUNK_NAMES = frozenset({".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"})
FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
SLUG_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass
@dataclass
class SubmitOptions:
    """What ``atomgenbench submit`` was asked to do."""

    fork: str
    upstream: str = DEFAULT_UPSTREAM
    base: str = "develop"
    branch: str | None = None
    pr: bool = False
    api_url: str = DEFAULT_API_URL
    upstream_slug: str | None = None
    fork_owner: str | None = None
    token_env: str = "GITHUB_TOKEN"
    dry_run: bool = False
    force: bool = False
    workdir: Path | None = None
    workers: int = 1
    leaderboard_env: bool = False
    allow_template_run_sh: bool = False


@dataclass
class SubmitPlan:
    """Everything :func:`execute` will do, as printed by ``--dry-run``."""

    folder: Path
    name: str
    files: list[str]
    skipped: list[str]
    branch: str
    base: str
    target: str
    commit_message: str
    pr_title: str
    pr_body: str
    upstream_slug: str | None
    fork_owner: str | None
    warnings: list[str] = field(default_factory=list)
    staged: Path | None = None

    @property
    def head(self) -> str | None:
        return f"{self.fork_owner}:{self.branch}" if self.fork_owner else None


@dataclass
class SubmitResult:
    """What :func:`execute` did."""

    plan: SubmitPlan
    commit: str
    compare_url: str | None = None
    pr_url: str | None = None


# --- URLs, slugs, secrets ------------------------------------------------------------------------


def is_url(location: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location)) or bool(re.match(r"^[^/\s]+@[^/\s]+:", location))


def git_location(location: str) -> str:
    """A URL git can fetch from shallowly: local paths become ``file://`` URLs."""
    return location if is_url(location) else Path(location).expanduser().resolve().as_uri()


def github_slug(location: str) -> str | None:
    """``OWNER/NAME`` of an https, ssh or scp-style repository URL, else ``None`` (local paths)."""
    m = re.match(r"^(?:https?|ssh|git)://(?:[^@/]+@)?[^/]+/([^/]+)/([^/]+?)(?:\.git)?/?$", location)
    m = m or re.match(r"^[^@/\s]+@[^:/\s]+:([^/]+)/([^/]+?)(?:\.git)?/?$", location)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def display_url(location: str) -> str:
    """A location with any ``user:password@`` removed, for messages."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^@/]+@", r"\1", location)


def web_base(api_url: str) -> str:
    """``https://github.com`` for the public API, the host for GitHub Enterprise (``/api/v3``)."""
    url = api_url.rstrip("/")
    if url == DEFAULT_API_URL:
        return "https://github.com"
    return re.sub(r"/api/v3$", "", url)


def auth_header_value(token: str) -> str:
    """The git-over-https Authorization header GitHub accepts for a token."""
    return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class Redactor:
    """Removes the token (and its encoded header form) from any text."""

    def __init__(self, token: str | None):
        self.secrets = [s for s in (token, auth_header_value(token).split()[1] if token else None) if s]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


# --- steps 2-3: git, push, pull request -----------------------------------------------------------


class Git:
    """The real ``git`` in one repository, with the token only in the environment."""

    def __init__(self, repo: Path, redact: Redactor, env: dict[str, str], identity: tuple[str, str]):
        self.repo, self.redact, self.env, self.identity = repo, redact, env, identity

    def __call__(self, *args: str, check: bool = True, index: Path | None = None) -> subprocess.CompletedProcess:
        env = {**self.env, **({"GIT_INDEX_FILE": str(index)} if index else {})}
        name, email = self.identity
        cmd = ["git", "-c", f"user.name={name}", "-c", f"user.email={email}", "-C", str(self.repo), *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise SubmitError("git is not installed (it is needed to submit)") from None
        if check and proc.returncode != 0:
            raise SubmitError(self.redact(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}"))
        return proc


def git_env(token: str | None, fork: str) -> dict[str, str]:
    """The environment of every git command: no prompts; the token as a header for an https fork."""
    dropped = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_CONFIG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["GIT_TERMINAL_PROMPT"] = "0"  # fail rather than wait for a password
    parts = urllib.parse.urlsplit(fork)
    if token and parts.scheme == "https":
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.https://{parts.hostname}/.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: {auth_header_value(token)}",
            }
        )
    return env


def identity(meta: dict) -> tuple[str, str]:
    def configured(key: str) -> str | None:
        try:
            proc = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
        except FileNotFoundError:
            raise SubmitError("git is not installed (it is needed to submit)") from None
        return (proc.stdout.strip() or None) if proc.returncode == 0 else None

    name = configured("user.name") or meta.get("team_name") or "atomgenbench"
    email = configured("user.email") or meta.get("author_email") or "atomgenbench@users.noreply.github.com"
    return name, email


def build_commit(git: Git, plan: SubmitPlan, opts: SubmitOptions, index: Path) -> str:
    upstream, base = git_location(opts.upstream), f"refs/heads/{opts.base}"
    fetched = git("fetch", "--quiet", "--no-tags", "--depth=1", upstream, base, check=False)
    if fetched.returncode != 0:
        raise SubmitError(
            git.redact(
                f"cannot fetch branch {opts.base!r} of the upstream {display_url(opts.upstream)}: "
                f"{fetched.stderr.strip()}"
            )
        )
    if git("cat-file", "-e", f"FETCH_HEAD:{CONTRIBUTIONS}", check=False).returncode != 0:
        raise SubmitError(f"{display_url(opts.upstream)} {opts.base} has no {CONTRIBUTIONS}/: is it the leaderboard?")
    exists = git("cat-file", "-e", f"FETCH_HEAD:{plan.target}", check=False).returncode == 0
    if exists and not opts.force:
        raise SubmitError(
            f"{plan.target}/ already exists on {opts.base}; pass --force to replace it, or rename your folder"
        )
    git("read-tree", "FETCH_HEAD", index=index)
    if exists:
        git("rm", "-r", "--cached", "--quiet", "--", plan.target, index=index)
    assert plan.staged is not None
    for name in plan.files:
        path = plan.staged / name
        sha = git("hash-object", "-w", "--", str(path)).stdout.strip()
        mode = "100755" if os.access(path, os.X_OK) else "100644"
        git("update-index", "--add", "--cacheinfo", f"{mode},{sha},{plan.target}/{name}", index=index)
    tree = git("write-tree", index=index).stdout.strip()
    commit = git("commit-tree", tree, "-p", "FETCH_HEAD", "-m", plan.commit_message).stdout.strip()
    changed = git("diff-tree", "--no-commit-id", "--name-only", "-r", "FETCH_HEAD", commit).stdout.split()
    outside = [p for p in changed if not p.startswith(plan.target + "/")]
    if outside:  # cannot happen by construction; a guard against ever touching another entry
        raise SubmitError(f"refusing to commit changes outside {plan.target}/: {outside[:5]}")
    return commit


def check_fork(git: Git, plan: SubmitPlan, opts: SubmitOptions) -> str | None:
    """The fork is reachable; the commit its branch of that name already points at, or ``None``."""
    proc = git("ls-remote", "--heads", git_location(opts.fork), f"refs/heads/{plan.branch}", check=False)
    if proc.returncode != 0:
        raise SubmitError(git.redact(f"cannot reach the fork {display_url(opts.fork)}: {proc.stderr.strip()}"))
    found = proc.stdout.split()
    return found[0] if found else None


def same_folder_on_branch(git: Git, commit: str, plan: SubmitPlan, opts: SubmitOptions) -> bool:
    """Whether the fork's existing branch holds exactly the folder of ``commit`` (an earlier push of it)."""
    ref = f"refs/heads/{plan.branch}"
    fetched = git("fetch", "--quiet", "--no-tags", "--depth", "1", git_location(opts.fork), ref, check=False)
    if fetched.returncode != 0:
        return False
    theirs = git("rev-parse", "--verify", "--quiet", f"FETCH_HEAD:{plan.target}", check=False).stdout.strip()
    return bool(theirs) and theirs == git("rev-parse", f"{commit}:{plan.target}").stdout.strip()


def push_branch(git: Git, commit: str, plan: SubmitPlan, opts: SubmitOptions) -> None:
    fork = git_location(opts.fork)
    ref = f"refs/heads/{plan.branch}"
    proc = git("push", "--porcelain", fork, f"{commit}:{ref}", check=False)
    if proc.returncode != 0 and "shallow update not allowed" in proc.stderr + proc.stdout:
        # the fork lacks upstream's history: fetch all of it, then push again
        git("fetch", "--quiet", "--no-tags", "--unshallow", git_location(opts.upstream), f"refs/heads/{opts.base}")
        proc = git("push", "--porcelain", fork, f"{commit}:{ref}", check=False)
    if proc.returncode != 0:
        detail = git.redact((proc.stderr.strip() + "\n" + proc.stdout.strip()).strip())
        raise SubmitError(
            f"git push to the fork {display_url(opts.fork)} was rejected, so nothing was submitted "
            f"(your folder {plan.folder} is unchanged):\n{detail}"
        )


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def tls_problem(api_url: str) -> str | None:
    """Why the token must not go to ``api_url``: only https, or http to this machine (a test stand-in)."""
    parts = urllib.parse.urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    return (
        f"--api-url {api_url!r}: the token is sent only over https (http only to this machine, for tests); "
        "use https://api.github.com or https://HOST/api/v3"
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect with the token in the header."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        return None


def create_pull_request(plan: SubmitPlan, opts: SubmitOptions, token: str, redact: Redactor) -> str:
    """POST /repos/{owner}/{repo}/pulls; the pull request's html_url."""
    problem = tls_problem(opts.api_url)
    if problem:  # checked before any git command too (submit._check_options); never send the token
        raise SubmitError(problem)
    url = f"{opts.api_url.rstrip('/')}/repos/{plan.upstream_slug}/pulls"
    body = {
        "title": plan.pr_title,
        "head": plan.head,
        "base": plan.base,
        "body": plan.pr_body,
        "maintainer_can_modify": True,
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
            "User-Agent": f"atomgenbench/{__version__}",
        },
    )
    handlers: list = [_NoRedirect()]
    if urllib.parse.urlsplit(url).hostname in LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=60) as response:
            data = json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:2000]
        try:
            parsed = json.loads(detail)
            detail = parsed.get("message", "") + "".join(
                f"; {e.get('message') or e}" for e in parsed.get("errors", []) if isinstance(e, dict)
            )
        except (ValueError, AttributeError):
            pass
        raise SubmitError(redact(f"the GitHub API refused the pull request (HTTP {exc.code}): {detail}")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SubmitError(redact(f"cannot reach the GitHub API at {opts.api_url}: {exc}")) from None
    html = data.get("html_url") if isinstance(data, dict) else None
    if not html:
        raise SubmitError("the GitHub API answered without a pull request URL")
    return str(html)
