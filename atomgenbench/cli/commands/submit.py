"""``atomgenbench submit``: a validated folder onto a branch of your leaderboard fork, and the pull request."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from atomgenbench.cli.options import emit, force_option, json_option, workers_option


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--fork", required=True, metavar="URL_OR_PATH", help="Your fork of the leaderboard (a URL or a local repository)."
)
@click.option("--branch", help="Branch to create on the fork (default: atomgenbench-<name>-<YYYYMMDD>).")
@click.option(
    "--base", default="develop", show_default=True, help="Upstream branch to start from and open the PR against."
)
@click.option(
    "--upstream",
    default=None,
    metavar="URL_OR_PATH",
    help="The leaderboard repository (default: https://github.com/atomgptlab/jarvis_leaderboard.git).",
)
@click.option("--pr", is_flag=True, help="Also open the pull request (needs a token, see --token-env).")
@click.option(
    "--api-url",
    default="https://api.github.com",
    show_default=True,
    help="GitHub REST API (Enterprise: https://HOST/api/v3).",
)
@click.option(
    "--upstream-slug", metavar="OWNER/NAME", help="Upstream repository name (default: from --upstream's URL)."
)
@click.option("--fork-owner", metavar="OWNER", help="Owner of the fork (default: from --fork's URL).")
@click.option(
    "--token-env",
    default="GITHUB_TOKEN",
    show_default=True,
    metavar="NAME",
    help="Environment variable holding the GitHub token (never pass a token on the command line).",
)
@force_option("a contribution folder of the same name on the base branch")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Make the git repository here and keep it (default: a temporary folder, removed afterwards).",
)
@click.option(
    "--allow-template-run-sh",
    is_flag=True,
    help="Submit although run.sh is still package's template for imported predictions (it exits 1).",
)
@click.option("--leaderboard-env", is_flag=True, help="Score in the leaderboard's pinned environment (see validate).")
@click.option(
    "--dry-run", is_flag=True, help="Validate and print the plan (files, branch, commit, PR); change nothing."
)
@workers_option()
@json_option("the plan (with --dry-run) or the result")
def submit(folder: Path, upstream: str | None, workdir: Path | None, workers: int, as_json: bool, **options) -> None:
    """Submit a contribution FOLDER to JARVIS-Leaderboard through your fork.

    \b
    1. runs the full `validate` (with scores) and refuses an invalid folder or
       metadata that still holds placeholders, before any git command;
    2. fetches upstream's --base shallowly with git, and builds a commit that adds
       exactly jarvis_leaderboard/contributions/<FOLDER name>/ (no .DS_Store or
       __MACOSX; an existing folder of that name only with --force);
    3. pushes it to a new branch of --fork, prints the compare URL and, with --pr,
       opens the pull request against --base with the score table as its body.

    The token is read from the environment variable --token-env and sent only as an
    Authorization header; it is never printed or written to .git/config. Your folder
    is only read. Docs: docs/submit.md.

    Example: GITHUB_TOKEN=... atomgenbench submit submissions/my-cdvae
    --fork https://github.com/me/jarvis_leaderboard.git --pr
    """
    from atomgenbench.evaluator.submission.submit import DEFAULT_UPSTREAM, SubmitOptions, describe, execute, prepare

    opts = SubmitOptions(upstream=upstream or DEFAULT_UPSTREAM, workdir=workdir, workers=workers, **options)
    with tempfile.TemporaryDirectory(prefix="atomgenbench-stage-") as staging:
        plan = prepare(folder, opts, Path(staging))
        for warning in plan.warnings:
            click.echo(f"warning: {warning}", err=True)
        plan_doc = {"folder": str(folder), "branch": plan.branch, "base": plan.base, "target": plan.target}
        plan_doc |= {"files": plan.files, "skipped": plan.skipped, "pr_title": plan.pr_title}
        if opts.dry_run:
            emit(as_json, {**plan_doc, "dry_run": True}, [describe(plan, opts), "dry run: nothing was changed"])
            return
        result = execute(plan, opts, (lambda _line: None) if as_json else click.echo)
        if as_json:
            emit(
                True,
                {**plan_doc, "commit": result.commit, "compare_url": result.compare_url, "pr_url": result.pr_url},
                [],
            )
