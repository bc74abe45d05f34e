"""Reconstruction by annealed Langevin dynamics (Song & Ermon 2019, as used by CDVAE).

Given z, the lattice from the lattice head and atom types (forced from the target,
or predicted from the num-atoms and composition heads), coordinates start uniform
in the unit cell and, for every σ of the geometric schedule (largest first), take
``n_step_each`` updates::

    step = step_lr · (σ / σ_L)²                        # σ_L: the smallest level
    x ← x + step · s(x, σ) + sqrt(2·step) · ε          # Cartesian, then wrapped to [0,1)

with the score ``s = pred / σ``, where the decoder's ``pred`` ≈ (x_true − x)/σ. Since
the move per step is ``step_lr · (x_true − x) / σ_L²``, the rule is sensible when
``step_lr ≈ σ_L²`` (1e-4 with σ_L = 0.01 Å, the published default). AtomBench's run
used a single level σ = 10 Å (so σ_L = 10): each step then moves atoms by only
1e-6 of the way and coordinates stay at their random start. ``num_noise_levels=1``
reproduces that (atombench-compatible, not recommended).

With predicted types, the types are re-read from the decoder's type head after each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from atomgenbench.runners.cdvae.encoder import MAX_Z
from atomgenbench.runners.cdvae.graph import batch_index
from atomgenbench.runners.cdvae.lattice import cart_to_frac, frac_to_cart


@dataclass
class SamplerSettings:
    """Annealed Langevin settings (defaults: CDVAE's evaluate.py, fewer steps per level)."""

    n_step_each: int = 100
    step_lr: float = 1e-4
    min_sigma: float = 0.0


@dataclass
class Sample:
    frac_coords: torch.Tensor  # (sum N, 3) in [0, 1)
    atom_types: torch.Tensor  # (sum N,) atomic numbers
    num_atoms: torch.Tensor  # (B,)
    lattice: torch.Tensor  # (B,3,3)


def composition_types(comp_logits: torch.Tensor, num_atoms: torch.Tensor) -> torch.Tensor:
    """Atom types (Z) per crystal from composition probabilities, by largest-remainder rounding."""
    probs = F.softmax(comp_logits, -1)
    out = []
    for p, n in zip(probs, num_atoms.tolist()):
        expected = p * n
        counts = torch.floor(expected).long()
        rest = n - int(counts.sum())
        if rest > 0:
            counts[torch.argsort(expected - counts, descending=True)[:rest]] += 1
        out.append(torch.repeat_interleave(torch.arange(1, MAX_Z + 1, device=p.device), counts))
    return torch.cat(out)


@torch.no_grad()
def langevin(
    model,
    z: torch.Tensor,
    lattice: torch.Tensor,
    num_atoms: torch.Tensor,
    atom_types: torch.Tensor,
    settings: SamplerSettings,
    update_types: bool = False,
    cond: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Sample:
    """Annealed Langevin sampling of coordinates (and types if ``update_types``)."""
    bidx = batch_index(num_atoms)
    lat_atom = lattice[bidx]
    frac = torch.rand((len(bidx), 3), device=z.device, generator=generator)
    types = atom_types.clone()
    sigmas = [float(s) for s in model.sigmas if float(s) >= settings.min_sigma]
    sigma_last = float(model.sigmas[-1])
    for sigma in sigmas:
        step = settings.step_lr * (sigma / sigma_last) ** 2
        sigma_atom = torch.full((len(bidx),), sigma, device=z.device)
        for _ in range(settings.n_step_each):
            pred, type_logits = model.denoise(
                frac, F.one_hot(types - 1, MAX_Z).float(), lattice, num_atoms, bidx, z, sigma_atom, cond
            )
            noise = torch.randn(frac.shape, device=z.device, generator=generator)
            cart = frac_to_cart(frac, lat_atom) + step * pred / sigma + math.sqrt(2.0 * step) * noise
            frac = torch.remainder(cart_to_frac(cart, lat_atom), 1.0)
            if update_types:
                types = type_logits.argmax(-1) + 1
    return Sample(frac_coords=frac, atom_types=types, num_atoms=num_atoms, lattice=lattice)
