"""``atomgenbench validate``: a corpus of broken folders (one defect each), legacy failures, output shapes.

The corpus is built here, in temporary folders, from a valid folder packaged out
of the real cdvae_invatoms dft_3d predictions. Every defect must give exit code 1,
a message naming it, and no traceback. Scoring is skipped (--no-scores) to keep
these tests fast; the slow scoring tests live in test_validate_real.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli

RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
MAE_A = "AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip"


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["validate", *args], catch_exceptions=True)
    out = result.output
    assert "Traceback" not in out, out
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate crashed: {result.exception!r}\n{out}")
    return result


@pytest.fixture(scope="session")
def base_folder(tmp_path_factory, contributions) -> Path:
    """A valid 7-file dft_3d contribution packaged from the real CDVAE predictions."""
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.submission.package import package_contribution

    preds = load_predictions(contributions / "cdvae_invatoms" / RMSE, "dft_3d_Tc_supercon")
    meta = {
        "model_name": "CDVAE",
        "author_email": "me@example.org",
        "project_url": "https://example.org",
        "git_url": ["https://github.com/example/cdvae"],
        "date_submitted": "01-31-2026",
    }
    out = tmp_path_factory.mktemp("base") / "cdvae_base"
    package_contribution({"dft_3d_Tc_supercon": preds}, meta, out, run_sh="#!/bin/sh\necho hi\n")
    return out


@pytest.fixture
def folder(base_folder, tmp_path) -> Path:
    dest = tmp_path / "contrib"
    shutil.copytree(base_folder, dest)
    return dest


def read_csv(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(zf.namelist()[0]).decode()


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def rewrite_csv(path: Path, edit) -> None:
    text = read_csv(path)
    write_zip(path, {path.name[:-4]: edit(text).encode()})


def replace_row(text: str, index: int, new_prediction: str) -> str:
    lines = text.split("\n")
    key, target, _ = lines[index].split(",")
    lines[index] = ",".join((key, target, new_prediction))
    return "\n".join(lines)


def edit_meta(folder: Path, **changes) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    (folder / "metadata.json").write_text(json.dumps(meta))


def _rename(folder: Path, old: str, new: str) -> None:
    (folder / old).rename(folder / new)
    rewrite_name = new[:-4] if new.endswith(".zip") else new
    data = read_csv(folder / new)
    write_zip(folder / new, {rewrite_name: data.encode()})


BIG_POSCAR = "System\\n1.0\\n30.0 0.0 0.0\\n0.0 30.0 0.0\\n0.0 0.0 30.0\\nCu \\n250 \\ndirect\\n" + "".join(
    f"{i / 250:.4f} 0.5 0.5 Cu\\n" for i in range(250)
)

# (id, mutation, expected fragment of the error message)
DEFECTS = [
    ("five-tokens", lambda f: _rename(f, RMSE, "AI-AtomGen_Tc_supercon-dft_3d-test-rmse.csv.zip"), "exactly 6"),
    (
        "unknown-category",
        lambda f: _rename(f, RMSE, "XX-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"),
        "unknown category",
    ),
    (
        "unknown-subcategory",
        lambda f: _rename(f, RMSE, "AI-AtomGenX-Tc_supercon-dft_3d-test-rmse.csv.zip"),
        "unknown subcategory",
    ),
    ("unknown-metric", lambda f: _rename(f, RMSE, "AI-AtomGen-Tc_supercon-dft_3d-test-rms.csv.zip"), "unknown metric"),
    (
        "rmse-outside-atomgen",
        lambda f: _rename(f, RMSE, "AI-SinglePropertyPrediction-Tc_supercon-dft_3d-test-rmse.csv.zip"),
        "unknown metric 'rmse'",
    ),
    (
        "no-such-benchmark",
        lambda f: _rename(f, RMSE, "AI-AtomGen-Tc_supercon-dft_2d-test-rmse.csv.zip"),
        "no benchmark 'dft_2d_Tc_supercon'",
    ),
    ("wrong-split", lambda f: _rename(f, RMSE, "AI-AtomGen-Tc_supercon-dft_3d-val-rmse.csv.zip"), "split 'val'"),
    (
        "two-members",
        lambda f: write_zip(f / RMSE, {RMSE[:-4]: read_csv(f / RMSE).encode(), "__MACOSX/._x": b"x"}),
        "exactly one member, found 2",
    ),
    ("member-misnamed", lambda f: write_zip(f / RMSE, {"predictions.csv": read_csv(f / RMSE).encode()}), "it must be"),
    (
        "member-path-parts",
        lambda f: write_zip(f / RMSE, {"../" + RMSE[:-4]: read_csv(f / RMSE).encode()}),
        "path parts",
    ),
    ("not-a-zip", lambda f: (f / RMSE).write_bytes(b"id,target,prediction\n"), "not a readable zip"),
    ("zip-bomb", lambda f: write_zip(f / RMSE, {RMSE[:-4]: b"0" * (65 * 1024 * 1024)}), "zip bomb"),
    ("oversized-zip", lambda f: os.truncate(f / RMSE, 40 * 1024 * 1024), "over the"),
    ("non-utf8-csv", lambda f: write_zip(f / RMSE, {RMSE[:-4]: read_csv(f / RMSE).encode("utf-16")}), "not UTF-8"),
    ("bare-cr", lambda f: rewrite_csv(f / RMSE, lambda t: t.replace("\n", "\r")), "bare CR"),
    (
        "bad-header",
        lambda f: rewrite_csv(f / RMSE, lambda t: t.replace("id,target,prediction", "id,actual,prediction", 1)),
        "header must be exactly",
    ),
    ("quoted-field", lambda f: rewrite_csv(f / RMSE, lambda t: replace_row(t, 3, '"a,b"')), "quoted field"),
    ("four-fields", lambda f: rewrite_csv(f / MAE_A, lambda t: replace_row(t, 3, "1.0,2.0")), "expected 3 fields"),
    ("missing-id", lambda f: rewrite_csv(f / RMSE, lambda t: "\n".join(t.split("\n")[:-3] + [""])), "2 missing"),
    ("extra-id", lambda f: rewrite_csv(f / MAE_A, lambda t: t + "JVASP-1,1.0,1.0\n"), "1 not in the test split"),
    (
        "duplicate-id",
        lambda f: rewrite_csv(
            f / MAE_A,
            lambda t: t.replace(t.split("\n")[2].split(",")[0] + ",", t.split("\n")[1].split(",")[0] + ",", 1),
        ),
        "duplicate id",
    ),
    (
        "garbage-poscar",
        lambda f: rewrite_csv(f / RMSE, lambda t: replace_row(t, 4, "hello world")),
        "not a valid structure",
    ),
    (
        "vasp4-poscar",
        lambda f: rewrite_csv(
            f / RMSE, lambda t: replace_row(t, 4, "System\\n1.0\\n3 0 0\\n0 3 0\\n0 0 3\\n1 \\ndirect\\n0 0 0\\n")
        ),
        "not a valid structure",
    ),
    (
        "nan-coordinate",
        lambda f: rewrite_csv(
            f / RMSE,
            lambda t: replace_row(t, 4, "System\\n1.0\\n3 0 0\\n0 3 0\\n0 0 3\\nCu \\n1 \\ndirect\\nnan 0 0 Cu\\n"),
        ),
        "non-finite",
    ),
    (
        "zero-volume",
        lambda f: rewrite_csv(
            f / RMSE,
            lambda t: replace_row(t, 4, "System\\n1.0\\n3 0 0\\n3 0 0\\n0 0 3\\nCu \\n1 \\ndirect\\n0 0 0 Cu\\n"),
        ),
        "volume",
    ),
    ("too-many-atoms", lambda f: rewrite_csv(f / RMSE, lambda t: replace_row(t, 4, BIG_POSCAR)), "exceeds the cap"),
    (
        "unknown-element",
        lambda f: rewrite_csv(
            f / RMSE,
            lambda t: replace_row(t, 4, "System\\n1.0\\n3 0 0\\n0 3 0\\n0 0 3\\nXx \\n1 \\ndirect\\n0 0 0 Xx\\n"),
        ),
        "unknown element",
    ),
    ("nan-float", lambda f: rewrite_csv(f / MAE_A, lambda t: replace_row(t, 5, "nan")), "not a finite number"),
    ("text-float", lambda f: rewrite_csv(f / MAE_A, lambda t: replace_row(t, 5, "abc")), "not a finite number"),
    ("underscore-float", lambda f: rewrite_csv(f / MAE_A, lambda t: replace_row(t, 5, "1_000")), "not a finite number"),
    ("metadata-missing", lambda f: (f / "metadata.json").unlink(), "metadata.json is missing"),
    ("metadata-malformed", lambda f: (f / "metadata.json").write_text('{"model_name": "x",'), "malformed JSON"),
    ("metadata-not-object", lambda f: (f / "metadata.json").write_text("[1, 2]"), "must be a JSON object"),
    ("metadata-non-utf8", lambda f: (f / "metadata.json").write_bytes(b'{"model_name": "\xff"}'), "not UTF-8"),
    ("metadata-oversized", lambda f: os.truncate(f / "metadata.json", 2 * 1024 * 1024), "over the"),
    ("metadata-no-email", lambda f: edit_meta(f, author_email=None), "'author_email' is missing"),
    ("metadata-bad-email", lambda f: edit_meta(f, author_email="me at example.org"), "not an email"),
    ("metadata-bad-date", lambda f: edit_meta(f, date_submitted="2026-01-31"), "not MM-DD-YYYY"),
    ("metadata-impossible-date", lambda f: edit_meta(f, date_submitted="13-40-2026"), "not a valid MM-DD-YYYY"),
    ("metadata-git-url-string", lambda f: edit_meta(f, git_url="https://github.com/x/y"), "git_url must be a list"),
    ("metadata-model-name-type", lambda f: edit_meta(f, model_name=3), "'model_name' must be a non-empty string"),
    ("metadata-time-not-dict", lambda f: edit_meta(f, time_taken_seconds=12), "time_taken_seconds must be an object"),
    ("run-sh-missing", lambda f: (f / "run.sh").unlink(), "run.sh is missing"),
    ("run-sh-non-utf8", lambda f: (f / "run.sh").write_bytes(b"echo \xff\xfe\n"), "not UTF-8"),
    ("ds-store", lambda f: (f / ".DS_Store").write_bytes(b"\x00\x01"), "stray hidden file"),
    ("stray-folder", lambda f: (f / "__MACOSX").mkdir(), "stray folder"),
    ("stray-file", lambda f: (f / "predictions.csv").write_text("id,prediction\n"), "stray file"),
    ("symlink", lambda f: (f / "link.md").symlink_to(f / "README.md"), "symbolic links"),
    ("no-csv-zip", lambda f: [p.unlink() for p in f.glob("*.csv.zip")], "no .csv.zip files"),
]


@pytest.mark.parametrize("mutate,expected", [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_broken_folder_is_rejected(folder, mutate, expected):
    mutate(folder)
    result = invoke("--no-scores", str(folder))
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    assert "INVALID" in result.output


def test_valid_base_folder_passes(folder):
    result = invoke("--no-scores", str(folder))
    assert result.exit_code == 0, result.output
    assert "VALID: 1 folder(s), 0 error(s)" in result.output
    assert "incomplete AtomGenBench set" not in result.output  # only dft_3d: alex is simply absent


def test_errors_name_file_and_row(folder):
    rewrite_csv(folder / MAE_A, lambda t: replace_row(t, 5, "abc"))
    data = json.loads(invoke("--no-scores", "--json", str(folder)).output)
    assert data["valid"] is False
    [err] = data["errors"]
    assert err["file"] == str(folder / MAE_A) and err["row"] == 6
    assert set(data) >= {"valid", "errors", "warnings", "scores"}


def test_json_is_valid_and_reports_warnings(folder):
    edit_meta(folder, time_taken_seconds={"AI-Other-x-y-test-mae.csv.zip": ""})
    result = invoke("--no-scores", "--json", str(folder))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["valid"] is True and data["errors"] == [] and data["scores"] == {}
    assert any("not in this folder" in w["message"] for w in data["warnings"])


def test_mae_disagreeing_with_structures_warns(folder):
    rewrite_csv(folder / MAE_A, lambda t: replace_row(t, 5, "99.0"))
    result = invoke("--no-scores", str(folder))
    assert result.exit_code == 0
    assert "differ by more than 0.0002" in result.output


def test_crlf_is_a_warning(folder):
    rewrite_csv(folder / MAE_A, lambda t: t.replace("\n", "\r\n"))
    result = invoke("--no-scores", str(folder))
    assert result.exit_code == 0, result.output
    assert "CRLF" in result.output


def test_tree_with_stray_file_in_contributions(base_folder, tmp_path):
    tree = tmp_path / "jarvis_leaderboard"
    shutil.copytree(base_folder, tree / "contributions" / "good")
    (tree / "contributions" / RMSE).write_bytes(b"loose")
    result = invoke("--no-scores", str(tree))
    assert result.exit_code == 1
    assert "contributions/ may hold folders only" in result.output
    assert "good" in json.loads(invoke("--no-scores", "--json", str(tree)).output)["folders"][0]


def test_usage_errors_exit_2(tmp_path):
    assert invoke(str(tmp_path / "missing")).exit_code == 2
    assert invoke().exit_code == 2
    assert invoke("--workers", "0", str(tmp_path)).exit_code == 2


@pytest.mark.slow
def test_legacy_contributions_fail_on_id_mismatch(mirror):
    tree = mirror / "legacy_2023" / "jarvis_leaderboard"
    result = invoke("--no-scores", "--json", str(tree))
    assert result.exit_code == 1
    data = json.loads(result.output)
    id_errors = [e for e in data["errors"] if "ids do not match" in e["message"]]
    assert {Path(e["file"]).parent.name for e in id_errors} == {"atomgpt_model", "cdvae_model"}
    for err in id_errors:
        assert Path(err["file"]).name == RMSE
        assert "105 test ids" in err["message"] and "96 missing" in err["message"]
        assert "96 not in the test split" in err["message"]


def test_real_contributions_only_lack_run_sh_in_the_mirror(contributions):
    """The mirror keeps only data files; upstream folders also have run.sh (its absence is an error)."""
    data = json.loads(invoke("--no-scores", "--json", str(contributions.parent)).output)
    assert len(data["folders"]) == 3
    assert {e["message"] for e in data["errors"]} == {"run.sh is missing (the leaderboard requires it)"}


def test_in_process_never_raises_on_hostile_zip(folder):
    """A zip whose central directory claims a small size but whose stream is larger is still caught."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(RMSE[:-4], b"id,target,prediction\n")
    raw = bytearray(buf.getvalue())
    raw[30 + len(RMSE[:-4]) : 30 + len(RMSE[:-4]) + 4] = b"\x00\x00\x00\x00"  # corrupt the data: CRC mismatch
    (folder / RMSE).write_bytes(bytes(raw))
    result = invoke("--no-scores", str(folder))
    assert result.exit_code == 1
    assert RMSE in result.output


