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

Auxiliary files whose upstream is another format (``url_path is None``) are built
from their upstream source (converted by :mod:`atomgenbench.benchmarks.atomgen.upstream`)
instead of downloaded; a built copy
cannot be byte-identical to the mirror's, so such files are also accepted when
their *content* digest (``content_sha256``, ids and T_c) matches.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import platformdirs

from atomgenbench.benchmarks.atomgen import upstream
from atomgenbench.benchmarks.atomgen.files import sha256_of
from atomgenbench.benchmarks.atomgen.registry import RAW_BASE_URL, REGISTRY, get_spec
from atomgenbench.core.errors import DataError
from atomgenbench.core.output import progress_enabled

log = logging.getLogger("atomgenbench")

ENV_DATA = "ATOMGENBENCH_DATA"
ENV_CACHE = "ATOMGENBENCH_CACHE"
ENV_BASE_URL = "ATOMGENBENCH_BASE_URL"
ENV_OFFLINE = "ATOMGENBENCH_OFFLINE"


@dataclass(frozen=True)
class DataFile:
    """A file of the data root with its pinned checksum and upstream address.

    ``url_path`` is the path under the download base URL; ``None`` marks files whose
    upstream is another format (built by :mod:`atomgenbench.benchmarks.atomgen.upstream`).
    ``content_sha256`` is :func:`atomgenbench.benchmarks.atomgen.upstream.content_digest` of the
    reference file, which a built copy must match.
    """

    path: str
    sha256: str
    url_path: str | None
    description: str = ""
    content_sha256: str | None = None

    @property
    def name(self) -> str:
        """File name without folders (for messages)."""
        return self.path.rsplit("/", 1)[-1]


#: auxiliary (non-benchmark) files of the data root
AUX_FILES: dict[str, DataFile] = {
    "supercon_3d_Tc": DataFile(
        "jarvis/supercon_3d_Tc.csv",
        "9ba95684ba1c8881cac13a9bfc0e78166dd63888e5cf693e39bf452a896b77c9",
        None,
        "T_c (K) of the 1058 JARVIS Supercon-3D crystals (jarvis-tools figshare 'supercon_3d')",
        "f5ce0cbe0092e5e6e8bba76fce40b283db538424b29b1ef0b3f80aed174dbe4d",
    ),
    "alexandria_DS-A": DataFile(
        "alexandria/DS-A.json.gz",
        "9fafbe24502e74c6939752ebb0f343a774e1d25e42014a3ac8290c13c3f7c684",
        None,
        "Alexandria DS-A superconductors (7220 records; from hyllios/utils DS-A.pk.bz2)",
        "d78b02ea30aa6b0364585aabf43615638f3a3dfb55284e26e24af3f6124848d1",
    ),
    "alexandria_DS-B": DataFile(
        "alexandria/DS-B.json.gz",
        "48de4da4058b3327ba4c4b49b47470d7c47093628ae12f7e85bff23b13b44fdc",
        None,
        "Alexandria DS-B superconductors (1033 records; from hyllios/utils DS-B.pk.bz2)",
        "15652011de3001f549efa468e09af1d53808f053f3a329be7d7747bc08c13848",
    ),
}


def benchmark_file(name: str) -> DataFile:
    """The :class:`DataFile` of a registered benchmark's json.zip."""
    spec = get_spec(name)
    rel = spec.path.removeprefix("jarvis_leaderboard/")
    return DataFile(spec.path, spec.sha256, rel, spec.description)


def all_files() -> list[DataFile]:
    """Every file of the data root: the 16 benchmarks, then the auxiliary files."""
    return [benchmark_file(n) for n in REGISTRY] + list(AUX_FILES.values())


def resolve(name: str) -> DataFile:
    """The :class:`DataFile` of a benchmark name or an :data:`AUX_FILES` key."""
    return AUX_FILES[name] if name in AUX_FILES else benchmark_file(name)


class DataMissingError(DataError):
    """A data file that is neither mirrored nor cached and cannot be downloaded now."""


