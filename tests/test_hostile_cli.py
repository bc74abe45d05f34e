"""User and environment problems end with one line and exit 1 or 2, never the "internal error" exit 3;
the output says what it means (issue: a validator that untrusted pull requests cannot knock over).

* an unreachable Dask scheduler, a CSV whose header is one 10 MB line, and a run folder that cannot be
  written are one line each, exit 1;
* ``-q`` drops the "wrote ..." and "next: ..." notes;
* a lattice (MAE) file's count is "rows", not "matched";
* the pinned environment's python is shown beside the leaderboard CI's own when they differ;
* a team name that defaults to the model name is not repeated ("X by X").
"""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.core.versions import LEADERBOARD_PYTHON, python_label
from atomgenbench.evaluator.leaderboard.metadata import byline

BENCH = "dft_3d_Tc_supercon"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_dask_scheduler_is_one_line(tmp_path, monkeypatch, mirror):
    from atomgenbench.core import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
    from atomgenbench.benchmarks.atomgen.structures import escape

    data = load_benchmark(BENCH)
    path = tmp_path / "p.csv"
    path.write_text("id,prediction\n" + "".join(f"{k},{escape(data.text(k))}\n" for k in data.test_ids[:3]))
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = invoke("evaluate", str(path), "-b", BENCH, "--engine", "dask", "--scheduler", address)
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in result.output


def test_a_ten_megabyte_header_is_one_line(tmp_path, mirror):
    path = tmp_path / "p.csv"
    path.write_text("id" + "x" * 10_000_000 + ",target,prediction\nJVASP-1,x,y\n")
    result = invoke("evaluate", str(path), "-b", BENCH, "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "row 1: header must be" in result.output
    assert "(10,000,020 characters)" in result.output and len(result.output) < 2000


def test_a_run_folder_that_cannot_be_written_is_one_line(tmp_path, mirror):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = invoke("run", "nearest", "-b", BENCH, "-p", "smoke", "--out", str(blocker / "run"))
    assert result.exit_code == 1
    assert f"{blocker / 'run'}: cannot write the run folder (Not a directory)" in result.output


def test_deeply_nested_json_is_one_line(tmp_path, mirror):
    """Python's JSON parser raises RecursionError, not a decode error, on deep nesting (was exit 3)."""
    path = tmp_path / "p.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    result = invoke("evaluate", str(path), "-b", BENCH, "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and f"{path}: invalid JSON (nested too deeply)" in result.output


def laughs(levels: int) -> str:
    """Metadata YAML whose description is 9**levels strings once its aliases are expanded."""
    lines = ["author_email: lab@uni-crystal.edu", "project_url: https://arxiv.org/abs/2110.06197"]
    lines += ["model_name: &a0 lol"] + [f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"description: *a{levels}"]) + "\n"


def test_yaml_aliases_are_refused_before_they_expand(tmp_path, contributions):
    """Nine levels took package to 23 GB; five are enough to show that aliases no longer get through."""
    from atomgenbench.core.errors import ConfigError
    from atomgenbench.runners.config import load_yaml_overrides

    meta = tmp_path / "meta.yaml"
    meta.write_text(laughs(5))
    official = contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    out = tmp_path / "c"
    result = invoke("package", "--dft-3d", str(official), "--metadata", str(meta), "--out", str(out))
    assert result.exit_code == 1 and not out.exists()
    assert f"{meta}: cannot read metadata (line 4: YAML aliases (*a0) are not allowed here)" in result.output
    params = tmp_path / "params.yaml"
    params.write_text("base: &b [1, 2]\nmore: *b\n")
    with pytest.raises(ConfigError, match=r"line 2: YAML aliases \(\*b\) are not allowed"):
        load_yaml_overrides(params)


def test_quiet_drops_the_wrote_and_next_notes(tmp_path, contributions, mirror, valid_metadata):
    source = contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(valid_metadata))
    args = ["package", "--dft-3d", str(source), "--metadata", str(meta)]
    loud = invoke(*args, "--out", str(tmp_path / "a"))
    quiet = invoke("-q", *args, "--out", str(tmp_path / "b"))
    assert loud.exit_code == quiet.exit_code == 0, loud.output + quiet.output
    assert "wrote " in loud.output and "next: atomgenbench validate" in loud.output
    assert "wrote " not in quiet.output and "next:" not in quiet.output
    assert (tmp_path / "b" / "metadata.json").is_file()
    # the team name defaulted to the model name: the README does not say "PerturbNet v1 by PerturbNet v1"
    readme = (tmp_path / "b" / "README.md").read_text()
    assert "PerturbNet v1 on JARVIS-Leaderboard AtomGenBench." in readme and " by PerturbNet" not in readme


