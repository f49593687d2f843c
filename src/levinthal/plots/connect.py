"""Figures of a connected pathway: energy profile, and the pathway on a 2-D contour map."""

from __future__ import annotations

from typing import Any

import numpy as np


def plot_connect(result: Any, path: str, *, landscape: Any = None, title: str = "") -> None:
    """Energy against integrated path length with the stationary points marked; in 2-D also the map."""
    from levinthal.plots import pyplot

    plt = pyplot()
    two_d = landscape is not None and int(landscape.dim) == 2
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 6, 4.2))
    axes = np.atleast_1d(axes)
    prof = result.profile
    e0 = float(result.minima[0][1])
    ax = axes[0]
    ax.plot(prof["s"], np.asarray(prof["energy"]) - e0, "-", color="C0", lw=1.2, label="pathway")
    kinds = np.array(prof["stationary_kind"])
    s_st, e_st = np.asarray(prof["stationary_s"]), np.asarray(prof["stationary_energy"]) - e0
    ax.plot(s_st[kinds == "min"], e_st[kinds == "min"], "o", color="C2", label="minima")
    ax.plot(s_st[kinds == "ts"], e_st[kinds == "ts"], "^", color="C3", label="transition states")
    ax.set(xlabel="integrated path length", ylabel="E − E(A)")
    ax.legend(fontsize=8, loc="best")
    if two_d:
        ax = axes[1]
        pts = [result.minima[i][0] if k == "min" else np.asarray(result.transition_states[i].x)
               for k, i in result.path]
        pts = np.asarray(pts, dtype=float)
        curve = np.asarray(prof.get("points", pts), dtype=float)
        lo, hi = np.vstack([pts, curve]).min(0), np.vstack([pts, curve]).max(0)
        margin = 0.3 * np.maximum(hi - lo, 0.5)
        bounds = getattr(landscape, "box", None) or ((lo[0] - margin[0], hi[0] + margin[0]),
                                                    (lo[1] - margin[1], hi[1] + margin[1]))
        (x0, x1), (y0, y1) = bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        if getattr(landscape, "energies", None) is not None:
            E = np.asarray(landscape.energies(grid), dtype=float)
        else:
            E = np.array([landscape.energy(p) for p in grid])
        E = E.reshape(gx.shape)
        cs = ax.contourf(gx, gy, np.minimum(E, float(np.nanpercentile(E, 95))), levels=40, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="energy")
        ax.plot(curve[:, 0], curve[:, 1], "w-", lw=1.2, label="steepest-descent pathway")
        ax.plot(pts[0::2, 0], pts[0::2, 1], "o", color="C2", label="minima")
        ax.plot(pts[1::2, 0], pts[1::2, 1], "r^", ms=9, label="transition states")
        ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
