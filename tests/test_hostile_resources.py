"""Inputs that would exhaust time or memory are refused early, by name, and lose nothing else.

* a cell outside the input limits (one 10,000 Å vector: StructureMatcher took ~70 s and 15 GB on it)
  is a failed row of ``evaluate`` and an error of ``validate`` naming file and row, not a hang;
* every crystal of the benchmarks lies inside the limits (scripts/check_limits.py: also every
  published prediction), so no score moves;
* hydrogen isotope labels (D, T), which pymatgen silently reads as H, are refused by name;
* a zip member that unpacks past its cap (a zip bomb) is one clear error line, exit 1;
* a scoring worker's address space is capped, and a pair that runs out of it is a failed row.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.limits import cell_problem
from atomgenbench.benchmarks.atomgen.structures import StructureParseError, escape, parse_poscar
from atomgenbench.cli import cli
from atomgenbench.core.archives import MAX_MEMBER_BYTES
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.inputs.load import load_predictions
from atomgenbench.evaluator.metrics.evaluate import evaluate
from atomgenbench.evaluator.scoring import matching

BENCH = "dft_3d_Tc_supercon"
HUGE = "Ti2Cu2\n1.0\n10000.0 0 0\n0 3.12 0\n0 0 3.12\nTi Cu\n2 2\ndirect\n0 0 0\n0.5 0.5 0\n0 0.5 0.5\n0.5 0 0.5\n"


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


def test_every_benchmark_crystal_is_inside_the_limits(data):
    for split in (data.train_ids, data.test_ids):
        for key in split:
            s = data.structure(key)
            assert cell_problem(s.lattice.matrix, len(s)) is None, key


@pytest.mark.parametrize(
    ("lattice", "n", "words"),
    [
        (np.diag([10000.0, 3.12, 3.12]), 4, "lattice vector of 1e+04 Å exceeds the 100 Å limit"),
        (np.diag([90.0, 2.0, 2.0]), 4, "aspect ratio above the limit of 30"),
        (np.diag([0.4, 0.4, 0.4]), 4, "volume per atom 0.016 Å³ outside the limits"),
        (np.array([[5.0, 0, 0], [0, 5.0, 0], [4.99, 0.0, 0.02]]), 1, "nearly flat cell"),
    ],
)
def test_cells_outside_a_limit_name_it(lattice, n, words):
    problem = cell_problem(lattice, n)
    assert problem is not None and words in problem, problem


def test_the_huge_cell_is_refused_by_the_parser():
    with pytest.raises(StructureParseError, match=r"implausible cell: lattice vector of 1e\+04 Å"):
        parse_poscar(HUGE)


def test_isotope_labels_are_refused_by_name():
    text = "D2\n1.0\n3 0 0\n0 3 0\n0 0 3\nD\n2\ndirect\n0 0 0\n0.5 0.5 0.5\n"
    with pytest.raises(StructureParseError, match=r"isotope label D \(deuterium\).*write H"):
        parse_poscar(text)
    assert parse_poscar(text.replace("D2\n", "H2\n").replace("\nD\n", "\nH\n")).composition.reduced_formula == "H2"


def test_evaluate_records_the_huge_cell_as_a_failed_row_and_scores_the_rest(tmp_path, data):
    bad, good = data.test_ids[:2]
    path = tmp_path / "p.csv"
    path.write_text(f"id,target,prediction\n{bad},x,{escape(HUGE)}\n{good},x,{escape(data.text(good))}\n")
    m = evaluate(load_predictions(path, BENCH), BENCH, executor=Executor.create("process", 0), n_boot=0).to_json()
    assert m["failures"][bad].startswith("implausible cell: lattice vector of 1e+04 Å"), m["failures"]
    assert good not in m["failures"] and m["rmse"]["n_matched"] == 1


def test_validate_names_the_file_and_row_of_the_huge_cell(tmp_path, package_cdvae_dft3d, valid_metadata):
    from atomgenbench.evaluator.submission.package import family_files

    folder = package_cdvae_dft3d(tmp_path / "c", valid_metadata, 1.0)
    rmse = next(folder / f for f in family_files(BENCH) if f.endswith("rmse.csv.zip"))
    with zipfile.ZipFile(rmse) as zf:
        (member,) = zf.namelist()
        lines = zf.read(member).decode().split("\n")
    key, target, _ = lines[3].split(",")
    lines[3] = f"{key},{target},{escape(HUGE)}"
    with zipfile.ZipFile(rmse, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, "\n".join(lines))
    result = CliRunner().invoke(cli, ["validate", "--no-scores", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = next(x for x in result.output.splitlines() if "implausible cell" in x)
    assert f"{rmse.name}:4: id '{key}'" in line, result.output


def test_a_zip_bomb_is_one_error_line(tmp_path, data):
    bomb = tmp_path / "p.csv.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p.csv", b"id,target,prediction\n" + b"a" * (MAX_MEMBER_BYTES + 10))
    assert bomb.stat().st_size < 1024 * 1024  # small on disk
    result = CliRunner().invoke(cli, ["evaluate", str(bomb), "-b", BENCH, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"over the {MAX_MEMBER_BYTES:,}-byte limit" in result.output and str(bomb) in result.output
    assert not (tmp_path / "o").exists()


_CAPPED = """
import numpy as np
from atomgenbench.core.executors import cap_memory
cap_memory(200 * 1024**2)
try:
    np.ones(2 * 1024**3 // 8)
except MemoryError:
    print("refused")
else:
    print("allocated")
"""


def test_cap_memory_turns_a_runaway_allocation_into_memory_error():
    out = subprocess.run([sys.executable, "-c", _CAPPED], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "refused"


def test_a_pair_out_of_memory_is_a_failed_row(monkeypatch, data):
    def exhaust(task):
        raise MemoryError

    monkeypatch.setattr(matching, "measure_pair", exhaust)
    record = matching.score_pair((data.test_ids[0], "", "", None))
    assert record.id == data.test_ids[0] and "memory limit" in record.reason


def test_the_worker_memory_setting_is_read_and_checked(monkeypatch):
    from atomgenbench.core.errors import AtomGenBenchError
    from atomgenbench.core.executors import MEMORY_ENV, worker_memory_bytes

    monkeypatch.setenv(MEMORY_ENV, "0.5")
    assert worker_memory_bytes() == 512 * 1024**2
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(AtomGenBenchError, match=f"{MEMORY_ENV}='lots' is not a number"):
        worker_memory_bytes()


def _cif(group: str, sites: list[tuple[float, float, float]], side: float = 40.0) -> str:
    head = [
        "data_hostile",
        f"_symmetry_space_group_name_H-M '{group}'",
        *(f"_cell_length_{x} {side}" for x in "abc"),
        *(f"_cell_angle_{x} 90" for x in ("alpha", "beta", "gamma")),
        "loop_",
        *(f"_atom_site_{k}" for k in ("label", "type_symbol", "fract_x", "fract_y", "fract_z")),
    ]
    return "\n".join(head + [f"Cu{i} Cu {x:.5f} {y:.5f} {z:.5f}" for i, (x, y, z) in enumerate(sites)]) + "\n"


def test_cifs_that_expand_past_the_site_limit_are_refused_before_pymatgen_builds_them(tmp_path, data):
    """100 general sites of Fm-3m (19,200 atoms) took pymatgen 21 s; 200,000 P1 sites never finished."""
    from atomgenbench.benchmarks.atomgen.limits import MAX_CIF_SITES

    general = [(0.0137 * i % 0.25, 0.0291 * i % 0.25, 0.0413 * i % 0.25) for i in range(100)]
    folder = tmp_path / "cifs"
    folder.mkdir()
    key, good = data.test_ids[:2]
    (folder / f"{key}.cif").write_text(_cif("F m -3 m", general))
    (folder / f"{good}.cif").write_text(_cif("P 1", general[:4], side=6.0))
    preds = load_predictions(folder, BENCH)
    assert preds.failures[key].startswith(
        f"file {key}.cif: CIF of 100 atom sites × 192 symmetry operations: over the limit of {MAX_CIF_SITES:,}"
    )
    assert preds.structures[good] and good not in preds.failures
    single = tmp_path / "big.cif"
    single.write_text(_cif("P 1", [(i / 12000, 0.5, 0.5) for i in range(12000)], side=300.0))
    result = CliRunner().invoke(cli, ["evaluate", str(single), "-b", BENCH, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{single}: data block 'data_hostile': CIF of 12,000 atom sites × 1 symmetry operations" in result.output


def test_yaml_over_the_size_or_depth_limit_is_refused():
    """PyYAML's scanner took 30 s on brackets nested 100,000 deep (200 KB)."""
    from atomgenbench.core.yaml_text import MAX_YAML_BYTES, YAMLInputError, load_yaml

    assert load_yaml("a: [[1, {b: [2]}]]\n") == {"a": [[1, {"b": [2]}]]}
    with pytest.raises(YAMLInputError, match="nested more than 64 deep"):
        load_yaml("a: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(YAMLInputError, match="byte limit"):
        load_yaml("a: '" + "x" * MAX_YAML_BYTES + "'")
