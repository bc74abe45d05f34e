"""Periodic graphs built on the fly in torch (no torch-cluster / pyg-lib needed).

For a batch of crystals given as fractional coordinates, per-crystal lattices and
atom counts, :func:`periodic_radius_graph` enumerates every same-crystal atom pair
under every lattice translation in {-k..k}^3 (k large enough for the cutoff given
the cell's interplanar spacings, capped at ``max_image``), keeps those within
``cutoff`` and then the ``max_neighbors`` nearest per centre atom.
:func:`min_image_displacement` gives the shortest periodic vector between two
sets of fractional positions (used as the denoising target).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from atomgenbench.runners.cdvae.lattice import frac_to_cart

#: all 27 translations in {-1, 0, 1}^3
NEIGHBOUR_SHIFTS = torch.tensor(list(itertools.product((-1, 0, 1), repeat=3)), dtype=torch.float32)


@dataclass
class PeriodicGraph:
    """Directed edges ``src -> dst`` with ``vec = r_src + T - r_dst`` (Cartesian Å)."""

    src: torch.Tensor  # (E,) neighbour atom index
    dst: torch.Tensor  # (E,) centre atom index (the one that receives the message)
    vec: torch.Tensor  # (E,3)
    dist: torch.Tensor  # (E,)


def batch_index(num_atoms: torch.Tensor) -> torch.Tensor:
    """Crystal index of every atom, (sum N,)."""
    return torch.repeat_interleave(torch.arange(len(num_atoms), device=num_atoms.device), num_atoms)


def interplanar_spacings(lattice: torch.Tensor) -> torch.Tensor:
    """(B,3,3) -> (B,3) distances between lattice planes (V / |b x c| etc.)."""
    a, b, c = lattice.unbind(-2)
    vol = torch.linalg.det(lattice).abs()
    areas = torch.stack(
        [
            torch.cross(b, c, dim=-1).norm(dim=-1),
            torch.cross(c, a, dim=-1).norm(dim=-1),
            torch.cross(a, b, dim=-1).norm(dim=-1),
        ],
        -1,
    )
    return vol.unsqueeze(-1) / areas.clamp_min(1e-12)


def same_crystal_pairs(num_atoms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All ordered (i, j) atom pairs within each crystal, and each pair's crystal index."""
    dev = num_atoms.device
    squares = num_atoms * num_atoms
    crystal = torch.repeat_interleave(torch.arange(len(num_atoms), device=dev), squares)
    pair_start = torch.cumsum(squares, 0) - squares
    atom_start = torch.cumsum(num_atoms, 0) - num_atoms
    q = torch.arange(int(squares.sum()), device=dev) - pair_start[crystal]
    n = num_atoms[crystal]
    return atom_start[crystal] + q // n, atom_start[crystal] + q % n, crystal


def image_reach(lattice: torch.Tensor, cutoff: float, max_image: int) -> torch.Tensor:
    """(B,3) largest translation index needed per axis for wrapped pair offsets in [-0.5, 0.5).

    A pair at wrapped fractional offset Δf and translation n is at least
    ``|Δf_i + n_i| · d_i`` apart (d_i: interplanar spacing), so only
    ``|n_i| < cutoff / d_i + 0.5`` can lie within the cutoff.
    """
    bound = cutoff / interplanar_spacings(lattice) + 0.5
    return (torch.ceil(bound) - 1).clamp(0, max_image).long()


