"""Gene circuits as stochastic dynamical systems, and the landscapes they induce.

A gene circuit is not a landscape: its deterministic dynamics dx/dt = f(x) is in general not
a gradient flow, f ≠ −∇V. This module gives circuits a small protocol of their own
(:class:`DynamicalSystem`: ``name``, ``dim``, ``drift(x)``, ``jacobian(x)``) and the tools of
the landscape-and-flux picture (Wang, Xu & Wang, PNAS 105, 12271 (2008)):

* the stochastic dynamics dX = f(X) dt + √(2D) dW (additive noise of strength D; with this
  convention a gradient drift f = −∇V has the stationary density exp(−V/D)/Z);
* the stationary density P_ss of its Fokker–Planck equation ∂P/∂t = −∇·(fP − D∇P) on a
  rectangular grid (:func:`stationary_density`), the quasi-potential U = −ln P_ss, and the
  decomposition f = −D∇U + J_ss/P_ss into a gradient part and the probability-flux part
  that no potential explains (zero for gradient systems);
* the curl ∂f_y/∂x − ∂f_x/∂y of a 2-D drift (zero everywhere iff f is locally a gradient),
  and :func:`gradient_test` over a grid;
* fixed points by root finding from a grid, classified by the Jacobian's eigenvalues;
* Euler–Maruyama trajectories (:func:`simulate`) and first-passage times
  (:func:`first_passage_times`) for noise-induced switching.

:class:`ToggleSwitch` is the two-gene mutual-repression circuit with self-activation of
Huang, Guo, May & Enver, Dev. Biol. 305, 695 (2007) (bipotent progenitor cells; the gene
pair GATA1/PU.1), with an external signal ``s`` that adds to the production of gene x:

    dx/dt = a xⁿ/(Sⁿ + xⁿ) + b Sⁿ/(Sⁿ + yⁿ) − k x + s
    dy/dt = a yⁿ/(Sⁿ + yⁿ) + b Sⁿ/(Sⁿ + xⁿ) − k y.

Defaults a = 0.5, b = k = 1, S = 0.5, n = 4, s = 0: two stable nodes (one gene high, the
other low) and one saddle on the diagonal x = y; a = 1 is Huang et al.'s tristable case
(a third, progenitor attractor on the diagonal). Raising s tilts the landscape towards high x
until the node with low x collides with the saddle in a saddle-node bifurcation
(:meth:`ToggleSwitch.saddle_node`) and one fate disappears.

Concentrations are non-negative: grids start at 0 and :func:`simulate` reflects at 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import RectBivariateSpline
from scipy.optimize import root
from scipy.sparse.linalg import spsolve

from levinthal.landscape import LandscapeError, ShapeError

__all__ = [
    "DynamicalSystem",
    "FirstPassage",
    "FixedPoint",
    "GradientDrift",
    "GradientTest",
    "Grid2D",
    "QuasiPotentialLandscape",
    "SaddleNode",
    "StationaryDensity",
    "ToggleSwitch",
    "curl",
    "first_passage_times",
    "fixed_points",
    "gradient_test",
    "quasi_potential_landscape",
    "simulate",
    "stationary_density",
]


@runtime_checkable
class DynamicalSystem(Protocol):
    """Deterministic part dx/dt = f(x) of a (stochastic) dynamical system.

    ``drift(X)`` takes a point (dim,) or a batch (n, dim) and returns the same shape;
    ``jacobian(X)`` returns ∂f_i/∂x_j, shape (dim, dim) or (n, dim, dim).
    """

    name: str
    dim: int

    def drift(self, x: Any) -> np.ndarray: ...

    def jacobian(self, x: Any) -> np.ndarray: ...


def _points(system: Any, x: Any) -> tuple[np.ndarray, bool]:
    """``x`` as a float64 batch (n, dim) and whether it was a single point."""
    X = np.asarray(x, dtype=np.float64)
    single = X.ndim == 1
    X = np.atleast_2d(X)
    if X.ndim != 2 or X.shape[1] != system.dim:
        raise ShapeError(f"{system.name}: points have shape {np.shape(x)}, expected ({system.dim},) or "
                         f"(n, {system.dim})")
    return X, single


# -----------------------------------------------------------------------------------------
# Systems
# -----------------------------------------------------------------------------------------
@dataclass
class ToggleSwitch:
    """Two-gene mutual repression with self-activation (Huang et al. 2007); see module docstring.

    Parameters
    ----------
    a : float
        Self-activation strength (default 0.5; 1.0 gives Huang et al.'s tristable switch).
    b : float
        Mutual-repression strength (default 1).
    k : float
        First-order degradation rate (default 1; sets the time unit).
    S : float
        Hill threshold, the same for activation and repression (default 0.5).
    n : float
        Hill coefficient (default 4).
    signal : float
        External signal s added to the production of gene x (default 0; s > 0 favours x).
    """

    a: float = 0.5
    b: float = 1.0
    k: float = 1.0
    S: float = 0.5
    n: float = 4.0
    signal: float = 0.0
    name: str = field(default="toggle-switch")
    dim: int = field(default=2, init=False)

    def __post_init__(self) -> None:
        if not (self.a >= 0 and self.b >= 0 and self.k > 0 and self.S > 0 and self.n >= 1):
            raise ValueError(f"ToggleSwitch: need a, b >= 0, k, S > 0 and n >= 1; got a={self.a}, "
                             f"b={self.b}, k={self.k}, S={self.S}, n={self.n}")

    def with_signal(self, signal: float) -> ToggleSwitch:
        """The same circuit with external signal ``signal``."""
        return ToggleSwitch(self.a, self.b, self.k, self.S, self.n, float(signal), self.name)

    def _hill(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Activating Hill function uⁿ/(Sⁿ + uⁿ) and its derivative (|u| used below 0)."""
        un = np.abs(u) ** self.n
        sn = self.S ** self.n
        act = un / (sn + un)
        dact = self.n * sn * np.sign(u) * np.abs(u) ** (self.n - 1) / (sn + un) ** 2
        return act, dact

    def drift(self, x: Any) -> np.ndarray:
        """f(x), shape like ``x`` ((2,) or (m, 2))."""
        X, single = _points(self, x)
        ax, _ = self._hill(X[:, 0])
        ay, _ = self._hill(X[:, 1])
        fx = self.a * ax + self.b * (1.0 - ay) - self.k * X[:, 0] + self.signal
        fy = self.a * ay + self.b * (1.0 - ax) - self.k * X[:, 1]
        F = np.stack([fx, fy], axis=1)
        return F[0] if single else F

    def jacobian(self, x: Any) -> np.ndarray:
        """∂f_i/∂x_j, shape (2, 2) or (m, 2, 2)."""
        X, single = _points(self, x)
        _, dax = self._hill(X[:, 0])
        _, day = self._hill(X[:, 1])
        J = np.empty((X.shape[0], 2, 2))
        J[:, 0, 0] = self.a * dax - self.k
        J[:, 0, 1] = -self.b * day
        J[:, 1, 0] = -self.b * dax
        J[:, 1, 1] = self.a * day - self.k
        return J[0] if single else J

    def default_box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """A box [0, L]² holding every attractor: L = 1.25 (a + b + max(s, 0)) / k + 0.25."""
        hi = 1.25 * (self.a + self.b + max(self.signal, 0.0)) / self.k + 0.25
        return (0.0, hi), (0.0, hi)

    def fixed_points(self, n_starts: int = 15, box: Any = None, extra_starts: Any = ()) -> list[FixedPoint]:
        """:func:`fixed_points` of this circuit in :meth:`default_box` (or ``box``)."""
        return fixed_points(self, box or self.default_box(), n_starts=n_starts, extra_starts=extra_starts)

    def saddle_node(self, signal_max: float = 1.0, tol: float = 1e-9, n_starts: int = 6) -> SaddleNode:
        """The signal at which the low-x stable node and the saddle annihilate.

        Bisection on s ∈ [current signal, ``signal_max``] for the change of the number of
        stable nodes (2 → 1), each count by :func:`fixed_points` from an ``n_starts²`` grid
        plus warm starts at the fixed points of the last signal known to be bistable (a
        continuation: near the fold the node and the saddle are close and a coarse grid alone
        could miss them). Then Newton on the fold conditions f(x, s) = 0, det J(x) = 0 for
        (x, y, s) from the midpoint of the last bracket's saddle and node (a simple zero
        eigenvalue: Strogatz, Nonlinear Dynamics and Chaos, §3.1 and §8.1). Returns both
        estimates; they must agree to about ``tol``.
        """
        lo, hi = float(self.signal), float(signal_max)
        known = self.fixed_points(max(n_starts, 15))
        if sum(p.kind == "stable" for p in known) < 2:
            raise LandscapeError(f"{self.name}: fewer than two stable nodes at signal {lo}; "
                                 "nothing to remove")
        if sum(p.kind == "stable" for p in self.with_signal(hi).fixed_points(max(n_starts, 15))) >= 2:
            raise LandscapeError(f"{self.name}: still two stable nodes at signal {hi}; raise signal_max")
        while hi - lo > tol * max(1.0, abs(hi)):
            mid = 0.5 * (lo + hi)
            pts = self.with_signal(mid).fixed_points(n_starts, extra_starts=[p.x for p in known])
            if sum(p.kind == "stable" for p in pts) >= 2:
                lo, known = mid, pts
            else:
                hi = mid
        saddles = [p for p in known if p.kind == "saddle"]
        stable = [p for p in known if p.kind == "stable"]
        # the saddle closest to a stable node is the one about to annihilate with it
        pair = min(((s_, n_) for s_ in saddles for n_ in stable),
                   key=lambda q: float(np.linalg.norm(q[0].x - q[1].x)))
        z0 = np.array([*(0.5 * (pair[0].x + pair[1].x)), lo])

        def fold(z: np.ndarray) -> np.ndarray:
            sys = self.with_signal(z[2])
            return np.array([*sys.drift(z[:2]), np.linalg.det(sys.jacobian(z[:2]))])

        sol = root(fold, z0, method="hybr", tol=1e-13)
        return SaddleNode(signal_bisection=0.5 * (lo + hi), signal_fold=float(sol.x[2]),
                          x_fold=np.asarray(sol.x[:2]), converged=bool(sol.success),
                          residual=float(np.max(np.abs(fold(sol.x)))))


@dataclass
class GradientDrift:
    """The gradient flow f = −∇V of a landscape, as a :class:`DynamicalSystem`.

    Any landscape with ``energy_gradient`` and ``hessian`` works (e.g. the 2-D analytic
    surfaces of :mod:`levinthal.systems.analytic`); the Jacobian is −H. It is the reference
    case of the landscape-and-flux tools: curl 0, flux 0, P_ss = exp(−V/D)/Z.
    """

    landscape: Any

    @property
    def name(self) -> str:
        return f"gradient-flow({self.landscape.name})"

    @property
    def dim(self) -> int:
        return int(self.landscape.dim)

    def drift(self, x: Any) -> np.ndarray:
        """−∇V at ``x`` ((dim,) or (m, dim)); batched through ``energy_gradients`` if offered."""
        X, single = _points(self, x)
        if hasattr(self.landscape, "energy_gradients"):
            F = -np.asarray(self.landscape.energy_gradients(X)[1], dtype=np.float64)
        else:
            F = np.stack([-np.asarray(self.landscape.energy_gradient(row)[1], dtype=np.float64) for row in X])
        return F[0] if single else F

    def jacobian(self, x: Any) -> np.ndarray:
        X, single = _points(self, x)
        J = np.stack([-np.asarray(self.landscape.hessian(row), dtype=np.float64) for row in X])
        return J[0] if single else J


# -----------------------------------------------------------------------------------------
# Fixed points
# -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPoint:
    """A zero of the drift: ``x`` (dim,), Jacobian ``eigenvalues`` (complex, sorted by real
    part), ``kind``: ``"stable"`` (all real parts < 0), ``"saddle"`` (some > 0, some < 0),
    ``"unstable"`` (all > 0) or ``"degenerate"`` (a real part within ``tol`` of 0)."""

    x: np.ndarray
    eigenvalues: np.ndarray
    kind: str

    @property
    def index(self) -> int:
        """Number of unstable directions (eigenvalues with positive real part)."""
        return int(np.sum(self.eigenvalues.real > 0))


def _classify(eig: np.ndarray, tol: float) -> str:
    re = eig.real
    if np.any(np.abs(re) <= tol):
        return "degenerate"
    if np.all(re < 0):
        return "stable"
    if np.all(re > 0):
        return "unstable"
    return "saddle"


def fixed_points(system: Any, box: Any, *, n_starts: int = 15, extra_starts: Any = (),
                 xtol: float = 1e-12, merge_tol: float = 1e-7, residual_tol: float = 1e-10,
                 eig_tol: float = 1e-9) -> list[FixedPoint]:
    """All fixed points f(x) = 0 of a 2-D ``system`` that root finding reaches from a grid.

    Starts: the points ``extra_starts`` (warm starts, e.g. the fixed points at a nearby
    parameter), then an ``n_starts × n_starts`` grid over ``box = ((x0, x1), (y0, y1))``; each is
    refined by MINPACK's hybrid Powell method with the analytic Jacobian
    (:func:`scipy.optimize.root`, ``method="hybr"``). Roots outside the box, with residual
    above ``residual_tol``, or within ``merge_tol`` of one already found are dropped. Each is
    classified by the eigenvalues of its Jacobian (:class:`FixedPoint`). Sorted by x.
    A grid search can miss roots whose basin of the Newton-like iteration misses every start;
    raise ``n_starts`` if in doubt.
    """
    (x0, x1), (y0, y1) = box
    found: list[np.ndarray] = []
    starts = [np.asarray(z, dtype=np.float64) for z in extra_starts]
    starts += [np.array([xs, ys]) for xs in np.linspace(x0, x1, n_starts)
               for ys in np.linspace(y0, y1, n_starts)]
    for start in starts:
        z = root(lambda q: system.drift(q), start, jac=lambda q: system.jacobian(q),
                 method="hybr", options={"xtol": xtol}).x
        if not (x0 - 1e-9 <= z[0] <= x1 + 1e-9 and y0 - 1e-9 <= z[1] <= y1 + 1e-9):
            continue
        if np.max(np.abs(system.drift(z))) > residual_tol:
            continue
        if any(np.linalg.norm(z - q) < merge_tol for q in found):
            continue
        found.append(z)
    out = []
    for z in sorted(found, key=lambda q: (q[0], q[1])):
        eig = np.linalg.eigvals(system.jacobian(z))
        eig = eig[np.argsort(eig.real)]
        out.append(FixedPoint(x=z, eigenvalues=eig, kind=_classify(eig, eig_tol)))
    return out


@dataclass(frozen=True)
class SaddleNode:
    """Result of :meth:`ToggleSwitch.saddle_node`: the threshold signal by bisection on the
    number of stable nodes and by solving the fold conditions, the fold point, and whether
    the Newton solve converged (``residual``: max |f|, |det J| there)."""

    signal_bisection: float
    signal_fold: float
    x_fold: np.ndarray
    converged: bool
    residual: float


def curl(system: Any, x: Any) -> np.ndarray:
    """Scalar curl ∂f_y/∂x − ∂f_x/∂y of a 2-D drift at points ``x`` ((2,) or (m, 2)).

    Zero on a simply connected region iff f is a gradient field there.
    """
    if int(system.dim) != 2:
        raise ShapeError(f"{system.name}: the scalar curl needs a 2-D system, got dim {system.dim}")
    J = np.asarray(system.jacobian(x))
    return J[..., 1, 0] - J[..., 0, 1]


@dataclass(frozen=True)
class GradientTest:
    """How far a 2-D drift is from a gradient field on a grid (:func:`gradient_test`).

    ``max_curl``: max |∂f_y/∂x − ∂f_x/∂y| over the cell centres; ``scale``: max Frobenius norm
    of the Jacobian there; ``relative`` = max_curl / scale; ``is_gradient``: relative ≤ rtol.
    """

    max_curl: float
    scale: float
    relative: float
    is_gradient: bool


def gradient_test(system: Any, grid: Grid2D, *, rtol: float = 1e-10) -> GradientTest:
    """Is the 2-D drift of ``system`` a gradient field on the box of ``grid``?

    Evaluates the analytic curl (:func:`curl`) at every cell centre. On a rectangle (simply
    connected) a drift with zero curl is −∇V for some V, so the Fokker–Planck flux of additive
    noise vanishes and P_ss ∝ exp(−V/D) (Wang, Xu & Wang 2008).
    """
    pts = grid.points()
    c = np.abs(curl(system, pts))
    J = np.asarray(system.jacobian(pts))
    scale = float(np.max(np.linalg.norm(J, axis=(-2, -1))))
    mc = float(np.max(c))
    rel = mc / scale if scale > 0 else 0.0
    return GradientTest(max_curl=mc, scale=scale, relative=rel, is_gradient=bool(rel <= rtol))


# -----------------------------------------------------------------------------------------
# Fokker–Planck on a grid
# -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grid2D:
    """A cell-centred grid over the box [x0, x1] × [y0, y1] with ``nx × ny`` cells.

    ``x`` (nx,), ``y`` (ny,) are cell centres; arrays on the grid have shape (nx, ny)
    (index [i, j] is the cell at (x[i], y[j])).
    """

    x0: float
    x1: float
    y0: float
    y1: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0 and self.nx >= 3 and self.ny >= 3):
            raise ValueError(f"Grid2D: need x1 > x0, y1 > y0 and at least 3 cells a side, got {self}")

    @property
    def hx(self) -> float:
        return (self.x1 - self.x0) / self.nx

    @property
    def hy(self) -> float:
        return (self.y1 - self.y0) / self.ny

    @property
    def x(self) -> np.ndarray:
        return self.x0 + (np.arange(self.nx) + 0.5) * self.hx

    @property
    def y(self) -> np.ndarray:
        return self.y0 + (np.arange(self.ny) + 0.5) * self.hy

    def points(self) -> np.ndarray:
        """All cell centres, shape (nx·ny, 2), in the order of ``array.reshape(-1)``."""
        X, Y = np.meshgrid(self.x, self.y, indexing="ij")
        return np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (eᶻ − 1), with B(0) = 1, evaluated stably."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    small = np.abs(z) < 1e-6
    out[small] = 1.0 - 0.5 * z[small] + z[small] ** 2 / 12.0
    zs = z[~small]
    out[~small] = zs / np.expm1(zs)
    return out


