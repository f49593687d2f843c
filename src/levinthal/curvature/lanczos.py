"""Extreme eigenpairs of a Hessian from Hessian-vector products: thick-restart Lanczos.

The Lanczos process (Lanczos 1950) builds an orthonormal basis V of the Krylov space
span{v, Hv, H²v, …}; the Rayleigh–Ritz values of H on that space (eigenvalues of the small
projected matrix T = Vᵀ H V, tridiagonal in exact arithmetic) converge first to the extreme
eigenvalues, far faster than power iteration (which sees one Krylov vector at a time).

Implementation choices, all from the literature:

* **Full reorthogonalisation** (Paige 1972; Golub & Van Loan, *Matrix Computations*, §10.3):
  every new vector is orthogonalised against the whole basis, twice (classical Gram–Schmidt
  "twice is enough", Daniel, Gragg, Kaufman & Stewart 1976). Finite-precision Lanczos without
  it loses orthogonality as soon as a Ritz value converges and produces spurious copies
  ("ghosts"); with it, T is the exact projection to rounding. The coefficients of the
  Gram–Schmidt step are the entries of T, stored as a small dense host matrix.
* **Band (block) start** (Ruhe 1979): with ``block_size = b > 1`` the process starts from b
  random vectors and each new vector is H applied to the vector b places back, so an
  eigenvalue of multiplicity up to b is found with all its copies. ``b = 1`` is classic Lanczos.
* **Thick restart** (Wu & Simon 2000): when the basis reaches ``max_basis`` vectors the
  ``n_keep`` most wanted Ritz vectors and the last b Lanczos vectors are kept and the process
  continues from there, so memory is bounded by ``max_basis × dim`` while the information in
  the kept Ritz vectors is not lost (unlike an explicit restart).
* **Convergence** from the residual bound: for a Ritz pair (θ, y = V s) the residual
  ‖H y − θ y‖ equals ‖B s_last‖ (for b = 1: |β_m s_{m}|, Paige 1972), available without an
  extra product. A wanted pair is converged when this is ≤ tol·max(|θ|, √ε·‖T‖).
  The eigenvalue error is then at most the residual, and typically residual²/gap.

Vectors live in the operator's native array type (NumPy or ``torch.Tensor`` on the model's
device); only the small projected matrix goes to the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.curvature.operators import as_operator
from levinthal.landscape import EvaluationCounts, Result, to_numpy
from levinthal.landscape.arrays import Array, is_torch_array

__all__ = ["EigenResult", "lanczos_eigs", "lanczos_tridiagonal"]

WHICH = ("largest", "smallest", "both")


@dataclass
class EigenResult(Result):
    """Extreme eigenpairs of a symmetric operator.

    ``eigenvalues``: ascending, shape ``(k,)`` (``(2k,)`` for ``which="both"``);
    ``eigenvectors``: orthonormal rows, shape ``(k, dim)``, in the operator's array type;
    ``residual_norms``: ‖H y − θ y‖ per pair (from the Lanczos residual bound), shape ``(k,)``;
    ``n_matvec``: operator applications used (HVPs for a Hessian); ``ritz_values``: all Ritz
    values of the final basis, ascending (their extremes estimate the spectral range).
    ``history`` holds, per convergence check (after every product once the basis holds k
    vectors), ``n_matvec``, ``max_residual`` (of the wanted pairs) and ``basis_size``.
    """

    eigenvalues: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eigenvectors: Array = None
    residual_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_matvec: int = 0
    ritz_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    which: str = "largest"


def _empty_rows(like: Array, m: int) -> Array:
    """A zero ``(m, dim)`` array of ``like``'s type, dtype and device."""
    if is_torch_array(like):
        import torch

        return torch.zeros((m, like.shape[0]), dtype=like.dtype, device=like.device)
    return np.zeros((m, like.shape[0]))


def _orthogonalise(V: Array, n: int, w: Array) -> tuple[Array, np.ndarray]:
    """w − V[:n]ᵀ(V[:n] w), twice (classical Gram–Schmidt with one reorthogonalisation).

    Returns the new vector and the host coefficients h = V[:n] w_original, shape ``(n,)``.
    """
    if n == 0:
        return w, np.zeros(0)
    B = V[:n]
    h = B @ w
    w = w - h @ B
    h2 = B @ w
    w = w - h2 @ B
    return w, to_numpy(h) + to_numpy(h2)


