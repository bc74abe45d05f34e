"""Leaderboard-exact scores of contribution files (what the JARVIS-Leaderboard page shows).

* rmse files: mean over matched rows of
  ``StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10).get_rms_dist(pred, target)[0]``
  (the current atomgptlab rule), rounded to 4 decimals; targets from the benchmark JSON.
* mae files: plain mean |pred - target| of the floats over the ids present in both, 4 decimals.

The rmse value depends on the installed pymatgen: :func:`environment_section` says which
one decided it, flags the rows whose decision is fragile (:func:`borderline_rows`) and,
with ``pinned=True``, scores the file again in the leaderboard's own environment
(:mod:`atomgenbench.evaluator.leaderboard.pinned_env`) and lists every row that differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.registry import BenchmarkSpec, spec_for_leaderboard_file
from atomgenbench.core.executors import SERIAL, Executor
from atomgenbench.core.numbers import NA, fmt
from atomgenbench.core.versions import environment_versions, python_label, scorer_label
from atomgenbench.evaluator.inputs.load import InputError, load_float_predictions, load_predictions
from atomgenbench.evaluator.scoring import stats
from atomgenbench.evaluator.scoring.matching import MatchSettings, PairRecord, score_pairs, target_table

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
    environment: dict | None = None  # rmse files: environment_section(), when asked for

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


def score_leaderboard_file(
    path: str | Path,
    *,
    executor: Executor = SERIAL,
    environment: str | None = None,
) -> LeaderboardScore:
    """Score one contribution ``*.csv.zip`` exactly as the leaderboard does.

    ``environment`` (rmse files): ``None`` scores only; ``"current"`` adds
    :func:`environment_section` (which pymatgen, borderline rows); ``"leaderboard"`` also
    scores the file in the pinned leaderboard environment. ``executor``: where the pairs are
    matched (:class:`atomgenbench.core.executors.Executor`).
    """
    spec = spec_for_path(path)
    if spec.kind == "float":
        return score_float_file(path, spec.name)
    return score_structure_file(path, spec.name, executor=executor, environment=environment)


def score_float_file(path: str | Path, benchmark: str, loaded: tuple[dict, dict] | None = None) -> LeaderboardScore:
    """MAE of a lattice-parameter file over the test ids it contains (``loaded``: the file, already read)."""
    targets = load_splits(benchmark)["test"]
    values, failures = loaded if loaded is not None else load_float_predictions(path)
    failures = dict(failures)
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
    path: str | Path,
    benchmark: str,
    *,
    executor: Executor = SERIAL,
    environment: str | None = None,
) -> LeaderboardScore:
    """Leaderboard RMSE (species-aware, matched rows only) of a structure file."""
    preds = load_predictions(path, benchmark)
    records, failures = leaderboard_records(preds.structures, benchmark, executor, desc=Path(path).name)
    for key, reason in preds.failures.items():
        failures.setdefault(key, reason)
    rms = np.array([np.nan if r.rms is None else r.rms for r in records])
    n_matched = int(np.isfinite(rms).sum())
    section = None
    if environment is not None:
        section = environment_section(
            preds.structures,
            benchmark,
            records,
            executor,
            pinned=environment == "leaderboard",
            desc=Path(path).name,
        )
    return LeaderboardScore(
        Path(path).name,
        benchmark,
        "rmse",
        _round(stats.matched_mean(rms)),
        n_matched,
        len(load_splits(benchmark)["test"]),
        n_scored=sum(r.parsed for r in records),
        failures=failures,
        environment=section,
    )


def leaderboard_records(
    structures: dict[str, str],
    benchmark: str,
    executor: Executor,
    *,
    desc: str = "matching",
):
    """Match every test id (missing ids get an empty prediction); return (records, failures)."""
    targets = load_splits(benchmark)["test"]
    failures = {k: "id not in the benchmark test split" for k in structures if k not in targets}
    table = target_table(benchmark, targets, LEADERBOARD_SETTINGS, executor)  # parsed and reduced once per benchmark
    tasks = [(k, structures.get(k, ""), str(t), LEADERBOARD_SETTINGS, table.get(k)) for k, t in targets.items()]
    records = score_pairs(tasks, executor, desc=desc)
    for r in records:
        if r.reason:
            failures[r.id] = r.reason
        elif r.match_note:
            failures[r.id] = r.match_note
    return records, failures


# --------------------------------------------------------------------------- environments

#: the borderline rule (docs/leaderboard-env.md): tolerances are scaled by these factors and a row whose
#: match decision changes is flagged. Matched rows are re-checked with all three 10% tighter. Unmatched rows
#: are re-checked with ltol and angle_tol 10% looser and stol 30% looser: pymatgen releases differ in which
#: displacement stol bounds (the RMS or the largest site displacement, up to ~1.3 x the RMS in the flips seen)
BORDERLINE_TIGHT = {"ltol": 0.9, "stol": 0.9, "angle_tol": 0.9}
BORDERLINE_LOOSE = {"ltol": 1.1, "stol": 1.3, "angle_tol": 1.1}
BORDERLINE_SHORT = "decision changes with tolerances 10% tighter, or 10% looser with stol 30% looser"
BORDERLINE_RULE = (
    "a row is borderline when its match decision changes with moved tolerances: a matched row that no longer "
    "matches with ltol, stol, angle_tol 10% tighter (0.27, 0.45, 9), or an unmatched row of the target's "
    "composition that matches with ltol, angle_tol 10% looser and stol 30% looser (0.33, 0.65, 11)"
)


def _scaled(factors: dict[str, float]) -> MatchSettings:
    base = LEADERBOARD_SETTINGS
    return replace(
        base,
        ltol=base.ltol * factors["ltol"],
        stol=base.stol * factors["stol"],
        angle_tol=base.angle_tol * factors["angle_tol"],
    )


def borderline_rows(
    records: list[PairRecord],
    structures: dict[str, str],
    benchmark: str,
    executor: Executor,
) -> list[dict]:
    """Rows whose match decision is fragile under :data:`BORDERLINE_RULE` (docs/leaderboard-env.md).

    Other pymatgen versions decide exactly such rows differently; each entry gives the
    id, whether it matches here, its RMS here and the RMS with the moved tolerances.
    """
    targets = load_splits(benchmark)["test"]
    tight, loose = _scaled(BORDERLINE_TIGHT), _scaled(BORDERLINE_LOOSE)
    matched = [r for r in records if r.rms is not None]
    near = [r for r in records if r.rms is None and r.parsed and r.same_composition and not r.match_note]
    if not matched and not near:
        return []
    table = target_table(benchmark, targets, LEADERBOARD_SETTINGS, executor)
    tasks = [(r.id, structures[r.id], str(targets[r.id]), tight, table.get(r.id)) for r in matched]
    tasks += [(r.id, structures[r.id], str(targets[r.id]), loose, table.get(r.id)) for r in near]
    moved = score_pairs(tasks, executor, desc="borderline check")
    out = []
    for before, after in zip(matched + near, moved):
        if (before.rms is None) == (after.rms is None):
            continue
        out.append(
            {
                "id": before.id,
                "matched": before.rms is not None,
                "rms": before.rms,
                "rms_moved_tolerances": after.rms,
                "why": (
                    f"matches (RMS {before.rms:.4f}) but not with the tolerances 10% tighter"
                    if before.rms is not None
                    else f"does not match, but does with looser tolerances (stol {loose.stol:g}: RMS {after.rms:.4f})"
                ),
            }
        )
    return sorted(out, key=lambda d: d["id"])


def _summary(rms_by_id: dict[str, float | None], n_total: int, value: float | None = None) -> dict:
    rms = np.array([np.nan if v is None else v for v in rms_by_id.values()], float)
    n_matched = int(np.isfinite(rms).sum())
    if value is None and n_matched:
        value = _round(stats.matched_mean(rms))
    return {
        "value": value,
        "n_matched": n_matched,
        "n_total": n_total,
        "match_rate": round(n_matched / n_total, 4) if n_total else None,
    }


def environment_note(versions: dict | None = None) -> str:
    """Why a number computed here may not be the leaderboard's, and what to do about it."""
    from atomgenbench.core.versions import PINS

    return (
        f"RMSE computed with {scorer_label(versions)}; the leaderboard scores with pymatgen {PINS['pymatgen']} "
        "and may decide borderline rows differently. Pass --leaderboard-env to score in the leaderboard's "
        "own environment."
    )


