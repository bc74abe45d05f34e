"""The one reconstruction loop of every runner: resume, record, time, show progress.

:func:`reconstruct_all` asks a runner for the (test id, sample) pairs that
``OUT/work/partial.jsonl`` does not hold yet and appends each :class:`Reconstruction`
it yields to that file as one JSON line, flushed at once, so a killed run loses at
most the record being written. Rules:

* a record is keyed by ``(id, sample)``; the runner is asked only for ids with a
  missing sample, and must yield each requested key at most once and no other key
  (else :class:`RunError`, naming the runner);
* a requested key the runner did not yield becomes a failure record with a reason,
  never a missing row;
* an exception from the runner (or Ctrl-C) stops the run; the records written so
  far are kept, and the next run resumes after them;
* a torn last line (the process died mid-write) is ignored; legacy lines with
  ``poscar``/``reason`` keys are read as well;
* reconstruction seconds are summed over sessions (each line carries its session
  and the seconds since that session started).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.core.errors import RunError
from atomgenbench.core.output import bar
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner

PARTIAL_NAME = "partial.jsonl"
NOT_RETURNED = "the runner returned no prediction for this id"

Key = tuple[str, int]


def _record(rec: object) -> Reconstruction | None:
    """A partial.jsonl line's record, or ``None`` for a line that is not one."""
    if not isinstance(rec, dict) or "id" not in rec:
        return None
    try:
        structure = rec["structure"] if "structure" in rec else rec.get("poscar")
        failure = rec["failure"] if "failure" in rec else rec.get("reason")
        return Reconstruction.from_pair(str(rec["id"]), structure or None, failure, int(rec.get("sample", 0)))
    except (TypeError, ValueError):
        return None


class PartialLog:
    """``OUT/work/partial.jsonl``: the records of a reconstruction, one JSON line each."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.session = f"{os.getpid()}-{time.time():.0f}"
        self.start = time.perf_counter()
        self._torn = self.path.is_file() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")

    def read(self) -> tuple[dict[Key, Reconstruction], float]:
        """Records of earlier sessions (the last one of a key wins) and the seconds they took."""
        done: dict[Key, Reconstruction] = {}
        sessions: dict[str, float] = {}
        if not self.path.is_file():
            return done, 0.0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            rec = _record(raw)
            if rec is None:
                continue
            done[(rec.id, rec.sample)] = rec
            session = str(raw.get("session", ""))
            sessions[session] = max(sessions.get(session, 0.0), float(raw.get("elapsed", 0.0)))
        return done, sum(sessions.values())

    def append(self, rec: Reconstruction) -> None:
        line = {
            "id": rec.id,
            "sample": rec.sample,
            "structure": rec.structure,
            "failure": rec.failure,
            "session": self.session,
            "elapsed": round(time.perf_counter() - self.start, 3),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(("\n" if self._torn else "") + json.dumps(line) + "\n")  # end a line torn by a kill
            fh.flush()
        self._torn = False


def reconstruct_all(
    runner: Runner,
    data: BenchmarkData,
    checkpoint: Path,
    config: RunConfig,
    ids: Sequence[str] | None = None,
    samples: int = 1,
) -> tuple[dict[Key, Reconstruction], float]:
    """Every ``(id, sample)`` of ``ids`` (default: the test ids) for ``samples`` samples, resumed.

    Returns the records and the reconstruction seconds of all sessions together.
    """
    ids = list(data.test_ids if ids is None else ids)
    log = PartialLog(config.work_dir / PARTIAL_NAME)
    done, seconds = log.read()
    wanted = [(i, s) for i in dict.fromkeys(ids) for s in range(samples)]
    expected = {key for key in wanted if key not in done}
    missing = list(dict.fromkeys(i for i, s in wanted if (i, s) in expected))
    missing_set = set(missing)
    start = time.perf_counter()
    if missing:
        seen: set[Key] = set()
        progress = bar(total=len(expected), desc=f"{runner.name} {data.name}", unit="crystal", progress=config.progress)
        try:
            for rec in runner.reconstruct(data, checkpoint, config, ids=missing):
                if not isinstance(rec, Reconstruction):
                    raise RunError(f"runner {runner.name!r} yielded {type(rec).__name__}, not a Reconstruction")
                key = (rec.id, rec.sample)
                if key in done and key not in seen and rec.id in missing_set:
                    continue  # a sample an earlier session wrote (the runner recomputes whole ids)
                if key not in expected:
                    what = "twice" if key in seen else "although it was not asked for"
                    raise RunError(f"runner {runner.name!r} yielded id {rec.id!r} sample {rec.sample} {what}")
                log.append(rec)
                done[key] = rec
                seen.add(key)
                expected.discard(key)
                progress.update(1)
        finally:
            progress.close()
        for key in wanted:  # asked for but not yielded: a failure row, never a missing one
            if key in expected:
                done[key] = Reconstruction.failed(key[0], NOT_RETURNED, key[1])
                log.append(done[key])
    return done, seconds + (time.perf_counter() - start)
