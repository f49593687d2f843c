"""Plots of energy (loss) profiles along paths between two minima: straight lines, aligned
straight lines, Bézier curves (:mod:`levinthal.paths.network_barriers`, :mod:`levinthal.paths.bezier`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from levinthal.plots import pyplot


def draw_profiles(ax: Any, profiles: Mapping[str, Any], *, held_out: bool = True,
                  ylabel: str = "energy") -> None:
    """One line per profile (energy against t), held-out energies dashed in the same colour
    where the profile has them; the legend gives each path's barrier above the chord."""
    for i, (label, p) in enumerate(profiles.items()):
        colour = f"C{i}"
        ax.plot(p.t, p.energies, "o-", ms=3, lw=1.2, color=colour,
                label=f"{label} (barrier {p.barrier:.3g}, max {p.max_energy:.4g})")
        if held_out and p.test_energies is not None:
            ax.plot(p.t, p.test_energies, "--", lw=1.0, color=colour, alpha=0.7)
    if held_out and any(p.test_energies is not None for p in profiles.values()):
        ax.plot([], [], "k--", lw=1.0, alpha=0.7, label="held-out data (dashed)")
    ax.set(xlabel="t (path parameter)", ylabel=ylabel)
    ax.legend(fontsize=8)


def plot_path_profiles(profiles: Mapping[str, Any], path: str, title: str = "",
                       ylabel: str = "energy") -> None:
    """Write a figure of the profiles (``{label: PathProfile}``): energies against t and, for
    classifiers, the held-out accuracy along each path in a second panel."""
    plt = pyplot()
    with_accuracy = any(p.test_accuracies is not None for p in profiles.values())
    fig, axes = plt.subplots(1, 2 if with_accuracy else 1, figsize=(11 if with_accuracy else 6, 4))
    axes = np.atleast_1d(axes)
    draw_profiles(axes[0], profiles, ylabel=ylabel)
    if with_accuracy:
        for i, (label, p) in enumerate(profiles.items()):
            if p.test_accuracies is not None:
                axes[1].plot(p.t, p.test_accuracies, "o-", ms=3, lw=1.2, color=f"C{i}", label=label)
        axes[1].set(xlabel="t (path parameter)", ylabel="held-out accuracy")
        axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
