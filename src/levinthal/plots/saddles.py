"""Figures of saddle searches: the path of a search on a 2-D contour map, and reaction profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from levinthal.plots import pyplot


def _grid_energies(landscape: Any, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    pts = np.column_stack([X.ravel(), Y.ravel()])
    if hasattr(landscape, "energies"):
        E = np.asarray(landscape.energies(pts), dtype=float)
    else:
        E = np.array([landscape.energy(p) for p in pts])
    return E.reshape(X.shape)


def plot_search_2d(
    landscape: Any,
    path: str,
    *,
    search: np.ndarray | None = None,
    saddle: Sequence[float] | None = None,
    descent: np.ndarray | None = None,
    minima: Sequence[Sequence[float]] = (),
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    levels: int = 40,
    title: str = "",
) -> None:
    """Contour map of a 2-D landscape with a saddle search drawn on it; written to ``path``.

    ``search``: the points visited, shape ``(m, 2)`` (e.g. the ``x0``/``x1`` history of a
    :class:`~levinthal.saddles.SaddleSearchResult`); ``saddle``: the transition state found;
    ``descent``: the steepest-descent path through it, ``(p, 2)``; ``minima``: end points to
    mark. ``bounds``: ((xmin, xmax), (ymin, ymax)); default the landscape's ``box`` or the
    drawn points with a margin. Energies above the 95th percentile of the grid are clipped
    so the wells stay visible (Müller–Brown rises to 10⁴ at the box edges).
    """
    plt = pyplot()
    pts = [np.atleast_2d(np.asarray(a, dtype=float)) for a in (search, descent) if a is not None]
    if saddle is not None:
        pts.append(np.atleast_2d(np.asarray(saddle, dtype=float)))
    if bounds is None and getattr(landscape, "box", None) is not None:
        bounds = landscape.box
    if bounds is None:
        allp = np.concatenate(pts) if pts else np.zeros((1, 2))
        lo, hi = allp.min(0), allp.max(0)
        margin = 0.25 * np.maximum(hi - lo, 0.5)
        bounds = ((lo[0] - margin[0], hi[0] + margin[0]), (lo[1] - margin[1], hi[1] + margin[1]))
    (x0, x1), (y0, y1) = bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
    E = _grid_energies(landscape, X, Y)
    top = float(np.nanpercentile(E, 95))
    fig, ax = plt.subplots(figsize=(6, 5))
    cs = ax.contourf(X, Y, np.minimum(E, top), levels=levels, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="energy")
    if search is not None:
        s = np.asarray(search, dtype=float)
        ax.plot(s[:, 0], s[:, 1], "w.-", lw=1, ms=3, label=f"search ({len(s)} points)")
        ax.plot(s[0, 0], s[0, 1], "wo", ms=7, mfc="none", label="start")
    if descent is not None:
        d = np.asarray(descent, dtype=float)
        ax.plot(d[:, 0], d[:, 1], "-", color="C1", lw=1.5, label="steepest descent")
    for m in minima:
        ax.plot(m[0], m[1], "s", color="C1", ms=6)
    if saddle is not None:
        ax.plot(saddle[0], saddle[1], "r*", ms=14, label="transition state")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_profile(arc_length: np.ndarray, energy: np.ndarray, path: str, title: str = "") -> None:
    """Energy against integrated path length s through a transition state (s = 0 at the TS)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(arc_length, energy, "-", color="C0")
    ax.axvline(0.0, color="C3", ls="--", lw=0.8, label="transition state")
    ax.set(xlabel="path length s", ylabel="energy", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
