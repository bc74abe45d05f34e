"""Text and Markdown renderings of the ``leaderboard_env`` sections (validate, evaluate, reproduce).

A section (:func:`atomgenbench.evaluator.leaderboard.score.environment_section`) says which
pymatgen decided an RMSE, which rows are borderline and, when the file was also scored
in the leaderboard's own environment, both numbers and every id that differs.
"""

from __future__ import annotations

import functools

from atomgenbench.core.numbers import NA, fmt
from atomgenbench.core.versions import python_label, scorer_label
from atomgenbench.evaluator.leaderboard.score import BORDERLINE_SHORT

#: a number in a sentence ("n/a" when missing)
_na = functools.partial(fmt, missing=NA)


def environment_lines(section: dict, indent: str = "  ", limit: int = 10) -> list[str]:
    """Plain-text lines of an :func:`environment_section` (validate, evaluate)."""
    cur, lb = section["current"], section["leaderboard"]
    cur_env = scorer_label(cur["environment"])
    out = []
    if lb is not None:
        env = lb["environment"]
        out.append(
            f"{indent}leaderboard will show {_na(lb['value'])} ({lb['n_matched']}/{lb['n_total']} matched, "
            f"match rate {_na(lb['match_rate'])}): leaderboard environment, pymatgen {env.get('pymatgen')}, "
            f"{python_label(env.get('python'))}"
        )
        out.append(
            f"{indent}current environment  {_na(cur['value'])} ({cur['n_matched']}/{cur['n_total']} matched, "
            f"match rate {_na(cur['match_rate'])}): {cur_env}"
        )
        diffs = section["differences"] or []
        out.append(f"{indent}{len(diffs)} id(s) differ between the two" + (":" if diffs else ""))
        for d in diffs[:limit]:
            out.append(
                f"{indent}  {d['id']}: current {_na(d['current_rms'])}, leaderboard env "
                f"{_na(d['leaderboard_rms'])} ({d['change']})"
            )
        if len(diffs) > limit:
            out.append(f"{indent}  ... {len(diffs) - limit} more in --json")
        for key, message in (lb.get("errors") or {}).items():
            out.append(f"{indent}leaderboard scorer fails on {key}: {message}")
    else:
        out.append(f"{indent}note: {section['note']}")
    rows = section["borderline"]["rows"]
    if rows:
        ids = ", ".join(r["id"] for r in rows[:limit]) + (", ..." if len(rows) > limit else "")
        out.append(f"{indent}{len(rows)} borderline row(s) ({BORDERLINE_SHORT}): {ids}")
    return out


def environment_markdown(section: dict) -> list[str]:
    """Markdown lines of an :func:`environment_section` (report.md)."""
    cur, lb = section["current"], section["leaderboard"]
    lines = ["## Leaderboard environment", ""]
    if lb is None:
        lines += [section["note"], ""]
    else:
        env = lb["environment"]
        lines += [
            "| environment | RMSE | matched | match rate |",
            "|---|---|---|---|",
            f"| leaderboard will show (pymatgen {env.get('pymatgen')}, python {env.get('python')}) | "
            f"{_na(lb['value'])} | {lb['n_matched']}/{lb['n_total']} | {_na(lb['match_rate'])} |",
            f"| current ({scorer_label(cur['environment'])}) | {_na(cur['value'])} | "
            f"{cur['n_matched']}/{cur['n_total']} | {_na(cur['match_rate'])} |",
            "",
        ]
        diffs = section["differences"] or []
        if diffs:
            lines += ["| id | RMS current | RMS leaderboard env | change |", "|---|---|---|---|"]
            lines += [
                f"| `{d['id']}` | {_na(d['current_rms'])} | {_na(d['leaderboard_rms'])} | {d['change']} |"
                for d in diffs
            ]
            lines.append("")
        else:
            lines += ["No id differs between the two environments.", ""]
    rows = section["borderline"]["rows"]
    lines.append(f"Borderline rows ({len(rows)}): {section['borderline']['rule']}.")
    if rows:
        lines += [""] + [f"- `{r['id']}`: {r['why']}" for r in rows]
    return lines + [""]


