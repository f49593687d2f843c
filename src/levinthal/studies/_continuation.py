"""Natural-parameter continuation of a minimum of a family of landscapes L_t, with detection of
the points where it loses stability.

Predictor–corrector continuation (Allgower & Georg 1990, *Numerical Continuation Methods*, ch. 2):
along a branch of stationary points ∇L_t(x(t)) = 0, so H dx/dt = −∂_t ∇L_t. The predictor takes
the tangent from that system, solved with conjugate gradients on Hessian-vector products
(Hestenes & Stiefel 1952; MINRES, Paige & Saunders 1975, when CG fails on an indefinite H); the
corrector runs Newton's method on ∇L_t = 0, so it stays on the branch even after the branch
turns into a saddle. The smallest Hessian eigenvalue (dense for small ``dim``, else Lanczos with
the landscape's zero modes removed) is tracked along the branch:

* a sign change between two steps is a *crossing* (pitchfork / transcritical bifurcation); its
  parameter is located by linear interpolation of the eigenvalue, and the minimum is continued
  on a new branch by minimising from x ± ε v_min (branch switching, Keller 1977);
* a corrector that fails (no stationary point nearby) marks a *fold* (saddle-node): the branch
  ended between the two steps, and the minimum is continued from wherever minimisation from
  the predicted point lands.

∂_t ∇L_t is taken by a central difference in t of the gradient, which is exact (to rounding) for
the affine homotopies (1 − t)·L_a + t·L_b used by the studies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator, cg, minres

from levinthal.curvature import dense_hessian, lanczos_eigs, zero_modes_of
from levinthal.landscape import checked
from levinthal.minimize import minimize

__all__ = ["Bifurcation", "ContinuationResult", "continue_minimum", "smallest_eigenpair"]


@dataclass
class Bifurcation:
    """Where the followed minimum stopped being one.

    ``kind``: "crossing" (the smallest eigenvalue changed sign on a continuous branch) or "fold"
    (the branch ended: the corrector found no stationary point); ``t``: the located parameter
    (crossing: interpolated zero of λ_min; fold: the last parameter on the old branch);
    ``interval``: the two steps it lies between; ``jump``: ‖x_new − x_old‖ between the old
    branch's last point and the new minimum; ``energy_drop``: E_t(old branch point) − E_t(new
    minimum) at the step where the switch was made (≥ 0 for a crossing); ``lambda_before``: λ_min
    at the last point of the old branch (small near a genuine fold).
    """

    kind: str
    t: float
    interval: tuple[float, float]
    jump: float
    energy_drop: float
    lambda_before: float = math.nan


@dataclass
class ContinuationResult:
    """The followed minimum at every parameter ``ts`` (shape ``(n,)``): ``xs`` ``(n, dim)``,
    ``energies`` ``(n,)``, ``lambda_min`` ``(n,)`` (smallest Hessian eigenvalue off the zero modes
    at the recorded minimum), ``bifurcations`` and ``observed`` (one dict per step from
    ``observe``); ``hvps``: Hessian-vector products used by predictor, corrector and eigenvalues."""

    ts: np.ndarray
    xs: np.ndarray
    energies: np.ndarray
    lambda_min: np.ndarray
    bifurcations: list[Bifurcation] = field(default_factory=list)
    observed: list[dict[str, float]] = field(default_factory=list)
    newton_iterations: int = 0
    hvps: int = 0


def smallest_eigenpair(L: Any, x: np.ndarray, dense_max_dim: int = 400,
                       rng: int = 0) -> tuple[float, np.ndarray]:
    """Smallest Hessian eigenvalue of ``L`` at ``x`` off its zero modes, with its eigenvector.

    Dense ``eigh`` for ``dim ≤ dense_max_dim``, else Lanczos (``which="smallest"``)."""
    Z = zero_modes_of(L, x)
    if L.dim <= dense_max_dim:
        H = dense_hessian(L, x)
        if Z is not None and Z.shape[0]:
            from levinthal.curvature import eigh_projected

            w, U = eigh_projected(H, Z)
            return float(w[0]), np.asarray(U[0])
        w, U = np.linalg.eigh(H)
        return float(w[0]), U[:, 0]
    res = lanczos_eigs(L, x, k=1, which="smallest", tol=1e-8, zero_modes=Z, rng=rng)
    return float(res.eigenvalues[0]), np.asarray(res.eigenvectors[0])


def _solve(L: Any, x: np.ndarray, b: np.ndarray, dense_max_dim: int, symmetric_pd: bool) -> np.ndarray:
    """H(x) y = b: dense solve for small dim, else CG (MINRES when CG fails) on HVPs."""
    n = L.dim
    if n <= dense_max_dim:
        H = dense_hessian(L, x)
        return np.linalg.lstsq(H, b, rcond=1e-12)[0]
    op = LinearOperator((n, n), matvec=lambda v: np.asarray(L.hvp(x, np.asarray(v).ravel())), dtype=float)
    if symmetric_pd:
        y, info = cg(op, b, rtol=1e-10, maxiter=10 * n)
        if info == 0:
            return y
    y, _ = minres(op, b, rtol=1e-10, maxiter=10 * n)
    return y


def _newton(L: Any, x: np.ndarray, tol: float, max_iter: int, dense_max_dim: int,
            max_move: float) -> tuple[np.ndarray, bool, int]:
    """Newton's method on ∇L = 0 from ``x`` with a backtracking line search on ‖∇L‖."""
    x0 = x.copy()
    _, g = L.energy_gradient(x)
    gn = float(np.linalg.norm(g))
    for it in range(1, max_iter + 1):
        if gn / math.sqrt(L.dim) <= tol:
            return x, True, it - 1
        d = _solve(L, x, -g, dense_max_dim, symmetric_pd=False)
        step = 1.0
        for _ in range(30):
            xn = x + step * d
            _, gn_vec = L.energy_gradient(xn)
            gnn = float(np.linalg.norm(gn_vec))
            if gnn < gn:
                break
            step *= 0.5
        else:
            return x, False, it
        x, g, gn = xn, gn_vec, gnn
        if np.linalg.norm(x - x0) > max_move:
            return x, False, it
    return x, gn / math.sqrt(L.dim) <= tol, max_iter


