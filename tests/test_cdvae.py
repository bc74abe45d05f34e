"""CDVAE runner: geometry, shapes/equivariance, Langevin sampling on an overfitted model, smoke run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice
from torch_geometric.data import Batch

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.runners.cdvae.data import crystal_record
from atomgenbench.runners.cdvae.graph import min_image_displacement, periodic_radius_graph
from atomgenbench.runners.cdvae.lattice import LatticeScaler, matrix_to_params, params_to_matrix
from atomgenbench.runners.cdvae.model import CDVAE, CDVAEConfig, geometric_sigmas
from atomgenbench.runners.cdvae.sampling import SamplerSettings, composition_types, langevin

TINY = dict(
    hidden=32, latent_dim=16, head_hidden=32, enc_blocks=2, dec_blocks=2, cutoff=6.0, max_neighbors=16, num_rbf=16
)


@pytest.fixture(scope="module")
def supercon():
    return load_benchmark("dft_3d_Tc_supercon")


@pytest.fixture(scope="module")
def sample_structures(supercon):
    ids = supercon.train_ids[:40]
    return [supercon.structure(i) for i in ids]


def test_params_to_matrix_matches_pymatgen(sample_structures):
    for s in sample_structures:
        lat = s.lattice
        ours = params_to_matrix(
            torch.tensor([lat.abc], dtype=torch.float64), torch.tensor([lat.angles], dtype=torch.float64)
        )[0].numpy()
        ref = Lattice.from_parameters(*lat.abc, *lat.angles).matrix
        np.testing.assert_allclose(ours, ref, atol=1e-8)
        lengths, angles = matrix_to_params(torch.tensor(lat.matrix[None]))
        np.testing.assert_allclose(lengths[0].numpy(), lat.abc, atol=1e-8)
        np.testing.assert_allclose(angles[0].numpy(), lat.angles, atol=1e-6)


def test_lattice_scaler_round_trip(sample_structures):
    lengths = torch.tensor([s.lattice.abc for s in sample_structures], dtype=torch.float32)
    angles = torch.tensor([s.lattice.angles for s in sample_structures], dtype=torch.float32)
    n = torch.tensor([len(s) for s in sample_structures])
    scaler = LatticeScaler.fit(lengths, angles, n)
    scaled = scaler.transform(lengths, angles, n)
    assert torch.allclose(scaled.mean(0), torch.zeros(6), atol=1e-4)
    back_l, back_a = scaler.inverse(scaled, n)
    assert torch.allclose(back_l, lengths, atol=1e-4) and torch.allclose(back_a, angles, atol=1e-3)


def test_min_image_matches_pymatgen(sample_structures):
    rng = np.random.default_rng(0)
    for s in sample_structures[:15]:
        lat = s.lattice
        a, b = rng.random((20, 3)), rng.random((20, 3))
        ours = (
            min_image_displacement(torch.tensor(a), torch.tensor(b), torch.tensor(lat.matrix).expand(20, 3, 3))
            .norm(dim=-1)
            .numpy()
        )
        ref = [lat.get_distance_and_image(x, y)[0] for x, y in zip(a, b)]
        np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_radius_graph_matches_pymatgen_neighbor_list(sample_structures):
    structures = sample_structures[:12]
    batch = Batch.from_data_list([crystal_record(s) for s in structures])
    lattice = torch.tensor(np.stack([s.lattice.matrix for s in structures]), dtype=torch.float32)
    frac = batch.frac_coords
    graph = periodic_radius_graph(frac, lattice, batch.num_atoms, cutoff=5.0, max_neighbors=0)
    offset = 0
    for _k, s in enumerate(structures):
        centre, _, _, dist = s.get_neighbor_list(5.0)
        mine = graph.dist[(graph.dst >= offset) & (graph.dst < offset + len(s))]
        assert len(mine) == len(dist), s.composition
        np.testing.assert_allclose(np.sort(mine.numpy()), np.sort(dist), atol=1e-4)
        offset += len(s)
    # max_neighbors keeps the nearest ones per centre
    capped = periodic_radius_graph(frac, lattice, batch.num_atoms, cutoff=5.0, max_neighbors=6)
    assert torch.bincount(capped.dst).max() <= 6
    for i in range(0, len(frac), 7):
        full = torch.sort(graph.dist[graph.dst == i]).values[:6]
        np.testing.assert_allclose(torch.sort(capped.dist[capped.dst == i]).values.numpy(), full.numpy(), atol=1e-5)


def random_rotation(seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed)))
    return q * torch.sign(torch.linalg.det(q))


def tiny_model(structures, **overrides) -> CDVAE:
    lengths = torch.tensor([s.lattice.abc for s in structures], dtype=torch.float32)
    angles = torch.tensor([s.lattice.angles for s in structures], dtype=torch.float32)
    n = torch.tensor([len(s) for s in structures])
    return CDVAE(CDVAEConfig(**{**TINY, **overrides}), LatticeScaler.fit(lengths, angles, n))


def test_shapes_and_equivariance(sample_structures):
    torch.manual_seed(0)
    structures = sample_structures[:5]
    model = tiny_model(structures, max_neighbors=500).eval()  # no truncation: ties would break exactness
    batch = Batch.from_data_list([crystal_record(s, 3.0) for s in structures])
    out = model.losses(batch)
    assert set(out) >= {"loss", "val_loss", "kl", "natom", "lattice", "composition", "coord", "type"}
    assert all(torch.isfinite(v) for v in out.values())
    lattice = params_to_matrix(batch.lengths, batch.angles)
    rot = random_rotation(1)
    args = (batch.frac_coords, batch.atom_types)
    mu, _ = model.encoder(*args, lattice, batch.num_atoms, batch.batch)
    mu_r, _ = model.encoder(*args, lattice @ rot.T, batch.num_atoms, batch.batch)
    assert mu.shape == (5, TINY["latent_dim"])
    assert torch.allclose(mu, mu_r, atol=1e-4)
    probs = torch.nn.functional.one_hot(batch.atom_types - 1, 100).float()
    sigma = torch.full((len(batch.atom_types),), 0.3)
    pred, logits = model.denoise(batch.frac_coords, probs, lattice, batch.num_atoms, batch.batch, mu, sigma)
    pred_r, logits_r = model.denoise(batch.frac_coords, probs, lattice @ rot.T, batch.num_atoms, batch.batch, mu, sigma)
    assert pred.shape == (len(batch.atom_types), 3) and logits.shape == (len(batch.atom_types), 100)
    assert torch.allclose(pred @ rot.T, pred_r, atol=1e-4)
    assert torch.allclose(logits, logits_r, atol=1e-4)


def test_geometric_sigmas():
    s = geometric_sigmas(10.0, 0.01, 10)
    assert len(s) == 10 and s[0] == pytest.approx(10.0) and s[-1] == pytest.approx(0.01)
    assert torch.allclose(s[1:] / s[:-1], (s[1] / s[0]).expand(9))
    assert geometric_sigmas(10.0, 0.01, 1).tolist() == pytest.approx([10.0])  # AtomBench's single level


def test_composition_types_rounds_to_counts():
    logits = torch.log(torch.tensor([[0.0] * 7 + [0.75] + [0.0] * 17 + [0.25] + [0.0] * 74]) + 1e-9)
    types = composition_types(logits, torch.tensor([4]))
    assert sorted(types.tolist()) == [8, 8, 8, 26]


def aligned_site_distance(frac, target, types, lattice) -> float:
    """Mean distance (Å) from each atom to the nearest same-species target site, best rigid translation."""
    lat = torch.as_tensor(lattice, dtype=torch.float64)
    frac, target = frac.double(), target.double()
    best = float("inf")
    for j in (types == types[0]).nonzero().flatten().tolist():
        shifted = torch.remainder(frac + (target[j] - frac[0]), 1.0)
        total = 0.0
        for i in range(len(frac)):
            same = (types == types[i]).nonzero().flatten()
            d = min_image_displacement(shifted[i].expand(len(same), 3), target[same], lat.expand(len(same), 3, 3))
            total += float(d.norm(dim=-1).min())
        best = min(best, total / len(frac))
    return best


def overfit(structure, num_noise_levels: int, steps: int = 400) -> CDVAE:
    torch.manual_seed(0)
    model = tiny_model([structure], num_noise_levels=num_noise_levels)
    batch = Batch.from_data_list([crystal_record(structure, 1.0)] * 16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = model.losses(batch, teacher_forcing=True)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.slow
def test_langevin_moves_toward_training_crystal_but_single_level_does_not(supercon):
    structure = supercon.structure("JVASP-4406")  # ScSi2 (AlB2 type), 3 atoms
    record = Batch.from_data_list([crystal_record(structure)])
    lattice = params_to_matrix(record.lengths, record.angles)
    settings = SamplerSettings(n_step_each=20, step_lr=1e-4)
    results = {}
    for levels in (10, 1):
        model = overfit(structure, levels)
        z, _, _ = model.encode(record, sample=False)
        gen = torch.Generator().manual_seed(7)
        start = torch.rand((len(structure), 3), generator=torch.Generator().manual_seed(7))
        sample = langevin(model, z, lattice, record.num_atoms, record.atom_types, settings, generator=gen)
        before = aligned_site_distance(start, record.frac_coords, record.atom_types, lattice[0])
        after = aligned_site_distance(sample.frac_coords, record.frac_coords, record.atom_types, lattice[0])
        moved = float(
            min_image_displacement(start, sample.frac_coords, lattice[0].expand(len(start), 3, 3)).norm(dim=-1).mean()
        )
        results[levels] = (before, after, moved)
    before, after, _ = results[10]
    assert after < 0.25 and after < 0.4 * before, results
    before1, after1, moved1 = results[1]
    assert after1 > 0.7 * before1 and moved1 < 0.5, results  # the degenerate setting leaves atoms where they began


@pytest.mark.slow
def test_smoke_run_writes_all_test_ids(tmp_path, supercon, smoke_runs):
    from atomgenbench.benchmarks.atomgen.predictions import Predictions

    preds = Predictions.read(smoke_runs.copy("cdvae", tmp_path / "out"))  # `run cdvae -p smoke`, made once
    assert set(preds.ids) == set(supercon.test_ids) and len(preds.ids) == 105
    assert sum(1 for t in preds.structures.values() if t) + len(preds.failures) == 105
    assert (tmp_path / "out" / "predictions.csv").is_file()
    # predicted (not forced) types and counts also give a row per id
    from atomgenbench.benchmarks.atomgen.structures import parse_poscar
    from atomgenbench.runners.base import RunConfig
    from atomgenbench.runners.cdvae.runner import CDVAERunner

    runner = CDVAERunner()
    config = RunConfig(
        model="cdvae",
        benchmark=supercon.name,
        preset="smoke",
        out_dir=tmp_path / "out",
        params=runner.resolve_params("smoke", {"force_types": False}),
        progress=False,
    )
    ids = supercon.test_ids[:10]
    ckpt = tmp_path / "out" / "work" / "checkpoints" / "final.ckpt"
    got = list(runner.reconstruct(supercon, ckpt, config, ids=ids))
    assert [r.id for r in got] == ids
    for rec in got:
        assert (rec.structure is None) != (rec.failure is None)
        if rec.structure:
            parse_poscar(rec.structure)
    # a resumed run asks for the missing ids only: the same fixed batch and noise, the same text
    config.params = runner.resolve_params("smoke")
    tail = supercon.test_ids[-4:]
    again = {r.id: r.structure or "" for r in runner.reconstruct(supercon, ckpt, config, ids=tail)}
    assert again == {k: preds.structures[k] for k in tail}
    assert runner.reconstruct_metadata(ckpt, config)["sigmas"][0] == pytest.approx(10.0)


def test_degenerate_cells_are_flagged_and_become_failure_reasons():
    from atomgenbench.runners.cdvae.lattice import usable
    from atomgenbench.runners.cdvae.runner import finish

    good = params_to_matrix(torch.tensor([[4.0, 4.0, 4.0]]), torch.tensor([[90.0, 90.0, 90.0]]))
    flat = params_to_matrix(torch.tensor([[4.0, 4.0, 4.0]]), torch.tensor([[120.0, 120.0, 120.0]]))
    nan = torch.full((1, 3, 3), float("nan"))
    assert usable(torch.cat([good, flat, nan]), torch.tensor([2, 2, 2])).tolist() == [True, False, False]
    frac, types = torch.rand(2, 3), torch.tensor([26, 8])
    text, reason = finish(frac, types, good[0], torch.tensor([4.0] * 3), torch.tensor([90.0] * 3))
    assert reason is None and "Fe" in text
    text, reason = finish(frac, types, flat[0], torch.tensor([4.0] * 3), torch.tensor([120.0] * 3))
    assert text == "" and "degenerate" in reason
