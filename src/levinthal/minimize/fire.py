"""FIRE: the Fast Inertial Relaxation Engine (Bitzek, Koskinen, Gähler, Moseler & Gumbsch 2006,
Phys. Rev. Lett. 97, 170201).

Damped molecular dynamics of a unit-mass particle in the force F = −∇E: the velocity is
mixed towards the force direction, v ← (1 − α) v + α ‖v‖ F/‖F‖; while the power P = F·v stays
positive for more than ``n_min`` steps the time step grows (×``f_inc``, up to ``dt_max``) and
α shrinks (×``f_alpha``); as soon as P ≤ 0 the particle is stopped (v = 0), the time step cut
(×``f_dec``) and α reset to ``alpha_start``. Integration is semi-implicit (symplectic) Euler,
v ← v + dt F, x ← x + dt v, the integrator recommended for FIRE by Guénolé et al. (2020,
Comput. Mater. Sci. 175, 109584).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from levinthal.landscape import MinimizeResult, checked, vdot, vnorm
from levinthal.minimize.lbfgs import (
    DEFAULT_DIVERGENCE_WINDOW,
    DEFAULT_MAX_STEP,
    DEFAULT_RMS_TOL,
    DivergenceMonitor,
    _check_positive,
    prepare_point,
)

Array = Any

__all__ = ["fire"]


def fire(
    landscape: Any,
    x0: Array,
    *,
    rms_tol: float = DEFAULT_RMS_TOL,
    dt: float = 0.1,
    dt_max: float = 1.0,
    max_step: float = DEFAULT_MAX_STEP,
    n_min: int = 5,
    f_inc: float = 1.1,
    f_dec: float = 0.5,
    alpha_start: float = 0.1,
    f_alpha: float = 0.99,
    max_iterations: int = 100000,
    energy_floor: float | None = None,
    max_norm: float | None = None,
    divergence_window: int | None = DEFAULT_DIVERGENCE_WINDOW,
    callback: Callable[[Array, float, Array], Any] | None = None,
    record_history: bool = True,
) -> MinimizeResult:
    """Minimise ``landscape`` from ``x0`` (shape ``(dim,)``) by FIRE; returns a :class:`MinimizeResult`.

    ``n_min = 5, f_inc = 1.1, f_dec = 0.5, alpha_start = 0.1, f_alpha = 0.99`` are the values
    of Bitzek et al. (2006). ``dt = 0.1`` and ``dt_max = 1.0`` (= 10 dt, the paper's advice) are
    pele's defaults, in the landscape's time unit √(mass·length²/energy) with unit mass.
    ``max_step`` caps the Euclidean norm of each whole-vector displacement dt·v (default 0.1,
    as for :func:`~levinthal.minimize.lbfgs.lbfgs`; without it a large dt_max lets an atom fly).
    ``max_iterations`` defaults to 100000 (one gradient per step; FIRE needs more steps than
    L-BFGS). ``rms_tol``, ``energy_floor``, ``max_norm``, ``divergence_window``, ``callback``
    and ``record_history`` mean what they mean for ``lbfgs``. Works on NumPy and torch points.
    """
    _check_positive(rms_tol=rms_tol, dt=dt, dt_max=dt_max, max_step=max_step, f_inc=f_inc,
                    f_dec=f_dec, alpha_start=alpha_start, f_alpha=f_alpha)
    if dt > dt_max or n_min < 0 or max_iterations < 0:
        raise ValueError(f"fire: need dt ≤ dt_max, n_min ≥ 0, max_iterations ≥ 0 "
                         f"(got dt={dt}, dt_max={dt_max}, n_min={n_min}, max_iterations={max_iterations})")
    lc = checked(landscape, caller="fire")
    start = lc.counts.copy()
    x = prepare_point(lc, x0)
    e, g = lc.energy_gradient(x)
    gnorm = vnorm(g)
    sqrt_dim = math.sqrt(lc.dim)
    v = 0.0 * g
    alpha, n_pos = alpha_start, 0
    history = {"energy": [e], "rms_gradient": [gnorm / sqrt_dim], "step_length": []}
    monitor = DivergenceMonitor(divergence_window, energy_floor, max_norm)
    it = 0
    converged, message = False, ""
    while True:
        rms = gnorm / sqrt_dim
        if rms <= rms_tol:
            converged, message = True, f"rms gradient {rms:.3g} ≤ rms_tol = {rms_tol:g}"
            break
        if it >= max_iterations:
            message = f"reached max_iterations = {max_iterations} with rms gradient {rms:.3g}"
            break
        power = -vdot(g, v)  # F·v with F = −g
        if it == 0:
            pass  # the particle starts at rest: no power to judge yet
        elif power > 0:
            v = (1 - alpha) * v - (alpha * vnorm(v) / gnorm) * g
            n_pos += 1
            if n_pos > n_min:
                dt = min(dt * f_inc, dt_max)
                alpha *= f_alpha
        else:
            v = 0.0 * v
            n_pos = 0
            dt *= f_dec
            alpha = alpha_start
        v = v - dt * g
        step = dt * v
        length = vnorm(step)
        if length > max_step:
            step = (max_step / length) * step
        x_new = x + step
        e_new, g_new = lc.energy_gradient(x_new)
        gnorm_new = vnorm(g_new)
        diverged = monitor.update(x_new, e, e_new, gnorm, gnorm_new, length >= max_step * (1 - 1e-9))
        x, e, g, gnorm = x_new, e_new, g_new, gnorm_new
        it += 1
        if record_history:
            history["energy"].append(e)
            history["rms_gradient"].append(gnorm / sqrt_dim)
            history["step_length"].append(min(length, max_step))
        if diverged:
            message = diverged
            break
        if callback is not None and callback(x, e, g) is True:
            message = f"stopped by callback with rms gradient {gnorm / sqrt_dim:.3g}"
            break
    return MinimizeResult(
        converged=converged, message=message, counts=lc.counts - start,
        history=history if record_history else {}, x=x, energy=e,
        rms_gradient=gnorm / sqrt_dim, iterations=it, method="fire",
    )
