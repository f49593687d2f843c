"""Atomic clusters: Lennard-Jones and Morse pair potentials with compiled kernels.

A cluster of N atoms is the flat coordinate vector ``x`` of shape ``(3N,)`` (float64, atom
``i`` at ``x[3i:3i+3]``), in reduced units: lengths in σ (Lennard-Jones) or r0 (Morse),
energies in ε. Every pair interacts, with no cutoff and no periodic boundaries.

Energies, gradients, exact Hessian-vector products (O(N²), no Hessian formed), dense
Hessians and batched evaluations all run in numba-compiled loops
(:mod:`levinthal.systems._cluster_kernels`). ``kernel`` and ``kernel_params`` expose the
energy+gradient kernel to other nopython code, such as
:func:`levinthal.minimize.compiled_lbfgs.lbfgs_compiled`.

Reference values (Cambridge Cluster Database, Wales et al.): LJ13 global minimum
−44.326801 ε (Mackay icosahedron), LJ38 −173.928427 ε (truncated octahedron); Morse M13 at
ρ = 6: −42.439863 ε (icosahedron; Doye & Wales 1997, J. Chem. Soc. Faraday Trans. 93, 4233).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.landscape import ShapeError
from levinthal.systems import _cluster_kernels as K

__all__ = ["LennardJonesCluster", "MorseCluster", "random_sphere_positions"]

#: Number density of random starting clusters, in atoms per r_e³ (r_e: pair-minimum distance).
#: About 35 % of close packing (√2 / r_e³), close to pele's default starting cube
#: (side 1.4 N^{1/3} σ for Lennard-Jones, 0.36 atoms per σ³ = 0.51 per r_e³).
RANDOM_START_DENSITY = 0.5


def random_sphere_positions(rng: np.random.Generator, n_atoms: int, radius: float) -> np.ndarray:
    """``n_atoms`` points drawn uniformly in a ball of ``radius`` centred at the origin, flat (3N,)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    u = rng.normal(size=(n_atoms, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = radius * rng.random(n_atoms) ** (1.0 / 3.0)
    return (u * r[:, None]).reshape(-1)


class _PairCluster:
    """Shared protocol plumbing; subclasses set ``_kind``, ``kernel``, ``kernel_params``, ``r_e``."""

    _kind: int
    kernel: Any
    kernel_params: np.ndarray
    r_e: float
    name: str

    def __init__(self, n_atoms: int):
        if int(n_atoms) != n_atoms or n_atoms < 2:
            raise ValueError(f"{type(self).__name__}: n_atoms must be an integer >= 2, got {n_atoms!r}")
        self.n_atoms = int(n_atoms)
        self.dim = 3 * self.n_atoms
        self._symmetry = None

    # -- input handling ---------------------------------------------------------------
    def _x(self, x: Any, what: str = "x") -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ShapeError(
                f"{self.name}: {what} has shape {x.shape}, expected ({self.dim},) = 3 × {self.n_atoms} "
                "atoms; flatten positions with positions.reshape(-1)"
            )
        return x

    def _X(self, X: Any) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ShapeError(f"{self.name}: batch has shape {X.shape}, expected (n, {self.dim})")
        return X

    # -- protocol -----------------------------------------------------------------------
    def energy(self, x: np.ndarray) -> float:
        """Potential energy (ε) of the flat configuration ``x`` (3N,)."""
        return float(self._energy_kernel(self._x(x), self.kernel_params))

    def energy_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Energy (ε) and gradient ∂E/∂x, shape (3N,)."""
        e, g = self.kernel(self._x(x), self.kernel_params)
        return float(e), g

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Hessian-vector product H(x) v, shape (3N,); O(N²), the Hessian is never formed."""
        return K.hvp(self._kind, self._x(x), self.kernel_params, self._x(v, "v"))

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Dense analytic Hessian, shape (3N, 3N)."""
        return K.hessian(self._kind, self._x(x), self.kernel_params)

    def energies(self, X: np.ndarray) -> np.ndarray:
        """Energies of the rows of ``X`` (n, 3N) -> (n,), compiled and parallel over rows."""
        return K.batch_energies(self._kind, self._X(X), self.kernel_params)

    def energy_gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energies (n,) and gradients (n, 3N) of the rows of ``X`` (n, 3N)."""
        return K.batch_energy_gradients(self._kind, self._X(X), self.kernel_params)

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        """A random start: atoms uniform in a ball centred at the origin, shape (3N,).

        The radius R = r_e (3N / (4π ρ))^{1/3} with ρ = :data:`RANDOM_START_DENSITY` = 0.5 atoms
        per r_e³ (r_e: the pair-minimum distance) makes the ball about three times the volume
        of the close-packed cluster, as for pele's random starts: atoms rarely overlap badly,
        and a step-limited quench collapses the gas into a compact minimum (R ≈ 2.95 σ for
        LJ38).
        """
        return random_sphere_positions(rng, self.n_atoms, self.random_radius)

    @property
    def random_radius(self) -> float:
        """Radius of the ball used by :meth:`random_point`, in the system's length unit."""
        return self.r_e * (3.0 * self.n_atoms / (4.0 * math.pi * RANDOM_START_DENSITY)) ** (1.0 / 3.0)

    def native_point(self, x: Any) -> np.ndarray:
        """``x`` as a contiguous float64 vector of shape (3N,)."""
        return self._x(x)

    def positions(self, x: np.ndarray) -> np.ndarray:
        """Atom positions, shape (N, 3) (a view of ``x`` when it is already float64)."""
        return self._x(x).reshape(self.n_atoms, 3)

    @property
    def symmetry(self) -> Any:
        """:class:`levinthal.symmetry.clusters.ClusterSymmetry` (translations, rotations,
        permutations), created on first use."""
        if self._symmetry is None:
            from levinthal.symmetry.clusters import ClusterSymmetry

            self._symmetry = ClusterSymmetry(self.n_atoms)
        return self._symmetry


class LennardJonesCluster(_PairCluster):
    """N atoms interacting by V(r) = 4ε[(σ/r)¹² − (σ/r)⁶] (Lennard-Jones 1924).

    Parameters
    ----------
    n_atoms : int
        Number of atoms N ≥ 2; ``dim = 3N``.
    epsilon, sigma : float
        Well depth and length scale (default 1: reduced units). The pair minimum is at
        r_e = 2^{1/6} σ with V(r_e) = −ε.
    """

    _kind = K.LJ
    kernel = staticmethod(K.lj_energy_gradient)
    _energy_kernel = staticmethod(K.lj_energy)

    def __init__(self, n_atoms: int, epsilon: float = 1.0, sigma: float = 1.0):
        super().__init__(n_atoms)
        if not (epsilon > 0 and sigma > 0):
            raise ValueError(f"LennardJonesCluster: epsilon and sigma must be > 0, got {epsilon}, {sigma}")
        self.epsilon = float(epsilon)
        self.sigma = float(sigma)
        self.kernel_params = np.array([self.epsilon, self.sigma])
        self.r_e = 2.0 ** (1.0 / 6.0) * self.sigma
        self.name = f"lj{self.n_atoms}"

    def pair_potential(self, r: Any) -> np.ndarray:
        """V(r) = 4ε[(σ/r)¹² − (σ/r)⁶] elementwise for distances ``r`` (any shape), in ε."""
        s6 = (self.sigma / np.asarray(r, dtype=np.float64)) ** 6
        return 4.0 * self.epsilon * (s6 * s6 - s6)

    def __repr__(self) -> str:
        return f"LennardJonesCluster({self.n_atoms}, epsilon={self.epsilon}, sigma={self.sigma})"


class MorseCluster(_PairCluster):
    """N atoms interacting by V(r) = ε e^{ρ(1−r/r0)} (e^{ρ(1−r/r0)} − 2) (Morse 1929).

    The range parameter ρ sets the width of the well: ρ = 6 resembles Lennard-Jones, large
    ρ gives short-ranged, sticky potentials (Doye & Wales 1997).

    Parameters
    ----------
    n_atoms : int
        Number of atoms N ≥ 2; ``dim = 3N``.
    rho : float
        Range parameter (default 6).
    epsilon, r0 : float
        Well depth and pair-minimum distance (default 1: reduced units); V(r0) = −ε.
    """

    _kind = K.MORSE
    kernel = staticmethod(K.morse_energy_gradient)
    _energy_kernel = staticmethod(K.morse_energy)

    def __init__(self, n_atoms: int, rho: float = 6.0, epsilon: float = 1.0, r0: float = 1.0):
        super().__init__(n_atoms)
        if not (rho > 0 and epsilon > 0 and r0 > 0):
            raise ValueError(f"MorseCluster: rho, epsilon and r0 must be > 0, got {rho}, {epsilon}, {r0}")
        self.rho = float(rho)
        self.epsilon = float(epsilon)
        self.r0 = float(r0)
        self.kernel_params = np.array([self.epsilon, self.rho, self.r0])
        self.r_e = self.r0
        self.name = f"morse{self.n_atoms}:{self.rho:g}"

    def pair_potential(self, r: Any) -> np.ndarray:
        """V(r) = ε e^{ρ(1−r/r0)} (e^{ρ(1−r/r0)} − 2) elementwise for distances ``r``, in ε."""
        e = np.exp(self.rho * (1.0 - np.asarray(r, dtype=np.float64) / self.r0))
        return self.epsilon * e * (e - 2.0)

    def __repr__(self) -> str:
        return f"MorseCluster({self.n_atoms}, rho={self.rho}, epsilon={self.epsilon}, r0={self.r0})"
