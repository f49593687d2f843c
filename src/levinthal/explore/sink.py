"""Where global searches put what they find: the ``MinimaSink`` protocol and an in-memory sink.

Every search in :mod:`levinthal.explore` (basin-hopping, annealing, replica exchange,
population search, Langevin sampling with quenches) reports each local minimum it reaches
through ``sink.add_minimum(x, energy)`` *as it is found*, and saves its own state through
``sink.save_checkpoint(state)`` every few steps. A run restarted with the same sink calls
``sink.load_checkpoint()`` and continues where the last checkpoint left it; minima found
after that checkpoint are offered again and merged as duplicates, so nothing is lost and
nothing is counted twice.

Two implementations:

* :class:`InMemoryMinima` here (tests, quick runs; checkpoints kept in memory, or in a
  pickle file written atomically when ``checkpoint_path`` is given);
* the landscape database (:mod:`levinthal.network.database`, a later layer), which commits
  each minimum and checkpoint to SQLite or PostgreSQL at once.

Duplicates are decided by energy *and* geometry modulo the landscape's symmetry
(``landscape.symmetry.same``), never by energy alone (DESIGN.md, Storage).
"""

from __future__ import annotations

import bisect
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from levinthal.landscape import native_point

__all__ = ["DEFAULT_ENERGY_TOL", "FoundMinimum", "InMemoryMinima", "MinimaSink", "same_structure"]

DEFAULT_ENERGY_TOL = 1e-6


@runtime_checkable
class MinimaSink(Protocol):
    """What a global search needs from a store of minima.

    ``add_minimum`` returns ``(minimum_id, is_new)``; ids are stable small integers.
    ``save_checkpoint(state)`` stores a picklable dict (walker coordinates, step sizes,
    ``numpy.random.Generator.bit_generator.state``, step counter ...); ``load_checkpoint()``
    returns the last one saved, or ``None``.
    """

    def add_minimum(self, x: Any, energy: float, *, source: str | None = None) -> tuple[int, bool]: ...

    def save_checkpoint(self, state: dict) -> None: ...

    def load_checkpoint(self) -> dict | None: ...


def same_structure(landscape: Any, a: np.ndarray, b: np.ndarray, energy_a: float, energy_b: float,
                   energy_tol: float = DEFAULT_ENERGY_TOL, distance_tol: float = 1e-3) -> bool:
    """True if two minima are the same structure: energies within ``energy_tol`` and, when the
    landscape has a ``symmetry`` with ``same``, aligned geometries within ``distance_tol``;
    without a symmetry, plain Euclidean distance within ``distance_tol``."""
    if abs(float(energy_a) - float(energy_b)) > energy_tol:
        return False
    symmetry = getattr(landscape, "symmetry", None)
    if symmetry is not None and hasattr(symmetry, "same"):
        # Symmetries work on the landscape's own arrays (tensors for networks).
        a, b = native_point(landscape, a), native_point(landscape, b)
        return bool(symmetry.same(a, b, distance_tol=distance_tol))
    return float(np.linalg.norm(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))) <= distance_tol


@dataclass
class FoundMinimum:
    """A stored minimum: ``x`` shape ``(dim,)`` (NumPy), ``energy`` in the landscape's units,
    ``hits`` how many times searches reached it, ``source`` the first search that found it."""

    id: int
    x: np.ndarray
    energy: float
    hits: int = 1
    source: str | None = None


@dataclass
class InMemoryMinima:
    """A :class:`MinimaSink` that keeps minima in a list (in the order found, ``id`` = position)
    with an energy-sorted index, so a duplicate check compares only the minima within
    ``energy_tol`` (O(log n) to find them, not a scan of every stored minimum).

    ``landscape`` supplies the symmetry used to merge duplicates. ``checkpoint_path``: if
    given, checkpoints are pickled there (written to a temporary file and renamed, so a kill
    mid-write never leaves a corrupt checkpoint) and read back by :meth:`load_checkpoint`.
    """

    landscape: Any = None
    energy_tol: float = DEFAULT_ENERGY_TOL
    distance_tol: float = 1e-3
    checkpoint_path: str | os.PathLike | None = None
    minima: list[FoundMinimum] = field(default_factory=list)
    _checkpoint: dict | None = None
    _energies: list[float] = field(default_factory=list, repr=False)
    _ids: list[int] = field(default_factory=list, repr=False)

    def add_minimum(self, x: Any, energy: float, *, source: str | None = None) -> tuple[int, bool]:
        x = np.array(_to_numpy(x), dtype=float)
        energy = float(energy)
        if not np.isfinite(energy) or not np.all(np.isfinite(x)):
            raise ValueError(f"InMemoryMinima.add_minimum: non-finite minimum (energy={energy})")
        energies, ids = self._index()
        lo = bisect.bisect_left(energies, energy - self.energy_tol)
        hi = bisect.bisect_right(energies, energy + self.energy_tol)
        for k in range(lo, hi):  # only minima within energy_tol are candidates
            m = self.minima[ids[k]]
            if same_structure(self.landscape, m.x, x, m.energy, energy, self.energy_tol, self.distance_tol):
                m.hits += 1
                return m.id, False
        m = FoundMinimum(id=len(self.minima), x=x, energy=energy, source=source)
        self.minima.append(m)
        energies.insert(hi, energy)
        ids.insert(hi, m.id)
        return m.id, True

    def _index(self) -> tuple[list[float], list[int]]:
        """Energies in ascending order and the positions of their minima in ``self.minima``
        (rebuilt when ``minima`` was replaced, e.g. by a checkpoint)."""
        if len(self._ids) != len(self.minima):
            order = sorted(range(len(self.minima)), key=lambda i: self.minima[i].energy)
            self._energies = [self.minima[i].energy for i in order]
            self._ids = order
        return self._energies, self._ids

    def lowest(self, k: int = 1) -> list[FoundMinimum]:
        """The ``k`` lowest minima, lowest first."""
        return sorted(self.minima, key=lambda m: m.energy)[:k]

    def __len__(self) -> int:
        return len(self.minima)

    def save_checkpoint(self, state: dict) -> None:
        self._checkpoint = pickle.loads(pickle.dumps(state))
        if self.checkpoint_path is not None:
            path = Path(self.checkpoint_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"checkpoint": state, "minima": self.minima}, fh)
            os.replace(tmp, path)

    def load_checkpoint(self) -> dict | None:
        path = None if self.checkpoint_path is None else Path(self.checkpoint_path)
        if self._checkpoint is None and path is not None and path.exists():
            try:
                with open(self.checkpoint_path, "rb") as fh:
                    saved = pickle.load(fh)
            except (pickle.UnpicklingError, EOFError, AttributeError) as exc:
                raise ValueError(f"InMemoryMinima: checkpoint {path} is corrupt ({exc})") from exc
            self._checkpoint = saved["checkpoint"]
            if not self.minima:
                self.minima = list(saved["minima"])
        return self._checkpoint


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
