"""``check_runner``: the runner contract as one function that a runner's own tests call.

Like scikit-learn's ``check_estimator``, :func:`check_runner` takes a runner instance and
runs it through the one driver (:func:`atomgenbench.runners.api.run`) on the first few
test ids of a benchmark with the ``smoke`` preset, checking:

``declaration``
    name, conditioning (built in, or new with a ``conditioning_description``) and the
    standard presets (:func:`atomgenbench.runners.base.declaration_problems`);
``ids exactly once``
    every requested (id, sample) is yielded once, none twice, none unasked, all as
    :class:`~atomgenbench.runners.base.Reconstruction` records;
``same seed, same bytes``
    a second run with the same seed, from a fresh copy of the runner fitted afresh,
    writes a byte-identical ``predictions.csv``;
``resume``
    a run killed twice resumes without fitting again, asks only for the missing ids and
    writes the same bytes as the uninterrupted run;
``failures recorded``
    a failure (forced) and an id the runner does not yield (dropped) become empty rows
    with their reasons in ``predictions.json``; the other rows do not change;
``conditioning``
    where the declared conditioning can be checked, the predictions do not change when the
    test crystals are replaced by what the runner may not see: other structures of the same
    composition (``composition``, ``composition+tc``, ``composition+train``) or other
    crystals altogether (``train``); the checkpoint of the first run is reused;
``checkpoint without code``
    the checkpoint lies in ``config.work_dir``, and no file there needs code execution to
    load: a pickle may not import or call anything, a torch file must load with
    ``torch.load(weights_only=True)`` and a numpy file with ``allow_pickle=False``.

A broken property raises :class:`RunnerCheckError`, an ``AssertionError`` (pytest shows
it as a failed assertion) that is also an :class:`~atomgenbench.core.errors.AtomGenBenchError`;
its message, and its ``check``, ``id`` and ``sample`` attributes, say which property broke
and for which id. The runner passed in is never changed: each run uses a deep copy of it.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData, load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import CSV_NAME, JSON_NAME
from atomgenbench.benchmarks.atomgen.structures import escape, parse_poscar, to_poscar, unescape
from atomgenbench.core.errors import AtomGenBenchError
from atomgenbench.runners import api
from atomgenbench.runners.base import CONDITIONING, Reconstruction, RunConfig, Runner, declaration_problems
from atomgenbench.runners.driver import NOT_RETURNED, PARTIAL_NAME
from atomgenbench.runners.safe_files import load_risk

__all__ = ["CHECKS", "RunnerCheckError", "RunnerCheckReport", "check_runner"]

#: the properties :func:`check_runner` checks, in order (the ``check`` of a :class:`RunnerCheckError`)
CHECKS = (
    "declaration",
    "ids exactly once",
    "same seed, same bytes",
    "resume",
    "failures recorded",
    "conditioning",
    "checkpoint without code",
)
FORCED_REASON = "forced by check_runner"
#: conditionings whose runners may see the composition of a test crystal but not its structure
COMPOSITION_ONLY = ("composition", "composition+tc", "composition+train")


class RunnerCheckError(AtomGenBenchError, AssertionError):
    """A runner breaks the contract: ``check`` names the property (one of :data:`CHECKS`), ``id``/``sample`` where."""

    def __init__(self, runner: str, check: str, message: str, *, id: str | None = None, sample: int | None = None):
        self.runner, self.check, self.id, self.sample = runner, check, id, sample
        where = "" if id is None else f" for id {id!r}" + ("" if sample is None else f" sample {sample}")
        super().__init__(f"check_runner: runner {runner!r} breaks [{check}]{where}: {message}")


@dataclass
class RunnerCheckReport:
    """What :func:`check_runner` did: the checks that passed and those it could not make (with why)."""

    runner: str
    benchmark: str
    preset: str
    ids: list[str]
    samples: int
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None  # where the runs are kept (``workdir`` given), else None
    seconds: float = 0.0


class _Kill(KeyboardInterrupt):
    """A simulated Ctrl-C, raised by the probe and caught by :func:`check_runner` only."""


class _Probe(Runner):
    """A fresh copy of the runner under check, with every record it yields checked and optionally bent."""

    def __init__(self, inner: Runner, stop_after: int | None = None, edit: Callable | None = None, refit: bool = True):
        self.inner, self.stop_after, self.edit, self.refit = inner, stop_after, edit, refit
        for attr in ("name", "conditioning", "conditioning_description", "presets", "supports_samples"):
            setattr(self, attr, getattr(inner, attr))
        self.asked: list[list[str]] = []
        self.yielded: set[tuple[str, int]] = set()

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        if not self.refit:
            raise RunnerCheckError(self.name, "resume", "fit() was called again although work/fit.json records a fit")
        return self.inner.fit(data, config)

    def reconstruct_metadata(self, checkpoint: Path, config: RunConfig) -> dict[str, Any]:
        return self.inner.reconstruct_metadata(checkpoint, config)

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        asked = list(data.test_ids if ids is None else ids)
        self.asked.append(asked)
        wanted = {(i, s) for i in asked for s in range(config.samples)}
        for n, rec in enumerate(self.inner.reconstruct(data, checkpoint, config, ids=ids)):
            if not isinstance(rec, Reconstruction):
                raise RunnerCheckError(
                    self.name, "ids exactly once", f"reconstruct() yielded a {type(rec).__name__}, not a Reconstruction"
                )
            key = (rec.id, rec.sample)
            if key in self.yielded:
                raise RunnerCheckError(self.name, "ids exactly once", "yielded twice", id=rec.id, sample=rec.sample)
            if key not in wanted:
                raise RunnerCheckError(
                    self.name, "ids exactly once", f"yielded although ids={asked} did not ask for it", id=rec.id
                )
            self.yielded.add(key)
            if self.stop_after is not None and n == self.stop_after:
                raise _Kill("simulated kill")
            rec = self.edit(rec) if self.edit else rec
            if rec is not None:
                yield rec


@dataclass
class _Session:
    """One check: the pristine runner, the benchmark slice, the work folder and the settings of every run."""

    runner: Runner
    data: BenchmarkData
    root: Path
    preset: str
    seed: int
    samples: int
    overrides: dict[str, Any] | None

    @property
    def name(self) -> str:
        return self.runner.name

    def fresh(self) -> Runner:
        try:
            return copy.deepcopy(self.runner)
        except Exception:  # a runner that cannot be copied is run as it is
            return self.runner

    def run(self, out: Path, probe: _Probe, data: BenchmarkData | None = None) -> None:
        api.run(
            probe,
            self.data.name,
            self.preset,
            out,
            seed=self.seed,
            overrides=self.overrides,
            progress=False,
            samples=self.samples,
            data=data or self.data,
        )

    def fail(self, check: str, message: str, id: str | None = None, sample: int | None = None) -> RunnerCheckError:
        return RunnerCheckError(self.name, check, message, id=id, sample=sample)

    def copy_fit(self, src: Path, dst: Path) -> None:
        """A fresh output folder holding ``src``'s finished fit and no reconstruction."""
        shutil.copytree(src / "work", dst / "work", ignore=shutil.ignore_patterns(PARTIAL_NAME))


