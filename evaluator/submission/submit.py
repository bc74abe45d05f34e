"""``atomgenbench submit``: a validated contribution folder onto a branch of a leaderboard fork, and its PR.

Steps, in order (:func:`prepare`, then :func:`execute`):

1. Copy the folder's files, without OS junk (``.DS_Store``, ``__MACOSX``, ``._*``, ``Thumbs.db``),
   into a staging folder and run the full ``validate`` (with scores) on that copy, so that what
   is checked is exactly what is committed. An invalid folder, or metadata that still holds
   placeholders, is refused here, before any ``git`` command runs.
2. With the real ``git``: fetch upstream's ``--base`` shallowly into a fresh repository (no
   work tree is checked out: the commit is built in a temporary index), refuse an existing
   ``jarvis_leaderboard/contributions/<name>/`` unless ``force``, and refuse a commit that
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

import datetime as _dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import ATOMGENBENCH_STRUCTURE
from atomgenbench.core.errors import SubmitError, UsageError
from atomgenbench.core.executors import Executor
from atomgenbench.core.versions import LEADERBOARD_REPO, __version__
from atomgenbench.evaluator.leaderboard.contribution import (
    SUFFIX,
    TEMPLATE_RUN_SH_MARKER,
    load_metadata,
    parse_leaderboard_name,
)
from atomgenbench.evaluator.leaderboard.metadata import (
    byline,
    contribution_name,
    folder_name_warning,
    placeholder_fields,
)
from atomgenbench.evaluator.submission.action import score_table
from atomgenbench.evaluator.submission.remote import (
    Git,
    Redactor,
    SubmitOptions,
    SubmitPlan,
    SubmitResult,
    build_commit,
    check_fork,
    create_pull_request,
    display_url,
    git_env,
    github_slug,
    identity,
    push_branch,
    same_folder_on_branch,
    tls_problem,
    web_base,
)

DEFAULT_UPSTREAM = f"https://github.com/{LEADERBOARD_REPO}.git"
DEFAULT_API_URL = "https://api.github.com"
CONTRIBUTIONS = "jarvis_leaderboard/contributions"
JUNK_NAMES = frozenset({".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"})
FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
SLUG_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


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
        f"Model: {byline(model, team)}\nBenchmarks: {benches} ({len(csvs)} leaderboard files)\n"
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
        problem = tls_problem(opts.api_url)
        if problem:
            raise UsageError(problem)
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
    run_sh = (staged / "run.sh").read_text(encoding="utf-8", errors="replace")
    if TEMPLATE_RUN_SH_MARKER in run_sh and not opts.allow_template_run_sh:
        raise SubmitError(
            f"{folder}/run.sh is still package's template for imported predictions (it exits 1 with 'fill in "
            "how the ... predictions are made'): write the commands that make them, or pass "
            "--allow-template-run-sh (nothing was submitted)"
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
        git = Git(workdir, redact, git_env(token, opts.fork), identity(meta))
        git("init", "--quiet")
        existing = check_fork(git, plan, opts)
        commit = build_commit(git, plan, opts, workdir / ".git" / "atomgenbench-index")
        if existing is None:
            push_branch(git, commit, plan, opts)
        elif not same_folder_on_branch(git, commit, plan, opts):
            raise SubmitError(
                f"branch {plan.branch!r} already exists on the fork with other content; choose another with --branch"
            )
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if existing is None:
        echo(f"pushed {plan.target}/ to branch {plan.branch} of {display_url(opts.fork)} (commit {commit[:12]})")
    else:  # a rerun after the pull request failed: the push is done, only the pull request is left
        commit = existing
        echo(
            f"found branch {plan.branch} of {display_url(opts.fork)} already holding this {plan.target}/ "
            f"(commit {commit[:12]}, an earlier push): not pushing again"
        )
    result = SubmitResult(plan, commit)
    if plan.upstream_slug and plan.fork_owner:
        result.compare_url = f"{web_base(opts.api_url)}/{plan.upstream_slug}/compare/{plan.base}...{plan.head}?expand=1"
        echo(f"compare: {result.compare_url}")
    else:
        echo(f"open a pull request from {plan.branch} of your fork against {plan.base} of {display_url(opts.upstream)}")
    if opts.pr and token:
        try:
            result.pr_url = create_pull_request(plan, opts, token, redact)
        except SubmitError as exc:
            raise SubmitError(
                f"{exc}\nThe branch {plan.branch} is on the fork; run the same command again (with --branch "
                f"{plan.branch}) to open the pull request without pushing again."
            ) from None
        echo(f"pull request: {result.pr_url}")
    return result
