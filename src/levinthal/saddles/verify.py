"""Is this point a transition state? The one gate every reported saddle passes through.

A transition state (first-order saddle) is a stationary point whose Hessian has exactly one
negative eigenvalue once the exact zero modes of the landscape's symmetry (cluster
translations and rotations, network rescalings) are removed (Murrell & Laidler 1968; Wales,
*Energy Landscapes*, 2003, §4.1). :func:`verify_transition_state` asks
:func:`levinthal.curvature.classify` (dense ``eigh`` of the projected Hessian for small
``dim``, Lanczos for large ``dim``) and returns the :class:`~levinthal.landscape.TransitionState`
only when both conditions hold, with a sentence saying why or why not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.curvature import Classification, classify, dense_hessian, eigh_projected, zero_modes_of
from levinthal.landscape import TransitionState, checked
from levinthal.landscape.arrays import Array

__all__ = ["FREQUENCY_MAX_DIM", "check_transition_state", "verify_transition_state"]

FREQUENCY_MAX_DIM = 600
"""Up to this ``dim`` the verified TS also gets Σ log λ over its positive eigenvalues (dense)."""


def check_transition_state(
    landscape: Any,
    x: Array,
    *,
    rms_tol: float = 1e-5,
    method: str = "auto",
    k: int = 4,
    zero_modes: Array | str | None = "symmetry",
    rng: np.random.Generator | int | None = None,
    frequencies: bool | None = None,
) -> tuple[TransitionState | None, str, Classification]:
    """Like :func:`verify_transition_state`, also returning the :class:`Classification`."""
    L = checked(landscape, caller="verify_transition_state")
    c = classify(L, x, rms_tol=rms_tol, method=method, k=k, zero_modes=zero_modes, rng=rng)
    if c.kind != "saddle" or c.index != 1 or c.index_is_lower_bound:
        if c.kind == "saddle":
            bound = "≥ " if c.index_is_lower_bound else ""
            why = f"not a transition state: a saddle of index {bound}{c.index}"
        elif c.kind == "minimum":
            why = "not a transition state: a minimum"
        elif c.kind == "degenerate":
            why = "not a transition state: a degenerate stationary point (zero curvature)"
        else:
            why = "not a transition state: not stationary"
        return None, f"{why} ({c.reason})", c
    mode = c.lowest_eigenvectors[0]
    n = int(L.dim)
    if frequencies is None:
        frequencies = n <= FREQUENCY_MAX_DIM
    logp = None
    if frequencies:
        Z = zero_modes_of(L, x) if isinstance(zero_modes, str) else zero_modes
        w, _ = eigh_projected(dense_hessian(L, x, max_dim=max(n, FREQUENCY_MAX_DIM)), Z)
        pos = w[w > c.zero_tol]
        logp = float(np.log(pos).sum()) if pos.size == n - c.n_zero_modes - 1 else None
    ts = TransitionState(x=x, energy=c.energy, eigenvalue=float(c.lowest_eigenvalues[0]),
                         unstable_mode=mode, n_zero_modes=c.n_zero_modes,
                         log_product_frequencies=logp)
    if not math.isfinite(ts.eigenvalue):
        return None, f"not a transition state: non-finite eigenvalue ({c.reason})", c
    return ts, f"transition state ({c.reason})", c


def verify_transition_state(
    landscape: Any,
    x: Array,
    *,
    rms_tol: float = 1e-5,
    method: str = "auto",
    k: int = 4,
    zero_modes: Array | str | None = "symmetry",
    rng: np.random.Generator | int | None = None,
    frequencies: bool | None = None,
) -> tuple[TransitionState | None, str]:
    """The :class:`TransitionState` at ``x`` if it is one, else ``None``; and the reason.

    Parameters
    ----------
    landscape, x : the landscape and the point (native array type, shape ``(dim,)``).
    rms_tol : float
        Largest RMS gradient ‖∇E‖/√dim of a stationary point (default 1e-5, energy / length).
    method : {"auto", "dense", "lanczos"}
        Passed to :func:`levinthal.curvature.classify` (auto: dense eigh for dim ≤ 3000).
    k : int
        Lowest eigenvalues computed (Lanczos); the index is exact only when fewer than ``k``
        are negative, so an index ≥ k is never taken for 1.
    zero_modes : "symmetry" (default), None or an orthonormal ``(z, dim)`` array
        Modes removed before counting negative eigenvalues.
    frequencies : bool, optional
        Also compute ``log_product_frequencies`` = Σ log λ over the ``dim − z − 1`` positive
        eigenvalues (dense; default: when ``dim ≤ 600``), for harmonic rate theory.

    Returns
    -------
    (TransitionState or None, reason)
        The state carries the energy, the negative eigenvalue, its unit eigenvector
        ``unstable_mode`` (shape ``(dim,)``) and the number of zero modes removed.
    """
    ts, reason, _ = check_transition_state(landscape, x, rms_tol=rms_tol, method=method, k=k,
                                           zero_modes=zero_modes, rng=rng, frequencies=frequencies)
    return ts, reason
