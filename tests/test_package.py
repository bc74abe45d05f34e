"""``atomgenbench package``: file set, zip layout, targets, lattice floats, metadata, failures, safety."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import yaml
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
    assert run_sh.startswith("#!/usr/bin/env bash")
    assert str(dft_input.parent) not in run_sh and str(packaged) not in run_sh  # no packager's local paths
    # imported predictions: a template to fill in, which stops rather than packaging nothing
    assert "made outside atomgenbench's runners" in run_sh and "exit 1" in run_sh
    # atomgenbench is not on the registry: the base package comes from the project's repository
    assert "pip install 'atomgenbench @ git+https://github.com/atomgenbench/atomgenbench'\n" in run_sh
    assert (
        "atomgenbench package --dft-3d runs/dft_3d_Tc_supercon --out reproduced/my_model --force "
        '--metadata "$HERE/metadata.json"' in run_sh
    )
    assert (packaged / "run.sh").stat().st_mode & 0o111
    assert (packaged / "README.md").read_text().startswith("# My Model\n")


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
    from atomgenbench.evaluator.inputs.load import load_predictions

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


# --- folders that stand on their own: run.sh, README, time_taken_seconds --------------------------


@pytest.fixture(scope="module")
def nearest_run(tmp_path_factory) -> Path:
    """A real run of our `nearest` baseline (smoke preset, seconds) on dft_3d_Tc_supercon."""
    from atomgenbench.runners.api import run

    out = tmp_path_factory.mktemp("local-runs") / "deep" / "nearest"
    run("nearest", "dft_3d_Tc_supercon", "smoke", out, seed=3, progress=False)
    return out


@pytest.mark.slow
def test_run_sh_of_our_runner_rebuilds_the_folder(nearest_run, tmp_path):
    """run.sh states the exact `atomgenbench run` line; executed elsewhere it rebuilds identical files."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "pkg" / "nearest_smoke"
    assert invoke("--dft-3d", str(nearest_run), "--out", str(folder), *META).exit_code == 0
    run_sh = (folder / "run.sh").read_text()
    assert (
        "atomgenbench run nearest --benchmark dft_3d_Tc_supercon --preset smoke --seed 3 "
        "--out runs/dft_3d_Tc_supercon\n" in run_sh
    )
    assert str(nearest_run.parent) not in run_sh and str(tmp_path) not in run_sh
    assert "pip install torch==2.13.0 && pip install 'atomgenbench[models]'" in run_sh

    # run it from an unrelated folder; `pip` is a stand-in (the toolkit is installed already)
    work, shims = tmp_path / "elsewhere", tmp_path / "shims"
    work.mkdir()
    shims.mkdir()
    (shims / "pip").write_text("#!/bin/sh\necho pip stand-in\n")
    (shims / "pip").chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", str(folder / "run.sh")], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = work / "reproduced" / "nearest_smoke"
    for zipped in sorted(folder.glob("*.csv.zip")):
        assert (again / zipped.name).read_bytes() == zipped.read_bytes(), zipped.name
    assert json.loads((again / "metadata.json").read_text())["model_name"] == "My Model"


