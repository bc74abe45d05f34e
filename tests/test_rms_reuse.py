"""The cached target reduction gives exactly ``get_rms_dist``'s numbers (real contributions)."""

from __future__ import annotations

import json

import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar
from atomgenbench.evaluator.inputs.load import load_predictions
from atomgenbench.evaluator.scoring import rms

DFT = ("dft_3d_Tc_supercon", "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip")
ALEX = ("alex_supercon_Tc", "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip")


def _pairs(contributions, model, case, limit=None):
    benchmark, name = case
    targets = load_splits(benchmark)["test"]
    preds = load_predictions(contributions / model / name, benchmark)
    out = []
    for key, target in targets.items():
        try:
            out.append((key, parse_poscar(preds.structures[key]), parse_poscar(str(target))))
        except (KeyError, StructureParseError):
            continue
    return out[:limit]


def _through_json(cell):
    """The cell as the target cache stores and reads it."""
    lattice, species, frac = json.loads(json.dumps(cell))
    return tuple(map(tuple, lattice)), tuple(species), tuple(map(tuple, frac))


@pytest.mark.parametrize(
    "model,case,limit",
    [
        ("cdvae_invatoms", DFT, None),
        ("flowmm_invatoms", DFT, None),
        ("atomgpt_invatoms", DFT, None),
        ("atomgpt_invatoms", ALEX, 150),
    ],
)
def test_reused_target_reduction_equals_get_rms_dist(contributions, model, case, limit):
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    pairs = _pairs(contributions, model, case, limit)
    assert len(pairs) >= 100
    matched = 0
    for key, pred, target in pairs:
        cell = _through_json(rms.as_cell(rms.reduce_for_matcher(StructureMatcher(), target)))
        expected = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist(pred, target)
        assert rms.rms_dist(matcher, pred, target, cell) == expected, key  # bit for bit, None included
        matched += expected is not None
    assert matched >= 5  # the comparison covers matched rows, not only None == None


def test_without_the_matcher_steps_it_calls_get_rms_dist(contributions, monkeypatch):
    (key, pred, target), *_ = _pairs(contributions, "cdvae_invatoms", DFT, 1)
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    calls = []
    monkeypatch.setattr(rms, "_has_steps", lambda: False)
    monkeypatch.setattr(matcher, "get_rms_dist", lambda a, b: calls.append(key) or (0.25, 0.5))
    assert rms.rms_dist(matcher, pred, target, rms.as_cell(target)) == (0.25, 0.5)
    assert calls == [key]
