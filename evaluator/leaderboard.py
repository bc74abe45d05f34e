"""Leaderboard-exact scores of contribution files (what the JARVIS-Leaderboard page shows).

* rmse files: mean over matched rows of
  ``StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist(pred, target)[0]``
  (the current atomgptlab rule), rounded to 4 decimals; targets from the benchmark JSON.
* mae files: plain mean |pred - target| of the floats over the ids present in both, 4 decimals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.registry import BenchmarkSpec, spec_for_leaderboard_file
from atomgenbench.evaluator import stats
from atomgenbench.evaluator.inputs import InputError, load_float_predictions, load_predictions
from atomgenbench.evaluator.matching import MatchSettings, score_pairs

#: matcher work needed for the leaderboard number only
LEADERBOARD_SETTINGS = MatchSettings(rms=True, anonymous=False, lattice=False, symmetry=False)


@dataclass
class LeaderboardScore:
    """One contribution file's leaderboard score.

    ``value`` is exactly what the leaderboard shows (``round(mean, 4)``; NaN if nothing
    matched); ``n_matched`` is set for rmse files only; ``n_total`` is the number of
    benchmark test ids; ``failures`` lists rows that could not be scored, with reasons.
    """

    file: str
    benchmark: str
    metric: str
    value: float
    n_matched: int | None
    n_total: int
    n_scored: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def spec_for_path(path: str | Path) -> BenchmarkSpec:
    """The benchmark a leaderboard file scores, from its name (raises :class:`InputError`)."""
    spec = spec_for_leaderboard_file(Path(path).name)
    if spec is None:
        raise InputError(
            f"{path}: file name does not name an AtomGen benchmark "
            "(expected e.g. AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip)"
        )
    return spec


def score_leaderboard_file(path: str | Path, *, workers: int = 1, progress: bool = False) -> LeaderboardScore:
    """Score one contribution ``*.csv.zip`` exactly as the leaderboard does."""
    spec = spec_for_path(path)
    if spec.kind == "float":
        return score_float_file(path, spec.name)
    return score_structure_file(path, spec.name, workers=workers, progress=progress)


def score_float_file(path: str | Path, benchmark: str) -> LeaderboardScore:
    """MAE of a lattice-parameter file over the test ids it contains."""
    targets = load_splits(benchmark)["test"]
    values, failures = load_float_predictions(path)
    for key in values:
        if key not in targets:
            failures[key] = "id not in the benchmark test split"
    keys = [k for k in values if k in targets]
    for key in targets:
        if key not in values and key not in failures:
            failures[key] = "no prediction"
    pred = np.array([values[k] for k in keys])
    tgt = np.array([float(targets[k]) for k in keys])
    value = stats.mae(pred, tgt)
    return LeaderboardScore(
        Path(path).name, benchmark, "mae", _round(value), None, len(targets), n_scored=len(keys), failures=failures
    )


def score_structure_file(
    path: str | Path, benchmark: str, *, workers: int = 1, progress: bool = False
) -> LeaderboardScore:
    """Leaderboard RMSE (species-aware, matched rows only) of a structure file."""
    preds = load_predictions(path, benchmark)
    records, failures = leaderboard_records(
        preds.structures, benchmark, workers=workers, progress=progress, desc=Path(path).name
    )
    for key, reason in preds.failures.items():
        failures.setdefault(key, reason)
    rms = np.array([np.nan if r.rms is None else r.rms for r in records])
    n_matched = int(np.isfinite(rms).sum())
    return LeaderboardScore(
        Path(path).name,
        benchmark,
        "rmse",
        _round(stats.matched_mean(rms)),
        n_matched,
        len(load_splits(benchmark)["test"]),
        n_scored=sum(r.parsed for r in records),
        failures=failures,
    )


def leaderboard_records(
    structures: dict[str, str], benchmark: str, *, workers: int = 1, progress: bool = False, desc: str = "matching"
):
    """Match every test id (missing ids get an empty prediction); return (records, failures)."""
    targets = load_splits(benchmark)["test"]
    failures = {k: "id not in the benchmark test split" for k in structures if k not in targets}
    tasks = [(k, structures.get(k, ""), str(t), LEADERBOARD_SETTINGS) for k, t in targets.items()]
    records = score_pairs(tasks, workers=workers, progress=progress, desc=desc)
    for r in records:
        if r.reason:
            failures[r.id] = r.reason
        elif r.match_note:
            failures[r.id] = r.match_note
    return records, failures


def _round(value: float) -> float:
    return float("nan") if not np.isfinite(value) else round(float(value), 4)


def evaluate(*args, **kwargs):
    """Alias of :func:`atomgenbench.evaluator.pipeline.evaluate` (full paper + leaderboard metrics)."""
    from atomgenbench.evaluator.pipeline import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
