"""Limited-memory BFGS with a maximum step and energy-rise rejection, as in GMIN and pele.

L-BFGS (Nocedal 1980, Math. Comp. 35, 773; Liu & Nocedal 1989, Math. Prog. 45, 503) keeps
the last ``memory`` pairs sᵢ = xᵢ₊₁ − xᵢ, yᵢ = ∇E(xᵢ₊₁) − ∇E(xᵢ) and applies the implied
inverse-Hessian approximation to −∇E with the two-loop recursion. Instead of a Wolfe line
search, the energy-landscape codes of the Wales group (GMIN and OPTIM, used for basin-hopping
since Wales & Doye 1997, J. Phys. Chem. A 101, 5111; and their Python successor pele) accept
any step that does not raise the energy by more than ``max_energy_rise`` and cap the step
length; that is what this module does, on NumPy and torch points alike.

The helpers at the bottom (point preparation, divergence monitor) are shared by the other
minimisers of this package.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from levinthal.landscape import MinimizeResult, checked, native_point, unwrap, vdot, vnorm
from levinthal.landscape.arrays import is_torch_array
from levinthal.landscape.errors import LandscapeError

Array = Any

__all__ = ["lbfgs"]

# Defaults shared with fire / batch so that every quench of a system behaves alike.
DEFAULT_RMS_TOL = 1e-5
DEFAULT_MAX_STEP = 0.1
DEFAULT_DIVERGENCE_WINDOW = 100


def lbfgs(
    landscape: Any,
    x0: Array,
    *,
    rms_tol: float = DEFAULT_RMS_TOL,
    max_step: float = DEFAULT_MAX_STEP,
    memory: int = 4,
    max_iterations: int = 10000,
    max_energy_rise: float = 1e-4,
    initial_inverse_curvature: float = 0.1,
    max_halvings: int = 10,
    energy_floor: float | None = None,
    max_norm: float | None = None,
    divergence_window: int | None = DEFAULT_DIVERGENCE_WINDOW,
    callback: Callable[[Array, float, Array], Any] | None = None,
    record_history: bool = True,
    compiled: bool | None = None,
) -> MinimizeResult:
    """Minimise ``landscape`` from ``x0`` by L-BFGS with a step cap; returns a :class:`MinimizeResult`.

    Parameters (units are the landscape's own: length of x, energy of E)
    ----------
    x0: starting point, shape ``(dim,)``, NumPy array or the landscape's native type (a torch
        tensor stays a tensor on its device throughout; only scalars come to the host).
    rms_tol: stop when the RMS gradient ‖∇E‖/√dim ≤ ``rms_tol``. Default 1e-5, pele's ``tol``
        for a tight quench (GMIN's ``SLOPPYCONV``/``TIGHTCONV`` are of this order).
    max_step: the Euclidean norm of the *whole* step vector is capped at this length (default
        0.1, pele's ``maxstep``; GMIN caps the whole-vector norm too, ``MAXBFGS``). We cap the
        whole vector, not each atom, because the protocol knows no atoms: the same rule holds
        for a network's parameter vector. Without a cap an L-BFGS step with a poor curvature
        model can throw atoms apart (ASE's L-BFGS did so on LJ13).
    memory: number of (s, y) pairs kept (default 4, pele's ``M``; GMIN's ``MUPDATE`` plays
        the same role). On clusters more memory buys little; raise it for networks.
    max_iterations: accepted steps before giving up (default 10000, pele's ``nsteps``).
    max_energy_rise: a trial step raising E by more than this is rejected and halved, up to
        ``max_halvings`` times; then the memory is reset to steepest descent. Default 1e-4
        (pele's ``maxErise``). If even a steepest-descent step cannot be accepted, the run
        stops with ``step collapsed`` (the gradient does not describe the energy).
    initial_inverse_curvature: H₀, the scalar inverse Hessian used before any (s, y) pair is
        known and after a reset (default 0.1, pele's ``H0`` and GMIN's ``DGUESS``). After each
        accepted step H₀ = sᵀy / yᵀy from the newest pair (Liu & Nocedal 1989, eq. 2.9).
    energy_floor, max_norm: if E falls below ``energy_floor`` or ‖x‖ exceeds ``max_norm`` the
        run stops as *diverged* (both off by default).
    divergence_window: stop as *diverged* after this many consecutive full-length steps along
        which the energy fell and the gradient norm did not: the signature of a landscape
        unbounded below along the path (E = −‖x‖², E = x₀). ``None`` disables the check.
    callback: ``callback(x, energy, gradient)`` after each accepted step; returning ``True``
        stops the run.
    record_history: keep ``history["energy"]``, ``["rms_gradient"]`` (entry 0 is x0) and
        ``["step_length"]`` (one per accepted step).
    compiled: use the numba L-BFGS of :mod:`levinthal.minimize.compiled_lbfgs` (same algorithm
        and defaults, no Python call per iteration) when the landscape exposes ``kernel``.
        ``None`` (default): do so unless a ``callback``, ``energy_floor`` or ``max_norm`` asks
        for the Python loop; it then ignores ``max_halvings``, ``divergence_window`` and
        ``record_history``. ``False``: always the Python loop below.

    Pairs with sᵀy ≤ 10⁻¹⁰‖s‖‖y‖ (negative curvature along the step) are not stored, so the
    inverse-Hessian model stays positive definite and every proposed step points downhill.
    Non-finite energies or gradients raise :class:`NonFiniteError` naming the landscape.
    """
    _check_positive(rms_tol=rms_tol, max_step=max_step, initial_inverse_curvature=initial_inverse_curvature)
    if memory < 1 or max_iterations < 0 or max_halvings < 0 or max_energy_rise < 0:
        raise ValueError("lbfgs: memory ≥ 1, max_iterations ≥ 0, max_halvings ≥ 0 and "
                         f"max_energy_rise ≥ 0 required (got {memory}, {max_iterations}, "
                         f"{max_halvings}, {max_energy_rise})")
    has_kernel = getattr(unwrap(landscape), "kernel", None) is not None
    if compiled and not has_kernel:
        raise LandscapeError(f"{landscape.name}: compiled=True but the landscape has no numba `kernel`")
    python_only = callback is not None or energy_floor is not None or max_norm is not None
    if has_kernel and (compiled or (compiled is None and not python_only)):
        from levinthal.minimize.compiled_lbfgs import lbfgs_compiled

        return lbfgs_compiled(landscape, x0, rms_tol=rms_tol, max_step=max_step, memory=memory,
                              max_iterations=max_iterations, max_energy_rise=max_energy_rise,
                              h0=initial_inverse_curvature)

    lc = checked(landscape, caller="lbfgs")
    start = lc.counts.copy()
    x = prepare_point(lc, x0)
    e, g = lc.energy_gradient(x)
    gnorm = vnorm(g)
    sqrt_dim = math.sqrt(lc.dim)
    S: deque[Array] = deque(maxlen=memory)
    Y: deque[Array] = deque(maxlen=memory)
    RHO: deque[float] = deque(maxlen=memory)
    h0 = initial_inverse_curvature
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
        d = two_loop_direction(g, S, Y, RHO, h0)
        if not vdot(d, g) < 0:  # cannot happen with a positive-definite model, but be safe
            h0 = _reset(S, Y, RHO, initial_inverse_curvature)
            d = -h0 * g
        dnorm = vnorm(d)
        scale = min(1.0, max_step / dnorm)
        full_length = dnorm * scale >= max_step * (1 - 1e-9)
        for n_halved in range(max_halvings + 1):  # noqa: B007
            step = scale * d
            x_new = x + step
            e_new, g_new = lc.energy_gradient(x_new)
            if e_new - e <= max_energy_rise:
                break
            scale *= 0.5
        else:
            if not S:
                message = (f"step collapsed: even a steepest-descent step of length "
                           f"{dnorm * scale * 2:.3g} raised the energy by more than {max_energy_rise:g} "
                           f"(rms gradient {rms:.3g}); the gradient may not match the energy")
                break
            h0 = _reset(S, Y, RHO, initial_inverse_curvature)
            continue
        y = g_new - g
        sy = vdot(step, y)
        ynorm = vnorm(y)
        if sy > 1e-10 * dnorm * scale * ynorm:
            S.append(step), Y.append(y), RHO.append(1.0 / sy)
            h0 = sy / (ynorm * ynorm)
        gnorm_new = vnorm(g_new)
        diverged = monitor.update(x_new, e, e_new, gnorm, gnorm_new, full_length and n_halved == 0)
        x, e, g, gnorm = x_new, e_new, g_new, gnorm_new
        it += 1
        if record_history:
            history["energy"].append(e)
            history["rms_gradient"].append(gnorm / sqrt_dim)
            history["step_length"].append(dnorm * scale)
        if diverged:
            message = diverged
            break
        if callback is not None and callback(x, e, g) is True:
            message = f"stopped by callback with rms gradient {gnorm / sqrt_dim:.3g}"
            break
    return MinimizeResult(
        converged=converged, message=message, counts=lc.counts - start,
        history=history if record_history else {}, x=x, energy=e,
        rms_gradient=gnorm / sqrt_dim, iterations=it, method="lbfgs",
    )


def two_loop_direction(g: Array, S: Any, Y: Any, RHO: Any, h0: float) -> Array:
    """The L-BFGS direction −H g by the two-loop recursion (Nocedal 1980), oldest pair first in S."""
    q = g
    alphas = []
    for s, y, rho in zip(reversed(S), reversed(Y), reversed(RHO), strict=True):
        a = rho * vdot(s, q)
        q = q - a * y
        alphas.append(a)
    z = h0 * q
    for s, y, rho, a in zip(S, Y, RHO, reversed(alphas), strict=True):
        b = rho * vdot(y, z)
        z = z + (a - b) * s
    return -z


def _reset(S: deque, Y: deque, RHO: deque, h0: float) -> float:
    """Forget the curvature memory (after a failed step); returns the initial H₀."""
    S.clear()
    Y.clear()
    RHO.clear()
    return h0


# ----------------------------------------------------------------------- shared helpers
def prepare_point(landscape: Any, x0: Array) -> Array:
    """A private copy of ``x0`` in the landscape's native type (NumPy or lists converted once)."""
    if is_torch_array(x0):
        return x0.detach().clone()
    return native_point(landscape, np.array(x0, dtype=np.float64))


def _check_positive(**values: float) -> None:
    for name, v in values.items():
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be positive and finite, got {v!r}")


class DivergenceMonitor:
    """Decide when a minimisation is running away to −∞ instead of towards a minimum.

    ``update`` returns a message (diverged) or ``""``. Criteria: E < ``energy_floor``;
    ‖x‖ > ``max_norm``; or ``window`` consecutive full-length steps with E falling and ‖∇E‖
    not falling. On a landscape bounded below, a quench cannot keep taking maximal steps
    downhill without the gradient ever shrinking; on E = −‖x‖² or E = x₀ it does exactly that.
    """

    def __init__(self, window: int | None, energy_floor: float | None, max_norm: float | None):
        self.window, self.energy_floor, self.max_norm = window, energy_floor, max_norm
        self.streak = 0
        self.e_start = math.nan

    def update(self, x_new: Array, e_old: float, e_new: float, gnorm_old: float, gnorm_new: float,
               full_length: bool) -> str:
        if self.energy_floor is not None and e_new < self.energy_floor:
            return f"diverged: energy {e_new:.6g} fell below energy_floor = {self.energy_floor:g}"
        if self.max_norm is not None:
            xn = vnorm(x_new)
            if xn > self.max_norm:
                return f"diverged: |x| = {xn:.3g} exceeded max_norm = {self.max_norm:g}"
        if self.window is None:
            return ""
        if full_length and e_new < e_old and gnorm_new >= gnorm_old * (1 - 1e-12):
            if self.streak == 0:
                self.e_start = e_old
            self.streak += 1
        else:
            self.streak = 0
        if self.streak >= self.window:
            return (f"diverged: energy fell from {self.e_start:.6g} to {e_new:.6g} over {self.streak} "
                    "consecutive maximal steps while the gradient never shrank; the landscape "
                    "appears unbounded below along this path")
        return ""
