"""Stochastic estimates of the Hessian trace from Hessian-vector products.

* **Hutchinson** (Hutchinson 1990): for Rademacher vectors g (entries ±1 with probability ½),
  E[gᵀ H g] = tr H, with variance 2(‖H‖_F² − Σᵢ Hᵢᵢ²) per sample. The estimate is the mean
  over ``n`` probes and its standard error the sample standard deviation / √n.
* **Hutch++** (Meyer, Musco, Musco & Woodruff 2021): spend a third of the products on a
  sketch Q = orth(H S) of the dominant range, take tr(Qᵀ H Q) exactly, and apply Hutchinson
  only to the deflated remainder (I − QQᵀ) H (I − QQᵀ). For a Hessian with a decaying spectrum
  (every trained network has one) the error falls like 1/m instead of 1/√m at m products.

* **XTrace** and **XNysTrace** (Epperly, Tropp & Webber 2024, "XTrace: making the most of every
  sample in stochastic trace estimation", SIAM J. Matrix Anal. Appl. 45): *exchangeable*
  estimators — every test vector serves both in the low-rank sketch built from the others and
  as the Hutchinson probe of their residual, and the k leave-one-out estimates are averaged;
  their spread gives an error estimate. XTrace (2 products per test vector) takes any symmetric
  operator; XNysTrace (1 product per test vector, Nyström) needs a PSD one (or a ``shift``).
* :func:`adaptive_trace` grows either sketch until its error estimate meets a tolerance.

Measured on the digits MLP at its L2 minimum (``benchmarks/bench_sharpness.py``): at equal
accuracy XNysTrace needs 0.13-0.24 of Hutchinson's products at 300-999 Hutchinson probes,
0.4-0.7 at 99 and ~0.7-1 at 10-30 (a slowly decaying spectrum leaves little to sketch).

With zero modes in the operator (``HessianOperator(..., zero_modes=Z)``) all estimate the
trace of the projected Hessian P H P, i.e. tr H − Σ zᵢᵀ H zᵢ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.curvature.operators import as_operator
from levinthal.landscape.arrays import Array, as_like, is_torch_array, to_numpy

__all__ = ["TraceEstimate", "adaptive_trace", "hutchinson", "hutchpp", "xnystrace", "xtrace"]


@dataclass
class TraceEstimate:
    """A trace estimate: ``estimate``, its ``standard_error`` (NaN where undefined), the
    ``n_matvec`` operator products used, the ``method`` name and the per-probe ``samples``
    of the stochastic part (shape ``(n,)``; for XTrace / XNysTrace the leave-one-out estimates).
    ``converged`` and ``message`` matter for :func:`adaptive_trace` (False: the budget ran out
    before the requested accuracy); the fixed-budget estimators always return True."""

    estimate: float
    standard_error: float
    n_matvec: int
    method: str
    samples: np.ndarray = field(repr=False)
    converged: bool = True
    message: str = ""


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



# ------------------------------------------------------------ exchangeable estimators (XTrace)


def _sphere_rows(op: Any, rng: np.random.Generator, k: int) -> Array:
    """``k`` rows uniform on the sphere of radius √dim (so E[ωωᵀ] = I), in the operator's type."""
    rows = []
    for _ in range(k):
        g = op.random_vector(rng, "normal")
        rows.append(g * (op.dim**0.5 / float((g * g).sum()) ** 0.5))
    return _stack(rows)


def _apply_rows(op: Any, V: Array) -> Array:
    """Rows ``A vᵢ`` of the operator applied to the rows of ``V`` (one product each)."""
    return _stack([op.matvec(v) for v in V])


def _cat(a: Array | None, b: Array) -> Array:
    if a is None:
        return b
    if is_torch_array(b):
        import torch

        return torch.cat([a, b])
    return np.concatenate([a, b])


def _host(M: Array) -> np.ndarray:
    """A small (k×k or k) array on the host as float64; the only copies the estimators make."""
    return to_numpy(M)