def periodic_radius_graph(
    frac: torch.Tensor,
    lattice: torch.Tensor,
    num_atoms: torch.Tensor,
    cutoff: float,
    max_neighbors: int,
    max_image: int = 4,
) -> PeriodicGraph:
    """Radius graph with periodic images; ``lattice`` is (B,3,3), ``frac`` (sum N,3).

    Each crystal enumerates only its own translations (so large cells cost one image),
    self-pairs at zero translation are excluded, and each centre keeps at most
    ``max_neighbors`` nearest neighbours (``0``: no limit).
    """
    dev = frac.device
    with torch.no_grad():
        reach = image_reach(lattice, cutoff, max_image)  # (B,3)
        width = 2 * reach + 1
        n_img = width.prod(-1)  # (B,)
        dst, src, crystal = same_crystal_pairs(num_atoms)
        per_pair = n_img[crystal]
        cand = torch.repeat_interleave(torch.arange(len(dst), device=dev), per_pair)
        m = torch.arange(len(cand), device=dev) - (torch.cumsum(per_pair, 0) - per_pair)[cand]
        cc = crystal[cand]
        w, r = width[cc], reach[cc]
        shift = torch.stack([m // (w[:, 1] * w[:, 2]), (m // w[:, 2]) % w[:, 1], m % w[:, 2]], -1) - r
        dfrac = frac[src] - frac[dst]
        dfrac = dfrac - torch.round(dfrac)
        f = dfrac[cand] + shift.to(frac.dtype)
        lat = lattice[cc]
        vec = torch.einsum("ci,cij->cj", f, lat)
        dist = vec.norm(dim=-1)
        is_self = (src[cand] == dst[cand]) & (shift.abs().sum(-1) == 0)
        keep = (~is_self & (dist < cutoff)).nonzero(as_tuple=True)[0]
        cand, f, dist = cand[keep], f[keep], dist[keep]
        src, dst = src[cand], dst[cand]
        if max_neighbors and len(dist):
            order = torch.argsort(dist, stable=True)
            order = order[torch.argsort(dst[order], stable=True)]
            counts = torch.bincount(dst, minlength=len(frac))
            first = torch.cumsum(counts, 0) - counts
            rank = torch.arange(len(order), device=dev) - first[dst[order]]
            order = order[rank < max_neighbors]
            src, dst, f, cand = src[order], dst[order], f[order], cand[order]
        edge_lattice = lattice[crystal[cand]]
    # recompute the kept vectors with autograd intact (cheap: only E edges)
    shift_kept = f - (frac[src] - frac[dst]).detach()
    vec = torch.einsum("ei,eij->ej", frac[src] - frac[dst] + shift_kept, edge_lattice)
    return PeriodicGraph(src=src, dst=dst, vec=vec, dist=vec.norm(dim=-1))


def min_image_displacement(
    frac_from: torch.Tensor, frac_to: torch.Tensor, lattice_per_atom: torch.Tensor
) -> torch.Tensor:
    """Shortest Cartesian vector from ``frac_from`` to any periodic image of ``frac_to``.

    Wraps the fractional difference into [-0.5, 0.5) and then checks the 27
    neighbouring translations, which is exact for all but extremely skewed cells.
    """
    d = frac_to - frac_from
    d = d - torch.round(d)
    shifts = NEIGHBOUR_SHIFTS.to(d)
    cand = torch.einsum("nki,nij->nkj", d.unsqueeze(1) + shifts.unsqueeze(0), lattice_per_atom)
    best = cand.norm(dim=-1).argmin(dim=1)
    return cand[torch.arange(len(d), device=d.device), best]


def cart_positions(frac: torch.Tensor, lattice: torch.Tensor, num_atoms: torch.Tensor) -> torch.Tensor:
    """Cartesian positions of every atom, (sum N,3)."""
    return frac_to_cart(frac, lattice[batch_index(num_atoms)])


def gaussian_rbf(dist: torch.Tensor, cutoff: float, num: int) -> torch.Tensor:
    """(E,) distances -> (E,num) Gaussian radial features on [0, cutoff]."""
    centers = torch.linspace(0.0, cutoff, num, device=dist.device, dtype=dist.dtype)
    width = cutoff / max(num - 1, 1)
    return torch.exp(-(((dist.unsqueeze(-1) - centers) / width) ** 2))


def cosine_envelope(dist: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Smooth weight that goes from 1 at d = 0 to 0 at the cutoff."""
    return 0.5 * (torch.cos(math.pi * dist.clamp(max=cutoff) / cutoff) + 1.0)
