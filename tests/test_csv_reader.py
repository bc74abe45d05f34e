"""The one CSV reader (strict for contributions, lenient as the leaderboard) and `validate` collecting problems."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.predictions import (
    LEADERBOARD_HEADERS,
    MAX_PROBLEMS_PER_KIND,
    PredictionsFormatError,
    atomic_write_text,
    parse_csv,
)
from atomgenbench.cli import cli

RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


def test_strict_collects_every_problem_with_line_numbers():
    text = 'id,target,prediction\na,1,2\n\nb,1,"2"\nc,1\na,1,3\n,1,2\n'
    table = parse_csv(text, "f.csv")
    assert [r.id for r in table.rows] == ["a"]
    errors = [(line, msg.split(" (a POSCAR")[0]) for line, msg in table.errors]
    assert errors == [
        (3, "blank line"),
        (4, "quoted field; values must not contain commas, quotes or real newlines"),
        (5, "expected 3 fields (id,target,prediction), got 2"),
        (6, "duplicate id 'a' (first on row 2)"),
        (7, "empty id"),
    ]
    with pytest.raises(PredictionsFormatError) as info:
        table.raise_errors()
    message = str(info.value)
    assert (
        message.startswith("f.csv: 5 problems:") and "row 4: quoted field" in message and "row 7: empty id" in message
    )


def test_strict_rejects_what_lenient_accepts():
    text = '\ufeffID, Prediction ,target\r\n"a","x,y",1\r\n\r\nb,z,2\r\n'
    strict = parse_csv(text, "f.csv", headers=LEADERBOARD_HEADERS)
    assert strict.errors[0] == (1, "the CSV starts with a byte-order mark; write plain UTF-8")
    assert any("header must be exactly" in msg for _, msg in strict.errors) and not strict.rows
    lenient = parse_csv(text, "f.csv", headers=LEADERBOARD_HEADERS, lenient=True)
    assert lenient.ok and [(r.line, r.id, r.prediction, r.target) for r in lenient.rows] == [
        (2, "a", "x,y", "1"),
        (4, "b", "z", "2"),
    ]
    crlf = parse_csv("id,target,prediction\r\na,1,2\r\n", "f.csv")
    assert crlf.ok and "CRLF" in crlf.warnings[0]
    mixed = parse_csv("id,target,prediction\r\na,1,2\nb,1,2\r", "f.csv")
    assert mixed.errors == [(None, "the CSV mixes line endings or has bare CR characters; use LF only")]


def test_problems_are_capped_per_kind():
    rows = [f"a,1,{i}" for i in range(30)] + [f"x{i},1" for i in range(3)]
    table = parse_csv("id,target,prediction\n" + "\n".join(rows) + "\n", "f.csv")
    duplicates = [m for _, m in table.errors if m.startswith("duplicate id")]
    assert len(duplicates) == MAX_PROBLEMS_PER_KIND == 20 and table.omitted == {"duplicate id": 9}
    assert sum("expected 3 fields" in m for _, m in table.errors) == 3  # another kind: not crowded out
    assert table.problem_lines()[-1] == "... and 9 more duplicate id problem(s)"


def test_atomic_write_honours_the_umask(tmp_path):
    import os

    for mask, name in ((0o077, "private.txt"), (0o002, "shared.txt")):
        old = os.umask(mask)
        try:
            atomic_write_text(tmp_path / name, "x")
        finally:
            os.umask(old)
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o664


def _rewrite(path, edit):
    with zipfile.ZipFile(path) as zf:
        member = zf.namelist()[0]
        text = zf.read(member).decode()
    lines = edit(text.rstrip("\n").split("\n"))
    path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, "\n".join(lines) + "\n")


def test_validate_reports_every_problem_of_a_file_capped(tmp_path, contributions):
    folder = tmp_path / "contrib"
    shutil.copytree(contributions / "cdvae_invatoms", folder)

    def edit(lines):
        for i in range(1, 26):  # rows 2..26: ids repeated further down (25 duplicates)
            key, target, _ = lines[i + 25].split(",", 2)
            lines[i + 25] = ",".join([lines[i].split(",", 1)[0], target, lines[i + 25].split(",", 2)[2]])
        for i in range(60, 85):  # 25 predictions that are not structures
            key, target, _ = lines[i].split(",", 2)
            lines[i] = f"{key},{target},hello"
        lines[90] += ",extra"
        return lines

    _rewrite(folder / RMSE, edit)
    result = CliRunner().invoke(cli, ["validate", "--no-scores", str(folder)])
    assert result.exit_code == 1, result.output
    out = result.output
    assert out.count(": duplicate id '") == 20 and "... and 5 more duplicate id problems" in out
    assert out.count("prediction is not a valid structure") == 20 and "... and 5 more invalid structures" in out
    assert f"{RMSE}:91: expected 3 fields" in out
    assert "26 missing" in out  # the ids the duplicates replaced, and the unreadable row 91
