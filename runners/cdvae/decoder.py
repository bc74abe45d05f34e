"""Score network: noisy crystal + latent z + noise level σ -> coordinate score and type logits.

Plays the role of CDVAE's GemNet-T decoder with a compact message-passing
network over an on-the-fly periodic radius graph of the *noisy* structure.
Each atom starts from [type embedding (from a type distribution, so noisy types
work), z of its crystal, log σ features] projected to ``hidden``. After
``num_blocks`` interaction blocks two heads read it out:

* a rotation-equivariant vector head, ``pred_i = Σ_j w(h_i, h_j, d_ij) · unit(r_ij)``,
  the predicted Cartesian displacement *divided by σ* (target ≈ (x_true - x_noisy)/σ);
* a type head, ``Linear(hidden, MAX_Z)`` logits over Z = 1..MAX_Z.

Giving σ to the network (noise-conditional score network) is a small, documented
addition; CDVAE's decoder infers σ from the structure. Disable with
``sigma_features=False``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch_geometric.utils import scatter

from atomgenbench.runners.cdvae.encoder import MAX_Z, EdgeFeatures, InteractionBlock, PairMLP, mlp
from atomgenbench.runners.cdvae.graph import periodic_radius_graph

NUM_SIGMA_FEATURES = 8


def sigma_features(sigma: torch.Tensor) -> torch.Tensor:
    """(N,) noise levels -> (N,8) sinusoidal features of log σ."""
    freqs = torch.arange(1, NUM_SIGMA_FEATURES // 2 + 1, device=sigma.device, dtype=sigma.dtype)
    x = torch.log(sigma).unsqueeze(-1) * freqs * (math.pi / 8.0)
    return torch.cat([torch.sin(x), torch.cos(x)], -1)


class Decoder(nn.Module):
    """Noise-conditional score network conditioned on z (and optionally scaled T_c)."""

    def __init__(
        self,
        latent_dim: int = 128,
        hidden: int = 128,
        num_blocks: int = 3,
        cutoff: float = 7.0,
        max_neighbors: int = 20,
        num_rbf: int = 32,
        use_sigma: bool = True,
        cond_dim: int = 0,
    ):
        super().__init__()
        self.cutoff, self.max_neighbors, self.use_sigma = cutoff, max_neighbors, use_sigma
        self.type_embed = nn.Linear(MAX_Z, hidden, bias=False)
        extra = NUM_SIGMA_FEATURES if use_sigma else 0
        self.inp = mlp([hidden + latent_dim + cond_dim + extra, hidden, hidden])
        self.edges = EdgeFeatures(cutoff, num_rbf)
        self.blocks = nn.ModuleList(InteractionBlock(hidden, num_rbf, max_neighbors / 2) for _ in range(num_blocks))
        self.edge_weight = PairMLP(hidden, num_rbf, 1, act_last=False)
        self.type_head = nn.Linear(hidden, MAX_Z)

    def forward(
        self,
        frac: torch.Tensor,
        type_probs: torch.Tensor,
        lattice: torch.Tensor,
        num_atoms: torch.Tensor,
        batch: torch.Tensor,
        z: torch.Tensor,
        sigma_per_atom: torch.Tensor,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``type_probs`` is (N, MAX_Z) over Z = 1..MAX_Z; returns (score (N,3), type logits (N, MAX_Z))."""
        graph = periodic_radius_graph(frac, lattice, num_atoms, self.cutoff, self.max_neighbors)
        rbf = self.edges(graph)
        parts = [self.type_embed(type_probs), z[batch]]
        if cond is not None:
            parts.append(cond[batch])
        if self.use_sigma:
            parts.append(sigma_features(sigma_per_atom))
        h = self.inp(torch.cat(parts, -1))
        for block in self.blocks:
            h = block(h, graph, rbf)
        w = self.edge_weight(h, graph.src, graph.dst, rbf)
        unit = graph.vec / graph.dist.clamp_min(1e-6).unsqueeze(-1)
        pred = scatter(w * unit, graph.dst, dim=0, dim_size=len(h), reduce="sum")
        return pred, self.type_head(h)
