"""Where data files come from: mirror folder -> user cache -> pinned download.

Resolution order for a data file with a path relative to the data root:

1. ``$ATOMGENBENCH_DATA/<path>`` — a local mirror laid out like the upstream tree
   (tests and CI point this at ``../shared/data``); verified by sha256 once per
   process.
2. ``<cache>/<path>`` — the user cache (``platformdirs`` cache dir, or
   ``$ATOMGENBENCH_CACHE``); verified by sha256.
3. a download from the pinned upstream URL (``$ATOMGENBENCH_BASE_URL`` replaces the
   base, for mirrors and tests) through :mod:`pooch`, which writes to a temporary
   file and only moves it into the cache after its sha256 matched.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import platformdirs

from benchmarks.atomgen.registry import RAW_BASE_URL, REGISTRY, get_spec

ENV_DATA = "ATOMGENBENCH_DATA"
ENV_CACHE = "ATOMGENBENCH_CACHE"
ENV_BASE_URL = "ATOMGENBENCH_BASE_URL"
ENV_OFFLINE = "ATOMGENBENCH_OFFLINE"


class DataError(RuntimeError):
    """A data file is missing, corrupted or could not be downloaded."""


@dataclass(frozen=True)
class DataFile:
    """A file of the data root with its pinned checksum and upstream address.

    ``url_path`` is the path under the download base URL; ``None`` marks files whose
    upstream is another format (converted by a loader in
    :mod:`benchmarks.atomgen.conditioning`).
    """

    path: str
    sha256: str
    url_path: str | None
    description: str = ""


#: auxiliary (non-benchmark) files of the data root
AUX_FILES: dict[str, DataFile] = {
    "supercon_3d_Tc": DataFile(
        "jarvis/supercon_3d_Tc.csv",
        "9ba95684ba1c8881cac13a9bfc0e78166dd63888e5cf693e39bf452a896b77c9",
        None,
        "T_c (K) of the 1058 JARVIS Supercon-3D crystals (jarvis-tools figshare 'supercon_3d')",
    ),
    "alexandria_DS-A": DataFile(
        "alexandria/DS-A.json.gz",
        "9fafbe24502e74c6939752ebb0f343a774e1d25e42014a3ac8290c13c3f7c684",
        None,
        "Alexandria DS-A superconductors (7220 records; from hyllios/utils DS-A.pk.bz2)",
    ),
    "alexandria_DS-B": DataFile(
        "alexandria/DS-B.json.gz",
        "48de4da4058b3327ba4c4b49b47470d7c47093628ae12f7e85bff23b13b44fdc",
        None,
        "Alexandria DS-B superconductors (1033 records; from hyllios/utils DS-B.pk.bz2)",
    ),
}


def benchmark_file(name: str) -> DataFile:
    """The :class:`DataFile` of a registered benchmark's json.zip."""
    spec = get_spec(name)
    rel = spec.path.removeprefix("jarvis_leaderboard/")
    return DataFile(spec.path, spec.sha256, rel, spec.description)


def all_files() -> list[DataFile]:
    return [benchmark_file(n) for n in REGISTRY] + list(AUX_FILES.values())


def mirror_dir() -> Path | None:
    value = os.environ.get(ENV_DATA)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    value = os.environ.get(ENV_CACHE)
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_cache_dir("atomgenbench"))


def base_url() -> str:
    return os.environ.get(ENV_BASE_URL, RAW_BASE_URL).rstrip("/")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: str, mtime_ns: int, size: int, sha256: str) -> bool:
    return sha256_of(Path(path)) == sha256


def _check(path: Path, datafile: DataFile) -> None:
    st = path.stat()
    if not _verified(str(path), st.st_mtime_ns, st.st_size, datafile.sha256):
        raise DataError(
            f"{path}: sha256 mismatch for {datafile.path} (expected {datafile.sha256}, got "
            f"{sha256_of(path)}). The file is corrupted or from another revision; delete it "
            "or restore the original."
        )


def locate(datafile: DataFile) -> Path | None:
    """Return a verified local copy (mirror, then cache) or ``None`` when there is none."""
    mirror = mirror_dir()
    if mirror is not None:
        candidate = mirror / datafile.path
        if candidate.is_file():
            _check(candidate, datafile)
            return candidate
    cached = cache_dir() / datafile.path
    if cached.is_file():
        _check(cached, datafile)
        return cached
    return None


def fetch(datafile: DataFile | str, *, progress: bool = True) -> Path:
    """Return a verified local path for ``datafile`` (a DataFile, benchmark or aux name).

    Downloads into the cache when neither the mirror nor the cache has it. Raises
    :class:`DataError` with instructions when it cannot be provided.
    """
    if isinstance(datafile, str):
        datafile = AUX_FILES[datafile] if datafile in AUX_FILES else benchmark_file(datafile)
    found = locate(datafile)
    if found is not None:
        return found
    if datafile.url_path is None:
        from benchmarks.atomgen import upstream  # conversion from the upstream format

        return upstream.build(datafile, cache_dir() / datafile.path, progress=progress)
    return download(datafile, progress=progress)


def download(datafile: DataFile, *, progress: bool = True) -> Path:
    """Download ``datafile`` into the cache; verified before it enters the cache."""
    if os.environ.get(ENV_OFFLINE):
        raise DataError(_missing_message(datafile, "downloads are disabled (ATOMGENBENCH_OFFLINE is set)"))
    import pooch

    target = cache_dir() / datafile.path
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{base_url()}/{datafile.url_path}"
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{datafile.sha256}", fname=target.name,
                              path=target.parent, progressbar=progress)
    except ValueError as exc:  # pooch: hash mismatch (the temp file is removed)
        raise DataError(f"{url}: downloaded file failed sha256 verification for {datafile.path}; "
                        f"nothing was cached ({exc})") from None
    except Exception as exc:  # network errors of any kind
        raise DataError(_missing_message(datafile, f"download from {url} failed: {exc}")) from None
    return Path(path)


def _missing_message(datafile: DataFile, reason: str) -> str:
    return (
        f"{datafile.path} is not available: {reason}. Provide it by pointing {ENV_DATA} at a "
        f"folder laid out like the upstream data tree (it must contain {datafile.path}), or "
        f"copy the file to {cache_dir() / datafile.path}, or allow the download."
    )