def test_leaderboard_env_needs_scores(folder):
    result = invoke("--no-scores", "--leaderboard-env", str(folder))
    assert result.exit_code == 2 and "--leaderboard-env" in result.output


def test_json_records_versions_and_the_leaderboard_revision(folder):
    data = json.loads(invoke("--no-scores", "--json", str(folder)).output)
    versions = data["versions"]
    assert {"atomgenbench", "python", "pymatgen", "numpy", "scipy", "spglib", "jarvis-tools"} <= set(versions)
    assert versions["leaderboard_revision"] == "atomgptlab/jarvis_leaderboard@7fbfa84ad19c95873112fc572ef877d7e349a3f3"
    assert data["published"] == {}


@pytest.mark.slow
def test_files_without_errors_are_scored_in_an_invalid_folder(folder):
    """A folder-level error (no run.sh) does not change a file's number: it is scored, the verdict stays invalid."""
    (folder / "run.sh").unlink()
    rewrite_csv(folder / MAE_A, lambda t: replace_row(t, 5, "abc"))  # this file has an error: not scored
    result = invoke("--json", "--workers", "2", str(folder))
    assert result.exit_code == 1
    data = json.loads(result.output)
    scores = {Path(k).name: v for k, v in data["scores"].items()}
    assert MAE_A not in scores and len(scores) == 6
    rmse = scores[RMSE]
    assert (rmse["value"], rmse["n_matched"], rmse["value_from"]) == (0.3734, 44, "current environment")
    env = rmse["leaderboard_env"]
    assert env["leaderboard"] is None and "--leaderboard-env" in env["note"] and "pymatgen" in env["note"]
    rows = env["borderline"]["rows"]
    assert rows and all(set(r) == {"id", "matched", "rms", "rms_moved_tolerances", "why"} for r in rows)
    assert all((r["rms"] is None) != (r["rms_moved_tolerances"] is None) for r in rows)  # decision flips
    text = invoke("--workers", "2", str(folder)).output
    assert "Scores of the files without errors:" in text and "borderline row(s)" in text
    assert "pass --leaderboard-env" in text.lower()


