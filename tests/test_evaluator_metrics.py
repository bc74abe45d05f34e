"""Metric formulas on hand-made inputs, the oracle, and bad-input handling."""

from __future__ import annotations

import math
import time
import zipfile

import numpy as np
import pytest
from scipy.stats import entropy

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import escape, unescape
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.inputs.load import InputError, load_predictions
from atomgenbench.evaluator.metrics.evaluate import evaluate
from atomgenbench.evaluator.scoring import stats

BENCH = "dft_3d_Tc_supercon"


def test_mae_formula():
    assert stats.mae([1.0, 2.0, 4.0], [1.5, 2.0, 3.0]) == pytest.approx(0.5)
    assert math.isnan(stats.mae([], []))


def test_histogram_kld_formula_by_hand():
    target = np.array([0.0, 0.0, 1.0, 1.0])
    pred = np.array([0.0, 1.0, 1.0, 1.0])
    edges = stats.histogram_edges(target, bins=2)
    assert edges[0] == -np.inf and edges[-1] == np.inf and list(edges[1:-1]) == [0.0, 0.5, 1.0]
    # bins: under, [0,.5), [.5,1], over -> target counts 0,2,2,0 ; pred 0,1,3,0 ; eps 0.5, K 4
    p = (np.array([0, 2, 2, 0]) + 0.5) / 6
    q = (np.array([0, 1, 3, 0]) + 0.5) / 6
    assert stats.kld_histogram(pred, target, bins=2, epsilon=0.5) == pytest.approx(float(np.sum(p * np.log(p / q))))
    assert stats.kld_histogram(target, target, bins=2) == 0.0
    # predictions outside the target range land in the overflow bin and are penalised
    assert stats.kld_histogram(target + 10, target, bins=2) > 1.0


def test_histogram_edges_degenerate_targets():
    edges = stats.histogram_edges(np.array([90.0, 90.0, 90.0]), bins=4)
    assert edges[1] == pytest.approx(89.5) and edges[-2] == pytest.approx(90.5)


def test_kld_paired_matches_authors_definition():
    t, p = np.array([3.0, 4.0, 5.0]), np.array([3.3, 3.6, 5.0])
    expected = float(np.sum((t / t.sum()) * np.log((t / t.sum()) / (p / p.sum()))))
    assert stats.kld_paired(p, t) == pytest.approx(expected)
    assert stats.kld_paired(p, t) == pytest.approx(entropy(t / t.sum(), p / p.sum()))
    assert stats.kld_paired(2 * t, t) == pytest.approx(0.0, abs=1e-15)  # blind to uniform scale


def test_rmse_summaries():
    rms = np.array([0.1, np.nan, 0.3, np.nan])
    assert stats.matched_mean(rms) == pytest.approx(0.2)
    assert stats.match_rate(rms) == 0.5
    assert stats.penalised_mean(rms, 0.5) == pytest.approx((0.1 + 0.5 + 0.3 + 0.5) / 4)
    assert math.isnan(stats.matched_mean(np.array([np.nan])))


def test_bootstrap_is_seeded_and_brackets_the_mean():
    x = np.arange(100, dtype=float)
    a = stats.bootstrap_ci(lambda i: x[i].mean(), 100, seed=3, n_boot=300)
    b = stats.bootstrap_ci(lambda i: x[i].mean(), 100, seed=3, n_boot=300)
    assert a == b and a[0] < 49.5 < a[1]
    assert stats.bootstrap_ci(lambda i: 1.0, 1) is None


@pytest.fixture(scope="module")
def targets() -> dict[str, str]:
    return {k: unescape(str(v)) for k, v in load_splits(BENCH)["test"].items()}


def test_oracle_scores_perfectly(targets):
    result = evaluate(
        Predictions(BENCH, "oracle", dict(targets)),
        BENCH,
        executor=Executor.create("process", 2),
        n_boot=50,
        legacy_anonymous=True,
    )
    m = result.to_json()
    assert m["n_total"] == m["n_parsed"] == 105 and m["failures"] == {}
    assert m["rmse"]["value"] == pytest.approx(0.0, abs=1e-8)
    assert m["rmse"]["match_rate"] == 1.0 and m["rmse"]["n_matched"] == 105
    assert m["rmse_anonymous"]["match_rate"] == 1.0
    for p in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert m["mae"][p]["value"] == 0.0 and m["mae_raw"][p]["value"] == 0.0
        assert m["kld"][p]["value"] == 0.0
        assert m["kld_paired"][p]["value"] == pytest.approx(0.0, abs=1e-12)
    assert sum(g["n"] for g in m["by_crystal_system"].values()) == 105


def _bad_rows(targets):
    ids = list(targets)
    good = escape(targets[ids[0]])
    lines = targets[ids[1]].splitlines()
    nan = lines.copy()
    nan[2] = "nan 0 0"
    flat = lines.copy()
    flat[2:5] = ["1 0 0", "0 1 0", "0 0 0"]
    unknown = lines.copy()
    unknown[5] = " ".join("Qq" for _ in lines[5].split())
    return {
        ids[0]: good,
        ids[1]: "not a poscar",
        ids[2]: escape("\n".join(nan)),
        ids[3]: escape("\n".join(flat)),
        ids[4]: escape("\n".join(unknown)),
        ids[5]: "",
        ids[6]: escape(targets[ids[6]]),
        "JVASP-0": good,
    }


