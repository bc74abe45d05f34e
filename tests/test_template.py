"""The ``template`` runner on dft_3d (smoke preset): nearest's candidates, no test leakage, the zero-label ablation.

* with no labelled training query its predictions (and its ``--samples`` order) are ``nearest``'s, byte for byte;
* its predictions do not change when every test crystal's lattice and coordinates are replaced by random
  ones (the same species, listed in the same order: like ``nearest``, the runner breaks cost ties and sums
  element volumes in the order in which the POSCAR lists its elements);
* the leave-one-out candidates of a training crystal never include the crystal itself, and equal
  nearest's candidates on the training split without it;
* the model file is loaded without executing pickled code (skops), and the learned order differs from
  nearest's somewhere;
* the gate is chosen from the held-out crystals' counts (a tie keeps nearest's rule), and where it keeps
  nearest's rule for every kind of query the predictions are nearest's.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

import atomgenbench.runners.api as api
from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.structures import to_poscar
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.template import holdout, scorer
from atomgenbench.runners.template.candidates import CandidateIndex
from atomgenbench.runners.template.runner import MODEL_FILE, TemplateRunner

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def data() -> BenchmarkData:
    return load_benchmark(BENCH)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "smoke"
    # the gate off: the learned order decides every query (on 60 labelled crystals the gate keeps nearest's)
    return api.run("template", BENCH, "smoke", out, seed=0, progress=False, samples=3, overrides={"gate": False}), out


def _csv(out) -> bytes:
    return (out / "predictions.csv").read_bytes()


def test_zero_labels_reproduce_nearest(tmp_path):
    nearest = api.run("nearest", BENCH, "smoke", tmp_path / "n", progress=False, samples=3)
    ablation = api.run(
        "template", BENCH, "smoke", tmp_path / "t", progress=False, samples=3, overrides={"label_queries": 0}
    )
    assert ablation.structures == nearest.structures and ablation.more_samples == nearest.more_samples
    assert not (tmp_path / "t" / "work" / MODEL_FILE).exists()


@pytest.mark.slow
def test_learned_order_differs_from_nearest_somewhere(smoke, tmp_path):
    preds, out = smoke
    assert (out / "work" / MODEL_FILE).is_file()
    model = scorer.load(out / "work" / MODEL_FILE)
    assert hasattr(model, "predict_proba")
    nearest = api.run("nearest", BENCH, "smoke", tmp_path / "n", progress=False, samples=3)
    assert preds.structures != nearest.structures
    assert len(preds.structures) == len(nearest.structures)


def _scrambled(data: BenchmarkData) -> BenchmarkData:
    """A copy of ``data`` whose test crystals keep their species but get another cell and positions."""
    raw = copy.deepcopy(data.raw)
    rng = np.random.default_rng(7)
    for key in data.test_ids:
        s = data.structure(key)
        lattice = Lattice.from_parameters(*(rng.uniform(3, 9, 3)), *(rng.uniform(70, 110, 3)))
        species = [site.specie.symbol for site in s]  # the POSCAR's species order is kept (see the docstring)
        raw["test"][key] = to_poscar(Structure(lattice, species, rng.random((len(s), 3))))
    return BenchmarkData(data.spec, raw)


def test_test_structures_do_not_leak(smoke, data, tmp_path):
    preds, out = smoke
    runner = TemplateRunner()
    scrambled = _scrambled(data)
    assert scrambled.structure(data.test_ids[0]).lattice != data.structure(data.test_ids[0]).lattice
    checkpoint = out / "work" / "template.json"
    params = {**runner.resolve_params("smoke"), "gate": False}
    config = api.RunConfig("template", BENCH, "smoke", 0, params=params, samples=3)
    config.out_dir = out
    again = {(r.id, r.sample): r.structure or "" for r in runner.reconstruct(scrambled, checkpoint, config)}
    assert {k: again[(k, 0)] for k in data.test_ids} == preds.structures
    for s in (1, 2):
        assert {k: again[(k, s)].strip() for k in data.test_ids} == {
            k: v.strip() for k, v in preds.more_samples[s].items()
        }


def test_leave_one_out_candidates_are_nearest_on_the_rest(data):
    full = CandidateIndex(data)
    for q in data.train_ids[:40]:
        rest = CandidateIndex(data, [i for i in data.train_ids if i != q])
        test = cell_counts(data.structure(q))
        loo = full.ranked(test, 8, exclude=q)
        assert q not in [c.template_id for c in loo]
        assert [c.template_id for c in loo] == [c.template_id for c in rest.ranked(test, 8)]


@pytest.mark.slow
def test_labels_are_the_same_with_the_fast_matcher_and_pymatgens(data):
    """The fast get_rms_dist (issue 30) decides every label as pymatgen's early-stopping steps do:
    24 training crystals x 12 candidates here; every label of both datasets in scripts/check_template_labels.py."""
    from atomgenbench.runners.template import labels as labels_mod

    index = CandidateIndex(data)
    ids = labels_mod.label_order(data.train_ids)[:24]
    decided = {}
    for implementation in ("pymatgen", "fast"):
        tasks, _ = labels_mod._tasks(data, index, ids, 12, implementation)
        decided[implementation] = [labels_mod._label_query(task) for task in tasks]
    assert decided["fast"] == decided["pymatgen"]
    positives = sum(map(sum, decided["fast"]))
    assert 0 < positives < 24 * 12  # both decisions occur


def test_held_out_labels_not_known_leave_one_out_are_matched(data):
    """A held-out crystal whose candidates from the smaller pool were never labelled gets them matched
    (a full cpu fit needs this; the smoke fit's held-out candidates are mostly labelled already)."""
    from atomgenbench.runners.template.runner import TemplateCounts

    held = set(data.train_ids[:3])
    symmetry = {i: [1, "triclinic"] for i in data.train_ids}
    groups = holdout.held_out_groups(
        data,
        {q: [] for q in held},  # nothing known: every candidate is matched here
        held,
        4,
        lambda index, lbls: TemplateCounts(data, index, symmetry, lbls).view(None),
        lambda counts: float(sum(counts.values())),
        1,
    )
    assert set(groups) == held
    for x, y in groups.values():
        assert len(x) == len(y) == 4 and set(y) <= {0, 1}
    assert any(y.any() for _, y in groups.values())  # a real match among them


def test_polymorph_features_see_the_training_crystals_of_the_query_composition_only(data):
    """A training crystal with a sibling of its composition: leave-one-out, its own-composition candidate
    (the sibling) rebuilds a polymorph; a crystal whose composition is unique in training has none."""
    from atomgenbench.runners.template.features import feature_names, pair_features
    from atomgenbench.runners.template.polymorphs import PolymorphTable
    from atomgenbench.runners.template.runner import TemplateCounts

    index = CandidateIndex(data)
    symmetry = {i: [1, "triclinic"] for i in data.train_ids}
    counts = TemplateCounts(data, index, symmetry, {}, PolymorphTable(data, cache=False))
    names = feature_names()
    col = {n: names.index(n) for n in ("polymorph_prototype", "rebuilds_polymorph", "identical")}
    pair = next(m for m in index.members.values() if len(m) == 2)
    unique = next(m[0] for m in index.members.values() if len(m) == 1)
    q = pair[0]
    test = cell_counts(data.structure(q))
    cands = index.ranked(test, 6, exclude=q)
    x = pair_features(test, cands, counts.view(q), lambda c: float(sum(c.values())))
    own = [i for i, c in enumerate(cands) if c.template_id == pair[1]]
    assert own and x[own[0], col["identical"]] == 1
    assert x[own[0], col["rebuilds_polymorph"]] == 1 and x[own[0], col["polymorph_prototype"]] == 1
    test = cell_counts(data.structure(unique))
    cands = index.ranked(test, 6, exclude=unique)
    x = pair_features(test, cands, counts.view(unique), lambda c: float(sum(c.values())))
    assert not x[:, col["rebuilds_polymorph"]].any() and not x[:, col["polymorph_prototype"]].any()


class _Fixed:
    """A stand-in model whose probability is the feature column ``col``."""

    def __init__(self, col: int):
        self.col = col

    def predict_proba(self, x):
        return np.stack([1 - x[:, self.col], x[:, self.col]], axis=1)


def _query(identical: list[int], score: list[float], label: list[int]) -> tuple:
    x = np.zeros((len(label), 6))
    x[:, 0] = score
    x[:, scorer.RANK_COLUMN] = range(len(label))
    x[:, scorer.IDENTICAL_COLUMN] = identical
    return x, np.array(label)


def test_the_gate_keeps_the_learned_order_only_where_it_won():
    model = _Fixed(0)
    groups = {
        # seen: the rule picks the identical-formula candidate 0 (wrong), the model candidate 1 (right)
        "a": _query([1, 0], [0.1, 0.9], [0, 1]),
        "b": _query([1, 0, 0], [0.2, 0.1, 0.8], [0, 0, 1]),
        # unseen: one win each, a tie, so nearest's rule stays
        "c": _query([0, 0], [0.1, 0.9], [0, 1]),
        "d": _query([0, 0], [0.1, 0.9], [1, 0]),
    }
    gate, report = holdout.choose_gate(model, groups)
    # seen: the model's first choice wins 2 to 0; behind it both orders find every match (a tie: nearest's tail)
    assert gate == {"seen": "scorer-first", "unseen": "nearest"}
    assert report["seen"]["nearest_rule"] == 0 and report["seen"]["scorer"] == 2
    assert report["seen"]["scorer@5"] == report["seen"]["scorer-first@5"] == 2
    assert report["unseen"]["nearest_rule"] == report["unseen"]["scorer"] == 1
    assert scorer.ranked(model, gate, groups["c"][0]) == [0, 1]  # gated: nearest's order
    assert scorer.ranked(model, gate, groups["b"][0]) == [2, 0, 1]  # the model's first, then nearest's
    assert scorer.ranked(model, {"seen": "scorer"}, groups["b"][0]) == [2, 0, 1]
    assert scorer.ranked(model, {"seen": "scorer"}, groups["a"][0]) == [1, 0]

    # a seen query whose only match is nearest's 7th candidate, the model's second choice
    groups["e"] = _query([1, 0, 0, 0, 0, 0, 0], [0, 0.1, 0.1, 0.1, 0.1, 0.9, 0.8], [0, 0, 0, 0, 0, 0, 1])
    gate, report = holdout.choose_gate(model, groups)
    assert report["seen"]["scorer@5"] == 3 and report["seen"]["scorer-first@5"] == 2
    assert gate["seen"] == "scorer"


@pytest.mark.slow
def test_the_smoke_gate_comes_from_held_out_crystals_and_gives_nearest_where_closed(tmp_path):
    preds = api.run("template", BENCH, "smoke", tmp_path / "t", seed=0, progress=False, samples=3)
    ck = json.loads((tmp_path / "t" / "work" / "template.json").read_text())
    report = ck["held_out_validation"]
    assert report["queries"] == ck["validation"]["validation_queries"] > 0
    for kind in holdout.KINDS:
        won = report[kind]["scorer"] > report[kind]["nearest_rule"]
        assert ck["gate"][kind] == report[kind]["chosen"] == ("scorer" if won else "nearest")
    assert ck["gate"] == {"seen": "nearest", "unseen": "nearest"}  # 60 labels: the rule won (7 to 4 of 11)
    nearest = api.run("nearest", BENCH, "smoke", tmp_path / "n", progress=False, samples=3)
    assert preds.structures == nearest.structures and preds.more_samples == nearest.more_samples
