"""Tables computed from the per-row values: by crystal system, by leakage stratum, the confusion matrix, row notes."""

from __future__ import annotations

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.metrics.base import (
    Rows,
)
from atomgenbench.evaluator.metrics.registry import family, get
from atomgenbench.evaluator.scoring.symmetry import confusion


def breakdowns(rows: Rows, records, strata: dict[str, str] | None = None) -> dict[str, dict]:
    """Tables of metrics.json beside the registry values (:data:`BREAKDOWN_KEYS`).

    ``strata`` (``{test id: stratum}``, :func:`atomgenbench.benchmarks.atomgen.strata.strata`)
    adds ``by_stratum``; without it that table is left out.
    """
    parsed = np.flatnonzero(rows.parsed)
    table = confusion(list(rows.crystal_system[parsed]), list(rows.crystal_system_pred[parsed]))
    out = {"by_crystal_system": by_crystal_system(rows)}
    if strata is not None:
        out["by_stratum"] = by_stratum(rows, strata)
    out.update({"crystal_system_confusion": table, "notes": row_notes(records)})
    return out


def row_notes(records) -> dict[str, str]:
    """``{id: note}`` of rows with an invalid structure or a per-row analysis that failed or timed out."""
    out = {}
    for r in records:
        parts = [x for x in (r.validity_note, r.metric_note) if x]
        if parts:
            out[r.id] = "; ".join(parts)
    return out


def by_crystal_system(rows: Rows) -> dict[str, dict]:
    """Match rate, RMSE and Niggli MAE per crystal system of the target."""
    out = {}
    for system in sorted(set(rows.crystal_system)):
        idx = np.flatnonzero(rows.crystal_system == system)[None, :]

        def value(name: str, idx=idx) -> float:
            return float(get(name).statistic(rows, idx)[0])

        out[str(system)] = {
            "n": int(idx.size),
            "n_parsed": int(rows.pairs("niggli")[idx].sum()),
            "n_matched": int(np.isfinite(rows.rms[idx]).sum()),
            "match_rate": value("rmse.match_rate"),
            "rmse": _nan_none(value("rmse")),
            "rmse_penalised": value("rmse.penalised"),
            "mae": {p: _nan_none(value(f"mae.{p}")) for p in LATTICE_PARAMS},
        }
    return out


def by_stratum(rows: Rows, strata: dict[str, str]) -> dict[str, dict]:
    """Registry statistics per leakage stratum (twin, seen-formula, unseen; docs/metrics.md).

    Every stratum is listed, an empty one with ``n`` 0 and ``null`` values; a row whose id has
    no stratum (not expected) falls in ``unknown``.
    """
    from atomgenbench.benchmarks.atomgen.strata import STRATA

    labels = np.array([strata.get(i, "unknown") for i in rows.ids], object)
    names = list(STRATA) + sorted(set(labels) - set(STRATA))
    return {name: _group_statistics(rows, np.flatnonzero(labels == name)) for name in names}


#: registry metrics of each ``by_stratum`` group, by the key they have there
STRATUM_METRICS = {
    "match_rate": "rmse.match_rate",
    "rmse": "rmse",
    "rmse_penalised": "rmse.penalised",
    "ccrmsd": "ccrmsd",
    **{f"mae.{p}": f"mae.{p}" for p in LATTICE_PARAMS},
    **{f"validity.{k}": f"validity.{k}" for k in ("structural", "composition", "both")},
    **{f"validity_target.{k}": f"validity_target.{k}" for k in ("structural", "composition", "both")},
    **{f"symmetry.{k}": f"symmetry.{k}" for k in ("spacegroup", "crystal_system")},
}


def _group_statistics(rows: Rows, members: np.ndarray) -> dict:
    """Counts and :data:`STRATUM_METRICS` of the rows ``members`` (``null`` where undefined)."""
    idx = members[None, :]
    out: dict = {
        "n": int(members.size),
        "n_parsed": int(rows.parsed[members].sum()),
        "n_matched": int(np.isfinite(rows.rms[members]).sum()),
    }
    for key, name in STRATUM_METRICS.items():
        value = _nan_none(float(get(name).statistic(rows, idx)[0])) if members.size else None
        head, _, sub = key.partition(".")
        if sub:
            out.setdefault(head, {})[sub] = value
        else:
            out[key] = value
    for m in family("samples"):  # runs with K > 1 samples per id: the multi-sample metrics per group too
        if m.applies is None or m.applies(rows):
            value = _nan_none(float(m.statistic(rows, idx)[0])) if members.size else None
            out.setdefault("samples", {"k": rows.k})[m.key] = value
    return out


def _nan_none(x: float):
    return None if not np.isfinite(x) else float(x)
