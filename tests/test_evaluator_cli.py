"""The evaluate / compare command-line contract."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli

DFT = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_evaluate_json_keys_and_outputs(contributions, tmp_path):
    res = _run(
        [
            "evaluate",
            str(contributions / "flowmm_invatoms" / DFT),
            "--json",
            "-j",
            "2",
            "--n-bootstrap",
            "50",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["schema_version"] == 1 and m["benchmark"] == "dft_3d_Tc_supercon"
    assert (m["n_total"], m["n_parsed"]) == (105, 105)
    assert m["rmse"]["leaderboard_value"] == 0.3211 and round(m["rmse"]["value"], 4) == 0.3211
    assert m["rmse"]["n_matched"] == 5 and m["rmse"]["match_rate"] == pytest.approx(5 / 105)
    anon = m["rmse_anonymous"]
    assert anon["value"] is not None and 0.0 <= anon["value"] <= 0.5  # capped at stol
    assert anon["n_matched"] >= m["rmse"]["n_matched"]  # species-blind admits every species-aware match
    assert anon["function"] == "get_rms_anonymous"
    for section in ("mae", "mae_raw", "kld", "kld_paired"):
        assert set(m[section]) == {"a", "b", "c", "alpha", "beta", "gamma"}
        assert all("value" in v and "n" in v for v in m[section].values())
    assert m["kld"]["a"]["bins"] == 20 and m["kld"]["a"]["epsilon"] == 0.5
    assert m["versions"]["pymatgen"]
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"metrics.json", "report.md", "rows.csv", "lattice_histograms.png"} <= files
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == m
    assert not any(name.endswith(".tmp") for name in files)


def test_evaluate_lattice_file(contributions):
    res = _run(
        [
            "evaluate",
            str(contributions / "atomgpt_invatoms" / "AI-AtomGen-Tc_gamma-alex_supercon-test-mae.csv.zip"),
            "--json",
        ]
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["benchmark"] == "alex_supercon_Tc_gamma" and m["n_total"] == 825
    assert m["mae"]["value"] == 11.2958


def test_evaluate_user_errors_are_clean(tmp_path, contributions):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,target,prediction\nJVASP-1,x,y\nJVASP-1,x,y\n")
    res = CliRunner().invoke(cli, ["evaluate", str(bad), "--benchmark", "dft_3d_Tc_supercon"])
    assert res.exit_code != 0 and "row 3: duplicate id" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["evaluate", str(bad)])
    assert res.exit_code != 0 and "--benchmark" in res.output
    res = CliRunner().invoke(cli, ["evaluate", str(bad), "-b", "nope"])
    assert res.exit_code != 0 and "unknown benchmark" in res.output


@pytest.mark.parametrize("meta", [b"[]", b'{"failures": ["JVASP-1"]}', b"\xff\xfe"])
def test_evaluate_malformed_predictions_json_is_a_clean_error(tmp_path, meta):
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "predictions.csv").write_text("id,prediction\nJVASP-1,\n")
    (folder / "predictions.json").write_bytes(meta)
    res = CliRunner().invoke(cli, ["evaluate", str(folder), "-b", "dft_3d_Tc_supercon", "--no-figures"])
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit), res.exception
    assert "predictions.json" in res.output


def test_compare_writes_table_and_figures(contributions, tmp_path):
    out = tmp_path / "cmp"
    res = _run(
        [
            "compare",
            str(contributions / "cdvae_invatoms" / DFT),
            str(contributions / "atomgpt_invatoms" / DFT),
            "--out",
            str(out),
            "-j",
            "2",
            "--n-bootstrap",
            "50",
            "--labels",
            "cdvae,atomgpt",
        ]
    )
    assert res.exit_code == 0, res.output
    comp = json.loads((out / "comparison.json").read_text())
    assert comp["labels"] == ["cdvae", "atomgpt"] and comp["reference"] == "cdvae"
    assert round(comp["table"]["atomgpt"]["rmse"], 4) == 0.1001
    d = comp["paired_differences"]["atomgpt"]["rmse"]
    assert d["diff"] == pytest.approx(comp["table"]["atomgpt"]["rmse"] - comp["table"]["cdvae"]["rmse"])
    assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
    for name in ("kld_bars.png", "mae_bars.png", "rmse_bars.png", "comparison.md"):
        assert (out / name).is_file()
    assert (out / "cdvae" / "metrics.json").is_file()


def test_evaluate_folder_for_lattice_benchmark_and_unwritable_out_are_clean(tmp_path):
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "predictions.csv").write_text("id,prediction\nJVASP-1,\n")
    res = CliRunner().invoke(cli, ["evaluate", str(folder), "-b", "dft_3d_Tc_supercon_a"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "is a folder" in res.output
    empty = tmp_path / "empty.csv"
    empty.write_text("id,target,prediction\n")
    (tmp_path / "afile").write_text("")
    res = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(empty),
            "-b",
            "dft_3d_Tc_supercon",
            "--n-bootstrap",
            "0",
            "--no-figures",
            "-o",
            str(tmp_path / "afile" / "out"),
        ],
    )
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "cannot write outputs" in res.output


@pytest.mark.parametrize("labels", ["x,", "x,../y", "x,a/b"])
def test_compare_labels_that_are_not_folder_names_are_refused(tmp_path, labels):
    empty = tmp_path / "empty.csv"
    empty.write_text("id,target,prediction\n")
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(empty),
            str(empty),
            "-b",
            "dft_3d_Tc_supercon",
            "-o",
            str(tmp_path / "cmp"),
            "--labels",
            labels,
        ],
    )
    assert res.exit_code == 2, res.output
    assert "--labels" in res.output and not (tmp_path / "cmp").exists()
