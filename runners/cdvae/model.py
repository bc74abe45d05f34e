"""The Crystal Diffusion VAE: encoder, latent, aggregate-property heads, score decoder, losses.

Training step (Xie et al., ICLR 2022, as summarised in model_reference.md §4.2):
encode the crystal to z; predict the number of atoms, the standardised lattice
(``[a,b,c]/N^(1/3)``, angles) and the composition from z; pick one noise level
per crystal from the geometric σ schedule; corrupt the Cartesian coordinates by
σ·ε (in the ground-truth lattice during teacher forcing, then in the predicted
one) and the atom types by sampling from ``one_hot(true) + σ_type·softmax(composition)``;
the decoder predicts (true − noisy)/σ along the minimum image and the true types.

``total = 1·natom + 10·lattice + 10·coord + 1·type + 0.01·KL + 1·composition (+ 1·property)``
(the published weights; all configurable through ``CDVAEConfig``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import scatter

from atomgenbench.runners.cdvae.decoder import Decoder
from atomgenbench.runners.cdvae.encoder import MAX_Z, Encoder
from atomgenbench.runners.cdvae.graph import min_image_displacement
from atomgenbench.runners.cdvae.lattice import LatticeScaler, cart_to_frac, frac_to_cart, params_to_matrix, usable

DEFAULT_WEIGHTS = {
    "natom": 1.0,
    "lattice": 10.0,
    "coord": 10.0,
    "type": 1.0,
    "kl": 0.01,
    "composition": 1.0,
    "property": 1.0,
}


@dataclass
class CDVAEConfig:
    """Architecture, noise schedule and loss weights of one CDVAE model."""

    hidden: int = 128
    latent_dim: int = 128
    head_hidden: int = 128
    enc_blocks: int = 3
    dec_blocks: int = 3
    cutoff: float = 7.0
    max_neighbors: int = 20
    num_rbf: int = 32
    max_atoms: int = 20
    sigma_begin: float = 10.0
    sigma_end: float = 0.01
    type_sigma_begin: float = 5.0
    type_sigma_end: float = 0.01
    num_noise_levels: int = 10
    sigma_features: bool = True
    predict_property: bool = False
    condition_tc: bool = False
    encode_cell: bool = False
    lattice_in_val_loss: bool = False
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def to_dict(self) -> dict:
        return asdict(self)


def geometric_sigmas(begin: float, end: float, num: int) -> torch.Tensor:
    """``num`` noise levels from ``begin`` down to ``end`` (``[begin]`` when num = 1, as CDVAE)."""
    return torch.tensor(np.exp(np.linspace(np.log(begin), np.log(end), num)), dtype=torch.float32)


def head(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out))


def per_crystal_mean(values: torch.Tensor, batch: torch.Tensor, num: int) -> torch.Tensor:
    return scatter(values, batch, dim=0, dim_size=num, reduce="mean").mean()


class CDVAE(nn.Module):
    """Encoder + heads + decoder with the CDVAE training objective."""

    def __init__(self, config: CDVAEConfig, scaler: LatticeScaler, tc_stats: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        self.config, self.scaler, self.tc_stats = config, scaler, tc_stats
        c = config
        cell_dim = 6 if c.encode_cell else 0
        self.encoder = Encoder(c.hidden, c.latent_dim, c.enc_blocks, c.cutoff, c.max_neighbors, c.num_rbf, cell_dim)
        self.decoder = Decoder(
            c.latent_dim,
            c.hidden,
            c.dec_blocks,
            c.cutoff,
            c.max_neighbors,
            c.num_rbf,
            use_sigma=c.sigma_features,
            cond_dim=1 if c.condition_tc else 0,
        )
        self.fc_num_atoms = head(c.latent_dim, c.head_hidden, c.max_atoms + 1)
        self.fc_lattice = head(c.latent_dim, c.head_hidden, 6)
        self.fc_composition = head(c.latent_dim, c.head_hidden, MAX_Z)
        self.fc_property = head(c.latent_dim, c.head_hidden, 1) if c.predict_property else None
        self.register_buffer("sigmas", geometric_sigmas(c.sigma_begin, c.sigma_end, c.num_noise_levels))
        self.register_buffer("type_sigmas", geometric_sigmas(c.type_sigma_begin, c.type_sigma_end, c.num_noise_levels))

    # -- encoding and aggregate properties -------------------------------------------------
    def encode(self, batch, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z, mu, logvar); z = mu when ``sample`` is False."""
        lattice = params_to_matrix(batch.lengths, batch.angles)
        cell = self.scaler.transform(batch.lengths, batch.angles, batch.num_atoms) if self.config.encode_cell else None
        mu, logvar = self.encoder(batch.frac_coords, batch.atom_types, lattice, batch.num_atoms, batch.batch, cell)
        logvar = logvar.clamp(-20.0, 10.0)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return z, mu, logvar

    def scaled_tc(self, tc: torch.Tensor) -> torch.Tensor:
        mean, std = self.tc_stats
        return ((tc - mean) / std).reshape(-1, 1)

    def lattice_from_z(
        self, z: torch.Tensor, num_atoms: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scaled head output, lengths Å, angles °) for crystals with ``num_atoms`` atoms."""
        scaled = self.fc_lattice(z)
        lengths, angles = self.scaler.inverse(scaled, num_atoms)
        return scaled, lengths, angles

    def denoise(self, frac, type_probs, lattice, num_atoms, batch, z, sigma_per_atom, cond=None):
        """Decoder call: (score ≈ (x_true - x)/σ in Å/σ, type logits over Z = 1..MAX_Z)."""
        return self.decoder(frac, type_probs, lattice, num_atoms, batch, z, sigma_per_atom, cond)

    # -- training objective ----------------------------------------------------------------
    def losses(
        self, batch, teacher_forcing: bool = True, generator: torch.Generator | None = None, sample_z: bool = True
    ) -> dict[str, torch.Tensor]:
        """Every loss term and the weighted ``loss``; ``generator`` makes the noise reproducible."""
        c, w = self.config, self.config.weights
        num, n = len(batch.num_atoms), batch.num_atoms
        bidx = batch.batch
        z, mu, logvar = self.encode(batch, sample=sample_z)
        out: dict[str, torch.Tensor] = {}
        out["kl"] = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        out["natom"] = F.cross_entropy(self.fc_num_atoms(z), n.clamp(max=c.max_atoms))
        scaled, lengths, angles = self.lattice_from_z(z, n)
        out["lattice"] = F.mse_loss(scaled, self.scaler.transform(batch.lengths, batch.angles, n))
        comp_logits = self.fc_composition(z)
        target_types = batch.atom_types - 1
        out["composition"] = per_crystal_mean(
            F.cross_entropy(comp_logits[bidx], target_types, reduction="none"), bidx, num
        )
        if self.fc_property is not None:
            out["property"] = F.mse_loss(self.fc_property(z), self.scaled_tc(batch.tc))

        lattice = params_to_matrix(batch.lengths, batch.angles)
        if not teacher_forcing:  # predicted cells, except degenerate ones (those keep the true cell)
            predicted = params_to_matrix(lengths.detach(), angles.detach())
            lattice = torch.where(usable(predicted, n)[:, None, None], predicted, lattice)
        lat_atom = lattice[bidx]
        level = torch.randint(len(self.sigmas), (num,), device=z.device, generator=generator)
        sigma = self.sigmas[level][bidx]
        type_sigma = self.type_sigmas[level][bidx]
        eps = torch.randn(batch.frac_coords.shape, device=z.device, generator=generator)
        cart = frac_to_cart(batch.frac_coords, lat_atom) + sigma.unsqueeze(-1) * eps
        noisy = torch.remainder(cart_to_frac(cart, lat_atom), 1.0)
        target = min_image_displacement(noisy, batch.frac_coords, lat_atom) / sigma.unsqueeze(-1)

        probs = F.one_hot(target_types, MAX_Z).float()
        probs = probs + type_sigma.unsqueeze(-1) * F.softmax(comp_logits.detach(), -1)[bidx]
        noisy_types = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        cond = self.scaled_tc(batch.tc) if c.condition_tc else None
        pred, type_logits = self.denoise(noisy, F.one_hot(noisy_types, MAX_Z).float(), lattice, n, bidx, z, sigma, cond)
        out["coord"] = per_crystal_mean(0.5 * ((pred - target) ** 2).sum(-1), bidx, num)
        out["type"] = per_crystal_mean(
            F.cross_entropy(type_logits, target_types, reduction="none") / type_sigma, bidx, num
        )
        out["loss"] = sum(w[k] * v for k, v in out.items())
        out["val_loss"] = w["coord"] * out["coord"] + w["type"] * out["type"]
        if c.lattice_in_val_loss:  # the checkpoint is then chosen for its cells as well
            out["val_loss"] = out["val_loss"] + w["lattice"] * out["lattice"]
        return out
