"""Basin-hopping: Monte Carlo on the landscape transformed by local minimisation.

Basin-hopping (Li & Scheraga 1987, PNAS 84, 6611, "Monte Carlo-minimization"; Wales & Doye
1997, J. Phys. Chem. A 101, 5111) replaces E(x) by Ẽ(x) = E(quench(x)): each step perturbs
the current minimum, quenches the trial point, and accepts the new minimum with the
Metropolis probability min(1, exp(−(E_new − E_old) / T)) at temperature T (in energy units,
k_B = 1). The step size adapts towards a target acceptance ratio (GMIN; pele).

Many walkers run at once: at every step all walkers' trial points are quenched together —
with the compiled batched L-BFGS (:func:`levinthal.minimize.minimize_batch`) when the
landscape has a numba kernel or batched gradients, otherwise through an
:class:`~levinthal.explore.executor.Executor` (serial by default, local processes, or a later
Ray executor). Each walker may have its own temperature; parallel tempering
(:mod:`levinthal.explore.parallel_tempering_bh`) adds replica exchanges between them.

Every converged quench's minimum goes to the ``sink`` (:class:`~levinthal.explore.sink.MinimaSink`)
as it is found. Every ``checkpoint_every`` steps the whole search state (walkers, energies,
step sizes, adaptive counters, the generator's ``bit_generator.state``, step counter, counts,
history) is saved with ``sink.save_checkpoint``; a call with a sink that holds a checkpoint
resumes from it and reproduces the uninterrupted run's trajectory bit for bit.

Random numbers are drawn in a fixed order per step — the walkers' trial moves (walker 0, 1,
…), then one uniform per walker for the Metropolis test, then any exchange draws — so the
trajectory does not depend on how the quenches were executed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.explore.executor import Executor, Quench
from levinthal.explore.sink import InMemoryMinima, MinimaSink
from levinthal.explore.steps import AdaptiveStepSize, ClusterStep, GaussianStep, StepTaker
from levinthal.landscape import EvaluationCounts, Result, to_numpy, unwrap
from levinthal.progress import progress

__all__ = ["BasinHoppingResult", "WalkerState", "basin_hopping", "default_step", "quench_many"]

CHECKPOINT_KIND = "basin_hopping"


@dataclass
class WalkerState:
    """The state of all walkers between steps (everything a checkpoint needs).

    ``X`` (n_walkers, dim) current minima; ``E`` (n_walkers,) their energies; ``stepsize``,
    ``temperature`` (n_walkers,); ``trials``, ``accepted`` (n_walkers,) counters of the
    current adaptive interval; ``extra``: state of a step hook (e.g. replica-exchange counts).
    """

    X: np.ndarray
    E: np.ndarray
    stepsize: np.ndarray
    temperature: np.ndarray
    trials: np.ndarray
    accepted: np.ndarray
    extra: dict = field(default_factory=dict)


@dataclass
class BasinHoppingResult(Result):
    """Outcome of :func:`basin_hopping`.

    ``x`` (dim,), ``energy``: the lowest minimum found. ``steps``: basin-hopping steps done
    (each quenches every walker once); ``quenches``: all quenches, the walkers' initial quenches
    included. ``first_encounter``: the quench (1-based, counted over all walkers in order) that
    first reached ``energy`` (within ``target_tol`` when a target was given);
    ``first_encounter_seconds`` the wall time to it. ``walkers`` the final state;
    ``history["acceptance"]`` per-step fraction of walkers accepted, ``history["lowest"]`` the
    lowest energy after each step, ``history["stepsize"]`` the mean step size.
    ``resumed_from``: the step a checkpoint restarted the run at (None if fresh).
    """

    x: np.ndarray | None = None
    energy: float = math.inf
    steps: int = 0
    quenches: int = 0
    failed_quenches: int = 0
    first_encounter: int | None = None
    first_encounter_seconds: float | None = None
    walkers: WalkerState | None = None
    resumed_from: int | None = None
    seconds: float = 0.0


StepHook = Callable[[WalkerState, np.random.Generator, int], None]


def default_step(landscape: Any) -> StepTaker:
    """:class:`~levinthal.explore.steps.ClusterStep` for atomic clusters (``n_atoms`` with
    dim = 3 n_atoms), :class:`~levinthal.explore.steps.GaussianStep` otherwise."""
    n = getattr(unwrap(landscape), "n_atoms", None)
    if n is not None and 3 * int(n) == int(landscape.dim):
        return ClusterStep(int(n))
    return GaussianStep()


def quench_many(landscape: Any, X: np.ndarray, options: dict,
                executor: Executor | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Quench each row of ``X`` (n, dim); returns ``(Xq, E, converged, gradient_calls)``.

    Without an executor, a landscape with a compiled kernel or batched ``energy_gradients``
    is quenched in ONE :func:`~levinthal.minimize.minimize_batch` call; otherwise (or when an
    executor is given) each row goes through ``executor.map`` with a picklable
    :class:`~levinthal.explore.executor.Quench` (serial if ``executor`` is None).
    """
    from levinthal.landscape import supports
    from levinthal.minimize import minimize_batch

    inner = unwrap(landscape)
    batched = getattr(inner, "kernel", None) is not None or supports(landscape, "energy_gradients")
    if executor is None and batched:
        r = minimize_batch(landscape, X, **options)
        Xq = np.array(to_numpy(r.x), dtype=np.float64)
        return Xq, np.asarray(r.energy, dtype=np.float64), np.asarray(r.each_converged, dtype=bool), \
            int(r.counts.gradient)
    fn = Quench(landscape, dict(options))
    outs = (executor.map(fn, list(X)) if executor is not None else [fn(row) for row in X])
    Xq = np.stack([o.x for o in outs])
    return (Xq, np.array([o.energy for o in outs]), np.array([o.converged for o in outs], dtype=bool),
            sum(o.gradient_calls for o in outs))


