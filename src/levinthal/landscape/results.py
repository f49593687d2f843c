"""Result types: plain dataclasses that say whether an algorithm converged and, if not, why.

Modelled on SciPy's ``OptimizeResult``: every result carries ``converged``, ``message``,
the evaluation ``counts`` it used and a ``history`` of per-iteration diagnostics.
Coordinates are stored in the landscape's native array type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from levinthal.landscape.counting import EvaluationCounts

Array = Any


@dataclass
class Result:
    """Fields shared by every algorithm's result."""

    converged: bool
    message: str
    counts: EvaluationCounts = field(default_factory=EvaluationCounts)
    history: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        c = self.counts
        return f"{state}: {self.message} [E {c.energy}, E+g {c.gradient}, Hv {c.hvp}]"


@dataclass
class MinimizeResult(Result):
    """A local minimisation.

    ``x``: final point, shape ``(dim,)``; ``energy``: E(x); ``rms_gradient``: ‖∇E‖/√dim at x
    (the convergence measure used by GMIN, OPTIM and pele); ``iterations``: steps taken.
    """

    x: Array = None
    energy: float = float("nan")
    rms_gradient: float = float("nan")
    iterations: int = 0
    method: str = ""


@dataclass
class BatchMinimizeResult(Result):
    """A batch of independent minimisations from ``n`` starting points.

    ``x``: shape ``(n, dim)``; ``energy``, ``rms_gradient``, ``iterations``, ``each_converged``:
    shape ``(n,)``. ``converged`` is true only if every member converged.
    """

    x: Array = None
    energy: Array = None
    rms_gradient: Array = None
    iterations: Array = None
    each_converged: Array = None
    method: str = ""


@dataclass
class Minimum:
    """A classified local minimum as stored and reported: coordinates, energy and curvature.

    ``log_product_frequencies`` is Σ log λᵢ over the non-zero Hessian eigenvalues (used by
    harmonic transition-state theory); ``n_zero_modes`` how many symmetry modes were removed.
    """

    x: Array
    energy: float
    index: int = 0
    n_zero_modes: int = 0
    log_product_frequencies: float | None = None
    point_group_order: int | None = None


@dataclass
class TransitionState:
    """A first-order saddle: exactly one negative eigenvalue after zero modes are removed.

    ``unstable_mode``: unit eigenvector of the negative eigenvalue, shape ``(dim,)``.
    """

    x: Array
    energy: float
    eigenvalue: float
    unstable_mode: Array
    n_zero_modes: int = 0
    log_product_frequencies: float | None = None
    minus: int | None = None
    plus: int | None = None
