"""Leakage strata (twin / seen-formula / unseen) on real data, and their by_stratum breakdown."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen import strata as strata_module
from atomgenbench.benchmarks.atomgen.check import check_benchmark
from atomgenbench.benchmarks.atomgen.dataset import test_ids
from atomgenbench.benchmarks.atomgen.strata import STRATA, cache_path, strata, twins
from atomgenbench.cli import cli
from atomgenbench.core.errors import UsageError
from atomgenbench.core.executors import Executor

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def dft_strata() -> dict[str, str]:
    return strata(BENCH)


def test_every_test_id_has_one_stratum_and_the_twins_are_data_checks(dft_strata):
    assert list(dft_strata) == test_ids(BENCH)
    assert set(dft_strata.values()) <= set(STRATA)
    report = check_benchmark(BENCH, progress=False)
    counts = Counter(dft_strata.values())
    assert counts["twin"] == len(report.duplicates) == 8
    assert {k for k, v in dft_strata.items() if v == "twin"} == set(report.duplicates)
    assert twins(BENCH) == report.duplicates
    assert counts["twin"] + counts["seen-formula"] == report.test_formula_in_train == 14
    assert counts == {"twin": 8, "seen-formula": 6, "unseen": 91}


def test_strata_are_cached_by_benchmark_sha256(dft_strata, monkeypatch):
    from atomgenbench.benchmarks.atomgen.registry import get_spec

    path = cache_path(BENCH)
    assert path.is_file() and get_spec(BENCH).sha256 in path.name
    doc = json.loads(path.read_text())
    assert doc["strata"] == dft_strata and doc["tolerances"] == {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0}

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(strata_module, "train_twins", boom)
    assert strata(BENCH) == dft_strata  # read from the cache
    path.write_text("{not json")
    with pytest.raises(AssertionError, match="recomputed"):
        strata(BENCH)  # a corrupt file is recomputed
    monkeypatch.undo()
    assert strata(BENCH) == dft_strata and json.loads(path.read_text())["strata"] == dft_strata


def test_lattice_benchmark_has_no_strata():
    with pytest.raises(UsageError, match="structure benchmarks"):
        strata("dft_3d_Tc_supercon_a")


def test_oracle_is_perfect_in_every_stratum(tmp_path):
    res = CliRunner().invoke(cli, ["run", "oracle", "-b", BENCH, "-o", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 0, res.output
    args = ["evaluate", str(tmp_path / "run" / "predictions.csv"), "-b", BENCH, "--no-figures", "--out"]
    res = CliRunner().invoke(cli, [*args, str(tmp_path / "ev"), "-j", "2", "--n-bootstrap", "10", "-q"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    by = m["by_stratum"]
    assert list(by) == list(STRATA)
    assert {k: g["n"] for k, g in by.items()} == {"twin": 8, "seen-formula": 6, "unseen": 91}
    for name, g in by.items():
        assert g["match_rate"] == 1.0 and g["n_matched"] == g["n"] == g["n_parsed"], name
        assert g["validity"]["structural"] == 1.0, name
        assert g["symmetry"]["spacegroup"] == 1.0 and g["symmetry"]["crystal_system"] == 1.0, name
        assert g["rmse"] == pytest.approx(0.0, abs=1e-8)
        assert all(v == 0.0 for v in g["mae"].values()), name
        assert g["validity"]["composition"] == g["validity_target"]["composition"], name
    # the strata partition the test ids: their counts add up to the whole-benchmark rates
    n_valid = sum(g["validity"]["composition"] * g["n"] for g in by.values())
    assert n_valid == pytest.approx(m["validity"]["composition"]["value"] * m["n_total"])
    report = (tmp_path / "ev" / "report.md").read_text()
    assert "## By leakage stratum" in report and "| twin | 8 | 8 | 8 | 1.000 |" in report


def test_nearest_matches_the_twins_and_an_empty_stratum_is_null(tmp_path):
    from atomgenbench.evaluator.metrics.breakdowns import by_stratum
    from atomgenbench.evaluator.metrics.evaluate import evaluate
    from atomgenbench.evaluator.metrics.registry import Rows
    from atomgenbench.runners.api import run

    result = evaluate(
        run("nearest", BENCH, "cpu", tmp_path / "n", progress=False),
        BENCH,
        executor=Executor.create("process", 2),
        n_boot=0,
    )
    by = result.to_json()["by_stratum"]
    assert by["twin"]["n_matched"] >= 7 and by["twin"]["match_rate"] >= 7 / 8
    assert by["twin"]["match_rate"] > by["unseen"]["match_rate"]
    # every stratum is listed, an empty one (alex_supercon_Tc has no twins) with n 0 and null values;
    # an id without a stratum falls in "unknown"
    table = by_stratum(Rows(result.records, result.settings), {})
    assert list(table)[:3] == list(STRATA) and table["twin"]["n"] == 0 and table["twin"]["match_rate"] is None
    assert table["twin"]["mae"]["a"] is None and table["twin"]["validity"]["structural"] is None
    assert sum(g["n"] for g in table.values()) == 105 and table["unknown"]["n"] == 105


def test_alexandria_has_no_twins():
    s = strata("alex_supercon_Tc")
    assert len(s) == 825 and list(s) == test_ids("alex_supercon_Tc")
    assert Counter(s.values()) == {"seen-formula": 249, "unseen": 576}
