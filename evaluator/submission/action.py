"""The GitHub Action's logic (``action.yml``): find contribution folders, validate, report.

``python -m atomgenbench.evaluator.submission.action [--paths GLOBS] [--base SHA] [--leaderboard-env true|false]``

1. Folders: the ``--paths`` globs (space- or newline-separated), else the folders under
   ``--root`` (``jarvis_leaderboard/contributions``) that changed since ``--base``, else every
   folder under ``--root``. A plain file where a folder belongs (a loose csv.zip, a
   ``.DS_Store``) is an error, as it crashes the leaderboard's build; ``*.md`` files are skipped.
2. ``atomgenbench validate --json`` on all of them (with ``--leaderboard-env`` when asked),
   run as a command, exactly as a user would.
3. ``::error file=…,line=…::`` / ``::warning …::`` workflow commands on stdout for every finding,
   the score table (and the verdict per folder) appended to ``$GITHUB_STEP_SUMMARY``.
4. Exit status 0 when every folder is valid, 1 when any is not, 2 for a usage problem.

The markdown score table is also the body of the pull request that ``atomgenbench submit``
opens (:func:`score_table`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

CONTRIBUTIONS = "jarvis_leaderboard/contributions"


def escape_data(text: str) -> str:
    """A workflow-command message: ``%``, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow-command property value (``file=``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(severity: str, file: str | None, row: int | None, message: str) -> str:
    """``::error file=F,line=N::message`` (``file`` and ``line`` only where known)."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if row is not None:
            props.append(f"line={int(row)}")
    props.append("title=atomgenbench validate")
    return f"::{severity} {','.join(props)}::{escape_data(message)}"


def _value(score: Mapping) -> str:
    value = score.get("value")
    return "n/a" if value is None else f"{value:.4f}"


def score_table(scores: Mapping[str, Mapping]) -> str:
    """Markdown table of validate's scores: folder, file, metric, value, matched/total."""
    lines = ["| folder | file | metric | value | matched (rmse) or rows (mae) |", "|---|---|---|---:|---:|"]
    for path, s in scores.items():
        p = Path(path)
        lines.append(
            f"| {p.parent.name} | `{p.name}` | {s['metric']} | {_value(s)} | {s['n_matched']}/{s['n_total']} |"
        )
    return "\n".join(lines)


def _git(args: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, timeout=300)


def changed_paths(base: str) -> list[str]:
    """Paths changed between ``base`` and HEAD (fetching ``base`` shallowly when it is missing)."""
    if _git(["cat-file", "-e", f"{base}^{{commit}}"]).returncode != 0:
        _git(["fetch", "--no-tags", "--depth=1", "origin", base])
    proc = _git(["diff", "--name-only", "--no-renames", base, "HEAD"])
    if proc.returncode != 0:
        raise SystemExit(f"::error::cannot list the files changed since {base}: {proc.stderr.strip()}")
    return [line for line in proc.stdout.splitlines() if line]


def _is_note(path: Path) -> bool:
    return path.suffix.lower() == ".md"


def find_folders(paths: str, base: str | None, root: str = CONTRIBUTIONS) -> tuple[list[str], list[dict], str]:
    """(folders, stray-file errors, how they were chosen)."""
    folders: list[str] = []
    stray: list[dict] = []
    if paths.strip():
        matches = sorted({m for pattern in paths.split() for m in glob.glob(pattern)})
        how = f"matching {paths.split()}"
    elif base:
        prefix = root.rstrip("/") + "/"
        tops = {prefix + p[len(prefix) :].split("/")[0] for p in changed_paths(base) if p.startswith(prefix)}
        matches = sorted(m for m in tops if os.path.lexists(m))
        how = f"changed under {root}/ since {base[:12]}"
    else:
        matches = sorted(glob.glob(os.path.join(root, "*"))) if os.path.isdir(root) else []
        how = f"every folder under {root}/ (no --paths and no --base)"
    for match in matches:
        path = Path(match)
        if path.is_dir() and not path.is_symlink():
            folders.append(match)
        elif not _is_note(path):
            stray.append(
                {
                    "file": match,
                    "row": None,
                    "message": "contribution folders only here: stray file (the leaderboard build "
                    "crashes with NotADirectoryError on a file in contributions/)",
                }
            )
    return folders, stray, how


def run_validate(folders: Sequence[str], *, leaderboard_env: bool, workers: str) -> dict:
    """``atomgenbench validate --json`` on ``folders``; its JSON report."""
    cmd = [sys.executable, "-m", "atomgenbench", "validate", "--json", "--workers", workers]
    cmd += ["--leaderboard-env"] if leaderboard_env else []
    proc = subprocess.run([*cmd, *folders], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"::error title=atomgenbench validate::{escape_data(proc.stderr.strip() or proc.stdout.strip())}"
        )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"::error::atomgenbench validate printed no JSON report: {escape_data(proc.stderr)}") from None


