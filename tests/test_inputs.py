"""Every input a generator writes, read into predictions, on the mirror's dft_3d benchmark.

MatterGen-style files without ids (``--in-test-order``), any ASE file, pymatgen JSON,
CIF folders and zips, VASP4 / negative-scale POSCARs, collected file problems, bad
structures that must never crash, and ``data export`` round trips.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile

import ase.io
import pytest
from click.testing import CliRunner
from pymatgen.io.ase import AseAtomsAdaptor

from atomgenbench.benchmarks.atomgen.conditioning import conditioning_for
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.structures import escape, parse_poscar
from atomgenbench.cli import cli
from atomgenbench.core.errors import PredictionsError
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.inputs.load import InputError, load_predictions
from atomgenbench.evaluator.metrics.evaluate import evaluate

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


def _frames(data, ids, with_ids=False):
    """ASE frames of the benchmark's own structures, converted the way MatterGen writes its output."""
    frames = []
    for key in ids:
        atoms = AseAtomsAdaptor.get_atoms(data.structure(key))
        if with_ids:
            atoms.info["id"] = key
        frames.append(atoms)
    return frames


def _mattergen_extxyz(path, data, ids):
    ase.io.write(path, _frames(data, ids))  # what mattergen's save_structures does: no ids in the frames
    return path


def _evaluate_json(args):
    res = CliRunner().invoke(cli, ["evaluate", *args, "-b", BENCH, "--json", "--n-bootstrap", "0"])
    return res, (json.loads(res.stdout) if res.exit_code == 0 else None)


def _same_structures(preds, data, ids):
    for key in ids:
        pred, target = parse_poscar(preds.structures[key]), data.structure(key)
        assert pred.composition == target.composition, key
        assert pred.lattice.abc == pytest.approx(target.lattice.abc, abs=1e-6), key


# --------------------------------------------------------------------------- MatterGen / ASE


