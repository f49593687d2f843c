"""Disconnectivity graphs (Becker & Karplus 1997, J. Chem. Phys. 106, 1495), as pure data.

At an energy level E the minima with energy ≤ E fall into *superbasins*: two minima share one
when a pathway joins them whose transition states all lie at or below E. Levels are sampled
from the top down, E₀ > E₁ > …, and each superbasin at level l+1 lies inside exactly one at
level l: the superbasins form a tree (a forest when the network is disconnected), which is the
disconnectivity graph. Its root is the whole (connected) network; its leaves are the minima.

The tree here is *compressed*: a node is a superbasin for as long as it stays the same set of
minima, from the level where it appears (``top``) to the last level before it splits
(``bottom``). A node with one minimum is a leaf, whose line runs down to the minimum's own
energy. Minima dropping out of a superbasin between two levels (their energy lies between
them) become leaf children of that superbasin, as in disconnectionDPS (Wales's drawing program).

Layout follows disconnectionDPS and pele's ``DisconnectivityGraph``: children are ordered by
their lowest minimum's energy, lowest first (``order="energy"``), or by their size
(``order="size"``, largest first); leaves take x = 0, 1, 2 … in that depth-first order and an
internal node sits at the mean x of its children. ``center_global_minimum`` instead places
each child holding the global minimum in the middle of its siblings, so the global minimum
sits near the centre of the graph.

Which minima are drawn: by default only those connected to the global minimum (the
``NCONNMIN``/``CONNECTMIN`` habit of disconnectionDPS; a disconnected piece has no barrier to
the rest), optionally only the ``n_minima`` lowest of them, or an explicit list (``TRMIN``).
Superbasins are always computed over *every* minimum and transition state, so hidden minima
still join the basins they lie between; only the leaves shown change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from levinthal.landscape.errors import LandscapeError
from levinthal.network.graph import KineticNetwork, UnionFind

__all__ = ["DGraphNode", "DisconnectivityGraph", "disconnectivity_graph", "energy_levels"]


@dataclass
class DGraphNode:
    """One superbasin of a disconnectivity graph.

    ``minima``: indices of the shown minima under it (sorted); ``parent``: node id (None for a
    root); ``children``: node ids in drawing order; ``top``/``bottom``: energies where its line
    starts and ends (a leaf's ``bottom`` is its minimum's energy); ``top_level``/``bottom_level``:
    level indices (``bottom_level`` is −1 for a leaf); ``minimum``: the minimum index of a leaf,
    else None; ``x``: horizontal position.
    """

    id: int
    minima: np.ndarray
    parent: int | None
    top: float
    bottom: float
    top_level: int
    bottom_level: int
    children: list[int] = field(default_factory=list)
    minimum: int | None = None
    x: float = 0.0

    @property
    def is_leaf(self) -> bool:
        return self.minimum is not None


@dataclass
class DisconnectivityGraph:
    """A laid-out disconnectivity graph.

    ``levels``: the energy levels, descending, shape ``(L,)``; ``nodes``: every
    :class:`DGraphNode` (``nodes[k].id == k``); ``roots``: ids of the root nodes (one when the
    graph is pruned to the global minimum's component); ``leaf_of``: minimum index → leaf node
    id for every shown minimum; ``shown``: indices of the shown minima, in left-to-right order.
    """

    levels: np.ndarray
    nodes: list[DGraphNode]
    roots: list[int]
    leaf_of: dict[int, int]
    shown: np.ndarray
    energies: np.ndarray

    def x_of_minimum(self, i: int) -> float:
        return self.nodes[self.leaf_of[int(i)]].x

    def merge_energy(self, i: int, j: int) -> float:
        """The level of the lowest common superbasin of minima ``i`` and ``j`` (``inf`` if none)."""
        if i == j:
            return float(self.energies[i])
        up = set()
        k = self.leaf_of[int(i)]
        while k is not None:
            up.add(k)
            k = self.nodes[k].parent
        k = self.leaf_of[int(j)]
        while k is not None and k not in up:
            k = self.nodes[k].parent
        return float("inf") if k is None else self.nodes[k].bottom

    def segments(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """The line segments of the drawing as ``((x0, E0), (x1, E1))``: each node's vertical line
        from ``top`` to ``bottom`` and a line from each parent's bottom to each child's top."""
        seg = []
        for nd in self.nodes:
            if nd.top != nd.bottom:
                seg.append(((nd.x, nd.top), (nd.x, nd.bottom)))
            for c in nd.children:
                ch = self.nodes[c]
                seg.append(((nd.x, nd.bottom), (ch.x, ch.top)))
        return seg


def energy_levels(net: KineticNetwork, *, n_levels: int | None = 20, delta: float | None = None,
                  top: float | None = None, minima: np.ndarray | None = None) -> np.ndarray:
    """Energy levels, descending: from ``top`` (default: the highest transition state in the
    components of ``minima``, or their highest minimum if none) down in steps of ``delta``, or in
    ``n_levels`` equal steps to just above the lowest of ``minima`` when ``delta`` is None."""
    e = net.energies if minima is None else net.energies[minima]
    if top is None:
        labels = net.components()
        mask = np.ones(net.n_minima, dtype=bool) if minima is None else np.isin(labels, labels[minima])
        ed = net.edges()
        ed = ed[mask[net.ts_minima[ed, 0]] & mask[net.ts_minima[ed, 1]]]
        top = float(net.ts_energies[ed].max()) if ed.size else float(e.max())
    bottom = float(e.min())
    if delta is not None:
        if not delta > 0:
            raise LandscapeError(f"energy_levels: delta must be > 0, got {delta}")
        n = max(1, int(np.floor((top - bottom) / delta)) + 1)
        return top - delta * np.arange(n)
    if n_levels is None or n_levels < 1:
        raise LandscapeError(f"energy_levels: n_levels must be ≥ 1, got {n_levels}")
    if top <= bottom:
        return np.array([top])
    step = (top - bottom) / n_levels
    return top - step * np.arange(n_levels)


def _shown_minima(net: KineticNetwork, connected_to_global_minimum: bool, n_minima: int | None,
                  minima: Sequence[int] | None, energy_max: float) -> np.ndarray:
    if minima is not None:
        idx = np.unique(np.asarray(minima, dtype=int))
        if idx.size == 0 or idx.min() < 0 or idx.max() >= net.n_minima:
            raise LandscapeError(f"disconnectivity_graph: minima {minima!r} must be indices "
                                 f"in [0, {net.n_minima})")
    else:
        idx = np.arange(net.n_minima)
    idx = idx[net.energies[idx] <= energy_max]
    if connected_to_global_minimum:
        labels = net.components(energy_max)
        gm = int(np.argmin(net.energies))
        idx = idx[labels[idx] == labels[gm]]
    if n_minima is not None:
        idx = idx[np.argsort(net.energies[idx], kind="stable")[: int(n_minima)]]
    return np.sort(idx)


def disconnectivity_graph(
    net: KineticNetwork,
    *,
    n_levels: int | None = 20,
    delta: float | None = None,
    top: float | None = None,
    levels: Sequence[float] | None = None,
    connected_to_global_minimum: bool = True,
    n_minima: int | None = None,
    minima: Sequence[int] | None = None,
    energy_max: float = np.inf,
    order: str = "energy",
    center_global_minimum: bool = False,
) -> DisconnectivityGraph:
    """Build and lay out the disconnectivity graph of ``net``.

    Parameters
    ----------
    n_levels, delta, top, levels
        The energy levels: explicit ``levels`` (sorted descending here), or those of
        :func:`energy_levels` (default 20 equal steps from the highest transition state joining
        shown minima down to the lowest shown minimum).
    connected_to_global_minimum : bool
        Show only minima connected to the global minimum (default True). If False, every
        component is drawn as its own tree, side by side, lowest component first.
    n_minima : int, optional
        Show only the ``n_minima`` lowest minima (after the other filters).
    minima : sequence of int, optional
        Show only these minimum indices.
    energy_max : float
        Ignore minima and transition states above this energy.
    order : {"energy", "size"}
        Children ordered by lowest minimum energy (lowest first), or by number of minima
        (largest first, ties by energy).
    center_global_minimum : bool
        Place the child holding the global minimum in the middle of its siblings.
    """
    if order not in ("energy", "size"):
        raise LandscapeError(f"disconnectivity_graph: order must be 'energy' or 'size', got {order!r}")
    shown = _shown_minima(net, connected_to_global_minimum, n_minima, minima, energy_max)
    if shown.size == 0:
        raise LandscapeError("disconnectivity_graph: no minima left to show after filtering")
    if levels is not None:
        lv = np.sort(np.asarray(levels, dtype=float))[::-1]
    else:
        lv = energy_levels(net, n_levels=n_levels, delta=delta,
                           top=top if top is not None else (None if np.isinf(energy_max) else energy_max),
                           minima=shown)
    if lv.size == 0 or not np.all(np.isfinite(lv)):
        raise LandscapeError(f"disconnectivity_graph: levels must be finite and non-empty, got {lv}")
    e = net.energies
    is_shown = np.zeros(net.n_minima, dtype=bool)
    is_shown[shown] = True
    edges = net.edges()
    edges = edges[net.ts_energies[edges] <= energy_max]
    edges = edges[np.argsort(net.ts_energies[edges], kind="stable")]

    # superbasins at each level, top down, as frozensets of shown minima
    def basins_at(level: float) -> list[frozenset[int]]:
        uf = UnionFind(net.n_minima)
        for k in edges:
            if net.ts_energies[k] > level:
                break
            uf.union(*net.ts_minima[k])
        groups: dict[int, list[int]] = {}
        for i in shown[e[shown] <= level]:
            groups.setdefault(uf.find(int(i)), []).append(int(i))
        return [frozenset(g) for g in groups.values()]

    nodes: list[DGraphNode] = []
    leaf_of: dict[int, int] = {}

    def new_node(members: frozenset[int], parent: int | None, top_e: float, top_level: int) -> int:
        nid = len(nodes)
        mem = np.array(sorted(members), dtype=int)
        if len(members) == 1:
            (i,) = members
            nodes.append(DGraphNode(nid, mem, parent, top_e, float(e[i]), top_level, -1, minimum=i))
            leaf_of[i] = nid
        else:
            nodes.append(DGraphNode(nid, mem, parent, top_e, top_e, top_level, top_level))
        if parent is not None:
            nodes[parent].children.append(nid)
        return nid

    # minima above the top level hang from nothing: give each its own root leaf at its energy
    roots: list[int] = []
    open_nodes: dict[frozenset[int], int] = {}
    for b in basins_at(lv[0]):
        nid = new_node(b, None, float(lv[0]), 0)
        roots.append(nid)
        if len(b) > 1:
            open_nodes[b] = nid
    for i in shown[e[shown] > lv[0]]:
        roots.append(new_node(frozenset([int(i)]), None, float(e[i]), 0))
    for li in range(1, lv.size):
        if not open_nodes:
            break
        below = basins_at(lv[li])
        where = {}
        for b in below:
            for i in b:
                where[i] = b
        still_open: dict[frozenset[int], int] = {}
        for members, nid in open_nodes.items():
            subs = {where[i] for i in members if i in where}  # each lies inside ``members``
            if len(subs) == 1 and next(iter(subs)) == members:
                nodes[nid].bottom = float(lv[li])
                nodes[nid].bottom_level = li
                still_open[members] = nid
                continue
            covered = set().union(*subs) if subs else set()
            for s in subs:
                cid = new_node(s, nid, float(lv[li]), li)
                if len(s) > 1:
                    still_open[s] = cid
            for i in sorted(members - covered):  # dropped out between the levels
                new_node(frozenset([i]), nid, float(e[i]), li)
        open_nodes = still_open
    # what is still open at the lowest level splits into its minima there
    for members, nid in open_nodes.items():
        for i in sorted(members):
            new_node(frozenset([i]), nid, float(e[i]), lv.size)

    # order and lay out
    def lowest(nid: int) -> float:
        return float(e[nodes[nid].minima].min())

    gm_all = int(shown[np.argmin(e[shown])])

    def key(nid: int) -> tuple:
        if order == "size":
            return (-len(nodes[nid].minima), lowest(nid), int(nodes[nid].minima[0]))
        return (lowest(nid), int(nodes[nid].minima[0]))

    for nd in nodes:
        kids = sorted(nd.children, key=key)
        if center_global_minimum:
            g = [c for c in kids if gm_all in nodes[c].minima]
            if g:
                rest = [c for c in kids if c != g[0]]
                mid = len(rest) // 2
                kids = rest[:mid] + g + rest[mid:]
        nd.children = kids
    roots.sort(key=key)
    order_shown: list[int] = []
    counter = [0]

    def place(nid: int) -> float:
        nd = nodes[nid]
        if nd.is_leaf:
            nd.x = float(counter[0])
            counter[0] += 1
            order_shown.append(int(nd.minimum))
            return nd.x
        nd.x = float(np.mean([place(c) for c in nd.children]))
        return nd.x

    for r in roots:
        place(r)
    return DisconnectivityGraph(levels=lv, nodes=nodes, roots=roots, leaf_of=leaf_of,
                                shown=np.asarray(order_shown, dtype=int), energies=e.copy())
