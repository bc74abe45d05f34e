"""``atomgenbench submit``: a validated contribution folder onto a branch of a leaderboard fork, and its PR.

Steps, in order (:func:`prepare`, then :func:`execute`):

1. Copy the folder's files, without OS junk (``.DS_Store``, ``__MACOSX``, ``._*``, ``Thumbs.db``),
   into a staging folder and run the full ``validate`` (with scores) on that copy, so that what
   is checked is exactly what is committed. An invalid folder, or metadata that still holds
   placeholders, is refused here, before any ``git`` command runs.
2. With the real ``git``: fetch upstream's ``--base`` shallowly into a fresh repository (no
   work tree is checked out: the commit is built in a temporary index), refuse an existing
   ``jarvis_leaderboard/contributions/<name>/`` unless ``replace``, and refuse a commit that
   touches anything outside that folder.
3. Commit (message naming the model and benchmarks), push to the fork, print the compare
   URL, and with ``pr`` open the pull request through the GitHub REST API
   (``POST /repos/{owner}/{repo}/pulls``) with the score table as its body.

The token is read only from the environment variable named by ``token_env``. It travels
as an ``Authorization`` header: to the API, and to git for an https fork through
``GIT_CONFIG_*`` environment variables (``http.<host>.extraHeader``), never in a URL, an
argument, ``.git/config`` or any output; every error message is redacted. The user's folder
is only read.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE
from atomgenbench.core.errors import SubmitError, UsageError
from atomgenbench.core.executors import Executor
from atomgenbench.core.versions import LEADERBOARD_REPO, __version__
from atomgenbench.evaluator.leaderboard.contribution import SUFFIX, load_metadata, parse_leaderboard_name
from atomgenbench.evaluator.leaderboard.metadata import contribution_name, folder_name_warning, placeholder_fields
from atomgenbench.evaluator.submission.action import score_table

DEFAULT_UPSTREAM = f"https://github.com/{LEADERBOARD_REPO}.git"
DEFAULT_API_URL = "https://api.github.com"
CONTRIBUTIONS = "jarvis_leaderboard/contributions"
JUNK_NAMES = frozenset({".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"})
FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
SLUG_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


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
    replace: bool = False
    workdir: Path | None = None
    workers: int = 1
    leaderboard_env: bool = False


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


# --- step 1: stage, validate, plan ----------------------------------------------------------------


def _junk(name: str) -> bool:
    return name in JUNK_NAMES or name.startswith("._")


def stage(folder: Path, dest: Path) -> tuple[list[str], list[str]]:
    """Copy ``folder`` to ``dest`` without OS junk; return (copied names, skipped names)."""
    skipped = sorted(p.name for p in folder.iterdir() if _junk(p.name))
    shutil.copytree(folder, dest, symlinks=True, ignore=lambda _d, names: [n for n in names if _junk(n)])
    return sorted(p.name for p in dest.iterdir()), skipped


def _benchmarks(files: Sequence[str]) -> list[str]:
    names = []
    for f in files:
        if f.endswith(SUFFIX):
            bench = parse_leaderboard_name(f).benchmark
            if bench not in names:
                names.append(bench)
    return names


def _texts(name: str, meta: dict, files: list[str], report, folder_shown: str) -> tuple[str, str, str]:
    """(commit message, PR title, PR body)."""
    csvs = [f for f in files if f.endswith(SUFFIX)]
    found = _benchmarks(csvs)
    structure = [b for b in ATOMGENBENCH_STRUCTURE if b in found]
    benches = ", ".join(structure or found)
    model, team = meta.get("model_name", name), meta.get("team_name", "")
    message = (
        f"Add AtomGenBench contribution {name} ({model})\n\n"
        f"Model: {model} by {team}\nBenchmarks: {benches} ({len(csvs)} leaderboard files)\n"
        f"Validated with atomgenbench {__version__}."
    )
    title = f"Add {name} ({model}) to AtomGenBench"
    warnings = [f"- {w.message}" for w in report.warnings][:10]
    body = [
        f"Adds `{CONTRIBUTIONS}/{name}/`: **{model}** by {team}, {len(csvs)} leaderboard files "
        f"({benches}), metadata.json, run.sh.",
        "",
        "Scores the leaderboard will show (`atomgenbench validate`):",
        "",
        score_table(report.scores) if report.scores else "(not scored)",
        "",
        f"`atomgenbench validate {folder_shown}`: valid, 0 errors, {len(report.warnings)} warning(s)"
        + (":" if warnings else "."),
        *warnings,
        "",
        f"Project: {meta.get('project_url', '')}. Opened with `atomgenbench submit` {__version__}.",
    ]
    return message, title, "\n".join(body) + "\n"


def _check_options(folder: Path, opts: SubmitOptions) -> tuple[str, str | None, str | None, str | None]:
    """(branch, upstream slug, fork owner, token); usage problems raise :class:`UsageError`."""
    name = folder.name
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder (give one contribution folder)")
    if (folder / "contributions").is_dir():
        raise UsageError(f"{folder}: a leaderboard tree; give one contribution folder (…/contributions/<name>)")
    if not FOLDER_NAME_RE.match(name):
        raise SubmitError(
            f"folder name {name!r} must use letters, digits, '_', '-' and '.' (it becomes the model name); "
            f"suggested: {contribution_name(name)!r}"
        )
    branch = opts.branch or f"atomgenbench-{name}-{_dt.date.today().strftime('%Y%m%d')}"
    if not BRANCH_RE.match(branch) or branch.endswith(".lock"):
        raise UsageError(f"--branch {branch!r} is not a valid git branch name")
    for label, slug in (("--upstream-slug", opts.upstream_slug), ("--fork-owner", opts.fork_owner)):
        if slug is not None and not (SLUG_RE.match(slug) if label == "--upstream-slug" else "/" not in slug):
            raise UsageError(f"{label} {slug!r} is not {'OWNER/NAME' if label == '--upstream-slug' else 'OWNER'}")
    upstream_slug = opts.upstream_slug or github_slug(opts.upstream)
    fork_slug = github_slug(opts.fork)
    fork_owner = opts.fork_owner or (fork_slug.split("/")[0] if fork_slug else None)
    token = os.environ.get(opts.token_env) or None
    if opts.pr:
        missing = [n for n, v in (("--upstream-slug", upstream_slug), ("--fork-owner", fork_owner)) if not v]
        if missing:
            raise UsageError(
                f"--pr needs {' and '.join(missing)}: they cannot be derived from a local path or a non-GitHub URL"
            )
        if not token:
            raise UsageError(f"--pr needs a GitHub token in the environment variable {opts.token_env} (--token-env)")
    return branch, upstream_slug, fork_owner, token


def prepare(folder: str | os.PathLike, opts: SubmitOptions, staging: Path) -> SubmitPlan:
    """Stage and validate ``folder`` (in ``staging``); the plan, or :class:`SubmitError` saying why not."""
    from atomgenbench.evaluator.submission.validate import validate_paths

    folder = Path(folder)
    branch, upstream_slug, fork_owner, _ = _check_options(folder, opts)
    staged = staging / folder.name
    files, skipped = stage(folder, staged)
    report = validate_paths(
        [staged], scores=True, executor=Executor.create("process", opts.workers), leaderboard_env=opts.leaderboard_env
    )

    def shown(text: str) -> str:
        return text.replace(str(staged), str(folder))

    if not report.valid:
        lines = [f"  {shown(f.file)}{'' if f.row is None else f':{f.row}'}: {f.message}" for f in report.errors]
        more = f"\n  ... {len(lines) - 20} more" if len(lines) > 20 else ""
        raise SubmitError(
            f"{folder} is not a valid contribution ({len(lines)} error(s)); nothing was submitted:\n"
            + "\n".join(lines[:20])
            + more
            + f"\nSee `atomgenbench validate {folder}`."
        )
    meta = load_metadata(staged / "metadata.json")
    placeholders = placeholder_fields(meta)
    if placeholders:
        listed = ", ".join(f"{k} = {v!r}" for k, v in placeholders)
        raise SubmitError(
            f"{folder}/metadata.json still holds placeholders or example addresses ({listed}); "
            "replace them with your own before submitting (nothing was submitted)"
        )
    message, title, body = _texts(folder.name, meta, files, report, str(folder))
    warnings = [shown(w.message) for w in report.warnings]
    problem = folder_name_warning(folder.name)
    if problem and problem not in warnings:
        warnings.append(problem)
    return SubmitPlan(
        folder=folder,
        name=folder.name,
        files=files,
        skipped=skipped,
        branch=branch,
        base=opts.base,
        target=f"{CONTRIBUTIONS}/{folder.name}",
        commit_message=message,
        pr_title=title,
        pr_body=body,
        upstream_slug=upstream_slug,
        fork_owner=fork_owner,
        warnings=warnings,
        staged=staged,
    )


def describe(plan: SubmitPlan, opts: SubmitOptions) -> str:
    """The plan as text (``--dry-run``)."""
    lines = [
        f"submit {plan.folder} -> {plan.target}/ ({len(plan.files)} files)",
        *(f"  {name}" for name in plan.files),
    ]
    if plan.skipped:
        lines.append(f"skipped (OS junk, not copied): {', '.join(plan.skipped)}")
    lines += [
        f"base:    {display_url(opts.upstream)} {plan.base} (fetched shallowly)",
        f"branch:  {plan.branch}, pushed to {display_url(opts.fork)}",
        "commit message:",
        *(f"  {line}" for line in plan.commit_message.splitlines()),
    ]
    if opts.pr:
        lines += [
            f"pull request: POST {opts.api_url.rstrip('/')}/repos/{plan.upstream_slug}/pulls "
            f"(head {plan.head}, base {plan.base})",
            f"  title: {plan.pr_title}",
            "  body:",
            *(f"    {line}" for line in plan.pr_body.splitlines()),
        ]
    return "\n".join(lines)


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


def _identity(meta: dict) -> tuple[str, str]:
    def configured(key: str) -> str | None:
        try:
            proc = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
        except FileNotFoundError:
            raise SubmitError("git is not installed (it is needed to submit)") from None
        return (proc.stdout.strip() or None) if proc.returncode == 0 else None

    name = configured("user.name") or meta.get("team_name") or "atomgenbench"
    email = configured("user.email") or meta.get("author_email") or "atomgenbench@users.noreply.github.com"
    return name, email


def _build_commit(git: Git, plan: SubmitPlan, opts: SubmitOptions, index: Path) -> str:
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
    if exists and not opts.replace:
        raise SubmitError(
            f"{plan.target}/ already exists on {opts.base}; pass --replace to replace it, or rename your folder"
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


def _check_fork(git: Git, plan: SubmitPlan, opts: SubmitOptions) -> None:
    """The fork is reachable and has no branch of that name yet."""
    proc = git("ls-remote", "--heads", git_location(opts.fork), f"refs/heads/{plan.branch}", check=False)
    if proc.returncode != 0:
        raise SubmitError(git.redact(f"cannot reach the fork {display_url(opts.fork)}: {proc.stderr.strip()}"))
    if proc.stdout.strip():
        raise SubmitError(f"branch {plan.branch!r} already exists on the fork; choose another with --branch")


def _push(git: Git, commit: str, plan: SubmitPlan, opts: SubmitOptions) -> None:
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect with the token in the header."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        return None


def create_pull_request(plan: SubmitPlan, opts: SubmitOptions, token: str, redact: Redactor) -> str:
    """POST /repos/{owner}/{repo}/pulls; the pull request's html_url."""
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
    if urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
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


