"""Simulated annealing: Metropolis Monte Carlo while the temperature falls on a schedule.

Kirkpatrick, Gelatt & Vecchi (1983), "Optimization by simulated annealing", Science 220, 671:
sample exp(−E/kT) by Metropolis moves (Metropolis, Rosenbluth, Rosenbluth, Teller & Teller
1953) and lower kT slowly, so the walker settles into low basins. Each step proposes
``x' = x + s·u`` with u uniform in [−1, 1]^dim and accepts with ``min(1, exp(−ΔE/kT))``.
Every ``adapt_every`` steps the step size s of each walker is multiplied by ``adapt_factor``
if its acceptance over that window exceeded ``target_acceptance`` and divided by it
otherwise (bounded by ``step_bounds``); adaptation breaks detailed balance, which annealing
does not need (set ``adapt_every=None`` for a fixed-s Metropolis chain).

Schedules (temperatures in energy units, step k = 0 … n−1):

* ``"geometric"`` (alias ``"exponential"``): T_k = T₀ (T₁/T₀)^{k/(n−1)}, i.e. T_{k+1} = α T_k
  with α = (T₁/T₀)^{1/(n−1)} (Kirkpatrick et al. 1983);
* ``"linear"``: T_k = T₀ + (T₁ − T₀) k/(n−1);
* ``"logarithmic"``: T_k = c / ln(k + k₀), the form of Geman & Geman (1984, IEEE PAMI 6, 721),
  whose c/ln(1 + k) guarantees convergence in probability for c above the deepest barrier;
  here k₀ > 1 and c are solved so that T_0 = T₀ and T_{n−1} = T₁ exactly;
* a callable ``f(k) -> T`` (must return a positive finite number).

Many independent walkers (``x0`` of shape ``(n, dim)``) anneal together: their proposals are
evaluated in one batched ``energies`` call per step when the landscape offers it. Every
``quench_every`` steps (and at the end) each walker is quenched and the minimum offered to the
sink; ``checkpoint_every`` saves positions, step sizes, generator state, step and records to
the sink, so a killed run rerun with the same sink ends bit-for-bit where it would have.
Proposals are drawn on the host (NumPy); a torch landscape receives them as tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq

from levinthal.explore import _walkers as W
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import LandscapeError, Result, as_like, counted, to_numpy
from levinthal.progress import progress

__all__ = ["SCHEDULES", "AnnealingResult", "Schedule", "anneal", "make_schedule"]

SCHEDULES = ("geometric", "exponential", "linear", "logarithmic")

Array = Any


@dataclass(frozen=True)
class Schedule:
    """A temperature schedule: ``schedule(k)`` is kT at step k (k = 0 … ``n_steps`` − 1).

    ``kind``: one of :data:`SCHEDULES` or ``"callable"``; ``t_start``, ``t_end``: kT at the
    first and last step (``None`` for a callable); ``k0``, ``c``: the logarithmic schedule's
    constants (T_k = c / ln(k + k0)).
    """

    kind: str
    n_steps: int
    t_start: float | None = None
    t_end: float | None = None
    function: Callable[[int], float] | None = None
    k0: float | None = None
    c: float | None = None

    def __call__(self, k: int) -> float:
        n = self.n_steps
        if self.kind == "callable":
            t = float(self.function(int(k)))
            if not (math.isfinite(t) and t > 0):
                raise ValueError(f"annealing schedule: the callable gave kT = {t} at step {k}; "
                                 "temperatures must be positive and finite")
            return t
        frac = 0.0 if n <= 1 else k / (n - 1)
        if self.kind in ("geometric", "exponential"):
            return self.t_start * (self.t_end / self.t_start) ** frac
        if self.kind == "linear":
            return self.t_start + (self.t_end - self.t_start) * frac
        return self.c / math.log(k + self.k0)

    def temperatures(self) -> np.ndarray:
        """kT at every step, shape ``(n_steps,)``."""
        return np.array([self(k) for k in range(self.n_steps)])


def make_schedule(kind: str | Callable[[int], float], n_steps: int, t_start: float | None = None,
                  t_end: float | None = None) -> Schedule:
    """Build a :class:`Schedule` (see the module docstring for the formulas).

    Named schedules need ``0 < t_end <= t_start``; ``"logarithmic"`` needs ``t_end < t_start``
    (a constant temperature is ``"linear"`` with ``t_end == t_start``).
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"make_schedule: n_steps must be >= 1, got {n_steps}")
    if callable(kind):
        return Schedule("callable", n_steps, function=kind)
    if kind not in SCHEDULES:
        raise ValueError(f"make_schedule: kind must be one of {SCHEDULES} or a callable, got {kind!r}")
    if t_start is None or t_end is None:
        raise ValueError(f"make_schedule: the {kind} schedule needs t_start and t_end")
    t_start, t_end = float(t_start), float(t_end)
    if not (math.isfinite(t_start) and math.isfinite(t_end) and 0 < t_end <= t_start):
        raise ValueError(f"make_schedule: need 0 < t_end <= t_start (finite), got t_start={t_start}, "
                         f"t_end={t_end}")
    if kind != "logarithmic":
        return Schedule(kind, n_steps, t_start, t_end)
    if not t_end < t_start or n_steps < 2:
        raise ValueError("make_schedule: the logarithmic schedule needs t_end < t_start and n_steps >= 2")
    ratio = t_start / t_end
    # ln(n − 1 + k0) / ln(k0) falls from ∞ (k0 → 1) to 1 (k0 → ∞): one root for any ratio > 1
    f = lambda k0: math.log(n_steps - 1 + k0) - ratio * math.log(k0)  # noqa: E731
    hi = 2.0
    while f(hi) > 0:
        hi *= 2.0
    k0 = brentq(f, 1.0 + 1e-15, hi, xtol=1e-14, rtol=1e-15)
    return Schedule(kind, n_steps, t_start, t_end, k0=k0, c=t_start * math.log(k0))


