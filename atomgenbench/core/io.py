"""Atomic file writes: a reader never sees a half-written output, and a failed write leaves nothing behind.

Every output file of atomgenbench (metrics, reports, figures, leaderboard zips, caches) is
written through :func:`atomic_path`: the content goes to a temporary file in the same folder,
which then replaces the target in one rename. New files get the permissions a plain
``open(path, "w")`` would give (the umask applies), not the owner-only mode of a temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atomgenbench.core.errors import AtomGenBenchError


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (briefly process-wide)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Permissions of a new file under the current umask (``0o644`` for the usual ``022``)."""
    return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``, else it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, default_file_mode())
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


#: the file in an output folder that lists what the last atomgenbench command wrote there
OUTPUTS_MARKER = ".atomgenbench-outputs.json"
_LOCK = ".atomgenbench.lock"
#: result files of earlier versions, which wrote no marker: their folders count as atomgenbench's
_OWN_RESULTS = ("metrics.json", "comparison.json")


class OutputFolderError(AtomGenBenchError):
    """An output folder that this command must not write into (foreign files, or another run)."""


@contextmanager
def output_folder(path: str | os.PathLike, *, command: str, force: bool = False) -> Iterator[Path]:
    """Claim ``path`` for one command's outputs; on success, leave only this run's files of it.

    - A folder holding files that atomgenbench did not write is refused unless ``force``.
    - A lock (``fcntl.flock``) makes a second command writing into the same folder fail at once
      instead of interleaving files with the first.
    - When the body finishes, the files the previous atomgenbench run listed and this run did not
      write again (say its PNGs, after ``--no-figures``) are removed, and the marker lists this run's
      files. A failing body removes nothing.
    """
    import fcntl
    import json

    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / _LOCK, "w")  # noqa: SIM115 (held until the end of the with block)
    except OSError as exc:
        raise OutputFolderError(f"{folder}: cannot write outputs ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputFolderError(f"{folder}: another atomgenbench command is writing there; wait for it") from None
        previous = _previous_outputs(folder, command, force)
        before = _identities(folder)
        yield folder
        # written by this run: new files, or files replaced (atomic writes give a new inode) or changed;
        # compared by identity, not by time, so a file system's coarse mtime cannot hide a fresh output
        now = {p for p, ident in _identities(folder).items() if before.get(p) != ident}
        for name in previous:
            stale = folder / name
            if stale.is_file() and stale not in now:
                stale.unlink()
        listed = sorted(str(p.relative_to(folder)) for p in now)
        atomic_write_text(folder / OUTPUTS_MARKER, json.dumps({"command": command, "files": listed}, indent=1) + "\n")
    finally:
        lock.close()
        (folder / _LOCK).unlink(missing_ok=True)


def check_output_folder(path: str | os.PathLike, *, command: str, force: bool = False) -> None:
    """Before any work: refuse an existing ``path`` that holds foreign files (see :func:`output_folder`)."""
    folder = Path(path)
    if folder.is_dir():
        _previous_outputs(folder, command, force)
    elif folder.exists():
        raise OutputFolderError(f"{folder}: not a folder")


def _identities(folder: Path) -> dict[Path, tuple[int, int, int]]:
    """(inode, size, mtime in ns) of every file below ``folder`` (the marker and the lock left out)."""
    out = {}
    for p in _files(folder):
        st = p.stat()
        out[p] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name not in (OUTPUTS_MARKER, _LOCK)]


def _previous_outputs(folder: Path, command: str, force: bool) -> list[str]:
    """The files the last atomgenbench run listed in ``folder`` (refusing a foreign folder unless ``force``)."""
    import json

    marker = folder / OUTPUTS_MARKER
    if marker.is_file():
        try:
            return [str(name) for name in json.loads(marker.read_text(encoding="utf-8")).get("files", [])]
        except (ValueError, AttributeError):
            return []
    present = _files(folder)
    if present and not force and not any((folder / name).is_file() for name in _OWN_RESULTS):
        raise OutputFolderError(
            f"{folder}: not empty ({len(present)} file(s), e.g. {present[0].name}) and not written by atomgenbench "
            f"{command}; choose an empty or new folder, or pass --force to write into it"
        )
    return []
