"""The version of atomgenbench and of the packages that decide its numbers.

Lowest layer: imported by every other part, imports nothing of ours.
"""

from __future__ import annotations

import platform
from importlib import metadata

__version__ = "0.1.0"

#: packages whose version can move a score (recorded in every output)
SCORING_PACKAGES = ("pymatgen", "numpy", "scipy", "spglib", "jarvis-tools")


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name``, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment_versions() -> dict[str, str | None]:
    """atomgenbench, python and the scoring packages, as recorded in outputs."""
    out: dict[str, str | None] = {"atomgenbench": __version__, "python": platform.python_version()}
    out.update({name: package_version(name) for name in SCORING_PACKAGES})
    return out
