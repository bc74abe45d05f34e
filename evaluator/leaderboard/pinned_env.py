"""Score structure rows in the leaderboard's own environment (``--leaderboard-env``).

The live JARVIS-Leaderboard is rebuilt with the pins of its ``environment.yml``
(python 3.10.14, pymatgen 2024.3.1, numpy 1.26.4, pandas 2.2.1, jarvis-tools
2024.3.4, scipy 1.13.0rc1; docs/leaderboard-env.md). A newer pymatgen decides some
borderline StructureMatcher pairs differently, so the RMSE computed here can differ
from the number the leaderboard prints. This module

* builds an isolated virtual environment with exactly :data:`PINS` (``uv`` when it
  is on PATH, else ``venv`` + pip; ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``,
  ``PIP_FIND_LINKS`` and ``UV_INDEX_URL`` are honoured by both), once, under
  ``$ATOMGENBENCH_ENV_DIR`` or ``<cache>/envs`` (the user cache, or
  ``$ATOMGENBENCH_CACHE``), keyed by the pins and the interpreter;
* builds it in a temporary folder that is renamed into place, under a lock file, so
  concurrent runs never see half an environment; checks it with a version probe
  on every use and rebuilds it when it is broken (deleted files, wrong versions);
* runs :mod:`atomgenbench.evaluator.leaderboard._pinned_scorer` (a file of ours that imports
  only the pinned packages) with that environment's python, feeding it the rows as
  JSON lines in a temporary file.

The interpreter is ``$ATOMGENBENCH_LEADERBOARD_PYTHON`` when set (e.g. a python 3.10),
else the one running atomgenbench; which one was used is recorded in every result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from atomgenbench.benchmarks.atomgen.sources import cache_dir
from atomgenbench.core.errors import EnvironmentBuildError
from atomgenbench.core.executors import SERIAL, Executor
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.output import bar
from atomgenbench.core.versions import LEADERBOARD_PYTHON, PINS, SUPPORT_PINS

log = logging.getLogger("atomgenbench")

ENV_DIR_VAR = "ATOMGENBENCH_ENV_DIR"
PYTHON_VAR = "ATOMGENBENCH_LEADERBOARD_PYTHON"
SCORER = Path(__file__).with_name("_pinned_scorer.py")
MANIFEST = "atomgenbench-env.json"
#: bump when the scorer's protocol or the build recipe changes (part of the cache key)
RECIPE = 1


@dataclass(frozen=True)
class LeaderboardEnv:
    """A built, probed leaderboard environment."""

    path: Path
    python: Path  # the environment's interpreter
    python_version: str
    versions: dict[str, str | None]
    builder: str

    def describe(self) -> dict:
        """What results record about the environment that produced them."""
        return {
            "python": self.python_version,
            "leaderboard_python": LEADERBOARD_PYTHON,
            **self.versions,
            "pins": {**PINS, **SUPPORT_PINS},
            "builder": self.builder,
            "path": str(self.path),
        }


@dataclass
class PinnedScore:
    """Per-row RMS from the leaderboard environment and the leaderboard's rounded mean."""

    rms: dict[str, float | None]
    errors: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    n_matched: int = 0
    environment: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- where


def env_root() -> Path:
    """``$ATOMGENBENCH_ENV_DIR``, else ``envs/`` in the atomgenbench cache."""
    value = os.environ.get(ENV_DIR_VAR)
    return Path(value).expanduser() if value else cache_dir() / "envs"


def base_python() -> str:
    """The interpreter the environment is built from."""
    return os.environ.get(PYTHON_VAR) or sys.executable


@cache
def _interpreter_version(python: str) -> str:
    if python == sys.executable:
        return platform.python_version()
    try:
        out = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvironmentBuildError(
            f"{PYTHON_VAR}={python} is not a working python interpreter ({exc}); point it at a python 3.10 "
            "(the leaderboard's) or unset it to use the interpreter running atomgenbench"
        ) from None
    return out.stdout.strip()


