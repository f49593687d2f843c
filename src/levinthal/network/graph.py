"""The kinetic transition network as plain arrays: minima, transition states and what joins them.

A :class:`KineticNetwork` is the in-memory graph that every analysis in this package reads
(disconnectivity graphs, minimax barriers, rates, first-passage times, free energies, funnels).
It knows nothing about storage: the database (:mod:`levinthal.network.database`) or a
:class:`~levinthal.paths.connect.ConnectResult` are turned into one with the constructors here.

Conventions
-----------
* Minima are numbered ``0 … n−1`` in the order given (the *index*); ``ids`` keeps the caller's
  own identifiers (database ids), so results can be mapped back.
* ``log_product_frequencies`` of a minimum is Σ log λₐ over its κ = dim − n_zero_modes non-zero
  Hessian eigenvalues, i.e. log ∏ ωₐ² with ωₐ angular frequencies for unit masses (mass-weighted
  coordinates); of a transition state, Σ log λₐ over its κ − 1 *positive* eigenvalues. This is
  the quantity :class:`~levinthal.landscape.results.Minimum` and
  :func:`~levinthal.saddles.verify_transition_state` store. NaN means "not computed".
* ``point_group_order`` o: the order of the point group (1 when unknown, and for networks).
  Harmonic rates carry o_min/o_ts and partition functions 1/o (Wales, *Energy Landscapes*, 2003).
* Transition state k joins minima ``ts_minima[k, 0]`` and ``ts_minima[k, 1]``. Several
  transition states may join the same pair (parallel channels: their rates add, and the lowest
  one sets the barrier). A transition state joining a minimum to itself (a degenerate
  rearrangement between permutational isomers) is kept but plays no part in kinetics or
  connectivity: it changes no state. Disconnected pieces are allowed; :meth:`components` names
  them and each analysis says how it treats them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape.errors import LandscapeError, ShapeError

__all__ = ["KineticNetwork", "UnionFind", "from_connect"]


class UnionFind:
    """Disjoint sets over ``0 … n−1`` with path halving and union by size (Tarjan 1975)."""

    def __init__(self, n: int):
        self.parent = np.arange(n)
        self.size = np.ones(n, dtype=int)

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return int(i)

    def union(self, i: int, j: int) -> int:
        """Join the sets of ``i`` and ``j``; return the root of the joined set."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return a
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        return a

    def labels(self) -> np.ndarray:
        """Root of every element, shape ``(n,)``."""
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=int)


def _float_array(name: str, value: Any, n: int, default: float) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=float)
    a = np.array([np.nan if v is None else v for v in np.ravel(np.asarray(value, dtype=object))], dtype=float)
    if a.shape != (n,):
        raise ShapeError(f"KineticNetwork: {name} has shape {a.shape}, expected ({n},)")
    return a


def _int_array(name: str, value: Any, n: int, default: int) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=int)
    raw = np.ravel(np.asarray(value, dtype=object))
    a = np.array([default if v is None else v for v in raw], dtype=float)
    if a.shape != (n,):
        raise ShapeError(f"KineticNetwork: {name} has shape {a.shape}, expected ({n},)")
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise LandscapeError(f"KineticNetwork: {name} must be integers, got {a}")
    return a.astype(int)


