"""Import FlowMM's ``consolidated_reconstruct.pt`` (``evaluate.py consolidate``) as standardized predictions.

The file is a dict of per-eval lists; entry ``[eval_index]`` of each key is used:
``atom_types`` (A, 100) one-hot (Z = argmax + 1; a plain (A,) vector of Z is also
accepted), ``frac_coords`` (A, 3), ``lattices`` (N, 3, 3) row-vector matrices
(preferred) or ``lengths``/``angles`` (N, 3), ``num_atoms`` (N,) and optionally
``batch_indices`` (dataset positions in output order). Crystal k belongs to row
``batch_indices[k]`` (row k if absent) of the ``test.csv`` FlowMM evaluated.
A prediction that cannot form a structure (NaN, bad types, zero volume) is a
recorded failure; no stand-in crystal is substituted.
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


def _entry(obj: dict, key: str, eval_index: int, source: Path) -> np.ndarray | None:
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, (list, tuple)):
        if eval_index >= len(value):
            raise ImportFormatError(f"{source}: {key!r} has {len(value)} evals, asked for eval {eval_index}")
        value = value[eval_index]
    if not hasattr(value, "shape"):
        raise ImportFormatError(f"{source}: {key!r}[{eval_index}] is a {type(value).__name__}, expected a tensor")
    return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)


def atomic_numbers(types: np.ndarray) -> np.ndarray:
    """Z per atom from one-hot (A, 100) rows (argmax + 1) or a plain vector of Z."""
    if types.ndim == 2:
        out = types.argmax(axis=1) + 1
        out[~np.all(np.isfinite(types), axis=1)] = 0  # NaN rows -> invalid Z -> failure
        return out
    return types.astype(int)


def _lattice(get: dict, k: int) -> Lattice:
    if get["lattices"] is not None:
        return Lattice(np.asarray(get["lattices"][k], dtype=float))
    return Lattice.from_parameters(*map(float, get["lengths"][k]), *map(float, get["angles"][k]))


def output_order(batch_indices: np.ndarray | None, n: int, source: Path) -> np.ndarray:
    """Test-CSV row of each output crystal (identity when ``batch_indices`` is absent)."""
    if batch_indices is None:
        return np.arange(n)
    order = batch_indices.reshape(-1).astype(int)
    if len(order) != n or sorted(order.tolist()) != list(range(n)):
        raise ImportFormatError(f"{source}: batch_indices is not a permutation of 0..{n - 1}; cannot verify the order")
    return order


def import_flowmm(
    pt_path: str | Path,
    test_csv: str | Path,
    benchmark: str,
    *,
    eval_index: int = 0,
    trust_pickle: bool = False,
    check_composition: bool = True,
    data: BenchmarkData | None = None,
) -> Predictions:
    """Standardized predictions from ``consolidated_reconstruct.pt`` and the ``test.csv`` it was run on."""
    pt_path = Path(pt_path)
    data = data or load_benchmark(benchmark)
    obj = load_pt(pt_path, trust_pickle=trust_pickle)
    if not isinstance(obj, dict):
        raise ImportFormatError(f"{pt_path}: expected a dict (consolidated_reconstruct.pt), got {type(obj).__name__}")
    get = {
        k: _entry(obj, k, eval_index, pt_path)
        for k in ("atom_types", "frac_coords", "num_atoms", "lattices", "lengths", "angles", "batch_indices")
    }
    missing = [k for k in ("atom_types", "frac_coords", "num_atoms") if get[k] is None]
    if get["lattices"] is None and (get["lengths"] is None or get["angles"] is None):
        missing.append("lattices (or lengths+angles)")
    if missing:
        raise ImportFormatError(
            f"{pt_path}: not a FlowMM consolidated_reconstruct.pt, missing {missing} (has {sorted(obj)})"
        )
    num_atoms = get["num_atoms"].reshape(-1).astype(int)
    numbers = atomic_numbers(get["atom_types"])
    frac = get["frac_coords"]
    if int(num_atoms.sum()) != len(frac) or len(numbers) != len(frac):
        raise ImportFormatError(
            f"{pt_path}: num_atoms sums to {int(num_atoms.sum())} but there are {len(frac)} "
            f"coordinates and {len(numbers)} atom types"
        )
    ids = read_test_csv_ids(test_csv)
    check_count(len(ids), len(num_atoms), str(test_csv), str(pt_path))
    order = output_order(get["batch_indices"], len(num_atoms), pt_path)
    require_test_ids(data, ids, str(test_csv))
    starts = np.concatenate([[0], np.cumsum(num_atoms)])
    results, rows = {}, []
    for k in range(len(num_atoms)):
        key = ids[order[k]]
        lo, hi = starts[k], starts[k + 1]
        result, s = poscar_or_failure(lambda: build_structure(_lattice(get, k), numbers[lo:hi], frac[lo:hi]))  # noqa: B023
        results[key] = result
        rows.append((key, s))
    if check_composition:
        check_compositions(data, rows, str(pt_path), f"by batch_indices / row order of {test_csv}")
    return assemble(
        data,
        "flowmm",
        results,
        conditioning="composition",
        source=pt_path,
        extra={
            "importer": "flowmm",
            "eval_index": eval_index,
            "test_csv": str(test_csv),
            "pairing": "batch_indices into " + Path(test_csv).name
            if get["batch_indices"] is not None
            else "row order of " + Path(test_csv).name,
        },
    )