def mirror_dir() -> Path | None:
    """``$ATOMGENBENCH_DATA`` as a path, or ``None`` when unset.

    Raises :class:`DataError` when it is set to something that is not a folder: a
    mistyped mirror path must not silently fall through to downloads.
    """
    value = os.environ.get(ENV_DATA)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise DataError(
            f"{ENV_DATA}={value} {what}. Point {ENV_DATA} at the data mirror folder (the one holding "
            f"jarvis_leaderboard/), or unset it to use the cache ({cache_dir()}), which "
            "`atomgenbench data fetch --all` fills."
        )
    return path


def cache_dir() -> Path:
    """``$ATOMGENBENCH_CACHE`` or the platform user cache dir of atomgenbench."""
    value = os.environ.get(ENV_CACHE)
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_cache_dir("atomgenbench"))


def base_url() -> str:
    """Download base URL: ``$ATOMGENBENCH_BASE_URL`` or the pinned upstream raw URL."""
    return (os.environ.get(ENV_BASE_URL) or RAW_BASE_URL).rstrip("/")


def offline() -> bool:
    """True when ``$ATOMGENBENCH_OFFLINE`` is set to anything but ``""``/``0``/``false``/``no``."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


@cache
def _verified(path: str, mtime_ns: int, size: int, sha256: str, content_sha256: str | None) -> bool:
    if sha256_of(Path(path)) == sha256:
        return True
    if content_sha256 is None:
        return False
    try:
        return upstream.content_digest(Path(path)) == content_sha256
    except Exception:  # unreadable content is simply not verified
        return False


def verify(path: Path, datafile: DataFile) -> None:
    """Raise :class:`DataError` unless ``path`` holds ``datafile`` (sha256, or content for built files)."""
    st = path.stat()
    if not _verified(str(path), st.st_mtime_ns, st.st_size, datafile.sha256, datafile.content_sha256):
        raise DataError(
            f"{path}: sha256 mismatch for {datafile.path} (expected {datafile.sha256}, got "
            f"{sha256_of(path)}). The file is corrupted or from another revision; delete it "
            "or restore the original."
        )


def where(datafile: DataFile) -> tuple[str, Path | None]:
    """Where a file would be read from, without verifying: ``("mirror"|"cache"|"missing", path)``."""
    mirror = mirror_dir()
    if mirror is not None and (mirror / datafile.path).is_file():
        return "mirror", mirror / datafile.path
    cached = cache_dir() / datafile.path
    if cached.is_file():
        return "cache", cached
    return "missing", None


def locate(datafile: DataFile) -> Path | None:
    """Return a verified local copy (mirror, then cache) or ``None`` when there is none.

    Raises :class:`DataError` when the copy found fails verification.
    """
    kind, path = where(datafile)
    if path is not None:
        verify(path, datafile)
    return path


def fetch(datafile: DataFile | str, *, progress: bool = True) -> Path:
    """Return a verified local path for ``datafile`` (a DataFile, benchmark or aux name).

    Downloads (or, for files whose upstream is another format, builds) into the cache
    when neither the mirror nor the cache has it. Raises :class:`DataError` with
    instructions when it cannot be provided.
    """
    if isinstance(datafile, str):
        datafile = resolve(datafile)
    found = locate(datafile)
    if found is not None:
        return found
    if datafile.url_path is None:
        return _build(datafile, cache_dir() / datafile.path, progress=progress)
    return download(datafile, progress=progress)


def download(datafile: DataFile, *, progress: bool = True) -> Path:
    """Download ``datafile`` into the cache; verified before it enters the cache."""
    if offline():
        raise DataMissingError(missing_message(datafile, _offline_reason()))
    import pooch

    target = cache_dir() / datafile.path
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{base_url()}/{datafile.url_path}"
    log.info("downloading %s", url)
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{datafile.sha256}",
            fname=target.name,
            path=target.parent,
            progressbar=_pooch_progress(progress),
        )
    except ValueError as exc:  # pooch: hash mismatch (the temp file is removed)
        raise DataError(
            f"{url}: downloaded file failed sha256 verification for {datafile.path}; nothing was cached ({exc})"
        ) from None
    except Exception as exc:  # network errors of any kind, incl. a truncated transfer
        raise DataMissingError(missing_message(datafile, f"download from {url} failed ({_short(exc, url)})")) from None
    return Path(path)


def fetch_name(datafile: DataFile) -> str:
    """The NAME that ``atomgenbench data fetch NAME`` takes for ``datafile``."""
    if datafile.path.startswith("jarvis_leaderboard/contributions/"):  # benchmarks/atomgen/contributions.py
        return "--contributions"
    for key, aux in AUX_FILES.items():
        if aux.path == datafile.path:
            return key
    return datafile.name.removesuffix(".json.zip")


def missing_message(datafile: DataFile, reason: str) -> str:
    """One paragraph: which file is missing, why, and the two ways to provide it."""
    mirror = os.environ.get(ENV_DATA)
    where_mirror = f"{ENV_DATA} ({mirror}) does not contain it" if mirror else f"{ENV_DATA} is not set"
    command = f"`atomgenbench data fetch {fetch_name(datafile)}` (or `data fetch --all`)"
    return (
        f"{datafile.path} is not available: {reason}; {where_mirror} and the cache "
        f"({cache_dir()}) has no copy. Point {ENV_DATA} at a data mirror folder that holds "
        f"{datafile.path}, or run {command} {download_condition()} to download and verify it into the cache."
    )


def download_condition() -> str:
    """When ``atomgenbench data fetch`` can download: names only the settings that are set."""
    if offline():
        return f"with {ENV_OFFLINE} unset"
    if os.environ.get(ENV_BASE_URL):
        return f"once {ENV_BASE_URL} ({base_url()}) is reachable (or unset it)"
    return "with network access"


def _pooch_progress(progress: bool) -> bool:
    """pooch draws its own tqdm bar: only on a terminal, and never with --no-progress/TQDM_DISABLE."""
    import pooch

    pooch.get_logger().setLevel("WARNING")  # we log the download ourselves, once
    return bool(progress and progress_enabled() and sys.stderr.isatty())


def _offline_reason() -> str:
    return f"downloads are disabled ({ENV_OFFLINE}={os.environ.get(ENV_OFFLINE, '').strip()})"


def _short(exc: BaseException, url: str) -> str:
    """A one-line reason for a failed download (no nested reprs of connection pools)."""
    from urllib.parse import urlsplit

    import requests

    host = urlsplit(url).netloc or url
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{host} timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {host}"
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} from {host}"
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- built files


def _build(datafile: DataFile, target: Path, *, progress: bool = True) -> Path:
    """Download the upstream source of ``datafile``, convert, verify, and place it at ``target``.

    Raises :class:`DataError` when offline, on a failed
    download, a pinned-sha mismatch or converted content that differs from the
    reference. Nothing is left at ``target`` on failure.
    """
    source = upstream.SOURCES.get(datafile.path)
    if source is None:
        raise DataError(f"{datafile.path}: no upstream source is known")
    if offline():
        raise DataMissingError(missing_message(datafile, _offline_reason()))
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        raw = _download_upstream(source, Path(tmp), progress=progress, datafile=datafile)
        converted = Path(tmp) / target.name
        try:
            upstream.convert(source.fmt, raw, converted, sha256=source.sha256)
        except upstream.UpstreamError as exc:
            raise DataError(f"{datafile.path}: cannot convert {source.url}: {exc}") from None
        expected = getattr(datafile, "content_sha256", None)
        if expected and upstream.content_digest(converted) != expected:
            raise DataError(
                f"{datafile.path}: content converted from {source.url} differs from the reference "
                "(ids or T_c values); nothing was cached"
            )
        os.replace(converted, target)
    return target


def _download_upstream(source: upstream.UpstreamSource, folder: Path, *, progress: bool, datafile: DataFile) -> Path:
    import pooch

    name = source.url.rstrip("/").rsplit("/", 1)[-1] or "download"
    known = f"sha256:{source.sha256}" if source.sha256 else None
    log.info("downloading %s", source.url)
    try:
        return Path(
            pooch.retrieve(source.url, known_hash=known, fname=name, path=folder, progressbar=_pooch_progress(progress))
        )
    except ValueError as exc:
        raise DataError(
            f"{source.url}: failed sha256 verification for {datafile.path}; nothing was cached ({exc})"
        ) from None
    except Exception as exc:  # network errors of any kind
        raise DataMissingError(
            missing_message(datafile, f"download from {source.url} failed ({_short(exc, source.url)})")
        ) from None
