"""Funnels: which minima drain to which bottom, and how deep each funnel is.

A *monotonic sequence* (Berry & Kunz 1995, Phys. Rev. Lett. 74, 3951; Kunz & Berry 1995,
J. Chem. Phys. 103, 1904) is a chain of minima, each joined to the next by a transition
state, with energies decreasing. From each minimum the sequence steps to a lower neighbour
— the one reached over the *lowest* transition state (``rule="lowest_barrier"``, default), or
the lowest neighbouring minimum (``rule="lowest_minimum"``) — until no neighbour is lower.
That last minimum is the *bottom* of the sequence; the minima sharing a bottom form its
*funnel* (its basin of monotonic sequences; Doye, Miller & Wales 1999, J. Chem. Phys. 110,
6896, used the same measure for LJ38's two funnels).

Each funnel's *depth* is the barrier separating its bottom from the global minimum's funnel:
the minimax transition-state energy from the bottom to the global minimum
(:mod:`levinthal.network.barriers`) minus the bottom's energy. For the global minimum's own
funnel it is the lowest such barrier from the global minimum to any other bottom (how deep
it is seen from inside), ``inf`` when it is the only funnel or other funnels are unreachable.
``gap`` is the bottom's energy above the global minimum. Minima with no neighbour are their
own bottoms; bottoms not connected to the global minimum have infinite depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from levinthal.landscape.errors import LandscapeError
from levinthal.network.barriers import minimax_energies
from levinthal.network.graph import KineticNetwork

__all__ = ["Funnels", "funnels", "monotonic_successors", "rival_minimum"]


@dataclass
class Funnels:
    """Funnel analysis of a network.

    ``successor``: the next minimum of each minimum's monotonic sequence (itself at a bottom),
    shape ``(n,)``; ``bottom_of``: the bottom each minimum drains to, ``(n,)``; ``bottoms``:
    bottom indices ordered by energy (the global minimum first), ``(f,)``; ``sizes``, ``depths``,
    ``gaps``: per funnel in the order of ``bottoms``, ``(f,)``; ``label``: funnel number
    (position in ``bottoms``) of each minimum, ``(n,)``; ``fraction_global``: share of all
    minima draining to the global minimum.
    """

    successor: np.ndarray
    bottom_of: np.ndarray
    bottoms: np.ndarray
    sizes: np.ndarray
    depths: np.ndarray
    gaps: np.ndarray
    label: np.ndarray
    fraction_global: float

    def members(self, funnel: int) -> np.ndarray:
        """Indices of the minima in funnel number ``funnel`` (0 is the global minimum's)."""
        return np.flatnonzero(self.label == funnel)


def monotonic_successors(net: KineticNetwork, rule: str = "lowest_barrier") -> np.ndarray:
    """The next minimum of each minimum's monotonic sequence (itself when none is lower), ``(n,)``.

    Ties are broken by lower neighbour energy, then lower index, so the answer is reproducible.
    """
    if rule not in ("lowest_barrier", "lowest_minimum"):
        raise LandscapeError(f"funnels: rule must be 'lowest_barrier' or 'lowest_minimum', got {rule!r}")
    e = net.energies
    best: dict[int, tuple[float, float, int]] = {}
    for k in net.edges():
        a, b = (int(v) for v in net.ts_minima[k])
        for i, j in ((a, b), (b, a)):
            if e[j] < e[i]:
                key = (float(net.ts_energies[k]), float(e[j]), j) if rule == "lowest_barrier" \
                    else (float(e[j]), float(net.ts_energies[k]), j)
                if i not in best or key < best[i]:
                    best[i] = key
    succ = np.arange(net.n_minima)
    for i, key in best.items():
        succ[i] = key[2]
    return succ


def funnels(net: KineticNetwork, rule: str = "lowest_barrier") -> Funnels:
    """Monotonic-sequence funnels of ``net`` (see the module docstring)."""
    succ = monotonic_successors(net, rule)
    bottom = -np.ones(net.n_minima, dtype=int)
    for i in np.argsort(net.energies, kind="stable"):  # lower minima are resolved first
        j = succ[i]
        bottom[i] = i if j == i else bottom[j]
    bottoms = np.unique(bottom)
    bottoms = bottoms[np.argsort(net.energies[bottoms], kind="stable")]
    pos = {int(b): k for k, b in enumerate(bottoms)}
    label = np.array([pos[int(b)] for b in bottom], dtype=int)
    sizes = np.bincount(label, minlength=bottoms.size)
    gm = int(bottoms[0])
    mm = minimax_energies(net, gm)
    e = net.energies
    depths = mm[bottoms] - e[bottoms]
    others = bottoms[1:]
    depths[0] = float(np.min(mm[others] - e[gm])) if others.size else np.inf
    return Funnels(successor=succ, bottom_of=bottom, bottoms=bottoms, sizes=sizes, depths=depths,
                   gaps=e[bottoms] - e[gm], label=label, fraction_global=float(sizes[0] / net.n_minima))


def rival_minimum(net: KineticNetwork, analysis: Funnels | None = None) -> int:
    """The minimum that competes with the global minimum: the bottom of the next funnel, or the
    second-lowest minimum when the network has one funnel (index into ``net``; needs ≥ 2 minima)."""
    f = funnels(net) if analysis is None else analysis
    if len(f.bottoms) > 1:
        return int(f.bottoms[1])
    return int(np.argsort(net.energies)[1])
