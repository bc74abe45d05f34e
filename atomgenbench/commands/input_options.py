"""Options shared by every command that reads predictions (evaluate, compare, package, validate)."""

from __future__ import annotations

from collections.abc import Callable

import click

IN_TEST_ORDER_HELP = (
    "The input's structures are in the benchmark's test order: structure i is the prediction for "
    "test id i (`atomgenbench data export BENCH --split test` lists them). Needed for files without "
    "ids, such as MatterGen's generated_crystals.extxyz; the counts must be equal."
)


def in_test_order_option(func: Callable) -> Callable:
    """Add ``--in-test-order`` (a flag passed as ``in_test_order``) to a click command."""
    return click.option("--in-test-order", "in_test_order", is_flag=True, help=IN_TEST_ORDER_HELP)(func)