def environment_section(
    structures: dict[str, str],
    benchmark: str,
    records: list[PairRecord],
    executor: Executor,
    *,
    pinned: bool = False,
    desc: str = "leaderboard env",
) -> dict:
    """The ``leaderboard_env`` block of metrics.json / validate --json for one structure file.

    ``current``: the value from the installed pymatgen; ``borderline``: fragile rows;
    with ``pinned``, ``leaderboard``: the value in the leaderboard's environment and
    ``differences``: every id whose match decision or rounded RMS differs.
    """
    targets = load_splits(benchmark)["test"]
    versions = environment_versions()
    current_rms = {r.id: r.rms for r in records}
    section: dict = {
        "current": {**_summary(current_rms, len(targets)), "environment": versions},
        "leaderboard": None,
        "differences": None,
        "borderline": {
            "rule": BORDERLINE_RULE,
            "rows": borderline_rows(records, structures, benchmark, executor),
        },
        "note": environment_note(versions),
    }
    if not pinned:
        return section
    from atomgenbench.evaluator.leaderboard.pinned_env import score_rows

    rows = [(k, text, str(targets[k])) for k, text in structures.items() if k in targets]
    pinned_score = score_rows(rows, executor, desc=f"{desc} (leaderboard env)")
    lb_rms = {k: pinned_score.rms.get(k) for k in targets}
    section["leaderboard"] = {
        **_summary(lb_rms, len(targets), pinned_score.value),
        "environment": pinned_score.environment,
        "errors": pinned_score.errors,
    }
    section["differences"] = differences(current_rms, lb_rms)
    env = pinned_score.environment
    section["note"] = (
        f"value the leaderboard will show: computed in its environment (pymatgen {env.get('pymatgen')}, "
        f"{python_label(env.get('python'))}); the current environment ({scorer_label(versions)}) gives "
        f"{fmt(section['current']['value'], missing=NA)} ({section['current']['n_matched']} matched)"
    )
    return section


