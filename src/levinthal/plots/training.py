"""Training curves with curvature: loss, λmax against the edge-of-stability line 2/η, and the
Hessian trace, against the step (the figure of Cohen et al. 2021, Fig. 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.plots import pyplot


def plot_training(record: Any, path: str, lr: float | None = None, title: str = "") -> None:
    """Write a figure of a :class:`~levinthal.explore.training.TrainingRecord` to ``path``.

    Panels for whichever of ``loss``, ``lambda_max`` and ``trace`` were tracked (plus the
    per-update loss in the loss panel). The λmax panel draws 2/η for full-batch GD, with η =
    ``lr`` (default ``record.lr``).
    """
    names = [n for n in ("loss", "lambda_max", "trace") if n in record.metrics]
    if not names:
        raise ValueError("plot_training: the record tracks none of loss, lambda_max, trace")
    eta = record.lr if lr is None else float(lr)
    plt = pyplot()
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.3 * len(names)), sharex=True, squeeze=False)
    steps = np.asarray(record.steps)
    for ax, name in zip(axes[:, 0], names, strict=True):
        y = np.asarray(record.metrics[name], dtype=float)
        if name == "loss":
            if len(record.step_loss):
                ax.plot(np.arange(len(record.step_loss)), record.step_loss, color="C7", lw=0.6,
                        label="per update" + (" (minibatch)" if record.optimizer == "sgd" else ""))
            ax.plot(steps, y, "o-", color="C0", ms=2.5, lw=1.0, label="full batch")
            ax.set_yscale("log" if np.all(y[np.isfinite(y)] > 0) else "linear")
            ax.set_ylabel("loss")
            ax.legend(fontsize=8)
        elif name == "lambda_max":
            ax.plot(steps, y, "o-", color="C1", ms=2.5, lw=1.0, label="λmax")
            if eta > 0:
                ax.axhline(2.0 / eta, color="k", ls="--", lw=0.8, label=f"2/η = {2.0 / eta:.3g}")
            ax.set_ylabel("λmax")
            ax.legend(fontsize=8)
        else:
            ax.plot(steps, y, "o-", color="C2", ms=2.5, lw=1.0)
            ax.set_ylabel("trace (Hutch++)")
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(title or f"{record.optimizer}, η = {eta:g}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
