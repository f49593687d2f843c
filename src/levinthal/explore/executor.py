"""One executor interface for the parallel work of global searches: ``map(fn, items)``.

A search hands a picklable function and a list of items to ``executor.map`` and gets the
results back *in the order of the items*, whatever ran where, so a seeded search gives the
same trajectory serially, in local processes, or (a later issue) on Ray behind the same
interface. Randomness never enters ``fn``: the search draws every random number itself,
before the map.

* :class:`SerialExecutor` — a list comprehension; the default, and the reference.
* :class:`ProcessExecutor` — ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn``
  start method (safe with numba, torch and threads); ``fn`` and the items are pickled.

Landscapes travel to workers either pickled, or by registry name: :class:`Quench` holds a
landscape *or* a name for :func:`levinthal.systems.registry.make_system`, and a worker builds
a named landscape once and keeps it for the worker's life (a per-process cache, so big
network landscapes are not re-pickled per task).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Executor", "ProcessExecutor", "Quench", "QuenchOutcome", "SerialExecutor"]


@runtime_checkable
class Executor(Protocol):
    """``map(fn, items) -> list`` with results in item order; ``close()`` frees workers."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs ``fn`` on each item in this process, in order."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list:
        return [fn(item) for item in items]

    def close(self) -> None:
        pass

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ProcessExecutor:
    """Local worker processes (``spawn``), created on first use and reused until :meth:`close`.

    ``max_workers``: process count (default: ``os.cpu_count()``). ``chunksize``: items per task
    message (raise it when items are many and cheap). Use as a context manager, or call
    :meth:`close`.
    """

    def __init__(self, max_workers: int | None = None, chunksize: int = 1):
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"ProcessExecutor: max_workers must be >= 1, got {max_workers}")
        if chunksize < 1:
            raise ValueError(f"ProcessExecutor: chunksize must be >= 1, got {chunksize}")
        self.max_workers = max_workers
        self.chunksize = chunksize
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.max_workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return list(self._pool.map(fn, items, chunksize=self.chunksize))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict:
        raise TypeError("ProcessExecutor cannot be pickled; pass it to the search, not to workers")


@dataclass
class QuenchOutcome:
    """One quench: final point ``x`` (dim,), ``energy``, ``converged``, energy+gradient calls."""

    x: np.ndarray
    energy: float
    converged: bool
    gradient_calls: int


_BUILT: dict[tuple[str, int], Any] = {}


@dataclass
class Quench:
    """Picklable ``fn`` for :meth:`Executor.map`: quench one starting point (dim,).

    ``landscape``: the landscape itself (pickled to workers) or a registry name such as
    ``"lj13"`` (rebuilt once per worker with ``make_system(name, seed=system_seed)``).
    ``options`` go to :func:`levinthal.minimize.minimize`.
    """

    landscape: Any
    options: dict = field(default_factory=dict)
    system_seed: int = 0

    def resolve(self) -> Any:
        if not isinstance(self.landscape, str):
            return self.landscape
        key = (self.landscape, self.system_seed)
        if key not in _BUILT:
            from levinthal.systems.registry import make_system

            _BUILT[key] = make_system(self.landscape, seed=self.system_seed)
        return _BUILT[key]

    def __call__(self, x0: Any) -> QuenchOutcome:
        from levinthal.landscape import to_numpy
        from levinthal.minimize import minimize

        r = minimize(self.resolve(), x0, **self.options)
        return QuenchOutcome(x=np.array(to_numpy(r.x), dtype=np.float64), energy=float(r.energy),
                             converged=bool(r.converged), gradient_calls=int(r.counts.gradient))