def test_mattergen_extxyz_of_the_oracle_needs_in_test_order(tmp_path, data):
    path = _mattergen_extxyz(tmp_path / "generated_crystals.extxyz", data, data.test_ids)
    assert "id=" not in path.read_text()
    res, metrics = _evaluate_json([str(path), "--in-test-order"])
    assert res.exit_code == 0, res.output
    assert metrics["rmse"]["match_rate"] == 1.0 and metrics["rmse"]["n_matched"] == 105
    assert metrics["rmse"]["value"] == pytest.approx(0.0, abs=1e-6) and metrics["failures"] == {}
    res, _ = _evaluate_json([str(path)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "carry no ids" in res.output and "--in-test-order" in res.output


def test_in_test_order_count_mismatch_names_both_counts(tmp_path, data):
    path = _mattergen_extxyz(tmp_path / "generated_crystals.extxyz", data, data.test_ids[:7])
    with pytest.raises(InputError, match=r"holds 7 frames but dft_3d_Tc_supercon has 105 test ids"):
        load_predictions(path, BENCH, in_test_order=True)


def test_in_test_order_refuses_a_shuffled_file_and_counts_a_few_misplaced(tmp_path, data, caplog):
    import random

    ids = list(data.test_ids)
    shuffled = ids[:]
    random.Random(0).shuffle(shuffled)
    path = _mattergen_extxyz(tmp_path / "generated_crystals.extxyz", data, shuffled)
    with pytest.raises(InputError, match=r"--in-test-order maps structure i to test id i, but \d+ of 105 parsed"):
        load_predictions(path, BENCH, in_test_order=True)
    formulas = [data.structure(k).composition.reduced_formula for k in ids]
    i, j = next((i, j) for i in range(len(ids)) for j in range(i) if formulas[i] != formulas[j])
    swapped = ids[:]
    swapped[i], swapped[j] = swapped[j], swapped[i]  # two frames out of place: scored, with a warning
    path = _mattergen_extxyz(tmp_path / "two.extxyz", data, swapped)
    logger = logging.getLogger("atomgenbench")  # the CLI's handler stops propagation once a command ran
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level("WARNING", logger="atomgenbench"):
            preds = load_predictions(path, BENCH, in_test_order=True)
    finally:
        logger.removeHandler(caplog.handler)
    assert len(preds.structures) == 105
    assert "2 of 105 structures mapped by --in-test-order have another composition" in caplog.text


def test_in_test_order_checks_the_ids_a_file_carries(tmp_path, data):
    ids = list(data.test_ids)
    ids[0], ids[1] = ids[1], ids[0]
    path = tmp_path / "swapped.extxyz"
    ase.io.write(path, _frames(data, ids, with_ids=True), format="extxyz")
    with pytest.raises(InputError, match=r"2 problems") as err:
        load_predictions(path, BENCH, in_test_order=True)
    assert f"frame 1 (line 1): carries id {ids[0]!r} but test id 1" in str(err.value)
    preds = load_predictions(path, BENCH)  # without the flag the ids in the file are used
    _same_structures(preds, data, ids[:3])


def test_extxyz_ids_are_taken_verbatim(tmp_path, data):
    """ASE would read ``id=0123`` as the integer 123; the id is taken from the comment line."""
    frames = _frames(data, data.test_ids[:2], with_ids=True)
    frames[1].info["id"] = "0123"
    path = tmp_path / "p.extxyz"
    ase.io.write(path, frames, format="extxyz")
    preds = load_predictions(path, BENCH)
    assert list(preds.structures) == [data.test_ids[0], "0123"]


def test_any_file_ase_reads(tmp_path, data):
    traj = tmp_path / "p.traj"
    ase.io.write(traj, _frames(data, data.test_ids[:4], with_ids=True))
    preds = load_predictions(traj, BENCH)
    assert list(preds.structures) == data.test_ids[:4] and not preds.failures
    _same_structures(preds, data, data.test_ids[:4])
    ase.io.write(traj, _frames(data, data.test_ids))
    with pytest.raises(InputError, match="--in-test-order"):
        load_predictions(traj, BENCH)
    ordered = load_predictions(traj, BENCH, in_test_order=True)
    assert list(ordered.structures) == data.test_ids
    _same_structures(ordered, data, data.test_ids)
    unknown = tmp_path / "p.unknownformat"
    unknown.write_text("hello\n")
    with pytest.raises(InputError, match="unsupported input"):
        load_predictions(unknown, BENCH)


def test_mattergen_cif_zip_uses_natural_order(tmp_path, data):
    """generated_crystals_cif.zip holds gen_0.cif, gen_1.cif, ...: gen_10 comes after gen_9."""
    path = tmp_path / "generated_crystals_cif.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i, key in sorted(enumerate(data.test_ids), key=lambda t: str(t[0])):  # stored in string order
            zf.writestr(f"gen_{i}.cif", data.structure(key).to(fmt="cif"))
    preds = load_predictions(path, BENCH, in_test_order=True)
    assert list(preds.structures) == data.test_ids and not preds.failures
    _same_structures(preds, data, data.test_ids)


# --------------------------------------------------------------------------- pymatgen JSON


def test_pymatgen_json_records(tmp_path, data):
    ids = data.test_ids[:3]
    records = [{**data.structure(k).as_dict(), "id": k} for k in ids]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(records))
    preds = load_predictions(path, BENCH)
    assert list(preds.structures) == ids and not preds.failures
    _same_structures(preds, data, ids)
    records[1] = {"id": ids[1], "lattice": "no", "sites": []}
    records.append({"id": "JVASP-1", "note": "no structure"})
    path.write_text(json.dumps(records))
    preds = load_predictions(path, BENCH)
    assert "record 2: unusable structure" in preds.failures[ids[1]]
    assert "not a pymatgen Structure.as_dict()" in preds.failures["JVASP-1"]
    path.write_text(json.dumps([data.structure(k).as_dict() for k in ids] + [7]))
    with pytest.raises(InputError, match=r"record 4: expected a JSON object"):
        load_predictions(path, BENCH)
    path.write_text(json.dumps({"id": "x"}))
    with pytest.raises(InputError, match="expected a JSON list"):
        load_predictions(path, BENCH)


# --------------------------------------------------------------------------- CIF / POSCAR files


def test_multi_block_cifs_are_errors_naming_every_file(tmp_path, data):
    folder = tmp_path / "cifs"
    folder.mkdir()
    ids = data.test_ids[:25]
    for a, b in zip(ids, ids[1:] + ids[:1]):
        (folder / f"{a}.cif").write_text(data.structure(a).to(fmt="cif") + data.structure(b).to(fmt="cif"))
    (folder / f"{data.test_ids[30]}.cif").write_text(data.structure(data.test_ids[30]).to(fmt="cif"))
    with pytest.raises(InputError) as err:
        load_predictions(folder, BENCH)
    msg = str(err.value)
    assert msg.startswith(f"{folder}: 25 problems:")
    assert f"file {ids[0]}.cif: holds 2 CIF data blocks with atoms" in msg
    assert msg.count("holds 2 CIF data blocks") == 20 and msg.rstrip().endswith("... and 5 more")


def _scaled_lines(data, key):
    return data.text(key).replace("\\n", "\n").splitlines()


def test_negative_scale_factor_read_from_files_refused_in_leaderboard_rows(tmp_path, data):
    key = data.test_ids[0]
    lines = _scaled_lines(data, key)
    volume = data.structure(key).volume
    lines[1] = f"-{volume:.6f}"
    lines[2:5] = [" ".join(f"{2 * float(x):.6f}" for x in row.split()) for row in lines[2:5]]  # any lattice size
    text = "\n".join(lines) + "\n"
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / f"{key}.vasp").write_text(text)
    preds = load_predictions(folder, BENCH)
    pred = parse_poscar(preds.structures[key])
    assert pred.volume == pytest.approx(volume, rel=1e-6)
    m = evaluate(preds, BENCH, executor=Executor.create("process", 0), n_boot=0).to_json()
    assert key not in m["failures"] and m["rmse"]["n_matched"] == 1
    assert m["rmse"]["value"] == pytest.approx(0.0, abs=1e-6)
    csv_path = tmp_path / "lb.csv"
    csv_path.write_text(f"id,target,prediction\n{key},x,{escape(text)}\n")
    m = evaluate(load_predictions(csv_path, BENCH), BENCH, executor=Executor.create("process", 0), n_boot=0).to_json()
    assert m["failures"][key].startswith("negative scale factor") and "cell volume" in m["failures"][key]


