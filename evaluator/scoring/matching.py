"""Score (prediction, target) pairs: parse once, reduce once, match in a process pool.

One :func:`score_pair` call does all per-row work for an id: it parses the prediction
with the leaderboard's parser, reduces its cell once (Niggli), computes the raw lattice
parameters, space group, AMD distance and validity, and the StructureMatcher RMS values.
The target's side comes from the benchmark's cached table (:mod:`atomgenbench.evaluator.scoring.targets`)
or is computed in the same task. Work runs in a ``ProcessPoolExecutor``; the per-pair
time limit is an interval timer inside the worker process (never a SIGALRM in the calling
process) around every library call of the pair (matcher, spglib, SMACT, AMD): a matcher
call over it counts as unmatched with its reason, another analysis over it leaves that
value empty with a note (``metric_note``).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from atomgenbench.benchmarks.atomgen.registry import MAX_ATOMS
from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.scoring import ccrmsd, rms, symmetry
from atomgenbench.evaluator.scoring import targets as targets_cache
from atomgenbench.evaluator.scoring.ccrmsd import AMD_K
from atomgenbench.evaluator.scoring.lattice import raw_params_of
from atomgenbench.evaluator.scoring.targets import TargetInfo, assess_validity, describe

#: the leaderboard's (and AtomBench's) matcher tolerances
LTOL, STOL, ANGLE_TOL = 0.3, 0.5, 10.0


@dataclass(frozen=True)
class MatchSettings:
    """What to compute for each pair, and the limits."""

    rms: bool = True  # species-aware get_rms_dist (current leaderboard)
    anonymous: bool = True  # species-blind get_rms_anonymous (legacy leaderboard)
    lattice: bool = True  # Niggli + raw lattice parameters
    symmetry: bool = True  # crystal system of the target
    max_atoms: int = MAX_ATOMS
    time_limit_s: float = 60.0
    #: spglib on a prediction: one 4-atom alex cell took 6 s to fail (docs/results.md); a prediction
    #: over this bound gets no space group ("symmetry undetermined"), as a failing spglib call does
    symmetry_time_limit_s: float = 2.0
    symprec: float = 0.1
    ltol: float = LTOL
    stol: float = STOL
    angle_tol: float = ANGLE_TOL
    validity: bool | None = None  # structural + composition validity (None: with ``lattice``)
    ccrmsd: bool | None = None  # AMD distance for ccRMSD (None: with ``lattice``)
    amd_k: int = AMD_K
    #: the get_rms_dist implementation: "fast" (vectorised, pymatgen's decisions) or "pymatgen"
    matcher: str = "fast"

    @property
    def wants_validity(self) -> bool:
        return self.lattice if self.validity is None else self.validity

    @property
    def wants_ccrmsd(self) -> bool:
        return self.lattice if self.ccrmsd is None else self.ccrmsd

    def matcher_info(self) -> dict:
        return {
            "ltol": self.ltol,
            "stol": self.stol,
            "angle_tol": self.angle_tol,
            "primitive_cell": True,
            "scale": True,
            "attempt_supercell": False,
            "pre_reduction": "none (matcher reduces internally)",
            "implementation": self.matcher,
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
    crystal_system: str | None = None  # of the target
    spacegroup_target: int | None = None
    spacegroup_pred: int | None = None
    crystal_system_pred: str | None = None
    amd_distance: float | None = None  # L∞ distance of the AMD vectors (Å)
    valid_structural: bool | None = None  # of the prediction (None: not assessed)
    valid_composition: bool | None = None
    validity_note: str | None = None  # why the prediction is invalid
    target_valid_structural: bool | None = None
    target_valid_composition: bool | None = None
    metric_note: str | None = None  # a per-row metric that timed out or failed
    extra: dict = field(default_factory=dict)


class _PairTimeout(Exception):
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
        raise _PairTimeout()

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


def score_pair(task: tuple) -> PairRecord:
    """:func:`measure_pair`, with a pair that runs out of the worker's memory cap recorded as a failed row."""
    try:
        return measure_pair(task)
    except MemoryError:
        return PairRecord(id=task[0], reason="the pair exceeded the scoring worker's memory limit (docs/inputs.md)")