def _write_csv(path, rows):
    path.write_text("id,target,prediction\n" + "".join(f"{k},x,{v}\n" for k, v in rows.items()))
    return path


def test_bad_rows_are_recorded_never_dropped(tmp_path, targets):
    rows = _bad_rows(targets)
    ids = list(targets)
    preds = load_predictions(_write_csv(tmp_path / "p.csv", rows), BENCH)
    m = evaluate(preds, BENCH, executor=Executor.create("process", 1), n_boot=0).to_json()
    f = m["failures"]
    assert "not a VASP5 POSCAR" in f[ids[1]]
    assert "non-finite" in f[ids[2]]
    assert "volume" in f[ids[3]]
    assert ids[4] in f
    assert f[ids[5]] == "empty prediction"
    assert f["JVASP-0"] == "id not in the benchmark test split"
    assert f[ids[10]] == "missing from the predictions"
    assert len([k for k in f if k in targets]) == 105 - m["n_parsed"]
    assert m["rmse"]["n_total"] == 105 and m["rmse"]["n_matched"] <= m["n_parsed"] <= 2


def test_atom_cap(targets):
    k = next(iter(targets))
    m = evaluate(
        Predictions(BENCH, "x", {k: targets[k]}), BENCH, executor=Executor.create("process", 1), n_boot=0, max_atoms=1
    ).to_json()
    assert "exceeds the cap of 1" in m["failures"][k] and m["n_parsed"] == 0


class _SlowMatcher:
    """A StructureMatcher stand-in whose calls outlast the time limit (inherited by the forked workers)."""

    def get_rms_dist(self, *args):
        time.sleep(3)

    def get_rms_anonymous(self, *args):
        time.sleep(3)


def test_per_pair_time_limit_counts_as_unmatched(targets, monkeypatch):
    from atomgenbench.evaluator.scoring import matching

    k = next(iter(targets))
    monkeypatch.setattr(matching, "_matcher", lambda settings: _SlowMatcher())
    m = evaluate(
        Predictions(BENCH, "x", {k: targets[k]}),
        BENCH,
        executor=Executor.create("process", 1),
        n_boot=0,
        time_limit_s=0.5,
    ).to_json()
    assert "get_rms_dist exceeded the 0.5 s time limit" in m["failures"][k]
    assert m["rmse"]["n_matched"] == 0 and m["n_parsed"] == 1
    assert m["validity"]["structural"]["value"] > 0  # the other per-row metrics still ran


def test_time_limit_also_bounds_the_lattice_reduction(targets):
    k = next(iter(targets))
    m = evaluate(
        Predictions(BENCH, "x", {k: targets[k]}),
        BENCH,
        executor=Executor.create("process", 1),
        n_boot=0,
        time_limit_s=1e-6,
    ).to_json()
    assert "time limit" in m["failures"][k]
    assert m["rmse"]["n_matched"] == 0 and m["n_parsed"] == 0


def test_malformed_files_raise_input_error(tmp_path, targets):
    k = next(iter(targets))
    dup = tmp_path / "dup.csv"
    dup.write_text(f"id,target,prediction\n{k},x,a\n{k},x,b\n")
    with pytest.raises(InputError, match=r"dup.csv: row 3: duplicate id"):
        load_predictions(dup, BENCH)
    bad = tmp_path / "hdr.csv"
    bad.write_text("name,structure\nx,y\n")
    with pytest.raises(InputError, match="row 1: header"):
        load_predictions(bad, BENCH)
    two = tmp_path / "two.csv.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", "id,prediction\n")
        zf.writestr("b.csv", "id,prediction\n")
    with pytest.raises(InputError, match="exactly one CSV member"):
        load_predictions(two, BENCH)


def test_other_input_formats_agree(tmp_path, targets, contributions):
    from pymatgen.core import Structure

    ids = list(targets)[:3]
    folder = tmp_path / "files"
    folder.mkdir()
    Structure.from_str(targets[ids[0]], fmt="poscar").to(filename=str(folder / f"{ids[0]}.cif"))
    (folder / f"{ids[1]}.vasp").write_text(targets[ids[1]])
    (folder / ids[2]).write_text(targets[ids[2]])
    preds = load_predictions(folder, BENCH)
    assert sorted(preds.structures) == sorted(ids) and not preds.failures
    Predictions(BENCH, "std", {k: targets[k] for k in ids}).write(tmp_path / "std")
    std = load_predictions(tmp_path / "std", BENCH)
    assert std.structures == {k: targets[k] for k in ids}
    lb = load_predictions(contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip", BENCH)
    assert (
        len(lb.structures) == 105 and lb.model == "cdvae_invatoms" and "\\n" not in next(iter(lb.structures.values()))
    )


def test_extxyz_input(tmp_path, targets):
    ase_io = pytest.importorskip("ase.io")
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    ids = list(targets)[:2]
    frames = []
    for k in ids:
        atoms = AseAtomsAdaptor.get_atoms(Structure.from_str(targets[k], fmt="poscar"))
        atoms.info["id"] = k
        frames.append(atoms)
    ase_io.write(tmp_path / "p.extxyz", frames, format="extxyz")
    preds = load_predictions(tmp_path / "p.extxyz", BENCH)
    assert list(preds.structures) == ids
    m = evaluate(preds, BENCH, executor=Executor.create("process", 1), n_boot=0).to_json()
    assert m["rmse"]["n_matched"] == 2 and m["rmse"]["value"] == pytest.approx(0.0, abs=1e-6)