def check_runner(
    runner: Runner,
    *,
    benchmark: str = "dft_3d_Tc_supercon",
    preset: str = "smoke",
    workdir: str | Path | None = None,
    n_test: int = 12,
    n_train: int | None = None,
    seed: int = 0,
    samples: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunnerCheckReport:
    """Check that ``runner`` keeps the runner contract (module docstring), or raise :class:`RunnerCheckError`.

    It runs on the first ``n_test`` test ids of ``benchmark`` (at least 6) and the first
    ``n_train`` training crystals (default: all), with ``preset`` and ``seed``, and
    ``samples`` per id (default: 2 for a runner with ``supports_samples``, else 1). The runs
    go to a temporary folder, removed afterwards, or to a new folder under ``workdir``, kept.
    Returns a :class:`RunnerCheckReport`. Example, in a plugin's test file::

        from atomgenbench.runners import check_runner
        from my_package import MyRunner

        def test_my_runner_keeps_the_contract(tmp_path):
            check_runner(MyRunner(), workdir=tmp_path)
    """
    if not isinstance(runner, Runner):
        raise TypeError(f"check_runner takes a Runner instance, got {type(runner).__name__}")
    if n_test < 6:
        raise ValueError(f"check_runner needs n_test >= 6 test ids, got {n_test}")
    start = time.perf_counter()
    name = getattr(runner, "name", "") or type(runner).__name__
    problems = declaration_problems(runner) + ([] if preset in (runner.presets or {}) else [f"no preset {preset!r}"])
    if problems:
        raise RunnerCheckError(name, "declaration", "; ".join(problems))
    samples = int(samples or (2 if runner.supports_samples else 1))
    data = _slice(load_benchmark(benchmark), n_test, n_train)
    if workdir is None:
        folder: Any = tempfile.TemporaryDirectory(prefix=f"check-{name}-")
    else:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        folder = contextlib.nullcontext(tempfile.mkdtemp(prefix=f"check-{name}-", dir=workdir))
    with folder as root:
        session = _Session(_pristine(runner), data, Path(root), preset, seed, samples, overrides)
        report = RunnerCheckReport(name, benchmark, preset, data.test_ids, samples, passed=["declaration"])
        report.workdir = None if workdir is None else Path(root)
        full = _check_full_run(session)
        report.passed.append("ids exactly once")
        for check, step in (
            ("same seed, same bytes", _check_same_bytes),
            ("resume", _check_resume),
            ("failures recorded", _check_failures),
            ("conditioning", _check_conditioning),
            ("checkpoint without code", _check_checkpoint),
        ):
            skipped = step(session, full)
            if skipped:
                report.skipped[check] = skipped
            else:
                report.passed.append(check)
    report.seconds = round(time.perf_counter() - start, 1)
    return report


def _pristine(runner: Runner) -> Runner:
    """A deep copy of the runner as given (each run copies it again), or the runner itself if it cannot be copied."""
    try:
        return copy.deepcopy(runner)
    except Exception:
        return runner


def _slice(data: BenchmarkData, n_test: int, n_train: int | None) -> BenchmarkData:
    """The first ``n_test`` test ids (and ``n_train`` training crystals) of ``data``, other splits unchanged."""
    raw = dict(data.raw)
    raw["test"] = dict(islice(data.raw["test"].items(), n_test))
    if n_train is not None:
        raw["train"] = dict(islice(data.raw["train"].items(), n_train))
    return BenchmarkData(data.spec, raw)


def _rows(out: Path) -> dict[tuple[str, int], str]:
    """``predictions.csv`` as ``{(id, sample): escaped POSCAR or ""}``."""
    rows = list(csv.reader(io.StringIO((out / CSV_NAME).read_text(encoding="utf-8"))))
    return {(r[0], int(r[1])): r[2] for r in rows[1:]}


def _check_full_run(session: _Session) -> Path:
    """The first run: every requested (id, sample) yielded exactly once, and one row each in test order."""
    out = session.root / "full"
    probe = _Probe(session.fresh())
    try:
        session.run(out, probe)
    except (RunnerCheckError, _Kill):
        raise
    except Exception as exc:
        raise session.fail("ids exactly once", f"the first run raised {type(exc).__name__}: {exc}") from exc
    ids, samples = session.data.test_ids, session.samples
    for key in ((i, s) for i in ids for s in range(samples)):
        if key not in probe.yielded:
            why = "was asked for and never yielded (yield a Reconstruction.failed record with a reason instead)"
            raise session.fail("ids exactly once", why, *key)
    rows = _rows(out)
    if list(rows) != [(i, s) for i in ids for s in range(samples)]:
        raise session.fail("ids exactly once", f"predictions.csv does not hold each of the {len(ids)} ids once")
    failures = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))["failures"]
    for key, text in rows.items():
        if key[1] == 0 and not text and not failures.get(key[0]):
            raise session.fail("failures recorded", "an empty prediction without a reason", *key)
    return out


