"""The training policy shared by AtomGPT, CDVAE and FlowMM, learning-curve snapshots, and CDVAE's cell input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.runners.api import run
from atomgenbench.runners.base import RunConfig
from atomgenbench.runners.training import snapshots, split_train_val, truncate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return load_benchmark("dft_3d_Tc_supercon")


def test_split_is_seeded_disjoint_and_order_free(data):
    ids = list(data.train_ids)
    train, val = split_train_val(ids, 0.1, 0)
    assert (train, val) == split_train_val(ids, 0.1, 0)
    assert not set(train) & set(val) and len(train) + len(val) == len(ids)
    assert len(val) == round(0.1 * len(ids))
    assert [i for i in ids if i in set(train)] == train  # the caller's order is kept
    assert set(split_train_val(ids[::-1], 0.1, 0)[1]) == set(val)  # the set does not depend on the order
    assert set(split_train_val(ids, 0.1, 1)[1]) != set(val)  # the run seed chooses it
    assert split_train_val(ids[:1], 0.1, 0) == (ids[:1], [])
    assert split_train_val(ids[:5], 0.0, 0) == (ids[:5], [])


def test_truncate_rule():
    train, val = list(range(100)), list(range(100, 120))
    assert truncate(train, val, 0) == (train, val)
    assert truncate(train, val, 16) == (train[:16], val[:2])
    assert truncate(train, val, 4) == (train[:4], val[:1])


def _final_weights(out: Path) -> dict:
    fit = json.loads((out / "work" / "fit.json").read_text())
    return torch.load(out / "work" / fit["checkpoint"], map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_snapshots_are_saved_and_do_not_change_training(tmp_path):
    sets = {"max_steps": 6, "max_epochs": 3}
    run("cdvae", "dft_3d_Tc_supercon", "smoke", tmp_path / "plain", overrides=sets, progress=False)
    snap = {**sets, "snapshot_minutes": [0, 0.0001]}
    run("cdvae", "dft_3d_Tc_supercon", "smoke", tmp_path / "snap", overrides=snap, progress=False)
    config = RunConfig("cdvae", "dft_3d_Tc_supercon", "smoke", out_dir=tmp_path / "snap")
    found = snapshots(config)
    assert [p.name for p in found] == ["minute-0.ckpt", "minute-0.0001.ckpt"]
    when = json.loads(found[0].with_suffix(".json").read_text())
    assert when["minutes"] == 0 and when["epoch"] == 0 and when["step"] > 0 and when["train_seconds"] >= 0
    plain, with_snaps = _final_weights(tmp_path / "plain"), _final_weights(tmp_path / "snap")
    assert plain.keys() == with_snaps.keys()
    assert all(torch.equal(plain[k], with_snaps[k]) for k in plain)
    assert not snapshots(RunConfig("cdvae", "dft_3d_Tc_supercon", "smoke", out_dir=tmp_path / "plain"))


@pytest.mark.slow
def test_curve_scores_every_snapshot_and_the_final_predictions(tmp_path):
    out = tmp_path / "run"
    preds = run("cdvae", "dft_3d_Tc_supercon", "smoke", out, overrides={"snapshot_minutes": [0]}, progress=False)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import curves
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    result = curves.curve(out)
    first, final = result["points"]
    assert first["checkpoint"] == "minute-0.ckpt" and final["checkpoint"] == "final"
    matched_final = sum(1 for k in preds.structures if preds.structures[k])  # parsed rows bound the matches
    assert 0 <= final["n_matched"] <= matched_final and final["n_total"] == 105
    assert sum(s["n"] for s in final["strata"].values()) == 105
    assert first["val_loss"] is not None and set(first["niggli_mae"]) == {"a", "b", "c", "alpha", "beta", "gamma"}
    curves.plot(result, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 10_000


def test_cdvae_encoder_sees_the_cell_and_niggli_records():
    from pymatgen.core import Lattice, Structure

    from atomgenbench.runners.cdvae.data import crystal_record
    from atomgenbench.runners.cdvae.encoder import Encoder

    skewed = Structure(Lattice([[4, 0, 0], [4, 4, 0], [0, 0, 4]]), ["Nb", "Nb"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    raw, reduced = crystal_record(skewed), crystal_record(skewed, niggli=True)
    assert raw.angles[0].tolist() != pytest.approx([90.0, 90.0, 90.0])
    assert reduced.lengths[0].tolist() == pytest.approx(list(skewed.get_reduced_structure().lattice.abc), abs=1e-4)
    assert reduced.angles[0].tolist() == pytest.approx(list(skewed.get_reduced_structure().lattice.angles), abs=1e-3)
    torch.manual_seed(0)
    enc = Encoder(hidden=16, latent_dim=8, num_blocks=1, cutoff=5.0, max_neighbors=8, num_rbf=8, cell_dim=6).eval()
    args = (reduced.frac_coords, reduced.atom_types, torch.eye(3)[None] * 4.0, reduced.num_atoms, torch.zeros(2).long())
    mu_a, _ = enc(*args, cell=torch.zeros(1, 6))
    mu_b, _ = enc(*args, cell=torch.ones(1, 6))
    assert not torch.allclose(mu_a, mu_b)  # the same atoms and distances, another cell: another latent


def _rising_validation_module():
    """A one-weight module whose training moves the weight and whose validation loss rises every
    epoch, so the best-validation weights (epoch 0) and the last weights always differ."""
    import pytorch_lightning as pl

    class Rising(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, batch_idx):
            return ((self.w - 1.0) ** 2).sum()

        def validation_step(self, batch, batch_idx):
            self.log("val_loss", float(self.current_epoch))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Rising()


@pytest.mark.parametrize("choice", ["best", "last"])
def test_final_weights_chooses_best_or_last(tmp_path, choice):
    """fit_module's final.ckpt holds the best-validation weights by default and the last with "last"
    (FlowMM's cpu preset, whose flow loss stops tracking the match count)."""
    from torch.utils.data import DataLoader

    from atomgenbench.runners.flowmm.runner import PRESETS
    from atomgenbench.runners.training import fit_module

    assert PRESETS["cpu"]["final_weights"] == "last" and PRESETS["smoke"]["final_weights"] == "best"
    config = RunConfig("toy", "dft_3d_Tc_supercon", out_dir=tmp_path, progress=False)
    loader = DataLoader([torch.zeros(1)] * 4, batch_size=2)
    final = fit_module(_rising_validation_module(), loader, loader, config, {"max_epochs": 4, "final_weights": choice})

    def weight(name: str) -> float:
        state = torch.load(final.parent / f"{name}.ckpt", map_location="cpu", weights_only=True)
        return float(state["state_dict"]["w"][0])

    weights = {name: weight(name) for name in ("final", "last", "best")}
    assert weights["best"] == pytest.approx(1 - 0.8**2)  # epoch 0 (two SGD steps toward w = 1)
    assert weights["last"] == pytest.approx(1 - 0.8**8), weights  # last.ckpt: the end of training, for resuming
    assert weights["final"] == weights["last" if choice == "last" else "best"], weights