def measure_pair(task: tuple) -> PairRecord:
    """Measure one (id, prediction text, target text, settings[, TargetInfo]) pair; never raises for a bad row.

    The target's side comes from the optional :class:`~atomgenbench.evaluator.scoring.targets.TargetInfo`
    (the cached table) or is computed here. Every analysis of the prediction (symmetry, AMD,
    validity, each matcher call) runs under the per-pair time limit.
    """
    key, pred_text, target_text, settings, *rest = task
    info = rest[0] if rest else None
    rec = PairRecord(id=key)
    notes: list[str] = []

    def guard(fn, what: str, limit: float | None = None):
        return _guarded(fn, what, settings, notes, limit)

    target = None
    if info is None:
        try:
            target = parse_poscar(target_text)
        except StructureParseError as exc:
            rec.reason = f"benchmark target unparseable: {exc}"
            return rec
        info = describe(target_text, settings, target, guard)
    _fill_target(rec, info)
    if not pred_text or not pred_text.strip():
        rec.reason = "no prediction"
        rec.metric_note = _join(notes)
        return rec
    try:
        pred = parse_poscar(pred_text, max_atoms=settings.max_atoms)
        with _time_limit(settings.time_limit_s):  # Niggli takes minutes on a 10,000 × 3 × 3 Å cell
            reduced = pred.lattice.get_niggli_reduced_lattice() if _needs_niggli(settings) else None
            if settings.lattice:
                rec.niggli_pred = tuple(float(x) for x in (*reduced.abc, *reduced.angles))
                rec.raw_pred = raw_params_of(pred)
    except StructureParseError as exc:
        rec.reason = str(exc)
        return rec
    except _PairTimeout:
        rec.niggli_pred = rec.raw_pred = None
        rec.reason = f"Niggli reduction of the prediction exceeded the {settings.time_limit_s:g} s time limit"
        return rec
    except Exception as exc:  # a reduction failing on a pathological cell
        rec.reason = f"lattice reduction failed ({type(exc).__name__}: {exc})"
        return rec
    rec.parsed = True
    rec.n_atoms_pred = len(pred)
    _row_metrics(rec, pred, reduced, info, settings, guard)
    rec.metric_note = _join(notes)
    _match(rec, pred, target if target is not None else info.structure(), settings, info.reduced)
    return rec


def score_samples(task: tuple) -> dict:
    """Samples 1 … K−1 of one test id, and how many of its K samples are distinct.

    ``task`` is (id, [POSCAR of sample 0 … K−1], target text, settings, TargetInfo or None).
    Returns ``sample_rms`` (the RMS of samples 1 … K−1 against the target, each measured as
    :func:`score_pair` measures it, RMS only), ``n_distinct`` (the number of groups
    ``StructureMatcher.group_structures`` forms from the parsed samples; ``None`` when it
    timed out or failed), ``n_parsed`` (parsed samples) and ``note``.
    """
    key, texts, target_text, settings, info = task
    rms_only = replace(settings, anonymous=False, lattice=False, symmetry=False, validity=False, ccrmsd=False)
    parsed = [_parse_sample(text, settings) for text in texts]
    notes: list[str] = []
    if info is None:  # target not in the cached table: described once here, for all its samples
        info, note = describe_target((key, target_text, rms_only))
        notes += [note] if note else []
    target = None if info is None else info.structure()
    found = [_match_sample(key, pred, target, rms_only, info) for pred in parsed[1:]]
    parsed = [p for p in parsed if p is not None]
    groups = _guarded(lambda: _matcher(settings).group_structures(parsed), "duplicate grouping", settings, notes)
    return {
        "sample_rms": [r.rms for r in found],
        "n_distinct": None if groups is None else len(groups),
        "n_parsed": len(parsed),
        "note": _join(notes + [r.match_note for r in found if r.match_note]),
    }


def _parse_sample(text: str, settings: MatchSettings):
    """The parsed sample, or ``None`` when it is empty or does not parse (as :func:`score_pair` would find)."""
    if not text or not text.strip():
        return None
    try:
        return parse_poscar(text, max_atoms=settings.max_atoms)
    except StructureParseError:
        return None


