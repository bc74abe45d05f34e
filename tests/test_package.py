"""``atomgenbench package``: file set, zip layout, targets, lattice floats, metadata, failures, safety."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.registry import get_spec, lattice_specs
from atomgenbench.benchmarks.atomgen.structures import jarvis_lattice_params, parse_poscar, unescape
from atomgenbench.cli import cli

RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
META = [
    "--model-name",
    "My Model",
    "--author-email",
    "me@example.org",
    "--project-url",
    "https://example.org",
    "--git-url",
    "https://github.com/me/model",
    "--date-submitted",
    "01-31-2026",
]


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    result = runner.invoke(cli, ["package", *args], catch_exceptions=True)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"package crashed: {result.exception!r}\n{result.output}")
    return result


def members(path: Path) -> tuple[list[zipfile.ZipInfo], str]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        return infos, zf.read(infos[0]).decode()


@pytest.fixture
def dft_input(contributions) -> Path:
    return contributions / "flowmm_invatoms" / RMSE


@pytest.fixture
def packaged(dft_input, tmp_path) -> Path:
    out = tmp_path / "my_model"
    result = invoke("--dft-3d", str(dft_input), "--out", str(out), *META)
    assert result.exit_code == 0, result.output
    return out


def test_single_dataset_gives_seven_files(packaged):
    files = sorted(p.name for p in packaged.iterdir())
    expected = sorted(
        [
            get_spec("dft_3d_Tc_supercon").leaderboard_file,
            *(s.leaderboard_file for s in lattice_specs("dft_3d_Tc_supercon")),
            "metadata.json",
            "run.sh",
            "README.md",
        ]
    )
    assert files == expected


def test_zip_layout_and_rows(packaged):
    test = load_splits("dft_3d_Tc_supercon")["test"]
    infos, text = members(packaged / RMSE)
    assert [i.filename for i in infos] == [RMSE[:-4]] and infos[0].compress_type == zipfile.ZIP_DEFLATED
    assert "\r" not in text and text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert lines[0] == "id,target,prediction"
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == list(test)
    for key, target, pred in rows:
        assert target == test[key]  # the benchmark's own string, as stored
        assert "\n" not in pred and pred.startswith("System\\n1.0\\n")
        parse_poscar(pred)


def test_lattice_files_are_raw_jarvis_params_of_the_structures(packaged):
    _, text = members(packaged / RMSE)
    preds = {r.split(",")[0]: r.split(",")[2] for r in text.split("\n")[1:-1]}
    for i, spec in enumerate(lattice_specs("dft_3d_Tc_supercon")):
        _, ltext = members(packaged / spec.leaderboard_file)
        truth = load_splits(spec.name)["test"]
        for line in ltext.split("\n")[1:-1]:
            key, target, pred = line.split(",")
            assert float(target) == truth[key]
            assert float(pred) == jarvis_lattice_params(preds[key])[i]


def test_metadata_and_run_sh(packaged, dft_input):
    meta = json.loads((packaged / "metadata.json").read_text())
    assert meta["model_name"] == "My Model" and meta["team_name"] == "My Model"
    assert meta["git_url"] == ["https://github.com/me/model"] and meta["date_submitted"] == "01-31-2026"
    assert set(meta["time_taken_seconds"]) == {p.name for p in packaged.glob("*.csv.zip")}
    for key in ("software_used", "hardware_used", "database_version", "language", "os", "author_email", "project_url"):
        assert isinstance(meta[key], str) and meta[key]
    run_sh = (packaged / "run.sh").read_text()
    assert run_sh.startswith("#!/usr/bin/env bash") and "atomgenbench package --dft-3d" in run_sh
    assert str(dft_input) in run_sh
    assert (packaged / "run.sh").stat().st_mode & 0o111


def test_validate_accepts_the_package(packaged):
    result = CliRunner().invoke(cli, ["validate", "--no-scores", str(packaged)])
    assert result.exit_code == 0, result.output


def test_refuses_to_overwrite_without_force(packaged, dft_input):
    before = (packaged / "metadata.json").read_text()
    result = invoke("--dft-3d", str(dft_input), "--out", str(packaged), *META[:-2], "--date-submitted", "02-01-2026")
    assert result.exit_code == 1 and "--force" in result.output
    assert (packaged / "metadata.json").read_text() == before
    result = invoke(
        "--dft-3d", str(dft_input), "--out", str(packaged), *META[:-2], "--date-submitted", "02-01-2026", "--force"
    )
    assert result.exit_code == 0
    assert json.loads((packaged / "metadata.json").read_text())["date_submitted"] == "02-01-2026"
    assert [p.name for p in packaged.parent.iterdir()] == ["my_model"]  # no temp folders left behind


def _predictions_with_failures(tmp_path: Path, contributions: Path) -> Path:
    from atomgenbench.evaluator.inputs import load_predictions

    preds = load_predictions(contributions / "cdvae_invatoms" / RMSE, "dft_3d_Tc_supercon")
    ids = list(preds.structures)
    preds.structures[ids[0]] = ""
    preds.failures[ids[0]] = "sampler diverged"
    preds.structures[ids[1]] = "not a poscar"
    del preds.structures[ids[2]]
    out = tmp_path / "preds"
    Predictions("dft_3d_Tc_supercon", "cdvae", preds.structures, preds.failures).write(out)
    return out


def test_failures_are_refused_with_ids(tmp_path, contributions):
    src = _predictions_with_failures(tmp_path, contributions)
    out = tmp_path / "sub"
    result = invoke("--dft-3d", str(src), "--out", str(out), *META)
    assert result.exit_code == 1
    test = list(load_splits("dft_3d_Tc_supercon")["test"])
    assert "3 of 105 test ids have no usable prediction" in result.output
    assert all(i in result.output for i in test[:3]) and "sampler diverged" in result.output
    assert "--fill-failures" in result.output and not out.exists()


def test_fill_failures_writes_recorded_placeholders(tmp_path, contributions):
    src = _predictions_with_failures(tmp_path, contributions)
    out = tmp_path / "sub"
    assert invoke("--dft-3d", str(src), "--out", str(out), "--fill-failures", *META).exit_code == 0
    test = list(load_splits("dft_3d_Tc_supercon")["test"])
    meta = json.loads((out / "metadata.json").read_text())
    assert list(meta["failed_predictions"]["dft_3d_Tc_supercon"]) == test[:3]
    assert "3 failed predictions" in (out / "README.md").read_text()
    assert "--fill-failures" in (out / "run.sh").read_text()
    _, text = members(out / RMSE)
    placeholder = text.split("\n")[1].split(",")[2]
    assert parse_poscar(placeholder).composition.reduced_formula == "He"
    result = CliRunner().invoke(cli, ["validate", "--no-scores", str(out)])
    assert result.exit_code == 0 and "3 of 105 rows are placeholders" in result.output


def test_extra_ids_are_refused(tmp_path, contributions):
    src = tmp_path / "p"
    Predictions(
        "dft_3d_Tc_supercon", "x", {"JVASP-1": unescape(load_splits("dft_3d_Tc_supercon")["test"]["JVASP-20570"])}
    ).write(src)
    result = invoke("--dft-3d", str(src), "--out", str(tmp_path / "sub"), "--fill-failures", *META)
    assert result.exit_code == 1 and "not test ids" in result.output and "JVASP-1" in result.output


def test_metadata_file_and_bad_metadata(tmp_path, dft_input):
    meta_file = tmp_path / "meta.yaml"
    meta_file.write_text(
        "model_name: FromFile\nauthor_email: a@b.org\nproject_url: https://p.org\n"
        "git_url: https://github.com/a/b\nhardware_used: 1 CPU\n"
    )
    out = tmp_path / "from_file"
    assert invoke("--dft-3d", str(dft_input), "--metadata", str(meta_file), "--out", str(out)).exit_code == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model_name"] == "FromFile" and meta["git_url"] == ["https://github.com/a/b"]
    bad = invoke(
        "--dft-3d",
        str(dft_input),
        "--out",
        str(tmp_path / "bad"),
        "--model-name",
        "X",
        "--author-email",
        "nobody",
        "--project-url",
        "https://p.org",
        "--date-submitted",
        "2026-01-31",
    )
    assert bad.exit_code == 1 and "not an email" in bad.output and "MM-DD-YYYY" in bad.output
    assert not (tmp_path / "bad").exists()


def test_default_output_folder_and_usage_errors(tmp_path, dft_input, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("--dft-3d", str(dft_input), *META).exit_code == 0
    assert (tmp_path / "submissions" / "my_model" / RMSE).is_file()
    assert invoke(*META).exit_code == 2  # no predictions
    assert invoke("--dft-3d", str(dft_input)).exit_code == 2  # no model name


def test_unwritable_output_folder_is_a_clean_error(tmp_path, dft_input):
    (tmp_path / "afile").write_text("")
    result = invoke("--dft-3d", str(dft_input), "--out", str(tmp_path / "afile" / "pkg"), *META)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "cannot write the contribution folder" in result.output