def differences(current: dict[str, float | None], leaderboard: dict[str, float | None]) -> list[dict]:
    """Ids whose match decision or 4-dp RMS differs between two environments, with both RMS values."""
    out = []
    for key in sorted(set(current) | set(leaderboard)):
        a, b = current.get(key), leaderboard.get(key)
        if a is None and b is None:
            continue
        if a is not None and b is not None and round(a, 4) == round(b, 4):
            continue
        change = (
            "matches only in the leaderboard environment"
            if a is None
            else "matches only in the current environment"
            if b is None
            else "RMS differs"
        )
        out.append({"id": key, "current_rms": a, "leaderboard_rms": b, "change": change})
    return out


def _round(value: float) -> float:
    return float("nan") if not np.isfinite(value) else round(float(value), 4)


def score_files(
    files: dict[str, dict[str, Path]], executor: Executor = SERIAL, *, pinned: bool = True
) -> dict[str, dict[str, dict]]:
    """The environment section of structure files (label -> benchmark -> csv.zip): ``{label: {benchmark: section}}``.

    With ``pinned``, each file is also scored in the leaderboard's own environment.
    """
    sections: dict[str, dict[str, dict]] = {}
    for label, by_bench in files.items():
        for bench, path in by_bench.items():
            score = score_leaderboard_file(path, executor=executor, environment="leaderboard" if pinned else "current")
            sections.setdefault(label, {})[bench] = score.environment
    return sections