def _difference(session: _Session, a: Path, b: Path, check: str, what: str) -> None:
    """Raise ``check`` for the first (id, sample) whose row differs between two runs."""
    if (a / CSV_NAME).read_bytes() == (b / CSV_NAME).read_bytes():
        return
    first, second = _rows(a), _rows(b)
    for key in first:
        if first[key] != second.get(key):
            before, after = _first_line_diff(first[key], second.get(key) or "")
            raise session.fail(check, f"{what}: {before!r} became {after!r}", *key)
    raise session.fail(check, f"{what}: predictions.csv differs")


def _first_line_diff(a: str, b: str) -> tuple[str, str]:
    lines_a, lines_b = unescape(a).splitlines() or [""], unescape(b).splitlines() or [""]
    for x, y in zip(lines_a, lines_b):
        if x != y:
            return x, y
    return lines_a[-1], lines_b[-1]


def _check_same_bytes(session: _Session, full: Path) -> str | None:
    again = session.root / "again"
    session.run(again, _Probe(session.fresh()))
    why = (
        f"two runs with seed {session.seed}, each fitted afresh, disagree (draw randomness from the seed only, "
        "e.g. id_rng(seed, id); not from the clock, a global counter or an unseeded generator)"
    )
    _difference(session, full, again, "same seed, same bytes", why)
    return None


def _missing_ids(session: _Session, partial: Path) -> list[str]:
    done = set()
    if partial.is_file():
        for line in partial.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            done.add((rec["id"], int(rec.get("sample", 0))))
    ids = session.data.test_ids
    return [i for i in ids if any((i, s) not in done for s in range(session.samples))]


