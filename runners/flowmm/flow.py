"""Riemannian flow matching on (flat torus)^N x R^6 (original implementation).

* base: uniform fractional coordinates, :class:`LatticeBase` lattices;
* conditional path (straight line on each factor): x_t = expmap(x0, t·logmap(x0, x1)),
  target u_t = logmap(x0, x1) with drift removed; lattice x_t = (1-t)x0 + t·x1, u_t = x1 - x0;
* loss: (cost_coord·loss_f + cost_lattice·loss_l) / (cost_coord + cost_lattice), published
  costs 400 : 1; loss_f = mean over crystals of Σ|Δv|²/(3N), loss_l = mean of Σ|Δv|²/6;
* sampler: Euler steps on t = linspace(0, 1, steps + 1), coordinate velocity optionally
  "anti-annealed" as v·(1 + slope·relu(t - offset)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from atomgenbench.runners.flowmm.data import CrystalBatch
from atomgenbench.runners.flowmm.geometry import (
    LatticeBase,
    crystal_mean,
    expmap,
    logmap,
    metric_tensor,
    remove_drift,
    vector_to_params,
)
from atomgenbench.runners.flowmm.network import CSPNet


@dataclass
class FlowPath:
    """Points and target velocities of the conditional path at times ``t``."""

    t: torch.Tensor  # (B,)
    frac: torch.Tensor  # (A, 3)
    lattice: torch.Tensor  # (B, 6)
    u_frac: torch.Tensor  # (A, 3)
    u_lattice: torch.Tensor  # (B, 6)


def sample_base_frac(num_atoms_total: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
    """Uniform fractional coordinates (A, 3) (drawn on CPU, then moved)."""
    return torch.rand(num_atoms_total, 3, generator=generator).to(device)


def conditional_path(frac0, lat0, frac1, lat1, t, batch) -> FlowPath:
    """Straight-line (geodesic) path between base and data at per-crystal times ``t``."""
    num_crystals = t.shape[0]
    u_frac = remove_drift(logmap(frac0, frac1), batch, num_crystals)
    frac_t = expmap(frac0, t[batch].unsqueeze(-1) * logmap(frac0, frac1))
    u_lat = lat1 - lat0
    lat_t = lat0 + t.unsqueeze(-1) * u_lat
    return FlowPath(t, frac_t, lat_t, u_frac, u_lat)


def sample_path(batch: CrystalBatch, base: LatticeBase, generator: torch.Generator | None = None) -> FlowPath:
    """Draw x0 and t ~ U(0, 1) per crystal and return the conditional path at t."""
    dev = batch.frac.device
    frac0 = sample_base_frac(batch.frac.shape[0], generator, dev)
    lat0 = base.sample(batch.num_crystals, generator, dev)
    t = torch.rand(batch.num_crystals, generator=generator).to(dev)
    return conditional_path(frac0, lat0, batch.frac, batch.lattice, t, batch.batch)


def flow_loss(
    v_frac, v_lat, path: FlowPath, batch: CrystalBatch, cost_coord: float = 400.0, cost_lattice: float = 1.0
) -> dict[str, torch.Tensor]:
    """Weighted squared error against the conditional target velocities."""
    per_atom = ((v_frac - path.u_frac) ** 2).sum(-1)
    loss_f = crystal_mean(per_atom, batch.batch, batch.num_crystals).mean() / 3.0
    loss_l = ((v_lat - path.u_lattice) ** 2).sum(-1).mean() / 6.0
    loss = (cost_coord * loss_f + cost_lattice * loss_l) / (cost_coord + cost_lattice)
    return {"loss": loss, "loss_frac": loss_f, "loss_lattice": loss_l}


class VelocityModel(nn.Module):
    """CSPNet plus the train-set standardisation, the lattice base and drift removal.

    Buffers (saved in checkpoints): lattice base (log-length mean/std), x_t lattice
    mean/std (input z-scoring), u_t lattice mean/std and u_t coordinate std
    (output de-standardisation).
    """

    def __init__(self, hidden=512, time_dim=256, layers=6, num_freqs=128, use_tc=False):
        super().__init__()
        self.net = CSPNet(hidden, time_dim, layers, num_freqs, use_tc)
        for name, shape, value in [
            ("base_log_mean", 3, 0.0),
            ("base_log_std", 3, 1.0),
            ("xt_mean", 6, 0.0),
            ("xt_std", 6, 1.0),
            ("ut_mean", 6, 0.0),
            ("ut_std", 6, 1.0),
            ("uf_std", 1, 1.0),
        ]:
            self.register_buffer(name, torch.full((shape,), value))

    @property
    def base(self) -> LatticeBase:
        return LatticeBase(self.base_log_mean, self.base_log_std)

    def set_statistics(self, stats: dict[str, torch.Tensor]) -> None:
        for key, value in stats.items():
            getattr(self, key).copy_(value)

    def forward(self, batch: CrystalBatch, frac_t, lat_t, t):
        lengths, angles = vector_to_params(lat_t)
        metric = metric_tensor(lengths.clamp(min=1e-2), angles)
        lat_z = (lat_t - self.xt_mean) / self.xt_std
        vf, vl = self.net(
            batch.types, frac_t, lat_z, metric, t, batch.num_atoms, batch.batch, batch.edge_index, batch.tc
        )
        vf = remove_drift(vf * self.uf_std, batch.batch, batch.num_crystals)
        vl = vl * self.ut_std + self.ut_mean
        return vf, vl


@torch.no_grad()
def estimate_statistics(
    batches, base: LatticeBase, passes: int = 5, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Standardisation statistics from ``passes`` sweeps of random (x0, t) over train batches."""
    lat_t, u_lat, u_frac = [], [], []
    for _ in range(max(1, passes)):
        for b in batches:
            p = sample_path(b, base, generator)
            lat_t.append(p.lattice)
            u_lat.append(p.u_lattice)
            u_frac.append(p.u_frac)
    lt, ul, uf = torch.cat(lat_t), torch.cat(u_lat), torch.cat(u_frac)
    return {
        "base_log_mean": base.log_mean,
        "base_log_std": base.log_std,
        "xt_mean": lt.mean(0),
        "xt_std": lt.std(0).clamp(min=1e-3),
        "ut_mean": ul.mean(0),
        "ut_std": ul.std(0).clamp(min=1e-3),
        "uf_std": uf.std().clamp(min=1e-3).reshape(1),
    }


