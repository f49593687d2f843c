"""Dense Hessians and their eigen-decomposition on the complement of the zero modes.

For small ``dim`` (up to a few thousand) the whole spectrum is affordable: the Hessian is
formed once (the landscape's own ``hessian`` when it has one, else ``dim`` Hessian-vector
products against unit vectors) and diagonalised with LAPACK on the host. Zero modes are
removed *exactly* by diagonalising Qᵀ H Q, with Q an orthonormal basis of the orthogonal
complement of the zero modes, so a symmetry mode can never be mistaken for a flat or a
negative direction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape import checked, supports, to_numpy
from levinthal.landscape.arrays import Array, is_torch_array

__all__ = ["DENSE_MAX_DIM", "complement_basis", "dense_hessian", "eigh_projected"]

DENSE_MAX_DIM = 5000
"""Default largest ``dim`` for which :func:`dense_hessian` forms a Hessian (dim² doubles: 200 MB)."""


def dense_hessian(landscape: Any, x: Array, max_dim: int = DENSE_MAX_DIM) -> np.ndarray:
    """The Hessian ∇²E(x) as a symmetric host NumPy array of shape ``(dim, dim)``, float64.

    Uses ``landscape.hessian`` when the landscape offers one, otherwise ``dim`` HVPs against
    the unit vectors (in ``x``'s array type and device), and returns ½(H + Hᵀ).
    Raises ``ValueError`` when ``dim > max_dim`` (default 5000): use Lanczos
    (:func:`levinthal.curvature.lanczos_eigs`) for larger systems.
    """
    L = checked(landscape, caller="dense_hessian")
    n = int(L.dim)
    if n > max_dim:
        raise ValueError(
            f"{L.name}: dense_hessian refuses dim = {n} > max_dim = {max_dim} (a dense Hessian "
            f"needs {8 * n * n / 1e9:.1f} GB and {n} HVPs); use lanczos_eigs for extreme "
            "eigenvalues, or raise max_dim explicitly"
        )
    if supports(L, "hessian"):
        H = to_numpy(L.hessian(x))
    else:
        H = np.empty((n, n))
        if is_torch_array(x):
            import torch

            e = torch.zeros_like(x)
        else:
            e = np.zeros_like(np.asarray(x, dtype=np.float64))
        for i in range(n):
            e[i] = 1.0
            H[i] = to_numpy(L.hvp(x, e))
            e[i] = 0.0
    return 0.5 * (H + H.T)


def complement_basis(zero_modes: Array | None, dim: int) -> np.ndarray:
    """Orthonormal basis Q of the complement of the rows of ``zero_modes``, shape ``(dim, dim − k)``.

    From the complete QR factorisation of Zᵀ (Householder, so Q is orthonormal to rounding).
    With no zero modes, Q is the identity.
    """
    if zero_modes is None or int(zero_modes.shape[0]) == 0:
        return np.eye(dim)
    Z = to_numpy(zero_modes)
    if Z.shape[1] != dim:
        raise ValueError(f"complement_basis: zero modes have shape {Z.shape}, expected (k, {dim})")
    q, _ = np.linalg.qr(Z.T, mode="complete")
    return q[:, Z.shape[0]:]


def eigh_projected(H: np.ndarray, zero_modes: Array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the Hessian ``H`` (``(dim, dim)``) restricted to the complement of ``zero_modes``.

    Returns ``(eigenvalues, eigenvectors)``: eigenvalues ascending, shape ``(dim − k,)``;
    eigenvectors as orthonormal *rows* in the full space, shape ``(dim − k, dim)``, each
    orthogonal to every zero mode. Without zero modes this is ``numpy.linalg.eigh``.
    """
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"eigh_projected: H must be square, got shape {H.shape}")
    H = 0.5 * (H + H.T)
    if zero_modes is None or int(zero_modes.shape[0]) == 0:
        w, U = np.linalg.eigh(H)
        return w, U.T
    Q = complement_basis(zero_modes, H.shape[0])
    w, S = np.linalg.eigh(Q.T @ H @ Q)
    return w, (Q @ S).T