def files_lines(sections: dict[str, dict[str, dict]]) -> list[str]:
    """Markdown of :func:`~atomgenbench.evaluator.leaderboard.score.score_files`'s sections.

    The table "leaderboard will show" beside the current environment's value, and the ids that differ.
    """
    lines = ["## What the leaderboard will show", ""]
    first = next((sec for by in sections.values() for sec in by.values()), None)
    if first is None:
        return []
    if first["leaderboard"] is None:
        lines += [first["note"], ""]
    else:
        env = first["leaderboard"]["environment"]
        lines += [
            f"RMSE of each packaged structure file in the leaderboard's own environment (pymatgen "
            f"{env.get('pymatgen')}, numpy {env.get('numpy')}, python {env.get('python')}; the leaderboard uses "
            f"python {env.get('leaderboard_python')}) beside this environment's "
            f"({scorer_label(first['current']['environment'])}).",
            "",
        ]
    lines += [
        "| model | benchmark | leaderboard will show | matched | current environment | matched | ids that differ |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, by_bench in sections.items():
        for bench, sec in by_bench.items():
            cur, lb = sec["current"], sec["leaderboard"]
            diffs = ", ".join(f"`{d['id']}`" for d in sec["differences"] or []) or "none"
            shown = (_na(lb["value"]), f"{lb['n_matched']}/{lb['n_total']}") if lb else ("not computed", "–")
            lines.append(
                f"| {label} | {bench} | {shown[0]} | {shown[1]} | {_na(cur['value'])} | "
                f"{cur['n_matched']}/{cur['n_total']} | {diffs if lb else '–'} |"
            )
    return lines + [""]


#: the heading of a packaged folder's README section written by :func:`readme_with_section`
README_HEADING = "## RMSE the leaderboard will show"


def readme_section(by_bench: dict[str, dict]) -> list[str]:
    """A contribution folder's README section: what the leaderboard will show for each of its structure
    files, beside this environment's RMSE, from the pinned sections of ``score_files(..., pinned=True)``."""
    from atomgenbench.core.versions import PINS

    first = next(iter(by_bench.values()))
    env, here = first["leaderboard"]["environment"], first["current"]["environment"]
    others = ", ".join(f"{k} {v}" for k, v in PINS.items() if k != "pymatgen")
    ours = ", ".join(f"{k} {here[k]}" for k in ("pymatgen", "pymatgen-core") if here.get(k))
    lines = [
        README_HEADING,
        "",
        f"The leaderboard scores the two structure files with pymatgen {PINS['pymatgen']} (its CI pins: {others}). "
        "`atomgenbench validate --leaderboard-env` computed both columns (pinned environment on "
        f"python {env.get('python')}; this project's environment: {ours}).",
        "",
        "| benchmark | leaderboard will show | matched | this project's environment | matched | ids that differ |",
        "|---|---|---|---|---|---|",
    ]
    for bench, sec in by_bench.items():
        cur, lb = sec["current"], sec["leaderboard"]
        diffs = ", ".join(
            f"`{d['id']}` ({_na(d['current_rms'])} here, {_na(d['leaderboard_rms'])} there)"
            for d in sec["differences"] or []
        )
        lines.append(
            f"| {bench} | {_na(lb['value'])} | {lb['n_matched']}/{lb['n_total']} | {_na(cur['value'])} | "
            f"{cur['n_matched']}/{cur['n_total']} | {diffs or 'none'} |"
        )
    return lines


def readme_with_section(readme: str, by_bench: dict[str, dict]) -> str:
    """``readme`` with its :data:`README_HEADING` section replaced by a new one (the sections after it
    kept), or with the new section appended."""
    head, found, rest = readme.partition("\n" + README_HEADING + "\n")
    after = rest.partition("\n## ")[2] if found else ""
    text = head.rstrip("\n") + "\n\n" + "\n".join(readme_section(by_bench)) + "\n"
    return text + ("\n## " + after if after else "")
