"""Plots of minimisation runs and of the minima they found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from levinthal.plots import pyplot


def plot_histories(histories: Sequence[dict[str, list[float]]], path: str, title: str = "") -> None:
    """Energy above the lowest final energy, and RMS gradient, against iteration, one line a run."""
    plt = pyplot()
    fig, (ax_e, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8))
    finals = [h["energy"][-1] for h in histories if h.get("energy")]
    floor = min(finals) if finals else 0.0
    for h in histories:
        if h.get("energy"):
            ax_e.semilogy(np.maximum(np.asarray(h["energy"]) - floor, 1e-16), lw=0.8, alpha=0.7)
        if h.get("rms_gradient"):
            ax_g.semilogy(h["rms_gradient"], lw=0.8, alpha=0.7)
    ax_e.set(xlabel="iteration", ylabel="E − min final E", title="energy")
    ax_g.set(xlabel="iteration", ylabel="RMS gradient", title="gradient")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_energy_levels(ax: Any, energies: Sequence[float], counts: Sequence[int], title: str,
                       reference: float | None = None, ylabel: str = "energy") -> None:
    """Distinct minima as horizontal levels; line length ∝ how many starts reached each."""
    energies = np.asarray(energies, dtype=float)
    counts = np.asarray(counts, dtype=float)
    width = counts / max(counts.max(), 1.0)
    for e, w in zip(energies, width, strict=True):
        ax.hlines(e, 0.5 - w / 2, 0.5 + w / 2, color="C0", lw=2)
    if reference is not None:
        ax.axhline(reference, color="C3", ls="--", lw=0.8, label=f"reference {reference:.6f}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set(xlim=(0, 1), xticks=[], ylabel=ylabel, title=title)
