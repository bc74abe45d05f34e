"""Click options shared by the commands, so that one name means one thing everywhere.

* ``executor_options``: ``-j/--workers``, ``--engine``, ``--scheduler`` → one ``executor`` argument
  (:class:`atomgenbench.core.executors.Executor`, progress bars as the global options say);
* ``evaluation_options``: the settings that decide an evaluation's numbers → one ``settings`` argument
  (:class:`atomgenbench.workflows.evaluation.EvaluationSettings`), with the same bounds in every command;
* ``json_option``, ``force_option``, ``in_test_order_option``, and :class:`ListType` for options that
  take several values (repeat the option, or separate values by commas).

``-o/--out`` always names what the command writes: a folder (``evaluate``, ``compare``, ``run``,
``package``, ``reproduce``, ``import``, ``data export``) or, where the command writes one file, that file
(``compare --format``, ``metadata init``, ``report``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
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


class ListType(click.ParamType):
    """Values of an option given several times or separated by commas (``--labels a --labels b`` = ``--labels a,b``)."""

    name = "list"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        return tuple(v.strip() for v in str(value).split(",") if v.strip())


def flatten(values: tuple | None) -> tuple[str, ...] | None:
    """The values of a ``multiple=True`` :class:`ListType` option as one tuple (``None`` when not given)."""
    if not values:
        return None
    return tuple(v for group in values for v in (group if isinstance(group, tuple) else (group,)))


def list_option(*decls: str, help: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option that may be repeated and also takes comma-separated values."""
    return click.option(
        *decls, type=ListType(), multiple=True, help=f"{help} Repeat the option or separate by commas.", **kwargs
    )


def json_option(what: str = "the result") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--json``: print the result as JSON on stdout (and nothing else there)."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON on stdout.")


def force_option(what: str = "an existing output") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--force``: replace what is already there."""
    return click.option("--force", is_flag=True, help=f"Replace {what}.")


def executor_options(
    *, minimum: int = 1, engine: bool = True, help_extra: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-j/--workers`` (and ``--engine``/``--scheduler``), passed to the command as one ``executor``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, workers: int, engine: str = "process", scheduler: str | None = None, **kwargs: Any):
            from atomgenbench.core.executors import Executor
            from atomgenbench.core.output import progress_enabled

            executor = Executor.create(engine, workers, scheduler, progress=progress_enabled())
            with executor.session():  # one Dask cluster per command, however many maps it runs
                return func(*args, executor=executor, **kwargs)

        wrapped = workers_option(minimum=minimum, help_extra=help_extra)(wrapper)
        return engine_options(wrapped) if engine else wrapped

    return decorate


def evaluation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The settings that decide an evaluation's numbers, passed to the command as one ``settings``."""
    from atomgenbench.benchmarks.atomgen.registry import MAX_ATOMS

    @functools.wraps(func)
    def wrapper(
        *args: Any, max_atoms, seed, n_bootstrap, time_limit, legacy_anonymous, leaderboard_env, matcher, **kwargs
    ):
        from atomgenbench.workflows.evaluation import EvaluationSettings

        kwargs["settings"] = EvaluationSettings(
            max_atoms=max_atoms,
            seed=seed,
            n_bootstrap=n_bootstrap,
            time_limit_s=time_limit,
            legacy_anonymous=legacy_anonymous,
            leaderboard_env=leaderboard_env,
            matcher=matcher,
        )
        return func(*args, **kwargs)

    options = [
        click.option(
            "--max-atoms",
            type=click.IntRange(1),
            default=MAX_ATOMS,
            show_default=True,
            help="Predictions with more atoms are recorded as failures.",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling."),
        click.option(
            "--n-bootstrap",
            type=click.IntRange(0),
            default=1000,
            show_default=True,
            help="Bootstrap resamples for the 95% CIs, shared by all models of a comparison (0: no CIs).",
        ),
        click.option(
            "--time-limit",
            type=click.FloatRange(0),
            default=60.0,
            show_default=True,
            help="Seconds allowed per StructureMatcher call; a pair over it counts as unmatched.",
        ),
        click.option(
            "--matcher",
            type=click.Choice(["fast", "pymatgen"]),
            default="fast",
            show_default=True,
            help="The get_rms_dist implementation: fast (vectorised, pymatgen's decisions and values; "
            "docs/metrics.md) or pymatgen's own StructureMatcher. metrics.json records which.",
        ),
        click.option(
            "--legacy-anonymous",
            is_flag=True,
            help="Also compute the species-blind RMSE of the old leaderboard (get_rms_anonymous, rmse_anonymous "
            "in metrics.json). Off by default: it costs more than the rest of the evaluation together.",
        ),
        click.option(
            "--leaderboard-env",
            is_flag=True,
            help="Also score the structures in the leaderboard's own environment (its pinned pymatgen and other "
            "pins, built once into the user cache; docs/leaderboard-env.md): the RMSE the leaderboard will show, "
            "beside this environment's, with every id that differs.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


#: the metadata.json fields that ``package`` and ``metadata init`` take as options (the rest are written by package)
METADATA_OPTION_FIELDS = (
    "model_name",
    "team_name",
    "author_email",
    "project_url",
    "git_url",
    "date_submitted",
    "software_used",
    "hardware_used",
    "database_version",
    "language",
    "os",
)


def metadata_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """One option per field of :data:`METADATA_OPTION_FIELDS`, its help text and multiplicity from the JSON Schema.

    ``--os`` arrives as ``os_`` (not to shadow the module); a list field (``git_url``) is repeatable.
    """
    from atomgenbench.evaluator.leaderboard.metadata import metadata_schema

    properties = metadata_schema()["properties"]
    for name in reversed(METADATA_OPTION_FIELDS):
        spec = properties[name]
        many = spec.get("type") == "array"
        decls = [f"--{name.replace('_', '-')}"] + (["os_"] if name == "os" else [])
        text = spec.get("description", "") + (" Repeat the option for several." if many else "")
        func = click.option(*decls, multiple=many, help=text)(func)
    return func


def emit(as_json: bool, doc: dict, lines: list[str], notes: Sequence[str] = ()) -> None:
    """Print a command's result: ``doc`` as JSON with ``--json`` (nothing else on stdout), else ``lines``,
    then ``notes`` ("wrote ...", "next: ...") unless ``-q``."""
    import json

    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    for line in lines:
        click.echo(line)
    for line in notes:
        note(line)


def note(line: str) -> None:
    """A line that says what was written or what to do next: on stdout, but not with ``-q``."""
    from atomgenbench.core.output import is_quiet

    if not is_quiet():
        click.echo(line)
