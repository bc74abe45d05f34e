"""FlowMM runner: network symmetries, data preparation, decoding and an end-to-end smoke run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark  # noqa: E402
from atomgenbench.benchmarks.atomgen.structures import parse_poscar  # noqa: E402
from atomgenbench.runners.flowmm.data import collate, composition_query, crystal_from_structure  # noqa: E402
from atomgenbench.runners.flowmm.flow import VelocityModel, euler_sample  # noqa: E402
from atomgenbench.runners.flowmm.geometry import ANGLE_LO, ANGLE_SPAN, phi_to_angles, wrap  # noqa: E402
from atomgenbench.runners.flowmm.runner import FlowMMRunner, decode_sample  # noqa: E402

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


@pytest.fixture(scope="module")
def batch(data):
    crystals = [crystal_from_structure(k, data.structure(k)) for k in data.train_ids[:12]]
    return collate(crystals)


def _model(seed=0, use_tc=False):
    torch.manual_seed(seed)
    return VelocityModel(hidden=32, time_dim=16, layers=2, num_freqs=8, use_tc=use_tc).double().eval()


def _state(batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    frac = torch.rand(batch.frac.shape, generator=g, dtype=torch.float64)
    lat = batch.lattice.double() + 0.1 * torch.randn(batch.lattice.shape, generator=g, dtype=torch.float64)
    t = torch.rand(batch.num_crystals, generator=g, dtype=torch.float64)
    return frac, lat, t


def test_training_crystals_are_canonical(data):
    for key in data.train_ids[:200]:
        c = crystal_from_structure(key, data.structure(key))
        assert c.num_atoms == len(data.structure(key))
        assert np.all(c.frac >= 0) and np.all(c.frac < 1)
        angles = phi_to_angles(torch.tensor(c.lattice[3:])).numpy()
        assert np.all(angles > ANGLE_LO) and np.all(angles < ANGLE_LO + ANGLE_SPAN)
        assert np.isclose(np.prod(c.lattice[:3]) > 0, True)


def test_collate_builds_all_pairs(batch):
    n = batch.num_atoms.tolist()
    assert batch.edge_index.shape[1] == sum(k * (k - 1) for k in n)
    src, dst = batch.edge_index
    assert torch.all(src != dst)
    assert torch.all(batch.batch[src] == batch.batch[dst])


def test_velocity_translation_invariant(batch):
    model = _model()
    frac, lat, t = _state(batch)
    vf, vl = model(batch, frac, lat, t)
    shift = torch.rand(batch.num_crystals, 3, dtype=torch.float64)[batch.batch]  # one shift per crystal
    vf2, vl2 = model(batch, torch.remainder(frac + shift, 1.0), lat, t)
    assert torch.allclose(vf, vf2, atol=1e-9) and torch.allclose(vl, vl2, atol=1e-9)
    # and the coordinate velocity has no drift
    from atomgenbench.runners.flowmm.geometry import crystal_mean

    assert torch.allclose(
        crystal_mean(vf, batch.batch, batch.num_crystals),
        torch.zeros(batch.num_crystals, 3, dtype=torch.float64),
        atol=1e-9,
    )


def test_velocity_permutation_equivariant(data):
    crystals = [crystal_from_structure(k, data.structure(k)) for k in data.train_ids[:40]]
    crystal = next(c for c in crystals if c.num_atoms >= 4 and len(set(c.types.tolist())) > 1)
    b = collate([crystal])
    model = _model(3)
    frac, lat, t = _state(b, 5)
    vf, vl = model(b, frac, lat, t)
    perm = torch.randperm(crystal.num_atoms, generator=torch.Generator().manual_seed(2))
    permuted = crystal_from_structure(crystal.id, data.structure(crystal.id))
    permuted.types = crystal.types[perm.numpy()]
    bp = collate([permuted])
    vfp, vlp = model(bp, frac[perm], lat, t)
    assert torch.allclose(vfp, vf[perm], atol=1e-9) and torch.allclose(vlp, vl, atol=1e-9)


def test_velocity_changes_with_inputs(batch):
    """Guard against a network that ignores its inputs (which would pass the symmetry tests)."""
    model = _model()
    frac, lat, t = _state(batch)
    vf, vl = model(batch, frac, lat, t)
    vf2, vl2 = model(batch, frac, lat, 1 - t)
    vf3, _ = model(batch, torch.remainder(frac + 0.1 * torch.rand_like(frac), 1.0), lat, t)
    assert not torch.allclose(vl, vl2) and not torch.allclose(vf, vf3)


def test_euler_sampler_keeps_torus_and_anneals(batch):
    model = _model().float()
    g = torch.Generator().manual_seed(0)
    frac, lat = euler_sample(model, batch, steps=5, generator=g)
    assert frac.shape == batch.frac.shape and lat.shape == batch.lattice.shape
    assert torch.all(frac >= 0) and torch.all(frac < 1) and torch.all(torch.isfinite(lat))
    frac_a, lat_a = euler_sample(model, batch, steps=5, anneal_slope=2.0, generator=torch.Generator().manual_seed(0))
    frac_b, lat_b = euler_sample(model, batch, steps=5, generator=torch.Generator().manual_seed(0))
    frac_c, lat_c = euler_sample(
        model, batch, steps=5, anneal_slope=2.0, anneal_offset=1.0, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(frac_c, frac_b) and torch.equal(lat_c, lat_b)  # relu(t - 1) = 0 on [0, 1)
    assert not torch.allclose(wrap(frac_a - frac_b), torch.zeros_like(frac_a), atol=1e-6)


def test_decode_sample_valid_and_failures():
    text, reason = decode_sample(
        [29, 29], np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]), np.array([3.0, 3.0, 3.0, 0.0, 0.0, 0.0])
    )
    assert reason is None and len(parse_poscar(text)) == 2
    assert parse_poscar(text).lattice.angles == pytest.approx((90.0, 90.0, 90.0), abs=1e-4)
    _, reason = decode_sample([29], np.array([[np.nan, 0, 0]]), np.zeros(6) + 3)
    assert "non-finite" in reason
    _, reason = decode_sample([29], np.zeros((1, 3)), np.array([-1.0, 3, 3, 0, 0, 0]))
    assert "non-positive" in reason
    _, reason = decode_sample([29], np.zeros((1, 3)), np.array([3.0, 3, 3, 20.0, 20.0, 20.0]))
    assert "do not form a cell" in reason


def test_composition_query_keeps_species(data):
    key = data.test_ids[0]
    q = composition_query(key, data.structure(key))
    assert [int(z) + 1 for z in q.types] == [site.specie.Z for site in data.structure(key)]


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        FlowMMRunner().resolve_params("cpu", {"hiddn": 3})


@pytest.mark.slow  # the shared smoke runs of the three models (tests/conftest.py)
def test_smoke_run_all_rows(tmp_path, data, smoke_runs):
    from atomgenbench.benchmarks.atomgen.predictions import Predictions

    out = smoke_runs.copy("flowmm", tmp_path / "smoke")  # `run flowmm -p smoke`, made once per session
    preds = Predictions.read(out)
    assert list(preds.structures) == data.test_ids
    for key, text in preds.structures.items():
        if text:
            s = parse_poscar(text)
            assert s.composition == data.structure(key).composition  # types and counts kept
        else:
            assert preds.failures[key]
    assert (out / "predictions.csv").is_file() and (out / "work" / "checkpoints" / "final.ckpt").is_file()
    # the checkpoint carries the EMA weights and statistics; re-sampling with the same seed is reproducible
    from atomgenbench.runners.base import RunConfig

    runner = FlowMMRunner()
    config = RunConfig(
        model="flowmm",
        benchmark=BENCH,
        preset="smoke",
        params=runner.resolve_params("smoke"),
        out_dir=out,
        progress=False,
    )
    ids = data.test_ids[-5:]
    again = {r.id: r for r in runner.reconstruct(data, out / "work" / "checkpoints" / "final.ckpt", config, ids=ids)}
    assert list(again) == ids
    for i in ids:  # a resumed run asks for the missing ids only: same fixed batch and start points, same text
        assert (again[i].structure or "") == preds.structures[i]
    state = torch.load(out / "work" / "checkpoints" / "final.ckpt", map_location="cpu", weights_only=False)
    assert float(state["state_dict"]["ema.uf_std"]) == pytest.approx(0.27, abs=0.03)
    assert int(state["state_dict"]["ema_steps"]) > 0


def test_smoke_run_with_tc_conditioning(tmp_path, data):
    from atomgenbench.runners.api import run

    preds = run("flowmm", BENCH, "smoke", tmp_path / "tc", progress=False, overrides={"use_tc": True})
    assert list(preds.structures) == data.test_ids
    state = torch.load(tmp_path / "tc" / "work" / "checkpoints" / "final.ckpt", map_location="cpu", weights_only=False)
    assert state["hyper_parameters"]["use_tc"] is True
    assert any(k.startswith("model.net.tc_embed") for k in state["state_dict"])


def test_fit_resumes_from_last_checkpoint(tmp_path, data):
    from atomgenbench.runners.base import RunConfig

    runner = FlowMMRunner()

    def config(epochs):
        params = runner.resolve_params("smoke", {"max_epochs": epochs})
        return RunConfig(
            model="flowmm", benchmark=BENCH, preset="smoke", params=params, out_dir=tmp_path, progress=False
        )

    final = runner.fit(data, config(1))
    first = torch.load(final, map_location="cpu", weights_only=False)
    assert first["epoch"] == 1 or first["global_step"] > 0
    final.unlink()  # an interrupted longer run: last.ckpt is there, final.ckpt is not
    final = runner.fit(data, config(2))
    second = torch.load(final, map_location="cpu", weights_only=False)
    assert second["global_step"] == 2 * first["global_step"]  # continued, not restarted
    last = torch.load(tmp_path / "work" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert int(last["state_dict"]["ema_steps"]) == last["global_step"] == second["global_step"]
