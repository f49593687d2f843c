"""Two-dimensional analytic landscapes with exact gradients and Hessians.

They are the unit tests of every tool: their minima and saddles are known in closed form
or to many digits, so an algorithm's answer can be checked against an independent value.
Energies are dimensionless (Müller–Brown in its customary units).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from levinthal.landscape import ShapeError


def _point(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (2,):
        raise ShapeError(f"{name}: x has shape {x.shape}, expected (2,)")
    return x


class _Analytic2D:
    """Shared protocol plumbing: subclasses define batched ``_egh(X) -> (E, G, H)``."""

    name = "analytic"
    dim = 2
    symmetry = None
    box: tuple[tuple[float, float], tuple[float, float]] = ((-2.0, 2.0), (-2.0, 2.0))

    def _egh(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def energy(self, x: np.ndarray) -> float:
        return float(self._egh(_point(self.name, x)[None])[0][0])

    def energy_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        E, G, _ = self._egh(_point(self.name, x)[None])
        return float(E[0]), G[0]

    def hessian(self, x: np.ndarray) -> np.ndarray:
        return self._egh(_point(self.name, x)[None])[2][0]

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.hessian(x) @ np.asarray(v, dtype=np.float64)

    def energies(self, X: np.ndarray) -> np.ndarray:
        return self._egh(np.asarray(X, dtype=np.float64))[0]

    def energy_gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        E, G, _ = self._egh(np.asarray(X, dtype=np.float64))
        return E, G

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        (x0, x1), (y0, y1) = self.box
        return np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@dataclass(repr=False)
class MullerBrown(_Analytic2D):
    """The Müller–Brown surface (Müller & Brown 1979, Theor. Chim. Acta 53, 75).

    E(x, y) = Σₖ Aₖ exp(aₖ(x−x₀ₖ)² + bₖ(x−x₀ₖ)(y−y₀ₖ) + cₖ(y−y₀ₖ)²) with the standard
    parameters. Three minima, near (−0.558, 1.442), (0.623, 0.028) and (−0.050, 0.467), and
    two first-order saddles, near (−0.822, 0.624) and (0.212, 0.293).
    """

    A: tuple[float, ...] = (-200.0, -100.0, -170.0, 15.0)
    a: tuple[float, ...] = (-1.0, -1.0, -6.5, 0.7)
    b: tuple[float, ...] = (0.0, 0.0, 11.0, 0.6)
    c: tuple[float, ...] = (-10.0, -10.0, -6.5, 0.7)
    x0: tuple[float, ...] = (1.0, 0.0, -0.5, -1.0)
    y0: tuple[float, ...] = (0.0, 0.5, 1.5, 1.0)
    name: str = field(default="muller-brown")
    box = ((-1.5, 1.2), (-0.2, 2.0))

    def _egh(self, X):
        A, a, b, c = (np.asarray(p)[None, :] for p in (self.A, self.a, self.b, self.c))
        dx = X[:, :1] - np.asarray(self.x0)[None, :]
        dy = X[:, 1:2] - np.asarray(self.y0)[None, :]
        t = A * np.exp(a * dx**2 + b * dx * dy + c * dy**2)  # (n, 4)
        px = 2 * a * dx + b * dy
        py = b * dx + 2 * c * dy
        E = t.sum(1)
        G = np.stack([(t * px).sum(1), (t * py).sum(1)], axis=1)
        hxx = (t * (px**2 + 2 * a)).sum(1)
        hxy = (t * (px * py + b)).sum(1)
        hyy = (t * (py**2 + 2 * c)).sum(1)
        H = np.stack([np.stack([hxx, hxy], 1), np.stack([hxy, hyy], 1)], 1)
        return E, G, H


@dataclass(repr=False)
class DoubleWell(_Analytic2D):
    """Symmetric double well E = h (x² − 1)² + ½ k y².

    Minima at (±1, 0) with E = 0 and Hessian diag(8h, k); one saddle at (0, 0) with
    E = h (the barrier) and Hessian diag(−4h, k).
    """

    h: float = 1.0
    k: float = 1.0
    name: str = field(default="double-well")

    def _egh(self, X):
        x, y = X[:, 0], X[:, 1]
        E = self.h * (x**2 - 1) ** 2 + 0.5 * self.k * y**2
        G = np.stack([4 * self.h * x * (x**2 - 1), self.k * y], 1)
        H = np.zeros((X.shape[0], 2, 2))
        H[:, 0, 0] = self.h * (12 * x**2 - 4)
        H[:, 1, 1] = self.k
        return E, G, H


@dataclass(repr=False)
class TiltedDoubleWell(_Analytic2D):
    """Tilted double well E = h (x² − 1)² + t x + ½ k y² with tilt ``t``.

    The tilt makes one well deeper: the stationary points are the real roots of
    4h x (x² − 1) + t = 0 on y = 0. For |t| < 8h/(3√3) there are two minima and a saddle.
    """

    tilt: float = 0.3
    h: float = 1.0
    k: float = 1.0
    name: str = field(default="tilted-double-well")

    def _egh(self, X):
        x, y = X[:, 0], X[:, 1]
        E = self.h * (x**2 - 1) ** 2 + self.tilt * x + 0.5 * self.k * y**2
        G = np.stack([4 * self.h * x * (x**2 - 1) + self.tilt, self.k * y], 1)
        H = np.zeros((X.shape[0], 2, 2))
        H[:, 0, 0] = self.h * (12 * x**2 - 4)
        H[:, 1, 1] = self.k
        return E, G, H

    def stationary_x(self) -> np.ndarray:
        """Real roots of dE/dx = 0 on y = 0, sorted: the exact stationary points."""
        roots = np.roots([4 * self.h, 0.0, -4 * self.h, self.tilt])
        return np.sort(roots[np.abs(roots.imag) < 1e-12].real)