def test_a_template_run_sh_is_a_warning(folder):
    from atomgenbench.benchmarks.atomgen.predictions import Predictions
    from atomgenbench.evaluator.submission.package import run_sh_text

    (folder / "run.sh").write_text(run_sh_text({"dft_3d_Tc_supercon": Predictions("dft_3d_Tc_supercon", "m", {})}))
    data = json.loads(invoke("--no-scores", "--json", str(folder)).output)
    assert data["valid"] is True
    assert any("run.sh is still package's template" in w["message"] for w in data["warnings"]), data["warnings"]


def test_a_forged_structure_target_is_a_warning(folder):
    """The target column of a structure file must be the benchmark's POSCAR; another one is a warning."""

    def forge(text: str) -> str:
        lines = text.split("\n")
        key, target, pred = lines[4].split(",")
        lines[4] = ",".join((key, target.replace("1.0", "2.0", 1), pred))
        return "\n".join(lines)

    rewrite_csv(folder / RMSE, forge)
    data = json.loads(invoke("--no-scores", "--json", str(folder)).output)
    assert data["valid"] is True
    found = [w for w in data["warnings"] if "target structures differ from the benchmark's" in w["message"]]
    assert (
        len(found) == 1 and found[0]["message"].startswith("1 target structures") and "(line 5)" in found[0]["message"]
    )
