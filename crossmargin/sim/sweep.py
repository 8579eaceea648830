"""Sweeps (books × paths × parameter sets) in this process or on Dask distributed.

    with Sweep(workers=2) as sw:                  # a LocalCluster of 2 worker processes on this machine
        results = sw.map(fn, tasks)               # [fn(t) for t in tasks], in task order
    Sweep(scheduler="tcp://10.0.0.5:8786")        # an existing cluster (dask-scheduler + dask-worker ...)
    Sweep(workers=0)                              # no Dask: a plain loop in this process

Identical results wherever they run: a task carries everything it needs, including its own seed (callers
seed each task from (sweep seed, task identity), never from a shared generator or from execution order), and
results come back in task order, so a sweep on 1, 2 or 100 workers returns exactly the single-process answer.

When a worker dies: its running and stored tasks are recomputed elsewhere by the scheduler (Dask keeps the
task graph; `retries` also re-runs a task that raised). Every task has one key and one slot in the result
list, so a task that ran twice (once on the dead worker, once again) still fills its slot once: nothing is
lost, nothing is counted twice. Tasks must therefore be pure functions of their arguments (no side effects
that add up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

DEFAULT_RETRIES = 2


@dataclass
class Sweep:
    """Where a sweep runs (module docstring). `workers=None`: a LocalCluster with one worker per core."""

    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True
    retries: int = DEFAULT_RETRIES
    name: str = "sweep"
    client: Any = field(default=None, repr=False)
    _cluster: Any = field(default=None, repr=False)
    _own: bool = field(default=False, repr=False)

    @property
    def local(self) -> bool:
        return self.scheduler is None and self.workers == 0 and self.client is None

    def __enter__(self) -> "Sweep":
        if self.client is not None or (self.scheduler is None and self.workers == 0):
            return self
        from distributed import Client, LocalCluster

        if self.scheduler:
            self.client = Client(self.scheduler, timeout="20s")
        else:
            import dask

            n = self.workers or os.cpu_count() or 1
            # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ for its workers, which also freezes glibc's mmap threshold:
            # every large numpy temporary is then mmapped and page-faulted afresh (about 2x slower Monte Carlo here).
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=self.processes,
                                             dashboard_address=":0", silence_logs=40)
            self.client = Client(self._cluster)
        self._own = True
        return self

    def __exit__(self, *exc) -> None:
        if self._own:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
            self.client = self._cluster = None
            self._own = False

    def describe(self) -> str:
        if self.local:
            return "this process"
        info = self.client.scheduler_info()
        return f"Dask {info.get('address', self.scheduler)}, {len(info.get('workers', {}))} worker(s)"

    def map(self, fn: Callable, tasks: Sequence) -> list:
        """[fn(t) for t in tasks], in task order, on the cluster (or here)."""
        tasks = list(tasks)
        if self.local:
            return [fn(t) for t in tasks]
        import uuid

        tag = uuid.uuid4().hex[:8]
        keys = [f"{self.name}-{tag}-{i}" for i in range(len(tasks))]   # one key per task: one slot per result
        futures = self.client.map(fn, tasks, key=keys, retries=self.retries, pure=False)
        results = self.client.gather(futures)
        if len(results) != len(tasks):  # dev: gather returns one result per future, or raises
            raise RuntimeError(f"sweep returned {len(results)} results for {len(tasks)} tasks")
        return list(results)

    __call__ = map