def env_key(python: str | None = None) -> str:
    """Cache key: the pins, the recipe, the interpreter (path and version) and the machine."""
    python = python or base_python()
    blob = json.dumps(
        {
            "pins": {**PINS, **SUPPORT_PINS},
            "recipe": RECIPE,
            "python": os.path.realpath(python),
            "version": _interpreter_version(python),
            "machine": platform.machine(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def env_path(python: str | None = None) -> Path:
    return env_root() / f"leaderboard-{env_key(python)}"


def _env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# --------------------------------------------------------------------------- probe


def _clean_env() -> dict[str, str]:
    """The environment of child processes: no PYTHONPATH/PYTHONHOME/VIRTUAL_ENV leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def probe(path: Path) -> tuple[dict | None, str]:
    """``(probe result, "")`` for a working environment with the pinned versions, else ``(None, why)``."""
    python = _env_python(path)
    if not python.exists():
        return None, f"{python} does not exist"
    try:
        out = subprocess.run(
            [str(python), "-I", str(SCORER), "--probe"],
            capture_output=True,
            text=True,
            timeout=300,
            env=_clean_env(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"its python does not run ({exc})"
    if out.returncode != 0:
        return None, f"the version probe failed: {_tail(out.stderr, 3)}"
    try:
        info = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, f"the version probe printed {out.stdout[:200]!r}"
    pins = {**PINS, **SUPPORT_PINS}
    wrong = {k: info["versions"].get(k) for k, v in pins.items() if info["versions"].get(k) != v}
    if wrong:
        return None, "wrong versions: " + ", ".join(f"{k} {v} (pinned {pins[k]})" for k, v in wrong.items())
    return info, ""


@cache
def _probe_cached(path: str, stamp: float) -> tuple[str, tuple]:
    info, why = probe(Path(path))
    return json.dumps(info) if info else "", (why,)


def _usable(path: Path) -> tuple[dict | None, str]:
    """Probe once per process (and again when the environment's manifest changes)."""
    manifest = path / MANIFEST
    stamp = manifest.stat().st_mtime if manifest.is_file() else -1.0
    text, (why,) = _probe_cached(str(path), stamp)
    return (json.loads(text) if text else None), why


# --------------------------------------------------------------------------- build


def _index_args(tool: str) -> list[str]:
    """Index / wheelhouse options from PIP_* and UV_* variables, for the tool that does not read them itself."""
    args: list[str] = []
    env = os.environ
    if tool == "uv":
        if env.get("PIP_INDEX_URL") and not (env.get("UV_INDEX_URL") or env.get("UV_DEFAULT_INDEX")):
            args += ["--index-url", env["PIP_INDEX_URL"]]
        if env.get("PIP_EXTRA_INDEX_URL") and not (env.get("UV_EXTRA_INDEX_URL") or env.get("UV_INDEX")):
            for url in env["PIP_EXTRA_INDEX_URL"].split():
                args += ["--extra-index-url", url]
        if env.get("PIP_FIND_LINKS") and not env.get("UV_FIND_LINKS"):
            for link in env["PIP_FIND_LINKS"].split():
                args += ["--find-links", link]
        if env.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes"):
            args.append("--no-index")
    else:
        if (env.get("UV_INDEX_URL") or env.get("UV_DEFAULT_INDEX")) and not env.get("PIP_INDEX_URL"):
            args += ["--index-url", env.get("UV_INDEX_URL") or env["UV_DEFAULT_INDEX"]]
        if env.get("UV_FIND_LINKS") and not env.get("PIP_FIND_LINKS"):
            for link in env["UV_FIND_LINKS"].split():
                args += ["--find-links", link]
    return args


def build_commands(path: Path, python: str | None = None) -> tuple[str, list[list[str]]]:
    """(builder name, the commands that build the environment at ``path``)."""
    python = python or base_python()
    pins = [f"{k}=={v}" for k, v in {**PINS, **SUPPORT_PINS}.items()]
    uv = shutil.which("uv")
    if uv:
        return "uv", [
            [uv, "venv", "--relocatable", "--python", python, str(path)],
            [uv, "pip", "install", "--python", str(_env_python(path)), *_index_args("uv"), *pins],
        ]
    return "venv+pip", [
        [python, "-m", "venv", str(path)],
        [str(_env_python(path)), "-m", "pip", "install", "--no-input", *_index_args("pip"), *pins],
    ]


def manual_command(path: Path) -> str:
    """The shell lines that build the environment by hand (atomgenbench accepts it after a probe)."""
    _, commands = build_commands(path)
    return " && ".join(shlex.join(c) for c in commands)


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """An exclusive lock file (fcntl); concurrent builders wait for each other."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): no cross-process lock
            yield
            return
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another atomgenbench process to finish building %s", lock.with_suffix(""))
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_step(cmd: list[str], builder: str, final: Path, progress: bool) -> None:
    """Run one build command, streaming its output into a spinner (TTY) and the debug log."""
    tail: deque[str] = deque(maxlen=15)
    log.debug("$ %s", shlex.join(cmd))
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_build_env(builder)
        )
    except OSError as exc:
        raise _build_error(final, f"`{cmd[0]}` cannot be started ({exc})") from None
    assert proc.stdout is not None
    for line in bar(proc.stdout, progress=progress, desc="building leaderboard env", unit=" lines", leave=False):
        line = line.rstrip()
        if line:
            tail.append(line)
            log.debug("  %s", line)
    if proc.wait() != 0:
        detail = "\n    ".join(tail) or "(no output)"
        raise _build_error(final, f"`{shlex.join(cmd)}` failed (exit {proc.returncode}):\n    {detail}")


def _build_env(builder: str) -> dict[str, str]:
    env = _clean_env()
    if builder == "uv":
        env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # use the interpreter given, never fetch one
    else:
        env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


def _build_error(final: Path, reason: str) -> EnvironmentBuildError:
    return EnvironmentBuildError(
        f"cannot build the leaderboard environment ({', '.join(f'{k} {v}' for k, v in PINS.items())}): "
        f"{reason}\nBuild it by hand (then rerun; atomgenbench checks its versions and uses it):\n"
        f"  {manual_command(final)}\n"
        "For an offline machine point PIP_INDEX_URL / PIP_FIND_LINKS (or UV_INDEX_URL) at an index or "
        f"wheelhouse that holds these versions; {PYTHON_VAR} selects another interpreter "
        f"(the leaderboard uses python {LEADERBOARD_PYTHON})."
    )


def _remove(path: Path) -> None:
    """Move ``path`` aside, then delete it (a reader never sees a half-deleted environment)."""
    if not path.exists():
        return
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}-{time.time_ns()}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _build(final: Path, *, progress: bool) -> dict:
    python = base_python()
    builder, _ = build_commands(final, python)
    tmp = final.with_name(f".build-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _, commands = build_commands(tmp, python)
    log.info(
        "building the leaderboard environment (%s; python %s) with %s in %s; this happens once",
        ", ".join(f"{k} {v}" for k, v in PINS.items()),
        _interpreter_version(python),
        builder,
        final,
    )
    start = time.perf_counter()
    try:
        for cmd in commands:
            _run_step(cmd, builder, final, progress)
        _remove(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info, why = probe(final)
    if info is None:
        raise _build_error(final, f"the new environment does not work: {why}")
    _write_manifest(final, info, builder, python)
    log.info("leaderboard environment ready in %.0f s", time.perf_counter() - start)
    return info


def _write_manifest(path: Path, info: dict, builder: str, python: str) -> None:
    manifest = {
        "pins": {**PINS, **SUPPORT_PINS},
        "recipe": RECIPE,
        "base_python": python,
        "python": info["python"],
        "versions": info["versions"],
        "builder": builder,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(path / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def _builder_of(path: Path) -> str:
    try:
        return json.loads((path / MANIFEST).read_text()).get("builder", "by hand")
    except (OSError, ValueError):
        return "by hand"


def ensure_env(*, progress: bool = True) -> LeaderboardEnv:
    """The cached leaderboard environment, built (or rebuilt when broken) if needed.

    Raises :class:`EnvironmentBuildError` with the command to build it by hand.
    """
    final = env_path()
    info, why = _usable(final) if final.exists() else (None, "")
    if info is None:
        with _locked(final.with_name(final.name + ".lock")):
            _probe_cached.cache_clear()
            info, why = _usable(final) if final.exists() else (None, "")  # another process may have built it
            if info is None:
                if final.exists():
                    log.warning("the leaderboard environment at %s is broken (%s); rebuilding it", final, why)
                info = _build(final, progress=progress)
                _probe_cached.cache_clear()
            elif not (final / MANIFEST).is_file():
                _write_manifest(final, info, "by hand", base_python())
    return LeaderboardEnv(final, _env_python(final), info["python"], info["versions"], _builder_of(final))


# --------------------------------------------------------------------------- score


def score_rows(
    rows: list[tuple[str, str, str]],
    executor: Executor = SERIAL,
    *,
    env: LeaderboardEnv | None = None,
    desc: str = "leaderboard env",
    tolerances: dict[str, float] | None = None,
) -> PinnedScore:
    """Score ``(id, prediction text, target text)`` rows in the leaderboard environment.

    Rows are scored in the order given (the leaderboard averages in file order); rows
    with an empty prediction are skipped (they are already recorded failures). The rows
    are cut into one chunk per worker, and each chunk runs the pinned scorer in its own
    process on ``executor``. ``errors`` names every row on which the pinned libraries
    raised; a scorer process that dies names the row it stopped at in an
    :class:`EnvironmentBuildError`.
    """
    env = env or ensure_env(progress=executor.progress)
    rows = [r for r in rows if r[1] and r[1].strip()]
    tol = {"ltol": 0.3, "stol": 0.5, "angle_tol": 10.0, **(tolerances or {})}
    n = max(1, min(int(executor.workers or 1), len(rows) or 1))
    tasks = [(str(env.python), rows[i::n], tol) for i in range(n)]
    results: dict[str, dict] = {}
    for part in executor.map(_score_chunk, tasks, desc=desc, unit="chunk"):
        results.update(part)
    rms = {key: results[key].get("rms") for key, _, _ in rows}
    errors = {key: results[key]["error"] for key, _, _ in rows if "error" in results[key]}
    matched = [v for v in rms.values() if v is not None]
    return PinnedScore(rms, errors, _mean(env, matched), len(matched), env.describe())


def _score_chunk(task: tuple[str, list[tuple[str, str, str]], dict[str, float]]) -> dict[str, dict]:
    """One chunk of rows through the pinned scorer process: ``{id: {"rms": ...} or {"error": ...}}``."""
    python, chunk, tol = task
    if not chunk:
        return {}
    with tempfile.TemporaryDirectory(prefix="atomgenbench-lbenv-") as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        with open(rows_file, "w", encoding="utf-8") as fh:
            for key, pred, target in chunk:
                fh.write(json.dumps({"id": key, "prediction": pred, "target": target}) + "\n")
        cmd = [python, "-I", str(SCORER), "--score", str(rows_file)]
        cmd += ["--ltol", repr(tol["ltol"]), "--stol", repr(tol["stol"]), "--angle-tol", repr(tol["angle_tol"])]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env())
    results = {}
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        results[row["id"]] = row
    stopped = next((key for key, _, _ in chunk if key not in results), None)
    if proc.returncode != 0 or stopped is not None:
        raise EnvironmentBuildError(
            f"the leaderboard-environment scorer stopped (exit {proc.returncode}) "
            + (f"while scoring id {stopped!r}" if stopped else "after the last row")
            + f": {_tail(proc.stderr, 5) or 'no message'}"
        )
    return results


def _mean(env: LeaderboardEnv, values: list[float]) -> float | None:
    """``round(np.array(rms).mean(), 4)`` computed by the pinned numpy, as the leaderboard does."""
    out = subprocess.run(
        [str(env.python), "-I", str(SCORER), "--mean"],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )
    if out.returncode != 0:
        raise EnvironmentBuildError(f"the leaderboard-environment mean failed: {_tail(out.stderr, 5)}")
    return json.loads(out.stdout)["value"]


def _tail(text: str, n: int) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])
