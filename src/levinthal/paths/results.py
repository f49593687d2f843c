"""Result of a double-ended search (nudged elastic band)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from levinthal.landscape import Result, TransitionState

__all__ = ["NebResult"]


@dataclass
class NebResult(Result):
    """A relaxed nudged elastic band between two endpoints.

    ``images``: shape ``(n, dim)``, endpoints included (row 0 = A, row n−1 = B after alignment
    to A); ``energies``: shape ``(n,)``; ``path_length``: cumulative Euclidean distance along
    the band, shape ``(n,)``; ``highest_image``: row index of the highest interior image (the
    climbing image when climbing was on); ``climbing``: whether the highest image climbed.
    ``transition_state``: a verified first-order saddle from refining the highest image, or
    ``None`` (``refine_message`` says why). ``barrier_forward = E‡ − E_A``,
    ``barrier_backward = E‡ − E_B``, with E‡ from the verified transition state when there is
    one (``barrier_source = "transition state"``) and otherwise from the highest image
    (``barrier_source = "highest image"``, an estimate: the band's maximum lies below the
    saddle unless a converged climbing image sits on it). ``endpoint_rms_gradient``: RMS
    gradient at A and B (minima have ≈ 0). ``iterations``: band optimisation steps (each one
    batched evaluation of the movable images). ``history["max_force"]``: the largest per-image
    NEB-force norm after each step; ``spring``: the spring constant used. ``counts`` counts
    every image evaluation as one force call, including the endpoints (evaluated once) and the
    refinement.
    """

    images: Any = None
    energies: Any = None
    path_length: Any = None
    highest_image: int = -1
    climbing: bool = False
    transition_state: TransitionState | None = None
    refinement: Any = None
    refine_message: str = ""
    barrier_forward: float = float("nan")
    barrier_backward: float = float("nan")
    barrier_source: str = "highest image"
    endpoint_rms_gradient: tuple[float, float] = (float("nan"), float("nan"))
    iterations: int = 0
    optimizer: str = ""
    spring: float = float("nan")

    @property
    def n_images(self) -> int:
        """Number of rows of ``images`` (endpoints included)."""
        return 0 if self.images is None else int(np.shape(self.images)[0])

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (arrays as lists)."""
        ts = self.transition_state
        return {
            "converged": self.converged,
            "message": self.message,
            "counts": self.counts.as_dict(),
            "iterations": self.iterations,
            "optimizer": self.optimizer,
            "spring": self.spring,
            "n_images": self.n_images,
            "energies": np.asarray(self.energies).tolist(),
            "path_length": np.asarray(self.path_length).tolist(),
            "highest_image": self.highest_image,
            "climbing": self.climbing,
            "barrier_forward": self.barrier_forward,
            "barrier_backward": self.barrier_backward,
            "barrier_source": self.barrier_source,
            "endpoint_rms_gradient": list(self.endpoint_rms_gradient),
            "refine_message": self.refine_message,
            "transition_state": None if ts is None else {
                "energy": ts.energy,
                "eigenvalue": ts.eigenvalue,
                "n_zero_modes": ts.n_zero_modes,
                "x": np.asarray(ts.x).tolist(),
            },
        }
