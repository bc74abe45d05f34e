"""How many worker processes to use: ``--workers auto`` (the default) or a number.

``auto`` is the number of CPU cores this process may run on
(:func:`os.sched_getaffinity` where the platform has it, so a container or a
``taskset`` limit is respected; else :func:`os.cpu_count`). Results never depend on
the worker count: work is split into independent items and gathered in order
(:mod:`atomgenbench.evaluator.engines`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

AUTO = "auto"


def available_cores() -> int:
    """CPU cores available to this process (at least 1)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:  # pragma: no cover - some sandboxes refuse the call
            pass
    return max(1, os.cpu_count() or 1)


def resolve_workers(value: int | str | None) -> int:
    """``None`` or ``"auto"`` -> :func:`available_cores`; an int is returned unchanged."""
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return available_cores()
    return int(value)


class WorkersType(click.ParamType):
    """A click parameter accepting ``auto`` or an integer of at least ``minimum``; converts to an int."""

    name = "workers"

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"[auto|N>={self.minimum}]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().lower() == AUTO:
            return available_cores()
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not 'auto' or a whole number", param, ctx)
        if number < self.minimum:
            self.fail(f"{number} is below the minimum of {self.minimum} (or use 'auto')", param, ctx)
        return number


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--engine process|dask`` and ``--scheduler`` (docs/scaling.md); results are identical on either engine."""
    func = click.option(
        "--scheduler",
        envvar="DASK_SCHEDULER_ADDRESS",
        metavar="ADDRESS",
        help="With --engine dask: an existing Dask scheduler (tcp://host:8786; default $DASK_SCHEDULER_ADDRESS); "
        "without it a local cluster of --workers processes is started on 127.0.0.1 and closed on exit.",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["process", "dask"]),
        default="process",
        show_default=True,
        help="Where pairs are matched: a local process pool, or Dask (needs atomgenbench[dask]).",
    )(func)


def workers_option(*, minimum: int = 1, help_extra: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The shared ``--workers/-j`` option (default ``auto``)."""
    text = f"Processes for structure matching; 'auto' = the {available_cores()} available CPU cores."
    return click.option(
        "--workers",
        "-j",
        type=WorkersType(minimum),
        default=AUTO,
        show_default=True,
        help=f"{text} {help_extra}".strip(),
    )
