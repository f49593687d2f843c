"""Plots of Hessian spectra: dense eigenvalues or a stochastic-Lanczos density."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.plots import pyplot


def draw_spectrum(ax: Any, eigenvalues: np.ndarray, zero_mode_curvatures: np.ndarray | None,
                  title: str) -> None:
    """Histogram of eigenvalues on a symmetric-log axis; symmetry zero modes drawn separately."""
    ev = np.asarray(eigenvalues, dtype=float)
    scale = max(np.abs(ev).max(), 1e-300)
    lin = scale * 1e-6
    edges = np.concatenate([-np.geomspace(scale * 1.5, lin, 30), [0.0], np.geomspace(lin, scale * 1.5, 30)])
    ax.hist(ev, bins=edges, color="C0", alpha=0.8, label=f"{ev.size} eigenvalues")
    if zero_mode_curvatures is not None and len(zero_mode_curvatures):
        for z in zero_mode_curvatures:
            ax.axvline(z, color="C3", lw=1.0, alpha=0.7)
        ax.plot([], [], color="C3", label=f"{len(zero_mode_curvatures)} symmetry zero modes")
    ax.set_xscale("symlog", linthresh=lin)
    _decade_ticks(ax, lin, scale, signed=bool((ev < -lin).any()))
    ax.set_yscale("log")
    ax.set(xlabel="Hessian eigenvalue", ylabel="count", title=title)
    ax.legend(fontsize=8)


def _decade_ticks(ax: Any, lin: float, scale: float, signed: bool) -> None:
    """A handful of readable decade ticks on a symmetric-log axis (matplotlib's default puts
    one on every decade, which overlaps for spectra spanning ten of them)."""
    lo, hi = int(np.floor(np.log10(lin))), int(np.ceil(np.log10(scale * 1.5)))
    step = max(1, (hi - lo) // 4)
    pos = [10.0**k for k in range(hi, lo, -step)][::-1]
    ticks = ([-p for p in pos[::-1]] if signed else []) + [0.0] + pos
    ax.set_xticks(ticks)
    if not signed:
        ax.set_xlim(-lin, scale * 1.5)
    ax.set_xticklabels(["0" if t == 0 else f"{t:.0e}".replace("e+0", "e").replace("e-0", "e-")
                        for t in ticks], fontsize=8)


def plot_spectrum(summary: Any, path: str, title: str = "") -> None:
    """Write a spectrum figure from a :class:`~levinthal.curvature.summary.SpectrumSummary`."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    if summary.eigenvalues is not None:
        draw_spectrum(ax, summary.eigenvalues, summary.zero_mode_curvatures, title)
    else:
        ax.plot(summary.density_grid, summary.density, color="C0")
        ax.set(xlabel="Hessian eigenvalue", ylabel="density (SLQ)", title=title, yscale="log")
        for v in summary.top:
            ax.axvline(v, color="C1", lw=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
