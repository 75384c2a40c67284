"""Where the fits of a series run: in this process, on a local Dask cluster, or on a remote one.

Each fit is one call of :func:`fit_one` with value objects only (a :class:`FitJob`
pickles), so a Dask worker anywhere that has xtal installed can run it; results come
back as :class:`FitOutcome` values.  ``dask.distributed`` is imported only when a
cluster is used.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import XtalError
from xtal.refine.recipe import Recipe
from xtal.refine.result import Result


@dataclass(frozen=True)
class FitJob:
    """One pattern of a series to refine, and where to start from."""

    label: str
    pattern: Pattern
    phases: tuple[Phase, ...]
    instrument: Instrument | None
    recipe: Recipe
    start: Mapping[str, float] | None = None
    seed: str | None = None  # label of the fit the start values come from
    options: Mapping[str, Any] = field(default_factory=dict)  # refine_values keywords
    engine: str = "native"


@dataclass(frozen=True)
class FitOutcome:
    """What became of one :class:`FitJob`."""

    label: str
    result: Result | None
    error: str | None
    seconds: float
    seed: str | None

    @property
    def status(self) -> str:
        if self.result is None:
            return "failed"
        return "stopped" if self.result.stopped else "ok"

    @property
    def usable(self) -> bool:
        """May seed the next pattern of a sequential series (refined to the end)."""
        return self.result is not None and not self.result.stopped


def fit_one(job: FitJob) -> FitOutcome:
    """Refine one pattern; a failure becomes an outcome with its reason, never an exception.

    The fit runs with one BLAS thread (``threadpoolctl``), as Dask's workers do
    (``distributed``'s nanny sets ``OPENBLAS_NUM_THREADS=1``): its matrices (points ×
    parameters) are too small to gain from BLAS threads, and on a machine whose cores
    are busy a BLAS call waits for its other thread to be scheduled —
    ``bench/series.py`` measured the 17-pattern series at 14–25 s with OpenBLAS's
    default of one thread per core and 6.6–7.9 s with one thread, on 2 shared cores.
    """
    from threadpoolctl import threadpool_limits

    from xtal.refine.api import refine_values

    if _in_dask_worker():
        from xtal.util.memory import keep_freed_memory

        keep_freed_memory()  # a worker process exists to refine (util.memory)
    t0 = time.perf_counter()
    try:
        with threadpool_limits(limits=1):
            result = refine_values(
                job.pattern,
                list(job.phases),
                job.instrument,
                job.recipe,
                engine=job.engine,
                start=dict(job.start) if job.start else None,
                **dict(job.options),
            )
        return FitOutcome(job.label, result, None, time.perf_counter() - t0, job.seed)
    except XtalError as exc:
        return FitOutcome(job.label, None, str(exc), time.perf_counter() - t0, job.seed)
    except Exception as exc:  # a crash in one fit must not end the series
        last = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
        return FitOutcome(job.label, None, reason, time.perf_counter() - t0, job.seed)


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` processes with one thread each, for fits.

    Dask's nanny starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``).  Setting it also switches off glibc's
    dynamic mmap threshold (mallopt(3)), so that every array above 128 KiB — a block
    of Jacobian columns of a 10 000-point pattern — is mapped, page-faulted and
    unmapped afresh: the 17 fits of the 11-BM series took 25.7 s in such a worker and
    17 s without the variable (``bench/series.py``, 2 shared cores).  It is left unset
    here; the other pre-spawn variables (one BLAS/OpenMP thread) are kept.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=40)


class Executor:
    """Runs :class:`FitJob`s and yields their outcomes as they finish.

    Parameters
    ----------
    workers
        Local worker processes (Dask ``LocalCluster``, one thread each); 0 or 1 with
        no scheduler runs the fits here, one after another.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``): use its workers.
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None) -> None:
        self.client = None
        self._cluster = None
        self._pending: dict[Any, str] = {}
        self._local: list[FitJob] = []
        if scheduler:
            from distributed import Client

            self.client = Client(scheduler, timeout="20s")
        elif workers > 1:
            from distributed import Client

            self._cluster = local_cluster(workers)
            self.client = Client(self._cluster)

    @property
    def slots(self) -> int:
        """How many fits can run at once."""
        if self.client is None:
            return 1
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, job: FitJob) -> None:
        if self.client is None:
            self._local.append(job)
            return
        fut = self.client.submit(fit_one, job, key=f"fit-{job.label}-{time.time_ns()}", pure=False)
        self._pending[fut] = job.label

    def running(self) -> int:
        return len(self._pending) + len(self._local)

    def next_done(self) -> Iterator[FitOutcome]:
        """Outcomes of finished jobs (at least one, unless nothing is pending)."""
        if self.client is None:
            while self._local:
                yield fit_one(self._local.pop(0))
                return
            return
        from distributed import wait

        done, _ = wait(list(self._pending), return_when="FIRST_COMPLETED")
        for fut in done:
            label = self._pending.pop(fut)
            try:
                yield fut.result()
            except Exception as exc:  # e.g. a worker killed three times
                yield FitOutcome(label, None, f"worker lost: {type(exc).__name__}: {exc}", 0.0,
                                 None)

    def cancel(self) -> None:
        if self.client is not None and self._pending:
            self.client.cancel(list(self._pending))
        self._pending.clear()
        self._local.clear()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
        self.close()
