"""Lattice conventions for CDVAE: parameters <-> matrices, frac <-> cart, scaling.

Matrices hold lattice vectors as **rows** (``cart = frac @ L``), built from
(a, b, c, α, β, γ) in pymatgen's ``Lattice.from_parameters`` convention
(c along z, a in the xz-plane). The lattice head predicts
``[a, b, c] / N^(1/3)`` and the three angles (degrees), each standardised with
the training set's mean and population standard deviation (plus a small eps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

EPS = 1e-6


def params_to_matrix(lengths: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """(B,3) lengths in Å and (B,3) angles in degrees -> (B,3,3) row-vector matrices."""
    alpha, beta, gamma = torch.deg2rad(angles).unbind(-1)
    a, b, c = lengths.unbind(-1)
    val = (torch.cos(alpha) * torch.cos(beta) - torch.cos(gamma)) / (torch.sin(alpha) * torch.sin(beta))
    gamma_star = torch.arccos(val.clamp(-1.0, 1.0))
    zero = torch.zeros_like(a)
    va = torch.stack([a * torch.sin(beta), zero, a * torch.cos(beta)], -1)
    vb = torch.stack(
        [
            -b * torch.sin(alpha) * torch.cos(gamma_star),
            b * torch.sin(alpha) * torch.sin(gamma_star),
            b * torch.cos(alpha),
        ],
        -1,
    )
    vc = torch.stack([zero, zero, c], -1)
    return torch.stack([va, vb, vc], -2)


def matrix_to_params(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,3,3) row-vector matrices -> ((B,3) lengths in Å, (B,3) angles in degrees)."""
    lengths = matrix.norm(dim=-1)
    a, b, c = matrix.unbind(-2)

    def angle(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))
        return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))

    return lengths, torch.stack([angle(b, c), angle(a, c), angle(a, b)], -1)


def frac_to_cart(frac: torch.Tensor, lattice_per_atom: torch.Tensor) -> torch.Tensor:
    """(N,3) fractional coordinates with (N,3,3) per-atom lattices -> (N,3) Cartesian Å."""
    return torch.einsum("ni,nij->nj", frac, lattice_per_atom)


def cart_to_frac(cart: torch.Tensor, lattice_per_atom: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`frac_to_cart` (not wrapped into [0, 1))."""
    return torch.einsum("ni,nij->nj", cart, torch.linalg.inv(lattice_per_atom))


def volume(matrix: torch.Tensor) -> torch.Tensor:
    """Signed cell volumes (B,) in Å^3."""
    return torch.linalg.det(matrix)


def usable(matrix: torch.Tensor, num_atoms: torch.Tensor, min_volume_per_atom: float = 1.0) -> torch.Tensor:
    """(B,) True where a cell is finite and not degenerate (volume per atom above the floor, Å^3)."""
    finite = torch.isfinite(matrix).flatten(1).all(-1)
    vol = torch.linalg.det(
        torch.where(finite[:, None, None], matrix, torch.eye(3, dtype=matrix.dtype, device=matrix.device))
    )
    return finite & (vol > min_volume_per_atom * num_atoms.to(vol.dtype))


@dataclass
class LatticeScaler:
    """Standardises ``[lengths / N^(1/3), angles]`` with training-set statistics."""

    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, lengths: torch.Tensor, angles: torch.Tensor, num_atoms: torch.Tensor) -> LatticeScaler:
        feats = lattice_features(lengths, angles, num_atoms)
        return cls(feats.mean(0).tolist(), (feats.std(0, unbiased=False) + EPS).tolist())

    def transform(self, lengths: torch.Tensor, angles: torch.Tensor, num_atoms: torch.Tensor) -> torch.Tensor:
        feats = lattice_features(lengths, angles, num_atoms)
        return (feats - feats.new_tensor(self.mean)) / feats.new_tensor(self.std)

    def inverse(self, scaled: torch.Tensor, num_atoms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled (B,6) -> (lengths Å, angles °) for crystals with ``num_atoms`` atoms."""
        feats = scaled * scaled.new_tensor(self.std) + scaled.new_tensor(self.mean)
        lengths = feats[:, :3] * num_atoms.to(feats.dtype).unsqueeze(-1) ** (1.0 / 3.0)
        return lengths, feats[:, 3:]

    def to_dict(self) -> dict:
        return asdict(self)


def lattice_features(lengths: torch.Tensor, angles: torch.Tensor, num_atoms: torch.Tensor) -> torch.Tensor:
    """Unscaled head target: ``[a, b, c] / N^(1/3)`` and angles (°), shape (B,6)."""
    scale = num_atoms.to(lengths.dtype).unsqueeze(-1) ** (1.0 / 3.0)
    return torch.cat([lengths / scale, angles], -1)
