"""Steepest-descent paths from a transition state: which two minima does it connect?

Displace the saddle by ±δ along its unstable mode v and minimise each side (Wales,
*Energy Landscapes*, 2003, §4.2; the procedure of OPTIM's ``PATH`` and pele's
``find_connected_minima``). To second order the energy drops by ½|λ|δ² on each side, so δ is
chosen to make that drop a small fraction of the energy scale:
δ = √(2·drop/|λ|) with drop = ``energy_drop`` × max(1, |E_ts|), capped at ``max_displacement``;
if either side does not go down (a cubic term won), δ is quartered and tried again.

With ``record_path=True`` each side is integrated by gradient flow
(:func:`levinthal.minimize.gradient_flow`) before the final quench, giving the energy
against integrated path length s — the profile of a reaction path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.landscape import MinimizeResult, TransitionState, checked
from levinthal.landscape.arrays import as_like, to_numpy, vnorm
from levinthal.minimize import gradient_flow, minimize

__all__ = ["descend_from_saddle"]


def _arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative Euclidean length along the rows of ``points`` (shape ``(m, dim)``), from 0."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _flow_side(L: Any, x_side: Any, rms_tol: float, path_every: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradient-flow points (``(m, dim)``, NumPy) and energies from ``x_side`` down to its basin."""
    flow = gradient_flow(L, x_side, rms_tol=max(rms_tol, 1e-4), path_every=path_every)
    pts = np.stack([to_numpy(p) for p in flow.path])
    return pts, np.array([L.energy(p) for p in flow.path])


def descend_from_saddle(
    landscape: Any,
    ts: TransitionState,
    *,
    step: float | None = None,
    energy_drop: float = 1e-3,
    max_displacement: float = 0.1,
    retries: int = 4,
    rms_tol: float = 1e-5,
    method: str = "lbfgs",
    record_path: bool = False,
    path_every: int = 1,
    **minimize_options: Any,
) -> tuple[MinimizeResult, MinimizeResult, dict[str, Any]]:
    """Minimise from ``ts.x ∓ δ v`` (v = ``ts.unstable_mode``); returns ``(minus, plus, path)``.

    Parameters
    ----------
    step : float, optional
        δ (length units). Default √(2·drop/|λ|), drop = ``energy_drop`` (default 1e-3) ×
        max(1, |E_ts|), capped at ``max_displacement`` (default 0.1).
    retries : how often δ is quartered when a side does not lie below E_ts (default 4).
    rms_tol, method, minimize_options : passed to :func:`levinthal.minimize.minimize`.
    record_path : also integrate the gradient flow on each side and return its profile.

    Returns
    -------
    (minus, plus, path)
        ``minus`` / ``plus``: the quenches from the −v / +v side (``MinimizeResult``; check
        ``converged``). ``path``: ``delta``, ``energy_minus_start``, ``energy_plus_start``; with
        ``record_path`` also ``arc_length`` (shape ``(m,)``, 0 at the TS, negative on the −
        side), ``energy`` (same shape) and ``points`` (``(m, dim)`` NumPy array).
    """
    L = checked(landscape, caller="descend_from_saddle")
    v = ts.unstable_mode
    nv = vnorm(v)
    if not nv > 0:
        raise ValueError(f"{L.name}: descend_from_saddle: the transition state's unstable mode is zero")
    v = v / nv
    lam = abs(float(ts.eigenvalue))
    e_ts = float(ts.energy)
    if step is None:
        drop = energy_drop * max(1.0, abs(e_ts))
        step = min(max_displacement, math.sqrt(2 * drop / lam)) if lam > 0 else max_displacement
    if not step > 0:
        raise ValueError(f"{L.name}: descend_from_saddle: step must be > 0, got {step}")
    delta = float(step)
    for _ in range(retries + 1):
        xm, xp = ts.x - delta * v, ts.x + delta * v
        em, ep = L.energy(xm), L.energy(xp)
        if em < e_ts and ep < e_ts:
            break
        delta *= 0.25
    else:
        raise ValueError(f"{L.name}: descend_from_saddle: the energy does not drop on both sides of the "
                         f"point along its unstable mode (E_ts = {e_ts:.10g}, E− = {em:.10g}, E+ = {ep:.10g} "
                         f"at δ = {delta * 4:.3g}): is it a transition state?")
    path: dict[str, Any] = {"delta": delta, "energy_minus_start": em, "energy_plus_start": ep}
    starts = [xm, xp]
    if record_path:
        sides = [_flow_side(L, x_side, rms_tol, path_every) for x_side in starts]
        x_ts = to_numpy(ts.x)[None]
        (pm, e_m), (pp, e_p) = sides
        s_m = _arc_length(np.concatenate([x_ts, pm]))
        s_p = _arc_length(np.concatenate([x_ts, pp]))
        path["arc_length"] = np.concatenate([-s_m[::-1], s_p[1:]])
        path["energy"] = np.concatenate([e_m[::-1], [e_ts], e_p])
        path["points"] = np.concatenate([pm[::-1], x_ts, pp])
        # finish each side from where its flow stopped
        starts = [as_like(pm[-1], ts.x), as_like(pp[-1], ts.x)]
    minus = minimize(L, starts[0], method=method, rms_tol=rms_tol, **minimize_options)
    plus = minimize(L, starts[1], method=method, rms_tol=rms_tol, **minimize_options)
    return minus, plus, path
