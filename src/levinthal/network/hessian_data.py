"""Hessian data of stationary points, as the database and harmonic rate theory need them.

For a minimum: Σ ln λ over the positive eigenvalues of the Hessian after the landscape's
symmetry zero modes are projected out (the log product of squared normal-mode frequencies for
unit masses), the number of zero modes, and the point-group order where the symmetry can tell.
For a transition state the same over the κ−1 positive eigenvalues, plus the negative one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape import LandscapeError, native_point

__all__ = ["DENSE_LIMIT", "stationary_point_data"]

DENSE_LIMIT = 3000
"""Largest ``dim`` for which Hessian data (a dense Hessian, ``dim`` HVPs) are computed."""


def stationary_point_data(landscape: Any, x: Any, kind: str = "minimum", *,
                          dense_limit: float = DENSE_LIMIT) -> dict[str, Any]:
    """Hessian data of a stationary point for the database and HTST.

    ``kind``: ``"minimum"`` (every eigenvalue positive after the zero modes are removed) or
    ``"ts"`` (exactly one negative). Returns ``log_product_frequencies`` (Σ ln λ over the
    positive non-zero eigenvalues, in the landscape's energy/length² units), ``n_zero_modes``,
    ``eigenvalue`` (the negative one, for a TS) and ``point_group_order`` (when the symmetry can
    tell; None otherwise). Above ``dense_limit`` the Hessian data are None. A point of the wrong
    index raises :class:`LandscapeError`: it is not the stationary point it is stored as.
    """
    from levinthal.curvature import dense_hessian, eigh_projected, zero_modes_of

    x_np = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float)
    out: dict[str, Any] = {"log_product_frequencies": None, "n_zero_modes": 0, "eigenvalue": None,
                           "point_group_order": None}
    symmetry = getattr(landscape, "symmetry", None)
    if symmetry is not None and hasattr(symmetry, "point_group_order"):
        out["point_group_order"] = symmetry.point_group_order(x_np)
    if int(landscape.dim) > dense_limit:
        return out
    xn = native_point(landscape, x_np)
    Z = zero_modes_of(landscape, xn)
    w, _ = eigh_projected(dense_hessian(landscape, xn), Z)
    w = np.sort(np.asarray(w, dtype=float))
    n_neg = int(np.sum(w < 0))
    want = 0 if kind == "minimum" else 1
    name = getattr(landscape, "name", "landscape")
    if n_neg != want or np.any(w[want:] <= 0):
        raise LandscapeError(f"{name}: a stored {kind} has Hessian index {n_neg} (smallest non-zero-mode "
                             f"eigenvalues {w[:3]}), expected {want}")
    out["log_product_frequencies"] = float(np.log(w[want:]).sum())
    out["n_zero_modes"] = 0 if Z is None else int(np.asarray(Z).shape[0])
    if kind == "ts":
        out["eigenvalue"] = float(w[0])
    return out