def test_time_taken_from_recorded_timings_and_option(nearest_run, tmp_path):
    from atomgenbench.benchmarks.atomgen.predictions import Predictions as P

    recorded = P.read(nearest_run).time_taken_seconds
    total = round(sum(recorded.values()), 1)
    out = tmp_path / "timed"
    assert invoke("--dft-3d", str(nearest_run), "--out", str(out), *META).exit_code == 0
    times = json.loads((out / "metadata.json").read_text())["time_taken_seconds"]
    assert set(times) == {p.name for p in out.glob("*.csv.zip")} and set(times.values()) == {total}

    mae_a = lattice_specs("dft_3d_Tc_supercon")[0].leaderboard_file
    result = invoke(
        "--dft-3d", str(nearest_run), "--out", str(out), "--force", "--time-taken", f"{RMSE}=12.5",
        "--time-taken", f"{mae_a}=3", *META,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    times = json.loads((out / "metadata.json").read_text())["time_taken_seconds"]
    assert times[RMSE] == 12.5 and times[mae_a] == 3.0 and sorted(times.values()).count(total) == 5
    result = invoke(
        "--dft-3d", str(nearest_run), "--out", str(out), "--force", "--time-taken", "dft_3d_Tc_supercon=60", *META
    )
    assert set(json.loads((out / "metadata.json").read_text())["time_taken_seconds"].values()) == {60.0}

    bad = invoke("--dft-3d", str(nearest_run), "--out", str(out), "--force", "--time-taken", f"{RMSE[:-1]}=1", *META)
    assert bad.exit_code == 2 and "did you mean" in bad.output and RMSE in bad.output
    assert invoke("--dft-3d", str(nearest_run), "--out", str(out), "--time-taken", "x", *META).exit_code == 2


def test_time_taken_left_empty_is_a_warning(packaged, dft_input, tmp_path):
    meta = json.loads((packaged / "metadata.json").read_text())
    assert set(meta["time_taken_seconds"].values()) == {""}  # imported: no recorded timings
    result = invoke("--dft-3d", str(dft_input), "--out", str(tmp_path / "again"), *META)
    assert result.exit_code == 0
    assert 'warning: again: time_taken_seconds is "" for 7 file(s)' in result.output and "--time-taken" in result.output


def test_run_sh_pins_recorded_parameters_or_overrides(tmp_path):
    import subprocess

    from atomgenbench.evaluator.submission.package import run_sh_text

    base = {"benchmark": "alex_supercon_Tc", "model": "cdvae", "structures": {}, "preset": "cpu", "seed": 1}
    params = {"lr": 0.001, "scratch": {"layers": 2}, "name": "x y"}
    pinned = run_sh_text({"alex_supercon_Tc": Predictions(**base, extra={"params": params})}, name="n")
    assert "cat > run-alex_supercon_Tc.yaml <<'EOF'" in pinned
    assert "--config run-alex_supercon_Tc.yaml --out runs/alex_supercon_Tc" in pinned
    block = pinned.split("<<'EOF'\n")[1].split("\nEOF\n")[0]
    assert yaml.safe_load(block) == {"params": params}  # what `run --config` reads back
    trainer = {"accelerator": "gpu", "devices": 2, "num_nodes": 1, "strategy": "ddp"}
    extra = {"overrides": {"lr": 0.0005, "scratch": {"layers": 2}}, "params": params, "trainer": trainer}
    concise = run_sh_text({"alex_supercon_Tc": Predictions(**base, extra=extra)}, name="n")
    line = next(x for x in concise.splitlines() if x.startswith("atomgenbench run"))
    assert line == (
        "atomgenbench run cdvae --benchmark alex_supercon_Tc --preset cpu --seed 1 --accelerator gpu --devices 2 "
        "--strategy ddp --set lr=0.0005 --set 'scratch={\"layers\": 2}' --out runs/alex_supercon_Tc"
    )
    for text in (pinned, concise):
        script = tmp_path / "run.sh"
        script.write_text(text)
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_reproduce_run_sh_comes_from_the_same_builder():
    """`reproduce`'s run.sh is run_sh_text(commands=...): byte-identical to the committed folders."""
    from atomgenbench.evaluator.submission.package import run_sh_text

    repo = Path(__file__).resolve().parents[1]
    for label in ("atomgpt", "cdvae", "flowmm", "nearest", "prior"):
        kind = "--models" if label in ("atomgpt", "cdvae", "flowmm") else "--baselines"
        other = "--baselines" if kind == "--models" else "--models"
        cmd = ["atomgenbench", "reproduce", "--preset", "cpu", "--seed", "0"]
        pair = {kind: label, other: "none"}
        cmd += ["--models", pair["--models"], "--baselines", pair["--baselines"]]
        cmd += ["--benchmarks", "dft_3d_Tc_supercon,alex_supercon_Tc", "--out", "reproduce-out"]
        committed = (repo / "submissions" / f"atomgenbench-{label}-cpu" / "run.sh").read_text()
        assert run_sh_text(commands=[cmd]) == committed
        readme = (repo / "submissions" / f"atomgenbench-{label}-cpu" / "README.md").read_text()
        assert readme.startswith(f"# atomgenbench-{label}-cpu\n")  # the model name, as the builder titles it


def test_unquoted_yaml_date_is_a_date_and_never_a_python_repr(tmp_path, dft_input):
    meta_file = tmp_path / "meta.yaml"
    base = "model_name: M\nauthor_email: a@b.org\nproject_url: https://p.org\n"
    meta_file.write_text(base + "date_submitted: 2026-01-31\ndatabase_version: 2025-08-08\n")
    out = tmp_path / "dated"
    assert invoke("--dft-3d", str(dft_input), "--metadata", str(meta_file), "--out", str(out)).exit_code == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["date_submitted"] == "01-31-2026" and meta["database_version"] == "08-08-2025"

    meta_file.write_text(base.replace("model_name: M", "model_name: 2026-01-31"))
    bad = invoke("--dft-3d", str(dft_input), "--metadata", str(meta_file), "--out", str(tmp_path / "bad"))
    assert bad.exit_code == 1 and "'model_name' was read as a date (2026-01-31)" in bad.output
    assert "quote it" in bad.output and "datetime" not in bad.output


def test_schema_errors_name_the_field(tmp_path, dft_input):
    meta_file = tmp_path / "meta.yaml"
    meta_file.write_text(
        "model_name: M\nauthor_email: a@b.org\nproject_url: not-a-url\ngit_url: [https://ok.org/x, 'ftp:/y']\n"
        "hardware_used: 1 CPU\nmy_notes: hello\n"
    )
    bad = invoke("--dft-3d", str(dft_input), "--metadata", str(meta_file), "--out", str(tmp_path / "bad"))
    assert bad.exit_code == 1
    assert 'project_url "not-a-url" is not an http(s) URL' in bad.output
    assert 'git_url[1] "ftp:/y" is not an http(s) URL' in bad.output
    meta_file.write_text(
        meta_file.read_text().replace("not-a-url", "https://p.org").replace("'ftp:/y'", "https://b.org")
    )
    ok = invoke("--dft-3d", str(dft_input), "--metadata", str(meta_file), "--out", str(tmp_path / "ok"))
    assert ok.exit_code == 0 and "unknown field(s) 'my_notes'" in ok.output


def test_folder_names_with_capitals_or_spaces(tmp_path, dft_input):
    capitals = invoke("--dft-3d", str(dft_input), "--out", str(tmp_path / "MyModel"), *META)
    assert capitals.exit_code == 0 and "suggested name: 'mymodel'" in capitals.output
    spaces = invoke("--dft-3d", str(dft_input), "--out", str(tmp_path / "My Model v2"), *META)
    assert spaces.exit_code == 1 and "suggested: 'my_model_v2'" in spaces.output
    assert not (tmp_path / "My Model v2").exists()


def test_one_model_label_rule(contributions, nearest_run, tmp_path):
    from atomgenbench.evaluator.inputs.load import model_label

    assert model_label(contributions / "cdvae_invatoms" / RMSE) == "cdvae_invatoms"
    assert model_label(nearest_run / "predictions.csv") == "nearest" and model_label(nearest_run) == "nearest"
    extxyz = tmp_path / "gen_crystals.extxyz"
    extxyz.write_text("")
    assert model_label(extxyz) == "gen_crystals"
