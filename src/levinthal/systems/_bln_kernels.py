"""Compiled kernels of the BLN off-lattice protein model (numba, nopython, cached).

Coordinates are a flat C-contiguous vector ``x`` of shape ``(3N,)``: bead ``i`` sits at
``x[3i:3i+3]``. Everything the model needs travels in one float64 vector ``params`` so that
one compiled minimiser can call the energy+gradient kernel with the signature every kernel of
levinthal offers (``kernel(x, params) -> (E, g)``, see
:data:`levinthal.systems._cluster_kernels.KERNEL_SIGNATURE`). Layout (``N`` beads):

====================  ==========  ====================================================
slice                 length      meaning
====================  ==========  ====================================================
``[0]``               1           bond force constant ``k_r`` (ε σ⁻²)
``[1]``               1           equilibrium bond length ``r_e`` (σ)
``[2]``               1           angle force constant ``k_θ`` (ε rad⁻²)
``[3]``               1           equilibrium bond angle ``θ_e`` (rad)
``[4]``               1           smallest sequence separation ``|i − j|`` of a non-bonded pair
``[5 : 5+4(N−3)]``    4(N−3)      dihedral coefficients ``A, B, C, D`` (ε) per quartet
then                  N²          ``S12[i, j]`` (row-major): coefficient of ``(σ/r)¹²``
then                  N²          ``S6[i, j]``: coefficient of ``(σ/r)⁶``
====================  ==========  ====================================================

The energy (reduced units, σ = ε = 1) is

    V = Σ_i k_r/2 (|r_{i+1} − r_i| − r_e)² + Σ_i k_θ/2 (θ_i − θ_e)²
        + Σ_quartets [A(1 + cos φ) + B(1 − cos φ) + C(1 + cos 3φ) + D(1 + cos(φ + π/4))]
        + 4 Σ_{j ≥ i + sep} [S12_ij r_ij⁻¹² + S6_ij r_ij⁻⁶],

with the dihedral φ in the IUPAC convention (trans = ±π, cis = 0; φ > 0 when
``b1 · (b2 × b3) > 0`` for the bond vectors ``b_k = r_{k+1} − r_k`` of the quartet). The
dihedral term is written with ``c = cos φ`` and ``s = sin φ`` only (cos 3φ = 4c³ − 3c,
cos(φ + π/4) = (c − s)/√2), so no ``acos``/``atan2`` is needed and the whole gradient is a
complex-analytic function of the coordinates. The gradient of φ follows Bekker (1995) /
Blondel & Karplus, J. Comput. Chem. 17, 1132 (1996).

Second derivatives are exact to rounding by the complex step (Squire & Trapp, SIAM Rev. 40,
110 (1998)): the same gradient code runs on ``x + i h v`` and ``H v = Im ∇V(x + i h v) / h``
with ``h = 1e-20``; there is no subtraction, so no cancellation error.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "COMPLEX_STEP",
    "HEADER",
    "batch_energies",
    "batch_energy_gradients",
    "bln_energy",
    "bln_energy_gradient",
    "hessian",
    "hvp",
]

#: Number of scalar entries before the per-dihedral coefficients in ``params``.
HEADER = 5

#: Size of the imaginary step of the complex-step derivative (relative to a unit vector).
COMPLEX_STEP = 1e-20

_INV_SQRT2 = 0.7071067811865475244


@njit(cache=True, fastmath=False, error_model="numpy")
def _energy_gradient(x, params):
    """Energy and gradient; generic over float64 and complex128 ``x`` (complex step)."""
    n = x.shape[0] // 3
    k_r = params[0]
    r_e = params[1]
    k_t = params[2]
    t_e = params[3]
    sep = int(params[4])
    off_dih = HEADER
    off_s12 = HEADER + 4 * (n - 3) if n >= 3 else HEADER
    off_s6 = off_s12 + n * n
    g = np.zeros_like(x)
    e = x[0] * 0.0

    # Non-bonded pairs |i - j| >= sep.
    for i in range(n):
        for j in range(i + sep, n):
            dx = x[3 * i] - x[3 * j]
            dy = x[3 * i + 1] - x[3 * j + 1]
            dz = x[3 * i + 2] - x[3 * j + 2]
            ir2 = 1.0 / (dx * dx + dy * dy + dz * dz)
            ir6 = ir2 * ir2 * ir2
            a12 = params[off_s12 + i * n + j]
            a6 = params[off_s6 + i * n + j]
            e += 4.0 * (a12 * ir6 * ir6 + a6 * ir6)
            f = -4.0 * (12.0 * a12 * ir6 * ir6 + 6.0 * a6 * ir6) * ir2  # (dV/dr)/r
            g[3 * i] += f * dx
            g[3 * i + 1] += f * dy
            g[3 * i + 2] += f * dz
            g[3 * j] -= f * dx
            g[3 * j + 1] -= f * dy
            g[3 * j + 2] -= f * dz

    # Bonds.
    for i in range(n - 1):
        bx = x[3 * i + 3] - x[3 * i]
        by = x[3 * i + 4] - x[3 * i + 1]
        bz = x[3 * i + 5] - x[3 * i + 2]
        r = np.sqrt(bx * bx + by * by + bz * bz)
        e += 0.5 * k_r * (r - r_e) * (r - r_e)
        f = k_r * (r - r_e) / r
        g[3 * i + 3] += f * bx
        g[3 * i + 4] += f * by
        g[3 * i + 5] += f * bz
        g[3 * i] -= f * bx
        g[3 * i + 1] -= f * by
        g[3 * i + 2] -= f * bz

    # Bond angles at bead i + 1 between u = r_i - r_{i+1} and w = r_{i+2} - r_{i+1}.
    for i in range(n - 2):
        ux = x[3 * i] - x[3 * i + 3]
        uy = x[3 * i + 1] - x[3 * i + 4]
        uz = x[3 * i + 2] - x[3 * i + 5]
        wx = x[3 * i + 6] - x[3 * i + 3]
        wy = x[3 * i + 7] - x[3 * i + 4]
        wz = x[3 * i + 8] - x[3 * i + 5]
        uu = ux * ux + uy * uy + uz * uz
        ww = wx * wx + wy * wy + wz * wz
        uw = ux * wx + uy * wy + uz * wz
        inv = 1.0 / np.sqrt(uu * ww)
        c = uw * inv
        theta = np.arccos(c)
        e += 0.5 * k_t * (theta - t_e) * (theta - t_e)
        de_dc = -k_t * (theta - t_e) / np.sqrt(1.0 - c * c)
        # dc/du = w/(|u||w|) - c u/|u|^2 ; dc/dw = u/(|u||w|) - c w/|w|^2
        gux = de_dc * (wx * inv - c * ux / uu)
        guy = de_dc * (wy * inv - c * uy / uu)
        guz = de_dc * (wz * inv - c * uz / uu)
        gwx = de_dc * (ux * inv - c * wx / ww)
        gwy = de_dc * (uy * inv - c * wy / ww)
        gwz = de_dc * (uz * inv - c * wz / ww)
        g[3 * i] += gux
        g[3 * i + 1] += guy
        g[3 * i + 2] += guz
        g[3 * i + 6] += gwx
        g[3 * i + 7] += gwy
        g[3 * i + 8] += gwz
        g[3 * i + 3] -= gux + gwx
        g[3 * i + 4] -= guy + gwy
        g[3 * i + 5] -= guz + gwz

    # Dihedrals of the quartets (i, i+1, i+2, i+3).
    for i in range(n - 3):
        ca = params[off_dih + 4 * i]
        cb = params[off_dih + 4 * i + 1]
        cc = params[off_dih + 4 * i + 2]
        cd = params[off_dih + 4 * i + 3]
        if ca == 0.0 and cb == 0.0 and cc == 0.0 and cd == 0.0:
            continue
        b1x = x[3 * i + 3] - x[3 * i]
        b1y = x[3 * i + 4] - x[3 * i + 1]
        b1z = x[3 * i + 5] - x[3 * i + 2]
        b2x = x[3 * i + 6] - x[3 * i + 3]
        b2y = x[3 * i + 7] - x[3 * i + 4]
        b2z = x[3 * i + 8] - x[3 * i + 5]
        b3x = x[3 * i + 9] - x[3 * i + 6]
        b3y = x[3 * i + 10] - x[3 * i + 7]
        b3z = x[3 * i + 11] - x[3 * i + 8]
        # n1 = b1 x b2, n2 = b2 x b3
        n1x = b1y * b2z - b1z * b2y
        n1y = b1z * b2x - b1x * b2z
        n1z = b1x * b2y - b1y * b2x
        n2x = b2y * b3z - b2z * b3y
        n2y = b2z * b3x - b2x * b3z
        n2z = b2x * b3y - b2y * b3x
        m1 = n1x * n1x + n1y * n1y + n1z * n1z
        m2 = n2x * n2x + n2y * n2y + n2z * n2z
        b2sq = b2x * b2x + b2y * b2y + b2z * b2z
        b2n = np.sqrt(b2sq)
        inv12 = 1.0 / np.sqrt(m1 * m2)
        c = (n1x * n2x + n1y * n2y + n1z * n2z) * inv12
        s = b2n * (b1x * n2x + b1y * n2y + b1z * n2z) * inv12
        e += (ca * (1.0 + c) + cb * (1.0 - c) + cc * (1.0 + 4.0 * c * c * c - 3.0 * c)
              + cd * (1.0 + (c - s) * _INV_SQRT2))
        de_dphi = (cb - ca) * s - 3.0 * cc * (3.0 * s - 4.0 * s * s * s) - cd * (s + c) * _INV_SQRT2
        # dphi/dr1 = -|b2|/|n1|^2 n1 ; dphi/dr4 = +|b2|/|n2|^2 n2
        f1 = -b2n / m1
        f4 = b2n / m2
        p1x, p1y, p1z = f1 * n1x, f1 * n1y, f1 * n1z
        p4x, p4y, p4z = f4 * n2x, f4 * n2y, f4 * n2z
        t1 = (b1x * b2x + b1y * b2y + b1z * b2z) / b2sq
        t3 = (b3x * b2x + b3y * b2y + b3z * b2z) / b2sq
        # dphi/dr2 = -(1 + t1) dphi/dr1 + t3 dphi/dr4 ; dphi/dr3 = -(1 + t3) dphi/dr4 + t1 dphi/dr1
        # (translation invariance: the four sum to zero)
        p2x = -(1.0 + t1) * p1x + t3 * p4x
        p2y = -(1.0 + t1) * p1y + t3 * p4y
        p2z = -(1.0 + t1) * p1z + t3 * p4z
        p3x = -(1.0 + t3) * p4x + t1 * p1x
        p3y = -(1.0 + t3) * p4y + t1 * p1y
        p3z = -(1.0 + t3) * p4z + t1 * p1z
        g[3 * i] += de_dphi * p1x
        g[3 * i + 1] += de_dphi * p1y
        g[3 * i + 2] += de_dphi * p1z
        g[3 * i + 3] += de_dphi * p2x
        g[3 * i + 4] += de_dphi * p2y
        g[3 * i + 5] += de_dphi * p2z
        g[3 * i + 6] += de_dphi * p3x
        g[3 * i + 7] += de_dphi * p3y
        g[3 * i + 8] += de_dphi * p3z
        g[3 * i + 9] += de_dphi * p4x
        g[3 * i + 10] += de_dphi * p4y
        g[3 * i + 11] += de_dphi * p4z
    return e, g


@njit(cache=True, fastmath=False, error_model="numpy")
def bln_energy_gradient(x, params):
    """BLN energy (ε) and gradient ((3N,), float64) of the chain ``x`` (3N,)."""
    return _energy_gradient(x, params)


@njit(cache=True, fastmath=False, error_model="numpy")
def bln_energy(x, params):
    """BLN energy (ε) of the chain ``x`` (3N,)."""
    return _energy_gradient(x, params)[0]


@njit(cache=True, fastmath=False, error_model="numpy")
def hvp(x, params, v):
    """Hessian-vector product H(x) v, shape (3N,), by the complex step on the gradient."""
    norm = np.sqrt(np.sum(v * v))
    if norm == 0.0:
        return np.zeros_like(x)
    h = COMPLEX_STEP / norm
    xc = x + 1j * h * v
    _, gc = _energy_gradient(xc, params)
    return gc.imag / h


@njit(cache=True, fastmath=False, error_model="numpy")
def hessian(x, params):
    """Dense Hessian, shape (3N, 3N): 3N complex-step gradients, symmetrised."""
    d = x.shape[0]
    h = np.empty((d, d))
    xc = x + 0j
    for k in range(d):
        xc[k] = x[k] + 1j * COMPLEX_STEP
        _, gc = _energy_gradient(xc, params)
        h[:, k] = gc.imag / COMPLEX_STEP
        xc[k] = x[k]
    return 0.5 * (h + h.T)


@njit(cache=True, fastmath=False, error_model="numpy", parallel=True)
def batch_energies(X, params):
    """Energies of the rows of ``X`` (n, 3N) -> (n,), in parallel over rows."""
    out = np.empty(X.shape[0])
    for k in prange(X.shape[0]):
        out[k] = _energy_gradient(X[k], params)[0]
    return out


@njit(cache=True, fastmath=False, error_model="numpy", parallel=True)
def batch_energy_gradients(X, params):
    """Energies (n,) and gradients (n, 3N) of the rows of ``X`` (n, 3N), in parallel over rows."""
    E = np.empty(X.shape[0])
    G = np.empty_like(X)
    for k in prange(X.shape[0]):
        e, g = _energy_gradient(X[k], params)
        E[k] = e
        G[k] = g
    return E, G
