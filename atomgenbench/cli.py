"""The ``atomgenbench`` command line: a thin front door.

Each subcommand lives in its own module under :mod:`atomgenbench.commands` and is
imported only when it is invoked, so ``atomgenbench --help`` stays fast and a
missing optional dependency (torch for the model runners) only affects the
commands that need it.
"""

from __future__ import annotations

import importlib
import sys

import click

from atomgenbench import __version__

#: subcommand name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "data": "atomgenbench.commands.data:data",
    "evaluate": "atomgenbench.commands.evaluate:evaluate",
    "compare": "atomgenbench.commands.compare:compare",
    "run": "atomgenbench.commands.run:run",
    "import": "atomgenbench.commands.importers:import_",
    "package": "atomgenbench.commands.package:package",
    "validate": "atomgenbench.commands.validate:validate",
    "reproduce": "atomgenbench.commands.reproduce:reproduce",
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
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

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
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="atomgenbench")
def cli() -> None:
    """Benchmark generative crystal-structure models on JARVIS-Leaderboard AtomGenBench.

    Typical flow: `data fetch` -> `run MODEL` -> `evaluate` -> `package` -> `validate`,
    or all of it at once with `reproduce`. Data is read from the folder named by
    ATOMGENBENCH_DATA when set, else from the user cache (ATOMGENBENCH_CACHE),
    else downloaded from the pinned upstream commit and verified by sha256.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="atomgenbench")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
