"""Crystals as tensors for FlowMM: Niggli-canonical cells, collated into graph batches.

Each crystal keeps its own atom count (no primitive reduction, as the test
compositions are given per reference cell); its lattice is Niggli-reduced so the
angles fall in the (59.9°, 120.1°) interval of the lattice manifold. A batch holds
all atoms of several crystals and every ordered pair of distinct atoms within a
crystal as an edge (fully connected, no self-edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.structures import niggli_cell
from atomgenbench.runners.flowmm.geometry import params_to_vector

NUM_ELEMENTS = 100  #: atom types are Z - 1 in [0, 100)


@dataclass
class Crystal:
    """One crystal (or one test composition, with ``frac``/``lattice`` unused)."""

    id: str
    types: np.ndarray  # (n,) int, Z - 1
    frac: np.ndarray  # (n, 3) float, in [0, 1)
    lattice: np.ndarray  # (6,) float: lengths (Å) and phi(angles)
    tc: float = 0.0

    @property
    def num_atoms(self) -> int:
        return len(self.types)


def crystal_from_structure(identifier: str, structure: Structure, tc: float = 0.0) -> Crystal:
    """A :class:`Crystal` from a pymatgen structure (Niggli-canonical cell)."""
    s = niggli_cell(structure)
    types = np.array([site.specie.Z - 1 for site in s], dtype=np.int64)
    if types.min() < 0 or types.max() >= NUM_ELEMENTS:
        raise ValueError(f"{identifier}: element outside Z = 1..{NUM_ELEMENTS}")
    frac = np.mod(np.asarray(s.frac_coords, dtype=np.float64), 1.0).astype(np.float32)
    frac[frac >= 1.0] = 0.0  # float rounding of 0.99999999
    lat = params_to_vector(
        torch.tensor(s.lattice.abc, dtype=torch.float64), torch.tensor(s.lattice.angles, dtype=torch.float64)
    )
    return Crystal(identifier, types, frac, lat.numpy().astype(np.float32), float(tc))


def composition_query(identifier: str, structure: Structure, tc: float = 0.0) -> Crystal:
    """A test-time crystal: only the species (in reference order) and T_c are kept."""
    types = np.array([site.specie.Z - 1 for site in structure], dtype=np.int64)
    return Crystal(identifier, types, np.zeros((len(types), 3), np.float32), np.zeros(6, np.float32), float(tc))


def tc_feature(tc: float) -> float:
    """Scalar T_c conditioning input: log(1 + T_c / K)."""
    return math.log1p(max(float(tc), 0.0))


@dataclass
class CrystalBatch:
    """Several crystals flattened into one graph (see module docstring)."""

    types: torch.Tensor  # (A,) long
    frac: torch.Tensor  # (A, 3) target coordinates x1
    lattice: torch.Tensor  # (B, 6) target lattice x1
    num_atoms: torch.Tensor  # (B,) long
    batch: torch.Tensor  # (A,) long, atom -> crystal
    edge_index: torch.Tensor  # (2, E) long, rows (source j, target i)
    tc: torch.Tensor  # (B,) T_c feature

    @property
    def num_crystals(self) -> int:
        return int(self.num_atoms.shape[0])

    def to(self, device) -> CrystalBatch:
        return CrystalBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def _pairs(n: int) -> np.ndarray:
    """All ordered pairs (j, i), j != i, of ``n`` atoms, as a (2, n(n-1)) array."""
    j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = j != i
    return np.stack([j[keep], i[keep]])


def collate(crystals: list[Crystal]) -> CrystalBatch:
    """Flatten ``crystals`` into a :class:`CrystalBatch`."""
    counts = [c.num_atoms for c in crystals]
    offsets = np.cumsum([0] + counts[:-1])
    edges = [_pairs(n) + off for n, off in zip(counts, offsets) if n > 1]
    edge_index = np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), np.int64)
    return CrystalBatch(
        types=torch.from_numpy(np.concatenate([c.types for c in crystals])),
        frac=torch.from_numpy(np.concatenate([c.frac for c in crystals])),
        lattice=torch.from_numpy(np.stack([c.lattice for c in crystals])),
        num_atoms=torch.tensor(counts, dtype=torch.long),
        batch=torch.repeat_interleave(torch.arange(len(crystals)), torch.tensor(counts)),
        edge_index=torch.from_numpy(edge_index).long(),
        tc=torch.tensor([tc_feature(c.tc) for c in crystals], dtype=torch.float32),
    )
