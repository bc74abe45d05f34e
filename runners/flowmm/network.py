"""CSPNet-style velocity network for FlowMM (original implementation of the published spec).

Permutation-equivariant message passing over all ordered atom pairs of each crystal.
Inputs per edge (j -> i): the unit vector of L Lᵀ Δf, sin/cos Fourier features of the
wrapped fractional difference Δf = logmap(f_i, f_j), both endpoint states, the
z-scored lattice 6-vector and a num-atoms embedding (plus an optional T_c embedding).
Only coordinate *differences* enter, so the output is exactly invariant to a global
translation of the fractional coordinates.

The first layer of each edge MLP acts on a concatenation; it is computed as a sum
of per-part projections (node parts projected once per atom, crystal parts once per
crystal), which is the same linear map but much cheaper on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from atomgenbench.runners.flowmm.data import NUM_ELEMENTS
from atomgenbench.runners.flowmm.geometry import crystal_mean, logmap

MAX_NUM_ATOMS_EMBED = 100


def fourier_features(diff: torch.Tensor, num_freqs: int) -> torch.Tensor:
    """sin/cos of 2πk·diff for k = 0..num_freqs-1 over the 3 axes -> (E, 6·num_freqs)."""
    k = torch.arange(num_freqs, device=diff.device, dtype=diff.dtype)
    arg = 2 * math.pi * diff.unsqueeze(-1) * k  # (E, 3, K)
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1).flatten(1)


def mlp2(d_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())


class MessageLayer(nn.Module):
    """One pre-LayerNorm message-passing layer with a residual node update."""

    def __init__(self, hidden: int, edge_dim: int, crystal_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.w_dst = nn.Linear(hidden, hidden)
        self.w_src = nn.Linear(hidden, hidden, bias=False)
        self.w_edge = nn.Linear(edge_dim, hidden, bias=False)
        self.w_crystal = nn.Linear(crystal_dim, hidden, bias=False)
        self.edge_out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node_mlp = mlp2(2 * hidden, hidden)

    def forward(self, h, edge_feat, crystal_feat, batch, edge_index):
        hn = self.norm(h)
        src, dst = edge_index
        node_term = self.w_dst(hn) + self.w_crystal(crystal_feat)[batch]
        pre = node_term[dst] + self.w_src(hn)[src] + self.w_edge(edge_feat)
        msg = self.edge_out(pre)
        agg = hn.new_zeros(hn.shape).index_add_(0, dst, msg)
        deg = torch.bincount(dst, minlength=hn.shape[0]).clamp(min=1).to(hn.dtype)
        agg = agg / deg.unsqueeze(-1)
        return h + self.node_mlp(torch.cat([hn, agg], dim=-1))


class CSPNet(nn.Module):
    """Velocity network: (types, frac_t, z-scored lattice_t, metric, t) -> (v_frac, v_lattice).

    Outputs are in standardised units; :class:`atomgenbench.runners.flowmm.flow.VelocityModel`
    rescales them and removes the coordinate drift.
    """

    def __init__(
        self, hidden: int = 512, time_dim: int = 256, layers: int = 6, num_freqs: int = 128, use_tc: bool = False
    ):
        super().__init__()
        self.num_freqs = num_freqs
        self.use_tc = use_tc
        self.type_embed = nn.Linear(NUM_ELEMENTS, hidden, bias=False)
        self.time_embed = nn.Linear(1, time_dim, bias=False)
        self.node_in = nn.Linear(hidden + time_dim, hidden, bias=False)
        self.natoms_embed = nn.Linear(MAX_NUM_ATOMS_EMBED, hidden)
        self.tc_embed = nn.Linear(1, hidden, bias=False) if use_tc else None
        edge_dim = 3 + 6 * num_freqs
        crystal_dim = 6 + hidden
        self.layers = nn.ModuleList(MessageLayer(hidden, edge_dim, crystal_dim) for _ in range(layers))
        self.final_norm = nn.LayerNorm(hidden)
        self.coord_head = nn.Linear(hidden, 3, bias=False)
        self.lattice_head = nn.Linear(2 * hidden, 6)

    def forward(self, types, frac, lattice_z, metric, t, num_atoms, batch, edge_index, tc=None):
        """Standardised velocities (A, 3) and (B, 6) for a flattened batch.

        ``metric`` is L Lᵀ per crystal (B, 3, 3); ``t`` is (B,); ``tc`` (B,) is used
        only when the network was built with ``use_tc``.
        """
        one_hot = nn.functional.one_hot(types, NUM_ELEMENTS).to(frac.dtype)
        h = self.node_in(torch.cat([self.type_embed(one_hot), self.time_embed(t[batch].unsqueeze(-1))], -1))
        n_idx = (num_atoms - 1).clamp(0, MAX_NUM_ATOMS_EMBED - 1)
        crystal = self.natoms_embed(nn.functional.one_hot(n_idx, MAX_NUM_ATOMS_EMBED).to(frac.dtype))
        if self.tc_embed is not None:
            crystal = crystal + self.tc_embed(tc.unsqueeze(-1))
        crystal_feat = torch.cat([lattice_z, crystal], dim=-1)
        src, dst = edge_index
        diff = logmap(frac[dst], frac[src])  # f_j - f_i, wrapped
        g_diff = torch.einsum("eab,eb->ea", metric[batch[dst]], diff)
        g_unit = g_diff / g_diff.norm(dim=-1, keepdim=True).clamp(min=1e-8)
        edge_feat = torch.cat([g_unit, fourier_features(diff, self.num_freqs)], dim=-1)
        for layer in self.layers:
            h = layer(h, edge_feat, crystal_feat, batch, edge_index)
        h = self.final_norm(h)
        num_crystals = num_atoms.shape[0]
        mean_pool = crystal_mean(h, batch, num_crystals)
        sum_pool = mean_pool * num_atoms.unsqueeze(-1).to(h.dtype)
        return self.coord_head(h), self.lattice_head(torch.cat([mean_pool, sum_pool], dim=-1))
