"""The front door: --help, --version, unknown commands."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from atomgenbench import __version__
from atomgenbench.cli import COMMANDS, cli


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    assert "ATOMGENBENCH_DATA" in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command 'frobnicate'" in result.output


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "atomgenbench", "data", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "fetch" in out.stdout and "check" in out.stdout
