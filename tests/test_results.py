"""The committed contribution folders validate, and docs/results.md reports what they score."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.reports.env_report import README_HEADING

REPO = Path(__file__).resolve().parents[1]

SUBMISSIONS = sorted(p for p in (REPO / "submissions").glob("atomgenbench-*") if p.is_dir())
RESULTS = REPO / "docs" / "results.md"
STRUCTURE_FILES = {
    "dft_3d_Tc_supercon": "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip",
    "alex_supercon_Tc": "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip",
}


def _label(folder: Path) -> str:
    return re.fullmatch(r"atomgenbench-(.+)-cpu", folder.name).group(1)


def _row(section: str, label: str) -> list[str]:
    """Cells of the structure-table row of ``label`` in the results section of one benchmark."""
    for line in section.splitlines():
        if line.startswith(f"| {label} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row for {label}")


def _section(text: str, benchmark: str) -> str:
    start = text.index(f"## {benchmark} (")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_submissions_are_committed():
    assert {_label(f) for f in SUBMISSIONS} >= {"atomgpt", "cdvae", "flowmm", "prior", "nearest"}


def test_submissions_validate_without_errors():
    from atomgenbench.evaluator.submission.validate import validate_paths

    report = validate_paths(SUBMISSIONS, scores=False)
    assert report.valid, [f"{f.file}:{f.row}: {f.message}" for f in report.errors]


@pytest.mark.slow
@pytest.mark.parametrize("folder", SUBMISSIONS, ids=lambda p: p.name)
def test_results_md_equals_leaderboard_scores(folder):
    """RMSE (4 dp), matched count and raw MAE a in docs/results.md equal the folder's leaderboard scores."""
    from atomgenbench.evaluator.leaderboard.score import score_leaderboard_file

    text = RESULTS.read_text(encoding="utf-8")
    label = _label(folder)
    for bench, name in STRUCTURE_FILES.items():
        section = _section(text, bench)
        score = score_leaderboard_file(folder / name, executor=Executor.create("process", 2))
        cells = _row(section.split("### Lattice MAE")[0], label)
        assert int(cells[2]) == score.n_matched
        assert float(cells[4].split()[0]) == pytest.approx(score.value, abs=5e-5)
        # the folder's README carries what the leaderboard will show, beside this environment's RMSE
        readme = _row((folder / "README.md").read_text(encoding="utf-8").split(README_HEADING)[1], bench)
        assert (readme[3], readme[4]) == (f"{score.value:.4f}", f"{score.n_matched}/{score.n_total}"), folder.name
        raw = section.split("raw jarvis cells")[1]
        a_file = (
            name.replace("-test-rmse", "-test-mae")
            .replace("Tc_supercon-", "Tc_supercon_a-")
            .replace("Tc-alex", "Tc_a-alex")
        )
        a_cell = _row(raw, label)[1]
        assert float(a_cell.split()[0]) == pytest.approx(score_leaderboard_file(folder / a_file).value, abs=5e-5)


@pytest.mark.parametrize("folder", SUBMISSIONS, ids=lambda p: p.name)
def test_results_md_histogram_kld_is_the_registry_kld(folder):
    """The histogram KLD rows of docs/results.md equal the registry's KLD of the packaged structure files."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.metrics.registry import REGISTRY, Rows
    from atomgenbench.evaluator.scoring.matching import MatchSettings, score_pairs
    from atomgenbench.evaluator.scoring.stats import KLD_BINS, KLD_EDGE_TOLERANCE, KLD_EPSILON

    niggli_only = MatchSettings(rms=False, anonymous=False, symmetry=False, validity=False, ccrmsd=False)
    settings = {"matcher": {"stol": 0.5}, "kld_bins": KLD_BINS, "kld_epsilon": KLD_EPSILON}
    settings["kld_edge_tolerance"] = KLD_EDGE_TOLERANCE
    text = RESULTS.read_text(encoding="utf-8")
    label = _label(folder)
    for bench, name in STRUCTURE_FILES.items():
        preds = load_predictions(folder / name, bench)
        tasks = [(k, preds.structures.get(k, ""), str(t), niggli_only) for k, t in load_splits(bench)["test"].items()]
        rows = Rows(score_pairs(tasks, executor=Executor.create("process", 2)), settings)
        line = next(x for x in _section(text, bench).splitlines() if x.startswith(f"| {label} | histogram KLD |"))
        published = [float(c.split()[0]) for c in line.strip().strip("|").split("|")[2:]]
        ours = [round(REGISTRY[f"kld.{p}"].value(rows), 4) for p in LATTICE_PARAMS]
        assert ours == pytest.approx(published, abs=5e-5), (bench, label)
