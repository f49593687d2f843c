"""Draw a disconnectivity graph (Becker & Karplus 1997) laid out by :mod:`levinthal.network.dgraph`."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_disconnectivity_graph"]


def plot_disconnectivity_graph(
    graph: Any,
    path: str | None = None,
    *,
    ax: Any = None,
    color_by: Any = None,
    cmap: str = "viridis",
    color_label: str = "",
    label_minima: bool = False,
    labels: Any = None,
    title: str = "",
    ylabel: str = "energy",
    linewidth: float = 0.8,
) -> tuple[Any, Any]:
    """Draw ``graph`` (a :class:`~levinthal.network.dgraph.DisconnectivityGraph`) as line segments.

    ``color_by``: optional property of every minimum (shape ``(n,)``, indexed like the network's
    minima, e.g. the funnel label or an order parameter); each minimum's own line is then
    coloured by it with ``cmap`` and a colour bar labelled ``color_label`` is added.
    ``label_minima`` writes each shown minimum's index (or ``labels[i]``) under its line.
    Writes the figure to ``path`` when given. Returns ``(figure, axes)``.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    from levinthal.plots import pyplot

    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.5, 0.12 * len(graph.shown) + 3.0), 5.0))
    else:
        fig = ax.figure
    segments = graph.segments()
    span = float(graph.levels[0] - graph.energies[graph.shown].min()) or 1.0
    stubs = [((graph.nodes[r].x, graph.nodes[r].top), (graph.nodes[r].x, graph.nodes[r].top + 0.03 * span))
             for r in graph.roots if not graph.nodes[r].is_leaf]  # a short trunk above each root
    ax.add_collection(LineCollection(segments + stubs, colors="k", linewidths=linewidth))
    if color_by is not None:
        values = np.asarray(color_by, dtype=float)
        if values.shape != graph.energies.shape:
            raise ValueError(f"plot_disconnectivity_graph: color_by has shape {values.shape}, expected "
                             f"{graph.energies.shape} (one value per minimum)")
        shown_values = values[graph.shown]
        norm = Normalize(vmin=float(np.nanmin(shown_values)), vmax=float(np.nanmax(shown_values)))
        leaf_lines, leaf_values = [], []
        for i in graph.shown:
            nd = graph.nodes[graph.leaf_of[int(i)]]
            leaf_lines.append(((nd.x, nd.top), (nd.x, nd.bottom)))
            leaf_values.append(values[i])
        lc = LineCollection(leaf_lines, cmap=cmap, norm=norm, linewidths=2 * linewidth)
        lc.set_array(np.asarray(leaf_values))
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, label=color_label)
    if label_minima:
        for i in graph.shown:
            nd = graph.nodes[graph.leaf_of[int(i)]]
            ax.annotate(str(i if labels is None else labels[i]), (nd.x, nd.bottom),
                        textcoords="offset points", xytext=(0, -9), ha="center", fontsize=7)
    xs = [p[0] for s in segments + stubs for p in s] or [0.0]
    ys = [p[1] for s in segments + stubs for p in s] or [float(graph.energies[graph.shown].min())]
    pad_y = 0.04 * (max(ys) - min(ys) or 1.0)
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 2 * pad_y, max(ys) + pad_y)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=150)
    return fig, ax
