"""Importers: small files in the official CDVAE / FlowMM / AtomGPT formats, built here."""

from __future__ import annotations

import argparse
import csv
import json
import pathlib

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.structures import parse_poscar
from atomgenbench.cli import cli
from atomgenbench.runners.importers import ImportFormatError
from atomgenbench.runners.importers.atomgpt import import_atomgpt
from atomgenbench.runners.importers.cdvae import import_cdvae
from atomgenbench.runners.importers.common import ABSENT
from atomgenbench.runners.importers.flowmm import import_flowmm
from atomgenbench.runners.importers.safe_pickle import Stub, load_pt

BENCH = "dft_3d_Tc_supercon"
AGPT_CSV = "jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


class Opaque:
    """A non-tensor object like CDVAE's PyG batch; must never be needed to import."""

    def __init__(self):
        self.payload = {"edges": torch.arange(4)}


class Touch:
    """Unpickling this would create a file: proves pickled code is not executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


def pick(data, n=5):
    """n test ids with pairwise different compositions (so a swap is detectable)."""
    out, seen = [], set()
    for key in data.test_ids:
        formula = data.structure(key).composition.reduced_formula
        if formula not in seen:
            out.append(key)
            seen.add(formula)
        if len(out) == n:
            return out
    raise AssertionError("not enough distinct compositions")


def write_test_csv(path, data, ids):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["material_id", "cif", "Tc_supercon"])
        for key in ids:
            w.writerow([key, data.structure(key).to(fmt="cif"), 1.0])
    return path


def arrays(data, ids):
    structures = [data.structure(k) for k in ids]
    return {
        "frac_coords": torch.tensor(np.concatenate([s.frac_coords for s in structures]), dtype=torch.float32),
        "atom_types": torch.tensor([site.specie.Z for s in structures for site in s]),
        "num_atoms": torch.tensor([len(s) for s in structures]),
        "lengths": torch.tensor([s.lattice.abc for s in structures], dtype=torch.float32),
        "angles": torch.tensor([s.lattice.angles for s in structures], dtype=torch.float32),
        "lattices": torch.tensor(np.stack([s.lattice.matrix for s in structures]), dtype=torch.float32),
    }


def write_cdvae(path, data, ids, extra=None):
    a = arrays(data, ids)
    obj = {
        "eval_setting": argparse.Namespace(num_evals=1, force_atom_types=True),
        "input_data_batch": Opaque(),
        "all_frac_coords_stack": [],
        "all_atom_types_stack": [],
        "time": 12.5,
        **(extra or {}),
    }
    for key in ("frac_coords", "atom_types", "num_atoms", "lengths", "angles"):
        obj[key] = a[key].unsqueeze(0)  # eval axis first
    torch.save(obj, path)
    return path


def assert_reconstructs(preds, data, ids, failed=()):
    assert preds.ids == data.test_ids  # one row per benchmark test id
    for key in ids:
        if key in failed:
            continue
        pred, target = parse_poscar(preds.structures[key]), data.structure(key)
        assert pred.composition == target.composition
        assert np.allclose(pred.lattice.abc, target.lattice.abc, atol=1e-3)
    for key in set(data.test_ids) - set(ids) - set(failed):
        assert preds.structures[key] == "" and preds.failures[key] == ABSENT


def test_cdvae_import_pairs_rows_with_test_csv(tmp_path, data):
    ids = pick(data)
    pt = write_cdvae(tmp_path / "eval_recon.pt", data, ids)
    test_csv = write_test_csv(tmp_path / "test.csv", data, ids)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["import", "cdvae", str(pt), "--test-csv", str(test_csv), "--benchmark", BENCH, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    preds = Predictions.read(out)
    assert preds.model == "cdvae" and preds.conditioning == "structure"
    assert_reconstructs(preds, data, ids)


def test_cdvae_count_mismatch_is_a_clear_error(tmp_path, data):
    ids = pick(data)
    pt = write_cdvae(tmp_path / "eval_recon.pt", data, ids)
    test_csv = write_test_csv(tmp_path / "test.csv", data, ids[:4])
    res = CliRunner().invoke(
        cli,
        ["import", "cdvae", str(pt), "--test-csv", str(test_csv), "--benchmark", BENCH, "--out", str(tmp_path / "out")],
    )
    assert res.exit_code == 1
    assert "holds 5 crystals" in res.output and "has 4 ids" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_cdvae_misordered_rows_and_foreign_ids_are_errors(tmp_path, data):
    ids = pick(data)
    pt = write_cdvae(tmp_path / "eval_recon.pt", data, ids)
    swapped = write_test_csv(tmp_path / "swapped.csv", data, [ids[1], ids[0], *ids[2:]])
    with pytest.raises(ImportFormatError, match="different composition"):
        import_cdvae(pt, swapped, BENCH, data=data)
    foreign = write_test_csv(tmp_path / "foreign.csv", data, [data.train_ids[0], *ids[1:]])
    with pytest.raises(ImportFormatError, match="not test ids of dft_3d_Tc_supercon"):
        import_cdvae(pt, foreign, BENCH, data=data)


def test_pt_loading_never_runs_pickled_code(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"x": torch.ones(2), "evil": Touch(marker), "ns": argparse.Namespace(a=1)}, tmp_path / "f.pt")
    obj = load_pt(tmp_path / "f.pt")
    assert not marker.exists()
    assert torch.equal(obj["x"], torch.ones(2)) and isinstance(obj["evil"], Stub) and isinstance(obj["ns"], Stub)
    load_pt(tmp_path / "f.pt", trust_pickle=True)  # explicit opt-in really unpickles
    assert marker.exists()


def write_flowmm(path, data, ids, order, nan_index=None):
    """consolidated_reconstruct.pt with crystals emitted in dataset positions ``order``."""
    a = arrays(data, [ids[i] for i in order])
    one_hot = torch.nn.functional.one_hot(a["atom_types"] - 1, 100).float()
    lattices = a["lattices"].clone()
    if nan_index is not None:
        lattices[nan_index] = float("nan")
    from torch_geometric.data import Data

    gt = [Data(frac_coords=torch.rand(2, 3), num_atoms=torch.tensor([2])) for _ in ids]
    torch.save(
        {
            "atom_types": [one_hot],
            "frac_coords": [a["frac_coords"]],
            "lattices": [lattices],
            "lengths": [a["lengths"]],
            "angles": [a["angles"]],
            "num_atoms": [a["num_atoms"]],
            "batch_indices": [torch.tensor(order)],
            "input_data_batch": [gt],
        },
        path,
    )
    return path


def test_flowmm_import_uses_batch_indices_and_records_invalid_crystals(tmp_path, data):
    ids = pick(data)
    order = [3, 0, 4, 1, 2]
    test_csv = write_test_csv(tmp_path / "test.csv", data, ids)
    pt = write_flowmm(tmp_path / "consolidated_reconstruct.pt", data, ids, order, nan_index=1)
    preds = import_flowmm(pt, test_csv, BENCH, data=data)
    nan_id = ids[order[1]]
    assert preds.structures[nan_id] == "" and "non-finite" in preds.failures[nan_id]
    assert preds.model == "flowmm" and preds.conditioning == "composition"
    assert_reconstructs(preds, data, ids, failed={nan_id})


def test_flowmm_count_mismatch_and_bad_order(tmp_path, data):
    ids = pick(data)
    pt = write_flowmm(tmp_path / "c.pt", data, ids, [0, 1, 2, 3, 4])
    longer = write_test_csv(tmp_path / "t6.csv", data, [*ids, pick(data, 6)[5]])
    res = CliRunner().invoke(
        cli, ["import", "flowmm", str(pt), "--test-csv", str(longer), "-b", BENCH, "-o", str(tmp_path / "o")]
    )
    assert res.exit_code == 1 and "holds 5 crystals" in res.output and "has 6 ids" in res.output
    reversed_csv = write_test_csv(tmp_path / "rev.csv", data, ids[::-1])
    with pytest.raises(ImportFormatError, match="different composition"):
        import_flowmm(pt, reversed_csv, BENCH, data=data)


def test_atomgpt_csv_by_id_with_misses(tmp_path, mirror, data):
    full = import_atomgpt(mirror / AGPT_CSV, BENCH, data=data)
    assert full.ids == data.test_ids and not full.failures
    import zipfile

    with zipfile.ZipFile(mirror / AGPT_CSV) as zf:
        rows = list(csv.reader(zf.read(zf.namelist()[0]).decode().splitlines()))
    dropped = [rows[1][0], rows[2][0]]
    csv_path = tmp_path / "preds.csv"
    with open(csv_path, "w", newline="") as fh:
        csv.writer(fh).writerows([rows[0], *rows[3:]])
    with open(tmp_path / "preds.misses.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(
            [
                ["id", "stage", "error", "detail", "raw_text_preview"],
                [dropped[0], "parse", "ValueError", "bad lattice", "..."],
            ]
        )
    res = CliRunner().invoke(cli, ["import", "atomgpt", str(csv_path), "-b", BENCH, "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    preds = Predictions.read(tmp_path / "o")
    assert preds.ids == data.test_ids
    assert "AtomGPT miss" in preds.failures[dropped[0]] and "bad lattice" in preds.failures[dropped[0]]
    assert preds.failures[dropped[1]] == ABSENT and len(preds.failures) == 2
    with pytest.raises(ImportFormatError, match="not test ids of alex_supercon_Tc"):
        import_atomgpt(csv_path, "alex_supercon_Tc")


def test_atomgpt_out_inv_json_by_order(tmp_path, data):
    from jarvis.core.atoms import Atoms

    ids = pick(data, 3)

    def entry(key):
        s = data.structure(key)
        atoms = Atoms(
            lattice_mat=s.lattice.matrix, coords=s.frac_coords, elements=[x.specie.symbol for x in s], cartesian=False
        )
        return {
            "prompt": f"The chemical formula is {s.composition.reduced_formula} . The  Tc_supercon is 1.0.",
            "atoms": atoms.to_dict(),
        }

    inv = tmp_path / "out_inv.json"
    inv.write_text(json.dumps([entry(k) for k in ids]))
    test_csv = write_test_csv(tmp_path / "test.csv", data, ids)
    preds = import_atomgpt(inv, BENCH, test_csv=test_csv, data=data)
    assert_reconstructs(preds, data, ids)
    with pytest.raises(ImportFormatError, match="holds 3 crystals but the test ids of dft_3d_Tc_supercon has 105"):
        import_atomgpt(inv, BENCH, data=data)
    inv.write_text(json.dumps([entry(ids[1]), entry(ids[0]), entry(ids[2])]))
    with pytest.raises(ImportFormatError, match="entry 1: prompt formula"):
        import_atomgpt(inv, BENCH, test_csv=test_csv, data=data)
