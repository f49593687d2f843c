"""Basin-hopping with parallel tempering (BHPT): replicas at a temperature ladder that swap.

Parallel tempering (replica exchange; Swendsen & Wang 1986, Geyer 1991) runs replicas at
temperatures T_1 < … < T_R and proposes swaps of neighbouring replicas' configurations, accepted
with probability min(1, exp((1/T_i − 1/T_j)(E_i − E_j))), which keeps every replica's
Boltzmann distribution of the transformed landscape invariant. Combined with basin-hopping
(Strodel & Wales 2010, Chem. Phys. Lett. 466, 105; Strodel, Lwin, Wales & Wilson 2010), the
hot replicas cross between funnels and hand good minima down to the cold ones.

Here each replica is a walker of :func:`~levinthal.explore.basin_hopping.basin_hopping` with
its own temperature (a geometric ladder, :func:`geometric_ladder`); every ``swap_every`` steps
a swap is proposed for every neighbouring pair, alternating even pairs (0-1, 2-3, …) and odd
pairs (1-2, 3-4, …). Configurations and energies move; temperatures and step sizes stay
with the rung. Swap attempts and acceptances per pair are kept in
``result.walkers.extra`` (and checkpointed), so a resumed run continues the same sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from levinthal.explore.basin_hopping import BasinHoppingResult, WalkerState, basin_hopping

__all__ = ["ReplicaExchange", "geometric_ladder", "parallel_tempering_basin_hopping"]


def geometric_ladder(t_min: float, t_max: float, n: int) -> np.ndarray:
    """``n`` temperatures from ``t_min`` to ``t_max`` in geometric progression (constant ratio
    T_{k+1}/T_k, which gives roughly uniform swap rates when the heat capacity is flat)."""
    if n < 1 or not (0 < t_min <= t_max) or not math.isfinite(t_max):
        raise ValueError(f"geometric_ladder: need n >= 1 and 0 < t_min <= t_max < inf, got n={n}, "
                         f"t_min={t_min}, t_max={t_max}")
    if n == 1:
        return np.array([float(t_min)])
    return t_min * (t_max / t_min) ** (np.arange(n) / (n - 1))


def exchange_probability(e_i: float, e_j: float, t_i: float, t_j: float) -> float:
    """Metropolis probability to swap configurations of replicas at T_i and T_j (Geyer 1991)."""
    x = (1.0 / t_i - 1.0 / t_j) * (e_i - e_j)
    return 1.0 if x >= 0 else math.exp(x)


@dataclass
class ReplicaExchange:
    """``after_step`` hook for :func:`basin_hopping`: neighbour swaps every ``every`` steps.

    One uniform random number is drawn per proposed pair, always (accepted or not), so the
    random stream does not depend on energies' history. Counts go to ``state.extra``:
    ``swap_attempts`` and ``swap_accepts`` (lists, one per neighbouring pair) and
    ``swap_round`` (rounds done, which fixes the even/odd alternation on resume).
    """

    every: int = 1

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"ReplicaExchange: every must be >= 1, got {self.every}")

    def __call__(self, state: WalkerState, rng: np.random.Generator, step: int) -> None:
        n = state.X.shape[0]
        if n < 2 or (step + 1) % self.every:
            return
        ex = state.extra
        ex.setdefault("swap_attempts", [0] * (n - 1))
        ex.setdefault("swap_accepts", [0] * (n - 1))
        rnd = int(ex.get("swap_round", 0))
        for i in range(rnd % 2, n - 1, 2):
            j = i + 1
            u = rng.random()
            ex["swap_attempts"][i] += 1
            p = exchange_probability(state.E[i], state.E[j], state.temperature[i], state.temperature[j])
            if u < p:
                ex["swap_accepts"][i] += 1
                state.X[[i, j]] = state.X[[j, i]]
                state.E[[i, j]] = state.E[[j, i]]
        ex["swap_round"] = rnd + 1


def parallel_tempering_basin_hopping(
    landscape: Any,
    x0: Any = None,
    *,
    n_replicas: int = 8,
    t_min: float = 0.3,
    t_max: float = 3.0,
    swap_every: int = 1,
    **options: Any,
) -> BasinHoppingResult:
    """BHPT: :func:`basin_hopping` with ``n_replicas`` walkers on ``geometric_ladder(t_min,
    t_max, n_replicas)`` (in energy units) and :class:`ReplicaExchange` every ``swap_every``
    steps. ``options`` go to :func:`basin_hopping` (``n_steps``, ``sink``, ``seed``,
    ``adaptive``, ``target_energy`` …; not ``temperature`` or ``after_step``). Defaults 0.3 –
    3.0 ε suit small Lennard-Jones clusters. Swap statistics: ``result.walkers.extra``.
    """
    for bad in ("temperature", "after_step", "n_walkers"):
        if bad in options:
            raise ValueError(f"parallel_tempering_basin_hopping sets {bad!r} itself; use n_replicas, t_min, "
                             "t_max, swap_every")
    ladder = geometric_ladder(t_min, t_max, n_replicas)
    options.setdefault("source", "parallel_tempering_bh")
    return basin_hopping(landscape, x0, n_walkers=n_replicas, temperature=ladder,
                         after_step=ReplicaExchange(swap_every), **options)
