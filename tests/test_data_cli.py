"""`atomgenbench data list/fetch/show/check` on the real mirror."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.registry import REGISTRY
from atomgenbench.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["data", *args])


def test_list_shows_all_benchmarks_with_sizes():
    result = run("list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in REGISTRY:
        assert name in lines
    assert "953/105" in lines["dft_3d_Tc_supercon_gamma"] and "7428/825" in lines["alex_supercon_Tc"]
    assert "6091/2032/2030" in lines["carbon24_energy_per_atom"] and "11356/3787/3785" in lines["perov5_heat_ref"]
    assert (
        "mirror" in lines["perov5_heat_ref"]
        and "AI-AtomGen-heat_ref-perov5-test-rmse.csv.zip" in lines["perov5_heat_ref"]
    )


def test_list_json():
    result = run("list", "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows["benchmarks"]] == list(REGISTRY)
    by_name = {r["name"]: r for r in rows["benchmarks"]}
    assert by_name["alex_supercon_Tc_b"]["split_sizes"] == {"train": 7428, "test": 825}
    assert by_name["alex_supercon_Tc_b"]["kind"] == "float" and by_name["alex_supercon_Tc_b"]["status"] == "mirror"
    assert {r["name"] for r in rows["aux"]} == {"supercon_3d_Tc", "alexandria_DS-A", "alexandria_DS-B"}


def test_list_does_not_parse_structures(mirror):
    code = (
        "import sys; from click.testing import CliRunner; from atomgenbench.cli import cli;"
        "r = CliRunner().invoke(cli, ['data', 'list']); assert r.exit_code == 0, r.output;"
        "assert 'pymatgen.core.structure' not in sys.modules; assert 'jarvis.io.vasp.inputs' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fetch_all_verifies_every_file():
    result = run("fetch", "--all")
    assert result.exit_code == 0, result.output
    assert "all 19 file(s) verified" in result.output
    assert result.output.count("ok     ") == 19


def test_fetch_needs_names_or_all():
    assert run("fetch").exit_code == 2
    result = run("fetch", "nope")
    assert result.exit_code == 2 and "unknown benchmark 'nope'" in result.output and "supercon_3d_Tc" in result.output
    result = run("fetch", "supercon_3d_tc")
    assert result.exit_code == 2 and "(did you mean 'supercon_3d_Tc'?)" in result.output


def test_fetch_tampered_mirror_fails_naming_the_file(mirror, tmp_path, monkeypatch):
    copy = tmp_path / "mirror"
    for part in ("jarvis_leaderboard/benchmarks", "jarvis", "alexandria"):
        shutil.copytree(mirror / part, copy / part)
    victim = copy / "jarvis_leaderboard/benchmarks/AI/AtomGen/alex_supercon_Tc_beta.json.zip"
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[200] ^= 0x01
    victim.write_bytes(bytes(data))
    monkeypatch.setenv("ATOMGENBENCH_DATA", str(copy))
    result = run("fetch", "--all")
    assert result.exit_code == 1
    assert (
        "1 of 19 file(s) failed: jarvis_leaderboard/benchmarks/AI/AtomGen/alex_supercon_Tc_beta.json.zip"
        in result.output
    )
    assert "sha256 mismatch" in result.output


def test_show_structure_benchmark():
    result = run("show", "dft_3d_Tc_supercon", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["splits"] == {"train": 953, "test": 105}
    assert info["tc"]["test"]["covered"] == 105 and info["tc"]["train"]["covered"] == 953
    assert 1 <= info["atoms_per_cell"]["train"]["min"] <= info["atoms_per_cell"]["train"]["median"]
    assert info["atoms_per_cell"]["test"]["max"] <= 18
    assert sum(info["elements"].values()) >= 953 + 105
    text = run("show", "dft_3d_Tc_supercon")
    assert "T_c (K) min/median/max" in text.output and "(105/105 ids have T_c)" in text.output


def test_show_float_benchmark_value_range():
    info = json.loads(run("show", "alex_supercon_Tc_gamma", "--json").stdout)
    assert 0 < info["values"]["test"]["min"] <= info["values"]["test"]["max"] < 180


def test_show_unknown_is_a_clean_error():
    result = run("show", "dft_3d")
    assert result.exit_code == 2 and "unknown benchmark 'dft_3d'" in result.output
    assert "Traceback" not in result.output
    result = run("show", "dft_3d_Tc_supercn")
    assert result.exit_code == 2 and "unknown benchmark 'dft_3d_Tc_supercn' (did you mean 'dft_3d_Tc_supercon'?)" in (
        result.output
    )


def test_check_dft_3d_reports_duplicates_and_coverage():
    result = run("check", "dft_3d_Tc_supercon", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tolerances"] == {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0}
    assert (report["test_size"], report["train_size"]) == (105, 953)
    assert report["missing_tc"] == {"test": [], "train": []}
    # measured on the pinned data: 8 test crystals match a training crystal
    assert len(report["duplicates"]) == 8
    assert report["duplicates"]["JVASP-20570"] == ["JVASP-20381"]
    assert report["test_formula_in_train"] >= len(report["duplicates"])


def test_check_rejects_lattice_benchmark():
    result = run("check", "dft_3d_Tc_supercon_a")
    assert result.exit_code == 2 and "(use dft_3d_Tc_supercon instead)" in result.output


@pytest.mark.parametrize("command", ["list", "fetch", "show", "check"])
def test_help_texts(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
