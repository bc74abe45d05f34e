"""The atomgenbench command line."""

from atomgenbench.cli.main import COMMANDS, cli, main

__all__ = ["COMMANDS", "cli", "main"]
