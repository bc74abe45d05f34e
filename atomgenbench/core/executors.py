"""Where per-pair work runs: a local process pool, or a Dask cluster beyond one machine.

Both engines take the same picklable per-item function and return its results in input
order, so the numbers cannot depend on the engine, the worker count or the completion
order.

``process``
    a ``ProcessPoolExecutor`` on this machine (the default).
``dask``
    ``dask.distributed``. Without a scheduler address a ``LocalCluster`` bound to
    127.0.0.1 is started with ``workers`` processes of one thread each and closed on exit
    (also on Ctrl-C and on errors). With ``scheduler="tcp://host:8786"`` (or
    ``DASK_SCHEDULER_ADDRESS``) the work goes to an existing cluster, e.g. one started with
    ``dask-jobqueue`` on SLURM. Items travel in chunks. Dask runs tasks in worker threads,
    where a per-pair ``SIGALRM`` time limit is impossible, so each worker process keeps one
    helper process whose main thread runs the chunk: the time limit holds on the
    worker exactly as in the process engine. A chunk whose worker dies is re-run by the
    scheduler on another worker (Dask's ``allowed-failures``), and results are identical.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from atomgenbench.core.errors import EngineError, UsageError
from atomgenbench.core.output import bar

AUTO = "auto"


def available_cores() -> int:
    """CPU cores available to this process (at least 1)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:  # pragma: no cover - some sandboxes refuse the call
            pass
    return max(1, os.cpu_count() or 1)


def resolve_workers(value: int | str | None) -> int:
    """``None`` or ``"auto"`` -> :func:`available_cores`; an int is returned unchanged."""
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return available_cores()
    return int(value)


T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
MEMORY_ENV = "ATOMGENBENCH_WORKER_MEMORY_GB"
DEFAULT_WORKER_MEMORY_GB = 4.0


def fork_context():
    """The ``fork`` start method where it exists (workers inherit imported modules), else the default."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def worker_memory_bytes() -> int:
    """The memory a scoring worker may add to what it inherits (``ATOMGENBENCH_WORKER_MEMORY_GB``, default 4)."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    try:
        gib = float(value) if value else DEFAULT_WORKER_MEMORY_GB
    except ValueError:
        raise UsageError(f"{MEMORY_ENV}={value!r} is not a number of GiB") from None
    return int(gib * 1024**3)


def cap_memory(extra_bytes: int) -> None:
    """In a pool worker: cap its address space at what it has now plus ``extra_bytes`` (Linux).

    An allocation past the cap raises ``MemoryError`` in that worker, which the pair's scorer
    records as a failed row ("memory limit") instead of taking the machine down.
    """
    try:
        import resource

        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (current + extra_bytes, resource.RLIM_INFINITY))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS (macOS, Windows): the cell limits still apply


def chunk_size(n_items: int, workers: int, *, target_chunks_per_worker: int = 16, cap: int = 8) -> int:
    """Items per task: small enough to balance load, large enough to amortise the round trip."""
    return max(1, min(cap, n_items // (max(1, workers) * target_chunks_per_worker) or 1))


def map_process(
    fn: Callable[[T], R], items: Sequence[T], *, workers: int, progress: bool, desc: str, unit: str = "pair"
) -> list[R]:
    """``[fn(x) for x in items]`` in a local process pool, in order."""
    chunk = chunk_size(len(items), workers)
    cap = worker_memory_bytes()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=fork_context(), initializer=cap_memory, initargs=(cap,)
    ) as pool:
        it = pool.map(fn, items, chunksize=chunk)
        return list(bar(it, progress=progress, total=len(items), desc=desc, unit=unit, leave=False))


# --------------------------------------------------------------------------- dask

_HELPER: dict[int, ProcessPoolExecutor] = {}


def _helper_pool() -> ProcessPoolExecutor:
    """One helper process per Dask worker process (its main thread can take SIGALRM), reused across chunks."""
    pid = os.getpid()
    pool = _HELPER.get(pid)
    if pool is None:
        # spawn, not fork: forking a multi-threaded Dask worker can deadlock on a held lock
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(pid,),
        )
        _HELPER.clear()
        _HELPER[pid] = pool
    return pool