def _folder_of(file: str, folders: Iterable[str]) -> str | None:
    for folder in folders:
        if file == folder or file.startswith(folder.rstrip("/") + "/"):
            return folder
    return None


def _add_folder_name_warnings(report: dict, folders: Sequence[str]) -> None:
    from atomgenbench.evaluator.leaderboard.metadata import folder_name_warning

    seen = {w["message"] for w in report["warnings"]}
    for folder in folders:
        problem = folder_name_warning(Path(folder).name)
        if problem and problem not in seen:
            report["warnings"].append({"file": folder, "row": None, "message": problem})


def summary_markdown(report: dict, folders: Sequence[str], how: str) -> str:
    """The step summary: one verdict per folder, the score table, the Pearson r heatmap, the problems."""
    lines = ["## atomgenbench validate", "", f"Folders: {how}.", ""]
    if not folders and not report["errors"]:
        return "\n".join([*lines, "No contribution folders to validate.", ""])
    lines += ["| folder | verdict | errors | warnings |", "|---|---|---:|---:|"]
    for folder in folders:
        n_err = sum(_folder_of(e["file"], [folder]) is not None for e in report["errors"])
        n_warn = sum(_folder_of(w["file"], [folder]) is not None for w in report["warnings"])
        lines.append(f"| `{folder}` | {'valid' if n_err == 0 else '**INVALID**'} | {n_err} | {n_warn} |")
    if report.get("scores"):
        lines += ["", "### Scores the leaderboard will show", "", score_table(report["scores"])]
    if report.get("special"):
        from atomgenbench.evaluator.leaderboard.specialized import special_markdown

        heading = "### Special/AtomGenBench page (the leaderboard's heatmap: Pearson r of each lattice file, 2 dp)"
        lines += ["", heading, "", *special_markdown(report["special"])]
    problems = [("error", f) for f in report["errors"]] + [("warning", f) for f in report["warnings"]]
    if problems:
        lines += ["", "### Problems", ""]
        for severity, f in problems[:100]:
            where = f"{f['file']}:{f['row']}" if f.get("row") is not None else f["file"]
            lines.append(f"- **{severity}** `{where}`: {f['message']}")
        if len(problems) > 100:
            lines.append(f"- ... {len(problems) - 100} more (see the job log)")
    return "\n".join(lines) + "\n"


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text not in {"true", "false", "1", "0", "yes", "no", ""}:
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return text in {"true", "1", "yes"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m atomgenbench.evaluator.submission.action", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--paths", default="", help="globs of contribution folders (space/newline separated)")
    parser.add_argument("--base", default="", help="commit to diff against for the changed folders")
    parser.add_argument("--root", default=CONTRIBUTIONS, help="where contribution folders live")
    parser.add_argument("--leaderboard-env", type=_flag, default=True, help="true: score in the pinned environment")
    parser.add_argument("--workers", default="auto")
    args = parser.parse_args(argv)

    base = args.base.strip() or None
    if base and set(base) == {"0"}:  # the "before" of a newly pushed branch: nothing to diff against
        base = None
    folders, stray, how = find_folders(args.paths, base, args.root)
    if folders:
        report = run_validate(folders, leaderboard_env=args.leaderboard_env, workers=args.workers)
    else:
        report = {"valid": True, "folders": [], "errors": [], "warnings": [], "scores": {}}
    report["errors"] = stray + report["errors"]
    _add_folder_name_warnings(report, folders)
    for severity in ("error", "warning"):
        for f in report[f"{severity}s"]:
            print(annotation(severity, f["file"], f.get("row"), f["message"]))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    text = summary_markdown(report, folders, how)
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    if not folders and not report["errors"]:
        return 0
    return 1 if report["errors"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