@dataclass
class StationaryDensity:
    """Stationary solution of the 2-D Fokker–Planck equation on a :class:`Grid2D`.

    ``density`` (nx, ny): P_ss per unit area, ∑ P hx hy = 1, all entries ≥ 0.
    ``quasi_potential`` (nx, ny): U = −ln P_ss (dimensionless; +inf where P underflows).
    ``flux_x`` (nx+1, ny), ``flux_y`` (nx, ny+1): stationary probability flux J = fP − D∇P
    through the cell faces (zero on the boundary: no-flux box).
    ``drift`` (nx, ny, 2): f at the cell centres. ``noise``: D.
    """

    grid: Grid2D
    noise: float
    density: np.ndarray
    quasi_potential: np.ndarray
    flux_x: np.ndarray
    flux_y: np.ndarray
    drift: np.ndarray

    def flux_at_centres(self) -> np.ndarray:
        """J_ss averaged from the faces to the cell centres, shape (nx, ny, 2)."""
        jx = 0.5 * (self.flux_x[1:] + self.flux_x[:-1])
        jy = 0.5 * (self.flux_y[:, 1:] + self.flux_y[:, :-1])
        return np.stack([jx, jy], axis=-1)

    def decomposition(self) -> tuple[np.ndarray, np.ndarray]:
        """(gradient part −D∇U, flux part J_ss/P_ss) at the cell centres, each (nx, ny, 2).

        ∇U by second-order finite differences (one-sided at the edges); the flux part from the
        discrete stationary flux. Their sum reproduces the drift to discretisation error where
        P is resolved (Wang, Xu & Wang 2008: f = −D∇U + J_ss/P_ss).
        """
        g = self.grid
        with np.errstate(invalid="ignore", divide="ignore"):
            Ux, Uy = np.gradient(self.quasi_potential, g.hx, g.hy, edge_order=2)
            grad_part = -self.noise * np.stack([Ux, Uy], axis=-1)
            flux_part = self.flux_at_centres() / self.density[..., None]
        return grad_part, flux_part

    def resolved(self) -> np.ndarray:
        """Boolean mask (nx, ny) of the cells where P_ss > 0 and the decomposition is finite
        (cells next to an underflowed P are excluded)."""
        grad_part, flux_part = self.decomposition()
        finite = np.all(np.isfinite(grad_part), axis=-1) & np.all(np.isfinite(flux_part), axis=-1)
        return (self.density > 0) & finite

    def flux_fraction(self) -> float:
        """⟨|J_ss/P_ss|⟩ / ⟨|f|⟩ with both averages weighted by P_ss: the share of the drift
        that the potential does not explain (0 for a gradient system; Wang et al. 2008)."""
        ok = self.resolved()
        w = (self.density * self.grid.hx * self.grid.hy)[ok]
        _, flux_part = self.decomposition()
        num = float(np.sum(w * np.linalg.norm(flux_part[ok], axis=-1)))
        den = float(np.sum(w * np.linalg.norm(self.drift[ok], axis=-1)))
        return num / den

    def probability_near(self, centre: Any, radius: float) -> float:
        """Probability mass in the cells whose centre lies within ``radius`` of ``centre``."""
        pts = self.grid.points()
        mask = np.linalg.norm(pts - np.asarray(centre, dtype=np.float64), axis=1) <= radius
        return float(np.sum(self.density.reshape(-1)[mask]) * self.grid.hx * self.grid.hy)


