"""pymatgen structures <-> torch-geometric ``Data`` records for CDVAE."""

from __future__ import annotations

import math

import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Data

from atomgenbench.benchmarks.atomgen.structures import niggli_cell
from atomgenbench.runners.cdvae.encoder import MAX_Z


def crystal_record(structure: Structure, tc: float = float("nan"), identifier: str = "", niggli: bool = False) -> Data:
    """One crystal as a ``Data`` (frac coords in [0,1), Z, lengths Å, angles °, T_c).

    ``niggli``: in its Niggli-reduced cell (as upstream CDVAE prepares its data), so that
    the six lattice parameters are a function of the crystal, not of the cell a file chose.
    """
    if niggli:
        structure = niggli_cell(structure)
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
