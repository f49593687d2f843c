"""Hybrid eigenvector following: climb one mode, minimise in the others.

Munro & Wales 1999 (Phys. Rev. B 59, 3969). Each cycle

1. finds the lowest eigenpair (λ, v) of the Hessian with the symmetry zero modes projected
   out — by Lanczos on Hessian-vector products (:func:`levinthal.curvature.lanczos_eigs`,
   warm-started from the previous v; Lanczos 1950, Paige 1972) or by dimer rotation from
   gradients only (:func:`levinthal.saddles.dimer.rotate_dimer`) — never by a dense Hessian;
2. takes an uphill eigenvector-following step along v: with g∥ = ∇E·v, the shifted-Newton
   step for maximisation Δ = 2 g∥ / (−λ + √(λ² + 4 g∥²)) (Cerjan & Miller 1981; Baker 1986,
   J. Comput. Chem. 7, 385, the rational-function shift along one mode), which is the Newton
   step −g∥/λ for λ < 0 and still goes uphill for λ > 0; its length is capped at ``max_step``;
3. minimises the energy in the tangent space (the complement of v and of the zero modes) by
   a few L-BFGS steps on the projected gradient (Nocedal 1980), each capped at ``max_step``.

It stops when ‖∇E‖/√dim ≤ ``rms_tol`` with λ < 0; the end point is then verified (index 1).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from levinthal.curvature import HessianOperator, lanczos_eigs
from levinthal.landscape import checked
from levinthal.landscape.arrays import Array, vdot, vnorm
from levinthal.minimize.lbfgs import prepare_point, two_loop_direction
from levinthal.saddles._common import finish, project, rms, start_mode, zero_modes
from levinthal.saddles.dimer import ef_uphill_step, rotate_dimer
from levinthal.saddles.results import SaddleSearchResult

__all__ = ["ef_uphill_step", "eigenvector_following", "refine_transition_state"]


def eigenvector_following(
    landscape: Any,
    x0: Array,
    *,
    mode0: Array | None = None,
    rng: np.random.Generator | int | None = None,
    rms_tol: float = 1e-5,
    max_iterations: int = 500,
    max_step: float = 0.1,
    tangent_steps: int = 20,
    tangent_memory: int = 4,
    mode_method: str = "lanczos",
    lanczos_tol: float = 1e-3,
    lanczos_max_iterations: int = 20,
    dimer_separation: float = 1e-3,
    max_energy_rise: float = 1e-4,
    max_distance: float | None = None,
    project_zero_modes: bool = True,
    verify: bool = True,
    verify_options: dict | None = None,
) -> SaddleSearchResult:
    """Search a first-order saddle from ``x0`` by hybrid eigenvector following (module docstring).

    Parameters (units: the landscape's length and energy)
    ----------
    landscape, x0 : the landscape and the start, shape ``(dim,)``.
    mode0 : array ``(dim,)``, optional
        Start vector for the lowest mode (e.g. an NEB tangent). Default: random from ``rng``
        (seed 0 when None). The mode found is the Hessian's lowest, whatever the start.
    rms_tol : float
        Convergence: RMS gradient ‖∇E‖/√dim (default 1e-5), with λ < 0.
    max_iterations : int
        Cycles (eigenpair + uphill step + tangent minimisation) before giving up (default 500).
    max_step : float
        Cap on the uphill step and on each tangent-space step (Euclidean norm; default 0.1).
    tangent_steps, tangent_memory : L-BFGS steps per cycle in the tangent space (default 20;
        fewer when its RMS gradient falls below max(rms_tol/2, |g∥|/√dim)) and pairs kept (4).
    mode_method : {"lanczos", "dimer"}
        Lowest eigenpair by Lanczos on HVPs (default; ``lanczos_tol`` relative residual,
        default 1e-3, ``lanczos_max_iterations`` HVPs per cycle, default 20: a mode good to
        a few degrees suffices for the next uphill step, and on LJ38 a 60-HVP budget cost
        ~1.6x more evaluations per saddle) or by dimer rotation from gradients
        (``dimer_separation``).
    max_energy_rise : float
        A tangent step that raises E by more than this is halved (default 1e-4).
    max_distance, project_zero_modes, verify, verify_options : as for
        :func:`levinthal.saddles.dimer.dimer`.

    Returns
    -------
    SaddleSearchResult
        force calls in ``counts.gradient`` and Hessian-vector products in ``counts.hvp``.
    """
    if mode_method not in ("lanczos", "dimer"):
        raise ValueError("eigenvector_following: mode_method must be 'lanczos' or 'dimer', "
                         f"got {mode_method!r}")
    if not (rms_tol > 0 and max_step > 0 and max_iterations >= 0 and tangent_steps >= 0):
        raise ValueError("eigenvector_following: need rms_tol > 0, max_step > 0, max_iterations ≥ 0 and "
                         f"tangent_steps ≥ 0 (got {rms_tol}, {max_step}, {max_iterations}, {tangent_steps})")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    L = checked(landscape, caller="eigenvector_following")
    c0 = L.counts.copy()
    x = prepare_point(L, x0)
    x_start = x
    dim = int(L.dim)
    sqrt_dim = math.sqrt(dim)
    Z = zero_modes(L, x, project_zero_modes)
    v = start_mode(L, x, mode0, rng, Z, "eigenvector_following")
    e, g = L.energy_gradient(x)
    hist: dict[str, list[float]] = {"energy": [], "rms_gradient": [], "eigenvalue": [], "uphill_step": []}
    if dim <= 3:
        for i in range(dim):
            hist[f"x{i}"] = [float(x[i])]
    lam = float("nan")
    stop = f"budget exhausted: {max_iterations} cycles without reaching a saddle"
    it = 0

    def record() -> None:
        if dim <= 3:
            for i in range(dim):
                hist[f"x{i}"].append(float(x[i]))

    for it in range(max_iterations + 1):
        # 1. lowest eigenpair off the zero modes
        if mode_method == "lanczos":
            op = HessianOperator(L, x, Z)
            if dim - op.n_zero_modes < 1:
                raise ValueError(f"{L.name}: eigenvector_following: no dimension left outside the zero modes")
            res = lanczos_eigs(op, k=1, which="smallest", tol=lanczos_tol,
                               max_iterations=lanczos_max_iterations, rng=rng, v0=v)
            lam, v_new = float(res.eigenvalues[0]), res.eigenvectors[0]
        else:
            v_new, lam, _, _ = rotate_dimer(L, x, g, v, separation=dimer_separation, Z=Z)
        v_new = project(v_new, Z)
        v_new = v_new / vnorm(v_new)
        v = v_new if vdot(v_new, v) >= 0 else -v_new
        r = rms(g, dim)
        hist["energy"].append(float(e))
        hist["rms_gradient"].append(r)
        hist["eigenvalue"].append(lam)
        if r <= rms_tol:
            if lam < 0:
                stop = "converged"
            else:
                stop = (f"reached a stationary point whose lowest eigenvalue {lam:.4g} is not negative "
                        f"(RMS gradient {r:.3g}): a minimum or flat point, not a saddle")
            break
        if it == max_iterations:
            break
        # 2. uphill EF step along v
        gp = vdot(g, v)
        delta = ef_uphill_step(gp, lam, max_step)
        hist["uphill_step"].append(delta)
        x = x + delta * v
        e, g = L.energy_gradient(x)
        record()
        # 3. tangent-space L-BFGS, v and zero modes held out
        S: deque = deque(maxlen=tangent_memory)
        Y: deque = deque(maxlen=tangent_memory)
        RHO: deque = deque(maxlen=tangent_memory)
        h0 = 1.0 / abs(lam) if lam > 0 else 0.01
        h0 = min(h0, 1.0)
        gt = project(g - vdot(g, v) * v, Z)
        for _ in range(tangent_steps):
            if vnorm(gt) / sqrt_dim <= max(0.5 * rms_tol, abs(vdot(g, v)) / sqrt_dim):
                break
            step = two_loop_direction(gt, S, Y, RHO, h0) if S else -h0 * gt
            step = project(step - vdot(step, v) * v, Z)
            if vdot(step, gt) >= 0:
                S.clear()
                Y.clear()
                RHO.clear()
                step = -h0 * gt
            sn = vnorm(step)
            if sn > max_step:
                step = step * (max_step / sn)
            for _halving in range(10):
                e_new, g_new = L.energy_gradient(x + step)
                if e_new - e <= max_energy_rise:
                    break
                step = 0.5 * step
                S.clear()
                Y.clear()
                RHO.clear()
            else:
                break
            gt_new = project(g_new - vdot(g_new, v) * v, Z)
            y = gt_new - gt
            sy = vdot(step, y)
            if sy > 0:
                S.append(step)
                Y.append(y)
                RHO.append(1.0 / sy)
                h0 = sy / vdot(y, y)
            x, e, g, gt = x + step, e_new, g_new, gt_new
            record()
        if project_zero_modes and Z is not None:
            Z = zero_modes(L, x, True)
        if max_distance is not None and vnorm(x - x_start) > max_distance:
            stop = (f"left the region: ‖x − x0‖ = {vnorm(x - x_start):.4g} > max_distance "
                    f"{max_distance:.4g} after {it + 1} cycles")
            break
        if not math.isfinite(e):
            stop = f"non-finite energy after {it + 1} cycles"
            break
    return finish(L, c0, method=f"eigenvector-following ({mode_method})", x=x, energy=e, g=g,
                  eigenvalue=lam, mode=v, iterations=it, stop=stop, verify=verify, rms_tol=rms_tol,
                  verify_options=verify_options or {}, history=hist)


def refine_transition_state(
    landscape: Any,
    x_guess: Array,
    *,
    tangent: Array | None = None,
    **options: Any,
) -> SaddleSearchResult:
    """Turn an approximate saddle (e.g. a climbing image) into a verified transition state.

    Runs :func:`eigenvector_following` from ``x_guess`` with the lowest-mode search started
    from ``tangent`` (the path tangent at the image, shape ``(dim,)``), so the mode followed
    is the one along the path whenever it is the lowest. ``options`` go to
    :func:`eigenvector_following` (``rms_tol``, ``max_step`` ...; default ``max_step`` 0.05,
    since the guess is close).
    """
    options.setdefault("max_step", 0.05)
    return eigenvector_following(landscape, x_guess, mode0=tangent, **options)
