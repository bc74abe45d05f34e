"""Every failure a user can cause or fix, under one base class.

The CLI catches :class:`AtomGenBenchError` in one place (:func:`atomgenbench.cli.main`)
and prints ``error: <message>`` with the exit code of the subclass; a Python traceback
appears only with ``--debug`` or ``ATOMGENBENCH_DEBUG=1``. Library callers can catch the
base class, or a subclass where they need to tell failures apart.

Exit codes (documented in ``atomgenbench --help`` and the README):

====  =====================================================================
0     success (``validate``: the folder is valid)
1     invalid input or result: bad data, bad predictions, an invalid folder,
      a missing resource (offline without a mirror), a failed run
2     usage: an unknown option, benchmark, model, preset or parameter
====  =====================================================================

Each subclass also derives from the built-in exception that callers caught before
this hierarchy existed (``ValueError``, ``RuntimeError``, ``KeyError``), so
``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class AtomGenBenchError(Exception):
    """Base of every exception atomgenbench raises for a user's mistake or a missing resource."""

    exit_code: int = EXIT_INVALID

    def __str__(self) -> str:  # KeyError would otherwise print the repr of its message
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class UsageError(AtomGenBenchError, ValueError):
    """A setting that does not exist: unknown benchmark, model, preset, parameter or option value."""

    exit_code = EXIT_USAGE


class DataError(AtomGenBenchError, RuntimeError):
    """Benchmark data that is missing (offline, no mirror), corrupt or cannot be downloaded."""


class PredictionsError(AtomGenBenchError, ValueError):
    """A predictions file or folder that cannot be read or does not fit the benchmark."""


class StructureError(PredictionsError):
    """One structure that cannot be parsed (the message names the row or file)."""


class ValidationError(AtomGenBenchError, ValueError):
    """A contribution folder or metadata that breaks the leaderboard's rules."""


class RunError(AtomGenBenchError, RuntimeError):
    """A run that cannot proceed: a configuration clash, a runner failure, a resume mismatch."""


class ConfigError(UsageError):
    """A run configuration (preset, ``--set``, ``--config`` file) with an unknown or invalid key."""


class EnvironmentBuildError(AtomGenBenchError, RuntimeError):
    """An isolated scoring environment (``--leaderboard-env``) that cannot be built or run."""


class EngineError(AtomGenBenchError, RuntimeError):
    """The execution engine cannot run the work (e.g. the Dask scheduler cannot be reached)."""


class SubmitError(AtomGenBenchError, RuntimeError):
    """A submission (``atomgenbench submit``) that cannot be made: git, the fork, the API."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
