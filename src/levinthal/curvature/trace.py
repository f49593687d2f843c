"""Stochastic estimates of the Hessian trace from Hessian-vector products.

* **Hutchinson** (Hutchinson 1990): for Rademacher vectors g (entries ±1 with probability ½),
  E[gᵀ H g] = tr H, with variance 2(‖H‖_F² − Σᵢ Hᵢᵢ²) per sample. The estimate is the mean
  over ``n`` probes and its standard error the sample standard deviation / √n.
* **Hutch++** (Meyer, Musco, Musco & Woodruff 2021): spend a third of the products on a
  sketch Q = orth(H S) of the dominant range, take tr(Qᵀ H Q) exactly, and apply Hutchinson
  only to the deflated remainder (I − QQᵀ) H (I − QQᵀ). For a Hessian with a decaying spectrum
  (every trained network has one) the error falls like 1/m instead of 1/√m at m products.

With zero modes in the operator (``HessianOperator(..., zero_modes=Z)``) both estimate the
trace of the projected Hessian P H P, i.e. tr H − Σ zᵢᵀ H zᵢ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.curvature.operators import as_operator
from levinthal.landscape.arrays import Array, is_torch_array

__all__ = ["TraceEstimate", "hutchinson", "hutchpp"]


@dataclass
class TraceEstimate:
    """A trace estimate: ``estimate``, its ``standard_error`` (NaN where undefined), the
    ``n_matvec`` operator products used, the ``method`` name and the per-probe ``samples``
    of the stochastic part (shape ``(n,)``)."""

    estimate: float
    standard_error: float
    n_matvec: int
    method: str
    samples: np.ndarray = field(repr=False)


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


def hutchinson(
    A: Any,
    x: Array | None = None,
    n_probes: int = 100,
    rng: np.random.Generator | int | None = None,
    *,
    zero_modes: Array | None = None,
) -> TraceEstimate:
    """Hutchinson's estimate of tr H with ``n_probes`` Rademacher vectors (Hutchinson 1990).

    ``A``: landscape (with ``x``), operator or matrix, as in
    :func:`levinthal.curvature.lanczos_eigs`. Uses exactly ``n_probes`` products (default 100).
    The standard error is the sample standard deviation of gᵀHg over the probes / √n_probes.
    """
    op = as_operator(A, x, zero_modes)
    if n_probes < 2:
        raise ValueError(f"hutchinson: n_probes must be >= 2 for a standard error, got {n_probes}")
    rng = _rng(rng)
    start = op.n_matvec
    samples = np.empty(n_probes)
    for i in range(n_probes):
        g = op.random_vector(rng, "rademacher")
        samples[i] = float((g * op.matvec(g)).sum())
    return TraceEstimate(float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(n_probes)),
                         op.n_matvec - start, "hutchinson", samples)


def _stack(rows: list[Array]) -> Array:
    if is_torch_array(rows[0]):
        import torch

        return torch.stack(rows)
    return np.stack(rows)


def _orthonormal_rows(Y: Array) -> Array:
    """Orthonormal rows spanning the rows of ``Y`` (``(r, dim)``), by a reduced QR of Yᵀ."""
    if is_torch_array(Y):
        import torch

        q, _ = torch.linalg.qr(Y.T, mode="reduced")
        return q.T.contiguous()
    q, _ = np.linalg.qr(Y.T, mode="reduced")
    return q.T


def hutchpp(
    A: Any,
    x: Array | None = None,
    n_matvec: int = 99,
    rng: np.random.Generator | int | None = None,
    *,
    zero_modes: Array | None = None,
) -> TraceEstimate:
    """Hutch++ estimate of tr H with ``n_matvec`` products (Meyer, Musco, Musco & Woodruff 2021).

    Splits the budget into thirds (s = ``n_matvec // 3`` each): H S for a Rademacher sketch S
    (``(s, dim)``), Q = orth(H S); tr(Qᵀ H Q) with s products; Hutchinson with s Rademacher
    probes on the deflated remainder. Uses 3s products (default 99: s = 33).
    ``standard_error`` is that of the Hutchinson part (the low-rank part is exact given Q);
    ``samples`` are the deflated probes' gᵀ(I−QQᵀ)H(I−QQᵀ)g.
    """
    op = as_operator(A, x, zero_modes)
    s = int(n_matvec) // 3
    if s < 2:
        raise ValueError(f"hutchpp: n_matvec must be >= 6 (two products per third), got {n_matvec}")
    s = min(s, op.dim)
    rng = _rng(rng)
    start = op.n_matvec
    HS = _stack([op.matvec(op.random_vector(rng, "rademacher")) for _ in range(s)])
    Q = _orthonormal_rows(HS)
    low_rank = sum(float((q * op.matvec(q)).sum()) for q in Q)
    samples = np.empty(s)
    for i in range(s):
        g = op.random_vector(rng, "rademacher")
        g = g - (Q @ g) @ Q
        samples[i] = float((g * op.matvec(g)).sum())
    se = float(samples.std(ddof=1) / np.sqrt(s))
    est = low_rank + float(samples.mean())
    return TraceEstimate(est, se, op.n_matvec - start, "hutch++", samples)

