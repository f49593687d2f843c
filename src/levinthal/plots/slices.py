"""Figures of landscape slices (:class:`~levinthal.slices.grid.LossGrid`): a 1-D curve, a 2-D
contour map (NaN points left as visible holes), a 3-D surface, and a training path over the
contour map of its PCA plane (Li, Xu, Taylor, Studer & Goldstein 2018, Figs. 1, 5, 9)."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.plots import pyplot

__all__ = ["draw_contour", "draw_curve", "plot_contour", "plot_curve", "plot_surface", "plot_trajectory"]


def _axis_labels(grid: Any) -> tuple[str, str]:
    meta = grid.metadata.get("directions", {})
    kind = meta.get("kind", "")
    if kind == "pca":
        ratio = meta.get("info", {}).get("explained_variance_ratio") or [np.nan, np.nan]
        return (f"PC 1 ({100 * ratio[0]:.1f} % of variance)", f"PC 2 ({100 * ratio[1]:.1f} % of variance)")
    norm = meta.get("normalization")
    suffix = f" ({norm}-normalised)" if norm and norm not in ("none", "unit") else ""
    return f"α along d₁{suffix}", f"β along d₂{suffix}"


def _title(grid: Any, title: str | None) -> str:
    return title if title is not None else str(grid.metadata.get("landscape", ""))


def draw_curve(ax: Any, grid: Any, title: str | None = None, log: bool = False) -> None:
    """Energy along a 1-D slice; NaN points break the line."""
    ax.plot(grid.alphas, grid.energies, "-o", ms=3, color="C0", label="energy")
    ax.set(xlabel=_axis_labels(grid)[0], ylabel="energy (loss)", title=_title(grid, title))
    if log:
        ax.set_yscale("log")
    if grid.accuracies is not None:
        ax2 = ax.twinx()
        ax2.plot(grid.alphas, grid.accuracies, "--", color="C1", label="accuracy")
        ax2.set_ylabel("accuracy", color="C1")
        ax2.set_ylim(0, 1)
    ax.grid(alpha=0.3)


def _levels(E: np.ndarray, n: int, log: bool) -> np.ndarray:
    finite = E[np.isfinite(E)]
    if finite.size == 0:
        return np.linspace(0, 1, n)
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    if log:
        # Log-spaced above the minimum: resolves the basin floor where losses vary little.
        span = hi - lo
        return lo + np.concatenate([[0.0], np.geomspace(span * 1e-4, span, n - 1)])
    return np.linspace(lo, hi, n)


def draw_contour(ax: Any, grid: Any, title: str | None = None, levels: int = 30, log: bool = False,
                 filled: bool = True) -> Any:
    """Contour map of a 2-D slice on ``ax``; returns the contour set (for a colorbar).

    NaN energies are masked: matplotlib leaves them blank, and they are outlined with hatches
    so a hole cannot be mistaken for a low-energy region. ``log=True``: levels spaced
    logarithmically above the minimum.
    """
    A, B = np.meshgrid(grid.alphas, grid.betas, indexing="ij")
    E = np.ma.masked_invalid(grid.energies)
    lv = _levels(grid.energies, levels, log)
    from matplotlib.colors import BoundaryNorm

    # One colour per band: with log-spaced levels a linear colour scale would paint all the
    # low bands, where the interesting structure is, in nearly the same colour.
    norm = BoundaryNorm(lv, ncolors=256, extend="max")
    cs = (ax.contourf if filled else ax.contour)(A, B, E, levels=lv, cmap="viridis", norm=norm, extend="max")
    if filled:
        ax.contour(A, B, E, levels=lv[::3], colors="k", linewidths=0.3, alpha=0.5)
    holes = ~np.isfinite(grid.energies)
    if holes.any():
        ax.contourf(A, B, holes.astype(float), levels=[0.5, 1.5], colors="none", hatches=["xx"])
        ax.plot([], [], "s", mfc="white", mec="k", label=f"NaN ({int(holes.sum())} points)")
        ax.legend(loc="upper right", fontsize=8)
    ax.plot([0], [0], "r*", ms=10, zorder=5)
    xl, yl = _axis_labels(grid)
    ax.set(xlabel=xl, ylabel=yl, title=_title(grid, title))
    ax.set_aspect("auto")
    return cs


def _save(fig: Any, path: str, dpi: int) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def plot_curve(grid: Any, path: str, title: str | None = None, log: bool = False, dpi: int = 150) -> None:
    """Write a 1-D slice as a line plot."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    draw_curve(ax, grid, title, log)
    _save(fig, path, dpi)


def plot_contour(grid: Any, path: str, title: str | None = None, levels: int = 30, log: bool = False,
                 dpi: int = 150) -> None:
    """Write a 2-D slice as a filled contour map with a colorbar."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    cs = draw_contour(ax, grid, title, levels, log)
    fig.colorbar(cs, ax=ax, label="energy (loss)")
    _save(fig, path, dpi)


def plot_surface(grid: Any, path: str, title: str | None = None, dpi: int = 150) -> None:
    """Write a 2-D slice as a 3-D surface (NaN points are left out of the mesh)."""
    plt = pyplot()
    fig = plt.figure(figsize=(6, 5))
    ax = fig.add_subplot(projection="3d")
    A, B = np.meshgrid(grid.alphas, grid.betas, indexing="ij")
    E = np.ma.masked_invalid(grid.energies)
    surf = ax.plot_surface(A, B, E, cmap="viridis", linewidth=0, antialiased=True, rstride=1, cstride=1)
    xl, yl = _axis_labels(grid)
    ax.set(xlabel=xl, ylabel=yl, zlabel="energy (loss)", title=_title(grid, title))
    fig.colorbar(surf, ax=ax, shrink=0.6, label="energy (loss)")
    _save(fig, path, dpi)


def plot_trajectory(grid: Any, coordinates: np.ndarray, path: str, title: str | None = None,
                    steps: np.ndarray | None = None, levels: int = 30, log: bool = True,
                    dpi: int = 150) -> None:
    """Write a training path (``coordinates`` (n, 2) on the PCA plane) over the contour map of
    ``grid`` (the same plane, centred at the final point); checkpoints labelled by ``steps``."""
    plt = pyplot()
    coords = np.asarray(coordinates, dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    cs = draw_contour(ax, grid, title, levels, log)
    fig.colorbar(cs, ax=ax, label="energy (loss)")
    ax.plot(coords[:, 0], coords[:, 1], "-o", color="C3", ms=3, lw=1.2, label="training path")
    ax.plot(coords[0, 0], coords[0, 1], "s", color="w", mec="k", ms=6, label="start")
    if steps is not None and len(steps) == len(coords):
        for k in np.linspace(0, len(coords) - 1, min(5, len(coords))).astype(int):
            ax.annotate(str(int(steps[k])), coords[k], fontsize=7, color="k", xytext=(3, 3),
                        textcoords="offset points",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "w", "alpha": 0.7, "lw": 0})
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path, dpi)
