"""The leaderboard's Special/AtomGenBench heatmap (Pearson r per model and lattice file), official contributions."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from atomgenbench.evaluator.leaderboard.specialized import atomgenbench_pearson, column_name, special_specs

PARAMS = ("a", "b", "c", "alpha", "beta", "gamma")
OFFICIAL = ("atomgpt_invatoms", "cdvae_invatoms", "flowmm_invatoms")
#: the file list of jarvis_leaderboard's specialized_benchmarks.py (inverse_atom_benchmarks), in its order
LEADERBOARD_FILES = [
    f"AI-AtomGen-{prop}-{dataset}-test-mae.csv.zip"
    for dataset, base in (("alex_supercon", "Tc"), ("dft_3d", "Tc_supercon"))
    for prop in (f"{base}_{p}" for p in ("a", "alpha", "b", "beta", "c", "gamma"))
]


def leaderboard_recipe(csv_zip, mirror) -> float:
    """The live site's cell, restated independently: pandas inner merge on id with the test split, pearsonr, 2 dp."""
    prop, dataset = csv_zip.name.split("-")[2:4]
    path = mirror / "jarvis_leaderboard" / "benchmarks" / "AI" / "AtomGen" / f"{dataset}_{prop}.json.zip"
    with zipfile.ZipFile(path) as zf:
        test = json.loads(zf.read(zf.namelist()[0]))["test"]
    actual = pd.DataFrame({"id": list(test), "actual": list(test.values())})
    df = pd.merge(pd.read_csv(csv_zip).astype({"id": str}), actual, on="id")
    return round(stats.pearsonr(df["actual"], df["prediction"])[0], 2)


def test_columns_are_the_leaderboards_twelve_files():
    assert [s.leaderboard_file for s in special_specs()] == LEADERBOARD_FILES
    assert column_name(LEADERBOARD_FILES[0]) == "Tc_a-alex_supercon"


def test_official_contributions(contributions, mirror):
    table = atomgenbench_pearson([contributions / name for name in OFFICIAL])
    assert table["models"] == list(OFFICIAL)
    assert table["files"] == [column_name(f) for f in LEADERBOARD_FILES]
    for name in OFFICIAL:
        for file_name, column in zip(LEADERBOARD_FILES, table["files"]):
            expected = leaderboard_recipe(contributions / name / file_name, mirror)
            assert table["values"][name][column] == pytest.approx(expected, abs=1e-12), (name, file_name)
    # what the live page shows for these three (CDVAE's lattice correlates best, FlowMM's least)
    mean = {n: sum(table["values"][n].values()) / 12 for n in OFFICIAL}
    assert mean["cdvae_invatoms"] > mean["atomgpt_invatoms"] > mean["flowmm_invatoms"]


def test_a_missing_file_leaves_an_empty_cell(contributions, tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    shutil.copyfile(contributions / "cdvae_invatoms" / LEADERBOARD_FILES[0], folder / LEADERBOARD_FILES[0])
    table = atomgenbench_pearson([folder])
    row = table["values"]["partial"]
    assert row["Tc_a-alex_supercon"] == 0.6 and all(v is None for k, v in row.items() if k != "Tc_a-alex_supercon")


def test_validate_text_shows_the_heatmap_rows(tmp_path):
    """validate's text output has one line per folder and family with the page's six r values, '–' for a gap."""
    from click.testing import CliRunner

    from atomgenbench.cli import cli

    source = Path(__file__).resolve().parents[1] / "submissions" / "atomgenbench-template-cpu"
    folder = tmp_path / "atomgenbench-template-cpu"
    folder.mkdir()
    for path in source.iterdir():
        if "-test-mae" in path.name and path.name != LEADERBOARD_FILES[0] or path.name in ("metadata.json", "run.sh"):
            shutil.copyfile(path, folder / path.name)
    result = CliRunner().invoke(cli, ["validate", "--workers", "1", str(folder)])
    assert result.exit_code == 0, result.output
    row = atomgenbench_pearson([folder])["values"][folder.name]
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Special/AtomGenBench page"))
    cells = {line.split()[1]: line.split()[2:] for line in lines[start + 2 : start + 4]}
    assert cells["alex_supercon_Tc"][0] == "–"  # the a file was left out
    assert cells["alex_supercon_Tc"][1:] == [f"{row[f'Tc_{p}-alex_supercon']:.2f}" for p in PARAMS[1:]]
    assert cells["dft_3d_Tc_supercon"] == [f"{row[f'Tc_supercon_{p}-dft_3d']:.2f}" for p in PARAMS]
    assert "lattice file missing from the folder" in lines[start + 4]