def _qr_rows(V: Array) -> tuple[Array, Array]:
    """Reduced QR of ``Vᵀ`` for rows ``V`` (``(a, dim)``): orthonormal rows ``Q`` and ``R`` with Vᵀ = QᵀR."""
    if is_torch_array(V):
        import torch

        q, r = torch.linalg.qr(V.T, mode="reduced")
    else:
        q, r = np.linalg.qr(V.T, mode="reduced")
    return q.T, r


class _RangeSketch:
    """Test rows Ω, their images Y = AΩ (rows), an orthonormal basis Q of range(Y) with
    Yᵀ = QᵀR (R upper triangular, host), and Z = AQ (rows). Grows by block classical
    Gram–Schmidt with one reorthogonalisation, so earlier rows of Q, Y and Z are kept and no
    product is ever repeated when the sketch is enlarged."""

    def __init__(self, op: Any):
        self.op = op
        self.Om = self.Y = self.Q = self.Z = None
        self.R = np.zeros((0, 0))

    @property
    def k(self) -> int:
        return self.R.shape[0]

    def grow(self, rng: np.random.Generator, a: int, with_basis: bool = True) -> None:
        om = _sphere_rows(self.op, rng, a)
        y = _apply_rows(self.op, om)
        self.Om, self.Y = _cat(self.Om, om), _cat(self.Y, y)
        if not with_basis:
            return
        k = self.k
        if self.Q is None:
            q, r = _qr_rows(y)
            C = np.zeros((0, a))
        else:
            c1 = self.Q @ y.T
            yp = y - c1.T @ self.Q
            c2 = self.Q @ yp.T
            yp = yp - c2.T @ self.Q
            C = _host(c1 + c2)
            q, r = _qr_rows(yp)
        R = np.zeros((k + a, k + a))
        R[:k, :k], R[:k, k:], R[k:, k:] = self.R, C, _host(r)
        self.Q, self.R = _cat(self.Q, q), R
        self.Z = _cat(self.Z, _apply_rows(self.op, q))


def _xtrace_samples(sk: _RangeSketch, rank_rtol: float = 1e-10) -> tuple[np.ndarray, str]:
    """The k leave-one-out XTrace estimates from a sketch (Epperly, Tropp & Webber 2024, §2-3).

    For test vector i, Q₍ᵢ₎ spans the images of all other test vectors; the estimate is
    tr(Q₍ᵢ₎ᵀAQ₍ᵢ₎) + c·ω̂ᵢᵀ(I−Q₍ᵢ₎Q₍ᵢ₎ᵀ)A(I−Q₍ᵢ₎Q₍ᵢ₎ᵀ)ω̂ᵢ, unbiased because Q₍ᵢ₎ does not
    depend on ωᵢ. Q₍ᵢ₎Q₍ᵢ₎ᵀ = QQᵀ − q̃ᵢq̃ᵢᵀ with q̃ᵢ = Q sᵢ, sᵢ the normalised i-th column of
    R⁻ᵀ (the direction of range(R) orthogonal to every other column), so every estimate is a
    k×k computation. The residual probe is the projection of ωᵢ rescaled onto the sphere of the
    (dim−k+1)-dimensional complement ("improved" estimator, their §2.2). When Y is numerically
    rank-deficient (A of rank < k) the basis is truncated to the numerical range and the
    residual is estimated on its complement (tr exact up to the discarded singular values)."""
    n, k = sk.op.dim, sk.k
    R = sk.R
    Hq = _host(sk.Q @ sk.Z.T)
    Hq = 0.5 * (Hq + Hq.T)
    W = _host(sk.Q @ sk.Om.T)                        # column i: Qᵀωᵢ
    d = _host((sk.Om * sk.Y).sum(1))                   # ωᵢᵀAωᵢ
    om2 = _host((sk.Om * sk.Om).sum(1))
    U, sv, _ = np.linalg.svd(R)
    r = int((sv > rank_rtol * sv[0]).sum()) if sv.size and sv[0] > 0 else 0
    if r < k:
        Ur = U[:, :r]
        Hr, Wr, Rr = Ur.T @ Hq @ Ur, Ur.T @ W, Ur.T @ R
        resid = d - 2 * (Rr * Wr).sum(0) + (Wr * (Hr @ Wr)).sum(0)
        scale = _complement_scale(n - r, om2, om2 - (Wr * Wr).sum(0))
        return np.trace(Hr) + scale * resid, f"sketch of rank {r} < {k}: range captured, residual estimated"
    S = np.linalg.inv(R).T
    S /= np.linalg.norm(S, axis=0)
    c = (S * W).sum(0)                                 # sᵢᵀwᵢ
    Uv = W - c * S                                     # Q₍ᵢ₎ᵀ-part of ωᵢ in Q coordinates
    low = np.trace(Hq) - (S * (Hq @ S)).sum(0)
    resid = d - 2 * (R * Uv).sum(0) + (Uv * (Hq @ Uv)).sum(0)
    scale = _complement_scale(n - k + 1, om2, om2 - (W * W).sum(0) + c**2)
    return low + scale * resid, ""