def stationary_density(system: Any, noise: float, grid: Grid2D) -> StationaryDensity:
    """Stationary density of dX = f dt + √(2D) dW on ``grid`` with no-flux walls.

    Finite volumes with the Scharfetter–Gummel (exponentially fitted) flux through each face
    (Scharfetter & Gummel, IEEE Trans. Electron Devices 16, 64 (1969); Chang & Cooper,
    J. Comput. Phys. 6, 1 (1970)): with the drift component f at the face centre and
    Pe = f h / D,

        J_{i+½} = (D/h) [B(−Pe) P_i − B(Pe) P_{i+1}],   B(z) = z / (eᶻ − 1).

    The scheme is the generator of a continuous-time Markov chain on the cells (rates
    D B(∓Pe)/h² > 0), so the stationary vector is positive for an irreducible grid; it is exact
    for a constant drift and second-order accurate otherwise, and it stays monotone at any
    Péclet number (the small-D limit is upwind). The singular system Qᵀp = 0 is solved with
    one equation replaced by the normalisation (sparse LU, :func:`scipy.sparse.linalg.spsolve`).
    Entries that round to slightly below zero (|p| ≤ 1e-12 max p) are set to zero; a more
    negative entry raises, as it signals a failed solve.

    Parameters
    ----------
    system : DynamicalSystem
        A 2-D drift.
    noise : float
        D > 0 (diffusion constant; the noise is √(2D) dW).
    grid : Grid2D
        The box and its resolution; it must hold the attractors with margin (the walls reflect).
    """
    if int(system.dim) != 2:
        raise ShapeError(f"{system.name}: stationary_density solves the 2-D Fokker–Planck equation; "
                         f"got dim {system.dim}")
    if not noise > 0:
        raise ValueError(f"stationary_density: noise D must be > 0, got {noise}")
    D = float(noise)
    nx, ny, hx, hy = grid.nx, grid.ny, grid.hx, grid.hy
    xs, ys = grid.x, grid.y
    # x-faces between cells (i, j) and (i+1, j): at (x0 + (i+1) hx, y_j)
    fxp = np.stack(np.meshgrid(grid.x0 + np.arange(1, nx) * hx, ys, indexing="ij"), axis=-1).reshape(-1, 2)
    fyp = np.stack(np.meshgrid(xs, grid.y0 + np.arange(1, ny) * hy, indexing="ij"), axis=-1).reshape(-1, 2)
    fx_face = np.asarray(system.drift(fxp))[:, 0].reshape(nx - 1, ny)
    fy_face = np.asarray(system.drift(fyp))[:, 1].reshape(nx, ny - 1)
    pex, pey = fx_face * hx / D, fy_face * hy / D
    # rates: forward (i -> i+1) = D/h^2 B(-Pe), backward (i+1 -> i) = D/h^2 B(Pe)
    rfx, rbx = D / hx**2 * _bernoulli(-pex), D / hx**2 * _bernoulli(pex)
    rfy, rby = D / hy**2 * _bernoulli(-pey), D / hy**2 * _bernoulli(pey)
    idx = np.arange(nx * ny).reshape(nx, ny)
    rows = np.concatenate([idx[:-1].ravel(), idx[1:].ravel(), idx[:, :-1].ravel(), idx[:, 1:].ravel()])
    cols = np.concatenate([idx[1:].ravel(), idx[:-1].ravel(), idx[:, 1:].ravel(), idx[:, :-1].ravel()])
    vals = np.concatenate([rfx.ravel(), rbx.ravel(), rfy.ravel(), rby.ravel()])
    Q = sp.coo_matrix((vals, (rows, cols)), shape=(nx * ny, nx * ny)).tocsr()
    Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
    A = Q.T.tolil()
    A[0, :] = 1.0
    rhs = np.zeros(nx * ny)
    rhs[0] = 1.0
    p = spsolve(A.tocsc(), rhs)
    if not np.all(np.isfinite(p)):
        raise LandscapeError(f"{system.name}: the Fokker–Planck solve returned non-finite values (D={D})")
    if p.min() < -1e-12 * p.max():
        raise LandscapeError(f"{system.name}: the Fokker–Planck solve returned a negative density "
                             f"({p.min():.3g}); refine the grid or raise D")
    p = np.maximum(p, 0.0)
    p /= p.sum()
    P = (p / (hx * hy)).reshape(nx, ny)
    pc = p.reshape(nx, ny)  # cell probabilities
    jx = np.zeros((nx + 1, ny))
    jy = np.zeros((nx, ny + 1))
    # net probability flow between neighbours (per unit time) divided by the face length
    jx[1:-1] = (rfx * pc[:-1] - rbx * pc[1:]) / hy
    jy[:, 1:-1] = (rfy * pc[:, :-1] - rby * pc[:, 1:]) / hx
    with np.errstate(divide="ignore"):
        U = -np.log(P)
    drift = np.asarray(system.drift(grid.points())).reshape(nx, ny, 2)
    return StationaryDensity(grid=grid, noise=D, density=P, quasi_potential=U, flux_x=jx, flux_y=jy,
                             drift=drift)


