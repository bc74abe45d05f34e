"""The evaluate / compare command-line contract."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli

DFT = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
#: a valid one-atom helium cell: parses, never matches a benchmark crystal
PLACEHOLDER = "He\\n1.0\\n3.0 0.0 0.0\\n0.0 3.0 0.0\\n0.0 0.0 3.0\\nHe \\n1 \\ndirect\\n0.0 0.0 0.0 He\\n"


def _test_ids(name: str = "dft_3d_Tc_supercon") -> list[str]:
    from atomgenbench.benchmarks.atomgen.dataset import test_ids

    return test_ids(name)


def _escaped_targets(ids: list[str], name: str = "dft_3d_Tc_supercon") -> list[str]:
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    return [str(load_splits(name)["test"][i]) for i in ids]


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
            "--legacy-anonymous",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["settings"]["legacy_anonymous"] is True
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


@pytest.mark.slow
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
    table = (out / "comparison.md").read_text()
    assert "| RMSE, matched only (dimensionless) `rmse` | lower |" in table and "Direction." not in table
    assert (out / "cdvae" / "metrics.json").is_file()
    from atomgenbench.core.io import default_file_mode

    for name in ("comparison.md", "comparison.json", "rmse_bars.png", "cdvae/metrics.json"):
        assert (out / name).stat().st_mode & 0o777 == default_file_mode(), name


def test_evaluate_folder_for_lattice_benchmark_and_unwritable_out_are_clean(tmp_path):
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "predictions.csv").write_text("id,prediction\nJVASP-1,\n")
    res = CliRunner().invoke(cli, ["evaluate", str(folder), "-b", "dft_3d_Tc_supercon_a"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "is a folder" in res.output
    one = tmp_path / "one.csv"
    one.write_text(f"id,target,prediction\n{_test_ids()[0]},x,{PLACEHOLDER}\n")
    (tmp_path / "afile").write_text("")
    res = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(one),
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


def test_predictions_sharing_no_id_are_an_error_naming_counts_and_examples(tmp_path, contributions):
    """The alex file scored as dft_3d: no id in common -> exit 1, both counts, three ids of each."""
    alex = contributions / "atomgpt_invatoms" / "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip"
    for args in (
        ["evaluate", str(alex), "-b", "dft_3d_Tc_supercon", "--no-figures"],
        ["compare", str(contributions / "cdvae_invatoms" / DFT), str(alex), "-b", "dft_3d_Tc_supercon", "-o", "x"],
    ):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1, res.output
        message = res.output
        assert "none of its 825 ids is one of the 105 test ids of dft_3d_Tc_supercon" in message, message
        ids = _test_ids()
        assert f"test ids: {ids[0]}, {ids[1]}, {ids[2]}, ..." in message
        assert message.count("agm") >= 3 and "--benchmark" in message
        assert "RMSE" not in message and "Traceback" not in message
    lattice = contributions / "atomgpt_invatoms" / "AI-AtomGen-Tc_a-alex_supercon-test-mae.csv.zip"
    res = CliRunner().invoke(cli, ["evaluate", str(lattice), "-b", "dft_3d_Tc_supercon_a"])
    assert res.exit_code == 1 and "none of its 825 ids" in res.output, res.output


def test_partial_overlap_warns_and_summary_prints_four_decimals_or_na(tmp_path):
    ids = _test_ids()
    exact = tmp_path / "exact.csv"
    rows = [f"{k},x,{t}" for k, t in zip(ids[:3], _escaped_targets(ids[:3]))] + ["JVASP-0,x,"]
    exact.write_text("id,target,prediction\n" + "\n".join(rows) + "\n")
    res = CliRunner().invoke(cli, ["evaluate", str(exact), "-b", "dft_3d_Tc_supercon", "--n-bootstrap", "0", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "warning: " in res.output and "3 of the 105 test ids of dft_3d_Tc_supercon have a prediction" in res.output
    assert "102 are missing" in res.output and "1 ids are not in the test split and are ignored (e.g. JVASP-0)" in (
        res.output
    )
    assert "RMSE 0.0000 (matched 3/105" in res.output and "RMSE 0.0 " not in res.output
    assert "Niggli MAE: a 0.0000" in res.output
    unmatched = tmp_path / "unmatched.csv"
    unmatched.write_text(f"id,target,prediction\n{ids[0]},x,{PLACEHOLDER}\n")
    res = CliRunner().invoke(
        cli, ["evaluate", str(unmatched), "-b", "dft_3d_Tc_supercon", "--n-bootstrap", "0", "-j", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "RMSE n/a (0 matched) (matched 0/105" in res.output and "None" not in res.output


def test_output_files_honour_the_umask(tmp_path):
    """metrics.json, report.md, rows.csv and figures get 0o666 & ~umask, not the 0600 of temp files."""
    import os

    ids = _test_ids()
    pred = tmp_path / "p.csv"
    pred.write_text(f"id,target,prediction\n{ids[0]},x,{_escaped_targets(ids[:1])[0]}\n")
    old = os.umask(0o027)
    try:
        res = CliRunner().invoke(
            cli, ["evaluate", str(pred), "-b", "dft_3d_Tc_supercon", "--n-bootstrap", "0", "-o", str(tmp_path / "o")]
        )
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    written = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "o").iterdir()}
    assert {"metrics.json", "report.md", "rows.csv", "lattice_histograms.png"} <= set(written)
    assert set(written.values()) == {0o640}, {k: oct(v) for k, v in written.items()}


@pytest.mark.parametrize("workers", ["0", "-3", "many"])
def test_workers_option_rejects_bad_values(workers, contributions):
    args = ["compare", str(contributions / "cdvae_invatoms" / DFT), "-o", "x", "--workers", workers]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "--workers" in res.output and "auto" in res.output, res.output


def test_workers_default_to_the_available_cores():
    import os

    from atomgenbench.cli.options import WorkersType
    from atomgenbench.core.executors import available_cores

    assert available_cores() == len(os.sched_getaffinity(0))
    assert WorkersType().convert("auto", None, None) == available_cores()
    assert WorkersType(0).convert("0", None, None) == 0
    ctx = click.Context(cli)
    for name in ("evaluate", "compare", "validate", "reproduce"):
        (option,) = [p for p in cli.get_command(ctx, name).params if p.name == "workers"]
        assert option.default == "auto" and isinstance(option.type, WorkersType), name


@pytest.mark.slow
def test_results_do_not_depend_on_the_worker_count(contributions, tmp_path):
    """AtomGPT's dft_3d file (105 pairs, chunked over the workers): one worker and all cores give identical outputs."""
    source = contributions / "atomgpt_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    outs = {}
    for workers in ("1", "auto"):
        outs[workers] = tmp_path / workers
        res = CliRunner().invoke(
            cli,
            ["evaluate", str(source), "-j", workers, "--n-bootstrap", "50", "--no-figures", "-o", str(outs[workers])],
        )
        assert res.exit_code == 0, res.output
    one, auto = (json.loads((outs[w] / "metrics.json").read_text()) for w in ("1", "auto"))
    assert one == auto and one["rmse"]["n_matched"] == 31 and one["rmse"]["leaderboard_value"] == 0.1001
    assert (outs["1"] / "rows.csv").read_bytes() == (outs["auto"] / "rows.csv").read_bytes()


def test_species_blind_rmse_is_opt_in(contributions):
    res = _run(["evaluate", str(contributions / "flowmm_invatoms" / DFT), "--json", "-j", "2", "--n-bootstrap", "20"])
    m = json.loads(res.stdout)
    assert "rmse_anonymous" not in m and m["settings"]["legacy_anonymous"] is False
    assert m["rmse"]["n_matched"] == 5  # the leaderboard number does not depend on it
