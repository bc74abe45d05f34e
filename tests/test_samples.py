"""Many samples per test id: predictions v2, ``run --samples K`` and the match@k metrics."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.predictions import Predictions, PredictionsFormatError
from atomgenbench.cli import cli
from atomgenbench.core.executors import Executor
from atomgenbench.runners import api

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def nearest5(tmp_path_factory):
    out = tmp_path_factory.mktemp("nearest5")
    return api.run("nearest", BENCH, "cpu", out, samples=5, progress=False), out


@pytest.fixture(scope="module")
def nearest1(tmp_path_factory):
    out = tmp_path_factory.mktemp("nearest1")
    return api.run("nearest", BENCH, "cpu", out, progress=False), out


def test_run_samples_writes_every_sample_of_every_id(nearest5, nearest1):
    preds, out = nearest5
    lines = (out / "predictions.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,sample,prediction" and len(lines) == 1 + 525
    assert preds.samples == 5 and json.loads((out / "predictions.json").read_text())["samples"] == 5
    assert "(seed, id, sample)" in json.loads((out / "predictions.json").read_text())["sampling"]
    assert preds.structures == nearest1[0].structures  # sample 0 is the single-sample run
    again = Predictions.read(out)
    assert again.more_samples == preds.more_samples and again.samples == 5
    # the K nearest prototypes are distinct prototypes (not copies of sample 0) where they exist
    differs = sum(preds.sample(1)[k] != preds.structures[k] for k in preds.structures if preds.sample(1)[k])
    assert differs > 90


@pytest.mark.slow
def test_match_at_k_is_a_non_decreasing_curve_starting_at_the_match_rate(nearest5, nearest1):
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    multi = evaluate(nearest5[0], BENCH, executor=Executor.create("process", 2), n_boot=50).to_json()
    single = evaluate(nearest1[0], BENCH, executor=Executor.create("process", 2), n_boot=50).to_json()
    curve = [multi["samples"]["match_at_k"]["curve"][str(k)] for k in range(1, 6)]
    assert curve == sorted(curve) and curve[-1] == multi["samples"]["match_at_k"]["value"]
    assert curve[0] == pytest.approx(single["rmse"]["match_rate"])
    assert curve[-1] > curve[0]  # further prototypes match crystals the first one misses
    best = multi["samples"]["best_of_k_rmse"]
    assert best["n"] == round(curve[-1] * 105)
    for key in ("value", "n_matched", "match_rate", "leaderboard_value"):  # single-sample numbers stay sample 0's
        assert multi["rmse"][key] == single["rmse"][key]
    assert multi["rmse"]["ci95"] == pytest.approx(single["rmse"]["ci95"], abs=1e-12)
    assert multi["mae"] == single["mae"] and multi["validity"] == single["validity"]
    assert "samples" not in single  # reported only for runs with K > 1
    rates = multi["samples"]["single_sample_match_rate"]
    assert 0 < rates["value"] <= curve[0] + 1e-12 and rates["std"] > 0
    distinct = multi["samples"]["distinct_fraction"]
    assert distinct["n"] == 105 and distinct["k"] == 5 and 0.2 <= distinct["value"] <= 1.0
    # per leakage stratum as well: the strata's match@5, weighted by their sizes, give the overall match@5
    groups = multi["by_stratum"]
    assert "samples" not in single["by_stratum"]["unseen"]
    assert groups["twin"]["samples"]["match_at_k"] == 1.0 and groups["twin"]["samples"]["k"] == 5
    weighted = sum(g["n"] * g["samples"]["match_at_k"] for g in groups.values() if g["n"])
    assert weighted / 105 == pytest.approx(curve[-1])
    assert set(groups["unseen"]["samples"]) == {
        "k",
        "match_at_k",
        "best_of_k_rmse",
        "single_sample_match_rate",
        "distinct_fraction",
    }


@pytest.mark.slow
def test_distinct_fraction_counts_structure_matcher_groups(nearest5, tmp_path):
    from pymatgen.analysis.structure_matcher import StructureMatcher

    from atomgenbench.benchmarks.atomgen.structures import parse_poscar
    from atomgenbench.evaluator.metrics.evaluate import evaluate
    from atomgenbench.evaluator.reports.evaluation import rows_csv

    preds = nearest5[0]
    result = evaluate(preds, BENCH, executor=Executor.create("process", 2), n_boot=20)
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    per_id = {}
    for rec in result.records[:12]:  # the value per id is pymatgen's group count over the parsed samples
        structures = [parse_poscar(preds.sample(s)[rec.id]) for s in range(5) if preds.sample(s)[rec.id]]
        assert rec.extra["n_samples_parsed"] == len(structures)
        assert rec.extra["n_distinct"] == len(matcher.group_structures(structures))
        per_id[rec.id] = rec.extra["n_distinct"] / len(structures)
    assert len(set(per_id.values())) > 1  # the check covers ids with and without duplicate samples
    header, first = rows_csv(result.records).splitlines()[:2]
    assert header.endswith("samples_matched,samples_parsed,samples_distinct")
    rec = result.records[0]
    assert first.endswith(f",{rec.extra['n_samples_parsed']},{rec.extra['n_distinct']}")

    oracle = api.run("oracle", BENCH, "cpu", tmp_path / "oracle3", samples=3, progress=False)
    doc = evaluate(oracle, BENCH, executor=Executor.create("process", 2), n_boot=20).to_json()
    assert doc["samples"]["distinct_fraction"]["value"] == pytest.approx(1 / 3)  # three copies of the target


def test_samples_without_the_cached_target_equal_those_with_it(nearest5):
    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.evaluator.scoring.matching import MatchSettings, score_samples, target_table

    preds = nearest5[0]
    targets = load_splits(BENCH)["test"]
    settings = MatchSettings(anonymous=False)
    table = target_table(BENCH, targets, settings, Executor.create("process", 2))
    found = 0
    for key in list(targets)[:15]:
        texts = [preds.sample(s).get(key, "") for s in range(5)]
        cached = score_samples((key, texts, str(targets[key]), settings, table[key]))
        assert score_samples((key, texts, str(targets[key]), settings, None)) == cached, key
        found += sum(r is not None for r in cached["sample_rms"])
    assert found > 0  # matched samples are compared, not only None == None
    broken = score_samples((key, texts, "not a POSCAR", settings, None))  # a target that does not parse
    assert broken["sample_rms"] == [None] * 4 and "benchmark target unparseable" in broken["note"]


def test_a_subset_of_ids_equals_the_same_ids_of_the_full_run(nearest5, tmp_path):
    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
    from atomgenbench.runners.base import RunConfig
    from atomgenbench.runners.driver import reconstruct_all
    from atomgenbench.runners.registry import get_runner

    data = load_benchmark(BENCH)
    runner = get_runner("prior")
    full_cfg = RunConfig("prior", BENCH, out_dir=tmp_path / "full", samples=3, progress=False)
    part_cfg = RunConfig("prior", BENCH, out_dir=tmp_path / "part", samples=3, progress=False)
    ckpt = runner.fit(data, full_cfg)
    full, _ = reconstruct_all(runner, data, ckpt, full_cfg, samples=3)
    subset = data.test_ids[40:47][::-1]
    part, _ = reconstruct_all(runner, data, ckpt, part_cfg, ids=subset, samples=3)
    assert set(part) == {(k, s) for k in subset for s in range(3)}
    assert all(part[key] == full[key] for key in part)
    assert len({full[(subset[0], s)].structure for s in range(3)}) == 3  # distinct draws


@pytest.mark.slow
def test_flowmm_samples_are_reproducible_and_resume_to_the_same_file(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    api.run("flowmm", BENCH, "smoke", a, samples=2, progress=False)
    api.run("flowmm", BENCH, "smoke", b, samples=2, progress=False)
    first = (a / "predictions.csv").read_bytes()
    assert first == (b / "predictions.csv").read_bytes()
    assert first.count(b"\n") == 1 + 2 * 105
    # interrupted: the fit is done and a third of the (id, sample) records were written
    shutil.copytree(a / "work", c / "work")
    partial = c / "work" / api.PARTIAL_NAME
    lines = partial.read_text(encoding="utf-8").splitlines(keepends=True)
    partial.write_text("".join(lines[: len(lines) // 3 + 1]), encoding="utf-8")  # odd: one id half done
    api.run("flowmm", BENCH, "smoke", c, samples=2, progress=False)
    assert (c / "predictions.csv").read_bytes() == first


def test_runners_without_sampling_refuse_samples(tmp_path, monkeypatch):
    from atomgenbench.core.errors import ConfigError
    from atomgenbench.runners.baselines.oracle import OracleRunner

    class OneSample(OracleRunner):  # a third-party runner that has not declared supports_samples
        name = "one-sample"
        supports_samples = False

    monkeypatch.setattr(api, "get_runner", lambda name: OneSample())
    with pytest.raises(ConfigError, match="does not support --samples 3") as err:
        api.run("one-sample", BENCH, "cpu", tmp_path, samples=3, progress=False)
    assert "nearest" in str(err.value) and "flowmm" in str(err.value)
    assert not (tmp_path / "work").exists()
    result = CliRunner().invoke(cli, ["run", "nearest", "-b", BENCH, "-o", str(tmp_path / "x"), "-k", "0"])
    assert result.exit_code == 2 and "--samples" in result.output


def test_v1_files_are_read_and_bad_sample_columns_are_named(tmp_path):
    (tmp_path / "predictions.csv").write_text("id,prediction\nJVASP-1,\nJVASP-2,\n")
    old = Predictions.read(tmp_path)
    assert old.samples == 1 and old.ids == ["JVASP-1", "JVASP-2"]
    for text, problem in (
        ("id,sample,prediction\nJVASP-1,0,\nJVASP-1,x,\n", "row 3: sample must be a whole number"),
        ("id,sample,prediction\nJVASP-1,0,\nJVASP-1,0,\n", "duplicate id 'JVASP-1' sample 0"),
        ("id,sample,prediction\nJVASP-1,0,\nJVASP-1,2,\n", "numbered 0 … K−1"),
        ("id,sample,prediction\nJVASP-1,0,\nJVASP-2,0,\nJVASP-1,1,\n", "sample 1 does not cover the same ids"),
    ):
        (tmp_path / "predictions.csv").write_text(text)
        with pytest.raises(PredictionsFormatError, match=problem):
            Predictions.read(tmp_path)


def test_package_uses_sample_0_and_says_so(nearest5, nearest1, tmp_path):
    from atomgenbench.evaluator.submission.package import package_contribution

    meta = {"model_name": "nearest-k5", "author_email": "me@example.org", "project_url": "https://example.org"}
    one = package_contribution({BENCH: nearest1[0]}, meta, tmp_path / "one")
    package_contribution({BENCH: nearest5[0]}, meta, tmp_path / "many")
    for name in one.files:
        if name.endswith(".csv.zip"):
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes(), name
    readme = (tmp_path / "many" / "README.md").read_text()
    assert "5 samples per test id" in readme and "sample 0" in readme
    assert "samples per test id" not in (tmp_path / "one" / "README.md").read_text()


def test_multi_sample_metrics_are_registry_entries_with_formula_and_denominator():
    from atomgenbench.evaluator.metrics.registry import REGISTRY, Rows
    from atomgenbench.evaluator.scoring.matching import PairRecord

    for name in ("samples.match_at_k", "samples.best_of_k_rmse", "samples.single_sample_match_rate"):
        m = REGISTRY[name]
        assert m.formula and m.denominator and m.applies is not None
    # 3 ids, 3 samples: id a matches at sample 2 only, id b at samples 0 and 1, id c never
    records = [
        PairRecord("a", parsed=True, rms=None, extra={"sample_rms": [None, 0.3]}),
        PairRecord("b", parsed=True, rms=0.2, extra={"sample_rms": [0.1, None]}),
        PairRecord("c", parsed=True, rms=None, extra={"sample_rms": [None, None]}),
    ]
    rows = Rows(records, {"matcher": {"stol": 0.5}, "kld_bins": 20, "kld_epsilon": 0.5})
    assert REGISTRY["samples.match_at_k"].extra(rows)["curve"] == {"1": 1 / 3, "2": 1 / 3, "3": 2 / 3}
    assert REGISTRY["samples.best_of_k_rmse"].value(rows) == pytest.approx((0.3 + 0.1) / 2)
    assert REGISTRY["samples.single_sample_match_rate"].value(rows) == pytest.approx(np.mean([1, 1, 1]) / 3)


def test_structure_files_and_frames_carry_several_samples_per_id(tmp_path):
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
    from atomgenbench.evaluator.inputs.load import InputError, load_predictions

    data = load_benchmark(BENCH)
    ids = data.test_ids[:4]
    folder = tmp_path / "cifs"
    folder.mkdir()
    frames = []
    for key in ids:
        for s in range(3):
            data.structure(key).to(filename=str(folder / (f"{key}.cif" if s == 0 else f"{key}__s{s}.cif")))
            atoms = AseAtomsAdaptor.get_atoms(data.structure(key))
            atoms.info.update({"id": key, "sample": s})
            frames.append(atoms)
    write(tmp_path / "gen.extxyz", frames, format="extxyz")
    for path in (folder, tmp_path / "gen.extxyz"):
        preds = load_predictions(path, BENCH)
        assert preds.samples == 3 and set(preds.structures) == set(ids), path
        assert all(preds.sample(2)[k] for k in ids) and not preds.more_failures[2]
    (folder / f"{ids[0]}__s7.cif").write_text((folder / f"{ids[0]}.cif").read_text())
    with pytest.raises(InputError, match="numbered 0 … K−1"):
        load_predictions(folder, BENCH)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cdvae", "atomgpt"])
def test_learned_runners_draw_distinct_samples_and_keep_sample_0(model, tmp_path, smoke_runs):
    one = Predictions.read(smoke_runs.folder(model))  # the plain smoke run, made once per session
    two = api.run(model, BENCH, "smoke", tmp_path / "two", samples=2, progress=False)
    assert two.structures == one.structures and two.failures == one.failures  # sample 0 is unchanged
    assert len((tmp_path / "two" / "predictions.csv").read_text().splitlines()) == 1 + 2 * 105
    changed = [
        k
        for k in one.structures
        if (two.sample(1)[k], two.more_failures[1].get(k)) != (one.structures[k], one.failures.get(k))
    ]
    assert changed, f"{model}: sample 1 equals sample 0 for every id"


@pytest.mark.slow
def test_evaluate_writes_the_match_at_k_figure_and_report_section(nearest5, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["evaluate", str(nearest5[1]), "-b", BENCH, "-j", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 samples per id: match@1 0.695" in result.output
    assert (out / "match_at_k.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "## Many samples per id (K = 5" in report and "| match@k | 0.695 |" in report


@pytest.mark.slow
def test_compare_pairs_models_at_equal_k(nearest5):
    from atomgenbench.evaluator.metrics.compare import compare
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    five = nearest5[0]
    two = Predictions(
        BENCH, "nearest-k2", dict(five.structures), dict(five.failures), samples=2, more_samples={1: five.sample(1)}
    )
    results = {
        "k5": evaluate(five, BENCH, executor=Executor.create("process", 2), n_boot=0),
        "k2": evaluate(two, BENCH, executor=Executor.create("process", 2), n_boot=0),
    }
    table = compare(results, n_boot=20).to_json()["table"]
    curve = results["k5"].to_json()["samples"]["match_at_k"]["curve"]
    assert table["k5"]["samples.match_at_k"] == pytest.approx(curve["2"]) == table["k2"]["samples.match_at_k"]