# -----------------------------------------------------------------------------------------
# A landscape from the quasi-potential
# -----------------------------------------------------------------------------------------
class QuasiPotentialLandscape:
    """The quasi-potential U = −ln P_ss of a :class:`StationaryDensity` as a 2-D landscape.

    An APPROXIMATION for tools that need an energy (minimisers, saddle searches, plots): U is
    interpolated by a bicubic spline through the grid values (:class:`scipy.interpolate.
    RectBivariateSpline`), so its minima and saddles approximate the attractors and the
    saddle of the circuit only up to the grid spacing and to O(D) (the minima of U are not
    exactly the stable fixed points when the flux is nonzero). Where P_ss underflowed, U is
    capped at its largest finite value. Outside the box spanned by the cell centres the spline
    is not extrapolated: the energy is U at the nearest point of the box plus a harmonic wall
    ``wall/2 · dist²`` (stiffness ``wall`` per squared length unit), so minimisers stay inside.
    Energies are dimensionless (units of D: U ≈ V/D for a gradient system).
    """

    def __init__(self, stationary: StationaryDensity, name: str | None = None, wall: float = 1e4):
        g = stationary.grid
        U = np.array(stationary.quasi_potential, dtype=np.float64)
        finite = np.isfinite(U)
        if not finite.any():
            raise LandscapeError("quasi_potential_landscape: no cell has a positive density")
        U[~finite] = U[finite].max()
        self.stationary = stationary
        self.dim = 2
        self.name = name or f"quasi-potential(D={stationary.noise:g})"
        self.box = ((float(g.x[0]), float(g.x[-1])), (float(g.y[0]), float(g.y[-1])))
        if not wall > 0:
            raise ValueError(f"QuasiPotentialLandscape: wall must be > 0, got {wall}")
        self.wall = float(wall)
        self._spline = RectBivariateSpline(g.x, g.y, U, kx=3, ky=3)

    def _x(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, x clamped to the box, mask of the clamped coordinates)."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (2,):
            raise ShapeError(f"{self.name}: x has shape {x.shape}, expected (2,)")
        lo = np.array([self.box[0][0], self.box[1][0]])
        hi = np.array([self.box[0][1], self.box[1][1]])
        c = np.clip(x, lo, hi)
        return x, c, c != x

    def energy(self, x: Any) -> float:
        x, c, _ = self._x(x)
        return float(self._spline.ev(c[0], c[1])) + 0.5 * self.wall * float(np.sum((x - c) ** 2))

    def energy_gradient(self, x: Any) -> tuple[float, np.ndarray]:
        x, c, out = self._x(x)
        s = self._spline
        g = np.array([s.ev(c[0], c[1], dx=1), s.ev(c[0], c[1], dy=1)], dtype=np.float64)
        g[out] = self.wall * (x - c)[out]
        return self.energy(x), g

    def hessian(self, x: Any) -> np.ndarray:
        x, c, out = self._x(x)
        s = self._spline
        hxy = float(s.ev(c[0], c[1], dx=1, dy=1))
        h = np.array([[float(s.ev(c[0], c[1], dx=2)), hxy], [hxy, float(s.ev(c[0], c[1], dy=2))]])
        for k in np.flatnonzero(out):
            h[k, :] = 0.0
            h[:, k] = 0.0
            h[k, k] = self.wall
        return h

    def hvp(self, x: Any, v: Any) -> np.ndarray:
        return self.hessian(x) @ np.asarray(v, dtype=np.float64)

    def energies(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ShapeError(f"{self.name}: batch has shape {X.shape}, expected (n, 2)")
        return np.array([self.energy(row) for row in X])

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        """A point uniform in the grid's box."""
        (x0, x1), (y0, y1) = self.box
        return np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])


