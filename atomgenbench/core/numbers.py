"""How numbers are written: the one formatter of every table and line, and the one JSON-safe float."""

from __future__ import annotations

import math

#: what a table shows where there is no value
DASH = "–"
#: what a sentence says where there is no value
NA = "n/a"


def fmt(x: float | None, digits: int = 4, missing: str = DASH) -> str:
    """``x`` with ``digits`` decimals, or ``missing`` when there is no (finite) value."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return missing
    return f"{x:.{digits}f}"


def fmt_ci(entry: dict | None, key: str = "ci95", digits: int = 4) -> str:
    """`` [low, high]`` of ``entry[key]`` (with a leading space), or ``""`` when there is no interval."""
    ci = (entry or {}).get(key)
    if not ci or None in ci:
        return ""
    return f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def finite_or_none(x) -> float | None:
    """A JSON-safe float: ``None`` for ``None``, NaN and ±inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
