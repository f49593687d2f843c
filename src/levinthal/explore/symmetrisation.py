"""Symmetrisation moves for cluster global optimisation: complete the orbits of a symmetric core.

Low-energy clusters are disproportionately symmetric, because a structure with a non-trivial
point group sits at a point where the energy is stationary with respect to symmetry-breaking
distortions, and such points are more likely to be extremes of the energy (Wales 1998, Chem.
Phys. Lett. 285, 330). Oakley, Johnston & Wales (2013, Phys. Chem. Chem. Phys. 15, 3965) turned
this into a move for basin-hopping and genetic algorithms: find the approximate point group of
the cluster's *core*, then rebuild the outer atoms as complete orbits of that group. On the
double-funnel LJ38, LJ75 and LJ98 landscapes this cut the mean time to the global minimum by up
to two orders of magnitude (GMIN: 37 quenches for LJ38, against about 2,800 with plain moves).

This module implements that idea from the paper's description, in our own way:

1. **Cores.** The atoms are sorted by distance from the centroid; for every core size m in
   ``[min_core, max_core]`` that falls between radial shells (the next atom is at least
   ``shell_gap`` farther out), the point group of the m innermost atoms is found with the loose
   tolerance ``core_tol`` (:func:`levinthal.symmetry.point_group.point_group_operations`: every
   orthogonal R mapping the core onto itself atom for atom within ``core_tol``). Cores whose
   group has at least ``min_order`` operations are candidates; one is drawn with probability
   proportional to its group order (large groups constrain more and pay off more).
2. **Orbits.** Every operation of the core's group is applied to every outer atom (about the
   core's centroid); the images of one atom, merged within ``site_tol``, are that atom's orbit.
   Orbits that contain another outer atom's position are the same orbit and kept once.
3. **Completion.** Starting from the core, whole orbits are added greedily, each time the one
   with the lowest pair energy per atom against what is already placed (plus Gaussian noise of
   ``noise`` ε per atom, so repeated moves explore different fillings), skipping orbits that are
   larger than the atoms left or that would put two atoms closer than ``overlap`` r_e. Atoms
   left over go one by one to the remaining orbit sites of lowest insertion energy, and if
   those run out, to random sites just outside the cluster.
4. **Twinning** (a fraction ``twin`` of the moves, default 0.2): instead of completing orbits,
   one half of the cluster is reflected onto the other across the plane through the core's
   centre perpendicular to one of its highest-order rotation axes. Orbit completion keeps the
   core's point group, so from an icosahedral core it only ever builds icosahedral structures;
   across a five-fold plane the twin turns the icosahedral core into a decahedral one (Ino
   1969), whose orbits later completions can fill: a way towards decahedral structures such
   as the LJ75 global minimum (``benchmarks/bench_lj75_global_minimum.py`` measures whether
   it gets there).

The result is recentred; the quench that follows does the rest. The move needs a pair
potential (``landscape.pair_potential(r)``, as :class:`~levinthal.systems.clusters.LennardJonesCluster`
and :class:`~levinthal.systems.clusters.MorseCluster` provide) for the orbit energies.

:class:`SymmetrisingStep` mixes it into any step-taker: with probability ``probability`` a step
is a symmetrisation of the current structure, otherwise (or when no core has a group of order
≥ ``min_order``) the base step.

Units: lengths in the landscape's length unit; ``core_tol``, ``site_tol`` and ``overlap`` are
given as fractions of the pair-minimum distance r_e.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.explore.steps import ClusterStep, StepTaker
from levinthal.explore.steps import _positions as step_positions
from levinthal.symmetry.point_group import point_group_operations

__all__ = ["OrbitCompletion", "SymmetricCore", "SymmetrisingStep"]


@dataclass(frozen=True)
class SymmetricCore:
    """A core found by :meth:`OrbitCompletion.cores`: ``atoms`` (indices, innermost first), the
    approximate point group ``operations`` (each (3, 3), about ``centre``) and its ``order``."""

    atoms: np.ndarray
    operations: np.ndarray
    centre: np.ndarray

    @property
    def order(self) -> int:
        return len(self.operations)


@dataclass
class OrbitCompletion:
    """Core point group + orbit completion (Oakley, Johnston & Wales 2013); module docstring.

    Parameters
    ----------
    landscape
        An atomic cluster with ``n_atoms``, ``r_e`` and a vectorised ``pair_potential(r)``.
    core_tol : float
        Tolerance of the core's point group, in r_e (default 0.25).
    min_order : int
        Smallest group order worth symmetrising to (default 4).
    min_core, max_core : int
        Core sizes tried (default 5 to N/2).
    shell_gap : float
        A core boundary must fall where the next atom is at least this much (r_e) farther from
        the centroid (default 0.04), so cores are not cut through a shell.
    site_tol : float
        Images closer than this (r_e) are one site (default 0.25).
    overlap : float
        No two placed atoms closer than this (r_e) (default 0.8).
    noise : float
        Standard deviation (ε per atom) of the noise added to orbit energies when choosing the
        next orbit (default 0.05).
    choose : {"order", "energy"}
        Which core to complete: ``"order"`` draws one with probability proportional to its
        group order (default; the best in our LJ38 scans); ``"energy"`` completes every core
        and returns the completion of lowest (unquenched) energy.
    cache_size : int
        Structures whose cores are remembered (default 64).
    twin : float
        Fraction of calls that twin the cluster across a plane perpendicular to a rotation
        axis of a (uniformly drawn) core instead of completing orbits (:meth:`twin_across`;
        default 0.2: as good as 0 on LJ38, and needed to reach decahedra from icosahedral cores).
    """

    landscape: Any
    core_tol: float = 0.25
    min_order: int = 4
    min_core: int = 5
    max_core: int | None = None
    shell_gap: float = 0.04
    site_tol: float = 0.25
    overlap: float = 0.8
    noise: float = 0.05
    choose: str = "order"
    cache_size: int = 64
    twin: float = 0.2
    n_atoms: int = field(init=False)
    r_e: float = field(init=False)

    def __post_init__(self) -> None:
        n = getattr(self.landscape, "n_atoms", None)
        if n is None or 3 * int(n) != int(self.landscape.dim):
            raise ValueError("OrbitCompletion needs an atomic cluster landscape (n_atoms with dim = 3 "
                             f"n_atoms); {getattr(self.landscape, 'name', self.landscape)!r} has none")
        if not callable(getattr(self.landscape, "pair_potential", None)):
            raise ValueError(f"OrbitCompletion needs landscape.pair_potential(r) for orbit energies; "
                             f"{getattr(self.landscape, 'name', self.landscape)!r} has none")
        self.n_atoms = int(n)
        self._cache: OrderedDict[bytes, list[SymmetricCore]] = OrderedDict()
        self.r_e = float(getattr(self.landscape, "r_e", 1.0))
        if self.max_core is None:
            self.max_core = self.n_atoms // 2
        if not 3 <= self.min_core <= self.max_core < self.n_atoms:
            raise ValueError("OrbitCompletion: need 3 <= min_core <= max_core < n_atoms, got "
                             f"{self.min_core}, {self.max_core}, {self.n_atoms}")
        for name in ("core_tol", "site_tol", "overlap"):
            if not getattr(self, name) > 0:
                raise ValueError(f"OrbitCompletion: {name} must be > 0, got {getattr(self, name)}")
        if not 0 <= self.twin <= 1:
            raise ValueError(f"OrbitCompletion: twin must be in [0, 1], got {self.twin}")
        if self.choose not in ("order", "energy"):
            raise ValueError(f"OrbitCompletion: choose must be 'order' or 'energy', got {self.choose!r}")
        if self.min_order < 2:
            raise ValueError(f"OrbitCompletion: min_order must be >= 2, got {self.min_order}")

    # -- step 1: symmetric cores --------------------------------------------------------
    def cores(self, x: Any) -> list[SymmetricCore]:
        """Every core of ``x`` (shape (3N,)) whose approximate point group has order ≥ min_order.

        The answer for the last ``cache_size`` structures is remembered: a population member or
        a basin-hopping walker is symmetrised again and again while it survives."""
        pos = _positions(x, self.n_atoms)
        key = pos.tobytes()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        found = self._find_cores(pos)
        self._cache[key] = found
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found

    def _find_cores(self, pos: np.ndarray) -> list[SymmetricCore]:
        r = np.linalg.norm(pos - pos.mean(axis=0), axis=1)
        order = np.argsort(r, kind="stable")
        found = []
        for m in range(self.min_core, int(self.max_core) + 1):
            if r[order[m]] - r[order[m - 1]] < self.shell_gap * self.r_e:
                continue
            atoms = order[:m]
            ops = point_group_operations(pos[atoms].reshape(-1), tol=self.core_tol * self.r_e)
            if ops is not None and len(ops) >= self.min_order:
                found.append(SymmetricCore(atoms=atoms, operations=np.asarray(ops),
                                           centre=pos[atoms].mean(axis=0)))
        return found

    # -- steps 2 and 3: orbits and their completion -------------------------------------
    def orbits(self, x: Any, core: SymmetricCore) -> list[np.ndarray]:
        """Distinct orbits (each (k, 3), about the core's centre) of the atoms outside ``core``."""
        pos = _positions(x, self.n_atoms) - core.centre
        outer = pos[np.setdiff1d(np.arange(self.n_atoms), core.atoms)]
        tol2 = (self.site_tol * self.r_e) ** 2
        orbits, covered = [], np.zeros(len(outer), dtype=bool)
        for a in range(len(outer)):  # one orbit at a time: atoms on it are not visited again
            if covered[a]:
                continue
            images = core.operations @ outer[a]  # (g, 3)
            d2 = ((images[:, None, :] - images[None, :, :]) ** 2).sum(axis=2)
            first = np.argmax(d2 < tol2, axis=1)  # keep an image unless an earlier one coincides
            orbit = images[first == np.arange(len(images))]
            covered |= (((outer[:, None, :] - orbit[None, :, :]) ** 2).sum(axis=2) < tol2).any(axis=1)
            orbits.append(orbit)
        return orbits

    def complete(self, x: Any, core: SymmetricCore, rng: np.random.Generator) -> np.ndarray:
        """The core plus outer atoms rebuilt as whole orbits of its group; shape (3N,), centred."""
        pos = _positions(x, self.n_atoms)
        V = self.landscape.pair_potential
        min_d = self.overlap * self.r_e
        placed = [pos[core.atoms] - core.centre]
        left = self.n_atoms - len(core.atoms)
        orbits = self.orbits(x, core)
        if not orbits:
            return _recentred(placed[0])
        sizes = np.array([len(o) for o in orbits])
        owner = np.repeat(np.arange(len(orbits)), sizes)  # site -> its orbit
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        sites = np.concatenate(orbits)
        floor = 1e-3 * self.r_e  # keeps V finite for a site's distance to itself

        def distances(points: np.ndarray) -> np.ndarray:  # (n_sites, len(points))
            return np.sqrt(((sites[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))

        d = distances(placed[0])
        acc = V(d).sum(axis=1)  # each site's pair energy with everything placed so far
        nearest = d.min(axis=1)  # each site's distance to the nearest placed atom
        internal, usable = np.zeros(len(orbits)), np.ones(len(orbits), dtype=bool)
        for j, o in enumerate(orbits):  # energy within each orbit, and whether its sites keep apart
            if len(o) > 1:
                dd = np.sqrt(((o[:, None] - o[None]) ** 2).sum(axis=2))[np.triu_indices(len(o), 1)]
                internal[j] = V(dd).sum()
                usable[j] = dd.min() >= min_d
        taken = np.zeros(len(sites), dtype=bool)
        while left > 0:
            fits = usable & (sizes <= left) & (np.minimum.reduceat(nearest, starts) >= min_d)
            if not fits.any():
                break
            e = (np.add.reduceat(acc, starts) + internal) / sizes + self.noise * rng.normal(size=len(sizes))
            j = int(np.argmin(np.where(fits, e, np.inf)))
            idx = np.flatnonzero(owner == j)
            placed.append(sites[idx])
            taken[idx] = True
            usable[j] = False
            d = distances(sites[idx])
            acc += V(np.maximum(d, floor)).sum(axis=1)
            nearest = np.minimum(nearest, d.min(axis=1))
            left -= len(idx)
        while left > 0:  # single sites of the unused orbits, lowest insertion energy first
            free = ~taken & (nearest >= min_d)
            if not free.any():
                break
            j = int(np.argmin(np.where(free, acc, np.inf)))
            placed.append(sites[j:j + 1])
            taken[j] = True
            d = distances(sites[j:j + 1])[:, 0]
            acc += V(np.maximum(d, floor))
            nearest = np.minimum(nearest, d)
            left -= 1
        return _recentred(_fill_outside(np.concatenate(placed), self.n_atoms, self.r_e, rng))

    def twin_across(self, x: Any, core: SymmetricCore, rng: np.random.Generator) -> np.ndarray:
        """Reflect one half of the cluster onto the other across a plane through the core's
        centre perpendicular to one of its highest-order rotation axes; shape (3N,), centred.

        Across the plane perpendicular to a five-fold axis of an icosahedral core this turns it
        into a decahedral one (Ino 1969: a decahedron is a twinned icosahedral fragment), the
        way into the decahedral funnel of LJ75 that orbit completion of an icosahedral core
        alone never takes. Atoms within ``site_tol`` of the plane stay; the kept half (chosen at
        random) is reflected; surplus atoms are dropped outermost first, missing ones are put
        back from the discarded half where they keep ``overlap`` apart (lowest pair energy
        first), then just outside the cluster."""
        pos = _positions(x, self.n_atoms) - core.centre
        normal = _highest_axis(core.operations, rng)
        s = pos @ normal
        near = np.abs(s) < self.site_tol * self.r_e
        side = 1.0 if rng.random() < 0.5 else -1.0
        kept = pos[(side * s) >= self.site_tol * self.r_e]
        out = np.concatenate([pos[near], kept, kept - 2.0 * np.outer(kept @ normal, normal)])
        if len(out) > self.n_atoms:
            out = out[np.argsort(np.linalg.norm(out, axis=1), kind="stable")[: self.n_atoms]]
        rest = pos[(side * s) <= -self.site_tol * self.r_e]
        V, min_d = self.landscape.pair_potential, self.overlap * self.r_e
        while len(out) < self.n_atoms and len(rest):
            d = np.sqrt(((rest[:, None] - out[None]) ** 2).sum(axis=2))
            free = d.min(axis=1) >= min_d
            if not free.any():
                break
            e = np.where(free, V(np.maximum(d, min_d)).sum(axis=1), np.inf)
            j = int(np.argmin(e))
            out = np.concatenate([out, rest[j:j + 1]])
            rest = np.delete(rest, j, axis=0)
        return _recentred(_fill_outside(out, self.n_atoms, self.r_e, rng))

    def __call__(self, x: Any, rng: np.random.Generator) -> np.ndarray | None:
        """A symmetrised structure from ``x`` (3N,), or None when no core has a group of order
        ≥ ``min_order``. The core is drawn with probability proportional to its group order."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"OrbitCompletion needs a numpy.random.Generator, got {type(rng).__name__}")
        cores = self.cores(x)
        if not cores:
            return None
        if self.twin and rng.random() < self.twin:
            return self.twin_across(x, cores[int(rng.integers(len(cores)))], rng)
        if self.choose == "order":
            w = np.array([c.order for c in cores], dtype=float)
            core = cores[int(rng.choice(len(cores), p=w / w.sum()))]
            return self.complete(x, core, rng)
        best, best_e = None, math.inf
        for core in cores:
            y = self.complete(x, core, rng)
            e = float(self.landscape.energy(y))
            if e < best_e:
                best, best_e = y, e
        return best


@dataclass
class SymmetrisingStep:
    """A step-taker: with probability ``probability`` the symmetrisation ``symmetrise`` of the
    current structure, otherwise (and whenever it finds no symmetric core) ``base``.

    ``attempts`` and ``applied`` count symmetrisations tried and made (not checkpointed: they
    describe this process's share of a run). Default base: :class:`ClusterStep` (uniform cube
    displacement of every atom, recentred).
    """

    symmetrise: OrbitCompletion
    probability: float = 0.1
    base: StepTaker | None = None
    attempts: int = 0
    applied: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            raise ValueError(f"SymmetrisingStep: probability must be in [0, 1], got {self.probability}")
        if self.base is None:
            self.base = ClusterStep(self.symmetrise.n_atoms)

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.probability:
            self.attempts += 1
            out = self.symmetrise(x, rng)
            if out is not None:
                self.applied += 1
                return out
        return self.base(x, stepsize, rng)


def _highest_axis(operations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit axis of a proper rotation of smallest non-zero angle (highest order) among
    ``operations`` (g, 3, 3), ties drawn at random; a random direction if there is none."""
    proper = operations[np.linalg.det(operations) > 0]
    angle = np.arccos(np.clip((np.trace(proper, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
    turning = angle > 1e-3
    if not turning.any():
        u = rng.normal(size=3)
        return u / np.linalg.norm(u)
    smallest = angle[turning].min()
    pick = np.flatnonzero(turning & (angle < smallest + 0.05))
    R = proper[int(pick[rng.integers(pick.size)])]
    w, v = np.linalg.eig(R)
    axis = np.real(v[:, int(np.argmin(np.abs(w - 1.0)))])
    return axis / np.linalg.norm(axis)


def _recentred(pos: np.ndarray) -> np.ndarray:
    return (pos - pos.mean(axis=0)).reshape(-1)


def _fill_outside(out: np.ndarray, n_atoms: int, r_e: float, rng: np.random.Generator) -> np.ndarray:
    """``out`` (k, 3) topped up to ``n_atoms`` rows: each new atom r_e beyond the cluster's
    extent along a random direction."""
    while len(out) < n_atoms:
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        out = np.concatenate([out, (u * ((out @ u).max() + r_e))[None]])
    return out


def _positions(x: Any, n_atoms: int) -> np.ndarray:
    pos = step_positions(x, n_atoms, "symmetrisation")
    if not np.all(np.isfinite(pos)):
        raise ValueError("symmetrisation: x has non-finite coordinates")
    return pos