@dataclass
class AnnealingResult(Result):
    """What :func:`anneal` produced.

    ``x``: final walker positions, shape like ``x0``; ``best_x`` (host, ``(dim,)``) and
    ``best_energy``: the lowest converged quench; ``steps``: recorded step numbers ``(m,)``;
    ``temperatures``: kT of the move made at each step (the last move's for the final record),
    shape ``(m,)``; ``energies``, ``step_sizes``: ``(m, n)`` per walker; ``acceptance``:
    ``(m, n)`` acceptance rate since the previous record; ``quenches``: ``(step, walker,
    minimum_id, is_new, energy)`` per quench; ``sink``; ``resumed_from``.
    """

    x: Array = None
    best_x: Array = None
    best_energy: float = float("inf")
    schedule: Schedule | None = None
    n_steps: int = 0
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    temperatures: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energies: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    step_sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    acceptance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    quenches: list[tuple] = field(default_factory=list)
    sink: Any = None
    resumed_from: int | None = None


def anneal(
    landscape: Any,
    x0: Array,
    *,
    n_steps: int,
    schedule: str | Callable[[int], float] | Schedule = "geometric",
    t_start: float | None = None,
    t_end: float | None = None,
    step_size: float = 0.1,
    adapt_every: int | None = 100,
    target_acceptance: float = 0.5,
    adapt_factor: float = 1.1,
    step_bounds: tuple[float, float] = (1e-6, math.inf),
    container_radius: float | None = None,
    rng: np.random.Generator | int | None = None,
    record_every: int = 100,
    quench_every: int | None = None,
    sink: Any = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    minimize_options: dict | None = None,
    quiet: bool = True,
) -> AnnealingResult:
    """Anneal from ``x0`` (shape ``(dim,)`` or ``(n_walkers, dim)``) for ``n_steps`` Metropolis steps.

    Parameters
    ----------
    schedule : name, callable or Schedule
        See :func:`make_schedule`; ``t_start``/``t_end`` (energy units) for named ones.
    step_size : float
        Initial half-width s of the uniform displacement per coordinate (coordinate units).
    adapt_every, target_acceptance, adapt_factor, step_bounds
        Step-size adaptation (module docstring); ``adapt_every=None`` keeps s fixed.
    container_radius : float, optional
        For clusters (dim = 3N): reject moves that put an atom farther than this from the
        centroid, so atoms cannot evaporate at high kT.
    quench_every : int, optional
        Quench every walker every this many steps; the final positions are always quenched.
        Minima go to ``sink`` (an :class:`InMemoryMinima` if none is given).
    checkpoint_every, resume
        Save to / resume from the sink's checkpoint (same settings only).
    minimize_options : dict, optional
        Options of :func:`levinthal.minimize.minimize_batch` for the quenches.

    Proposals with a non-finite energy are rejected (an overlap in a cluster is not an error).
    """
    n_steps = int(n_steps)
    sched = schedule if isinstance(schedule, Schedule) else make_schedule(schedule, max(n_steps, 1),
                                                                          t_start, t_end)
    if not (math.isfinite(step_size) and step_size > 0):
        raise ValueError(f"anneal: step_size must be positive and finite, got {step_size}")
    if adapt_every is not None and (int(adapt_every) < 1 or not adapt_factor > 1
                                    or not 0 < target_acceptance < 1):
        raise ValueError(f"anneal: need adapt_every >= 1, adapt_factor > 1 and 0 < target_acceptance < 1, "
                         f"got {adapt_every}, {adapt_factor}, {target_acceptance}")
    if int(record_every) < 1:
        raise ValueError(f"anneal: record_every must be >= 1, got {record_every}")
    lc = counted(landscape)
    start_counts = lc.counts.copy()
    rng = W.as_generator(rng)
    X, single = W.walkers(lc, x0, "anneal")
    n, dim = int(X.shape[0]), int(lc.dim)
    if container_radius is not None and dim % 3:
        raise LandscapeError(f"{lc.name}: container_radius needs a cluster (dim = 3N), dim = {dim}")
    sink = sink if sink is not None else InMemoryMinima(landscape)
    config = {"landscape": lc.name, "dim": dim, "n_walkers": n, "n_steps": n_steps, "schedule": sched.kind,
              "t_start": sched.t_start, "t_end": sched.t_end, "step_size": float(step_size),
              "adapt_every": adapt_every, "target_acceptance": float(target_acceptance),
              "adapt_factor": float(adapt_factor), "container_radius": container_radius,
              "record_every": int(record_every), "quench_every": quench_every,
              "checkpoint_every": checkpoint_every}
    lo, hi = step_bounds
    steps_arr = np.full(n, float(step_size))
    window_acc = np.zeros(n)
    since_record = np.zeros(n)
    rec: dict[str, list] = {k: [] for k in ("steps", "temperatures", "energies", "step_sizes", "acceptance")}
    quenches: list[tuple] = []
    step, resumed_from = 0, None
    best_x, best_energy = None, math.inf
    E = to_numpy(W.energies(lc, X)).astype(float)
    saved = W.load_state(sink, "anneal", config, resume)
    if saved is not None:
        X = as_like(saved["x"], X)
        E = np.array(saved["e"], dtype=float)
        steps_arr, window_acc = np.array(saved["step_sizes"]), np.array(saved["window_acc"])
        since_record = np.array(saved["since_record"])
        rng.bit_generator.state = saved["rng"]
        rec = {k: list(v) for k, v in saved["records"].items()}
        quenches = list(saved["quenches"])
        step = resumed_from = int(saved["step"])
        best_x, best_energy = saved["best_x"], saved["best_energy"]
    elif not np.all(np.isfinite(E)):
        raise LandscapeError(f"{lc.name}: anneal starts from a point with non-finite energy {E}")

    def record(T: float) -> None:
        rec["steps"].append(step)
        rec["temperatures"].append(T)
        rec["energies"].append(E.copy())
        rec["step_sizes"].append(steps_arr.copy())
        span = step - (rec["steps"][-2] if len(rec["steps"]) > 1 else 0)
        rec["acceptance"].append(since_record / max(1, span))

    if step == 0 and not rec["steps"]:
        record(sched(0))
    Xh = W.host(X)
    for _ in progress(range(step, n_steps), quiet, desc="anneal", total=n_steps, initial=step):
        T = sched(step)
        Xh, E, ok = W.metropolis_move(lc, Xh, E, steps_arr, T, rng, X, container_radius)
        window_acc += ok
        since_record += ok
        step += 1
        if adapt_every is not None and step % adapt_every == 0:
            rate = window_acc / adapt_every
            steps_arr = np.clip(np.where(rate > target_acceptance, steps_arr * adapt_factor,
                                         steps_arr / adapt_factor), lo, hi)
            window_acc[:] = 0
        if step % record_every == 0 or step == n_steps:
            record(sched(min(step, n_steps - 1)))
            since_record[:] = 0
        if (quench_every is not None and step % quench_every == 0) or step == n_steps:
            found, res = W.quench_into(sink, lc, as_like(Xh, X), "anneal", minimize_options)
            for i, (mid, new, e) in enumerate(found):
                quenches.append((step, i, mid, new, e))
                if mid is not None and e < best_energy:
                    best_energy, best_x = e, W.host(res.x[i])
        if checkpoint_every is not None and (step % checkpoint_every == 0 or step == n_steps):
            sink.save_checkpoint({
                "search": "anneal", "config": config, "step": step, "x": Xh.copy(), "e": E.copy(),
                "step_sizes": steps_arr.copy(), "window_acc": window_acc.copy(),
                "since_record": since_record.copy(), "rng": rng.bit_generator.state, "records": rec,
                "quenches": quenches, "best_x": best_x, "best_energy": best_energy})
    X = as_like(Xh, X)
    found = [q for q in quenches if q[2] is not None]
    msg = (f"{n_steps} Metropolis steps of {n} walker(s), {sched.kind} schedule; {len(found)} of "
           f"{len(quenches)} quenches converged; lowest minimum {best_energy:.8g}")
    return AnnealingResult(
        converged=bool(found), message=msg, counts=lc.counts - start_counts, x=X[0] if single else X,
        best_x=best_x, best_energy=float(best_energy), schedule=sched, n_steps=n_steps,
        steps=np.asarray(rec["steps"], dtype=int), temperatures=np.asarray(rec["temperatures"]),
        energies=np.stack(rec["energies"]), step_sizes=np.stack(rec["step_sizes"]),
        acceptance=np.stack(rec["acceptance"]), quenches=quenches, sink=sink, resumed_from=resumed_from)