def _initial_points(landscape: Any, x0: Any, n_walkers: int | None,
                    rng: np.random.Generator) -> np.ndarray:
    dim = int(landscape.dim)
    if x0 is None:
        if n_walkers is None:
            n_walkers = 1
        if not hasattr(landscape, "random_point"):
            raise ValueError(f"{landscape.name}: basin_hopping needs x0 (the landscape has no random_point)")
        return np.stack([np.asarray(to_numpy(landscape.random_point(rng)), dtype=np.float64)
                         for _ in range(n_walkers)])
    X = np.array(to_numpy(x0), dtype=np.float64)
    if X.ndim == 1:
        X = np.tile(X, (n_walkers or 1, 1))
    if X.ndim != 2 or X.shape[1] != dim:
        raise ValueError(f"{landscape.name}: x0 has shape {np.shape(x0)}, expected ({dim},) or "
                         f"(n_walkers, {dim})")
    if n_walkers is not None and X.shape[0] != n_walkers:
        raise ValueError(f"{landscape.name}: x0 has {X.shape[0]} rows but n_walkers = {n_walkers}")
    return X


def _per_walker(value: Any, n: int, what: str) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"basin_hopping: {what} must be a number or have one value per walker ({n}), "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"basin_hopping: {what} must be finite and >= 0, got {value!r}")
    return arr