@dataclass
class KineticNetwork:
    """Minima and transition states of a landscape, as arrays (see the module docstring).

    Minima (``n``): ``energies`` ``(n,)``; ``log_product_frequencies`` ``(n,)`` (NaN when
    unknown); ``point_group_orders`` ``(n,)`` int ≥ 1; ``n_zero_modes`` ``(n,)`` int; ``ids``
    ``(n,)`` the caller's identifiers. Transition states (``m``): ``ts_energies`` ``(m,)``;
    ``ts_minima`` ``(m, 2)`` minimum *indices*; ``ts_log_product_frequencies`` ``(m,)``;
    ``ts_point_group_orders`` ``(m,)``. ``dim``: the landscape's dimension (needed for κ in
    thermodynamics; ``None`` when unknown). Energies are in the landscape's units.

    Build with :meth:`from_arrays` or :meth:`from_records`; both check the input.
    """

    energies: np.ndarray
    ts_energies: np.ndarray
    ts_minima: np.ndarray
    log_product_frequencies: np.ndarray = None
    point_group_orders: np.ndarray = None
    n_zero_modes: np.ndarray = None
    ids: np.ndarray = None
    ts_log_product_frequencies: np.ndarray = None
    ts_point_group_orders: np.ndarray = None
    dim: int | None = None
    ts_ids: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        e = np.asarray(self.energies, dtype=float).reshape(-1)
        n = e.size
        if n == 0:
            raise LandscapeError("KineticNetwork: no minima")
        if not np.all(np.isfinite(e)):
            bad = np.flatnonzero(~np.isfinite(e))
            raise LandscapeError(f"KineticNetwork: non-finite minimum energies at indices {bad}")
        self.energies = e
        te = np.asarray(self.ts_energies, dtype=float).reshape(-1)
        m = te.size
        if not np.all(np.isfinite(te)):
            bad = np.flatnonzero(~np.isfinite(te))
            raise LandscapeError(f"KineticNetwork: non-finite transition-state energies at indices {bad}")
        self.ts_energies = te
        tm = np.asarray(self.ts_minima).reshape(-1, 2) if m else np.zeros((0, 2), dtype=int)
        if tm.shape != (m, 2):
            raise ShapeError(f"KineticNetwork: ts_minima has shape {tm.shape}, expected ({m}, 2)")
        if m and (np.any(tm != np.round(tm.astype(float))) or tm.min() < 0 or tm.max() >= n):
            raise LandscapeError(f"KineticNetwork: ts_minima must be minimum indices in [0, {n}), got {tm}")
        self.ts_minima = tm.astype(int)
        self.log_product_frequencies = _float_array("log_product_frequencies", self.log_product_frequencies,
                                                    n, np.nan)
        self.point_group_orders = _int_array("point_group_orders", self.point_group_orders, n, 1)
        self.n_zero_modes = _int_array("n_zero_modes", self.n_zero_modes, n, 0)
        self.ids = np.arange(n) if self.ids is None else np.asarray(self.ids).reshape(-1)
        if self.ids.shape != (n,):
            raise ShapeError(f"KineticNetwork: ids has shape {self.ids.shape}, expected ({n},)")
        self.ts_ids = np.arange(m) if self.ts_ids is None else np.asarray(self.ts_ids).reshape(-1)
        self.ts_log_product_frequencies = _float_array(
            "ts_log_product_frequencies", self.ts_log_product_frequencies, m, np.nan)
        self.ts_point_group_orders = _int_array("ts_point_group_orders", self.ts_point_group_orders, m, 1)
        for name, o in (("point_group_orders", self.point_group_orders),
                        ("ts_point_group_orders", self.ts_point_group_orders)):
            if np.any(o < 1):
                raise LandscapeError(f"KineticNetwork: {name} must be ≥ 1, got {o}")
        if m:
            higher = np.maximum(e[self.ts_minima[:, 0]], e[self.ts_minima[:, 1]])
            below = te < higher - 1e-9 * (1 + np.abs(te))
            if np.any(below):
                k = int(np.flatnonzero(below)[0])
                i, j = self.ts_minima[k]
                raise LandscapeError(
                    f"KineticNetwork: transition state {k} (energy {te[k]!r}) lies below minimum {i} "
                    f"({e[i]!r}) or {j} ({e[j]!r}) that it joins; the records are inconsistent")
        if self.dim is not None:
            self.dim = int(self.dim)
            if np.any(self.n_zero_modes >= self.dim):
                raise LandscapeError(f"KineticNetwork: n_zero_modes {self.n_zero_modes} ≥ dim {self.dim}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, energies: Any, ts_energies: Any, ts_minima: Any, **kwargs: Any) -> KineticNetwork:
        """From plain arrays: ``energies`` ``(n,)``, ``ts_energies`` ``(m,)``, ``ts_minima`` ``(m, 2)``
        (minimum indices); the other fields as keywords (see the class docstring)."""
        return cls(energies=energies, ts_energies=ts_energies, ts_minima=ts_minima, **kwargs)

    @classmethod
    def from_records(cls, minima: Sequence[Any], transition_states: Sequence[Any], *,
                     dim: int | None = None, skip_unconnected: bool = False) -> KineticNetwork:
        """From minimum and transition-state records (duck-typed).

        A minimum needs ``energy``; optional ``log_product_frequencies``, ``point_group_order``,
        ``n_zero_modes``, ``id`` (else its position in ``minima`` is its id) and ``x`` (gives
        ``dim`` when not passed). A transition state needs ``energy`` and the ids of its two
        minima as ``minus``/``plus`` (:class:`~levinthal.landscape.results.TransitionState`),
        ``minimum1_id``/``minimum2_id`` (the database's records) or ``minimum1``/``minimum2``;
        optional ``log_product_frequencies``, ``point_group_order``, ``id``. A transition state
        naming a minimum that is not among ``minima`` is refused; one whose minima are unknown
        (None) too, unless ``skip_unconnected`` (then it is left out).
        """
        minima = list(minima)
        ids = [getattr(m, "id", None) for m in minima]
        ids = list(range(len(minima))) if any(i is None for i in ids) else ids
        if len(set(ids)) != len(ids):
            raise LandscapeError("KineticNetwork.from_records: minima ids are not unique")
        index = {i: k for k, i in enumerate(ids)}
        if dim is None and minima and getattr(minima[0], "x", None) is not None:
            dim = int(np.asarray(minima[0].x).size)
        kept, ts_minima, ts_ids = [], [], []
        names = (("minus", "plus"), ("minimum1_id", "minimum2_id"), ("minimum1", "minimum2"))
        for k, t in enumerate(transition_states):
            for first, second in names:
                if hasattr(t, first):
                    a, b = getattr(t, first, None), getattr(t, second, None)
                    break
            else:
                raise LandscapeError(f"KineticNetwork.from_records: transition state {k} has none of "
                                     "minus/plus, minimum1_id/minimum2_id, minimum1/minimum2")
            if a is None or b is None:
                if skip_unconnected:
                    continue
                raise LandscapeError(f"KineticNetwork.from_records: transition state {k} does not name "
                                     f"both minima it joins (got {a!r}, {b!r}); pass skip_unconnected=True "
                                     "to leave such states out")
            for v in (a, b):
                if v not in index:
                    raise LandscapeError(f"KineticNetwork.from_records: transition state {k} joins minimum "
                                         f"id {v!r}, which is not among the minima")
            kept.append(t)
            ts_minima.append((index[a], index[b]))
            ts_ids.append(getattr(t, "id", None) if getattr(t, "id", None) is not None else k)
        id_array = np.asarray(ids)
        if id_array.dtype.kind not in "iu":
            id_array = np.asarray(ids, dtype=object)
        return cls(
            energies=[float(m.energy) for m in minima],
            log_product_frequencies=[getattr(m, "log_product_frequencies", None) for m in minima],
            point_group_orders=[getattr(m, "point_group_order", None) for m in minima],
            n_zero_modes=[getattr(m, "n_zero_modes", None) for m in minima],
            ids=id_array,
            ts_energies=[float(t.energy) for t in kept],
            ts_minima=np.asarray(ts_minima, dtype=int).reshape(-1, 2),
            ts_log_product_frequencies=[getattr(t, "log_product_frequencies", None) for t in kept],
            ts_point_group_orders=[getattr(t, "point_group_order", None) for t in kept],
            ts_ids=np.asarray(ts_ids),
            dim=dim,
        )

    # ------------------------------------------------------------------ queries
    @property
    def n_minima(self) -> int:
        return int(self.energies.size)

    @property
    def n_transition_states(self) -> int:
        return int(self.ts_energies.size)

    @property
    def global_minimum(self) -> int:
        """Index of the lowest minimum (the first one on ties)."""
        return int(np.argmin(self.energies))

    def kappa(self) -> np.ndarray:
        """κᵢ = dim − n_zero_modesᵢ, the number of vibrational modes of each minimum, shape ``(n,)``."""
        if self.dim is None:
            raise LandscapeError("KineticNetwork: dim is unknown, so κ = dim − n_zero_modes is too; "
                                 "pass dim= when building the network")
        return self.dim - self.n_zero_modes

    def edges(self) -> np.ndarray:
        """Indices of the transition states that join two *different* minima (self-loops left out)."""
        return np.flatnonzero(self.ts_minima[:, 0] != self.ts_minima[:, 1])

    def components(self, energy_max: float = np.inf) -> np.ndarray:
        """Connected-component label of every minimum, shape ``(n,)``: minima joined by transition
        states with energy ≤ ``energy_max`` share a label (the smallest index in the component)."""
        uf = UnionFind(self.n_minima)
        for k in self.edges():
            if self.ts_energies[k] <= energy_max:
                uf.union(*self.ts_minima[k])
        roots = uf.labels()
        smallest = {}
        for i, r in enumerate(roots):
            smallest.setdefault(int(r), i)
        return np.array([smallest[int(r)] for r in roots], dtype=int)

    def subnetwork(self, keep: Any) -> KineticNetwork:
        """The network restricted to the minima ``keep`` (indices or a boolean mask), with the
        transition states between kept minima only; ``ids`` carry over."""
        keep = np.asarray(keep)
        idx = np.flatnonzero(keep) if keep.dtype == bool else np.unique(keep.astype(int))
        new = -np.ones(self.n_minima, dtype=int)
        new[idx] = np.arange(idx.size)
        tk = np.flatnonzero((new[self.ts_minima[:, 0]] >= 0) & (new[self.ts_minima[:, 1]] >= 0))
        return KineticNetwork(
            energies=self.energies[idx], log_product_frequencies=self.log_product_frequencies[idx],
            point_group_orders=self.point_group_orders[idx], n_zero_modes=self.n_zero_modes[idx],
            ids=self.ids[idx], ts_energies=self.ts_energies[tk], ts_minima=new[self.ts_minima[tk]],
            ts_log_product_frequencies=self.ts_log_product_frequencies[tk],
            ts_point_group_orders=self.ts_point_group_orders[tk], ts_ids=self.ts_ids[tk], dim=self.dim)

    def joined_to_global_minimum(self) -> KineticNetwork:
        """The subnetwork of the minima that transition states join to the global minimum (the
        part of a database that kinetics and disconnectivity can speak about)."""
        labels = self.components()
        return self.subnetwork(np.flatnonzero(labels == labels[self.global_minimum]))

    def index_of(self, minimum_id: Any) -> int:
        """Index of the minimum whose id is ``minimum_id``."""
        hits = np.flatnonzero(self.ids == minimum_id)
        if hits.size != 1:
            raise LandscapeError(f"KineticNetwork: no unique minimum with id {minimum_id!r}")
        return int(hits[0])

    def __repr__(self) -> str:
        return (f"KineticNetwork({self.n_minima} minima, {self.n_transition_states} transition states, "
                f"dim={self.dim})")


def from_connect(result: Any, landscape: Any = None) -> KineticNetwork:
    """A network from a :class:`~levinthal.paths.connect.ConnectResult` (its minima and verified
    transition states). With ``landscape``, each minimum's ``log_product_frequencies`` and
    ``n_zero_modes`` come from a dense Hessian with the symmetry's zero modes removed (small
    ``dim`` only); without it they are unknown (NaN), enough for barriers and disconnectivity."""
    energies = [float(e) for _, e in result.minima]
    logp = [np.nan] * len(energies)
    nz = [0] * len(energies)
    if landscape is not None:
        from levinthal.network.hessian_data import stationary_point_data

        for k, (x, _) in enumerate(result.minima):
            d = stationary_point_data(landscape, np.asarray(x, dtype=float), "minimum", dense_limit=math.inf)
            logp[k], nz[k] = d["log_product_frequencies"], d["n_zero_modes"]
    ts = list(result.transition_states)
    dim = int(np.asarray(result.minima[0][0]).size) if result.minima else None
    return KineticNetwork(
        energies=energies, log_product_frequencies=logp, n_zero_modes=nz,
        ts_energies=[float(t.energy) for t in ts],
        ts_minima=np.array([(t.minus, t.plus) for t in ts], dtype=int).reshape(-1, 2),
        ts_log_product_frequencies=[t.log_product_frequencies for t in ts], dim=dim)
