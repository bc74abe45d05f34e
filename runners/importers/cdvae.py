"""Import CDVAE's ``eval_recon.pt`` (``scripts/evaluate.py --tasks recon``) as standardized predictions.

The file holds, per eval E, ``frac_coords (E, A, 3)``, ``atom_types (E, A)`` (Z),
``num_atoms (E, N)``, ``lengths (E, N, 3)`` in Å and ``angles (E, N, 3)`` in degrees.
It carries no ids: crystal i is row i of the ``test.csv`` the model was evaluated on
(CDVAE's test loader does not shuffle), so the ids come from that file's
``material_id`` column, with a count check and, by default, a composition check
(``--force_atom_types`` makes every prediction's composition equal its target's).
Lattices follow pymatgen's ``Lattice.from_parameters`` convention, as CDVAE's do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymatgen.core import Lattice

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.runners.importers.common import (
    ImportFormatError,
    assemble,
    build_structure,
    check_compositions,
    check_count,
    poscar_or_failure,
    read_test_csv_ids,
    require_test_ids,
)
from atomgenbench.runners.importers.safe_pickle import load_pt

REQUIRED = ("frac_coords", "atom_types", "num_atoms", "lengths", "angles")


def import_cdvae(
    pt_path: str | Path,
    test_csv: str | Path,
    benchmark: str,
    *,
    eval_index: int = 0,
    trust_pickle: bool = False,
    check_composition: bool = True,
    data: BenchmarkData | None = None,
) -> Predictions:
    """Standardized predictions from ``eval_recon.pt`` and the ``test.csv`` it was evaluated on."""
    pt_path = Path(pt_path)
    data = data or load_benchmark(benchmark)
    obj = load_pt(pt_path, trust_pickle=trust_pickle)
    if not isinstance(obj, dict):
        raise ImportFormatError(f"{pt_path}: expected a dict (eval_recon.pt), got {type(obj).__name__}")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise ImportFormatError(f"{pt_path}: not a CDVAE eval_recon.pt, missing keys {missing} (has {sorted(obj)})")
    batched = {}
    for key in REQUIRED:
        value = obj[key]
        arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
        want_ndim = {"frac_coords": 3, "atom_types": 2, "num_atoms": 2, "lengths": 3, "angles": 3}[key]
        if arr.ndim != want_ndim:
            raise ImportFormatError(
                f"{pt_path}: {key!r} has shape {tuple(arr.shape)}, expected {want_ndim} dims (evals first)"
            )
        if eval_index >= arr.shape[0]:
            raise ImportFormatError(f"{pt_path}: {key!r} has {arr.shape[0]} evals, asked for eval {eval_index}")
        batched[key] = arr[eval_index]
    num_atoms = batched["num_atoms"].astype(int)
    if int(num_atoms.sum()) != len(batched["frac_coords"]) or len(batched["atom_types"]) != len(batched["frac_coords"]):
        raise ImportFormatError(
            f"{pt_path}: num_atoms sums to {int(num_atoms.sum())} but there are {len(batched['frac_coords'])} "
            f"coordinates and {len(batched['atom_types'])} atom types"
        )
    ids = read_test_csv_ids(test_csv)
    check_count(len(ids), len(num_atoms), f"{test_csv}", f"{pt_path}")
    require_test_ids(data, ids, str(test_csv))
    starts = np.concatenate([[0], np.cumsum(num_atoms)])
    results, rows = {}, []
    for i, key in enumerate(ids):
        lo, hi = starts[i], starts[i + 1]
        lengths, angles = batched["lengths"][i], batched["angles"][i]
        result, s = poscar_or_failure(
            lambda: build_structure(
                Lattice.from_parameters(*map(float, lengths), *map(float, angles)),  # noqa: B023
                batched["atom_types"][lo:hi],  # noqa: B023
                batched["frac_coords"][lo:hi],  # noqa: B023
            )
        )
        results[key] = result
        rows.append((key, s))
    if check_composition:
        check_compositions(data, rows, str(pt_path), f"by row order of {test_csv}")
    return assemble(
        data,
        "cdvae",
        results,
        conditioning="structure",
        source=pt_path,
        extra={
            "importer": "cdvae",
            "pairing": f"row order of {Path(test_csv).name} (material_id)",
            "eval_index": eval_index,
            "test_csv": str(test_csv),
        },
    )
