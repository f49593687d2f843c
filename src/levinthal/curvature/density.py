"""Spectral density of a Hessian by stochastic Lanczos quadrature (SLQ).

The spectral density p(λ) = (1/n) Σᵢ δ(λ − λᵢ) of an n×n Hessian is estimated without any
eigenvalue (Lin, Saad & Yang 2016, SIAM Review 58, 34; for network Hessians Ghorbani,
Krishnan & Xiao 2019, ICML): for a random unit vector v, v̂ᵀ f(H) v̂ = Σᵢ (uᵢᵀv̂)² f(λᵢ),
and m Lanczos steps from v̂ give the Gauss quadrature rule (nodes θⱼ, weights τⱼ²) of that
measure (Golub & Meurant 1994). Averaging over probes and replacing each δ by a Gaussian of
width σ gives a smooth density

    φ(t) = (1 / n_probes) Σ_probes Σⱼ τⱼ² · exp(−(t − θⱼ)² / 2σ²) / (σ√(2π)).

Because E[(uᵢᵀv̂)²] = 1/n for Rademacher v̂ = g/√n, ∫ λ φ(λ) dλ estimates tr H / n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from levinthal.curvature.lanczos import lanczos_tridiagonal
from levinthal.curvature.operators import as_operator
from levinthal.landscape.arrays import Array

__all__ = ["SpectralDensity", "spectral_density"]


@dataclass
class SpectralDensity:
    """An SLQ spectral density.

    ``grid``: evaluation points, shape ``(n_grid,)``; ``density``: φ on the grid, normalised so
    that its trapezoidal integral is 1; ``nodes`` / ``weights``: the quadrature rule per probe,
    shape ``(n_probes, m)`` (padded with NaN nodes and 0 weights when a probe stopped early);
    ``sigma``: the Gaussian width; ``n_matvec``: products used.
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float
    n_matvec: int

    def mean(self) -> float:
        """∫ λ φ(λ) dλ from the quadrature rules directly (an estimate of tr H / dim)."""
        w = self.weights / self.nodes.shape[0]
        return float(np.nansum(w * np.nan_to_num(self.nodes)))


def spectral_density(
    A: Any,
    x: Array | None = None,
    n_probes: int = 10,
    n_steps: int = 80,
    rng: np.random.Generator | int | None = None,
    *,
    sigma: float | None = None,
    n_grid: int = 1000,
    zero_modes: Array | None = None,
) -> SpectralDensity:
    """SLQ spectral density of a landscape's Hessian at ``x`` (or of an operator / matrix).

    Parameters
    ----------
    A, x, zero_modes : as for :func:`levinthal.curvature.lanczos_eigs`.
    n_probes : int
        Rademacher probe vectors (default 10).
    n_steps : int
        Lanczos steps per probe, with full reorthogonalisation (default 80; at most dim).
    rng : numpy.random.Generator or int, optional
        Source of the probes (default seed 0).
    sigma : float, optional
        Gaussian broadening, in eigenvalue units; default 1 % of the spectral range seen by
        the quadrature nodes (Ghorbani et al. 2019 use a comparable relative width).
    n_grid : int
        Grid points spanning [min node − 5σ, max node + 5σ] (default 1000).

    Uses ``n_probes × n_steps`` products (fewer when the Krylov space is exhausted).
    """
    op = as_operator(A, x, zero_modes)
    if n_probes < 1 or n_steps < 1:
        raise ValueError(f"spectral_density: n_probes and n_steps must be >= 1, got {n_probes}, {n_steps}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    start = op.n_matvec
    m = min(int(n_steps), op.dim - op.n_zero_modes)
    nodes = np.full((n_probes, m), np.nan)
    weights = np.zeros((n_probes, m))
    for p in range(n_probes):
        th, w = lanczos_tridiagonal(op, op.random_vector(rng, "rademacher"), m)
        nodes[p, : th.size] = th
        weights[p, : w.size] = w
    lo, hi = float(np.nanmin(nodes)), float(np.nanmax(nodes))
    if sigma is None:
        sigma = 0.01 * (hi - lo) if hi > lo else 1e-3 * max(abs(hi), 1.0)
    if sigma <= 0:
        raise ValueError(f"spectral_density: sigma must be > 0, got {sigma}")
    grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, int(n_grid))
    ok = np.isfinite(nodes)
    th, w = nodes[ok], weights[ok] / n_probes
    dens = np.zeros_like(grid)
    for chunk in range(0, th.size, 256):
        t, ww = th[chunk: chunk + 256], w[chunk: chunk + 256]
        dens += (ww[None, :] * np.exp(-0.5 * ((grid[:, None] - t[None, :]) / sigma) ** 2)).sum(1)
    dens /= sigma * np.sqrt(2 * np.pi)
    dens /= np.trapezoid(dens, grid)
    return SpectralDensity(grid, dens, nodes, weights, float(sigma), op.n_matvec - start)
