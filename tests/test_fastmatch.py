"""The fast StructureMatcher gives pymatgen's ``get_rms_dist`` decisions and values, live, on real pairs.

A fixed subset of ``scripts/check_matcher.py``'s pairs (every dft_3d contribution and submission
row, an even spread of alex rows, the strata sweeps and the hostile set) is matched by both;
the hand-over path (guard bands, bounds, disordered sites) must give pymatgen's result too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.core.structure_matcher import StructureMatcher

from atomgenbench.evaluator.scoring import fastmatch, fastmatch_lattice, rms
from atomgenbench.evaluator.scoring.fastmatch import FastMatcher, ReducedTarget

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _pairs_module():
    spec = importlib.util.spec_from_file_location("matcher_pairs", SCRIPTS / "matcher_pairs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["matcher_pairs"] = module
    spec.loader.exec_module(module)
    return module


pairs_mod = _pairs_module()
REF = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)


def _same(want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    return all(abs(a - b) <= max(1e-9 * abs(a), 1e-12) for a, b in zip(want, got))


def _compare(pairs, fast: FastMatcher) -> tuple[int, int, list]:
    """(pairs, matched, failures) of pymatgen against the fast path."""
    targets, failures, count, matched = {}, [], 0, 0
    for label, pred, target_id, target in pairs:
        key = (label, target_id)
        if key not in targets:
            targets[key] = fast.prepare(target)
        StructureMatcher._get_reduced_istructure.cache_clear()  # a fresh get_rms_dist, independent of order
        want, got = REF.get_rms_dist(pred, target), fast.rms_dist(pred, targets[key])
        count += 1
        matched += want is not None
        if not _same(want, got):
            failures.append((label, target_id, want, got))
    return count, matched, failures


@pytest.mark.slow
def test_dft3d_every_contribution_and_submission_row():
    fast = FastMatcher()
    count, matched, failures = _compare(pairs_mod.contribution_pairs("dft_3d"), fast)
    assert failures == []
    assert count >= 800 and matched >= 250  # 8 files × 105 rows; about a third match
    assert fast.counters.pairs == count
    assert fast.counters.fraction_handed_over < 0.05


@pytest.mark.slow
def test_alex_contributions_spread_and_strata():
    fast = FastMatcher()
    pairs = [*pairs_mod.contribution_pairs("alex", limit=40), *pairs_mod.strata_pairs("dft_3d")]
    pairs += list(pairs_mod.strata_pairs("alex", limit=120))
    count, matched, failures = _compare(pairs, fast)
    assert failures == []
    assert count >= 450 and matched >= 100


def test_hostile_cases():
    fast = FastMatcher()
    count, matched, failures = _compare(pairs_mod.hostile_pairs(limit=100), fast)
    assert failures == []
    assert count >= 100 and 0 < matched < count


def test_every_pair_handed_over_still_equals_pymatgen(monkeypatch):
    """A guard band as wide as everything sends every pair to pymatgen: the same results, all counted."""
    monkeypatch.setattr(fastmatch_lattice, "GUARD", 10.0)
    fast = FastMatcher()
    pairs = list(pairs_mod.contribution_pairs("dft_3d", limit=15))
    count, matched, failures = _compare(pairs, fast)
    assert failures == [] and matched > 0
    same_counts = sum(len(p.species) == len(t.species) for _, p, _, t in pairs)  # the others end before any test
    assert fast.counters.handed_over >= same_counts // 2
    assert sum(fast.counters.reasons.values()) == fast.counters.handed_over
    assert fast.counters.as_dict()["fraction_handed_over"] == fast.counters.handed_over / count


def test_bounds_hand_over(monkeypatch):
    monkeypatch.setattr(fastmatch, "MAX_WORK", 0)
    fast = FastMatcher()
    _, _, failures = _compare(pairs_mod.contribution_pairs("dft_3d", limit=10), fast)
    assert failures == []
    assert fast.counters.reasons["too many candidates"] > 0


def test_disordered_sites_hand_over():
    fast = FastMatcher()
    a = Structure(Lattice.cubic(3.0), [{"Fe": 0.5, "Co": 0.5}], [[0, 0, 0]])
    b = Structure(Lattice.cubic(3.05), [{"Fe": 0.5, "Co": 0.5}], [[0.01, 0, 0]])
    assert _same(REF.get_rms_dist(a, b), fast.get_rms_dist(a, b))
    assert fast.counters.reasons["disordered sites"] == 1


def test_api_forms_agree_and_match_rms_module():
    """ReducedTarget, the reduced Structure and rms.as_cell's tuple give one result; drop-in get_rms_dist too."""
    fast = FastMatcher()
    (_, pred, _, target), *_ = pairs_mod.hostile_pairs(limit=5)
    reduced = fast.reduce(target)
    cell = rms.as_cell(rms.reduce_for_matcher(REF, target))
    results = [
        fast.rms_dist(pred, ReducedTarget.of(reduced)),
        fast.rms_dist(pred, reduced),
        fast.rms_dist(pred, cell),
        fast.get_rms_dist(pred, target),
    ]
    want = REF.get_rms_dist(pred, target)
    assert want is not None and all(_same(want, r) for r in results)
    assert fast.counters.pairs == 4


