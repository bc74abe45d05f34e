"""What atomgenbench prints besides results: logging, progress bars, dependency noise.

* Messages go through :mod:`logging` under the ``atomgenbench`` logger, to stderr
  (warnings as ``warning: ...``). ``-q`` shows warnings and errors only, the default
  adds progress notes (INFO), ``-v`` adds debug detail.
* Progress bars are tqdm bars that appear only on a TTY (``disable=None``); ``--no-progress``
  or ``TQDM_DISABLE=1`` turn them off everywhere. A pipe or a log file never gets carriage
  returns.
* Dependencies are silenced at their source: the Lightning/transformers loggers are set to
  ERROR, and the few warnings they emit for settings we choose on purpose are filtered by
  message, not wholesale.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

LOGGER_NAME = "atomgenbench"
log = logging.getLogger(LOGGER_NAME)

#: loggers of dependencies whose INFO output (tips, "GPU available", loading bars) is noise here
NOISY_LOGGERS: tuple[str, ...] = (
    "pytorch_lightning",
    "lightning",
    "lightning.pytorch",
    "lightning_fabric",
    "lightning.fabric",
    "transformers",
    "huggingface_hub",
    "torch_geometric",
    "matplotlib",
    "numexpr",
    "h5py",
    "fsspec",
)

_state: dict[str, Any] = {"progress": True, "configured": False}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the message (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


class _Formatter(logging.Formatter):
    """Notes as plain lines; warnings and errors prefixed the way the CLI prints errors."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        if record.levelno >= logging.WARNING:
            return f"warning: {text}"
        return text


def configure(verbosity: int = 0, progress: bool = True) -> None:
    """Set up logging and progress for a CLI call (``verbosity``: -1 quiet, 0 default, 1+ verbose)."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logger = logging.getLogger(LOGGER_NAME)
    if not any(getattr(h, "_atomgenbench", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        handler._atomgenbench = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    _dependency_handler().setLevel(logging.INFO if verbosity > 1 else logging.WARNING)
    _state["progress"] = progress
    _state["configured"] = True
    _state["quiet"] = verbosity < 0
    if not progress:
        os.environ["TQDM_DISABLE"] = "1"
    quiet_dependencies(verbose=verbosity > 1)


def _dependency_handler() -> logging.Handler:
    """The root logger's handler (added once): what dependencies log reaches stderr through it.

    With a root handler in place, Lightning does not attach its own INFO-level handler
    when it is imported later (it only does so when the root has none), so its tips and
    "GPU available" lines stop at this handler's level: warnings by default, INFO with -vv.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_atomgenbench", False):
            return handler
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    handler._atomgenbench = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return handler


def ensure_configured() -> None:
    """:func:`configure` with the defaults unless the CLI (or a caller) already did."""
    if not _state["configured"]:
        configure()


def is_quiet() -> bool:
    """Whether ``-q`` was given: print results and errors only, no "wrote ..." or "next: ..." notes."""
    return bool(_state.get("quiet"))


def progress_enabled() -> bool:
    """Whether progress bars may be shown at all (they still need a TTY)."""
    return bool(_state["progress"]) and os.environ.get("TQDM_DISABLE", "").lower() not in {"1", "true", "yes"}


def bar(iterable: Iterable[T] | None = None, *, progress: bool = True, **kwargs: Any) -> Iterator[T]:
    """A tqdm bar that is shown only on a TTY, and never when progress is off (``progress=False``,
    ``--no-progress`` or ``TQDM_DISABLE``)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("dynamic_ncols", True)
    disable = None if (progress and progress_enabled()) else True
    return tqdm(iterable, disable=disable, **kwargs)


def quiet_dependencies(verbose: bool = False) -> None:
    """Silence dependency chatter at its source (idempotent)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
    if verbose:
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # spglib's C library prints "spglib: ... failed." to stderr for cells it cannot symmetrise
    # (we record those rows' symmetry as unknown); its documented switch turns that off
    os.environ.setdefault("SPGLIB_WARNING", "OFF")
    # settings we choose on purpose; each is matched by its message so new warnings still show
    for message in (
        r".*does not have many workers.*",  # Lightning: num_workers=0 is deliberate on small sets
        r".*GPU available but not used.*",
        r".*TPU available.*|.*HPU available.*",
        r".*The number of training batches.*is smaller than the logging interval.*",
        r".*Checkpoint directory .* exists and is not empty.*",
        r".*`isinstance\(treespec, LeafSpec\)` is deprecated.*",
        r".*No Pauling electronegativity for .*",  # pymatgen: our He placeholder, noble gases
        r".*Issues encountered while parsing CIF.*",
        r".*does not have a deterministic implementation, but you set.*warn_only=True.*",  # deterministic="warn"
    ):
        warnings.filterwarnings("ignore", message=message)
    for module in ("pymatgen", "spglib", "jarvis"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
    if "transformers" in sys.modules:  # already imported: its own switch (env vars apply to later imports)
        tlog = sys.modules.get("transformers.utils.logging")
        if tlog is not None:
            tlog.set_verbosity_error()
            tlog.disable_progress_bar()
