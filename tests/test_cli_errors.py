"""Every subcommand, with no data at all, ends with one clean message (no traceback, exit 1).

The list of subcommands is built from :data:`atomgenbench.cli.COMMANDS` (groups are
expanded into their subcommands), so a newly registered command fails here until it
gets a minimal argv in :func:`argv_for`. Each command runs in this process through
:func:`atomgenbench.cli.main.run_cli`, the one place where errors become messages and exit
codes, in two situations: offline (``ATOMGENBENCH_OFFLINE=1``) and online with
``ATOMGENBENCH_BASE_URL`` pointing at a local port where nothing listens. In both,
``ATOMGENBENCH_DATA`` is unset, the cache is an empty folder and the in-memory caches of
the data layer are cleared. Two real subprocesses (``python -m atomgenbench``) check the
console entry point itself: the exit code and the traceback with ``--debug``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from atomgenbench.cli import COMMANDS, cli

BENCH = "dft_3d_Tc_supercon"
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


def subcommands() -> list[str]:
    """``"evaluate"``, ``"data show"``, ... for every registered command."""
    names = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub in command.list_commands(ctx)]
        else:
            names.append(name)
    return names


@pytest.fixture(scope="module")
def files(tmp_path_factory, contributions) -> dict[str, Path]:
    """Real inputs copied from the mirror (made while the mirror is still visible)."""
    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark

    root = tmp_path_factory.mktemp("inputs")
    folder = root / "atomgpt_invatoms"
    shutil.copytree(contributions / "atomgpt_invatoms", folder)
    other = root / "cdvae_invatoms" / RMSE
    other.parent.mkdir()
    shutil.copyfile(contributions / "cdvae_invatoms" / RMSE, other)
    data = load_benchmark(BENCH)
    key = data.test_ids[0]
    test_csv = root / "test.csv"
    cif = data.structure(key).to(fmt="cif").replace('"', "'")
    test_csv.write_text(f'material_id,cif,Tc_supercon\n{key},"{cif}",1.0\n')
    pt = root / "eval_recon.pt"
    torch = pytest.importorskip("torch")
    torch.save({"num_atoms": torch.tensor([[len(data.structure(key))]])}, pt)
    result = root / "result"  # an evaluation folder as `evaluate --out` writes it, reduced to what `report` reads
    result.mkdir()
    (result / "metrics.json").write_text(f'{{"benchmark": "{BENCH}", "kind": "structure", "n_total": 105}}\n')
    (result / "rows.csv").write_text(f"id,parsed\n{key},True\n")
    return {
        "rmse": folder / RMSE,
        "folder": folder,
        "other": other,
        "test_csv": test_csv,
        "pt": pt,
        "root": root,
        "result": result,
    }


NEEDS_NO_DATA = {"metadata init", "metadata schema"}


def argv_for(command: str, files: dict[str, Path], out: Path) -> list[str]:
    """A minimal, valid-looking command line for ``command``."""
    common = {"-o": str(out)}
    argv = {
        "data list": [],
        "data show": [BENCH],
        "data fetch": [BENCH],
        "data check": [BENCH],
        "data export": [BENCH, "--split", "test", "-o", str(out)],
        "evaluate": [str(files["rmse"]), "--no-figures"],
        "compare": [str(files["other"]), str(files["rmse"]), "-o", common["-o"]],
        "run": ["nearest", "--benchmark", BENCH, "--preset", "smoke", "-o", common["-o"]],
        "import atomgpt": [str(files["rmse"]), "--benchmark", BENCH, "-o", common["-o"]],
        "import cdvae": [str(files["pt"]), "--test-csv", str(files["test_csv"]), "--benchmark", BENCH, "-o", str(out)],
        "import flowmm": [str(files["pt"]), "--test-csv", str(files["test_csv"]), "--benchmark", BENCH, "-o", str(out)],
        "package": [
            "--dft-3d",
            str(files["rmse"]),
            "--model-name",
            "m",
            "--author-email",
            "me@example.org",
            "--project-url",
            "https://example.org",
            "--out",
            str(out),
        ],
        "validate": [str(files["folder"]), "--no-scores"],
        "reproduce": ["--models", "none", "--baselines", "nearest", "--benchmarks", BENCH, "--out", str(out)],
        "submit": [str(files["folder"]), "--fork", str(out / "fork"), "--dry-run"],
        "report": [str(files["result"]), "-o", str(out / "report.html")],
        # these two read no data: they must simply work without it
        "metadata init": ["--out", str(out / "metadata.yaml"), "--model-name", "m", "--no-input"],
        "metadata schema": [],
    }
    if command not in argv:
        pytest.fail(f"no argv for the new command {command!r}: add a minimal one to argv_for() in {__file__}")
    return command.split() + argv[command]


def _dead_url() -> str:
    with socket.socket() as sock:  # a port that was free a moment ago: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/atomgenbench"


def _clear_data_caches() -> None:
    """Forget benchmark splits and T_c tables read earlier in this process (the mirror was visible then)."""
    from atomgenbench.benchmarks.atomgen import dataset, sources, tc

    dataset.load_splits.cache_clear()
    tc.tc_table.cache_clear()
    sources._verified.cache_clear()


def _in_process(args: list[str], env: dict[str, str], monkeypatch, capsys) -> subprocess.CompletedProcess:
    """``run_cli(args)`` under ``env`` in this process, as a CompletedProcess (returncode, stdout, stderr)."""
    from atomgenbench.cli.main import run_cli

    for key in [k for k in os.environ if k.startswith("ATOMGENBENCH_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("ATOMGENBENCH_"):
            monkeypatch.setenv(key, value)
    _clear_data_caches()
    capsys.readouterr()
    try:
        code = run_cli(args)
    finally:
        _clear_data_caches()
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def _env(tmp_path: Path, situation: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOMGENBENCH_")}
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    env["ATOMGENBENCH_CACHE"] = str(cache)
    if situation == "offline":
        env["ATOMGENBENCH_OFFLINE"] = "1"
    else:
        env["ATOMGENBENCH_BASE_URL"] = _dead_url()
    return env


def _cli(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "atomgenbench", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("situation", ["offline", "dead-base-url"])
@pytest.mark.parametrize("command", subcommands())
def test_no_data_ends_with_one_clean_message(command, situation, files, tmp_path, monkeypatch, capsys):
    env = _env(tmp_path, situation)
    out = _in_process(argv_for(command, files, tmp_path / "out"), env, monkeypatch, capsys)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    if command in NEEDS_NO_DATA:
        assert out.returncode == 0, (out.returncode, out.stderr)
        return
    last = out.stderr.strip().split("\n")[-1]  # notes ("downloading ...") may come first; the message ends it
    assert "ATOMGENBENCH_DATA" in last and "atomgenbench data fetch" in last, out.stderr
    if command == "data list" and situation != "offline":
        # online, a listing is fine without data: files are downloaded when first needed
        assert out.returncode == 0 and "missing" in out.stdout
        return
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert last.startswith("error: "), last
    if situation == "offline":
        assert "ATOMGENBENCH_OFFLINE" in last
    else:
        assert "ATOMGENBENCH_OFFLINE" not in out.stderr  # never set: never named
        assert "ATOMGENBENCH_BASE_URL" in last or "data files" in last
    assert not list(Path(env["ATOMGENBENCH_CACHE"]).rglob("*.zip")), "nothing half-downloaded is left behind"


def test_debug_shows_the_traceback_with_the_same_exit_code(files, tmp_path):
    """The console entry point in real subprocesses: exit code 1, and the traceback only with --debug."""
    env = _env(tmp_path, "offline")
    args = ["evaluate", str(files["rmse"]), "--no-figures"]
    out = _cli([*args, "--debug"], env)
    assert out.returncode == 1 and "Traceback" in out.stderr and "DataMissingError" in out.stderr
    out = _cli(args, {**env, "ATOMGENBENCH_DEBUG": "1"})
    assert out.returncode == 1 and "Traceback" in out.stderr


def test_nonexistent_mirror_is_an_error_not_ignored(files, tmp_path, monkeypatch, capsys):
    env = _env(tmp_path, "offline")
    env.pop("ATOMGENBENCH_OFFLINE")
    env["ATOMGENBENCH_DATA"] = str(tmp_path / "no-such-mirror")
    out = _in_process(["data", "show", BENCH], env, monkeypatch, capsys)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"ATOMGENBENCH_DATA={tmp_path / 'no-such-mirror'} does not exist" in out.stderr


# usage mistakes: exit 2 and a "did you mean" everywhere (in-process: no data is read)

TYPO = "dft_3d_Tc_supercn"


@pytest.mark.parametrize(
    "args",
    [
        ["data", "show", TYPO],
        ["data", "check", TYPO],
        ["data", "fetch", TYPO],
        ["evaluate", "{rmse}", "--benchmark", TYPO],
        ["compare", "{rmse}", "{other}", "--benchmark", TYPO, "-o", "{out}"],
        ["run", "nearest", "--benchmark", TYPO, "-o", "{out}"],
        ["import", "atomgpt", "{rmse}", "--benchmark", TYPO, "-o", "{out}"],
        ["reproduce", "--benchmarks", TYPO, "--models", "none", "--out", "{out}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_unknown_benchmark_is_a_usage_error_with_a_hint(args, files, tmp_path):
    args = [a.format(**files, out=tmp_path / "out") for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert f"unknown benchmark {TYPO!r} (did you mean 'dft_3d_Tc_supercon'?)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args,hint",
    [
        (["run", "cdvea", "-b", BENCH, "-o", "x"], "(did you mean 'cdvae'?)"),
        (["run", "cdvae", "-b", BENCH, "-o", "x", "--preset", "smok"], "(did you mean 'smoke'?)"),
        (["reproduce", "--models", "atomgtp", "--baselines", "none", "--out", "x"], "(did you mean 'atomgpt'?)"),
        (["evaulate"], "(did you mean 'evaluate'?)"),
    ],
)
def test_unknown_model_preset_or_command_is_a_usage_error_with_a_hint(args, hint):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and hint in result.output, result.output
