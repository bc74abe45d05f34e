"""T_c tables per dataset family (the values AtomGPT, and optionally FlowMM/CDVAE, are conditioned on).

* ``dft_3d`` family: T_c from the JARVIS ``supercon_3d`` table (``jarvis/supercon_3d_Tc.csv``).
* ``alex_supercon`` family: T_c from the Alexandria DS-A/B records.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from functools import cache

from atomgenbench.benchmarks.atomgen.sources import AUX_FILES, fetch
from atomgenbench.core.errors import DataError

#: where each family's T_c comes from (recorded in outputs as provenance)
TC_PROVENANCE: dict[str, str] = {
    "dft_3d": "JARVIS-DFT supercon_3d (McMillan-Allen-Dynes, mu*=0.09): " + AUX_FILES["supercon_3d_Tc"].path,
    "alex_supercon": "Alexandria DS-A/B (hyllios/utils): "
    + ", ".join(AUX_FILES[k].path for k in ("alexandria_DS-A", "alexandria_DS-B")),
}


@cache
def tc_table(family: str) -> dict[str, float]:
    """``{id: T_c in K}`` for a dataset family (empty for families without T_c)."""
    table: dict[str, float] = {}
    if family == "dft_3d":
        path = fetch("supercon_3d_Tc")
        with open(path, newline="", encoding="utf-8") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                table[_key(row, "jid", path, line)] = _tc(row, path, line)
    elif family == "alex_supercon":
        for key in ("alexandria_DS-A", "alexandria_DS-B"):
            path = fetch(key)
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for i, rec in enumerate(json.load(fh)):
                    table[_key(rec, "mat_id", path, i)] = _tc(rec, path, i)
    return table


def _key(row: dict, field: str, path, where: int) -> str:
    value = row.get(field)
    if not value:
        raise DataError(f"{path}: row {where} has no {field!r}")
    return str(value)


def _tc(row: dict, path, where: int) -> float:
    try:
        value = float(row["Tc"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{path}: row {where} has no numeric 'Tc' ({row.get('Tc')!r})") from None
    if not math.isfinite(value):
        raise DataError(f"{path}: row {where} has a non-finite Tc ({value})")
    return value
