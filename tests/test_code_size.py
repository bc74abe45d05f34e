"""The house rules that keep the code readable: modules under 500 lines, functions under 80 (issue 25)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
#: the code the rules cover: the package (through its folders) and the scripts and example
FOLDERS = ("atomgenbench", "benchmarks", "runners", "evaluator", "scripts", "examples")


def _sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", *FOLDERS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / p for p in listed if p.endswith(".py") and (REPO / p).is_file() and not (REPO / p).is_symlink()]


def oversized(path: Path) -> list[str]:
    """What breaks the rules in one file: ``path: N lines`` and ``path:LINE name(): N lines``."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    out = []
    n_lines = len(text.splitlines())
    if n_lines > MAX_MODULE_LINES:
        out.append(f"{rel}: {n_lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                out.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    return out


def test_modules_and_functions_stay_small():
    sources = _sources()
    assert len(sources) > 100, "the source listing found too few files: the check would prove nothing"
    offenders = [line for path in sources for line in oversized(path)]
    assert offenders == [], "\n".join(offenders)


def test_the_check_sees_an_oversized_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    probe = tmp_path / "probe.py"
    probe.write_text(f"def too_long():\n{body}\n")
    assert oversized(probe) == [f"probe.py:1 too_long(): {MAX_FUNCTION_LINES + 1} lines"]