def test_vasp4_poscar_is_refused_with_that_reason(tmp_path, data):
    key = data.test_ids[0]
    lines = _scaled_lines(data, key)
    vasp4 = "\n".join(lines[:5] + lines[6:]) + "\n"  # no element-symbol line
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / f"{key}.vasp").write_text(vasp4)
    csv_path = tmp_path / "lb.csv"
    csv_path.write_text(f"id,target,prediction\n{key},x,{escape(vasp4)}\n")
    for source in (folder, csv_path):
        m = evaluate(load_predictions(source, BENCH), BENCH, executor=Executor.create("process", 0), n_boot=0).to_json()
        assert m["failures"][key].startswith("VASP4-style POSCAR: no element-symbol line"), source


# --------------------------------------------------------------------------- problems of a file


def test_every_problem_of_a_csv_is_reported_together(tmp_path, data):
    ids = data.test_ids
    lines = ["id,target,prediction"]
    lines += [f"{k},x,{escape(data.text(k))}" for k in ids[:30]]
    lines += [f"{k},x,{escape(data.text(k))}" for k in ids[:25]]  # 25 duplicate ids
    lines += ["JVASP-1,x,a,b", ",x,y"]  # a row with too many fields, an empty id
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PredictionsError) as err:
        load_predictions(path, BENCH)
    msg = str(err.value)
    assert isinstance(err.value, InputError) and msg.startswith(f"{path}: 27 problems")
    assert (
        f"row 32: duplicate id {ids[0]!r}" in msg and "row 57: expected 3 fields" in msg and "row 58: empty id" in msg
    )
    assert "... and 5 more" in msg and msg.count(": duplicate id") == 20