def _match_sample(key: str, pred, target, settings: MatchSettings, info: TargetInfo | None) -> PairRecord:
    """:func:`score_pair`'s RMS-only result for an already parsed sample (unmatched: no sample or no target)."""
    rec = PairRecord(id=key)
    if pred is None or info is None:
        return rec
    rec.parsed = True
    _match(rec, pred, target, settings, info.reduced)
    return rec


def map_samples(tasks: list[tuple], executor: Executor, *, desc: str = "samples"):
    """:func:`score_samples` over ``tasks`` (order kept) on ``executor``."""
    return _map(score_samples, tasks, executor, desc=desc, unit="id")


def _needs_niggli(settings: MatchSettings) -> bool:
    return settings.lattice or settings.wants_ccrmsd or settings.wants_validity


def _fill_target(rec: PairRecord, info: TargetInfo) -> None:
    rec.n_atoms_target = len(info.species)
    rec.niggli_target, rec.raw_target = info.niggli, info.raw
    rec.crystal_system, rec.spacegroup_target = info.crystal_system, info.spacegroup
    rec.target_valid_structural, rec.target_valid_composition = info.valid_structural, info.valid_composition


def _row_metrics(rec: PairRecord, pred, reduced, info: TargetInfo, settings: MatchSettings, guard) -> None:
    """Symmetry, AMD distance and validity of a parsed prediction."""
    if settings.symmetry:
        found = guard(lambda: symmetry.analyse(pred, settings.symprec), "symmetry", settings.symmetry_time_limit_s)
        rec.spacegroup_pred, rec.crystal_system_pred = found or (None, None)
    if settings.wants_ccrmsd and info.amd is not None:
        vector = guard(lambda: ccrmsd.amd_vector(pred, settings.amd_k, reduced=reduced), "AMD")
        rec.amd_distance = None if vector is None else ccrmsd.linf(vector, info.amd)
    if settings.wants_validity:
        v = assess_validity(pred, float(reduced.abc[0]), guard)
        rec.valid_structural, rec.valid_composition, rec.validity_note = (
            v["valid_structural"],
            v["valid_composition"],
            v["validity_note"],
        )


def _match(rec: PairRecord, pred, target, settings: MatchSettings, reduced_target: tuple | None = None) -> None:
    """``same_composition`` and the StructureMatcher RMS values (species-aware, species-blind).

    ``reduced_target`` is the target's reduced cell from the target cache.
    """
    rec.same_composition = pred.composition.reduced_formula == target.composition.reduced_formula
    matcher = _matcher(settings)
    notes = []
    rms_done = False
    # species-aware: a different reduced composition can never match, so skip the matcher
    if settings.rms and rec.same_composition:
        try:
            with _time_limit(settings.time_limit_s):
                out = rms.rms_dist(matcher, pred, target, reduced_target, implementation=settings.matcher)
            rec.rms = None if out is None else float(out[0])
            rms_done = True
        except _PairTimeout:
            notes.append(f"get_rms_dist exceeded the {settings.time_limit_s:g} s time limit")
        except Exception as exc:
            notes.append(f"get_rms_dist failed ({type(exc).__name__}: {exc})")
    if settings.anonymous:
        if rms_done and _only_identity_relabelling(pred):
            # the one species relabelling that keeps this composition is the identity, so
            # get_rms_anonymous would run exactly get_rms_dist's match (see docs/metrics.md)
            rec.rms_anonymous = rec.rms
        elif pred.composition.anonymized_formula != target.composition.anonymized_formula:
            rec.rms_anonymous = None  # no relabelling makes the compositions equal: never a match
        else:
            try:
                with _time_limit(settings.time_limit_s):
                    value, _ = matcher.get_rms_anonymous(pred, target)
                rec.rms_anonymous = None if value is None else float(value)
            except _PairTimeout:
                notes.append(f"get_rms_anonymous exceeded the {settings.time_limit_s:g} s time limit")
            except Exception as exc:
                notes.append(f"get_rms_anonymous failed ({type(exc).__name__}: {exc})")
    rec.match_note = "; ".join(notes) or None