def test_one_atom_cells_and_site_count_mismatch():
    fast = FastMatcher()
    one = Structure(Lattice.hexagonal(2.5, 4.0), ["Mg"], [[0, 0, 0]])
    other = Structure(Lattice.hexagonal(2.6, 3.9), ["Mg"], [[0.2, 0.1, 0.3]])
    assert _same(REF.get_rms_dist(one, other), fast.get_rms_dist(one, other))
    two = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    three = Structure(Lattice.cubic(4.0), ["Na", "Cl", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.2, 0.7, 0.1]])
    assert REF.get_rms_dist(two, three) is None and fast.get_rms_dist(two, three) is None


@pytest.mark.parametrize("seed", range(3))
def test_lll_batch_equals_pymatgen(seed):
    """The batched LLL gives pymatgen's basis and mapping wherever it reports no tie."""
    rng = np.random.default_rng(seed)
    mats = np.array(
        [
            Lattice.from_parameters(*rng.uniform([2, 2, 2, 60, 60, 60], [9, 9, 9, 120, 120, 120])).matrix
            for _ in range(60)
        ]
    )
    mats = mats[np.isfinite(mats).all(axis=(1, 2)) & (np.abs(np.linalg.det(mats)) > 0.5)]
    reduced, mapping, tie = fastmatch_lattice.lll_batch(mats)
    for m, r, mp, t in zip(mats, reduced, mapping, tie):
        if not t:
            lat = Lattice(m)
            assert np.array_equal(mp, lat.lll_mapping)
            assert np.allclose(r, lat.lll_matrix, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_evaluate_decides_the_same_with_either_matcher_and_records_which():
    """evaluate --matcher fast (the default) and --matcher pymatgen: the same matched ids, RMS within 1e-9."""
    from atomgenbench.core.executors import Executor
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    bench = "dft_3d_Tc_supercon"
    path = Path(__file__).resolve().parents[1] / "submissions" / "atomgenbench-nearest-cpu"
    preds = load_predictions(path / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip", bench)
    runs = {
        m: evaluate(preds, bench, executor=Executor.create("process", 2), n_boot=0, matcher=m)
        for m in ("fast", "pymatgen")
    }
    rms_of = {m: {r.id: r.rms for r in res.records} for m, res in runs.items()}
    assert {k for k, v in rms_of["fast"].items() if v is not None} == {
        k for k, v in rms_of["pymatgen"].items() if v is not None
    }
    assert sum(v is not None for v in rms_of["fast"].values()) == 73  # nearest's 73/105
    for key, value in rms_of["pymatgen"].items():
        if value is not None:
            assert rms_of["fast"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    for m, res in runs.items():
        assert res.to_json()["settings"]["matcher"]["implementation"] == m
