"""The ``atomgenbench`` command line: a thin front door.

Each subcommand lives in its own module under :mod:`atomgenbench.cli.commands` and is
imported only when it is invoked, so ``atomgenbench --help`` stays fast and a
missing optional dependency (torch for the model runners) only affects the
commands that need it.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
import traceback

import click

from atomgenbench.core.errors import EXIT_INVALID, EXIT_USAGE, AtomGenBenchError, did_you_mean
from atomgenbench.core.output import configure
from atomgenbench.core.versions import __version__

#: exit codes (also in ``atomgenbench --help``)
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
DEBUG_ENV = "ATOMGENBENCH_DEBUG"

#: subcommand name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "data": "atomgenbench.cli.commands.data:data",
    "evaluate": "atomgenbench.cli.commands.evaluate:evaluate",
    "compare": "atomgenbench.cli.commands.compare:compare",
    "run": "atomgenbench.cli.commands.run:run",
    "import": "atomgenbench.cli.commands.importers:import_",
    "package": "atomgenbench.cli.commands.package:package",
    "validate": "atomgenbench.cli.commands.validate:validate",
    "reproduce": "atomgenbench.cli.commands.reproduce:reproduce",
    "metadata": "atomgenbench.cli.commands.metadata:metadata",
    "submit": "atomgenbench.cli.commands.submit:submit",
    "report": "atomgenbench.cli.commands.report:report",
}

#: one-line help shown by ``atomgenbench --help`` without importing the module
SHORT_HELP: dict[str, str] = {
    "data": "List, fetch, inspect and check the benchmark data.",
    "evaluate": "Score predictions against a benchmark (leaderboard and paper metrics).",
    "compare": "Compare several models on one benchmark, with paired bootstrap CIs.",
    "run": "Train a model or baseline and reconstruct a benchmark's test crystals.",
    "import": "Convert official AtomGPT/CDVAE/FlowMM outputs to standardized predictions.",
    "package": "Write a JARVIS-Leaderboard contribution folder from predictions.",
    "validate": "Check contribution folders strictly, and show the scores they will get.",
    "reproduce": "One command from data to evaluated models and a validated contribution.",
    "metadata": "Write the metadata YAML that package reads (metadata init), or print its schema.",
    "submit": "Put a validated folder on a branch of your leaderboard fork and open the pull request.",
    "report": "Write one self-contained report.html (tables, figures, crystal viewer) from result folders.",
}


class HintedChoice(click.Choice):
    """A :class:`click.Choice` whose error adds "did you mean" for a near miss."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            hint = did_you_mean(str(value), [str(c) for c in self.choices])
            if hint:
                exc.message = exc.message.rstrip(".") + hint + "."
            raise


class LazyGroup(click.Group):
    """A click group that imports each subcommand module on first use.

    Called in click's standalone mode (``cli()``, ``CliRunner().invoke(cli, ...)``) it
    hands over to :func:`run_cli`, so every way of running the CLI goes through the
    same error handler and exit codes.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        sys.exit(run_cli(None if args is None else list(args)))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            ctx.fail(f"No such command {name!r}{did_you_mean(name, COMMANDS)}.")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # an optional dependency is missing
            if exc.name and exc.name.split(".")[0] in {"atomgenbench", "benchmarks", "runners", "evaluator"}:
                raise
            return _missing_dependency_command(name, exc.name or str(exc))
        return _with_output_options(getattr(module, attr))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _set_output(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Callback of the output options: record them and (re)configure logging/progress."""
    state = ctx.ensure_object(dict)
    if value is not None and param.name is not None:
        state[param.name] = value
    verbosity = state.get("verbose", 0) - (1 if state.get("quiet") else 0)
    configure(verbosity=verbosity, progress=not state.get("no_progress", False))
    if state.get("debug"):
        os.environ[DEBUG_ENV] = "1"
    return value