def test_bad_structures_are_recorded_never_crash(tmp_path, data):
    """Overlapping atoms, NaN coordinates, an unknown element, a 10,000 Å cell, in three formats."""
    ids = data.test_ids[:5]
    frames = _frames(data, ids, with_ids=True)
    frames[0].positions[1] = frames[0].positions[0]  # two atoms on one site
    frames[1].positions[0] = float("nan")
    frames[3].set_cell(frames[3].cell * (10000 / frames[3].cell.lengths().max()), scale_atoms=True)
    buf = io.StringIO()
    ase.io.write(buf, frames, format="extxyz")
    lines = buf.getvalue().splitlines()
    first = 2 + len(frames[0]) + 2 + len(frames[1])  # the count line of frame 3
    lines[first + 2] = "Qq" + lines[first + 2][2:]
    xyz = tmp_path / "bad.extxyz"
    xyz.write_text("\n".join(lines) + "\n")
    cifs = tmp_path / "cifs"
    cifs.mkdir()
    records = []
    for atoms, key in zip(frames, ids):
        s = AseAtomsAdaptor.get_structure(atoms)
        records.append({**s.as_dict(), "id": key})
        (cifs / f"{key}.cif").write_text(s.to(fmt="cif"))
    cif = data.structure(ids[2]).to(fmt="cif").splitlines()
    site = cif.index(" _atom_site_occupancy") + 1
    cif[site] = "  Qq" + cif[site][2 + len(cif[site].split()[0]) :]
    (cifs / f"{ids[2]}.cif").write_text("\n".join(cif) + "\n")
    records[2]["sites"][0]["species"][0]["element"] = "Qq"
    jpath = tmp_path / "bad.json"
    jpath.write_text(json.dumps(records, default=str))
    for source in (xyz, cifs, jpath):
        m = evaluate(load_predictions(source, BENCH), BENCH, executor=Executor.create("process", 1), n_boot=0).to_json()
        f = m["failures"]
        assert "non-finite" in f[ids[1]] or "nan" in f[ids[1]].lower(), (source, f[ids[1]])
        assert ids[2] in f, source
        assert m["failures"][ids[3]].startswith("implausible cell: lattice vector of 1e+04 Å"), source
        assert m["n_parsed"] >= 1, source  # the rest is scored, not dropped
    assert "unknown element symbol 'Qq'" in load_predictions(xyz, BENCH).failures[ids[2]]


# --------------------------------------------------------------------------- data export


