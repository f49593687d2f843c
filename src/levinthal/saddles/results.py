"""The result of a single-ended saddle search (dimer, eigenvector following).

A search *reports a transition state only when it is one*: ``transition_state`` is set only
after :func:`levinthal.saddles.verify.verify_transition_state` has found the end point
stationary (RMS gradient below tolerance) with exactly one negative Hessian eigenvalue once
the symmetry zero modes are removed. Every other ending — a higher-index saddle, a minimum,
a degenerate (flat) point, leaving the allowed region, an exhausted budget — gives
``converged=False`` and a message saying which.
"""

from __future__ import annotations

from dataclasses import dataclass

from levinthal.landscape import Result, TransitionState
from levinthal.landscape.arrays import Array

__all__ = ["SaddleSearchResult"]


@dataclass
class SaddleSearchResult(Result):
    """A single-ended transition-state search.

    ``x``: final point, shape ``(dim,)``, native array type; ``energy``: E(x);
    ``eigenvalue``: the lowest curvature along ``mode`` at ``x`` (the dimer's finite-difference
    curvature, or the Lanczos eigenvalue for eigenvector following), in energy / length²;
    ``mode``: unit vector of that curvature, shape ``(dim,)``; ``rms_gradient``: ‖∇E‖/√dim
    at ``x``; ``index``: Hessian index after zero modes are removed, from
    :func:`levinthal.curvature.classify` (−1 when the end point was not classified);
    ``iterations``: translation steps (dimer) or cycles (eigenvector following);
    ``transition_state``: the verified first-order saddle, or ``None``; ``method``: which
    search; ``classification_reason``: the curvature verdict at ``x``; ``counts``: the
    evaluations the search used, verification included (``counts.gradient`` are the force
    calls; ``counts.hvp`` the Hessian-vector products).
    """

    x: Array = None
    energy: float = float("nan")
    eigenvalue: float = float("nan")
    mode: Array = None
    rms_gradient: float = float("nan")
    index: int = -1
    iterations: int = 0
    transition_state: TransitionState | None = None
    method: str = ""
    classification_reason: str = ""

    @property
    def force_calls(self) -> int:
        """Gradient evaluations plus Hessian-vector products (each costs about one force call)."""
        return int(self.counts.gradient + self.counts.hvp)
