"""ccRMSD, validity, symmetry agreement, KLD edges and denominators (issue 15 items 1, 2, 3, 7, 8)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import escape, parse_poscar, to_poscar, unescape
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.inputs.load import load_predictions
from atomgenbench.evaluator.metrics.evaluate import evaluate
from atomgenbench.evaluator.scoring import stats, symmetry, validity
from atomgenbench.evaluator.scoring.matching import MatchSettings, score_pair

BENCH = "dft_3d_Tc_supercon"
DFT = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
MODELS = ("atomgpt_invatoms", "cdvae_invatoms", "flowmm_invatoms")


@pytest.fixture(scope="module")
def targets() -> dict[str, str]:
    return {k: unescape(str(v)) for k, v in load_splits(BENCH)["test"].items()}


@pytest.fixture(scope="module")
def oracle(targets) -> dict:
    return evaluate(
        Predictions(BENCH, "oracle", dict(targets)), BENCH, executor=Executor.create("process", 2), n_boot=20
    ).to_json()


# --------------------------------------------------------------------------- ccRMSD


def _direct_ccrmsd(pred_texts: dict[str, str], target_texts: dict[str, str]) -> tuple[float, float, int]:
    """ccRMSD and the τ-capped variant computed straight with `amd`, independent of the evaluator."""
    import amd

    def vector(text):
        s = parse_poscar(text).get_reduced_structure("niggli")
        return amd.AMD(amd.periodicset_from_pymatgen_structure(s), 100)

    d = np.array([np.max(np.abs(vector(pred_texts[k]) - vector(t))) for k, t in target_texts.items()])
    return float(np.sqrt(np.mean(d**2))), float(np.sqrt(np.mean(np.minimum(d, 0.5) ** 2))), len(d)


@pytest.mark.parametrize("model", MODELS)
def test_ccrmsd_equals_a_direct_amd_computation(contributions, model):
    preds = load_predictions(contributions / model / DFT, BENCH)
    m = evaluate(preds, BENCH, executor=Executor.create("process", 2), n_boot=50).to_json()
    value, legacy, n = _direct_ccrmsd(preds.structures, {k: str(v) for k, v in load_splits(BENCH)["test"].items()})
    assert m["ccrmsd"]["n"] == n == 105 and m["ccrmsd"]["amd_k"] == 100
    assert m["ccrmsd"]["value"] == pytest.approx(value, abs=1e-6)
    assert m["ccrmsd_legacy"]["value"] == pytest.approx(legacy, abs=1e-6) and m["ccrmsd_legacy"]["tau"] == 0.5
    low, high = m["ccrmsd"]["ci95"]
    assert low <= m["ccrmsd"]["value"] <= high


def test_oracle_is_perfect_on_the_new_metrics(oracle):
    m = oracle
    assert m["ccrmsd"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert m["validity"]["structural"]["value"] == 1.0
    assert m["symmetry"]["spacegroup"]["value"] == 1.0 and m["symmetry"]["crystal_system"]["value"] == 1.0
    for key in ("structural", "composition", "both"):  # the oracle is exactly as valid as the targets
        assert m["validity"][key]["value"] == m["validity_target"][key]["value"]
        assert m["validity"][key]["n"] == 105
    matrix = np.array(m["crystal_system_confusion"]["matrix"])
    assert matrix.sum() == 105 and np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0
    for p in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert m["mae_same_system"][p]["value"] == 0.0 and m["mae_same_system"][p]["n"] == 105
        assert m["mae_raw_packaged"][p]["value"] == 0.0


# --------------------------------------------------------------------------- validity and symmetry


def _salt(a: float = 5.64, species=("Na", "Cl")) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), list(species), [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_structural_validity_rules():
    assert validity.structural(_salt()) == (True, None)
    ok, why = validity.structural(_salt(a=0.9))  # Na-Cl at a/2 = 0.45 Å
    assert not ok and "0.450 Å apart" in why
    one = Structure(Lattice.tetragonal(3.0, 0.4), ["Cu"], [[0, 0, 0]])  # a site 0.4 Å from its own image
    ok, why = validity.structural(one)
    assert not ok and "0.400 Å apart" in why
    flat = Structure(Lattice([[3, 0, 0], [0, 3, 0], [0, 0, 0.01]]), ["Cu"], [[0, 0, 0]])
    ok, why = validity.structural(flat)
    assert not ok and "volume" in why


@pytest.mark.parametrize(
    ("species", "valid", "why"),
    [
        (("Na", "Cl"), True, "charge-neutral"),
        (("Cu", "Zn"), True, "all metals"),
        (("Na", "Na"), True, "single element"),
        (("Pm", "O"), False, "no SMACT oxidation states for Pm"),
        (("Og", "O"), False, "no SMACT data for Og"),
        (("He", "O"), False, "no SMACT oxidation states for He"),
    ],
)
def test_composition_validity_follows_cdvae_and_never_crashes(species, valid, why):
    ok, how = validity.composition(_salt(species=species))
    assert ok is valid and why in how


def test_composition_validity_charge_balance():
    assert validity.composition_of((("Cl", 2), ("Na", 1)))[0] is False  # NaCl2: no neutral combination
    assert validity.composition_of((("O", 3), ("Ti", 1), ("Sr", 1)))[0] is True  # SrTiO3
    assert "no charge-neutral" in validity.composition_of((("Cl", 2), ("Na", 1)))[1]


def test_symmetry_and_confusion_matrix():
    assert symmetry.analyse(_salt()) == (225, "cubic")
    assert symmetry.analyse(_salt(), symprec=0.1)[1] == "cubic"
    table = symmetry.confusion(["cubic", "cubic", "hexagonal", "unknown"], ["cubic", "tetragonal", None, "cubic"])
    matrix = np.array(table["matrix"])
    assert matrix.shape == (7, 7) and table["n"] == 2 and table["n_undetermined"] == 2
    cubic, tetragonal = symmetry.CRYSTAL_SYSTEMS.index("cubic"), symmetry.CRYSTAL_SYSTEMS.index("tetragonal")
    assert matrix[cubic, cubic] == 1 and matrix[cubic, tetragonal] == 1


# --------------------------------------------------------------------------- bad input


def test_bad_predictions_are_recorded_never_a_crash(targets, tmp_path):
    ids = list(targets)
    t0 = parse_poscar(targets[ids[0]])
    overlap = Structure(t0.lattice, [t0[0].specie, *t0.species], [t0[0].frac_coords, *t0.frac_coords])
    huge = Structure(Lattice.cubic(10_000.0), t0.species, t0.frac_coords)
    lines = targets[ids[2]].splitlines()
    nan = [*lines[:2], "nan 0 0", *lines[3:]]
    unknown = [*lines[:5], " ".join("Qq" for _ in lines[5].split()), *lines[6:]]
    rows = {
        ids[0]: escape(to_poscar(overlap)),
        ids[1]: escape(to_poscar(huge)),
        ids[2]: escape("\n".join(nan)),
        ids[3]: escape("\n".join(unknown)),
        ids[4]: escape(to_poscar(Structure(Lattice.cubic(4.0), ["Pm", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]))),
    }
    csv = tmp_path / "bad.csv"
    csv.write_text("id,target,prediction\n" + "".join(f"{k},x,{v}\n" for k, v in rows.items()))
    result = evaluate(load_predictions(csv, BENCH), BENCH, executor=Executor.create("process", 1), n_boot=0)
    m, recs = result.to_json(), {r.id: r for r in result.records}
    assert recs[ids[0]].parsed and recs[ids[0]].valid_structural is False
    assert "atoms 0.000 Å apart" in m["notes"][ids[0]]
    # a 10,000 Å cell: refused before analysis (docs/inputs.md, Input limits), a failure with its reason
    assert not recs[ids[1]].parsed and m["failures"][ids[1]].startswith("implausible cell: lattice vector")
    assert "non-finite" in m["failures"][ids[2]] and "unknown element" in m["failures"][ids[3]]
    assert recs[ids[4]].valid_composition is False and "no SMACT oxidation states for Pm" in m["notes"][ids[4]]
    assert m["validity"]["structural"]["n"] == 105  # over all test ids: the 100 missing rows are invalid
    assert m["validity"]["structural"]["value"] == pytest.approx(1 / 105)  # the Pm oxide


@pytest.mark.slow
def test_symmetry_time_limit_leaves_a_note(targets, monkeypatch):
    import time

    from atomgenbench.evaluator.scoring import matching

    def slow(structure, symprec=0.1):
        time.sleep(3)

    k = next(iter(targets))
    tgt = load_splits(BENCH)["test"][k]
    monkeypatch.setattr(matching.symmetry, "analyse", slow)
    rec = score_pair((k, targets[k], str(tgt), MatchSettings(time_limit_s=0.3)))
    assert rec.parsed and rec.spacegroup_pred is None and rec.rms is not None
    assert "symmetry undetermined: it exceeded the 0.3 s time limit" in rec.metric_note
    assert rec.crystal_system == "unknown" and "target symmetry undetermined" in rec.metric_note  # the target's too
    # the prediction's symmetry has its own, smaller bound (default 2 s) under a long per-pair limit
    rec = score_pair((k, targets[k], str(tgt), MatchSettings(time_limit_s=60, symmetry_time_limit_s=0.2)))
    assert rec.spacegroup_pred is None and "symmetry undetermined: it exceeded the 0.2 s time limit" in rec.metric_note
    assert rec.rms is not None


# --------------------------------------------------------------------------- KLD edges (item 7)


def test_kld_outer_edges_tolerate_float_noise():
    target = np.array([60.0, 75.0, 90.0, 120.0])
    edges = stats.histogram_edges(target, bins=4)
    width = 60.0 / 4
    just_below, far_below = 60.0 - 1e-6 * width, 60.0 - 1e-3 * width
    assert list(stats.histogram_bins(np.array([just_below, 120.0 + 1e-6 * width]), edges)) == [1, 4]
    assert list(stats.histogram_bins(np.array([far_below]), edges)) == [0]  # beyond the tolerance: underflow
    assert list(stats.histogram_bins(np.array([just_below]), edges, tolerance=0.0)) == [0]  # the old rule
    # the targets themselves and every inner edge never move
    assert list(stats.histogram_bins(target, edges)) == list(stats.histogram_bins(target, edges, tolerance=0.0))


def _rounded(text: str, digits: int = 8) -> str:
    """The structure as a generator writing its own cell frame (a along x) with 8 decimals would give it."""
    from ase.geometry import cellpar_to_cell

    s = parse_poscar(text)
    cell = np.round(cellpar_to_cell([*s.lattice.abc, *s.lattice.angles]), digits)
    return to_poscar(Structure(Lattice(cell), s.species, np.round(s.frac_coords, digits)))


def test_formatting_precision_does_not_move_the_kld(targets, oracle):
    rounded = {k: _rounded(v) for k, v in targets.items()}
    m = evaluate(
        Predictions(BENCH, "oracle-8dp", rounded), BENCH, executor=Executor.create("process", 2), n_boot=20
    ).to_json()
    for p in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert m["kld"][p]["value"] == oracle["kld"][p]["value"] == 0.0, p
        assert m["kld"][p]["edge_tolerance"] == stats.KLD_EDGE_TOLERANCE
    assert m["settings"]["kld_edge_tolerance"] == stats.KLD_EDGE_TOLERANCE
    # without the widened edges, the 8-dp file loses predictions of the extreme targets to the outer bins
    from atomgenbench.evaluator.metrics.registry import REGISTRY, Rows

    result = evaluate(
        Predictions(BENCH, "oracle-8dp", rounded), BENCH, executor=Executor.create("process", 2), n_boot=0
    )
    old = Rows(result.records, {**result.settings, "kld_edge_tolerance": 0.0})
    assert max(REGISTRY[f"kld.{p}"].value(old) for p in ("a", "b", "c", "alpha", "beta", "gamma")) > 0.004


# --------------------------------------------------------------------------- denominators (item 8), outputs


def test_packaged_mae_counts_placeholders_and_the_report_says_which(targets, tmp_path):
    from atomgenbench.benchmarks.atomgen.structures import jarvis_lattice_params
    from atomgenbench.evaluator.reports.evaluation import markdown, write_outputs
    from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_POSCAR, PLACEHOLDER_RAW

    assert jarvis_lattice_params(PLACEHOLDER_POSCAR) == PLACEHOLDER_RAW
    ids = list(targets)
    half = {k: targets[k] for k in ids[::2]}  # 53 of 105 predicted, all exact
    result = evaluate(Predictions(BENCH, "half", half), BENCH, executor=Executor.create("process", 2), n_boot=0)
    m = result.to_json()
    raw_t = np.array([r.raw_target for r in result.records])
    expected = np.mean(
        np.abs(np.where(np.array([r.parsed for r in result.records])[:, None], raw_t, PLACEHOLDER_RAW) - raw_t), axis=0
    )
    for j, p in enumerate(("a", "b", "c", "alpha", "beta", "gamma")):
        assert m["mae_raw"][p]["value"] == 0.0 and m["mae_raw"][p]["n"] == 53
        assert m["mae_raw_packaged"][p]["value"] == pytest.approx(expected[j]) and m["mae_raw_packaged"][p]["n"] == 105
    text = markdown(m)
    assert "53 parsed pairs" in text and "all 105 ids, 52 placeholders" in text
    paths = write_outputs(m, tmp_path / "out", result.records, figures=True)
    assert (tmp_path / "out" / "crystal_system_confusion.png") in paths
    header, *lines = (tmp_path / "out" / "rows.csv").read_text().splitlines()
    cols = header.split(",")
    assert {"amd_distance", "valid_structural", "spacegroup_pred", "crystal_system_pred"} <= set(cols)
    first = dict(zip(cols, lines[0].split(",")))
    assert float(first["amd_distance"]) == pytest.approx(0.0, abs=1e-9) and first["valid_structural"] == "True"
    assert json.loads(json.dumps(m)) == m  # strict JSON


@pytest.mark.slow
def test_target_side_work_is_cached_per_benchmark_file(targets, tmp_path, monkeypatch):
    from atomgenbench.evaluator.scoring import targets as target_cache

    monkeypatch.setenv("ATOMGENBENCH_CACHE", str(tmp_path / "cache"))
    preds = Predictions(BENCH, "x", {k: targets[k] for k in list(targets)[:5]})
    first = evaluate(preds, BENCH, executor=Executor.create("process", 1), n_boot=0)
    path = target_cache.cache_path(BENCH, MatchSettings())
    assert path.is_file() and path.parent == tmp_path / "cache" / "targets"
    assert "ecd1cc06e819" in path.name  # the benchmark file's sha256
    again = evaluate(preds, BENCH, executor=Executor.create("process", 1), n_boot=0)
    assert [r.__dict__ for r in again.records] == [r.__dict__ for r in first.records]
    path.write_text("{not json")  # a corrupt cache is recomputed, not trusted
    third = evaluate(preds, BENCH, executor=Executor.create("process", 1), n_boot=0)
    assert [r.__dict__ for r in third.records] == [r.__dict__ for r in first.records]
    assert json.loads(path.read_text())["cache_version"] == target_cache.CACHE_VERSION
    assert math.isfinite(first.to_json()["ccrmsd"]["value"])
