"""Finite-difference references: for tests and as a labelled fallback, never silently."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape.protocol import Array


def gradient_fd(landscape: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``landscape.energy`` at ``x`` (NumPy), error O(h²)."""
    x = np.asarray(x, dtype=np.float64)
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (landscape.energy(x + e) - landscape.energy(x - e)) / (2 * h)
    return g


def hvp_fd(landscape: Any, x: Array, v: Array, h: float = 1e-5) -> Array:
    """Central difference of the gradient along ``v``: (∇E(x+hv) − ∇E(x−hv)) / 2h."""
    _, gp = landscape.energy_gradient(x + h * v)
    _, gm = landscape.energy_gradient(x - h * v)
    return (gp - gm) / (2 * h)


def hessian_fd(landscape: Any, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Dense Hessian by central differences of the gradient, symmetrised; shape (dim, dim)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        H[i] = hvp_fd(landscape, x, e, h)
    return 0.5 * (H + H.T)