@torch.no_grad()
def euler_sample(
    model: VelocityModel,
    batch: CrystalBatch,
    steps: int = 1000,
    anneal_slope: float = 0.0,
    anneal_offset: float = 0.0,
    generator: torch.Generator | None = None,
    progress=None,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
):
    """Integrate the learned flow from the base; returns (frac (A, 3), lattice (B, 6)).

    The start point is drawn from the base with ``generator`` unless ``init`` gives
    it as (frac, lattice). ``progress`` is an optional callable invoked once per step
    (e.g. ``tqdm.update``).
    """
    dev = batch.types.device
    if init is None:
        frac = sample_base_frac(batch.types.shape[0], generator, dev)
        lat = model.base.sample(batch.num_crystals, generator, dev)
    else:
        frac, lat = init[0].to(dev), init[1].to(dev)
    times = torch.linspace(0.0, 1.0, steps + 1, device=dev)
    for k in range(steps):
        t0, dt = times[k], times[k + 1] - times[k]
        t = t0.expand(batch.num_crystals)
        vf, vl = model(batch, frac, lat, t)
        vf = vf * (1.0 + anneal_slope * torch.relu(t0 - anneal_offset))
        frac = expmap(frac, dt * vf)
        lat = lat + dt * vl
        if progress is not None:
            progress(1)
    return frac, lat
