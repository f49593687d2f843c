"""Figures of nudged elastic bands: the energy profile along the band, and the band on a 2-D map."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.plots import pyplot

__all__ = ["draw_band_2d", "draw_profile", "plot_band"]


def draw_profile(ax: Any, result: Any) -> None:
    """Energy of every image against integrated path length on ``ax`` (a :class:`NebResult`).

    Energies are measured from endpoint A; the highest image (climbing image when climbing) is
    marked, and the verified transition state's energy, when there is one, is drawn as a line.
    """
    s = np.asarray(result.path_length, dtype=float)
    e = np.asarray(result.energies, dtype=float) - float(result.energies[0])
    ax.plot(s, e, "o-", color="C0", ms=4, lw=1.2, label="band")
    hi = int(result.highest_image)
    ax.plot(s[hi], e[hi], "o", color="C3", ms=8, mfc="none",
            label="climbing image" if result.climbing else "highest image")
    ts = result.transition_state
    if ts is not None:
        ax.axhline(float(ts.energy) - float(result.energies[0]), color="C3", ls="--", lw=0.8,
                   label=f"transition state (ΔE = {result.barrier_forward:.4g})")
    ax.set(xlabel="path length", ylabel="E − E(A)")
    ax.legend(fontsize=8, loc="best")


def draw_band_2d(ax: Any, landscape: Any, result: Any, *, levels: int = 40,
                 bounds: tuple[tuple[float, float], tuple[float, float]] | None = None) -> None:
    """The band drawn over the contour map of a 2-D landscape on ``ax``.

    ``bounds``: ((xmin, xmax), (ymin, ymax)); default the landscape's ``box`` or the band with
    a margin. Energies above the grid's 95th percentile are clipped so the wells stay visible.
    """
    X = np.asarray(result.images, dtype=float)
    if bounds is None:
        bounds = getattr(landscape, "box", None)
    if bounds is None:
        lo, hi = X.min(0), X.max(0)
        margin = 0.3 * np.maximum(hi - lo, 0.5)
        bounds = ((lo[0] - margin[0], hi[0] + margin[0]), (lo[1] - margin[1], hi[1] + margin[1]))
    (x0, x1), (y0, y1) = bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    if getattr(landscape, "energies", None) is not None:
        E = np.asarray(landscape.energies(pts), dtype=float)
    else:
        E = np.array([landscape.energy(p) for p in pts])
    E = E.reshape(gx.shape)
    top = float(np.nanpercentile(E, 95))
    cs = ax.contourf(gx, gy, np.minimum(E, top), levels=levels, cmap="viridis")
    ax.figure.colorbar(cs, ax=ax, label="energy")
    ax.plot(X[:, 0], X[:, 1], "wo-", ms=4, lw=1, label=f"band ({len(X)} images)")
    hi = int(result.highest_image)
    ax.plot(X[hi, 0], X[hi, 1], "o", color="C3", ms=8, mfc="none", label="highest image")
    if result.transition_state is not None:
        t = np.asarray(result.transition_state.x, dtype=float)
        ax.plot(t[0], t[1], "r*", ms=14, label="transition state")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
    ax.legend(fontsize=8, loc="best")


def plot_band(result: Any, path: str, *, landscape: Any = None, title: str = "") -> None:
    """Write the energy profile of a band to ``path``; for a 2-D landscape also the band on its map."""
    plt = pyplot()
    two_d = landscape is not None and int(landscape.dim) == 2
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 6, 4.2))
    axes = np.atleast_1d(axes)
    draw_profile(axes[0], result)
    if two_d:
        draw_band_2d(axes[1], landscape, result)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