def test_data_export_csv_has_the_models_conditioning(tmp_path):
    res = CliRunner().invoke(cli, ["data", "export", BENCH, "--format", "csv", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    with open(tmp_path / f"{BENCH}-test.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = conditioning_for(BENCH)
    assert [r["id"] for r in rows] == list(expected)
    for row in rows:
        cond = expected[row["id"]]
        assert row["formula"] == cond.formula and int(row["n_atoms"]) == sum(cond.composition.values())
        assert row["composition"] == " ".join(f"{el}{n}" for el, n in cond.composition.items())
        assert (float(row["tc"]) if row["tc"] else None) == cond.tc
    assert "poscar" not in rows[0]
    # cif and extxyz are structure formats: --with-structures is implied
    res = CliRunner().invoke(cli, ["data", "export", BENCH, "--format", "cif", "--out", str(tmp_path / "c")])
    assert res.exit_code == 0 and len(list((tmp_path / "c").glob("*.cif"))) == 105, res.output
    res = CliRunner().invoke(cli, ["data", "export", BENCH, "--split", "val", "--out", str(tmp_path / "v")])
    assert res.exit_code == 2 and "no 'val' split" in res.output


@pytest.mark.parametrize("fmt", ["extxyz", "json"])
def test_data_export_with_structures_round_trips_into_evaluate(tmp_path, fmt):
    out = tmp_path / "export"
    res = CliRunner().invoke(cli, ["data", "export", BENCH, "--format", fmt, "--with-structures", "--out", str(out)])
    assert res.exit_code == 0, res.output
    res, metrics = _evaluate_json([str(out / f"{BENCH}-test.{fmt}")])
    assert res.exit_code == 0, res.output
    assert metrics["rmse"]["match_rate"] == 1.0 and metrics["failures"] == {}
    assert metrics["mae"]["a"]["value"] == pytest.approx(0.0, abs=1e-6)


def test_data_export_cif_folder_is_read_by_id(tmp_path, data):
    res = CliRunner().invoke(
        cli, ["data", "export", BENCH, "--format", "cif", "--with-structures", "-o", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "conditioning.csv").is_file() and len(list(tmp_path.glob("*.cif"))) == 105
    preds = load_predictions(tmp_path, BENCH)
    assert sorted(preds.structures) == sorted(data.test_ids) and not preds.failures
    _same_structures(preds, data, data.test_ids[:10])


# --------------------------------------------------------------------------- the other commands


@pytest.mark.slow
def test_in_test_order_on_compare_and_package(tmp_path, data):
    path = _mattergen_extxyz(tmp_path / "generated_crystals.extxyz", data, data.test_ids)
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "compare",
            str(path),
            str(path),
            "--labels",
            "a,b",
            "-b",
            BENCH,
            "-o",
            str(tmp_path / "cmp"),
            "--n-bootstrap",
            "1",
        ],
    )
    assert res.exit_code == 1 and "--in-test-order" in res.output
    res = runner.invoke(
        cli,
        ["compare", str(path), str(path), "--labels", "a,b", "-b", BENCH, "-o", str(tmp_path / "cmp")]
        + ["--n-bootstrap", "1", "--in-test-order"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cmp" / "a" / "metrics.json").read_text())["rmse"]["match_rate"] == 1.0
    meta = ["--model-name", "MG", "--author-email", "a@b.org", "--project-url", "https://example.org"]
    out = tmp_path / "sub"
    res = runner.invoke(cli, ["package", "--dft-3d", str(path), *meta, "--out", str(out)])
    assert res.exit_code == 1 and "--in-test-order" in res.output
    res = runner.invoke(cli, ["package", "--dft-3d", str(path), *meta, "--out", str(out), "--in-test-order"])
    assert res.exit_code == 0, res.output
    assert "--in-test-order" in (out / "run.sh").read_text()
    with zipfile.ZipFile(out / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip") as zf:
        rows = list(csv.reader(io.StringIO(zf.read(zf.namelist()[0]).decode())))
    assert [r[0] for r in rows[1:]] == data.test_ids


def test_a_samples_csv_of_any_name_is_read(tmp_path, data):
    path = tmp_path / "my_k2_samples.csv"
    rows = "".join(f"{k},{s},{data.text(k)}\n" for k in data.test_ids[:3] for s in (0, 1))
    path.write_text("id,sample,prediction\n" + rows)
    preds = load_predictions(path, BENCH)
    assert preds.samples == 2 and sorted(preds.structures) == sorted(data.test_ids[:3])
    assert set(preds.more_samples[1]) == set(data.test_ids[:3])


def test_ase_database_ids_are_read_from_its_key_value_pairs(tmp_path, data):
    from ase.db import connect

    path = tmp_path / "generated.db"
    db = connect(str(path))
    keys = data.test_ids[:3]
    db.write(AseAtomsAdaptor.get_atoms(data.structure(keys[0])), material_id=keys[0])
    db.write(AseAtomsAdaptor.get_atoms(data.structure(keys[1])), name=keys[1])
    db.write(AseAtomsAdaptor.get_atoms(data.structure(keys[2])), id_=keys[2])  # not an id key: no id
    with pytest.raises(InputError, match=r"frame 3: no id"):
        load_predictions(path, BENCH)
    db.delete([3])
    preds = load_predictions(path, BENCH)
    assert sorted(preds.structures) == sorted(keys[:2])
    _same_structures(preds, data, keys[:2])
