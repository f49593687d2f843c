"""The dimer method: a saddle search with gradients only, never a Hessian.

Henkelman & Jónsson 1999 (J. Chem. Phys. 111, 7010), with the rotation and translation
improvements of Heyden, Bell & Keil 2005 (J. Chem. Phys. 123, 224101) and Kästner & Sherwood
2008 (J. Chem. Phys. 128, 014106).

A dimer is a point x and a unit orientation N. Its *curvature* along N comes from two
gradients, C = (∇E(x + δN) − ∇E(x))·N / δ (forward difference, separation δ).

*Rotation* turns N towards the lowest-curvature mode. The rotational force
F_rot = −(H N − C N) (H N ≈ (∇E(x+δN) − ∇E(x))/δ) gives the search plane (N, Θ); along the
rotation angle φ the curvature is C(φ) = a₀/2 + a₁ cos 2φ + b₁ sin 2φ, with b₁ = Θᵀ H N known
and a₁ fitted from one trial rotation by φ₁ = −½ atan(b₁ / |C|); the minimising angle is
φ = ½ atan(b₁ / a₁) (Heyden et al. 2005, eqs. 8–13). The gradient at the rotated end is then
interpolated, not recomputed (it is linear in N for a quadratic model). Successive rotation
directions are conjugated (Polak–Ribière; Henkelman & Jónsson 1999, §III).

*Translation* follows the modified force F† = F − 2(F·N)N (F = −∇E), which points uphill
along N and downhill in every other direction, so a saddle is a minimum of the surrogate
it describes. With C < 0 steps are L-BFGS steps on F† (Kästner & Sherwood 2008), capped by an
adaptive trust radius ≤ ``max_step``. Where C > 0 the dimer is still in a convex region:
Henkelman & Jónsson (1999, eq. 4) then follow only the uphill part −(F·N)N by a fixed step
``max_step`` (``convex_step="fixed"``). The default ``convex_step="ef"`` instead takes the
eigenvector-following uphill step along N, Δ = 2 g∥ / (−C + √(C² + 4 g∥²)) (Cerjan & Miller
1981; Munro & Wales 1999), plus a steepest-descent step off N: on LJ7 from perturbed minima
the fixed climb with frozen perpendicular coordinates let an atom evaporate in 2–3 of 12
searches (the curvature then vanishes), the EF-shaped step in none, with half the force calls.

Zero modes (cluster translations and rotations, declared by the landscape's symmetry) are
projected out of N, the rotational force and the translation force at every step, so the
dimer can neither rotate into a symmetry mode (curvature ≈ 0, which the true unstable mode of
a saddle never equals) nor drift the cluster.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from levinthal.landscape import checked
from levinthal.landscape.arrays import Array, vdot, vnorm
from levinthal.minimize.lbfgs import prepare_point, two_loop_direction
from levinthal.saddles._common import finish, project, rms, start_mode, zero_modes
from levinthal.saddles.results import SaddleSearchResult

__all__ = ["dimer", "ef_uphill_step", "rotate_dimer"]


def ef_uphill_step(g_par: float, eigenvalue: float, max_step: float) -> float:
    """Signed step length along a mode: Δ = 2 g∥ / (−λ + √(λ² + 4 g∥²)), capped at ``max_step``.

    The shifted-Newton step that maximises along one mode (Cerjan & Miller 1981; Baker 1986,
    J. Comput. Chem. 7, 385): the Newton step −g∥/λ for λ < 0, and still uphill (sign of g∥)
    for λ ≥ 0. Where g∥ = 0 and λ ≥ 0 (the bottom of a well along the mode) it is +max_step.
    """
    lam, gp = float(eigenvalue), float(g_par)
    den = -lam + math.sqrt(lam * lam + 4 * gp * gp)
    if den <= 0 or not math.isfinite(den):
        return max_step if gp >= 0 else -max_step
    step = 2 * gp / den
    return max(-max_step, min(max_step, step))


def rotate_dimer(
    L: Any,
    x: Array,
    g0: Array,
    N: Array,
    *,
    separation: float = 1e-3,
    max_rotations: int = 8,
    angle_tol: float = 1e-2,
    Z: Array | None = None,
) -> tuple[Array, float, int, float]:
    """Rotate the dimer at ``x`` (gradient ``g0``) from the unit mode ``N`` towards the lowest mode.

    Returns ``(N, C, n_gradients, c_max)``: the new unit mode, its finite-difference curvature
    (energy / length²), the gradient evaluations used (1 + one per rotation) and the largest
    |curvature| met on the way (a scale for "is C ≈ 0?"). Rotation stops when the trial angle
    falls below ``angle_tol`` (radians, default 0.01) or after ``max_rotations`` (default 8).
    ``Z``: orthonormal zero modes to keep N and Θ away from.
    """
    dim = int(L.dim)
    d = float(separation)
    g1 = L.energy_gradient(x + d * N)[1]
    used = 1
    F_prev = d_prev = None
    c_max = 0.0
    for _ in range(max_rotations):
        HN = (g1 - g0) / d
        C = vdot(HN, N)
        c_max = max(c_max, abs(C))
        Frot = project(-(HN - C * N), Z)
        Frot = Frot - vdot(Frot, N) * N
        fn = vnorm(Frot)
        if not fn > 1e-14 * max(1.0, abs(C)) * math.sqrt(dim):
            break
        direction = Frot
        if F_prev is not None:
            gamma = max(0.0, vdot(Frot - F_prev, Frot) / max(vdot(F_prev, F_prev), 1e-300))
            direction = Frot + gamma * d_prev
        direction = direction - vdot(direction, N) * N
        if vdot(direction, Frot) <= 0:
            direction = Frot
        dn = vnorm(direction)
        theta = direction / dn
        b1 = vdot(HN, theta)  # Θᵀ H N = ½ dC/dφ at φ = 0, negative along the rotational force
        phi1 = -0.5 * math.atan(b1 / max(abs(C), 1e-300))
        if abs(phi1) < angle_tol:
            break
        N1 = N * math.cos(phi1) + theta * math.sin(phi1)
        N1 = N1 / vnorm(N1)
        g1t = L.energy_gradient(x + d * N1)[1]
        used += 1
        C1 = vdot((g1t - g0) / d, N1)
        c_max = max(c_max, abs(C1))
        a1 = (C - C1 + b1 * math.sin(2 * phi1)) / (1 - math.cos(2 * phi1))
        a0 = 2 * (C - a1)
        phi = 0.5 * math.atan2(b1, a1) if a1 != 0 else math.pi / 4 * (1 if b1 > 0 else -1)
        # the two extrema of C(φ) are π/2 apart: keep the one of lower curvature
        cands = [phi, phi + math.pi / 2]
        curv = [a0 / 2 + a1 * math.cos(2 * p) + b1 * math.sin(2 * p) for p in cands]
        phi = cands[int(np.argmin(curv))]
        phi = (phi + math.pi / 2) % math.pi - math.pi / 2
        # gradient at x + δ N(φ), linear in N: δ H Θ from the trial rotation
        dHtheta = (g1t - g0 - math.cos(phi1) * (g1 - g0)) / math.sin(phi1)
        g1 = g0 + math.cos(phi) * (g1 - g0) + math.sin(phi) * dHtheta
        N_new = N * math.cos(phi) + theta * math.sin(phi)
        # the conjugate direction rotates with the dimer (Henkelman & Jónsson 1999)
        theta_rot = theta * math.cos(phi) - N * math.sin(phi)
        F_prev, d_prev = Frot, dn * theta_rot
        N = project(N_new, Z)
        N = N / vnorm(N)
    C = vdot((g1 - g0) / d, N)
    return N, C, used, max(c_max, abs(C))


def dimer(
    landscape: Any,
    x0: Array,
    *,
    mode0: Array | None = None,
    rng: np.random.Generator | int | None = None,
    rms_tol: float = 1e-5,
    max_iterations: int = 1000,
    max_step: float = 0.1,
    dimer_separation: float = 1e-3,
    max_rotations: int = 3,
    rotation_angle_tol: float = 0.05,
    memory: int = 5,
    initial_inverse_curvature: float = 0.01,
    reset_angle: float = 0.2,
    convex_step: str = "ef",
    flat_curvature: float = 1e-5,
    flat_steps: int = 10,
    max_distance: float | None = None,
    project_zero_modes: bool = True,
    verify: bool = True,
    verify_options: dict | None = None,
) -> SaddleSearchResult:
    """Search a first-order saddle from ``x0`` by the dimer method; see the module docstring.

    Parameters (units: the landscape's length and energy)
    ----------
    landscape, x0 : the landscape and the start, shape ``(dim,)`` (native array type).
    mode0 : array ``(dim,)``, optional
        Initial dimer orientation (need not be normalised). Default: a random normal direction
        from ``rng`` (seed 0 when ``rng`` is None, so runs are reproducible).
    rms_tol : float
        Stop when ‖∇E‖/√dim ≤ rms_tol (default 1e-5) with negative curvature; the end point is
        then verified (index exactly 1 after zero modes) before it is reported.
    max_iterations : int
        Translation steps before giving up (default 1000).
    max_step : float
        Largest translation step (Euclidean norm of the whole step; default 0.1).
    dimer_separation : float
        δ of the finite-difference curvature (default 1e-3).
    max_rotations, rotation_angle_tol : rotations per translation step (default 3) and the
        trial angle (radians, default 0.05) below which N counts as converged. On LJ7/LJ38
        from perturbed minima, 8 rotations to 0.01 rad cost ~1.5x more force calls per
        verified saddle than 3 to 0.05 rad (the mode keeps improving over later steps).
    memory, initial_inverse_curvature : L-BFGS pairs for the translation (default 5) and the
        scalar inverse curvature before any pair is known (default 0.01). The memory is
        cleared when a rotation turns N by more than ``reset_angle`` (radians, default 0.2),
        since the pairs then describe another surrogate (Kästner & Sherwood 2008), and when a
        step overshoots (F† reverses and grows), which also halves the trust radius (≤ max_step).
    convex_step : {"ef", "fixed"}
        The step where C > 0 (module docstring; default "ef").
    flat_curvature, flat_steps : give up when |C| stays below ``flat_curvature`` (default 1e-5)
        times the largest |C| seen for ``flat_steps`` (default 10) steps: the dimer is then
        following a flat direction, typically an atom evaporating from a cluster. (1e-3 was
        too coarse: LJ38's stiffest curvatures reach ~5000 while its real soft modes are ~0.1.)
    max_distance : float, optional
        Give up when ‖x − x0‖ exceeds this (the search left the region of interest).
    project_zero_modes : bool
        Remove the landscape's symmetry zero modes from N and the forces (default True).
    verify : bool
        Classify the end point with :func:`levinthal.saddles.verify.verify_transition_state`
        (default True). Without verification no transition state is ever reported.
    verify_options : dict, optional
        Extra keywords for the verification (``method``, ``k``, ``rng``, ``frequencies``).

    Returns
    -------
    SaddleSearchResult
        ``counts.gradient`` are the force calls (verification included); ``history`` has
        per-step ``energy``, ``rms_gradient``, ``curvature``, ``step`` and, for 2-D systems,
        the path (``x0``, ``x1``).
    """
    if convex_step not in ("ef", "fixed"):
        raise ValueError(f"dimer: convex_step must be 'ef' or 'fixed', got {convex_step!r}")
    if not (rms_tol > 0 and max_step > 0 and dimer_separation > 0 and max_iterations >= 0):
        raise ValueError(f"dimer: need rms_tol, max_step, dimer_separation > 0 and max_iterations ≥ 0 "
                         f"(got {rms_tol}, {max_step}, {dimer_separation}, {max_iterations})")
    L = checked(landscape, caller="dimer")
    c0 = L.counts.copy()
    x = prepare_point(L, x0)
    x_start = x
    dim = int(L.dim)
    Z = zero_modes(L, x, project_zero_modes)
    N = start_mode(L, x, mode0, rng, Z, "dimer")
    e, g = L.energy_gradient(x)
    hist: dict[str, list[float]] = {"energy": [], "rms_gradient": [], "curvature": [], "step": []}
    if dim <= 3:
        for i in range(dim):
            hist[f"x{i}"] = [float(x[i])]
    S: deque = deque(maxlen=memory)
    Y: deque = deque(maxlen=memory)
    RHO: deque = deque(maxlen=memory)
    h0 = initial_inverse_curvature
    h0_convex = initial_inverse_curvature
    C = float("nan")
    stop = f"budget exhausted: {max_iterations} translation steps without reaching a saddle"
    it = 0
    trust = max_step
    c_scale, n_flat = 0.0, 0
    for it in range(max_iterations + 1):
        N_before = N
        N, C, _, c_seen = rotate_dimer(L, x, g, N, separation=dimer_separation,
                                       max_rotations=max_rotations, angle_tol=rotation_angle_tol, Z=Z)
        if abs(vdot(N, N_before)) < math.cos(reset_angle):
            # the surrogate's curvature changed with the mode: old pairs describe another problem
            S.clear()
            Y.clear()
            RHO.clear()
        r = rms(g, dim)
        hist["energy"].append(float(e))
        hist["rms_gradient"].append(r)
        hist["curvature"].append(float(C))
        if r <= rms_tol:
            if C < 0:
                stop = "converged"
            else:
                stop = (f"reached a stationary point with non-negative curvature {C:.4g} along the "
                        f"dimer (RMS gradient {r:.3g}): a minimum or flat point, not a saddle")
            break
        c_scale = max(c_scale, c_seen)
        n_flat = n_flat + 1 if abs(C) < flat_curvature * c_scale else 0
        if n_flat >= flat_steps:
            stop = (f"zero curvature: |C| = {abs(C):.3g} < {flat_curvature:g} × the largest |C| seen "
                    f"({c_scale:.3g}) for {flat_steps} steps — the dimer follows a flat direction "
                    "(e.g. an atom leaving a cluster) and no saddle is in sight")
            break
        if it == max_iterations:
            break
        F = -g
        FN = vdot(F, N)
        if C < 0:
            Fd = project(F - 2 * FN * N, Z)
            step = two_loop_direction(-Fd, S, Y, RHO, h0) if S else h0 * Fd
            if vdot(step, Fd) <= 0:
                S.clear()
                Y.clear()
                RHO.clear()
                step = h0 * Fd
        else:
            # convex region: climb along N only, a fixed step (Henkelman & Jónsson 1999)
            S.clear()
            Y.clear()
            RHO.clear()
            Fd = -FN * N
            if convex_step == "fixed":
                sign = 1.0 if FN <= 0 else -1.0
                step = sign * max_step * N
            else:
                # EF-shaped uphill step along N plus steepest descent off N (Munro & Wales 1999)
                F_perp = project(F - FN * N, Z)
                step = ef_uphill_step(-FN, C, max_step) * N + h0_convex * F_perp
        sn = vnorm(step)
        cap = trust if C < 0 else max_step
        if sn > cap:
            step = step * (cap / sn)
            sn = cap
        x_new = x + step
        e_new, g_new = L.energy_gradient(x_new)
        if C < 0:
            Fd_new = project(-g_new - 2 * vdot(-g_new, N) * N, Z)
            # trust radius on the surrogate: an overshoot (F† reversed and grew) halves it
            if vdot(Fd_new, step) < 0 and vnorm(Fd_new) > vnorm(Fd):
                trust = max(0.5 * sn, 1e-3 * max_step)
                S.clear()
                Y.clear()
                RHO.clear()
            elif sn >= 0.99 * trust:
                trust = min(max_step, 2 * trust)
            y = -(Fd_new - Fd)
            sy = vdot(step, y)
            if sy > 1e-12 * sn * vnorm(y):
                S.append(step)
                Y.append(y)
                RHO.append(1.0 / sy)
                h0 = sy / vdot(y, y)
        x, e, g = x_new, e_new, g_new
        hist["step"].append(sn)
        if dim <= 3:
            for i in range(dim):
                hist[f"x{i}"].append(float(x[i]))
        if project_zero_modes and Z is not None:
            Z = zero_modes(L, x, True)
        if max_distance is not None and vnorm(x - x_start) > max_distance:
            stop = (f"left the region: ‖x − x0‖ = {vnorm(x - x_start):.4g} > max_distance "
                    f"{max_distance:.4g} after {it + 1} steps")
            break
        if not math.isfinite(e):
            stop = f"non-finite energy after {it + 1} steps"
            break
    return finish(L, c0, method="dimer", x=x, energy=e, g=g, eigenvalue=C, mode=N, iterations=it,
                  stop=stop, verify=verify, rms_tol=rms_tol, verify_options=verify_options or {},
                  history=hist)