def quasi_potential_landscape(system: Any, noise: float, grid: Grid2D, *, wall: float = 1e4
                              ) -> QuasiPotentialLandscape:
    """:func:`stationary_density` of ``system`` at noise ``noise`` on ``grid``, as a landscape
    (see :class:`QuasiPotentialLandscape` for what the approximation means)."""
    return QuasiPotentialLandscape(stationary_density(system, noise, grid),
                                   name=f"quasi-potential({system.name}, D={noise:g})", wall=wall)


# -----------------------------------------------------------------------------------------
# Stochastic trajectories
# -----------------------------------------------------------------------------------------
def simulate(system: Any, x0: Any, noise: float, dt: float, steps: int, rng: np.random.Generator, *,
             record_every: int = 1, reflect_at_zero: bool = True) -> np.ndarray:
    """Euler–Maruyama trajectories of dX = f(X) dt + √(2D) dW (Kloeden & Platen 1992, §9.1).

    Parameters
    ----------
    x0 : array (dim,) or (m, dim)
        One start or m independent walkers (all advanced together).
    noise : float
        D ≥ 0; D = 0 gives the explicit Euler integration of the deterministic flow.
    dt : float
        Time step (> 0), in the system's time unit (1/k for :class:`ToggleSwitch`).
    steps : int
        Steps to take.
    rng : numpy.random.Generator
        Source of the Wiener increments.
    record_every : int
        Keep every this many steps (the start is always kept).
    reflect_at_zero : bool
        Reflect coordinates that step below 0 (concentrations; default True).

    Returns
    -------
    ndarray, shape (steps // record_every + 1, dim) or (…, m, dim)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"simulate: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not (dt > 0 and noise >= 0 and steps >= 0 and record_every >= 1):
        raise ValueError(f"simulate: need dt > 0, noise >= 0, steps >= 0, record_every >= 1; got {dt}, "
                         f"{noise}, {steps}, {record_every}")
    X, single = _points(system, x0)
    X = X.copy()
    out = [X.copy()]
    amp = np.sqrt(2.0 * noise * dt)
    for t in range(1, steps + 1):
        X = X + np.asarray(system.drift(X)) * dt + amp * rng.standard_normal(X.shape)
        if reflect_at_zero:
            X = np.abs(X)
        if t % record_every == 0:
            out.append(X.copy())
    traj = np.stack(out)
    return traj[:, 0] if single else traj


@dataclass(frozen=True)
class FirstPassage:
    """First-passage times of :func:`first_passage_times`.

    ``times`` (n_walkers,): time of the first recorded step inside the target (``inf`` for
    walkers that had not arrived after ``max_steps``); ``arrived``: their count; ``mean``:
    mean over arrived walkers (a lower bound on the MFPT when some did not arrive);
    ``censored``: walkers still out when the run stopped.
    """

    times: np.ndarray
    arrived: int
    censored: int
    mean: float


def first_passage_times(system: Any, x0: Any, noise: float, dt: float, reached: Any,
                        rng: np.random.Generator, *, n_walkers: int = 1, max_steps: int = 100_000,
                        reflect_at_zero: bool = True) -> FirstPassage:
    """Times for Euler–Maruyama walkers from ``x0`` to first enter the set ``reached``.

    ``reached(X) -> bool mask`` takes the active walkers (m, dim). Walkers advance together
    as in :func:`simulate` (same noise convention √(2D) dW) and drop out when they arrive;
    arrival is checked after every step, so times are multiples of ``dt`` and excursions
    between steps are missed (an O(√dt) bias in the hitting time). Used to measure
    noise-induced switching times against D (Kramers 1940; Hänggi, Talkner & Borkovec,
    Rev. Mod. Phys. 62, 251 (1990)).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("first_passage_times: rng must be a numpy.random.Generator, "
                        f"got {type(rng).__name__}")
    if not (dt > 0 and noise >= 0 and max_steps >= 1 and n_walkers >= 1):
        raise ValueError(f"first_passage_times: need dt > 0, noise >= 0, max_steps >= 1, n_walkers >= 1; "
                         f"got {dt}, {noise}, {max_steps}, {n_walkers}")
    start = np.asarray(x0, dtype=np.float64)
    if start.shape != (system.dim,):
        raise ShapeError(f"{system.name}: x0 has shape {start.shape}, expected ({system.dim},)")
    X = np.tile(start, (n_walkers, 1))
    times = np.full(n_walkers, np.inf)
    active = np.arange(n_walkers)
    amp = np.sqrt(2.0 * noise * dt)
    for step in range(1, max_steps + 1):
        Xa = X[active]
        Xa = Xa + np.asarray(system.drift(Xa)).reshape(Xa.shape) * dt + amp * rng.standard_normal(Xa.shape)
        if reflect_at_zero:
            Xa = np.abs(Xa)
        X[active] = Xa
        hit = np.asarray(reached(Xa), dtype=bool)
        times[active[hit]] = step * dt
        active = active[~hit]
        if active.size == 0:
            break
    done = np.isfinite(times)
    return FirstPassage(times=times, arrived=int(done.sum()), censored=int((~done).sum()),
                        mean=float(times[done].mean()) if done.any() else float("inf"))
