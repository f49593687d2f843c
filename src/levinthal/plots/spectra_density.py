"""Bulk-and-outliers figure: an SLQ spectral density on a log scale with the extreme
eigenvalues found by Lanczos marked (the picture of Sagun et al. 2017 and Papyan 2019/2020:
a bulk near zero and a few outliers, about one per class for cross-entropy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.plots import pyplot


def draw_spectral_density(ax: Any, grid: np.ndarray, density: np.ndarray, top: np.ndarray | None = None,
                          bottom: np.ndarray | None = None, n_outliers: int | None = None,
                          xlabel: str = "eigenvalue") -> None:
    """Draw φ(λ) (floored at 1e-12 of its maximum so the log axis stays finite), the ``top``
    eigenvalues as orange ticks (the first ``n_outliers`` of them, counted from the largest,
    drawn solid and labelled as outliers) and the ``bottom`` eigenvalues as blue ticks."""
    grid = np.asarray(grid, dtype=float)
    dens = np.asarray(density, dtype=float)
    floor = max(dens.max(), 1e-300) * 1e-12
    ax.semilogy(grid, np.maximum(dens, floor), color="C0", lw=1.2, label="SLQ density")
    ax.set_ylim(floor * 10, dens.max() * 3)
    if top is not None and len(top):
        t = np.sort(np.asarray(top, dtype=float))[::-1]
        k = len(t) if n_outliers is None else int(n_outliers)
        for i, lam in enumerate(t):
            ax.axvline(lam, color="C1", lw=1.0, ls="-" if i < k else ":", alpha=0.9 if i < k else 0.6)
        label = f"top {len(t)} (Lanczos)" + ("" if n_outliers is None else f"; {k} outliers solid")
        ax.plot([], [], color="C1", label=label)
    if bottom is not None and len(bottom):
        for lam in np.asarray(bottom, dtype=float):
            ax.axvline(lam, color="C2", lw=0.8, ls="--", alpha=0.7)
        ax.plot([], [], color="C2", ls="--", label=f"bottom {len(bottom)} (Lanczos)")
    ax.set(xlabel=xlabel, ylabel="density")
    ax.legend(fontsize=8)


def plot_spectral_density(result: dict[str, Any], path: str, title: str = "") -> None:
    """Write the figure for a ``levinthal spectrum`` result (keys ``density_grid``,
    ``density``, ``top``, ``bottom``, ``n_outliers``, ``operator``) to ``path``."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    what = "Gauss–Newton" if result.get("operator") == "ggn" else "Hessian"
    draw_spectral_density(ax, result["density_grid"], result["density"], result.get("top"),
                          result.get("bottom"), result.get("n_outliers"), xlabel=f"{what} eigenvalue")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
