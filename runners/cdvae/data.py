"""pymatgen structures <-> torch-geometric ``Data`` records for CDVAE, and the train/val split."""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Data

from atomgenbench.runners.cdvae.encoder import MAX_Z


def crystal_record(structure: Structure, tc: float = float("nan"), identifier: str = "") -> Data:
    """One crystal as a ``Data`` (frac coords in [0,1), Z, lengths Å, angles °, T_c)."""
    zs = [site.specie.Z for site in structure]
    if max(zs) > MAX_Z:
        raise ValueError(f"{identifier}: element Z={max(zs)} is beyond the model's range (Z ≤ {MAX_Z})")
    lat = structure.lattice
    return Data(
        frac_coords=torch.tensor(np.mod(structure.frac_coords, 1.0), dtype=torch.float32),
        atom_types=torch.tensor(zs, dtype=torch.long),
        lengths=torch.tensor([lat.abc], dtype=torch.float32),
        angles=torch.tensor([lat.angles], dtype=torch.float32),
        num_atoms=torch.tensor([len(zs)], dtype=torch.long),
        tc=torch.tensor([tc if tc is not None and math.isfinite(tc) else float("nan")], dtype=torch.float32),
        num_nodes=len(zs),
    )


def split_train_val(ids: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded shuffle of ``ids`` into (train, val); val gets at least one id when possible."""
    order = list(ids)
    random.Random(seed).shuffle(order)
    n_val = min(max(1, int(round(val_fraction * len(order)))), len(order) - 1) if len(order) > 1 else 0
    return order[n_val:], order[:n_val]


def fill_tc(records: list[Data], mean: float) -> None:
    """Replace unknown T_c by ``mean`` (in place) so the property/conditioning terms stay finite."""
    for r in records:
        if torch.isnan(r.tc).any():
            r.tc = torch.full_like(r.tc, mean)


def to_structure(frac: torch.Tensor, types: torch.Tensor, lattice: torch.Tensor) -> Structure:
    """A pymatgen structure from one crystal's sample tensors (lattice rows in Å)."""
    return Structure(
        Lattice(lattice.detach().cpu().double().numpy()),
        [int(z) for z in types.tolist()],
        frac.detach().cpu().double().numpy(),
        coords_are_cartesian=False,
    )