def continue_minimum(
    family: Callable[[float], Any],
    x0: np.ndarray,
    ts: Any,
    *,
    dense_max_dim: int = 400,
    tol: float = 1e-9,
    max_newton: int = 25,
    max_move: float | None = None,
    switch_eps: float = 1e-2,
    zero_tol: float = 1e-9,
    observe: Callable[[np.ndarray, float], dict[str, float]] | None = None,
    minimize_options: dict[str, Any] | None = None,
    max_halvings: int = 6,
    max_predict: float | None = None,
) -> ContinuationResult:
    """Follow a minimum of ``family(t)`` (a landscape for each t) from ``x0`` over the grid ``ts``.

    ``x0`` is first minimised on ``family(ts[0])``. At each later t: tangent predictor, Newton
    corrector, smallest eigenvalue; on a crossing (λ_min ≤ −zero_tol after a positive value) or a
    fold (Newton fails or moves more than ``max_move``, default 5·(‖Δx_pred‖ + 0.1)) the minimum is
    re-found by minimisation (branch switching from x ± ``switch_eps``·v_min, the lower of the two
    minima kept, ties to +). ``dense_max_dim``: below it Hessians are formed densely, above it
    CG/MINRES and Lanczos run on HVPs. ``observe(x, t)`` adds per-step numbers. Step-size
    control: a grid interval whose corrector fails is halved (up to ``max_halvings`` times, and
    also whenever the predicted move exceeds ``max_predict``) before a fold is declared, and the
    step doubles again after a success; results are recorded on the grid ``ts``.
    """
    ts = np.asarray(ts, dtype=float)
    if ts.ndim != 1 or ts.size < 2 or not np.all(np.diff(ts) > 0):
        raise ValueError(f"continue_minimum: ts must be an increasing grid of >= 2 values, got {ts}")
    mopts = dict(minimize_options or {})
    L0 = checked(family(float(ts[0])), caller="continuation")
    r = minimize(L0, np.asarray(x0, dtype=float), **mopts)
    x = np.asarray(r.x, dtype=float)
    lam, _ = smallest_eigenpair(L0, x, dense_max_dim)
    xs, es, lams = [x.copy()], [L0.energy(x)], [lam]
    obs = [observe(x, float(ts[0])) if observe else {}]
    res = ContinuationResult(ts, np.empty(0), np.empty(0), np.empty(0))
    counters = [L0]
    for k in range(1, ts.size):
        t_cur, t_end = float(ts[k - 1]), float(ts[k])
        h_min = (t_end - t_cur) / 2 ** max_halvings
        dt = t_end - t_cur
        while t_cur < t_end:
            dt = min(dt, t_end - t_cur)
            t_prev, t = t_cur, (t_end if t_end - t_cur - dt <= 1e-14 else t_cur + dt)
            dt = t - t_prev
            Lp = checked(family(t_prev), caller="continuation")
            hh = 1e-4 * max(1.0, abs(t_prev))
            _, g_plus = family(t_prev + hh).energy_gradient(x)
            _, g_minus = family(t_prev - hh).energy_gradient(x)
            dgdt = (np.asarray(g_plus) - np.asarray(g_minus)) / (2 * hh)
            tangent = _solve(Lp, x, -dgdt, dense_max_dim, symmetric_pd=lam > 0)
            x_pred = x + dt * tangent
            Lt = checked(family(t), caller="continuation")
            counters += [Lp, Lt]
            move = max_move if max_move is not None else 5.0 * (float(np.linalg.norm(dt * tangent)) + 0.1)
            pred_ok = max_predict is None or float(np.linalg.norm(dt * tangent)) <= max_predict
            xc, ok, nit = (_newton(Lt, x_pred, tol, max_newton, dense_max_dim, move) if pred_ok
                           else (x, False, 0))
            res.newton_iterations += nit
            lam_new, v_new = smallest_eigenpair(Lt, xc, dense_max_dim) if ok else (math.nan, None)
            if ok and lam_new > -zero_tol:
                x, lam, t_cur = xc, lam_new, t
                dt = min(2 * dt, t_end - t_cur) if t_cur < t_end else dt
                continue
            if not ok and dt > h_min * 1.0001:  # step-size control before calling it a fold
                dt /= 2
                continue
            x_old = xc if ok else x
            if ok:  # crossing on a continuous branch: switch branch along the soft mode
                e_old = Lt.energy(xc)
                cands = []
                for sign in (1.0, -1.0):
                    rr = minimize(Lt, xc + sign * switch_eps * v_new / np.linalg.norm(v_new), **mopts)
                    cands.append((float(rr.energy), -sign, np.asarray(rr.x, dtype=float)))
                e_new, _, x = min(cands, key=lambda c: (round(c[0], 12), c[1]))
                t_star = t_prev + dt * lam / (lam - lam_new) if lam > 0 else t_prev
                kind = "crossing"
            else:  # fold: the branch ended; minimise from the prediction
                e_old = Lt.energy(x_pred)
                rr = minimize(Lt, x_pred, **mopts)
                x, e_new = np.asarray(rr.x, dtype=float), float(rr.energy)
                t_star, kind = t_prev, "fold"
            res.bifurcations.append(Bifurcation(kind, float(t_star), (t_prev, t),
                                                float(np.linalg.norm(x - x_old)), float(e_old - e_new),
                                                float(lam)))
            lam, _ = smallest_eigenpair(Lt, x, dense_max_dim)
            t_cur = t
        xs.append(x.copy())
        es.append(family(t_end).energy(x))
        lams.append(lam)
        obs.append(observe(x, t_end) if observe else {})
    res.xs, res.energies, res.lambda_min, res.observed = np.array(xs), np.array(es), np.array(lams), obs
    res.hvps = int(sum(getattr(c.counts, "hvp", 0) for c in counters))
    return res
