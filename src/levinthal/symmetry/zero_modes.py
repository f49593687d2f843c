"""Shared helpers for zero-mode bases: turn a set of tangent vectors into orthonormal rows.

A symmetry object's ``zero_modes(x)`` returns an orthonormal basis, shape ``(k, dim)``, of
the tangent space of the symmetry orbit through ``x``. The generators (translations,
rotations, rescalings ...) are rarely orthonormal and can be linearly dependent (a linear
molecule has no rotation about its axis; a dead hidden unit has no rescaling mode), so the
rank is decided numerically: a direction counts if its singular value exceeds
``rtol`` times the largest one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_RTOL = 1e-8
"""Relative singular-value tolerance below which a generator is treated as dependent."""


def orthonormal_rows(generators: np.ndarray, *, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """Orthonormal basis of the row space of ``generators`` (NumPy).

    Parameters
    ----------
    generators : ndarray, shape ``(m, dim)``
        Tangent vectors, one per row; may be dependent or zero.
    rtol : float
        Rows of the SVD whose singular value is ``<= rtol * s_max`` are dropped (default 1e-8,
        far above float64 round-off for O(1) coordinates, far below any genuine mode).

    Returns
    -------
    ndarray, shape ``(k, dim)``
        ``k = rank`` orthonormal rows spanning the same space (``k = 0`` if all are zero).
    """
    generators = np.asarray(generators, dtype=np.float64)
    if generators.ndim != 2:
        raise ValueError(f"orthonormal_rows: generators must be 2-D (m, dim), got shape {generators.shape}")
    m, dim = generators.shape
    if m == 0:
        return np.zeros((0, dim))
    _, s, vt = np.linalg.svd(generators, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((0, dim))
    rank = int(np.sum(s > rtol * s[0]))
    return np.ascontiguousarray(vt[:rank])


def orthonormal_rows_torch(generators: Any, *, rtol: float = DEFAULT_RTOL) -> Any:
    """Orthonormal basis of the row space of a ``torch.Tensor`` ``generators`` of shape ``(m, dim)``.

    Uses a reduced QR factorisation of the ``(dim, m)`` transpose (cheap for ``m << dim``,
    stays on the tensor's device). If any ``|R_ii|`` falls below ``rtol * max |R_ii|`` the
    generators are (nearly) dependent and the rank-revealing SVD is used instead. ``rtol`` is
    raised to ``1000 * eps`` of the dtype (1.2e-4 for float32) so round-off is never a mode.
    Returns a tensor of shape ``(k, dim)``, same dtype and device.
    """
    import torch

    if generators.ndim != 2:
        raise ValueError(
            f"orthonormal_rows_torch: generators must be 2-D (m, dim), got shape {tuple(generators.shape)}"
        )
    m, dim = generators.shape
    if m == 0:
        return generators.new_zeros((0, dim))
    rtol = max(rtol, 1e3 * torch.finfo(generators.dtype).eps)  # float32 round-off is ~1e-7
    q, r = torch.linalg.qr(generators.T, mode="reduced")
    diag = torch.diagonal(r).abs()
    top = float(diag.max())
    if top > 0.0 and bool((diag > rtol * top).all()):
        return q.T.contiguous()
    _, s, vh = torch.linalg.svd(generators, full_matrices=False)
    if s.numel() == 0 or float(s[0]) == 0.0:
        return generators.new_zeros((0, dim))
    rank = int((s > rtol * s[0]).sum())
    return vh[:rank].contiguous()
