"""The version of atomgenbench and of the packages that decide its numbers.

Lowest layer: imported by every other part, imports nothing of ours.
"""

from __future__ import annotations

import platform
from importlib import metadata

__version__ = "0.1.0"
#: the project's repository: what a run.sh installs while atomgenbench is not on the registry
PROJECT_URL = "https://github.com/atomgenbench/atomgenbench"

#: packages whose version can move a score (recorded in every output); since 2026 pymatgen's
#: StructureMatcher lives in the ``pymatgen-core`` distribution
SCORING_PACKAGES = ("pymatgen", "pymatgen-core", "numpy", "scipy", "spglib", "jarvis-tools")

#: the JARVIS-Leaderboard revision whose rules, data and pins atomgenbench follows
#: (the data registry downloads from it too: ``atomgenbench.benchmarks.atomgen.registry.RAW_BASE_URL``)
LEADERBOARD_REPO = "atomgptlab/jarvis_leaderboard"
LEADERBOARD_COMMIT = "7fbfa84ad19c95873112fc572ef877d7e349a3f3"
LEADERBOARD_REVISION = f"{LEADERBOARD_REPO}@{LEADERBOARD_COMMIT}"

#: the leaderboard's CI pins (environment.yml at LEADERBOARD_REVISION)
PINS: dict[str, str] = {
    "pymatgen": "2024.3.1",
    "numpy": "1.26.4",
    "pandas": "2.2.1",
    "jarvis-tools": "2024.3.4",
    "scipy": "1.13.0rc1",
}
#: two more pins of the same environment.yml, for packages the pinned pymatgen imports; without them a
#: later monty or spglib release could break (or change) the 2024 pymatgen
SUPPORT_PINS: dict[str, str] = {"monty": "2024.2.26", "spglib": "2.3.1"}
LEADERBOARD_PYTHON = "3.10.14"
#: the pins in words, for help texts, notes and published rows
LEADERBOARD_ENV_TEXT = f"python {LEADERBOARD_PYTHON}, " + ", ".join(f"{k} {v}" for k, v in PINS.items())


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name``, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment_versions() -> dict[str, str | None]:
    """atomgenbench, python, the scoring packages and the leaderboard revision, as recorded in outputs."""
    out: dict[str, str | None] = {"atomgenbench": __version__, "python": platform.python_version()}
    out.update({name: package_version(name) for name in SCORING_PACKAGES})
    out["leaderboard_revision"] = LEADERBOARD_REVISION
    return out


def scorer_label(versions: dict[str, str | None] | None = None) -> str:
    """``pymatgen 2026.10.24 (pymatgen-core 2026.10.16)``: what decides the structure matches here."""
    v = versions or environment_versions()
    label = f"pymatgen {v.get('pymatgen') or 'not installed'}"
    if v.get("pymatgen-core"):
        label += f" (pymatgen-core {v['pymatgen-core']})"
    return label


def python_label(version: str | None) -> str:
    """``python X`` of a pinned leaderboard environment, and the leaderboard CI's own when they differ."""
    if version in (None, LEADERBOARD_PYTHON):
        return f"python {version or LEADERBOARD_PYTHON}"
    return f"python {version} here (the leaderboard's CI runs python {LEADERBOARD_PYTHON})"
