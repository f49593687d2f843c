"""A spectrum summary at one point: classification plus the numbers a person reads first.

Small landscapes (``dim`` ≤ :data:`~levinthal.curvature.classify.AUTO_DENSE_MAX_DIM`) get the
whole spectrum off the zero modes from one dense diagonalisation, which also decides the
classification. Large ones get the lowest ``k`` eigenvalues (classification), the largest ``k``
(Lanczos), a Hutch++ trace and an SLQ spectral density — all from Hessian-vector products.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from levinthal.curvature.classify import AUTO_DENSE_MAX_DIM, Classification, classify
from levinthal.curvature.density import spectral_density
from levinthal.curvature.lanczos import lanczos_eigs
from levinthal.curvature.operators import HessianOperator, zero_modes_of
from levinthal.curvature.trace import hutchpp
from levinthal.landscape import checked
from levinthal.landscape.arrays import Array


@dataclass
class SpectrumSummary:
    """``eigenvalues``: the whole spectrum off the zero modes, ascending (dense path) or None;
    ``top`` / ``bottom``: the ``k`` largest / smallest; ``n_flat``: eigenvalues within the
    classification's ``zero_tol`` that are not symmetry modes; ``smallest_nonflat``: the
    smallest |λ| above it; ``trace``: exact (dense) or Hutch++ estimate, zero modes included."""

    system: str
    dim: int
    method: str
    classification: Classification
    eigenvalues: np.ndarray | None
    zero_mode_curvatures: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    largest: float
    smallest_nonflat: float
    n_flat: int
    trace: float
    n_hvp: int
    n_hessian: int = 0
    density_grid: np.ndarray | None = None
    density: np.ndarray | None = None

    def as_dict(self) -> dict[str, Any]:
        c = self.classification
        return {
            "system": self.system, "dim": self.dim, "method": self.method, "kind": c.kind,
            "index": c.index, "index_is_lower_bound": c.index_is_lower_bound,
            "n_zero_modes": c.n_zero_modes, "zero_mode_curvatures": self.zero_mode_curvatures,
            "rms_gradient": c.rms_gradient, "energy": c.energy, "zero_tol": c.zero_tol,
            "n_flat": self.n_flat, "largest": self.largest, "smallest_nonflat": self.smallest_nonflat,
            "trace": self.trace, "top": self.top, "bottom": self.bottom,
            "eigenvalues": self.eigenvalues, "n_hvp": self.n_hvp, "n_hessian": self.n_hessian,
            "reason": c.reason,
        }

    def text(self) -> str:
        c = self.classification
        lines = [
            f"{self.system} (dim {self.dim}) at E = {c.energy:.10g}, RMS gradient {c.rms_gradient:.2e}",
            f"kind: {c.kind}    index: {'≥' if c.index_is_lower_bound else ''}{c.index}    "
            f"zero modes removed: {c.n_zero_modes}    flat beyond symmetry: {self.n_flat}",
            f"lowest eigenvalues:  {np.array2string(self.bottom, precision=5)}",
            f"highest eigenvalues: {np.array2string(self.top, precision=5)}",
            f"trace {self.trace:.6g}; smallest non-flat |λ| {self.smallest_nonflat:.4g}; "
            f"method {self.method}; {self.n_hessian} dense Hessian(s), {self.n_hvp} Hessian-vector products",
            f"why: {c.reason}",
        ]
        return "\n".join(lines)


def spectrum_summary(landscape: Any, x: Array, *, k: int = 6, rms_tol: float = 1e-4,
                     method: str = "auto", rng: np.random.Generator | int | None = None
                     ) -> SpectrumSummary:
    """Classify ``x`` and summarise the Hessian spectrum there (see module docstring)."""
    L = checked(landscape, caller="spectrum_summary")
    c0 = L.counts.copy()
    n = int(L.dim)
    if method == "auto":
        method = "dense" if n <= AUTO_DENSE_MAX_DIM else "lanczos"
    rng = np.random.default_rng(rng)
    if method == "dense":
        cls = classify(L, x, rms_tol=rms_tol, method="dense", k=n)
        w = np.asarray(cls.lowest_eigenvalues)
        cls.lowest_eigenvalues = w[:k]
        cls.lowest_eigenvectors = cls.lowest_eigenvectors[:k]
        top, bottom, eigenvalues = w[::-1][:k], w[:k], w
        trace = float(w.sum() + cls.zero_mode_curvatures.sum())
        grid = dens = None
    else:
        cls = classify(L, x, rms_tol=rms_tol, method="lanczos", k=k, rng=rng)
        Z = zero_modes_of(L, x)
        op = HessianOperator(L, x, Z)
        top = np.sort(lanczos_eigs(op, k=k, which="largest", rng=rng).eigenvalues)[::-1]
        bottom, eigenvalues = np.asarray(cls.lowest_eigenvalues), None
        trace = float(hutchpp(HessianOperator(L, x), n_matvec=99, rng=rng).estimate)
        sd = spectral_density(op, n_probes=4, n_steps=60, rng=rng)
        grid, dens = sd.grid, sd.density
        w = np.concatenate([bottom, top])
    nonflat = np.abs(w)[np.abs(w) > cls.zero_tol]
    return SpectrumSummary(
        system=L.name, dim=n, method=method, classification=cls, eigenvalues=eigenvalues,
        zero_mode_curvatures=np.asarray(cls.zero_mode_curvatures), top=np.asarray(top),
        bottom=np.asarray(bottom), largest=float(np.max(w)) if w.size else float("nan"),
        smallest_nonflat=float(nonflat.min()) if nonflat.size else float("nan"),
        n_flat=int(cls.n_flat), trace=trace, n_hvp=(L.counts - c0).hvp,
        n_hessian=(L.counts - c0).hessian,
        density_grid=grid, density=dens,
    )
