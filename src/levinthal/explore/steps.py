"""Step-takers for basin-hopping and population search, and the adaptive step-size controller.

A step-taker is a callable ``step(x, stepsize, rng) -> x_new`` on a flat vector ``x`` of shape
``(dim,)`` (NumPy, float64); it never modifies ``x`` and draws all its randomness from the
``numpy.random.Generator`` it is given, so a seeded search is reproducible. The step size is
an argument rather than state, so a search keeps one step size per walker, adapts it, and
checkpoints it with the walkers.

* :class:`RandomDisplacement` — every coordinate block moved uniformly in a cube
  (``shape="cube"``, each coordinate in [−s, s], as GMIN and pele) or in a ball of radius s
  per atom (``shape="sphere"``); the plain move of basin-hopping (Li & Scheraga 1987,
  Wales & Doye 1997).
* :class:`ClusterStep` — the same for atomic clusters, plus what a cluster needs: recentre at
  the centre of mass, an optional random rotation, and atoms that evaporated beyond the
  container radius put back inside it (GMIN's spherical container).
* :class:`SurfaceMove` — a directed cluster move: the most weakly bound atoms (fewest
  neighbours) are moved to the best of several random sites on the cluster surface (the
  "surface operator" of Takeuchi 2006, J. Chem. Inf. Model. 46, 2066, in the spirit of the
  angular moves of Doye & Wales 1998 and the surface-site moves of dynamic lattice search,
  Shao, Cheng, Huang & Wang 2004).
* :class:`GaussianStep` — for flat parameter vectors (networks): x + s · scale · N(0, 1),
  ``scale`` per parameter (e.g. the parameters' own magnitudes).
* :class:`AdaptiveStepSize` — GMIN / pele style: every ``interval`` trials the step size is
  multiplied by ``factor`` if the acceptance ratio fell below ``target``, divided by it if
  above, so the ratio settles near ``target``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

__all__ = ["AdaptiveStepSize", "ClusterStep", "GaussianStep", "RandomDisplacement", "StepTaker",
           "SurfaceMove", "random_rotation_matrix"]


class StepTaker(Protocol):
    """``step(x, stepsize, rng) -> x_new``: x, x_new shape ``(dim,)``; x is not modified."""

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray: ...


def _check_rng(rng: Any) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"step-takers need a numpy.random.Generator, got {type(rng).__name__}")


def _check_stepsize(stepsize: float) -> None:
    if not (math.isfinite(stepsize) and stepsize > 0):
        raise ValueError(f"step size must be a positive finite number, got {stepsize!r}")


def random_rotation_matrix(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix (3, 3) uniform on SO(3): QR of a Gaussian matrix with the sign fix of
    Mezzadri 2007 (Notices AMS 54, 592), determinant forced to +1."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _displacements(rng: np.random.Generator, n_blocks: int, block: int, stepsize: float,
                   shape: str) -> np.ndarray:
    if shape == "cube":
        return rng.uniform(-stepsize, stepsize, size=(n_blocks, block))
    if shape == "sphere":
        u = rng.normal(size=(n_blocks, block))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = stepsize * rng.random(n_blocks) ** (1.0 / block)
        return u * r[:, None]
    raise ValueError(f"shape must be 'cube' or 'sphere', got {shape!r}")


@dataclass
class RandomDisplacement:
    """Uniform random displacement of every coordinate block of ``block`` numbers (3 for atoms).

    ``shape="cube"``: each coordinate uniform in [−s, s]; ``"sphere"``: each block uniform in
    a ball of radius s. ``dim`` must be a multiple of ``block``.
    """

    shape: str = "cube"
    block: int = 3

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray:
        _check_rng(rng)
        _check_stepsize(stepsize)
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or x.size % self.block:
            raise ValueError(f"RandomDisplacement: x of shape {x.shape} is not a flat vector of blocks of "
                             f"{self.block}")
        d = _displacements(rng, x.size // self.block, self.block, stepsize, self.shape)
        return x + d.reshape(-1)


@dataclass
class ClusterStep:
    """Random displacement of every atom of a 3-D cluster, then cluster housekeeping.

    Parameters
    ----------
    n_atoms : int
        Atoms; x has shape (3 n_atoms,).
    shape : {"cube", "sphere"}
        Per-atom displacement region (see :class:`RandomDisplacement`).
    recentre : bool
        Translate the centre of mass to the origin after the move (default True).
    rotate : bool
        Apply a uniformly random rotation about the centre of mass (default False; it changes
        nothing physical but decorrelates the frame).
    container_radius : float or None
        Atoms farther than this from the centre of mass are put back on the sphere of this
        radius, at a random depth inside it (GMIN's container). None: no container.
    """

    n_atoms: int
    shape: str = "cube"
    recentre: bool = True
    rotate: bool = False
    container_radius: float | None = None

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray:
        _check_rng(rng)
        _check_stepsize(stepsize)
        pos = _positions(x, self.n_atoms, "ClusterStep")
        pos = pos + _displacements(rng, self.n_atoms, 3, stepsize, self.shape)
        return self._finish(pos, rng).reshape(-1)

    def _finish(self, pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        com = pos.mean(axis=0)
        pos = pos - com
        if self.rotate:
            pos = pos @ random_rotation_matrix(rng).T
        if self.container_radius is not None:
            pos = put_back(pos, self.container_radius, rng)
        if not self.recentre:
            pos = pos + com
        return pos


def put_back(pos: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Atoms of ``pos`` (N, 3, centred) beyond ``radius`` moved radially to a random distance
    in [0.8, 1] × radius (evaporated atoms returned to the container)."""
    r = np.linalg.norm(pos, axis=1)
    out = r > radius
    if out.any():
        pos = pos.copy()
        scale = radius * rng.uniform(0.8, 1.0, size=int(out.sum())) / r[out]
        pos[out] *= scale[:, None]
    return pos


def _positions(x: Any, n_atoms: int, who: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (3 * n_atoms,):
        raise ValueError(f"{who}: x has shape {x.shape}, expected ({3 * n_atoms},) = 3 × {n_atoms} atoms")
    return x.reshape(n_atoms, 3)


@dataclass
class SurfaceMove:
    """Move the ``n_move`` most weakly bound atoms to good sites on the cluster surface.

    Surface operator of Takeuchi (2006, J. Chem. Inf. Model. 46, 2066), related to the
    angular moves of Doye & Wales (1998, New J. Chem. 22, 733): for each moved atom (the atom
    with the fewest neighbours within ``neighbour_cutoff`` r_e, ties broken at random), draw
    ``n_candidates`` random directions; each candidate site lies along its direction just
    outside the cluster (at the largest projection of any other atom on that direction plus
    ``r_e``, the pair-minimum distance); the site with the lowest total energy is taken.
    Energies come from ``landscape.energy`` (one compiled call each for clusters), so the
    move is cheap next to the quench that follows. ``stepsize`` is the amplitude of a small
    random displacement applied to all atoms first (so the adaptive controller still has a
    knob); with ``stepsize`` ≤ ``jiggle_floor`` no displacement is applied.

    Recentres the result at the centre of mass.
    """

    landscape: Any
    n_move: int = 1
    n_candidates: int = 12
    neighbour_cutoff: float = 1.35
    jiggle_floor: float = 0.0
    r_e: float = field(default=float("nan"))

    def __post_init__(self) -> None:
        n = getattr(self.landscape, "n_atoms", None)
        if n is None or 3 * int(n) != int(self.landscape.dim):
            raise ValueError(f"SurfaceMove needs an atomic cluster landscape (n_atoms with dim = 3 n_atoms); "
                             f"{getattr(self.landscape, 'name', self.landscape)!r} has none")
        self.n_atoms = int(n)
        if not math.isfinite(self.r_e):
            self.r_e = float(getattr(self.landscape, "r_e", 2.0 ** (1.0 / 6.0)))
        if not (1 <= self.n_move < self.n_atoms):
            raise ValueError(f"SurfaceMove: n_move must be in [1, {self.n_atoms - 1}], got {self.n_move}")
        if self.n_candidates < 1:
            raise ValueError(f"SurfaceMove: n_candidates must be >= 1, got {self.n_candidates}")

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray:
        _check_rng(rng)
        pos = _positions(x, self.n_atoms, "SurfaceMove").copy()
        pos -= pos.mean(axis=0)
        if stepsize > self.jiggle_floor:
            pos += _displacements(rng, self.n_atoms, 3, stepsize, "cube")
        cut2 = (self.neighbour_cutoff * self.r_e) ** 2
        for _ in range(self.n_move):
            d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
            coordination = (d2 < cut2).sum(axis=1) - 1
            weakest = np.flatnonzero(coordination == coordination.min())
            i = int(weakest[rng.integers(weakest.size)])
            others = np.delete(pos, i, axis=0)
            u = rng.normal(size=(self.n_candidates, 3))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            reach = (others @ u.T).max(axis=0)  # farthest extent of the cluster along each direction
            best_e, best_site = math.inf, pos[i]
            for c in range(self.n_candidates):
                pos[i] = u[c] * (reach[c] + self.r_e)
                e = float(self.landscape.energy(pos.reshape(-1)))
                if e < best_e:
                    best_e, best_site = e, pos[i].copy()
            pos[i] = best_site
        pos -= pos.mean(axis=0)
        return pos.reshape(-1)


@dataclass
class GaussianStep:
    """x + stepsize · scale ⊙ ξ with ξ ~ N(0, I): a step for flat parameter vectors.

    ``scale``: None (1 for every coordinate), a float, or an array of shape (dim,) — e.g.
    ``np.abs(x0) + 1e-3`` to move each network parameter relative to its magnitude.
    """

    scale: Any = None

    def __call__(self, x: np.ndarray, stepsize: float, rng: np.random.Generator) -> np.ndarray:
        _check_rng(rng)
        _check_stepsize(stepsize)
        x = np.asarray(x, dtype=np.float64)
        scale = 1.0 if self.scale is None else np.asarray(self.scale, dtype=np.float64)
        if np.ndim(scale) and np.shape(scale) != x.shape:
            raise ValueError(f"GaussianStep: scale has shape {np.shape(scale)}, x has {x.shape}")
        return x + stepsize * scale * rng.normal(size=x.shape)


@dataclass
class AdaptiveStepSize:
    """Step-size control towards a target acceptance ratio (GMIN; pele's ``AdaptiveStepsize``).

    Every ``interval`` trials of a walker, its step size is multiplied by ``factor`` (< 1) if
    the fraction accepted in that interval was below ``target`` and divided by ``factor`` if
    it was above; clipped to [``min_stepsize``, ``max_stepsize``]. State per walker (trials
    and acceptances in the current interval) is kept by the search and checkpointed with it.
    """

    target: float = 0.5
    factor: float = 0.9
    interval: int = 10
    min_stepsize: float = 1e-4
    max_stepsize: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.target < 1:
            raise ValueError(f"AdaptiveStepSize: target must be in (0, 1), got {self.target}")
        if not 0 < self.factor < 1:
            raise ValueError(f"AdaptiveStepSize: factor must be in (0, 1), got {self.factor}")
        if self.interval < 1:
            raise ValueError(f"AdaptiveStepSize: interval must be >= 1, got {self.interval}")

    def update(self, stepsize: np.ndarray, trials: np.ndarray, accepted: np.ndarray) -> None:
        """In place: walkers whose ``trials`` reached ``interval`` get a new ``stepsize`` and
        their counters reset. Arrays shape (n_walkers,)."""
        due = trials >= self.interval
        if not due.any():
            return
        ratio = accepted[due] / trials[due]
        new = np.where(ratio > self.target, stepsize[due] / self.factor, stepsize[due] * self.factor)
        stepsize[due] = np.clip(new, self.min_stepsize, self.max_stepsize)
        trials[due] = 0
        accepted[due] = 0
