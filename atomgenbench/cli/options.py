"""Click options shared by the commands: workers and engine, and the options of every command that reads predictions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from atomgenbench.core.executors import AUTO, available_cores

IN_TEST_ORDER_HELP = (
    "The input's structures are in the benchmark's test order: structure i is the prediction for "
    "test id i (`atomgenbench data export BENCH --split test` lists them). Needed for files without "
    "ids, such as MatterGen's generated_crystals.extxyz; the counts must be equal."
)


def in_test_order_option(func: Callable) -> Callable:
    """Add ``--in-test-order`` (a flag passed as ``in_test_order``) to a click command."""
    return click.option("--in-test-order", "in_test_order", is_flag=True, help=IN_TEST_ORDER_HELP)(func)


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