def _check_resume(session: _Session, full: Path) -> str | None:
    """Killed twice, then finished: each session asks for the missing ids only, and the bytes are the same."""
    out = session.root / "resumed"
    session.copy_fit(full, out)
    third = max(1, len(session.data.test_ids) * session.samples // 3)
    for stop_after in (third, third, None):
        expected = _missing_ids(session, out / "work" / PARTIAL_NAME)
        probe = _Probe(session.fresh(), stop_after=stop_after, refit=False)
        with contextlib.suppress(_Kill):
            session.run(out, probe)
        if probe.asked and probe.asked[0] != expected:
            raise session.fail("resume", f"the resumed run asked for {probe.asked[0]}, not the missing {expected}")
    why = "a run killed twice and resumed disagrees with the uninterrupted run (seed per id or per fixed batch)"
    _difference(session, full, out, "resume", why)
    return None


def _check_failures(session: _Session, full: Path) -> str | None:
    """A forced failure and a dropped id are empty rows with their reasons; the others do not change."""
    ids = session.data.test_ids
    forced, dropped = ids[1], ids[3]

    def edit(rec: Reconstruction) -> Reconstruction | None:
        if rec.id == forced:
            return Reconstruction.failed(rec.id, FORCED_REASON, rec.sample)
        return None if rec.id == dropped else rec

    out = session.root / "failures"
    session.copy_fit(full, out)
    session.run(out, _Probe(session.fresh(), edit=edit, refit=False))
    rows, before = _rows(out), _rows(full)
    meta = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    for key, reason in ((forced, FORCED_REASON), (dropped, NOT_RETURNED)):
        if rows[(key, 0)] != "" or meta["failures"].get(key) != reason:
            got = meta["failures"].get(key)
            raise session.fail("failures recorded", f"expected an empty row with reason {reason!r}, got {got!r}", key)
    for key, text in before.items():
        if key[0] not in (forced, dropped) and rows[key] != text:
            raise session.fail("failures recorded", "changed when other ids failed", *key)
    return None


def _check_conditioning(session: _Session, full: Path) -> str | None:
    """The same predictions when the test crystals change in ways the declared conditioning does not see."""
    conditioning = session.runner.conditioning
    variant = _conditioning_variant(session.data, conditioning)
    if isinstance(variant, str):
        return variant
    data, what = variant
    out = session.root / "conditioning"
    session.copy_fit(full, out)
    session.run(out, _Probe(session.fresh(), refit=False), data=data)
    meaning = CONDITIONING.get(conditioning) or session.runner.conditioning_description
    why = f"declares conditioning {conditioning!r} ({meaning}), but its prediction changed when {what}"
    _difference(session, full, out, "conditioning", why)
    return None


def _conditioning_variant(data: BenchmarkData, conditioning: str) -> tuple[BenchmarkData, str] | str:
    """The benchmark slice with test crystals the runner must not tell apart, and what was changed; or why none."""
    test = data.raw["test"]
    if conditioning == "train":
        others = list(data.raw["train"].values())
        altered = {key: others[i % len(others)] for i, key in enumerate(test)}
        what = "the test crystals were replaced by training crystals"
    elif conditioning in COMPOSITION_ONLY:
        altered = {key: _same_composition(str(text), i) for i, (key, text) in enumerate(test.items())}
        what = "the test crystals were replaced by other structures of the same composition"
    elif conditioning in CONDITIONING:
        return f"conditioning {conditioning!r} ({CONDITIONING[conditioning]}) sees the whole test crystal"
    else:
        return f"conditioning {conditioning!r} is the runner's own: check_runner cannot tell what it may see"
    return BenchmarkData(data.spec, {**data.raw, "test": altered}), what


def _same_composition(text: str, seed: int) -> str:
    """Another crystal with the same sites' species in the same order: a cubic cell, random positions."""
    from pymatgen.core import Lattice, Structure

    original = parse_poscar(text)
    rng = np.random.default_rng([7, seed])
    lattice = Lattice.cubic((original.volume * 1.25) ** (1 / 3))
    other = Structure(lattice, [site.specie for site in original], rng.random((len(original), 3)))
    return escape(to_poscar(other))


def _check_checkpoint(session: _Session, full: Path) -> str | None:
    """The checkpoint lies in the work folder, and nothing there needs code execution to load."""
    work = full / "work"
    record = json.loads((work / api.FIT_NAME).read_text(encoding="utf-8"))
    if Path(record["checkpoint"]).is_absolute():
        why = f"fit() returned {record['checkpoint']}, outside config.work_dir (resume and copies need it inside)"
        raise session.fail("checkpoint without code", why)
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        problem = load_risk(path)
        if problem:
            raise session.fail("checkpoint without code", f"{path.relative_to(work)}: {problem}")
    return None