def _output_options() -> list[click.Option]:
    common = {"expose_value": False, "is_eager": True, "callback": _set_output}
    return [
        click.Option(["-q", "--quiet"], is_flag=True, default=None, help="Print results and errors only.", **common),
        click.Option(
            ["-v", "--verbose"], count=True, default=None, help="More detail (-vv: dependency logs too).", **common
        ),
        click.Option(
            ["--no-progress"],
            is_flag=True,
            default=None,
            help="No progress bars (they only appear on a terminal anyway; TQDM_DISABLE=1 also works).",
            **common,
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            default=None,
            help=f"Show the Python traceback of an error (or set {DEBUG_ENV}=1).",
            **common,
        ),
    ]


def _with_output_options(command: click.Command) -> click.Command:
    """Give ``command`` (and its subcommands) -q/-v/--no-progress/--debug, once."""
    if getattr(command, "_atomgenbench_output", False):
        return command
    taken = {
        opt for param in command.params for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
    }
    command.params.extend(o for o in _output_options() if not taken.intersection(o.opts))
    for param in command.params:
        if type(param.type) is click.Choice:
            param.type.__class__ = HintedChoice  # same state, adds "did you mean" to its error
    command._atomgenbench_output = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_output_options(sub)
    return command


def _missing_dependency_command(name: str, missing: str) -> click.Command:
    @click.command(name=name, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def _cmd(args: tuple[str, ...]) -> None:
        raise click.ClickException(
            f"'atomgenbench {name}' needs the Python package '{missing}', which is not installed. "
            "Install the model extras: pip install 'atomgenbench[models]' "
            "(install torch first, e.g. pip install torch==2.13.0 for a CPU build)."
        )

    return _cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, params=_output_options())
@click.version_option(__version__, prog_name="atomgenbench")
def cli() -> None:
    """Benchmark generative crystal-structure models on JARVIS-Leaderboard AtomGenBench.

    Typical flow: `data fetch` -> `run MODEL` -> `evaluate` -> `package` -> `validate`,
    or all of it at once with `reproduce`. Data is read from the folder named by
    ATOMGENBENCH_DATA when set, else from the user cache (ATOMGENBENCH_CACHE),
    else downloaded from the pinned upstream commit and verified by sha256.

    \b
    Exit codes: 0 success; 1 invalid input or result (bad data or predictions,
    an invalid folder, missing data offline, a failed run); 2 usage (unknown
    option, benchmark, model, preset or parameter); 3 internal error (a bug:
    please report it with the --debug traceback); 130 interrupted.
    """


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in {"", "0", "false", "no"}


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; the one place where errors become messages."""
    try:
        cli.main(args=argv, prog_name="atomgenbench", standalone_mode=False)
    except AtomGenBenchError as exc:
        if _debug():
            traceback.print_exc()
        return _fail(str(exc), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:  # click's own: unknown option, missing argument
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:
        if _debug():
            traceback.print_exc()
        return _fail(exc.format_message(), exc.exit_code or EXIT_INVALID)
    except click.Abort as exc:  # click turns Ctrl-C into Abort
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            return EXIT_INTERRUPTED
        return _fail("aborted", EXIT_INVALID)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `atomgenbench ... | head`
        return 0
    except Exception as exc:  # a bug, not a user mistake: short message unless --debug
        if _debug():
            traceback.print_exc()
            return EXIT_INTERNAL
        return _fail(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug in atomgenbench; "
            f"rerun with --debug (or {DEBUG_ENV}=1) for the traceback and report it.",
            EXIT_INTERNAL,
        )
    return 0


def _interrupted_on_exit(signum, frame) -> None:
    """Ctrl-C after the command returned (while pools and threads shut down): one line, exit 130."""
    sys.stderr.write("interrupted (after the command had finished: its outputs are complete)\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    A Ctrl-C after the command returned gets one line and exit 130 while Python can still run
    a handler (threads and pools shutting down), and is ignored from the moment the interpreter
    starts its final clean-up (atexit), where the default handler would kill the process with
    no message although every output is already complete.
    """
    code = run_cli(argv)
    signal.signal(signal.SIGINT, _interrupted_on_exit)
    atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)  # runs first: atexit is last-in, first-out
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