def _complement_scale(m: int, om2: np.ndarray, comp2: np.ndarray) -> np.ndarray:
    """m / ‖(I−QQᵀ)ω‖² per probe, or 0 where the probe has (numerically) no component outside
    the captured range: it then carries no information about the complement, and its residual
    term, itself rounding noise, is dropped instead of being divided by ~0."""
    ok = comp2 > 1e-12 * om2
    return np.where(ok, m / np.where(ok, comp2, 1.0), 0.0)


def _estimate(samples: np.ndarray, n_matvec: int, method: str, converged: bool = True,
              message: str = "") -> TraceEstimate:
    k = samples.size
    se = float(samples.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
    return TraceEstimate(float(samples.mean()), se, n_matvec, method, samples, converged, message)


def xtrace(
    A: Any,
    x: Array | None = None,
    n_matvec: int = 100,
    rng: np.random.Generator | int | None = None,
    *,
    zero_modes: Array | None = None,
) -> TraceEstimate:
    """XTrace estimate of tr A with ``n_matvec`` products (Epperly, Tropp & Webber 2024, SIMAX).

    k = ``n_matvec // 2`` test vectors ωᵢ (uniform on the sphere of radius √dim): Y = AΩ
    (k products), Q = orth(Y), Z = AQ (k products). Each ωᵢ is used twice — in the sketch of
    the others and as the Hutchinson probe of the residual left by their sketch — and the
    estimate is the mean of the k exchangeable leave-one-out estimates (unbiased for any
    symmetric A, PSD or not). ``standard_error`` is their sample std / √k, the paper's error
    estimate (not a rigorous bound); ``samples`` are the k leave-one-out estimates.
    Uses 2k products; when k ≥ rank A the trace is exact to round-off.
    """
    op = as_operator(A, x, zero_modes)
    k = min(int(n_matvec) // 2, op.dim)
    if k < 2:
        raise ValueError(f"xtrace: n_matvec must be >= 4 (two test vectors), got {n_matvec}")
    rng = _rng(rng)
    start = op.n_matvec
    sk = _RangeSketch(op)
    sk.grow(rng, k)
    samples, msg = _xtrace_samples(sk)
    return _estimate(samples, op.n_matvec - start, "xtrace", message=msg)


def _xnys_samples(op: Any, Om: Array, Y: Array, shift: float) -> np.ndarray:
    """The k leave-one-out XNysTrace estimates of tr A from Ω and Y = AΩ (rows).

    Nyström approximation of A_ν = A + νI (ν = ``shift`` + a round-off-size stabiliser):
    Â = Y_ν G⁻¹ Y_νᵀ with G = ΩᵀY_ν = LLᵀ. Leaving ωᵢ out, with M = G⁻¹ and ℓᵢ = L⁻¹eᵢ
    (so Mᵢᵢ = ‖ℓᵢ‖²): tr Â₍ᵢ₎ = ‖B‖²_F − ‖Bℓᵢ‖²/‖ℓᵢ‖² (B = Y_ν L⁻ᵀ) and the residual
    probe ωᵢᵀ(A_ν − Â₍ᵢ₎)ωᵢ = 1/Mᵢᵢ. The residual annihilates the other test vectors, so the
    probe is rescaled to the sphere of their (dim−k+1)-dimensional complement:
    ‖P₍ᵢ₎ωᵢ‖² = 1/[(ΩᵀΩ)⁻¹]ᵢᵢ. Finally ν·dim is subtracted.
    """
    n, k = op.dim, int(Y.shape[0])
    ynorm = float((Y * Y).sum()) ** 0.5
    nu = float(shift) + np.sqrt(n) * np.finfo(float).eps * ynorm
    Yn = Y + nu * Om
    G = _host(Om @ Yn.T)
    G = 0.5 * (G + G.T)
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        w = np.linalg.eigvalsh(G)
        raise ValueError(
            f"xnystrace: {getattr(op, 'name', 'operator')} is not positive semidefinite on the sketch "
            f"(ΩᵀAΩ + ν ΩᵀΩ has eigenvalue {w[0]:.3g}, ν = {nu:.3g}); pass shift ≥ −λmin "
            "(e.g. the L2 λ at a minimum of a regularised loss) or use xtrace, which needs no PSD"
        ) from None
    Linv = np.linalg.inv(L)
    if is_torch_array(Yn):
        B = as_like(Linv, Yn) @ Yn                      # rows of Bᵀ = L⁻¹ Y_νᵀ, on the device
    else:
        B = Linv @ Yn
    BtB = _host(B @ B.T)
    m_ii = (Linv * Linv).sum(0)                         # Mᵢᵢ = ‖L⁻¹eᵢ‖²
    lhat = Linv / np.sqrt(m_ii)
    low = np.trace(BtB) - (lhat * (BtB @ lhat)).sum(0)
    OtO = _host(Om @ Om.T)
    scale = (n - k + 1) * np.diag(np.linalg.inv(0.5 * (OtO + OtO.T)))
    return low + scale / m_ii - nu * n


def xnystrace(
    A: Any,
    x: Array | None = None,
    n_matvec: int = 100,
    rng: np.random.Generator | int | None = None,
    *,
    zero_modes: Array | None = None,
    shift: float = 0.0,
) -> TraceEstimate:
    """XNysTrace estimate of tr A for a positive semidefinite A (Epperly, Tropp & Webber 2024).

    k = ``n_matvec`` test vectors ωᵢ (uniform on the sphere of radius √dim), one product
    each: every ωᵢ serves in the Nyström approximation built from the others and as the probe
    of its residual; the estimate is the mean of the k exchangeable leave-one-out estimates.
    On a PSD operator with a decaying spectrum it is the most accurate estimator here per product
    (the Nyström sketch needs no second pass AQ, unlike XTrace and Hutch++).

    **PSD only.** ``shift`` σ ≥ 0 runs it on A + σI and subtracts σ·dim, so an operator with
    eigenvalues ≥ −σ is fine: the *data-loss* Hessian at a minimum of an L2-regularised loss
    (λ) has eigenvalues ≥ −λ, so pass ``shift=λ``. Negative eigenvalues beyond −σ make
    ΩᵀAΩ indefinite and the Cholesky factorisation fails → ``ValueError`` naming the pivot; when
    they are small enough that it succeeds, the estimate stays unbiased (Â₍ᵢ₎ never depends on
    ωᵢ) but nothing bounds its variance (G can be nearly singular): use :func:`xtrace` for
    indefinite operators (saddles, unregularised networks). Measured: on the digits-MLP data
    Hessian at its λ = 1e-3 minimum (394 of 2,410 eigenvalues in [−λ, 0), λmax 0.17) shift 0
    ran at every budget 10-999 with the same errors as shift λ to within seed noise. A shift
    adds no variance through its own σI term: the residual probe is uniform on the sphere of the
    complement of the other test vectors, where uᵀ(σI)u = σ for every u (it does change the
    Nyström approximation, so it is not free in general; keep it near −λmin).
    ``standard_error``: std of the leave-one-out estimates / √k (the paper's error estimate).
    """
    op = as_operator(A, x, zero_modes)
    k = min(int(n_matvec), op.dim)
    if k < 2:
        raise ValueError(f"xnystrace: n_matvec must be >= 2, got {n_matvec}")
    if shift < 0:
        raise ValueError(f"xnystrace: shift must be >= 0 (A + shift·I must be PSD), got {shift}")
    rng = _rng(rng)
    start = op.n_matvec
    Om = _sphere_rows(op, rng, k)
    Y = _apply_rows(op, Om)
    return _estimate(_xnys_samples(op, Om, Y, shift), op.n_matvec - start, "xnystrace")


def adaptive_trace(
    A: Any,
    x: Array | None = None,
    rtol: float = 1e-2,
    *,
    atol: float = 0.0,
    method: str = "xtrace",
    max_matvec: int = 1000,
    min_matvec: int = 16,
    growth: float = 1.5,
    rng: np.random.Generator | int | None = None,
    zero_modes: Array | None = None,
    shift: float = 0.0,
) -> TraceEstimate:
    """Trace to a requested accuracy: grow an XTrace / XNysTrace sketch until its own error
    estimate is ≤ max(``rtol``·|estimate|, ``atol``), reusing every product already made.

    The stopping rule is the exchangeable estimators' error estimate (std of the leave-one-out
    estimates / √k; Epperly, Tropp & Webber 2024, §4), in the spirit of adaptive Hutch++
    (Persson, Cortinovis & Kressner 2022), which stops on a probabilistic bound instead; this
    estimate is not a bound, so the achieved error is only *about* the tolerance (it is measured
    against exact traces in ``benchmarks/bench_sharpness.py``). The budget starts at
    ``min_matvec`` and grows by ``growth`` per stage (XTrace: block Gram–Schmidt keeps the
    earlier basis and its products AQ; XNysTrace: the products AΩ are simply kept), never above
    ``max_matvec``; ``converged`` is False, with a message, when the budget ran out first.
    ``method``: ``"xtrace"`` (any symmetric operator) or ``"xnystrace"`` (PSD, see ``shift`` in
    :func:`xnystrace`).
    """
    if method not in ("xtrace", "xnystrace"):
        raise ValueError(f"adaptive_trace: method must be 'xtrace' or 'xnystrace', got {method!r}")
    if not (rtol > 0 or atol > 0):
        raise ValueError(f"adaptive_trace: rtol or atol must be > 0, got rtol={rtol}, atol={atol}")
    if growth <= 1:
        raise ValueError(f"adaptive_trace: growth must be > 1, got {growth}")
    op = as_operator(A, x, zero_modes)
    per = 2 if method == "xtrace" else 1
    cap = min(int(max_matvec) // per, op.dim)
    k = min(max(int(min_matvec) // per, 2), cap)
    if k < 2:
        raise ValueError(f"adaptive_trace: max_matvec = {max_matvec} leaves fewer than two test vectors")
    rng = _rng(rng)
    start = op.n_matvec
    sk = _RangeSketch(op)
    while True:
        sk.grow(rng, k - (sk.Om.shape[0] if sk.Om is not None else 0), with_basis=method == "xtrace")
        if method == "xtrace":
            samples, msg = _xtrace_samples(sk)
        else:
            samples, msg = _xnys_samples(op, sk.Om, sk.Y, shift), ""
        est = _estimate(samples, op.n_matvec - start, f"adaptive-{method}", message=msg)
        target = max(rtol * abs(est.estimate), atol)
        if est.standard_error <= target:
            est.message = (f"error estimate {est.standard_error:.3g} <= {target:.3g} at "
                           f"{est.n_matvec} products" + (f"; {msg}" if msg else ""))
            return est
        if k >= cap:
            est.converged = False
            est.message = (f"max_matvec = {max_matvec} spent: error estimate {est.standard_error:.3g} "
                           f"> {target:.3g}")
            return est
        k = min(max(int(np.ceil(k * growth)), k + 1), cap)
