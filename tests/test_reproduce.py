"""`atomgenbench reproduce` end to end with the baselines (models have their own smoke tests)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli

# slow: every test drives reproduce end to end (a shared ~20 s module fixture, built in one xdist worker)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reproduce")]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    args = [
        "reproduce",
        "--preset",
        "quick",
        "--models",
        "none",
        "--baselines",
        "oracle,prior,nearest",
        "--benchmarks",
        "dft_3d_Tc_supercon",
        "--out",
        str(out),
        "--n-bootstrap",
        "50",
        "--no-progress",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out, args, result.output


def test_report_tables_and_figures(reproduced):
    out, _, output = reproduced
    assert "validation: all folders valid" in output
    report = (out / "report.md").read_text()
    assert "## dft_3d_Tc_supercon (105 test crystals)" in report
    # oracle row: everything matched with zero error; published rows labelled as such
    assert "| oracle | 105/105 | 105 | 1.000" in report
    assert "| published: cdvae_invatoms (leaderboard env) | – | 44 | 0.419 | 0.3734" in report
    assert "Hardware:" in report and "Command: `" in report
    for fig in ("kld_bars.png", "mae_bars.png", "rmse_bars.png"):
        assert (out / "report" / "dft_3d_Tc_supercon" / fig).stat().st_size > 1000
        assert f"report/dft_3d_Tc_supercon/{fig}" in report


def test_packaged_folders_match_report(reproduced):
    """The report's numbers are the evaluation of the packaged leaderboard file."""
    from atomgenbench.evaluator.leaderboard.score import score_leaderboard_file

    out, _, _ = reproduced
    folder = out / "submissions" / "atomgenbench-nearest-quick"
    assert not (out / "submissions" / "atomgenbench-oracle-quick").exists()  # oracle is never packaged
    assert len(list(folder.glob("*.csv.zip"))) == 7
    metrics = json.loads((out / "eval" / "dft_3d_Tc_supercon" / "nearest" / "metrics.json").read_text())
    score = score_leaderboard_file(folder / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip")
    assert score.n_matched == metrics["rmse"]["n_matched"]
    assert score.value == pytest.approx(metrics["rmse"]["leaderboard_value"], abs=1e-12)
    a_file = folder / "AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip"
    assert score_leaderboard_file(a_file).value == pytest.approx(round(metrics["mae_raw"]["a"]["value"], 4), abs=1e-4)


def test_rerun_skips_finished_stages(reproduced):
    out, args, _ = reproduced
    before = json.loads((out / "stages.json").read_text())
    metrics = out / "eval" / "dft_3d_Tc_supercon" / "prior" / "metrics.json"
    mtime = metrics.stat().st_mtime_ns
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    after = json.loads((out / "stages.json").read_text())
    assert metrics.stat().st_mtime_ns == mtime
    key = "evaluate/prior/dft_3d_Tc_supercon"
    assert after[key] == before[key]


def test_empty_selection_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["reproduce", "--models", "none", "--baselines", "none", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "nothing to run" in result.output


def test_unknown_model_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["reproduce", "--models", "gpt5", "--baselines", "none", "--out", str(tmp_path), "--no-progress"]
    )
    assert result.exit_code == 2
    assert "unknown model 'gpt5'" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["reproduce", "--models", "cdvea", "--baselines", "none", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown model 'cdvea' (did you mean 'cdvae'?)" in result.output
    result = CliRunner().invoke(cli, ["reproduce", "--preset", "quik", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "(did you mean 'quick'?)" in result.output


def test_stage_results_are_json_and_round_trip(reproduced):
    """The compare stage reads JSON (no pickles); from_state rebuilds an equal result."""
    from atomgenbench.evaluator.metrics.compare import compare
    from atomgenbench.evaluator.metrics.results import EvaluationResult
    from atomgenbench.workflows.evaluation import RESULT_FILE, read_result

    out, _, _ = reproduced
    assert not list(out.rglob("*.pkl"))
    path = out / "eval" / "dft_3d_Tc_supercon" / "nearest" / RESULT_FILE
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert doc["source"].endswith("AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip")
    result = read_result(path.parent)
    metrics = json.loads((path.parent / "metrics.json").read_text())
    again = result.to_json()
    assert {k: v for k, v in again.items() if k != "versions"} == {
        k: v for k, v in metrics.items() if k not in ("versions", "leaderboard_env")
    }
    assert len(result.records) == 105 and isinstance(result.records[0].niggli_target, tuple)
    assert EvaluationResult.from_state(result.to_state()).to_state() == doc["result"]
    comp = json.loads((out / "report" / "dft_3d_Tc_supercon" / "comparison.json").read_text())
    results = {lab: read_result(path.parent.parent / lab) for lab in comp["labels"]}
    assert compare(results, n_boot=50, seed=0).to_json() == comp


def test_stage_result_refuses_anything_else(tmp_path):
    from atomgenbench.workflows.evaluation import RESULT_FILE, read_result
    from atomgenbench.workflows.reproduce import _readable

    doc = {"source": "x", "result": {"__dataclass__": "subprocess:Popen", "fields": {}}}
    (tmp_path / RESULT_FILE).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="not an atomgenbench evaluation result"):
        read_result(tmp_path)
    assert not _readable(tmp_path)
