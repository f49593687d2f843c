"""Gradient flow dx/dt = −∇E(x), integrated accurately: the continuous-time limit of gradient descent.

The flow is the path that steepest descent with infinitesimal steps follows, so it defines
each point's basin of attraction exactly and is the reference against which finite-step
minimisers and SGD are measured. We integrate it with the Bogacki–Shampine 3(2) embedded
Runge–Kutta pair (Bogacki & Shampine 1989, Appl. Math. Lett. 2, 321; the method of MATLAB's
``ode23``), which reuses the last stage as the next step's first ("first same as last"), so an
accepted step costs three gradient evaluations. The step size is chosen from the embedded
error estimate in a mixed absolute/relative norm (Hairer, Nørsett & Wanner, *Solving ODEs I*,
§II.4). Along the exact flow dE/dt = −‖∇E‖² < 0; a step whose energy *rises* is therefore an
integration error and is rejected and halved, so the recorded energies never increase.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape import MinimizeResult, array_namespace, checked, vdot, vnorm
from levinthal.minimize.lbfgs import _check_positive, prepare_point

Array = Any

__all__ = ["GradientFlowResult", "gradient_flow"]


@dataclass
class GradientFlowResult(MinimizeResult):
    """A gradient-flow trajectory, recorded at every accepted step.

    ``times``, ``energies``, ``gradient_norms_sq``: NumPy arrays of shape ``(n_steps + 1,)``
    with t, E(x(t)) and ‖∇E(x(t))‖² (entry 0 is x0, t = 0). ``path``: every
    ``path_every``-th point (and the last) in the landscape's native array type, with
    ``path_times`` their times; empty unless requested. ``x`` is the final point x(t_end).
    """

    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energies: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gradient_norms_sq: np.ndarray = field(default_factory=lambda: np.zeros(0))
    path: list[Array] = field(default_factory=list)
    path_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rejected_steps: int = 0


# Bogacki–Shampine 3(2) tableau.
_B3 = (2 / 9, 1 / 3, 4 / 9)  # third-order solution
_MAX_ENERGY_REJECTIONS = 40
_EPS = float(np.finfo(np.float64).eps)
_ERR = (-5 / 72, 1 / 12, 1 / 9, -1 / 8)  # third minus second order, stages k1..k4


def gradient_flow(
    landscape: Any,
    x0: Array,
    *,
    t_max: float = math.inf,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    rms_tol: float = 1e-5,
    first_step: float | None = None,
    max_dt: float = math.inf,
    max_steps: int = 100000,
    path_every: int | None = None,
    callback: Callable[[float, Array, float, Array], Any] | None = None,
) -> GradientFlowResult:
    """Integrate dx/dt = −∇E(x) from ``x0`` (shape ``(dim,)``) until ``t_max`` or ‖∇E‖/√dim ≤ ``rms_tol``.

    ``rtol``, ``atol``: local error tolerances per component, err ≤ atol + rtol·|x|
    (RMS over components), defaults 1e-6 and 1e-9 (length units). ``rms_tol``: stop early at a
    stationary point (default 1e-5 as for ``lbfgs``; 0 integrates to ``t_max``).
    ``first_step``: initial time step (default: chosen from ‖x0‖ and ‖∇E(x0)‖ as in Hairer et
    al.). ``max_dt``: upper bound on the time step. ``max_steps``: accepted steps before
    giving up (default 100000). ``path_every``: store every k-th accepted point in ``path``.
    ``callback(t, x, energy, gradient)`` after each accepted step; ``True`` stops.

    Stops as converged when ``t_max`` is reached, the RMS gradient falls below ``rms_tol``, or
    an accurate step goes uphill only because the predicted decrease h‖∇E‖² is below the
    rounding of E (16 ε |E|; the flow has then reached its minimum to machine precision); not
    converged when 40 successive halvings cannot lower the energy, after ``max_steps``, or
    when the step falls below the floating-point resolution of t. Time is in
    the landscape's units of length² / energy. Works on NumPy and torch points.
    """
    _check_positive(rtol=rtol)
    if not t_max > 0 or not max_dt > 0 or atol < 0 or rms_tol < 0 or max_steps < 0:
        raise ValueError(f"gradient_flow: need t_max > 0, max_dt > 0, atol ≥ 0, rms_tol ≥ 0, max_steps ≥ 0 "
                         f"(got {t_max}, {max_dt}, {atol}, {rms_tol}, {max_steps})")
    if path_every is not None and path_every < 1:
        raise ValueError(f"gradient_flow: path_every must be ≥ 1, got {path_every}")
    lc = checked(landscape, caller="gradient_flow")
    start = lc.counts.copy()
    x = prepare_point(lc, x0)
    xp = array_namespace(x)
    sqrt_dim = math.sqrt(lc.dim)
    e, g = lc.energy_gradient(x)
    gn2 = vdot(g, g)
    t = 0.0
    times, energies, gnorms = [t], [e], [gn2]
    path, path_times = ([x], [t]) if path_every else ([], [])

    def error_norm(err: Array, xa: Array, xb: Array) -> float:
        scale = atol + rtol * xp.maximum(abs(xa), abs(xb))
        return vnorm(err / scale) / sqrt_dim

    if first_step is None:
        d0, d1 = vnorm(x) / sqrt_dim, math.sqrt(gn2) / sqrt_dim
        h = 0.01 * max(d0, atol / max(rtol, 1e-300)) / d1 if d1 > 1e-12 else 1e-6
        h = max(h, 1e-12)
    else:
        h = float(first_step)
    h = min(h, max_dt)
    steps = rejected = energy_rejections = 0
    converged, message = False, ""
    while True:
        rms = math.sqrt(gn2) / sqrt_dim
        if rms <= rms_tol:
            converged, message = True, f"rms gradient {rms:.3g} ≤ rms_tol = {rms_tol:g} at t = {t:.6g}"
            break
        if t >= t_max:
            converged, message = True, f"reached t_max = {t_max:g} with rms gradient {rms:.3g}"
            break
        if steps >= max_steps:
            message = f"reached max_steps = {max_steps} at t = {t:.6g} with rms gradient {rms:.3g}"
            break
        if t + h == t:
            message = (f"step collapsed at t = {t:.6g}: no step the floating-point clock can resolve "
                       f"keeps the energy from rising (rms gradient {rms:.3g})")
            break
        h = min(h, t_max - t)
        k1 = -g
        _, g2 = lc.energy_gradient(x + (0.5 * h) * k1)
        k2 = -g2
        _, g3 = lc.energy_gradient(x + (0.75 * h) * k2)
        k3 = -g3
        x_new = x + h * (_B3[0] * k1 + _B3[1] * k2 + _B3[2] * k3)
        e_new, g_new = lc.energy_gradient(x_new)
        k4 = -g_new
        err = h * (_ERR[0] * k1 + _ERR[1] * k2 + _ERR[2] * k3 + _ERR[3] * k4)
        en = error_norm(err, x, x_new)
        factor = 5.0 if en == 0 else min(5.0, max(0.2, 0.9 * en ** (-1 / 3)))
        if en > 1.0:
            rejected += 1
            h *= max(0.1, min(factor, 0.5))
            continue
        if e_new > e:  # accurate by the error estimate, yet uphill
            drop = h * gn2  # first-order predicted decrease
            if drop < 16 * _EPS * max(abs(e), abs(e_new)) and math.sqrt(gn2) * vnorm(err) < drop:
                converged = True
                message = (f"reached the floating-point resolution of E at t = {t:.6g}: the predicted "
                           f"decrease {drop:.2g} per step is below the rounding of E = {e:.12g} "
                           f"(rms gradient {rms:.3g})")
                break
            rejected += 1
            energy_rejections += 1
            if energy_rejections > _MAX_ENERGY_REJECTIONS:
                message = (f"stalled at t = {t:.6g}: {_MAX_ENERGY_REJECTIONS} halvings of the step could not "
                           f"lower E = {e:.12g} (rms gradient {rms:.3g})")
                break
            h *= 0.5
            continue
        if energy_rejections:
            factor = 1.0  # do not grow straight back into the step that went uphill
        energy_rejections = 0
        t += h
        x, e, g = x_new, e_new, g_new
        gn2 = vdot(g, g)
        steps += 1
        times.append(t), energies.append(e), gnorms.append(gn2)
        if path_every and steps % path_every == 0:
            path.append(x), path_times.append(t)
        h = min(h * factor, max_dt)
        if callback is not None and callback(t, x, e, g) is True:
            message = f"stopped by callback at t = {t:.6g}"
            break
    if path_every and (not path_times or path_times[-1] != t):
        path.append(x), path_times.append(t)
    return GradientFlowResult(
        converged=converged, message=message, counts=lc.counts - start,
        history={"energy": energies, "gradient_norm_sq": gnorms, "time": times},
        x=x, energy=e, rms_gradient=math.sqrt(gn2) / sqrt_dim, iterations=steps,
        method="gradient_flow", times=np.asarray(times), energies=np.asarray(energies),
        gradient_norms_sq=np.asarray(gnorms), path=path, path_times=np.asarray(path_times),
        rejected_steps=rejected,
    )