def test_lattice_files_count_rows_not_matches(tmp_path, package_cdvae_dft3d, mirror, valid_metadata):
    folder = package_cdvae_dft3d(tmp_path / "c", valid_metadata, 1.0)
    result = invoke("validate", "-j", "1", str(folder))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    mae = next(line for line in lines if "_a-dft_3d-test-mae.csv.zip" in line)
    rmse = next(line for line in lines if "-dft_3d-test-rmse.csv.zip" in line)
    assert "(105/105 rows)" in mae and "matched" not in mae
    assert "/105 matched)" in rmse


def test_labels_of_names_and_pythons():
    assert byline("CDVAE", "Crystal Lab") == "CDVAE by Crystal Lab"
    assert byline("PerturbNet v1", "PerturbNet v1") == byline("PerturbNet v1", None) == "PerturbNet v1"
    assert python_label(LEADERBOARD_PYTHON) == f"python {LEADERBOARD_PYTHON}"
    assert python_label("3.11.7") == f"python 3.11.7 here (the leaderboard's CI runs python {LEADERBOARD_PYTHON})"


def _small_csv(tmp_path):
    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark

    data = load_benchmark(BENCH)
    path = tmp_path / "p.csv"
    path.write_text("id,prediction\n" + "".join(f"{k},{data.text(k)}\n" for k in data.test_ids[:5]))
    return path


def test_evaluate_refuses_a_foreign_out_folder_unless_forced(tmp_path, mirror):
    path, out = _small_csv(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    args = ["evaluate", str(path), "-b", BENCH, "-j", "0", "--n-bootstrap", "0", "--no-figures", "--out", str(out)]
    refused = invoke(*args)
    assert refused.exit_code == 1 and "not written by atomgenbench evaluate" in refused.output
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "thesis.tex").read_text() == "mine" and (out / "metrics.json").is_file()


def test_evaluate_clears_its_own_stale_files(tmp_path, mirror):
    path, out = _small_csv(tmp_path), tmp_path / "out"
    args = ["evaluate", str(path), "-b", BENCH, "-j", "0", "--n-bootstrap", "0", "--out", str(out)]
    assert invoke(*args).exit_code == 0
    assert (out / "lattice_histograms.png").is_file()
    assert invoke(*args, "--no-figures").exit_code == 0  # the same folder again: no --force needed
    assert not list(out.glob("*.png")) and (out / "metrics.json").is_file()
    listed = json.loads((out / ".atomgenbench-outputs.json").read_text())
    assert listed["command"] == "evaluate" and "metrics.json" in listed["files"]
    assert not any(name.endswith(".png") for name in listed["files"])


def test_a_second_command_into_a_busy_out_folder_fails_cleanly(tmp_path, mirror):
    from atomgenbench.core.io import output_folder

    path, out = _small_csv(tmp_path), tmp_path / "out"
    args = ["evaluate", str(path), "-b", BENCH, "-j", "0", "--n-bootstrap", "0", "--no-figures", "--out", str(out)]
    with output_folder(out, command="evaluate"):  # another run holds the folder
        busy = invoke(*args)
    assert busy.exit_code == 1 and "another atomgenbench command is writing there" in busy.output
    assert invoke(*args).exit_code == 0


@pytest.mark.slow
def test_ctrl_c_after_the_command_finished_is_never_a_silent_kill(tmp_path):
    """SIGINT while the process exits (the outputs already written): exit 0, or 130 with one line;
    never killed by the signal with nothing said (what the default handler did during clean-up)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    sub = Path(__file__).resolve().parents[1] / "submissions" / "atomgenbench-nearest-cpu"
    src = sub / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    code = "import sys; from atomgenbench.cli.main import main; main(sys.argv[1:])"
    for k, delay in enumerate((0.05, 0.15, 0.3)):
        out = tmp_path / f"eval{k}"
        args = [sys.executable, "-c", code, "evaluate", str(src), "-b", BENCH, "-j", "2", "--n-bootstrap", "10"]
        args.append("--no-figures")  # the exit path is the same; the figures took a second and a half a run
        proc = subprocess.Popen([*args, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith("wrote"):
                time.sleep(delay)
                proc.send_signal(signal.SIGINT)
                break
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 130), (delay, proc.returncode, err)
        assert "Traceback" not in err
        if proc.returncode == 130:
            assert "interrupted" in err.splitlines()[-1]
        assert (out / "metrics.json").is_file() and os.path.getsize(out / "metrics.json") > 0
