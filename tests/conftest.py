"""Shared fixtures: every test reads the verified local mirror, never the network.

Derived data (the parsed and reduced benchmark targets, the leakage strata) goes to a cache
that persists on this machine, ``$ATOMGENBENCH_TEST_CACHE`` or the user cache's ``tests/``
folder. Its entries are keyed like the toolkit's own cache (benchmark sha256, settings and the
versions of the libraries that computed them), so a stale entry is never read, and the suite
computes the alex strata and target tables once per machine instead of once per xdist worker.
Tests of the cache itself point ``ATOMGENBENCH_CACHE`` at their own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("ATOMGENBENCH_DATA") or (REPO.parent / "shared" / "data")).resolve()
CONTRIBUTIONS = MIRROR / "jarvis_leaderboard" / "contributions"
LEGACY = MIRROR / "legacy_2023" / "jarvis_leaderboard"
# One BLAS/OpenMP thread per test process, set before any test imports torch. Two xdist workers
# on two cores with torch's default of one thread per core oversubscribe the machine, and the
# many small tensor operations of the model tests then wait on each other: the CDVAE Langevin
# test took 313 s beside a busy core with two threads, 13.5 s with one. A value the caller
# sets wins; subprocesses of the tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
TEST_CACHE = Path(
    os.environ.get("ATOMGENBENCH_TEST_CACHE") or Path(platformdirs.user_cache_dir("atomgenbench")) / "tests"
)


@pytest.fixture(autouse=True, scope="session")
def _mirror_env():
    """Point the toolkit at the mirror and a throw-away cache; forbid downloads."""
    if not MIRROR.is_dir():
        pytest.exit(f"data mirror not found at {MIRROR}; set ATOMGENBENCH_DATA", returncode=2)
    old = {
        k: os.environ.get(k)
        for k in (
            "ATOMGENBENCH_DATA",
            "ATOMGENBENCH_CACHE",
            "ATOMGENBENCH_OFFLINE",
            "HF_HUB_OFFLINE",
            "TRANSFORMERS_OFFLINE",
        )
    }
    os.environ["ATOMGENBENCH_DATA"] = str(MIRROR)
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    os.environ["ATOMGENBENCH_CACHE"] = str(TEST_CACHE)
    os.environ["ATOMGENBENCH_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def mirror() -> Path:
    return MIRROR


@pytest.fixture(scope="session")
def contributions() -> Path:
    return CONTRIBUTIONS


@pytest.fixture
def valid_metadata() -> dict:
    """metadata.json fields that validate without warnings of placeholders (a fresh copy per test)."""
    return {
        "model_name": "PerturbNet v1",
        "author_email": "lab@uni-crystal.edu",
        "project_url": "https://arxiv.org/abs/2110.06197",
        "git_url": ["https://github.com/crystal-lab/perturbnet"],
        "date_submitted": "01-31-2026",
    }


@pytest.fixture(scope="session")
def package_cdvae_dft3d(contributions):
    """``make(out, meta, seconds)``: a valid 7-file dft_3d contribution at ``out`` from the CDVAE structure file."""
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.submission.package import family_files, package_contribution

    bench = "dft_3d_Tc_supercon"
    preds = load_predictions(
        contributions / "cdvae_invatoms" / "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip", bench
    )

    def make(out: Path, meta: dict, seconds: float) -> Path:
        package_contribution({bench: preds}, meta, out, time_taken=dict.fromkeys(family_files(bench), seconds))
        return out

    return make


#: the learned runners whose default smoke runs (dft_3d, seed 0) the suite shares
SMOKE_MODELS = ("atomgpt", "cdvae", "flowmm")


@dataclass(frozen=True)
class SmokeRuns:
    """The default ``smoke`` runs of :data:`SMOKE_MODELS` on dft_3d_Tc_supercon (seed 0), made once.

    ``output`` is everything the three ``atomgenbench run`` commands printed, stdout and stderr
    together, in a pipe; ``returncode`` the worst exit code. Tests read the run folders and copy
    them (:meth:`copy`) before they write anything."""

    root: Path
    output: str
    returncode: int

    models = SMOKE_MODELS

    def folder(self, model: str) -> Path:
        if self.returncode != 0:  # say why, not that a folder is missing
            pytest.fail(f"the shared smoke runs failed (exit {self.returncode}):\n{self.output}")
        return self.root / model

    def copy(self, model: str, dest: Path) -> Path:
        shutil.copytree(self.folder(model), dest)
        return dest


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory) -> SmokeRuns:
    """One set of smoke runs per test session, shared by the xdist workers through their common
    temporary folder and a lock: the first worker that asks makes them, the others wait and read.

    The three runs share one interpreter (torch and Lightning import once) and run as a user runs
    them, with no TQDM_DISABLE or PYTHONWARNINGS, so ``output`` shows any noise that a run prints
    in a pipe (tests/test_runner_contract.py)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # an xdist worker: its siblings share the parent folder
        shared = shared.parent
    root, record = shared / "smoke-runs", shared / "smoke-runs.json"
    with FileLock(str(shared / "smoke-runs.lock")):
        if not record.is_file():
            runs = [["run", m, "-b", "dft_3d_Tc_supercon", "-p", "smoke", "-o", str(root / m)] for m in SMOKE_MODELS]
            code = "import sys\nfrom atomgenbench.cli.main import run_cli\n"
            code += f"sys.exit(max(run_cli(a) for a in {runs!r}))\n"
            env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "PYTHONWARNINGS")}
            proc = subprocess.run(
                [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=600
            )
            done = {"output": proc.stdout.decode("utf-8"), "returncode": proc.returncode}
            tmp = record.with_suffix(".tmp")
            tmp.write_text(json.dumps(done), encoding="utf-8")
            tmp.replace(record)
    done = json.loads(record.read_text(encoding="utf-8"))
    return SmokeRuns(root, done["output"], done["returncode"])