def basin_hopping(
    landscape: Any,
    x0: Any = None,
    *,
    n_steps: int = 1000,
    n_walkers: int | None = None,
    temperature: float | Any = 1.0,
    stepsize: float | Any = 0.4,
    step: StepTaker | None = None,
    adaptive: AdaptiveStepSize | None = None,
    sink: MinimaSink | None = None,
    checkpoint_every: int = 0,
    target_energy: float | None = None,
    target_tol: float = 1e-6,
    seed: int | np.random.Generator = 0,
    executor: Executor | None = None,
    minimize_options: dict | None = None,
    after_step: StepHook | None = None,
    max_seconds: float | None = None,
    source: str = "basin_hopping",
    quiet: bool = True,
) -> BasinHoppingResult:
    """Basin-hopping from ``x0`` with ``n_walkers`` independent walkers (module docstring).

    Parameters
    ----------
    landscape
        Any landscape of the protocol.
    x0 : array (dim,) or (n_walkers, dim), optional
        Starting points (quenched first). None: ``landscape.random_point(rng)`` per walker.
    n_steps : int
        Basin-hopping steps; each perturbs and quenches every walker once.
    n_walkers : int, optional
        Walkers (default: rows of ``x0``, or 1).
    temperature : float or array (n_walkers,)
        Metropolis temperature in energy units (default 1.0 ε, as pele for LJ); 0 accepts
        only moves that do not raise the energy.
    stepsize : float or array (n_walkers,)
        Initial step size in length units (default 0.4 σ, pele's LJ default).
    step : callable, optional
        ``step(x, stepsize, rng) -> x_new`` (:mod:`levinthal.explore.steps`); default
        :func:`default_step`.
    adaptive : AdaptiveStepSize, optional
        Adapt each walker's step size towards a target acceptance ratio; None: fixed.
    sink : MinimaSink, optional
        Where every converged quench's minimum goes (default: a new
        :class:`~levinthal.explore.sink.InMemoryMinima` on this landscape). A sink holding a
        basin-hopping checkpoint resumes it: walkers, temperatures and step sizes then come
        from the checkpoint (``x0``, ``temperature``, ``stepsize`` are ignored), so the call
        must repeat the other settings of the interrupted run to reproduce it.
    checkpoint_every : int
        Save the state every this many steps (0: only at the end).
    target_energy : float, optional
        Stop as soon as a minimum with energy ≤ target_energy + target_tol is found.
    seed : int or numpy.random.Generator
        All randomness (starts, moves, acceptance) comes from this generator.
    executor : Executor, optional
        Run the quenches through ``executor.map`` (e.g. a ProcessExecutor) instead of the
        in-process batched minimiser.
    minimize_options : dict, optional
        Options for the quench (``rms_tol``, ``max_step`` ...; the landscape's defaults apply).
    after_step : callable, optional
        ``hook(state, rng, step)`` run after every step's acceptance (replica exchange uses it);
        it may change ``state`` in place and keep its own counters in ``state.extra``.
    max_seconds : float, optional
        Wall-time cap (makes the stopping point machine-dependent; for benchmarks).
    source : str
        Label stored with each minimum in the sink.
    quiet : bool
        No progress bar.

    Returns
    -------
    BasinHoppingResult
        ``converged`` is True when the target was reached, or, without a target, when all
        ``n_steps`` ran; ``message`` says which.
    """
    if n_steps < 0 or checkpoint_every < 0:
        raise ValueError(f"basin_hopping: n_steps and checkpoint_every must be >= 0, got {n_steps}, "
                         f"{checkpoint_every}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sink = InMemoryMinima(landscape) if sink is None else sink
    step = default_step(landscape) if step is None else step
    options = dict(minimize_options or {})
    t_start = time.perf_counter()

    saved = sink.load_checkpoint()
    if saved is not None and saved.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"basin_hopping: the sink's checkpoint is of kind {saved.get('kind')!r}, not "
                         f"{CHECKPOINT_KIND!r}; use a fresh sink or the search that wrote it")
    if saved is not None:
        run = _Run.restore(saved, landscape, rng)
        if n_walkers is not None and n_walkers != run.state.X.shape[0]:
            raise ValueError(f"{landscape.name}: the checkpoint has {run.state.X.shape[0]} walkers, the call "
                             f"asks for {n_walkers}; resume with the same settings or use a fresh sink")
        resumed_from: int | None = run.step
    else:
        X = _initial_points(landscape, x0, n_walkers, rng)
        n = X.shape[0]
        run = _Run(state=WalkerState(X=X, E=np.zeros(n), stepsize=_per_walker(stepsize, n, "stepsize"),
                                     temperature=_per_walker(temperature, n, "temperature"),
                                     trials=np.zeros(n, dtype=np.int64),
                                     accepted=np.zeros(n, dtype=np.int64)))
        Xq, Eq, ok, calls = quench_many(landscape, X, options, executor)
        if not ok.all():
            bad = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"{landscape.name}: the initial quench of walker {bad} did not converge "
                             f"(E = {Eq[bad]}); give a better x0 or looser minimize_options")
        run.state.X, run.state.E = Xq, Eq
        run.record_quenches(Xq, Eq, ok, calls, sink, source, target_energy, target_tol,
                            time.perf_counter() - t_start)
        resumed_from = None
    n = run.state.X.shape[0]

    def reached() -> bool:
        return target_energy is not None and run.best_e <= target_energy + target_tol

    message = f"completed {n_steps} steps"
    steps = range(run.step, n_steps)
    for k in progress(steps, quiet, desc=source, initial=run.step, total=n_steps):
        if reached():
            break
        if max_seconds is not None and run.elapsed + time.perf_counter() - t_start > max_seconds:
            message = f"stopped at the wall-time cap of {max_seconds:g} s after {k} steps"
            break
        s = run.state
        trial = np.stack([np.asarray(step(s.X[w], float(s.stepsize[w]), rng), dtype=np.float64)
                          for w in range(n)])
        Xq, Eq, ok, calls = quench_many(landscape, trial, options, executor)
        run.record_quenches(Xq, Eq, ok, calls, sink, source, target_energy, target_tol,
                            run.elapsed + time.perf_counter() - t_start)
        u = rng.random(n)
        dE = Eq - s.E
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            hot = s.temperature > 0
            boltzmann = np.where(hot, np.exp(-dE / np.where(hot, s.temperature, 1.0)), 0.0)
        accept = ok & np.isfinite(Eq) & ((dE <= 0) | (u < boltzmann))
        s.X[accept] = Xq[accept]
        s.E[accept] = Eq[accept]
        s.trials += 1
        s.accepted += accept
        if adaptive is not None:
            adaptive.update(s.stepsize, s.trials, s.accepted)
        if after_step is not None:
            after_step(s, rng, k)
        run.step = k + 1
        run.history["acceptance"].append(float(accept.mean()))
        run.history["lowest"].append(run.best_e)
        run.history["stepsize"].append(float(s.stepsize.mean()))
        if checkpoint_every and run.step % checkpoint_every == 0:
            sink.save_checkpoint(run.checkpoint(run.elapsed + time.perf_counter() - t_start, rng))
    if reached():
        message = (f"reached target energy {target_energy} at quench {run.first_encounter} "
                   f"(step {run.step})")
    run.elapsed += time.perf_counter() - t_start
    sink.save_checkpoint(run.checkpoint(run.elapsed, rng))
    converged = reached() if target_energy is not None else run.step >= n_steps
    if target_energy is not None and not converged:
        message += f"; target energy {target_energy} not reached (lowest {run.best_e:.8g})"
    return BasinHoppingResult(
        converged=bool(converged), message=f"{landscape.name}: {message}", counts=EvaluationCounts(
            gradient=run.gradient_calls), history=run.history, x=run.best_x, energy=run.best_e,
        steps=run.step, quenches=run.quenches, failed_quenches=run.failed,
        first_encounter=run.first_encounter, first_encounter_seconds=run.first_seconds,
        walkers=run.state, resumed_from=resumed_from, seconds=run.elapsed,
    )


