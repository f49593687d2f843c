"""Training trajectories seen on the plane of their two principal directions.

Li, Xu, Taylor, Studer & Goldstein 2018 ("Visualizing the loss landscape of neural nets",
§7): random directions are nearly orthogonal to an optimisation path in high dimension, so
a path drawn on a random plane looks like it does not move. Instead take the checkpoints
``x_0 … x_n``, form ``M = [x_0 − x_n; …; x_{n−1} − x_n]`` and use the first two principal
directions of ``M`` (PCA, i.e. the SVD of ``M`` with its column means removed, as in the
paper's reference code). The path's coordinates on that plane are the projections of
``x_i − x_n``; the explained-variance ratios say how much of the motion the plane shows.

:func:`train` is a minimal full-batch trainer (gradient descent or Adam, Kingma & Ba 2015)
that records checkpoints every ``every`` steps for this purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape.arrays import as_like, to_numpy
from levinthal.landscape.errors import LandscapeError, NonFiniteError, ShapeError
from levinthal.slices.directions import Directions
from levinthal.slices.grid import LossGrid, grid_2d

__all__ = ["Trajectory", "TrajectoryPCA", "pca_directions", "train", "trajectory_grid"]

Array = Any


@dataclass
class Trajectory:
    """Checkpoints of a training run. ``points``: (m, dim) float64 on the host;
    ``steps``: (m,) step index of each checkpoint; ``energies``: (m,) loss at each."""

    points: np.ndarray
    steps: np.ndarray
    energies: np.ndarray
    method: str
    learning_rate: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrajectoryPCA:
    """PCA plane of a trajectory.

    ``directions``: :class:`Directions` of kind "pca" with two unit vectors (dim,) in the
    landscape's array type (NumPy if no landscape was given); ``explained_variance_ratio``:
    (2,) share of the centred trajectory's variance along each; ``coordinates``: (n, 2)
    projections of ``x_i − x_final`` on the two directions; ``final``: (dim,) the origin.
    """

    directions: Directions
    explained_variance_ratio: np.ndarray
    coordinates: np.ndarray
    final: Array


def _as_matrix(trajectory: Any) -> np.ndarray:
    if isinstance(trajectory, Trajectory):
        trajectory = trajectory.points
    if isinstance(trajectory, (list, tuple)):
        rows = [to_numpy(t).reshape(-1) for t in trajectory]
        if len({r.size for r in rows}) > 1:
            raise ShapeError("pca_directions: the checkpoints have different lengths")
        T = np.stack(rows) if rows else np.empty((0, 0))
    else:
        T = to_numpy(trajectory)
    if T.ndim != 2:
        raise ShapeError(f"pca_directions: trajectory must be (n, dim), got shape {T.shape}")
    if T.shape[0] < 3:
        raise LandscapeError(f"pca_directions: two directions need at least 3 checkpoints, got {T.shape[0]}")
    if not np.all(np.isfinite(T)):
        raise NonFiniteError("pca_directions: the trajectory contains NaN or infinite values")
    return T


def pca_directions(trajectory: Any, landscape: Any = None) -> TrajectoryPCA:
    """First two principal directions of ``x_i − x_final`` (Li et al. 2018, §7).

    ``trajectory``: (n, dim) array/tensor, a list of (dim,) vectors or a :class:`Trajectory`;
    the last row is the final point. Directions are unit vectors, signed so that the start of
    the path has non-negative coordinates. Raises if the path spans fewer than two
    dimensions (e.g. all checkpoints identical).
    """
    T = _as_matrix(trajectory)
    final = T[-1]
    M = T[:-1] - final
    Mc = M - M.mean(axis=0)
    _, s, Vt = np.linalg.svd(Mc, full_matrices=False)
    var = s**2
    total = var.sum()
    if len(s) < 2 or not total > 0 or s[1] <= 1e-12 * s[0]:
        raise LandscapeError("pca_directions: the trajectory spans fewer than two dimensions; "
                             "no PCA plane exists (are the checkpoints identical or collinear?)")
    V = Vt[:2].copy()
    coords = (T - final) @ V.T
    for k in range(2):
        if coords[0, k] < 0:
            V[k] *= -1
            coords[:, k] *= -1
    like = None
    if landscape is not None:
        from levinthal.landscape import native_point

        like = native_point(landscape, final)
    vectors = [V[k] if like is None else as_like(V[k], like) for k in range(2)]
    ratio = var[:2] / total
    d = Directions(vectors, "pca", normalization="unit", orthogonal=True,
                   info={"explained_variance_ratio": ratio.tolist(), "n_checkpoints": int(T.shape[0])})
    return TrajectoryPCA(d, ratio, coords, final if like is None else like)


def trajectory_grid(landscape: Any, trajectory: Any, *, resolution: int = 25, margin: float = 0.2,
                    method: str = "auto") -> tuple[LossGrid, TrajectoryPCA]:
    """The loss on the PCA plane of ``trajectory``, centred at its final point, over the
    path's coordinate box widened by ``margin`` (fraction of its extent) on each side."""
    pca = pca_directions(trajectory, landscape)
    lo, hi = pca.coordinates.min(axis=0), pca.coordinates.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    alphas = np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(resolution))
    betas = np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(resolution))
    grid = grid_2d(landscape, pca.final, pca.directions, alphas=alphas, betas=betas, method=method)
    grid.metadata["trajectory_coordinates"] = pca.coordinates.tolist()
    return grid, pca


def train(landscape: Any, x0: Array, *, steps: int = 200, every: int = 10, method: str = "adam",
          learning_rate: float = 1e-2, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          ) -> Trajectory:
    """Full-batch training from ``x0`` recording a checkpoint every ``every`` steps (and the
    last point), for PCA views of the path (Li et al. 2018 §7).

    The loop itself is :func:`levinthal.explore.training.train` (``method="gd"``: x ← x − η∇E;
    ``"adam"``: Adam, Kingma & Ba 2015, moments ``betas``, ``eps``); this function only asks it
    to hand over the parameters at every tracked step. ``learning_rate`` η in units of x per
    unit gradient (GD) or of x per step (Adam). Stops with :class:`NonFiniteError` if the loss
    diverges.
    """
    if method not in ("gd", "adam"):
        raise LandscapeError(f"train: method must be 'gd' or 'adam', got {method!r}")
    if int(steps) < 2 or int(every) < 1:
        raise LandscapeError(f"train: need steps >= 2 and every >= 1, got steps={steps}, every={every}")
    from levinthal.explore.training import train as train_tracked

    points: list[np.ndarray] = []

    def keep(step: int, x: Array, _landscape: Any) -> None:
        points.append(to_numpy(x))

    rec = train_tracked(landscape, x0, optimizer=method, lr=float(learning_rate), steps=int(steps),
                        track_every=int(every), track=("loss",), callback=keep, betas=betas, eps=eps)
    energies = np.asarray(rec.metrics["loss"], dtype=float)
    if not np.all(np.isfinite(energies)):
        bad = int(rec.steps[~np.isfinite(energies)][0])
        raise NonFiniteError(f"{landscape.name}: training diverged at step {bad}; lower the learning "
                             f"rate (now {learning_rate})")
    return Trajectory(np.stack(points), np.asarray(rec.steps), energies, method, float(learning_rate))
