"""prior and nearest baselines on both AtomGenBench structure benchmarks."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.structures import parse_poscar
from atomgenbench.runners.api import run
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.baselines.nearest import assign, substitute
from atomgenbench.runners.baselines.prior import lattice_table, nearest_count

BENCHMARKS = ("dft_3d_Tc_supercon", "alex_supercon_Tc")


@pytest.fixture(scope="module", params=BENCHMARKS)
def data(request):
    return load_benchmark(request.param)


@pytest.mark.parametrize("model", ["prior", "nearest"])
def test_every_test_id_gets_a_structure_with_the_target_composition(model, data, tmp_path):
    preds = run(model, data.name, "cpu", tmp_path / model, seed=0, progress=False)
    assert preds.ids == data.test_ids
    assert not preds.failures
    for key in data.test_ids:
        s = parse_poscar(preds.structures[key])
        assert cell_counts(s) == cell_counts(data.structure(key)), key


def test_prior_is_seeded_and_samples_training_lattices(tmp_path):
    data = load_benchmark("dft_3d_Tc_supercon")
    a = run("prior", data.name, "smoke", tmp_path / "a", seed=7, progress=False)
    b = run("prior", data.name, "smoke", tmp_path / "b", seed=7, progress=False)
    c = run("prior", data.name, "smoke", tmp_path / "c", seed=8, progress=False)
    assert a.structures == b.structures and a.structures != c.structures
    table = lattice_table(data)
    for key in data.test_ids[:20]:
        s = parse_poscar(a.structures[key])
        pool = np.array(table[nearest_count(sorted(table), len(s))])
        params = np.array([*s.lattice.abc, *s.lattice.angles])
        assert np.min(np.abs(pool - params).max(axis=1)) < 1e-3, key
    assert nearest_count([1, 2, 4, 8], 6) == 4 and nearest_count([1, 2, 8], 5) == 2


def test_nearest_copies_a_training_crystal_of_identical_composition(tmp_path):
    data = load_benchmark("dft_3d_Tc_supercon")
    first_by_comp = {}
    for s in data.train.values():
        first_by_comp.setdefault(tuple(sorted(cell_counts(s).items())), s)
    same = [k for k in data.test_ids if tuple(sorted(cell_counts(data.structure(k)).items())) in first_by_comp]
    assert same, "expected test crystals whose composition occurs in training"
    preds = run("nearest", data.name, "smoke", tmp_path / "n", progress=False)
    for key in same:
        proto = first_by_comp[tuple(sorted(cell_counts(data.structure(key)).items()))]
        pred = parse_poscar(preds.structures[key])
        assert np.allclose(pred.lattice.matrix, proto.lattice.matrix, atol=1e-4), key


def test_nearest_beats_prior_on_dft_3d(tmp_path):
    """Prototype substitution should match far more crystals than random positions (regression guard)."""
    data = load_benchmark("dft_3d_Tc_supercon")
    matcher = StructureMatcher(stol=0.5, angle_tol=10, ltol=0.3)
    matched = {}
    for model in ("prior", "nearest"):
        preds = run(model, data.name, "smoke", tmp_path / model, progress=False)
        matched[model] = sum(matcher.fit(parse_poscar(preds.structures[k]), data.structure(k)) for k in data.test_ids)
    assert matched["nearest"] >= 60 > 20 >= matched["prior"]


def test_substitution_keeps_the_test_composition_when_counts_differ():
    data = load_benchmark("dft_3d_Tc_supercon")
    proto = next(s for s in data.train.values() if sorted(cell_counts(s).values()) == [1, 1, 2])
    test = {"Nb": 2, "Se": 2}
    _, mapping = assign(test, cell_counts(proto))
    species = substitute(proto, test, mapping)
    assert sorted(species) == ["Nb", "Nb", "Se", "Se"]
    score_same, mapping_same = assign({"Mg": 1, "B": 2}, {"Mg": 1, "B": 2})
    assert score_same == 0 and mapping_same == {"Mg": "Mg", "B": "B"}
    _, m = assign({"Ca": 1, "B": 2}, {"Mg": 2, "Al": 1})  # counts decide the pairing first
    assert m == {"Al": "Ca", "Mg": "B"}
