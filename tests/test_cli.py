"""The front door: --help, --version, unknown commands."""

from __future__ import annotations

import subprocess
import sys

import pytest
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


def _dependency_output(*verbosities: int) -> list[str]:
    """What a process shows, in a pipe, of Lightning's INFO lines and our bars at each verbosity in turn
    (one interpreter: importing Lightning takes seconds)."""
    code = "import sys\nfrom atomgenbench.core.output import configure, bar\n"
    for level in verbosities:
        code += (
            f"configure(verbosity={level})\n"
            "import pytorch_lightning\n"
            "from pytorch_lightning.utilities.rank_zero import rank_zero_info\n"
            "rank_zero_info('GPU available: False, used: False')\n"
            "list(bar(range(3), desc='work'))\n"
            "sys.stdout.flush(); sys.stderr.write('@@@\\n'); sys.stderr.flush()\n"
        )
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode == 0, out.stdout
    parts = out.stdout.split("@@@\n")
    assert len(parts) == len(verbosities) + 1 and parts[-1] == "", out.stdout
    return parts[:-1]


@pytest.mark.slow
def test_dependency_info_and_bars_stay_out_of_a_pipe():
    """Lightning's INFO lines (tips, "GPU available") stop at our root handler; no tqdm bar in a pipe."""
    quiet, verbose = _dependency_output(0, 2)
    assert "GPU available" not in quiet and "\r" not in quiet and "work" not in quiet
    assert "GPU available" in verbose  # -vv: dependency logs too