def execute(plan: SubmitPlan, opts: SubmitOptions, echo: Callable[[str], None]) -> SubmitResult:
    """Commit the staged folder on a branch from upstream's base, push it, and open the PR."""
    token = os.environ.get(opts.token_env) or None
    redact = Redactor(token)
    meta = load_metadata(plan.staged / "metadata.json") if plan.staged else {}
    workdir = opts.workdir
    keep = workdir is not None
    if workdir is not None:
        if workdir.exists() and any(workdir.iterdir()):
            raise UsageError(f"--workdir {workdir} is not empty")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="atomgenbench-submit-"))
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        git = Git(workdir, redact, git_env(token, opts.fork), _identity(meta))
        git("init", "--quiet")
        _check_fork(git, plan, opts)
        commit = _build_commit(git, plan, opts, workdir / ".git" / "atomgenbench-index")
        _push(git, commit, plan, opts)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    echo(f"pushed {plan.target}/ to branch {plan.branch} of {display_url(opts.fork)} (commit {commit[:12]})")
    result = SubmitResult(plan, commit)
    if plan.upstream_slug and plan.fork_owner:
        result.compare_url = f"{web_base(opts.api_url)}/{plan.upstream_slug}/compare/{plan.base}...{plan.head}?expand=1"
        echo(f"compare: {result.compare_url}")
    else:
        echo(f"open a pull request from {plan.branch} of your fork against {plan.base} of {display_url(opts.upstream)}")
    if opts.pr and token:
        result.pr_url = create_pull_request(plan, opts, token, redact)
        echo(f"pull request: {result.pr_url}")
    return result
