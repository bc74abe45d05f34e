"""Geometry of the FlowMM runner: torus maps, the angle map, lattice base, conditional paths."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from atomgenbench.runners.flowmm.flow import conditional_path, flow_loss  # noqa: E402
from atomgenbench.runners.flowmm.geometry import (  # noqa: E402
    ANGLE_LO,
    ANGLE_SPAN,
    LatticeBase,
    angles_to_phi,
    cell_volume_factor,
    expmap,
    logmap,
    metric_tensor,
    phi_to_angles,
    remove_drift,
    wrap,
)

reals = st.floats(min_value=-50, max_value=50, allow_nan=False, width=64)
unit = st.floats(min_value=0.0, max_value=1.0, exclude_max=True, width=64)


@given(st.lists(reals, min_size=1, max_size=30))
def test_wrap_range_and_period(xs):
    x = torch.tensor(xs, dtype=torch.float64)
    w = wrap(x)
    assert torch.all(w >= -0.5) and torch.all(w < 0.5)
    # wrap changes x by an integer
    assert torch.allclose(torch.round(x - w), x - w, atol=1e-9)


def test_wrap_known_values():
    x = torch.tensor([0.0, 0.49, 0.5, -0.5, 0.75, -0.75, 1.25, -1e-12])
    expected = torch.tensor([0.0, 0.49, -0.5, -0.5, -0.25, 0.25, 0.25, -1e-12])
    assert torch.allclose(wrap(x), expected, atol=1e-7)


@given(unit, unit)
def test_logmap_is_shortest_and_expmap_inverts_it(a, b):
    x, y = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    u = logmap(x, y)
    assert abs(float(u)) <= 0.5
    # shortest of the periodic images of y - x
    assert abs(float(u)) <= min(abs(b - a), abs(b - a - 1), abs(b - a + 1)) + 1e-12
    y2 = expmap(x, u)
    assert 0.0 <= float(y2) < 1.0
    assert abs(float(wrap(y2 - y))) < 1e-9


def test_logmap_across_the_boundary():
    x, y = torch.tensor([0.95]), torch.tensor([0.05])
    assert torch.allclose(logmap(x, y), torch.tensor([0.1]), atol=1e-6)
    assert torch.allclose(logmap(y, x), torch.tensor([-0.1]), atol=1e-6)


@given(st.floats(min_value=ANGLE_LO + 1e-3, max_value=ANGLE_LO + ANGLE_SPAN - 1e-3))
def test_angle_map_roundtrip(theta):
    t = torch.tensor([theta], dtype=torch.float64)
    assert torch.allclose(phi_to_angles(angles_to_phi(t)), t, atol=1e-8)


@given(st.floats(min_value=-30, max_value=30))
def test_angle_map_inverse_other_way(phi):
    p = torch.tensor([phi], dtype=torch.float64)
    theta = phi_to_angles(p)
    assert ANGLE_LO <= float(theta) <= ANGLE_LO + ANGLE_SPAN
    if abs(phi) < 12:
        assert torch.allclose(angles_to_phi(theta), p, atol=1e-6)


def test_angle_map_fixed_points():
    assert float(angles_to_phi(torch.tensor(90.0))) == pytest.approx(0.0, abs=1e-6)
    assert float(phi_to_angles(torch.tensor(0.0))) == pytest.approx(90.0)
    assert float(angles_to_phi(torch.tensor(60.0))) < -5 and float(angles_to_phi(torch.tensor(120.0))) > 5


def test_remove_drift_zero_mean_per_crystal():
    v = torch.randn(7, 3)
    batch = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    out = remove_drift(v, batch, 3)
    for c in range(3):
        assert torch.allclose(out[batch == c].mean(0), torch.zeros(3), atol=1e-6)
    # idempotent projection
    assert torch.allclose(remove_drift(out, batch, 3), out, atol=1e-6)


def test_metric_tensor_matches_pymatgen():
    from pymatgen.core import Lattice

    lat = Lattice.from_parameters(3.1, 4.2, 5.3, 75.0, 95.0, 110.0)
    g = metric_tensor(
        torch.tensor([[3.1, 4.2, 5.3]], dtype=torch.float64), torch.tensor([[75.0, 95.0, 110.0]], dtype=torch.float64)
    )[0].numpy()
    assert np.allclose(g, lat.matrix @ lat.matrix.T, atol=1e-8)
    assert cell_volume_factor([75.0, 95.0, 110.0]) > 0
    assert cell_volume_factor([60.0, 60.0, 120.0]) <= 1e-12  # flat cell


def test_lattice_base_fit_and_sample():
    rng = np.random.default_rng(0)
    lengths = np.exp(rng.normal([1.0, 1.5, 2.0], [0.1, 0.2, 0.3], size=(5000, 3)))
    base = LatticeBase.fit(lengths)
    assert np.allclose(base.log_mean.numpy(), [1.0, 1.5, 2.0], atol=0.02)
    assert np.allclose(base.log_std.numpy(), [0.1, 0.2, 0.3], atol=0.02)
    s = base.sample(4000, torch.Generator().manual_seed(0))
    assert s.shape == (4000, 6) and torch.all(s[:, :3] > 0)
    angles = phi_to_angles(s[:, 3:])
    # uniform angles on (59.9, 120.1): mean ~ 90, std ~ 60.2 / sqrt(12)
    assert abs(float(angles.mean()) - 90.0) < 1.0
    assert abs(float(angles.std()) - ANGLE_SPAN / np.sqrt(12)) < 0.7


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_conditional_path_endpoints(seed):
    g = torch.Generator().manual_seed(seed)
    batch = torch.tensor([0, 0, 1, 1, 1])
    f0, f1 = torch.rand(5, 3, generator=g, dtype=torch.float64), torch.rand(5, 3, generator=g, dtype=torch.float64)
    l0, l1 = torch.randn(2, 6, generator=g, dtype=torch.float64), torch.randn(2, 6, generator=g, dtype=torch.float64)
    p0 = conditional_path(f0, l0, f1, l1, torch.zeros(2, dtype=torch.float64), batch)
    p1 = conditional_path(f0, l0, f1, l1, torch.ones(2, dtype=torch.float64), batch)
    assert torch.allclose(wrap(p0.frac - f0), torch.zeros_like(f0), atol=1e-9)
    assert torch.allclose(wrap(p1.frac - f1), torch.zeros_like(f1), atol=1e-9)
    assert torch.allclose(p0.lattice, l0) and torch.allclose(p1.lattice, l1)
    # targets: lattice x1 - x0; coordinates logmap(x0, x1) with drift removed
    assert torch.allclose(p0.u_lattice, l1 - l0)
    assert torch.allclose(p0.u_frac, remove_drift(logmap(f0, f1), batch, 2))
    # a half-way point lies half-way along the shortest torus path
    ph = conditional_path(f0, l0, f1, l1, torch.full((2,), 0.5, dtype=torch.float64), batch)
    assert torch.allclose(wrap(ph.frac - f0), 0.5 * logmap(f0, f1), atol=1e-9)


def test_flow_loss_weighting():
    from atomgenbench.runners.flowmm.data import CrystalBatch

    batch = CrystalBatch(
        types=torch.zeros(3, dtype=torch.long),
        frac=torch.zeros(3, 3),
        lattice=torch.zeros(1, 6),
        num_atoms=torch.tensor([3]),
        batch=torch.zeros(3, dtype=torch.long),
        edge_index=torch.zeros(2, 0, dtype=torch.long),
        tc=torch.zeros(1),
    )
    path = conditional_path(
        torch.zeros(3, 3), torch.zeros(1, 6), torch.zeros(3, 3), torch.zeros(1, 6), torch.zeros(1), batch.batch
    )
    out = flow_loss(torch.ones(3, 3), torch.full((1, 6), 2.0), path, batch)
    assert float(out["loss_frac"]) == pytest.approx(1.0)
    assert float(out["loss_lattice"]) == pytest.approx(4.0)
    assert float(out["loss"]) == pytest.approx((400 * 1.0 + 4.0) / 401)