@dataclass
class _Run:
    """Search bookkeeping beyond the walkers: counters, best minimum, history."""

    state: WalkerState
    step: int = 0
    quenches: int = 0
    failed: int = 0
    gradient_calls: int = 0
    best_x: np.ndarray | None = None
    best_e: float = math.inf
    first_encounter: int | None = None
    first_seconds: float | None = None
    elapsed: float = 0.0
    history: dict = field(default_factory=lambda: {"acceptance": [], "lowest": [], "stepsize": []})

    def record_quenches(self, Xq: np.ndarray, Eq: np.ndarray, ok: np.ndarray, calls: int, sink: MinimaSink,
                        source: str, target: float | None, tol: float, seconds: float) -> None:
        """Store converged minima in the sink, in walker order, and track the lowest."""
        self.gradient_calls += int(calls)
        for w in range(Xq.shape[0]):
            self.quenches += 1
            if not (ok[w] and math.isfinite(Eq[w])):
                self.failed += 1
                continue
            sink.add_minimum(Xq[w], float(Eq[w]), source=source)
            if Eq[w] < self.best_e - tol:
                self.best_e, self.best_x = float(Eq[w]), Xq[w].copy()
                self.first_encounter, self.first_seconds = self.quenches, seconds
            elif Eq[w] < self.best_e:
                self.best_e, self.best_x = float(Eq[w]), Xq[w].copy()

    def checkpoint(self, elapsed: float, rng: np.random.Generator) -> dict:
        s = self.state
        return {
            "kind": CHECKPOINT_KIND, "step": self.step, "rng": rng.bit_generator.state,
            "X": s.X.copy(), "E": s.E.copy(),
            "stepsize": s.stepsize.copy(), "temperature": s.temperature.copy(), "trials": s.trials.copy(),
            "accepted": s.accepted.copy(), "extra": dict(s.extra), "quenches": self.quenches,
            "failed": self.failed, "gradient_calls": self.gradient_calls,
            "best_x": None if self.best_x is None else self.best_x.copy(), "best_e": self.best_e,
            "first_encounter": self.first_encounter, "first_seconds": self.first_seconds,
            "elapsed": elapsed, "history": {k: list(v) for k, v in self.history.items()},
        }

    @classmethod
    def restore(cls, saved: dict, landscape: Any, rng: np.random.Generator) -> _Run:
        X = np.array(saved["X"], dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != int(landscape.dim):
            raise ValueError(f"{landscape.name}: checkpoint walkers have shape {X.shape}, expected "
                             f"(n, {landscape.dim}) — the checkpoint belongs to another landscape")
        if "rng" in saved:
            rng.bit_generator.state = saved["rng"]
        state = WalkerState(X=X, E=np.array(saved["E"]), stepsize=np.array(saved["stepsize"]),
                            temperature=np.array(saved["temperature"]), trials=np.array(saved["trials"]),
                            accepted=np.array(saved["accepted"]), extra=dict(saved["extra"]))
        return cls(state=state, step=int(saved["step"]), quenches=int(saved["quenches"]),
                   failed=int(saved["failed"]), gradient_calls=int(saved["gradient_calls"]),
                   best_x=saved["best_x"], best_e=float(saved["best_e"]),
                   first_encounter=saved["first_encounter"], first_seconds=saved["first_seconds"],
                   elapsed=float(saved["elapsed"]), history={k: list(v) for k, v in saved["history"].items()})
