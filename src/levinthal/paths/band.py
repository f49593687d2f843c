"""The band itself: initial interpolation, arc length and image insertion.

A band is an array ``X`` of shape ``(n, dim)`` whose first and last rows are the fixed
endpoints. Image insertion follows AutoNEB (Kolsbjerg, Groves & Hammer 2016, J. Chem. Phys.
145, 094107): a band is started with few images and a new image is placed in the interval
where the band resolves the energy worst, the largest energy difference between adjacent
images (or, on a flat stretch, the largest distance), then the band is relaxed again.
"""

from __future__ import annotations

import numpy as np

__all__ = ["insert_image", "insertion_interval", "linear_band", "path_length"]


def linear_band(x_a: np.ndarray, x_b: np.ndarray, n_images: int) -> np.ndarray:
    """``n_images`` movable images equally spaced on the segment from ``x_a`` to ``x_b``.

    Returns shape ``(n_images + 2, dim)``: row 0 is ``x_a``, the last row ``x_b``.
    """
    if int(n_images) != n_images or n_images < 1:
        raise ValueError(f"linear_band: n_images must be a positive integer, got {n_images!r}")
    t = np.linspace(0.0, 1.0, int(n_images) + 2)[:, None]
    a = np.asarray(x_a, dtype=np.float64)[None, :]
    return (1.0 - t) * a + t * np.asarray(x_b, dtype=np.float64)[None, :]


def path_length(X: np.ndarray) -> np.ndarray:
    """Cumulative Euclidean distance along the band, shape ``(n,)``, starting at 0."""
    steps = np.linalg.norm(np.diff(X, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def insertion_interval(X: np.ndarray, E: np.ndarray, *, energy_resolution: float = 0.0) -> int:
    """Index ``i`` of the interval (X_i, X_{i+1}) where a new image helps most.

    The interval with the largest |E_{i+1} − E_i| (AutoNEB's criterion), unless every energy
    difference is at most ``energy_resolution`` (a flat band): then the longest interval.
    """
    dE = np.abs(np.diff(E))
    if dE.max() > energy_resolution:
        return int(np.argmax(dE))
    return int(np.argmax(np.linalg.norm(np.diff(X, axis=0), axis=1)))


def insert_image(X: np.ndarray, i: int) -> np.ndarray:
    """A copy of band ``X`` with the midpoint of X_i and X_{i+1} inserted after row ``i``."""
    if not 0 <= i < X.shape[0] - 1:
        raise ValueError(f"insert_image: interval {i} does not exist in a band of {X.shape[0]} images")
    mid = 0.5 * (X[i] + X[i + 1])
    return np.concatenate([X[: i + 1], mid[None, :], X[i + 1 :]], axis=0)
