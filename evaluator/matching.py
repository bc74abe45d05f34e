"""Score (prediction, target) pairs: parse once, reduce once, match in a process pool.

One :func:`score_pair` call does all per-row work for an id: it parses both POSCARs
with the leaderboard's parser, computes the Niggli and raw lattice parameters, the
target's crystal system, and the StructureMatcher RMS values. Work runs in a
``ProcessPoolExecutor``; the per-pair time limit is an interval timer inside the
worker process (never a SIGALRM in the calling process), and a pair that exceeds it
is recorded as unmatched with its reason.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar
from atomgenbench.evaluator.lattice import crystal_system, niggli_params, raw_params
from atomgenbench.output import bar

#: the leaderboard's (and AtomBench's) matcher tolerances
LTOL, STOL, ANGLE_TOL = 0.3, 0.5, 10.0


@dataclass(frozen=True)
class MatchSettings:
    """What to compute for each pair, and the limits."""

    rms: bool = True  # species-aware get_rms_dist (current leaderboard)
    anonymous: bool = True  # species-blind get_rms_anonymous (legacy leaderboard)
    lattice: bool = True  # Niggli + raw lattice parameters
    symmetry: bool = True  # crystal system of the target
    max_atoms: int = 200
    time_limit_s: float = 60.0
    symprec: float = 0.1
    ltol: float = LTOL
    stol: float = STOL
    angle_tol: float = ANGLE_TOL

    def matcher_info(self) -> dict:
        return {
            "ltol": self.ltol,
            "stol": self.stol,
            "angle_tol": self.angle_tol,
            "primitive_cell": True,
            "scale": True,
            "attempt_supercell": False,
            "pre_reduction": "none (matcher reduces internally)",
        }


@dataclass
class PairRecord:
    """Everything measured for one test id (``None`` where not computed or not available)."""

    id: str
    parsed: bool = False
    reason: str | None = None  # why the prediction failed (unparseable, missing, ...)
    n_atoms_pred: int | None = None
    n_atoms_target: int | None = None
    same_composition: bool | None = None
    rms: float | None = None  # get_rms_dist()[0] when matched
    rms_anonymous: float | None = None  # get_rms_anonymous()[0] when matched
    match_note: str | None = None  # e.g. time limit exceeded
    niggli_pred: tuple | None = None
    niggli_target: tuple | None = None
    raw_pred: tuple | None = None
    raw_target: tuple | None = None
    crystal_system: str | None = None
    extra: dict = field(default_factory=dict)


class PairTimeout(Exception):
    """Raised inside a worker when one matcher call exceeds the time limit."""


@contextmanager
def _time_limit(seconds: float):
    """Interval timer for the current (worker) process; a no-op where unavailable."""
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _raise(signum, frame):
        raise PairTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _matcher(settings: MatchSettings):
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher(ltol=settings.ltol, stol=settings.stol, angle_tol=settings.angle_tol)


def score_pair(task: tuple[str, str, str, MatchSettings]) -> PairRecord:
    """Measure one (id, prediction text, target text) pair; never raises for a bad row."""
    key, pred_text, target_text, settings = task
    rec = PairRecord(id=key)
    try:
        target = parse_poscar(target_text)
    except StructureParseError as exc:
        rec.reason = f"benchmark target unparseable: {exc}"
        return rec
    rec.n_atoms_target = len(target)
    if settings.lattice:
        rec.niggli_target = niggli_params(target)
        rec.raw_target = raw_params(target_text)
    if settings.symmetry:
        rec.crystal_system = crystal_system(target, settings.symprec)
    if not pred_text or not pred_text.strip():
        rec.reason = "no prediction"
        return rec
    try:
        pred = parse_poscar(pred_text, max_atoms=settings.max_atoms)
        if settings.lattice:
            rec.niggli_pred = niggli_params(pred)
            rec.raw_pred = raw_params(pred_text)
    except StructureParseError as exc:
        rec.reason = str(exc)
        return rec
    except Exception as exc:  # a reduction failing on a pathological cell
        rec.reason = f"lattice reduction failed ({type(exc).__name__}: {exc})"
        return rec
    rec.parsed = True
    rec.n_atoms_pred = len(pred)
    rec.same_composition = pred.composition.reduced_formula == target.composition.reduced_formula
    matcher = _matcher(settings)
    notes = []
    # species-aware: a different reduced composition can never match, so skip the matcher
    if settings.rms and rec.same_composition:
        try:
            with _time_limit(settings.time_limit_s):
                out = matcher.get_rms_dist(pred, target)
            rec.rms = None if out is None else float(out[0])
        except PairTimeout:
            notes.append(f"get_rms_dist exceeded the {settings.time_limit_s:g} s time limit")
        except Exception as exc:
            notes.append(f"get_rms_dist failed ({type(exc).__name__}: {exc})")
    if settings.anonymous:  # species-blind: no composition short-circuit
        try:
            with _time_limit(settings.time_limit_s):
                value, _ = matcher.get_rms_anonymous(pred, target)
            rec.rms_anonymous = None if value is None else float(value)
        except PairTimeout:
            notes.append(f"get_rms_anonymous exceeded the {settings.time_limit_s:g} s time limit")
        except Exception as exc:
            notes.append(f"get_rms_anonymous failed ({type(exc).__name__}: {exc})")
    rec.match_note = "; ".join(notes) or None
    return rec


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def score_pairs(
    tasks: list[tuple[str, str, str, MatchSettings]],
    *,
    workers: int = 1,
    desc: str = "matching",
    progress: bool = True,
    engine: str = "process",
    scheduler: str | None = None,
) -> list[PairRecord]:
    """Run :func:`score_pair` over ``tasks`` (order kept) in ``workers`` processes.

    ``workers=0`` runs in this process without a time limit (for debugging).
    ``engine="dask"`` runs on a Dask cluster (:mod:`atomgenbench.evaluator.engines`):
    a local one with ``workers`` processes, or the one at ``scheduler``.
    """
    if engine != "process" or scheduler:
        from atomgenbench.evaluator.engines import map_ordered

        _warm_imports()
        return map_ordered(
            score_pair, tasks, engine=engine, workers=max(1, workers), scheduler=scheduler, progress=progress, desc=desc
        )
    opts = dict(total=len(tasks), desc=desc, unit="pair", leave=False, progress=progress)  # a bar on a TTY only
    if workers <= 0:
        plain = [(k, p, t, _without_limit(s)) for k, p, t, s in tasks]
        return [score_pair(t) for t in bar(plain, **opts)]
    _warm_imports()  # import once here so forked workers start ready
    chunk = max(1, min(8, len(tasks) // (workers * 16) or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        return list(bar(pool.map(score_pair, tasks, chunksize=chunk), **opts))


def _warm_imports() -> None:
    import jarvis.io.vasp.inputs  # noqa: F401  (parse_poscar imports it lazily)
    import pymatgen.analysis.structure_matcher  # noqa: F401
    import pymatgen.symmetry.analyzer  # noqa: F401


def _without_limit(settings: MatchSettings) -> MatchSettings:
    from dataclasses import replace

    return replace(settings, time_limit_s=0)