def _norm(w: Array) -> float:
    return float(((w * w).sum()) ** 0.5)


def _new_direction(op: Any, V: Array, n: int, rng: np.random.Generator) -> Array | None:
    """A random unit vector orthogonal to V[:n] (and to the zero modes), or None if none exists."""
    for _ in range(5):
        r = op.project(op.random_vector(rng))
        r, _ = _orthogonalise(V, n, r)
        r = op.project(r)
        nr = _norm(r)
        if nr > 1e-8 * max(1.0, np.sqrt(op.dim)):
            return r / nr
    return None


def _select(theta: np.ndarray, which: str, k: int) -> np.ndarray:
    """Indices (into ascending ``theta``) of the wanted Ritz values."""
    m = theta.size
    if which == "largest":
        return np.arange(max(0, m - k), m)
    if which == "smallest":
        return np.arange(min(k, m))
    if 2 * k >= m:
        return np.arange(m)
    return np.concatenate([np.arange(k), np.arange(m - k, m)])


def lanczos_eigs(
    A: Any,
    x: Array | None = None,
    k: int = 5,
    which: str = "largest",
    tol: float = 1e-6,
    max_iterations: int | None = None,
    rng: np.random.Generator | int | None = None,
    reorthogonalize: str = "full",
    *,
    zero_modes: Array | None = None,
    block_size: int = 1,
    max_basis: int | None = None,
    n_keep: int | None = None,
    v0: Array | None = None,
) -> EigenResult:
    """The ``k`` extreme eigenpairs of a symmetric operator by thick-restart Lanczos.

    Parameters
    ----------
    A : landscape, operator or matrix
        A landscape (then ``x`` is required and the operator is its Hessian at ``x``, applied
        by HVPs), a :class:`~levinthal.curvature.operators.HessianOperator` /
        ``MatrixOperator``, or a square NumPy / torch matrix or SciPy ``LinearOperator``.
    x : array, shape ``(dim,)``
        Point at which a landscape's Hessian is taken (ignored for operators and matrices).
    k : int
        Number of eigenpairs wanted at each requested end (default 5).
    which : {"largest", "smallest", "both"}
        Algebraically largest, smallest, or ``k`` of each (default "largest").
    tol : float
        Relative residual tolerance: a pair is converged when ‖H y − θ y‖ ≤ tol·max(|θ|, √ε·‖T‖)
        (default 1e-6; the eigenvalue error is typically far below tol·|θ|).
    max_iterations : int, optional
        Budget of operator applications (HVPs); default ``max(20 k, 300)``. When it is spent
        the best pairs are returned with ``converged=False`` and the reason in ``message``.
    rng : numpy.random.Generator or int, optional
        Source of the random start vector(s) (default: seed 0, so runs are reproducible).
    reorthogonalize : "full"
        Only full reorthogonalisation is implemented (the others trade robustness for memory
        that thick restart already bounds).
    zero_modes : array, shape ``(z, dim)``, optional
        Orthonormal rows to project out (only when ``A`` is a landscape or matrix).
    block_size : int
        Number of start vectors b (default 1); use b ≥ the largest multiplicity expected among
        the wanted eigenvalues when exact degeneracies matter (Ruhe 1979).
    max_basis : int, optional
        Largest basis size before a thick restart (default ``min(dim, max(40, 4k + 2b))``;
        memory is ``max_basis × dim`` numbers).
    n_keep : int, optional
        Ritz vectors kept at a restart (default halfway between the number wanted and
        ``max_basis − b``; Wu & Simon 2000).
    v0 : array, shape ``(dim,)``, optional
        Start vector (block_size must be 1); default random normal.

    Returns
    -------
    EigenResult
        eigenvalues ascending, eigenvectors as rows, residual norms, convergence, counts.
    """
    if which not in WHICH:
        raise ValueError(f"lanczos_eigs: which must be one of {WHICH}, got {which!r}")
    if reorthogonalize != "full":
        raise ValueError(f"lanczos_eigs: reorthogonalize={reorthogonalize!r} is not implemented; "
                         "use 'full' (Paige 1972)")
    op = as_operator(A, x, zero_modes)
    n = op.dim
    n_eff = n - op.n_zero_modes
    k = int(k)
    b = int(block_size)
    if k < 1:
        raise ValueError(f"lanczos_eigs: k must be >= 1, got {k}")
    if b < 1:
        raise ValueError(f"lanczos_eigs: block_size must be >= 1, got {b}")
    n_wanted = k if which != "both" else 2 * k
    if n_wanted > n_eff:
        raise ValueError(f"{op.name}: {n_wanted} eigenpairs requested but the operator has only "
                         f"{n_eff} dimensions outside its {op.n_zero_modes} zero modes")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    if max_iterations is None:
        max_iterations = max(20 * k, 300)
    if max_basis is None:
        max_basis = max(40, 4 * n_wanted + 2 * b)
    max_basis = int(min(max_basis, n_eff))
    if max_basis < min(n_wanted + b + 1, n_eff):
        raise ValueError(f"{op.name}: max_basis = {max_basis} is too small for {n_wanted} wanted "
                         f"pairs with block_size {b}; it must be at least {n_wanted + b + 1}")
    # columns (H applied) per cycle; a basis that can hold the whole space never restarts
    cap = n_eff if max_basis >= n_eff else max_basis - b
    if n_keep is None:
        n_keep = n_wanted + max(1, (cap - n_wanted) // 2)
    n_keep = int(min(max(n_keep, n_wanted), cap - 1)) if cap > n_wanted else n_wanted

    counts0 = _counts(op)
    matvec0 = op.n_matvec
    V = _empty_rows(op.like, max_basis + b)
    Hc = np.zeros((max_basis + b, max_basis + b))  # coefficients: column j = V (H v_j)
    n_v = 0
    if v0 is not None:
        if b != 1:
            raise ValueError("lanczos_eigs: v0 needs block_size = 1")
        r = op.project(v0)
        nr = _norm(r)
        if nr == 0.0:
            raise ValueError(f"{op.name}: start vector v0 is zero after removing the zero modes")
        V[0] = r / nr
        n_v = 1
    for _ in range(b - n_v):
        r = _new_direction(op, V, n_v, rng)
        if r is None:
            break
        V[n_v] = r
        n_v += 1

    j = 0
    history: dict[str, list[float]] = {"n_matvec": [], "max_residual": [], "basis_size": []}
    exhausted = False
    while True:
        # --- expand the basis by one vector: apply H to v_j, orthogonalise, append -----------
        if j < cap and j < n_v:
            w = op.matvec(V[j])
            w, h = _orthogonalise(V, n_v, w)
            # Re-project: Gram–Schmidt against slightly impure basis vectors would otherwise
            # feed zero-mode components back in, amplified by ‖H‖/β at every step.
            w = op.project(w)
            Hc[:n_v, j] = h
            beta = _norm(w)
            scale = max(abs(h[j]), np.abs(Hc[: j + 1, : j + 1]).max(), 1e-300)
            if n_v < n_eff:
                if beta > 1e-10 * scale:
                    V[n_v] = w / beta
                    Hc[n_v, j] = beta
                    n_v += 1
                else:  # invariant subspace: continue with a fresh direction (H-coefficient 0)
                    r = _new_direction(op, V, n_v, rng)
                    if r is None:
                        exhausted = True
                    else:
                        V[n_v] = r
                        n_v += 1
            else:
                exhausted = True
            j += 1
        used = op.n_matvec - matvec0
        full = not (j < cap and j < n_v)  # no further expansion possible in this cycle
        if j < n_wanted and not full and used < max_iterations:
            continue
        # --- Rayleigh–Ritz on T = V_jᵀ H V_j (upper triangle of the coefficients) -------------
        T = np.triu(Hc[:j, :j])
        T = T + np.triu(T, 1).T
        theta, S = np.linalg.eigh(T)
        tail = Hc[j:n_v, :j] if n_v > j else np.zeros((0, j))
        res = np.linalg.norm(tail @ S, axis=0) if tail.size else np.zeros(j)
        wanted = _select(theta, which, min(n_wanted if which != "both" else k, j))
        tnorm = float(np.abs(theta).max()) if theta.size else 0.0
        floor = np.sqrt(np.finfo(float).eps) * tnorm
        bound = tol * np.maximum(np.abs(theta[wanted]), floor)
        conv = res[wanted] <= bound
        history["n_matvec"].append(float(used))
        history["max_residual"].append(float(res[wanted].max()) if wanted.size else 0.0)
        history["basis_size"].append(float(j))
        enough = wanted.size == n_wanted
        if (enough and bool(conv.all())) or used >= max_iterations or (exhausted and j >= n_v):
            break
        if not full:
            continue
        # --- thick restart (Wu & Simon 2000): keep n_keep Ritz vectors and the last b vectors --
        keep = _select(theta, which, n_keep if which != "both" else max(k, n_keep // 2))
        Sk = S[:, keep]
        Y = _from_host(Sk.T, V) @ V[:j]
        last = V[j:n_v] if n_v > j else None
        l = keep.size
        Hn = np.zeros_like(Hc)
        Hn[np.arange(l), np.arange(l)] = theta[keep]
        if n_v > j:
            Hn[l: l + (n_v - j), :l] = Hc[j:n_v, :j] @ Sk
        Vn = _empty_rows(op.like, max_basis + b)
        Vn[:l] = Y
        if last is not None:
            Vn[l: l + (n_v - j)] = last
        n_v = l + (n_v - j)
        V, Hc, j = Vn, Hn, l

    sel = wanted
    Y = _from_host(S[:, sel].T, V) @ V[:j]
    used = op.n_matvec - matvec0
    if not enough:
        message = f"only {wanted.size} Ritz pairs available, {n_wanted} requested"
        converged = False
    elif bool(conv.all()):
        message = (f"{n_wanted} eigenpairs converged to relative residual {tol:g} "
                   f"after {used} matvecs")
        converged = True
    else:
        worst = float((res[wanted] / np.maximum(np.abs(theta[wanted]), floor)).max())
        message = (f"budget of {max_iterations} matvecs spent: {int(conv.sum())} of {n_wanted} pairs "
                   f"converged, worst relative residual {worst:.2e} > tol {tol:g}")
        converged = False
    return EigenResult(
        converged=converged,
        message=message,
        counts=_counts(op) - counts0,
        history=history,
        eigenvalues=theta[sel].copy(),
        eigenvectors=Y,
        residual_norms=res[sel].copy(),
        n_matvec=used,
        ritz_values=theta.copy(),
        which=which,
    )


def _from_host(M: np.ndarray, like_rows: Array) -> Array:
    """Host matrix ``M`` in the array type/dtype/device of ``like_rows``."""
    if is_torch_array(like_rows):
        import torch

        return torch.as_tensor(np.ascontiguousarray(M), dtype=like_rows.dtype, device=like_rows.device)
    return M


def _counts(op: Any) -> EvaluationCounts:
    L = getattr(op, "landscape", None)
    if L is not None and hasattr(L, "counts"):
        return L.counts.copy()
    return EvaluationCounts(hvp=int(op.n_matvec))


def lanczos_tridiagonal(op: Any, v0: Array, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` plain Lanczos steps from ``v0`` with full reorthogonalisation; no restart.

    With T the ``(m', m')`` tridiagonal matrix (m' ≤ m; smaller if an invariant subspace is
    reached), its eigenvalues ``nodes`` and ``weights`` = (first components of its unit
    eigenvectors)² are the m'-point Gauss quadrature rule of the spectral measure of ``op``
    seen from v0/‖v0‖ (Golub & Meurant 1994): Σ wᵢ f(θᵢ) ≈ v̂ᵀ f(H) v̂. Used by stochastic
    Lanczos quadrature. Returns ``(nodes, weights)``, each shape ``(m',)``, weights sum to 1.
    """
    n = op.dim - op.n_zero_modes
    m = int(min(m, n))
    V = _empty_rows(op.like, m + 1)
    v = op.project(v0)
    nv = _norm(v)
    if nv == 0.0:
        raise ValueError(f"{op.name}: Lanczos start vector is zero after projection")
    V[0] = v / nv
    alpha = np.zeros(m)
    beta = np.zeros(m)
    steps = 0
    for j in range(m):
        w = op.matvec(V[j])
        w, h = _orthogonalise(V, j + 1, w)
        w = op.project(w)
        alpha[j] = h[j]
        steps = j + 1
        bj = _norm(w)
        beta[j] = bj
        if j + 1 >= m or bj <= 1e-10 * max(np.abs(alpha[: j + 1]).max(), 1e-300):
            break
        V[j + 1] = w / bj
    T = np.diag(alpha[:steps]) + np.diag(beta[: steps - 1], 1) + np.diag(beta[: steps - 1], -1)
    nodes, U = np.linalg.eigh(T)
    return nodes, U[0] ** 2
