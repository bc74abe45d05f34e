"""Manifold geometry of FlowMM's crystal state (written from the published method).

A crystal is ``(types, frac, lattice)``:

* **types** are fixed (the composition is an input, never generated);
* **frac** lives on the flat torus [0, 1)^3 per atom. Tangent vectors are plain
  3-vectors; ``logmap`` wraps differences into [-1/2, 1/2) and ``expmap`` adds and
  wraps. Velocities have their per-crystal mean ("drift") removed so that a global
  translation of all atoms is not a degree of freedom;
* **lattice** is a Euclidean 6-vector ``[a, b, c, phi(alpha), phi(beta), phi(gamma)]``
  with lengths in Å and ``phi(theta) = logit((theta - 59.9°) / 60.2°)`` mapping the
  open interval (59.9°, 120.1°) onto the real line.

The lattice base distribution is log-normal lengths (per-axis mean/std of log length
on the training set) and uniform angles on (59.9°, 120.1°).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ANGLE_LO = 59.9  #: degrees; lower end of the angle interval
ANGLE_SPAN = 60.2  #: degrees; width of the angle interval (upper end 120.1°)
_EPS = 1e-6


def wrap(x: torch.Tensor) -> torch.Tensor:
    """Wrap real numbers into [-1/2, 1/2) (periodic with period 1)."""
    y = torch.remainder(x + 0.5, 1.0)
    y = torch.where(y >= 1.0, y - 1.0, y)  # float rounding of tiny negatives
    return y - 0.5


def logmap(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Shortest tangent vector at ``x`` pointing to ``y`` on the flat torus."""
    return wrap(y - x)


def expmap(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Move from ``x`` along tangent ``u`` and wrap back into [0, 1)."""
    y = torch.remainder(x + u, 1.0)
    return torch.where(y >= 1.0, y - 1.0, y)


def crystal_mean(v: torch.Tensor, batch: torch.Tensor, num_crystals: int) -> torch.Tensor:
    """Per-crystal mean of per-atom rows ``v`` (``batch`` maps atom -> crystal)."""
    total = v.new_zeros((num_crystals,) + v.shape[1:]).index_add_(0, batch, v)
    count = torch.bincount(batch, minlength=num_crystals).clamp(min=1).to(v.dtype)
    return total / count.view(-1, *([1] * (v.dim() - 1)))


def remove_drift(v: torch.Tensor, batch: torch.Tensor, num_crystals: int) -> torch.Tensor:
    """Project atom velocities onto zero per-crystal mean (translation invariance)."""
    return v - crystal_mean(v, batch, num_crystals)[batch]


def angles_to_phi(degrees: torch.Tensor) -> torch.Tensor:
    """phi(theta) = logit((theta - 59.9°) / 60.2°); angles are clamped just inside the interval."""
    p = ((degrees - ANGLE_LO) / ANGLE_SPAN).clamp(_EPS, 1.0 - _EPS)
    return torch.logit(p)


def phi_to_angles(phi: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`angles_to_phi`: degrees in (59.9°, 120.1°)."""
    return ANGLE_LO + ANGLE_SPAN * torch.sigmoid(phi)


def params_to_vector(lengths: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """(…, 3) lengths in Å and (…, 3) angles in degrees -> (…, 6) lattice vector."""
    return torch.cat([lengths, angles_to_phi(angles)], dim=-1)


def vector_to_params(vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(…, 6) lattice vector -> (lengths in Å, angles in degrees)."""
    return vec[..., :3], phi_to_angles(vec[..., 3:])


def metric_tensor(lengths: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Gram matrix L Lᵀ (B, 3, 3) of row-vector lattices: G_ij = l_i l_j cos(angle_ij).

    ``angles`` are (alpha, beta, gamma) = (b^c, a^c, a^b) in degrees. Rotation
    invariant, so no lattice matrix (and no orientation convention) is needed.
    """
    cos = torch.cos(torch.deg2rad(angles))
    ca, cb, cg = cos.unbind(-1)
    one = torch.ones_like(ca)
    cosm = torch.stack(
        [
            torch.stack([one, cg, cb], -1),
            torch.stack([cg, one, ca], -1),
            torch.stack([cb, ca, one], -1),
        ],
        -2,
    )
    return lengths.unsqueeze(-1) * lengths.unsqueeze(-2) * cosm


def cell_volume_factor(angles_deg: np.ndarray) -> float:
    """1 - cos²α - cos²β - cos²γ + 2 cosα cosβ cosγ; positive iff the angles form a cell."""
    ca, cb, cg = np.cos(np.deg2rad(np.asarray(angles_deg, dtype=float)))
    return float(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg)


@dataclass
class LatticeBase:
    """Base distribution of the lattice vector: log-normal lengths, uniform angles."""

    log_mean: torch.Tensor  # (3,)
    log_std: torch.Tensor  # (3,)

    @classmethod
    def fit(cls, lengths: np.ndarray) -> LatticeBase:
        """Per-axis mean/std of log length over training lattices ``lengths`` (n, 3)."""
        logs = np.log(np.asarray(lengths, dtype=np.float64))
        std = np.maximum(logs.std(axis=0), 1e-3)
        return cls(torch.tensor(logs.mean(axis=0), dtype=torch.float32), torch.tensor(std, dtype=torch.float32))

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """``n`` lattice vectors (n, 6) from the base distribution (drawn on CPU, then moved)."""
        z = torch.randn(n, 3, generator=generator)
        lengths = torch.exp(self.log_mean.cpu() + self.log_std.cpu() * z)
        u = torch.rand(n, 3, generator=generator).clamp(_EPS, 1 - _EPS)
        return torch.cat([lengths, torch.logit(u)], dim=-1).to(device)
