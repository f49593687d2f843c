"""The lowest barrier between minima: minimax paths on the transition network.

Of all pathways (sequences of minima joined by transition states) between two minima, or two
sets of minima, the *minimax* one has the lowest highest transition state; that transition
state's energy is the lowest energy at which the two become connected, which is exactly the
level at which their basins merge in a disconnectivity graph (Becker & Karplus 1997). Every
path in a minimum spanning tree of the network (edge weight = transition-state energy) is a
minimax path (Hu 1961, "The maximum capacity route problem", Oper. Res. 9, 898), so Kruskal's
algorithm with a union-find answers both questions: edges are added in order of energy until
the two ends join, and the path is the unique one among the added edges.

Self-loops are ignored; minima in different components have no path (barrier ``inf``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from levinthal.landscape.errors import LandscapeError
from levinthal.network.graph import KineticNetwork, UnionFind

__all__ = ["MinimaxPath", "minimax_energies", "minimax_path", "minimum_spanning_tree"]


@dataclass
class MinimaxPath:
    """The pathway between two minima (or sets) whose highest transition state is lowest.

    ``minima``: indices along the path, source first; ``transition_states``: the TS indices
    between them (``len(minima) − 1``); ``highest_energy``: the highest TS energy on the path
    (``inf`` when ``connected`` is False); ``barrier_forward`` = ``highest_energy`` − E(first
    minimum); ``barrier_backward`` = ``highest_energy`` − E(last minimum); ``highest_ts``: index
    of the highest transition state (−1 when the minima coincide or are not connected).
    """

    connected: bool
    minima: list[int] = field(default_factory=list)
    transition_states: list[int] = field(default_factory=list)
    highest_energy: float = float("inf")
    barrier_forward: float = float("inf")
    barrier_backward: float = float("inf")
    highest_ts: int = -1


def _as_set(net: KineticNetwork, s: int | Sequence[int], name: str) -> np.ndarray:
    a = np.unique(np.atleast_1d(np.asarray(s, dtype=int)))
    if a.size == 0 or a.min() < 0 or a.max() >= net.n_minima:
        raise LandscapeError(f"minimax_path: {name} = {s!r} must be minimum indices in [0, {net.n_minima})")
    return a


def minimum_spanning_tree(net: KineticNetwork) -> np.ndarray:
    """Indices of the transition states in a minimum spanning forest (Kruskal 1956), lowest first.

    Ties between equal energies are broken by transition-state index, so the forest is reproducible.
    """
    uf = UnionFind(net.n_minima)
    chosen = []
    edges = net.edges()
    for k in edges[np.argsort(net.ts_energies[edges], kind="stable")]:
        i, j = net.ts_minima[k]
        if uf.find(i) != uf.find(j):
            uf.union(i, j)
            chosen.append(int(k))
    return np.asarray(chosen, dtype=int)


def minimax_path(net: KineticNetwork, source: int | Sequence[int],
                 target: int | Sequence[int]) -> MinimaxPath:
    """The minimax path from ``source`` to ``target`` (each a minimum index or a set of them).

    With sets, the path runs from the member of ``source`` to the member of ``target`` that are
    joined at the lowest energy (``barrier_forward`` is then measured from that source member).
    Overlapping sets give a path of one minimum with zero barriers.
    """
    A, B = _as_set(net, source, "source"), _as_set(net, target, "target")
    common = np.intersect1d(A, B)
    if common.size:
        i = int(common[0])
        return MinimaxPath(True, [i], [], float(net.energies[i]), 0.0, 0.0, -1)
    n = net.n_minima
    # virtual nodes n (for A) and n + 1 (for B), joined to their members below every energy
    uf = UnionFind(n + 2)
    adj: dict[int, list[tuple[int, int]]] = {}
    for a in A:
        uf.union(n, int(a))
        adj.setdefault(n, []).append((int(a), -1))
        adj.setdefault(int(a), []).append((n, -1))
    for b in B:
        uf.union(n + 1, int(b))
        adj.setdefault(n + 1, []).append((int(b), -1))
        adj.setdefault(int(b), []).append((n + 1, -1))
    edges = net.edges()
    joined = False
    for k in edges[np.argsort(net.ts_energies[edges], kind="stable")]:
        i, j = (int(v) for v in net.ts_minima[k])
        if uf.find(i) == uf.find(j):
            continue
        uf.union(i, j)
        adj.setdefault(i, []).append((j, int(k)))
        adj.setdefault(j, []).append((i, int(k)))
        if uf.find(n) == uf.find(n + 1):
            joined = True
            break
    if not joined:
        return MinimaxPath(False)
    # the added edges form a forest: the path from n to n + 1 in it is unique
    prev: dict[int, tuple[int, int]] = {n: (-1, -1)}
    queue = deque([n])
    while queue:
        u = queue.popleft()
        for v, k in adj.get(u, ()):
            if v not in prev:
                prev[v] = (u, k)
                queue.append(v)
    nodes, tss = [], []
    v = n + 1
    while v != n:
        u, k = prev[v]
        if v < n:
            nodes.append(v)
        if k >= 0:
            tss.append(k)
        v = u
    nodes.reverse()
    tss.reverse()
    e_ts = net.ts_energies[tss]
    top = int(tss[int(np.argmax(e_ts))])
    high = float(net.ts_energies[top])
    return MinimaxPath(True, nodes, tss, high, high - float(net.energies[nodes[0]]),
                       high - float(net.energies[nodes[-1]]), top)


def minimax_energies(net: KineticNetwork, source: int) -> np.ndarray:
    """The minimax energy from ``source`` to every minimum, shape ``(n,)``: the lowest possible
    highest transition state on a path (E(source) for itself, ``inf`` when not connected).

    Found on the minimum spanning forest by one traversal from ``source``, carrying the
    running maximum along the tree.
    """
    if not 0 <= int(source) < net.n_minima:
        raise LandscapeError(f"minimax_energies: source {source} is not a minimum index "
                             f"in [0, {net.n_minima})")
    adj: dict[int, list[tuple[int, float]]] = {}
    for k in minimum_spanning_tree(net):
        i, j = (int(v) for v in net.ts_minima[k])
        adj.setdefault(i, []).append((j, float(net.ts_energies[k])))
        adj.setdefault(j, []).append((i, float(net.ts_energies[k])))
    out = np.full(net.n_minima, np.inf)
    out[source] = net.energies[source]
    queue = deque([int(source)])
    seen = {int(source)}
    while queue:
        u = queue.popleft()
        for v, e in adj.get(u, ()):
            if v not in seen:
                seen.add(v)
                out[v] = max(out[u], e)  # E(source) lies below every TS
                queue.append(v)
    return out
