"""Replica exchange (parallel tempering) Monte Carlo.

Swendsen & Wang (1986), "Replica Monte Carlo simulation of spin glasses", PRL 57, 2607;
Geyer (1991), "Markov chain Monte Carlo maximum likelihood"; Hukushima & Nemoto (1996),
"Exchange Monte Carlo method and application to spin glass simulations", JPSJ 65, 1604.

n replicas sample exp(−E/kT_i) on a ladder T_1 < … < T_n by Metropolis moves (one move of
every replica per step, all proposals evaluated in one batched ``energies(X)`` call when the
landscape offers it). After every ``moves_per_sweep`` steps one exchange round is attempted
between neighbouring temperatures, on the even pairs (0,1), (2,3), … in even sweeps and the
odd pairs (1,2), (3,4), … in odd sweeps; configurations at T_i and T_j are swapped with
probability

    min(1, exp((β_i − β_j)(E_i − E_j))),   β = 1/kT,

which keeps the product of the Boltzmann distributions invariant (detailed balance of the
joint chain). Temperatures stay in place; configurations move along the ladder (``labels``
follow them).

The default ladder is geometric, T_i = T_min (T_max/T_min)^{i/(n−1)}: for a system of
roughly constant heat capacity it gives equal exchange rates between neighbours
(Kofke 2002, J. Chem. Phys. 117, 6911). Step sizes start at ``step_size·√(T_i/T_min)`` and
may adapt toward ``target_acceptance`` during the first ``adapt_sweeps`` sweeps only; after
that they are fixed so the chain satisfies detailed balance and samples the Boltzmann law
exactly.

Every ``quench_every`` sweeps (and at the end) every replica is quenched and the minimum
offered to the sink; ``checkpoint_every`` sweeps the positions, energies, labels, step sizes,
generator state, counters and records are saved to the sink, and a rerun with the same sink
and settings continues bit-for-bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.explore import _walkers as W
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import LandscapeError, Result, as_like, counted, to_numpy
from levinthal.progress import progress

__all__ = ["ReplicaExchangeResult", "exchange_probability", "geometric_ladder", "replica_exchange"]

Array = Any


def geometric_ladder(t_min: float, t_max: float, n: int) -> np.ndarray:
    """T_i = t_min (t_max/t_min)^{i/(n−1)}, i = 0 … n−1, shape ``(n,)`` (energy units)."""
    n = int(n)
    if n < 1 or not (math.isfinite(t_min) and math.isfinite(t_max) and 0 < t_min <= t_max):
        raise ValueError(f"geometric_ladder: need n >= 1 and 0 < t_min <= t_max, got {n}, {t_min}, {t_max}")
    if n == 1:
        return np.array([float(t_min)])
    return t_min * (t_max / t_min) ** (np.arange(n) / (n - 1))


def exchange_probability(beta_i: float, beta_j: float, e_i: float, e_j: float) -> float:
    """Probability of swapping the configurations at inverse temperatures β_i and β_j with
    energies E_i and E_j: min(1, exp((β_i − β_j)(E_i − E_j)))."""
    a = (beta_i - beta_j) * (e_i - e_j)
    return 1.0 if a >= 0 else math.exp(a)


@dataclass
class ReplicaExchangeResult(Result):
    """What :func:`replica_exchange` produced (index i = temperature ``temperatures[i]``).

    ``x``: final configurations ``(n, dim)`` (native type), row i at T_i; ``energies``:
    ``(m, n)`` energy at each temperature at the recorded sweeps ``sweeps`` ``(m,)``;
    ``labels``: ``(m, n)`` which starting replica sat at each temperature (round trips);
    ``acceptance``: ``(m, n)`` Metropolis acceptance since the previous record;
    ``exchange_attempts``, ``exchange_accepts``: ``(n−1,)`` per neighbour pair (i, i+1), and
    ``exchange_rates`` their ratio (NaN where never attempted); ``step_sizes``: ``(n,)`` final;
    ``quenches``: ``(sweep, temperature index, minimum_id, is_new, energy)``; ``best_x``,
    ``best_energy``: lowest converged quench.
    """

    x: Array = None
    temperatures: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sweeps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    energies: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=int))
    acceptance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    exchange_attempts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    exchange_accepts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    exchange_rates: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    quenches: list[tuple] = field(default_factory=list)
    best_x: Array = None
    best_energy: float = float("inf")
    sink: Any = None
    resumed_from: int | None = None


def replica_exchange(
    landscape: Any,
    x0: Array,
    *,
    n_sweeps: int,
    temperatures: Any = None,
    t_min: float | None = None,
    t_max: float | None = None,
    n_replicas: int | None = None,
    moves_per_sweep: int = 1,
    step_size: float | Any = 0.1,
    adapt_sweeps: int = 0,
    adapt_every: int = 50,
    target_acceptance: float = 0.5,
    adapt_factor: float = 1.1,
    container_radius: float | None = None,
    rng: np.random.Generator | int | None = None,
    record_every: int = 1,
    quench_every: int | None = None,
    sink: Any = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    minimize_options: dict | None = None,
    quiet: bool = True,
) -> ReplicaExchangeResult:
    """Parallel tempering from ``x0`` (shape ``(dim,)``, copied to every replica, or ``(n, dim)``).

    Parameters
    ----------
    n_sweeps : int
        Number of sweeps; a sweep is ``moves_per_sweep`` Metropolis steps of every replica
        (0 allowed: exchanges only) followed by one exchange round.
    temperatures : array, optional
        The ladder kT_i (increasing, energy units); otherwise :func:`geometric_ladder`
        (``t_min``, ``t_max``, ``n_replicas``; ``n_replicas`` defaults to the rows of ``x0``).
    step_size : float or array
        Uniform-displacement half-width per coordinate: a float s gives s·√(T_i/T_min); an
        array ``(n,)`` is used as given.
    adapt_sweeps, adapt_every, target_acceptance, adapt_factor
        Step sizes adapt every ``adapt_every`` steps during the first ``adapt_sweeps`` sweeps
        (default 0: never), then stay fixed.
    record_every, quench_every, checkpoint_every : int
        In sweeps. Quenched minima go to ``sink`` (an :class:`InMemoryMinima` if none given).
    """
    n_sweeps, moves_per_sweep, record_every = int(n_sweeps), int(moves_per_sweep), int(record_every)
    if n_sweeps < 0 or moves_per_sweep < 0 or record_every < 1:
        raise ValueError(f"replica_exchange: need n_sweeps >= 0, moves_per_sweep >= 0 and record_every >= 1, "
                         f"got {n_sweeps}, {moves_per_sweep}, {record_every}")
    lc = counted(landscape)
    start_counts = lc.counts.copy()
    rng = W.as_generator(rng)
    if temperatures is None:
        if t_min is None or t_max is None:
            raise ValueError("replica_exchange: give temperatures, or t_min and t_max for a geometric ladder")
        if n_replicas is None:
            shape = tuple(getattr(x0, "shape", np.shape(x0)))
            n_replicas = shape[0] if len(shape) == 2 else None
        if n_replicas is None:
            raise ValueError("replica_exchange: give n_replicas (x0 is a single point)")
        temperatures = geometric_ladder(t_min, t_max, n_replicas)
    T = np.asarray(temperatures, dtype=np.float64).reshape(-1)
    n = T.size
    if n < 1 or not np.all(np.isfinite(T)) or np.any(T <= 0) or np.any(np.diff(T) <= 0):
        raise ValueError(f"replica_exchange: temperatures must be positive, finite and increasing, got {T}")
    beta = 1.0 / T
    X, single = W.walkers(lc, x0, "replica_exchange")
    if single:
        X = X[[0] * n] if hasattr(X, "clone") else np.repeat(X, n, axis=0)
    if X.shape[0] != n:
        raise LandscapeError(f"{lc.name}: replica_exchange got {X.shape[0]} starting points for {n} "
                             "temperatures; pass one point or one per temperature")
    dim = int(lc.dim)
    if container_radius is not None and dim % 3:
        raise LandscapeError(f"{lc.name}: container_radius needs a cluster (dim = 3N), dim = {dim}")
    if np.ndim(step_size) == 0:
        if not (math.isfinite(step_size) and step_size >= 0):
            raise ValueError(f"replica_exchange: step_size must be finite and >= 0, got {step_size}")
        steps_arr = float(step_size) * np.sqrt(T / T[0])
    else:
        steps_arr = np.array(step_size, dtype=np.float64).reshape(-1)
        if steps_arr.shape != (n,) or not np.all(np.isfinite(steps_arr)) or np.any(steps_arr < 0):
            raise ValueError(f"replica_exchange: step_size array must have shape ({n},), finite >= 0")
    sink = sink if sink is not None else InMemoryMinima(landscape)
    config = {"landscape": lc.name, "dim": dim, "temperatures": T.tolist(), "n_sweeps": n_sweeps,
              "moves_per_sweep": moves_per_sweep, "step_size": steps_arr.tolist(),
              "adapt_sweeps": adapt_sweeps, "adapt_every": adapt_every,
              "target_acceptance": target_acceptance, "adapt_factor": adapt_factor,
              "container_radius": container_radius, "record_every": record_every,
              "quench_every": quench_every, "checkpoint_every": checkpoint_every}

    Xh = W.host(X)
    E = np.asarray(to_numpy(W.energies(lc, X)), dtype=np.float64)
    labels = np.arange(n)
    attempts = np.zeros(max(n - 1, 0), dtype=np.int64)
    accepts = np.zeros(max(n - 1, 0), dtype=np.int64)
    window_acc, since_record = np.zeros(n), np.zeros(n)
    moves_since_record = 0
    rec: dict[str, list] = {k: [] for k in ("sweeps", "energies", "labels", "acceptance")}
    quenches: list[tuple] = []
    best_x, best_energy = None, math.inf
    sweep, total_moves, resumed_from = 0, 0, None
    saved = W.load_state(sink, "replica_exchange", config, resume)
    if saved is not None:
        Xh, E, labels = np.array(saved["x"]), np.array(saved["e"]), np.array(saved["labels"])
        attempts, accepts = np.array(saved["attempts"]), np.array(saved["accepts"])
        steps_arr, window_acc = np.array(saved["step_sizes"]), np.array(saved["window_acc"])
        since_record, moves_since_record = np.array(saved["since_record"]), int(saved["moves_since_record"])
        rng.bit_generator.state = saved["rng"]
        rec = {k: list(v) for k, v in saved["records"].items()}
        quenches = list(saved["quenches"])
        best_x, best_energy = saved["best_x"], saved["best_energy"]
        sweep = resumed_from = int(saved["sweep"])
        total_moves = int(saved["total_moves"])
    elif not np.all(np.isfinite(E)):
        raise LandscapeError(f"{lc.name}: replica_exchange starts from non-finite energies {E}")

    def record() -> None:
        rec["sweeps"].append(sweep)
        rec["energies"].append(E.copy())
        rec["labels"].append(labels.copy())
        rec["acceptance"].append(since_record / max(1, moves_since_record))

    if sweep == 0 and not rec["sweeps"]:
        record()
    for _ in progress(range(sweep, n_sweeps), quiet, desc="replica exchange", total=n_sweeps, initial=sweep):
        for _move in range(moves_per_sweep):
            Xh, E, ok = W.metropolis_move(lc, Xh, E, steps_arr, T, rng, X, container_radius)
            window_acc += ok
            since_record += ok
            moves_since_record += 1
            total_moves += 1
            if sweep < adapt_sweeps and total_moves % adapt_every == 0:
                rate = window_acc / adapt_every
                steps_arr = np.where(rate > target_acceptance, steps_arr * adapt_factor,
                                     steps_arr / adapt_factor)
                window_acc[:] = 0
        for i in range(sweep % 2, n - 1, 2):
            attempts[i] += 1
            a = (beta[i] - beta[i + 1]) * (E[i] - E[i + 1])
            if a >= 0 or rng.random() < math.exp(a):
                accepts[i] += 1
                Xh[[i, i + 1]] = Xh[[i + 1, i]]
                E[[i, i + 1]] = E[[i + 1, i]]
                labels[[i, i + 1]] = labels[[i + 1, i]]
        sweep += 1
        if sweep % record_every == 0 or sweep == n_sweeps:
            record()
            since_record[:] = 0
            moves_since_record = 0
        if (quench_every is not None and sweep % quench_every == 0) or sweep == n_sweeps:
            found, res = W.quench_into(sink, lc, as_like(Xh, X), "replica_exchange", minimize_options)
            for i, (mid, new, e) in enumerate(found):
                quenches.append((sweep, i, mid, new, e))
                if mid is not None and e < best_energy:
                    best_energy, best_x = e, W.host(res.x[i])
        if checkpoint_every is not None and (sweep % checkpoint_every == 0 or sweep == n_sweeps):
            sink.save_checkpoint({
                "search": "replica_exchange", "config": config, "sweep": sweep, "total_moves": total_moves,
                "x": Xh.copy(), "e": E.copy(), "labels": labels.copy(), "attempts": attempts.copy(),
                "accepts": accepts.copy(), "step_sizes": steps_arr.copy(), "window_acc": window_acc.copy(),
                "since_record": since_record.copy(), "moves_since_record": moves_since_record,
                "rng": rng.bit_generator.state, "records": rec, "quenches": quenches, "best_x": best_x,
                "best_energy": best_energy})
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(attempts > 0, accepts / np.maximum(attempts, 1), np.nan)
    found_q = [q for q in quenches if q[2] is not None]
    msg = (f"{n_sweeps} sweeps of {n} replicas (kT {T[0]:.4g}–{T[-1]:.4g}); exchange rates "
           f"{np.array2string(rates, precision=2)}; lowest quenched minimum {best_energy:.8g}")
    return ReplicaExchangeResult(
        converged=bool(found_q), message=msg, counts=lc.counts - start_counts, x=as_like(Xh, X),
        temperatures=T, sweeps=np.asarray(rec["sweeps"], dtype=int), energies=np.stack(rec["energies"]),
        labels=np.stack(rec["labels"]), acceptance=np.stack(rec["acceptance"]),
        exchange_attempts=attempts, exchange_accepts=accepts, exchange_rates=rates, step_sizes=steps_arr,
        quenches=quenches, best_x=best_x, best_energy=float(best_energy), sink=sink,
        resumed_from=resumed_from)