def _only_identity_relabelling(structure) -> bool:
    """True when no two elements have the same amount in the reduced composition."""
    amounts = list(structure.composition.reduced_composition.values())
    return len(set(amounts)) == len(amounts)


def _guarded(fn, what: str, settings: MatchSettings, notes: list[str], limit: float | None = None):
    """``fn()`` under the per-pair time limit (or the smaller ``limit``); ``None`` (and a note) when it
    times out or fails."""
    seconds = settings.time_limit_s if limit is None else min(limit, settings.time_limit_s or limit)
    try:
        with _time_limit(seconds):
            return fn()
    except _PairTimeout:
        notes.append(f"{what} undetermined: it exceeded the {seconds:g} s time limit")
    except Exception as exc:
        notes.append(f"{what} failed ({type(exc).__name__}: {exc})")
    return None


def _join(notes: list[str]) -> str | None:
    return "; ".join(notes) or None


def score_pairs(tasks: list[tuple], executor: Executor, *, desc: str = "matching") -> list[PairRecord]:
    """Run :func:`score_pair` over ``tasks`` (order kept) on ``executor``.

    An inline executor (``--workers 0``) runs in this process without a time limit (for debugging).
    """
    return _map(score_pair, tasks, executor, desc=desc)


def describe_target(task: tuple[str, str, MatchSettings]) -> tuple[TargetInfo | None, str | None]:
    """(TargetInfo, note) of one benchmark target under the per-pair time limit.

    The info is ``None`` for a target that does not parse; the note says what failed or timed out.
    """
    key, text, settings = task
    notes: list[str] = []
    try:
        info = describe(text, settings, guard=lambda fn, what: _guarded(fn, what, settings, notes))
    except StructureParseError as exc:
        return None, f"benchmark target unparseable: {exc}"
    return info, _join(notes)


def describe_targets(
    targets: dict[str, str], settings: MatchSettings, executor: Executor
) -> dict[str, tuple[TargetInfo | None, str | None]]:
    """:func:`describe_target` of every ``{id: POSCAR}`` on the executor of the matching."""
    tasks = [(k, text, settings) for k, text in targets.items()]
    out = _map(describe_target, tasks, executor, desc="targets")
    return dict(zip(targets, out))


def target_table(benchmark: str, targets: dict, settings: MatchSettings, executor: Executor) -> dict[str, TargetInfo]:
    """The benchmark's target-side work: from the user cache, else computed (and cached when complete)."""
    ids = list(targets)
    table = targets_cache.load(benchmark, settings, ids)
    if table is not None:
        return table
    described = describe_targets({k: str(t) for k, t in targets.items()}, settings, executor)
    table = {k: info for k, (info, note) in described.items() if info is not None and note is None}
    if len(table) == len(ids):
        targets_cache.store(benchmark, settings, table)
    return table  # a target missing here is described (and its problem recorded) in its own pair task


def _map(fn, tasks: list[tuple], executor: Executor, *, desc: str, unit: str = "pair"):
    """``fn`` over ``tasks`` in order: inline (no time limit) or on the executor's pool."""
    if executor.inline:
        tasks = [tuple(_without_limit(x) if isinstance(x, MatchSettings) else x for x in t) for t in tasks]
    else:
        _warm_imports()  # import once here so forked workers start ready
    return executor.map(fn, tasks, desc=desc, unit=unit)


def _warm_imports() -> None:
    import jarvis.io.vasp.inputs  # noqa: F401  (parse_poscar imports it lazily)
    import pymatgen.analysis.structure_matcher  # noqa: F401
    import pymatgen.symmetry.analyzer  # noqa: F401
    import smact.screening  # noqa: F401
    from pymatgen.core import Lattice, Structure

    # compiles amd's numba kernels once, before the workers fork
    ccrmsd.amd_vector(Structure(Lattice.cubic(3.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]), 2)


def _without_limit(settings: MatchSettings) -> MatchSettings:
    return replace(settings, time_limit_s=0)
