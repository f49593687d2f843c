"""Plumbing shared by the single-ended searches: projections, start modes, the final verdict."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.curvature import zero_modes_of
from levinthal.landscape import EvaluationCounts
from levinthal.landscape.arrays import Array, as_like, to_numpy, vdot, vnorm
from levinthal.saddles.results import SaddleSearchResult
from levinthal.saddles.verify import check_transition_state


def project(v: Array, Z: Array | None) -> Array:
    """v − Zᵀ(Z v): ``v`` (shape ``(dim,)``) without its components along the rows of ``Z``."""
    if Z is None:
        return v
    return v - (Z @ v) @ Z


def zero_modes(L: Any, x: Array, use: bool) -> Array | None:
    return zero_modes_of(L, x) if use else None


def rms(g: Array, dim: int) -> float:
    return vnorm(g) / math.sqrt(dim)


def start_mode(L: Any, x: Array, mode0: Array | None, rng: np.random.Generator | int | None,
               Z: Array | None, caller: str) -> Array:
    """Unit start mode off the zero modes: ``mode0`` if given, else random normal from ``rng``."""
    if mode0 is None:
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(0 if rng is None else rng)
        v = as_like(rng.standard_normal(int(L.dim)), x)
    else:
        v = as_like(to_numpy(mode0).reshape(-1), x) if isinstance(x, np.ndarray) else mode0
        if int(v.shape[0]) != int(L.dim) or len(v.shape) != 1:
            raise ValueError(f"{L.name}: {caller}: mode0 has shape {tuple(v.shape)}, expected ({L.dim},)")
        if not np.all(np.isfinite(to_numpy(v))):
            raise ValueError(f"{L.name}: {caller}: mode0 has non-finite entries")
    v = project(v, Z)
    nv = vnorm(v)
    if not nv > 1e-12:
        raise ValueError(f"{L.name}: {caller}: mode0 lies entirely in the symmetry zero modes (or is 0); "
                         "give a direction with a component off the translations/rotations")
    return v / nv


def finish(L: Any, c0: EvaluationCounts, *, method: str, x: Array, energy: float, g: Array,
           eigenvalue: float, mode: Array, iterations: int, stop: str, verify: bool,
           rms_tol: float, verify_options: dict, history: dict) -> SaddleSearchResult:
    """Build the result; the end point is a transition state only if verification says so.

    ``stop`` is "converged" when the search's own test passed, otherwise the reason it stopped.
    """
    r = rms(g, int(L.dim))
    index, reason, ts = -1, "", None
    if stop == "converged":
        if verify:
            ts, reason, c = check_transition_state(L, x, rms_tol=rms_tol, **verify_options)
            index = c.index
            if ts is not None:
                message = f"verified transition state after {iterations} steps: {reason}"
            elif c.kind == "minimum":
                message = f"reached a minimum, not a saddle: {reason}"
            else:
                message = f"stopped at a stationary point that is {reason}"
        else:
            message = (f"RMS gradient {r:.3g} ≤ {rms_tol:.3g} with negative curvature {eigenvalue:.4g} "
                       "(not verified: verify=False, so no transition state is reported)")
    else:
        message = stop
    result = SaddleSearchResult(
        converged=ts is not None, message=message, counts=L.counts - c0, history=history, x=x,
        energy=float(energy), eigenvalue=float(eigenvalue), mode=mode, rms_gradient=r, index=index,
        iterations=iterations, transition_state=ts, method=method, classification_reason=reason,
    )
    if ts is not None:
        # The eigenvector from the classification is the exact one; keep the search's sign.
        if vdot(ts.unstable_mode, mode) < 0:
            ts.unstable_mode = -ts.unstable_mode
        result.eigenvalue, result.mode = ts.eigenvalue, ts.unstable_mode
    return result
