"""Many independent quenches in one call: batched L-BFGS and FIRE over n walkers.

Small physical systems are dominated by per-call overhead, so a basin-hopping population or a
grid of starting points is quenched together: every walker keeps its own L-BFGS memory, step
scale, time step and stopping state, but all walkers that are still running are evaluated in
ONE ``energy_gradients(X)`` call per iteration (a converged or failed walker is frozen and no
longer evaluated). The algorithms are exactly those of :func:`~levinthal.minimize.lbfgs.lbfgs`
and :func:`~levinthal.minimize.fire.fire`, with one difference for L-BFGS: a rejected trial
step is retried, halved, at the *next* batched evaluation rather than at once.

Vectors (positions, gradients, memory) stay in the landscape's native array type and device;
only per-walker scalars (n floats per iteration) come to the host for the accept/stop logic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.landscape import (
    BatchMinimizeResult,
    array_namespace,
    as_like,
    checked,
    native_point,
    supports,
    to_numpy,
    unwrap,
)
from levinthal.landscape.arrays import is_torch_array
from levinthal.landscape.errors import ShapeError
from levinthal.minimize.lbfgs import (
    DEFAULT_DIVERGENCE_WINDOW,
    DEFAULT_MAX_STEP,
    DEFAULT_RMS_TOL,
    _check_positive,
)

Array = Any

__all__ = ["minimize_batch"]

BATCHED_METHODS = ("lbfgs", "fire")


def minimize_batch(landscape: Any, X0: Array, method: str = "lbfgs", **options: Any) -> BatchMinimizeResult:
    """Minimise from each row of ``X0`` (shape ``(n, dim)``); returns a :class:`BatchMinimizeResult`.

    Dispatch: a landscape exposing a numba ``kernel`` goes to
    :func:`~levinthal.minimize.compiled_lbfgs.lbfgs_compiled_batch` (``method="lbfgs"``, unless
    ``compiled=False``); one with batched ``energy_gradients`` runs the batched L-BFGS or FIRE
    of this module; anything else (or ``method="gradient_flow"``) loops over
    :func:`levinthal.minimize.minimize`. ``options`` are those of the single-point method
    (``rms_tol``, ``max_step``, ``memory``, ``max_iterations`` ...). Results: ``x`` of shape
    ``(n, dim)`` in the native type; ``energy``, ``rms_gradient``, ``iterations``,
    ``each_converged`` NumPy arrays of shape ``(n,)``; ``counts`` sums over walkers.
    """
    from levinthal.minimize import KNOWN_METHODS, minimize

    if method not in KNOWN_METHODS:
        raise ValueError(f"unknown minimisation method {method!r}; known methods: {', '.join(KNOWN_METHODS)}")
    X0 = _prepare_batch(landscape, X0)
    compiled = options.pop("compiled", None)
    has_kernel = getattr(unwrap(landscape), "kernel", None) is not None
    if method == "lbfgs" and has_kernel and compiled is not False and options.get("callback") is None:
        from levinthal.minimize.compiled_lbfgs import lbfgs_compiled_batch

        keys = ("rms_tol", "max_step", "memory", "max_iterations", "max_energy_rise")
        ignorable = ("max_halvings", "divergence_window", "record_history")
        unknown = set(options) - set(keys) - set(ignorable) - {"initial_inverse_curvature"}
        if not unknown:
            kw = {k: v for k, v in options.items() if k in keys}
            if "initial_inverse_curvature" in options:
                kw["h0"] = options["initial_inverse_curvature"]
            return lbfgs_compiled_batch(landscape, X0, **kw)
        if compiled:
            raise ValueError(f"compiled L-BFGS does not take options {sorted(unknown)}")
    if method in BATCHED_METHODS and supports(landscape, "energy_gradients") and "callback" not in options:
        run = _lbfgs_batch if method == "lbfgs" else _fire_batch
        return run(landscape, X0, **options)
    return _loop(landscape, X0, method, minimize, options)


def _prepare_batch(landscape: Any, X0: Array) -> Array:
    if is_torch_array(X0):
        X = X0.detach().clone()
    else:
        X = np.array(X0, dtype=np.float64)
        if X.ndim == 2 and supports(landscape, "native_point"):
            X = array_namespace(native_point(landscape, X[0])).stack(
                [native_point(landscape, row) for row in X])
    if len(X.shape) != 2 or X.shape[1] != landscape.dim:
        raise ShapeError(f"{landscape.name}: X0 has shape {tuple(X.shape)}, expected (n, {landscape.dim}) "
                         "— one starting point per row")
    return X


def _loop(landscape: Any, X0: Array, method: str, minimize: Any, options: dict) -> BatchMinimizeResult:
    lc = checked(landscape, caller=f"minimize_batch({method})")
    start = lc.counts.copy()
    results = [minimize(lc, X0[i], method=method, **options) for i in range(X0.shape[0])]
    xp = array_namespace(X0)
    ok = np.array([r.converged for r in results], dtype=bool)
    return BatchMinimizeResult(
        converged=bool(ok.all()), message=_summary(ok, [r.message for r in results]),
        counts=lc.counts - start, x=xp.stack([r.x for r in results]),
        energy=np.array([r.energy for r in results]),
        rms_gradient=np.array([r.rms_gradient for r in results]),
        iterations=np.array([r.iterations for r in results]), each_converged=ok, method=method,
    )


def _summary(ok: np.ndarray, messages: list[str]) -> str:
    n = ok.size
    if ok.all():
        return f"all {n} walkers converged"
    bad = np.flatnonzero(~ok)
    detail = "; ".join(f"walker {i}: {messages[i]}" for i in bad[:3])
    more = f" (and {bad.size - 3} more)" if bad.size > 3 else ""
    return f"{bad.size} of {n} walkers did not converge — {detail}{more}"


class _Batch:
    """Per-walker bookkeeping shared by the batched methods (host scalars, native vectors)."""

    def __init__(self, landscape: Any, X0: Array, caller: str, record_history: bool):
        self.lc = checked(landscape, caller=caller)
        self.start = self.lc.counts.copy()
        self.X = X0
        self.xp = array_namespace(X0)
        self.n, self.dim = X0.shape
        self.sqrt_dim = math.sqrt(self.dim)
        E, G = self.lc.energy_gradients(X0)
        self.G = G.detach().clone() if is_torch_array(G) else np.array(G, dtype=np.float64)
        self.E = to_numpy(E).copy()
        self.gnorm = to_numpy(self.rownorm(G)).copy()
        self.iterations = np.zeros(self.n, dtype=int)
        self.active = np.ones(self.n, dtype=bool)
        self.ok = np.zeros(self.n, dtype=bool)
        self.messages = [""] * self.n
        self.streak = np.zeros(self.n, dtype=int)
        self.e_streak_start = np.zeros(self.n)
        self.record = record_history
        self.history: dict[str, list] = {"energy": [self.E.copy()], "n_active": [self.n]}

    def rownorm(self, A: Array) -> Array:
        return self.xp.sum(A * A, axis=-1) ** 0.5

    def rows(self, idx: np.ndarray) -> Array:
        """Native index array for row selection."""
        if is_torch_array(self.X):
            import torch

            return torch.as_tensor(idx, device=self.X.device)
        return idx

    def col(self, values: np.ndarray) -> Array:
        """Host per-walker scalars as a native column, shape (k, 1)."""
        return as_like(values, self.X)[:, None]

    def check_stops(self, rms_tol: float, max_iterations: int) -> None:
        rms = self.gnorm / self.sqrt_dim
        for i in np.flatnonzero(self.active & (rms <= rms_tol)):
            self.active[i], self.ok[i] = False, True
            self.messages[i] = f"rms gradient {rms[i]:.3g} ≤ rms_tol = {rms_tol:g}"
        for i in np.flatnonzero(self.active & (self.iterations >= max_iterations)):
            self.active[i] = False
            self.messages[i] = f"reached max_iterations = {max_iterations} with rms gradient {rms[i]:.3g}"

    def divergence(self, idx: np.ndarray, e_old: np.ndarray, e_new: np.ndarray, g_old: np.ndarray,
                   g_new: np.ndarray, full: np.ndarray, Xnew: Array, window: int | None,
                   energy_floor: float | None, max_norm: float | None) -> None:
        """Vectorised :class:`~levinthal.minimize.lbfgs.DivergenceMonitor` for walkers ``idx``."""
        if energy_floor is not None:
            for j in np.flatnonzero(e_new < energy_floor):
                self._diverge(idx[j], f"diverged: energy {e_new[j]:.6g} fell below energy_floor = "
                              f"{energy_floor:g}")
        if max_norm is not None:
            xn = to_numpy(self.rownorm(Xnew))
            for j in np.flatnonzero(xn > max_norm):
                self._diverge(idx[j], f"diverged: |x| = {xn[j]:.3g} exceeded max_norm = {max_norm:g}")
        if window is None:
            return
        run = full & (e_new < e_old) & (g_new >= g_old * (1 - 1e-12))
        fresh = run & (self.streak[idx] == 0)
        self.e_streak_start[idx[fresh]] = e_old[fresh]
        self.streak[idx] = np.where(run, self.streak[idx] + 1, 0)
        for i in idx[self.streak[idx] >= window]:
            self._diverge(i, f"diverged: energy fell from {self.e_streak_start[i]:.6g} to {self.E[i]:.6g} "
                          f"over {self.streak[i]} consecutive maximal steps while the gradient never "
                          "shrank; the landscape appears unbounded below along this path")

    def _diverge(self, i: int, message: str) -> None:
        if self.active[i]:
            self.active[i], self.ok[i] = False, False
            self.messages[i] = message

    def result(self, method: str) -> BatchMinimizeResult:
        return BatchMinimizeResult(
            converged=bool(self.ok.all()), message=_summary(self.ok, self.messages),
            counts=self.lc.counts - self.start, history=self.history if self.record else {},
            x=self.X, energy=self.E.copy(), rms_gradient=self.gnorm / self.sqrt_dim,
            iterations=self.iterations.copy(), each_converged=self.ok.copy(), method=method,
        )


def _lbfgs_batch(
    landscape: Any,
    X0: Array,
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
    record_history: bool = True,
) -> BatchMinimizeResult:
    """Batched L-BFGS: the algorithm and defaults of :func:`~levinthal.minimize.lbfgs.lbfgs`.

    Memory is stored newest-last, ``S, Y`` of shape ``(memory, n, dim)`` with ``rho`` of shape
    ``(memory, n)``; a slot with rho = 0 is empty, so resetting a walker zeroes its rho.
    """
    _check_positive(rms_tol=rms_tol, max_step=max_step, initial_inverse_curvature=initial_inverse_curvature)
    if memory < 1 or max_iterations < 0 or max_halvings < 0 or max_energy_rise < 0:
        raise ValueError("lbfgs: memory ≥ 1, max_iterations ≥ 0, max_halvings ≥ 0, max_energy_rise ≥ 0")
    b = _Batch(landscape, X0, "minimize_batch(lbfgs)", record_history)
    xp, n, m = b.xp, b.n, memory
    S = xp.stack([b.X * 0.0] * m)
    Y = S * 0.0
    rho = np.zeros((m, n))  # host: tiny
    h0 = np.full(n, initial_inverse_curvature)
    D = b.G * 0.0  # pending (capped) direction of each walker
    scale = np.zeros(n)  # pending step scale; 0 = needs a new direction
    dnorm = np.zeros(n)
    halvings = np.zeros(n, dtype=int)
    b.check_stops(rms_tol, max_iterations)
    while b.active.any():
        need = np.flatnonzero(b.active & (scale == 0))
        if need.size:
            r = b.rows(need)
            q = b.G[r]
            alphas = []
            for j in range(m - 1, -1, -1):
                a = rho[j, need] * to_numpy(xp.sum(S[j][r] * q, axis=-1))
                q = q - b.col(a) * Y[j][r]
                alphas.append(a)
            z = b.col(h0[need]) * q
            for j in range(m):
                beta = rho[j, need] * to_numpy(xp.sum(Y[j][r] * z, axis=-1))
                z = z + b.col(alphas[m - 1 - j] - beta) * S[j][r]
            d = -z
            uphill = to_numpy(xp.sum(d * b.G[r], axis=-1)) >= 0
            if uphill.any():  # cannot happen with positive pairs; fall back to steepest descent
                rho[:, need[uphill]] = 0.0
                h0[need[uphill]] = initial_inverse_curvature
                d = xp.where(as_like(uphill, b.X)[:, None] > 0, -initial_inverse_curvature * b.G[r], d)
            dn = to_numpy(b.rownorm(d))
            D[r] = d
            dnorm[need] = dn
            scale[need] = np.minimum(1.0, max_step / dn)
            halvings[need] = 0
        idx = np.flatnonzero(b.active)
        r = b.rows(idx)
        step = b.col(scale[idx]) * D[r]
        Xt = b.X[r] + step
        Et, Gt = b.lc.energy_gradients(Xt)
        Et = to_numpy(Et)
        accept = Et - b.E[idx] <= max_energy_rise
        # rejected: halve, or reset the memory after max_halvings
        rej = idx[~accept]
        halvings[rej] += 1
        scale[rej] *= 0.5
        failed = rej[halvings[rej] > max_halvings]
        empty = failed[(rho[:, failed] == 0).all(axis=0)]
        for i in empty:
            b.active[i] = False
            b.messages[i] = (f"step collapsed: even a steepest-descent step raised the energy by more than "
                             f"{max_energy_rise:g} (rms gradient {b.gnorm[i] / b.sqrt_dim:.3g})")
        rho[:, failed] = 0.0
        h0[failed] = initial_inverse_curvature
        scale[failed] = 0.0
        # accepted: memory update and move
        acc = idx[accept]
        if acc.size:
            ra, ja = b.rows(acc), b.rows(np.flatnonzero(accept))
            s, Gn = step[ja], Gt[ja]
            y = Gn - b.G[ra]
            sy = to_numpy(xp.sum(s * y, axis=-1))
            yy = to_numpy(xp.sum(y * y, axis=-1))
            sn = scale[acc] * dnorm[acc]
            good = sy > 1e-10 * sn * np.sqrt(yy)
            keep = acc[good]
            if keep.size:
                rk, jk = b.rows(keep), b.rows(np.flatnonzero(good))
                S[:-1, rk], Y[:-1, rk] = S[1:, rk], Y[1:, rk]
                S[-1, rk], Y[-1, rk] = s[jk], y[jk]
                rho[:-1, keep] = rho[1:, keep]
                rho[-1, keep] = 1.0 / sy[good]
                h0[keep] = sy[good] / yy[good]
            e_old, g_old = b.E[acc].copy(), b.gnorm[acc].copy()
            full = (sn >= max_step * (1 - 1e-9)) & (halvings[acc] == 0)
            b.X[ra], b.G[ra] = Xt[ja], Gn
            b.E[acc] = Et[accept]
            b.gnorm[acc] = to_numpy(b.rownorm(Gn))
            b.iterations[acc] += 1
            scale[acc] = 0.0
            b.divergence(acc, e_old, b.E[acc], g_old, b.gnorm[acc], full, Xt[ja], divergence_window,
                         energy_floor, max_norm)
        b.check_stops(rms_tol, max_iterations)
        if record_history:
            b.history["energy"].append(b.E.copy())
            b.history["n_active"].append(int(b.active.sum()))
    return b.result("lbfgs")


def _fire_batch(
    landscape: Any,
    X0: Array,
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
    record_history: bool = True,
) -> BatchMinimizeResult:
    """Batched FIRE (Bitzek et al. 2006): the algorithm and defaults of :func:`~levinthal.minimize.fire.fire`,
    with per-walker time step, mixing parameter α and count of positive-power steps."""
    _check_positive(rms_tol=rms_tol, dt=dt, dt_max=dt_max, max_step=max_step, f_inc=f_inc,
                    f_dec=f_dec, alpha_start=alpha_start, f_alpha=f_alpha)
    if dt > dt_max or n_min < 0 or max_iterations < 0:
        raise ValueError("fire: need dt ≤ dt_max, n_min ≥ 0, max_iterations ≥ 0")
    b = _Batch(landscape, X0, "minimize_batch(fire)", record_history)
    xp, n = b.xp, b.n
    V = b.G * 0.0
    dts = np.full(n, dt)
    alpha = np.full(n, alpha_start)
    n_pos = np.zeros(n, dtype=int)
    b.check_stops(rms_tol, max_iterations)
    while b.active.any():
        idx = np.flatnonzero(b.active)
        r = b.rows(idx)
        v, g = V[r], b.G[r]
        first = b.iterations[idx] == 0
        power = -to_numpy(xp.sum(g * v, axis=-1))
        up = (power > 0) & ~first
        down = (power <= 0) & ~first
        vn = to_numpy(b.rownorm(v))
        mix = np.where(up, alpha[idx], 0.0)
        v = b.col(1 - mix) * v - b.col(mix * vn / np.maximum(b.gnorm[idx], 1e-300)) * g
        n_pos[idx[up]] += 1
        grow = idx[up & (n_pos[idx] > n_min)]
        dts[grow] = np.minimum(dts[grow] * f_inc, dt_max)
        alpha[grow] *= f_alpha
        stop = idx[down]
        n_pos[stop] = 0
        dts[stop] *= f_dec
        alpha[stop] = alpha_start
        v = b.col(np.where(down, 0.0, 1.0)) * v
        v = v - b.col(dts[idx]) * g
        step = b.col(dts[idx]) * v
        length = to_numpy(b.rownorm(step))
        step = b.col(np.minimum(1.0, max_step / np.maximum(length, 1e-300))) * step
        Xt = b.X[r] + step
        Et, Gt = b.lc.energy_gradients(Xt)
        e_old, g_old = b.E[idx].copy(), b.gnorm[idx].copy()
        V[r], b.X[r], b.G[r] = v, Xt, Gt
        b.E[idx] = to_numpy(Et)
        b.gnorm[idx] = to_numpy(b.rownorm(Gt))
        b.iterations[idx] += 1
        b.divergence(idx, e_old, b.E[idx], g_old, b.gnorm[idx], length >= max_step * (1 - 1e-9), Xt,
                     divergence_window, energy_floor, max_norm)
        b.check_stops(rms_tol, max_iterations)
        if record_history:
            b.history["energy"].append(b.E.copy())
            b.history["n_active"].append(int(b.active.sum()))
    return b.result("fire")