def _exit_with_parent(parent: int) -> None:
    """In the helper process: leave as soon as the Dask worker that started it is gone (closed or killed)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="atomgenbench-parent-watch").start()


def _close_helper() -> None:
    """On a Dask worker: stop its helper process, so the worker can exit promptly when the cluster closes."""
    pool = _HELPER.pop(os.getpid(), None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_chunk(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    """Runs on a Dask worker: the chunk in the worker's helper process, in order.

    A daemonic worker process (Dask's default under a nanny) may not have children; the
    local cluster is started with ``distributed.worker.daemon: False``. On an external
    cluster whose workers are daemonic the chunk runs in the worker thread, where the
    per-pair time limit cannot apply; start such workers with
    ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (docs/scaling.md).
    """
    if multiprocessing.current_process().daemon:
        logging.getLogger("atomgenbench").warning(
            "dask worker is daemonic: per-pair time limits are off (set DASK_DISTRIBUTED__WORKER__DAEMON=False)"
        )
        return [fn(item) for item in chunk]
    return _helper_pool().submit(_apply_all, fn, chunk).result()  # one round trip per chunk, not per item


def _apply_all(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    """In the helper process: ``fn`` over the whole chunk, in order."""
    return [fn(item) for item in chunk]


def _dask_modules():
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--engine dask needs dask.distributed, which is not installed: pip install 'atomgenbench[dask]'"
        ) from None
    return distributed


def scheduler_address(scheduler: str | None) -> str | None:
    """The scheduler to use: the option, else ``DASK_SCHEDULER_ADDRESS``, else ``None`` (a local cluster)."""
    return scheduler or os.environ.get(SCHEDULER_ENV) or None


class DaskSession:
    """One Dask client for many maps: our own ``LocalCluster`` (started on entry, closed on exit, also
    on Ctrl-C and errors), or a connection to the scheduler at ``address``.

    Starting a local cluster costs seconds (worker processes, then each worker's helper process
    imports the scoring code), so a command that maps several times (``compare``: every input
    file, the strata, the samples) enters one session for all of them (:meth:`Executor.session`).
    """

    def __init__(self, workers: int, scheduler: str | None = None) -> None:
        self.workers = max(1, workers)
        self.address = scheduler_address(scheduler)
        self.cluster = None
        self.client = None

    def __enter__(self) -> DaskSession:
        distributed = _dask_modules()
        if self.address is None:
            import dask

            # non-daemonic workers may start the helper; an unlimited saturation queues tasks on the
            # workers, so a worker never waits for the scheduler between two chunks
            config = {"distributed.worker.daemon": False, "distributed.scheduler.worker-saturation": "inf"}
            with dask.config.set(config):
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # CRITICAL, not ERROR: a worker's heartbeat to the closing scheduler logs a traceback
                    # at shutdown; a real failure still reaches us through the chunk's future
                    silence_logs=logging.CRITICAL,
                )
        try:
            self.client = _connect(distributed, self.cluster, self.address)
        except BaseException:
            self._close_cluster()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            if self.client is not None:
                if self.cluster is not None and exc_type is None:
                    self.client.run(_close_helper)  # our own workers: stop their helpers before the cluster closes
                self.client.close()
        finally:
            self.client = None
            self._close_cluster()

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            cluster.close()

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: bool, desc: str, unit: str, chunk: int | None
    ) -> list[R]:
        """``[fn(x) for x in items]`` on this session's cluster, in order, in chunks."""
        distributed = _dask_modules()
        chunk = chunk or chunk_size(len(items), self.workers, target_chunks_per_worker=8, cap=256)
        chunks = [list(items[i : i + chunk]) for i in range(0, len(items), chunk)]
        futures = self.client.map(_run_chunk, [fn] * len(chunks), chunks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[list[R] | None] = [None] * len(chunks)
        with bar(total=len(items), progress=progress, desc=desc, unit=unit, leave=False) as pbar:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                part = future.result()
                results[index[future.key]] = part
                pbar.update(len(part))
        return [r for part in results for r in part]  # type: ignore[union-attr]


def map_dask(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    scheduler: str | None = None,
    progress: bool = True,
    desc: str = "matching",
    chunk: int | None = None,
    unit: str = "pair",
    session: DaskSession | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` on a Dask cluster, in order (see the module docstring).

    With ``session`` the work goes to that open session's cluster; without, a session is opened
    for this call alone (a local cluster is started and closed again).
    """
    if session is not None and session.client is not None:
        return session.map(fn, items, progress=progress, desc=desc, unit=unit, chunk=chunk)
    with DaskSession(workers, scheduler) as own:
        return own.map(fn, items, progress=progress, desc=desc, unit=unit, chunk=chunk)


#: seconds to wait for a remote Dask scheduler before giving up with one clear line
CONNECT_TIMEOUT_S = 15


def _connect(distributed, cluster, address: str | None):
    """A Client of our LocalCluster, or of the scheduler at ``address`` (:class:`EngineError` if unreachable)."""
    if cluster is not None:
        return distributed.Client(cluster, set_as_default=False)
    try:
        return distributed.Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise EngineError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s "
            f"({type(exc).__name__}: {exc}); start it, or drop --engine dask to use local processes"
        ) from None


class ExecutorKind(str, Enum):
    """Where the items run."""

    INLINE = "inline"  # in this process, one after the other (no per-item time limit): debugging
    PROCESS = "process"  # a local process pool
    DASK = "dask"  # dask.distributed: a local cluster, or the one at ``scheduler``


#: the engines a user picks with ``--engine`` (inline is ``--workers 0``)
ENGINES = (ExecutorKind.PROCESS.value, ExecutorKind.DASK.value)


@dataclass(frozen=True)
class Executor:
    """How and where per-item work runs: built once (by the CLI, or by a library caller) and passed down.

    ``map`` returns ``[fn(x) for x in items]`` in input order on every kind, so no number can
    depend on the kind, the worker count or the completion order. Adding an engine (Ray, a
    SLURM pool) means one more :class:`ExecutorKind` and one more branch in :meth:`map`.
    """

    kind: ExecutorKind = ExecutorKind.PROCESS
    workers: int = 1
    scheduler: str | None = None
    progress: bool = False
    #: the open Dask session of :meth:`session`, shared by copies (:meth:`with_progress`); never compared
    _open: _OpenSession = field(default_factory=lambda: _OpenSession(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ExecutorKind(self.kind))
        if self.scheduler and self.kind is not ExecutorKind.DASK:
            raise UsageError("--scheduler needs --engine dask")
        if self.kind is ExecutorKind.PROCESS and self.workers <= 0:
            object.__setattr__(self, "kind", ExecutorKind.INLINE)

    @classmethod
    def create(
        cls,
        engine: str = "process",
        workers: int | str | None = 1,
        scheduler: str | None = None,
        progress: bool = False,
    ) -> Executor:
        """From user-facing values: ``engine`` by name, ``workers`` as ``auto``/a number (0: inline)."""
        try:
            kind = ExecutorKind(engine)
        except ValueError:
            raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}") from None
        return cls(kind, resolve_workers(workers), scheduler, progress)

    @property
    def inline(self) -> bool:
        """Whether items run in this process (no pool, no per-item time limit)."""
        return self.kind is ExecutorKind.INLINE

    @contextlib.contextmanager
    def session(self) -> Iterator[Executor]:
        """Within the block, every :meth:`map` of a Dask executor uses one cluster (or one connection),
        started by the first map and closed when the block ends: the CLI opens a session around each
        command, so a command that fails before it maps starts nothing. Outside a session each map
        starts its own. Other kinds need no session; nested sessions reuse the outer one."""
        slot = self._open
        if self.kind is not ExecutorKind.DASK or slot.active:
            yield self
            return
        slot.active = True
        try:
            yield self
        except BaseException as exc:
            slot.close(type(exc))
            raise
        else:
            slot.close(None)

    def with_progress(self, progress: bool) -> Executor:
        """The same executor with progress bars on or off."""
        return dataclasses.replace(self, progress=progress)

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, desc: str = "matching", unit: str = "pair") -> list[R]:
        """``[fn(x) for x in items]``, in order, on this executor."""
        if self.kind is ExecutorKind.INLINE:
            return [
                fn(x) for x in bar(items, total=len(items), desc=desc, unit=unit, leave=False, progress=self.progress)
            ]
        if self.kind is ExecutorKind.PROCESS:
            return map_process(fn, items, workers=max(1, self.workers), progress=self.progress, desc=desc, unit=unit)
        return map_dask(
            fn,
            items,
            workers=max(1, self.workers),
            scheduler=self.scheduler,
            progress=self.progress,
            desc=desc,
            unit=unit,
            session=self._open.started(self.workers, self.scheduler),
        )


class _OpenSession:
    """A mutable slot for the frozen :class:`Executor`'s :meth:`~Executor.session` (pickled empty)."""

    def __init__(self) -> None:
        self.active = False
        self.session: DaskSession | None = None

    def started(self, workers: int, scheduler: str | None) -> DaskSession | None:
        """Inside a session: its Dask session, started now if this is the first map; else ``None``."""
        if self.active and self.session is None:
            session = DaskSession(workers, scheduler)
            session.__enter__()
            self.session = session
        return self.session

    def close(self, exc_type: type[BaseException] | None) -> None:
        session, self.session, self.active = self.session, None, False
        if session is not None:
            session.__exit__(exc_type, None, None)

    def __reduce__(self):
        return (_OpenSession, ())


#: one worker process, no progress bars: the default of library calls (per-pair time limits hold)
SERIAL = Executor(ExecutorKind.PROCESS, 1)
