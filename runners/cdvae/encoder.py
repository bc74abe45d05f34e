"""Invariant message-passing encoder: periodic crystal -> (mu, logvar) of the VAE latent.

A compact stand-in for CDVAE's DimeNet++: atom-type embeddings updated by
``num_blocks`` interaction blocks whose messages depend only on the two atoms'
features and their distance (Gaussian radial basis times a cosine envelope), so
the latent is invariant to rotations, translations and the choice of periodic
images. Readout is the mean over atoms (as in CDVAE). With ``cell_dim > 0`` the
crystal's (standardised) cell parameters join the pooled features before the latent
projection: the distances to at most ``max_neighbors`` neighbours within the cutoff do
not determine the cell's shape, which DimeNet++'s angles and image-aware edges in
upstream CDVAE let it see.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter

from atomgenbench.runners.cdvae.graph import PeriodicGraph, cosine_envelope, gaussian_rbf, periodic_radius_graph

MAX_Z = 100


def mlp(dims: list[int], act_last: bool = False) -> nn.Sequential:
    """Linear layers with SiLU between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2 or act_last:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class EdgeFeatures(nn.Module):
    """Radial basis of edge lengths, multiplied by a smooth cutoff envelope."""

    def __init__(self, cutoff: float, num_rbf: int):
        super().__init__()
        self.cutoff, self.num_rbf = cutoff, num_rbf

    def forward(self, graph: PeriodicGraph) -> torch.Tensor:
        env = cosine_envelope(graph.dist, self.cutoff).unsqueeze(-1)
        return gaussian_rbf(graph.dist, self.cutoff, self.num_rbf) * env


class PairMLP(nn.Module):
    """MLP of [h_dst, h_src, rbf] computed as node projections gathered onto edges.

    ``Linear([h_i, h_j, e])`` equals ``A h_i + B h_j + C e``; projecting nodes first
    and gathering afterwards saves most of the first layer's per-edge cost.
    """

    def __init__(self, hidden: int, num_rbf: int, out: int, act_last: bool):
        super().__init__()
        self.a = nn.Linear(hidden, hidden)
        self.b = nn.Linear(hidden, hidden, bias=False)
        self.c = nn.Linear(num_rbf, hidden, bias=False)
        self.out = nn.Linear(hidden, out)
        self.act_last = act_last

    def forward(self, h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, rbf: torch.Tensor) -> torch.Tensor:
        x = nn.functional.silu(self.a(h)[dst] + self.b(h)[src] + self.c(rbf))
        x = self.out(x)
        return nn.functional.silu(x) if self.act_last else x


class InteractionBlock(nn.Module):
    """h_i <- LayerNorm(h_i + MLP([h_i, scaled sum_j MLP([h_i, h_j, rbf_ij])]))."""

    def __init__(self, hidden: int, num_rbf: int, norm: float):
        super().__init__()
        self.message = PairMLP(hidden, num_rbf, hidden, act_last=True)
        self.update = mlp([2 * hidden, hidden, hidden])
        self.norm = nn.LayerNorm(hidden)
        self.scale = 1.0 / norm

    def forward(self, h: torch.Tensor, graph: PeriodicGraph, rbf: torch.Tensor) -> torch.Tensor:
        msg = self.message(h, graph.src, graph.dst, rbf)
        agg = scatter(msg, graph.dst, dim=0, dim_size=len(h), reduce="sum") * self.scale
        return self.norm(h + self.update(torch.cat([h, agg], -1)))


class Encoder(nn.Module):
    """Periodic crystal -> per-crystal (mu, logvar) of dimension ``latent_dim``."""

    def __init__(
        self,
        hidden: int = 128,
        latent_dim: int = 128,
        num_blocks: int = 3,
        cutoff: float = 7.0,
        max_neighbors: int = 20,
        num_rbf: int = 32,
        cell_dim: int = 0,
    ):
        super().__init__()
        self.cutoff, self.max_neighbors = cutoff, max_neighbors
        self.embed = nn.Embedding(MAX_Z + 1, hidden)
        self.edges = EdgeFeatures(cutoff, num_rbf)
        self.blocks = nn.ModuleList(InteractionBlock(hidden, num_rbf, max_neighbors / 2) for _ in range(num_blocks))
        self.readout = mlp([hidden, hidden, hidden])
        self.cell = mlp([cell_dim, hidden, hidden]) if cell_dim else None
        width = 2 * hidden if cell_dim else hidden
        self.fc_mu = nn.Linear(width, latent_dim)
        self.fc_logvar = nn.Linear(width, latent_dim)

    def forward(
        self,
        frac: torch.Tensor,
        atom_types: torch.Tensor,
        lattice: torch.Tensor,
        num_atoms: torch.Tensor,
        batch: torch.Tensor,
        cell: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar); ``cell`` is the (B, cell_dim) cell features when ``cell_dim > 0``."""
        graph = periodic_radius_graph(frac, lattice, num_atoms, self.cutoff, self.max_neighbors)
        rbf = self.edges(graph)
        h = self.embed(atom_types)
        for block in self.blocks:
            h = block(h, graph, rbf)
        pooled = scatter(self.readout(h), batch, dim=0, dim_size=len(num_atoms), reduce="mean")
        if self.cell is not None:
            pooled = torch.cat([pooled, self.cell(cell)], -1)
        return self.fc_mu(pooled), self.fc_logvar(pooled)
