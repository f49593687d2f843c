"""Compiled pair-potential kernels for atomic clusters (numba, nopython, cached).

Coordinates are a flat C-contiguous float64 vector ``x`` of shape ``(3N,)``: atom ``i`` sits at
``x[3i:3i+3]``. Every pair ``i < j`` is summed exactly once, with no cutoff, so each call is
O(N²). Parameters travel as a float64 vector so that one compiled minimiser can call any
kernel through the same signature:

* Lennard-Jones (Lennard-Jones 1924; reduced units): ``params = [epsilon, sigma]``,
  V(r) = 4ε[(σ/r)¹² − (σ/r)⁶].
* Morse (Morse 1929; the cluster form of Doye & Wales 1997):
  ``params = [epsilon, rho, r0]``, V(r) = ε e^{ρ(1−r/r0)} (e^{ρ(1−r/r0)} − 2).

For a pair potential the Hessian block of a pair with separation d = x_i − x_j, r = |d|, is
``g2 d dᵀ + g1 I`` with g1 = V'(r)/r and g2 = (V''(r) − V'(r)/r)/r²; the pair adds it to the
(i,i) and (j,j) blocks and subtracts it from (i,j) and (j,i).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types

__all__ = [
    "KERNEL_SIGNATURE",
    "LJ",
    "MORSE",
    "batch_energies",
    "batch_energy_gradients",
    "hessian",
    "hvp",
    "lj_energy",
    "lj_energy_gradient",
    "morse_energy",
    "morse_energy_gradient",
]

#: Potential identifiers used by the generic (Hessian, HVP, batch) kernels.
LJ = 0
MORSE = 1

#: ``kernel(x, params) -> (energy, gradient)``: the signature every compiled kernel offers, so
#: that nopython code (the compiled L-BFGS) can take any of them as a first-class function.
KERNEL_SIGNATURE = types.Tuple((types.float64, types.float64[::1]))(
    types.float64[::1], types.float64[::1]
)


@njit(cache=True, fastmath=False, error_model="numpy")
def lj_energy(x, params):
    """Lennard-Jones energy of the cluster ``x`` (3N,) with ``params = [epsilon, sigma]``."""
    eps4 = 4.0 * params[0]
    sig2 = params[1] * params[1]
    n = x.shape[0] // 3
    e = 0.0
    for i in range(n - 1):
        xi, yi, zi = x[3 * i], x[3 * i + 1], x[3 * i + 2]
        for j in range(i + 1, n):
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            ir2 = sig2 / (dx * dx + dy * dy + dz * dz)
            ir6 = ir2 * ir2 * ir2
            e += ir6 * (ir6 - 1.0)
    return eps4 * e


@njit(cache=True, fastmath=False, error_model="numpy")
def lj_energy_gradient(x, params):
    """Lennard-Jones energy and gradient ((3N,), float64) with ``params = [epsilon, sigma]``."""
    eps4 = 4.0 * params[0]
    sig2 = params[1] * params[1]
    n = x.shape[0] // 3
    g = np.zeros(x.shape[0])
    e = 0.0
    for i in range(n - 1):
        xi, yi, zi = x[3 * i], x[3 * i + 1], x[3 * i + 2]
        gxi = 0.0
        gyi = 0.0
        gzi = 0.0
        for j in range(i + 1, n):
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            r2inv = 1.0 / (dx * dx + dy * dy + dz * dz)
            ir2 = sig2 * r2inv
            ir6 = ir2 * ir2 * ir2
            ir12 = ir6 * ir6
            e += ir12 - ir6
            # (dV/dr)/r in units of 4ε
            f = (6.0 * ir6 - 12.0 * ir12) * r2inv
            gxi += f * dx
            gyi += f * dy
            gzi += f * dz
            g[3 * j] -= f * dx
            g[3 * j + 1] -= f * dy
            g[3 * j + 2] -= f * dz
        g[3 * i] += gxi
        g[3 * i + 1] += gyi
        g[3 * i + 2] += gzi
    for k in range(g.shape[0]):
        g[k] *= eps4
    return eps4 * e, g


@njit(cache=True, fastmath=False, error_model="numpy")
def morse_energy(x, params):
    """Morse energy of the cluster ``x`` (3N,) with ``params = [epsilon, rho, r0]``."""
    eps, rho, r0 = params[0], params[1], params[2]
    n = x.shape[0] // 3
    e = 0.0
    for i in range(n - 1):
        xi, yi, zi = x[3 * i], x[3 * i + 1], x[3 * i + 2]
        for j in range(i + 1, n):
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            r = math.sqrt(dx * dx + dy * dy + dz * dz)
            t = math.exp(rho * (1.0 - r / r0))
            e += t * (t - 2.0)
    return eps * e


@njit(cache=True, fastmath=False, error_model="numpy")
def morse_energy_gradient(x, params):
    """Morse energy and gradient ((3N,), float64) with ``params = [epsilon, rho, r0]``."""
    eps, rho, r0 = params[0], params[1], params[2]
    c = -2.0 * eps * rho / r0
    n = x.shape[0] // 3
    g = np.zeros(x.shape[0])
    e = 0.0
    for i in range(n - 1):
        xi, yi, zi = x[3 * i], x[3 * i + 1], x[3 * i + 2]
        gxi = 0.0
        gyi = 0.0
        gzi = 0.0
        for j in range(i + 1, n):
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            r = math.sqrt(dx * dx + dy * dy + dz * dz)
            t = math.exp(rho * (1.0 - r / r0))
            e += t * (t - 2.0)
            f = c * t * (t - 1.0) / r  # V'(r)/r
            gxi += f * dx
            gyi += f * dy
            gzi += f * dz
            g[3 * j] -= f * dx
            g[3 * j + 1] -= f * dy
            g[3 * j + 2] -= f * dz
        g[3 * i] += gxi
        g[3 * i + 1] += gyi
        g[3 * i + 2] += gzi
    return eps * e, g


@njit(cache=True, fastmath=False, error_model="numpy")
def _pair_curvature(kind, r2, params):
    """(g1, g2) = (V'/r, (V'' − V'/r)/r²) of one pair at squared distance ``r2``."""
    if kind == LJ:
        eps4 = 4.0 * params[0]
        r2inv = 1.0 / r2
        ir2 = params[1] * params[1] * r2inv
        ir6 = ir2 * ir2 * ir2
        ir12 = ir6 * ir6
        g1 = eps4 * (6.0 * ir6 - 12.0 * ir12) * r2inv
        g2 = eps4 * (168.0 * ir12 - 48.0 * ir6) * r2inv * r2inv
        return g1, g2
    eps, rho, r0 = params[0], params[1], params[2]
    r = math.sqrt(r2)
    t = math.exp(rho * (1.0 - r / r0))
    d1 = -2.0 * eps * rho / r0 * t * (t - 1.0)  # V'(r)
    d2 = 2.0 * eps * (rho / r0) ** 2 * t * (2.0 * t - 1.0)  # V''(r)
    g1 = d1 / r
    return g1, (d2 - g1) / r2


@njit(cache=True, fastmath=False, error_model="numpy")
def hvp(kind, x, params, v):
    """Exact Hessian-vector product H(x) v, shape (3N,), in O(N²) without forming H."""
    n = x.shape[0] // 3
    out = np.zeros(x.shape[0])
    for i in range(n - 1):
        for j in range(i + 1, n):
            dx = x[3 * i] - x[3 * j]
            dy = x[3 * i + 1] - x[3 * j + 1]
            dz = x[3 * i + 2] - x[3 * j + 2]
            g1, g2 = _pair_curvature(kind, dx * dx + dy * dy + dz * dz, params)
            wx = v[3 * i] - v[3 * j]
            wy = v[3 * i + 1] - v[3 * j + 1]
            wz = v[3 * i + 2] - v[3 * j + 2]
            c = g2 * (dx * wx + dy * wy + dz * wz)
            hx = c * dx + g1 * wx
            hy = c * dy + g1 * wy
            hz = c * dz + g1 * wz
            out[3 * i] += hx
            out[3 * i + 1] += hy
            out[3 * i + 2] += hz
            out[3 * j] -= hx
            out[3 * j + 1] -= hy
            out[3 * j + 2] -= hz
    return out


@njit(cache=True, fastmath=False, error_model="numpy")
def hessian(kind, x, params):
    """Dense analytic Hessian, shape (3N, 3N)."""
    n = x.shape[0] // 3
    h = np.zeros((x.shape[0], x.shape[0]))
    d = np.empty(3)
    for i in range(n - 1):
        for j in range(i + 1, n):
            for a in range(3):
                d[a] = x[3 * i + a] - x[3 * j + a]
            g1, g2 = _pair_curvature(kind, d[0] * d[0] + d[1] * d[1] + d[2] * d[2], params)
            for a in range(3):
                for b in range(3):
                    blk = g2 * d[a] * d[b]
                    if a == b:
                        blk += g1
                    h[3 * i + a, 3 * i + b] += blk
                    h[3 * j + a, 3 * j + b] += blk
                    h[3 * i + a, 3 * j + b] -= blk
                    h[3 * j + a, 3 * i + b] -= blk
    return h


@njit(cache=True, fastmath=False, error_model="numpy", parallel=True)
def batch_energies(kind, X, params):
    """Energies of the rows of ``X`` (n, 3N) -> (n,), in parallel over rows."""
    out = np.empty(X.shape[0])
    for k in prange(X.shape[0]):
        if kind == LJ:
            out[k] = lj_energy(X[k], params)
        else:
            out[k] = morse_energy(X[k], params)
    return out


@njit(cache=True, fastmath=False, error_model="numpy", parallel=True)
def batch_energy_gradients(kind, X, params):
    """Energies (n,) and gradients (n, 3N) of the rows of ``X`` (n, 3N), in parallel over rows."""
    E = np.empty(X.shape[0])
    G = np.empty_like(X)
    for k in prange(X.shape[0]):
        if kind == LJ:
            e, g = lj_energy_gradient(X[k], params)
        else:
            e, g = morse_energy_gradient(X[k], params)
        E[k] = e
        G[k] = g
    return E, G
