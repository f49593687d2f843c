"""What kind of point is this? Minimum, saddle (with its index), degenerate, or not stationary.

A point is stationary when its RMS gradient ‖∇E‖/√dim is below ``rms_tol`` (the measure of
GMIN, OPTIM and pele). Its *Hessian index* is the number of negative eigenvalues once the
exact zero modes declared by the landscape's symmetry (translations, rotations, rescalings)
are removed: the spectrum is computed on the orthogonal complement of the zero modes
(eigh of Qᵀ H Q for small ``dim``, Lanczos on P H P for large ``dim``), so a symmetry mode is
never counted as a flat or a negative direction (Wales, *Energy Landscapes*, 2003, §2.4).
The zero modes' own curvatures zᵀ H z are reported: they must be ≈ 0, and a large one
means the declared symmetry, or the point, is wrong.

A remaining eigenvalue with |λ| ≤ ``zero_tol`` is *not* a symmetry mode: the point is then
"degenerate" (a genuinely flat direction or a higher-order stationary point, where the
second-derivative test says nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.curvature.dense import dense_hessian, eigh_projected
from levinthal.curvature.lanczos import lanczos_eigs
from levinthal.curvature.operators import HessianOperator, _check_zero_modes, zero_modes_of
from levinthal.landscape import EvaluationCounts, as_like, checked, symmetry_of, to_numpy
from levinthal.landscape.arrays import Array

__all__ = ["AUTO_DENSE_MAX_DIM", "Classification", "classify"]

AUTO_DENSE_MAX_DIM = 3000
"""``method="auto"`` diagonalises the dense projected Hessian up to this ``dim``, else Lanczos."""

KINDS = ("minimum", "saddle", "not stationary", "degenerate")


@dataclass
class Classification:
    """The curvature verdict at a point.

    ``kind``: one of "minimum", "saddle", "not stationary", "degenerate";
    ``index``: negative eigenvalues after zero modes are removed (a lower bound when
    ``index_is_lower_bound``: all ``k`` Lanczos eigenvalues were negative);
    ``n_zero_modes``: symmetry modes removed; ``zero_mode_curvatures``: their Rayleigh
    quotients zᵀ H z, shape ``(n_zero_modes,)``; ``lowest_eigenvalues``: ascending, shape
    ``(≤ k,)``, with ``lowest_eigenvectors`` as rows (``(≤ k, dim)``, native array type);
    ``n_flat``: remaining eigenvalues with |λ| ≤ ``zero_tol``; ``rms_gradient``: ‖∇E‖/√dim;
    ``energy``; ``method``: "dense" or "lanczos"; ``reason``: a sentence saying why;
    ``counts``: evaluations used.
    """

    kind: str
    index: int
    n_zero_modes: int
    zero_mode_curvatures: np.ndarray
    lowest_eigenvalues: np.ndarray
    rms_gradient: float
    reason: str
    energy: float = float("nan")
    n_flat: int = 0
    zero_tol: float = 0.0
    method: str = ""
    index_is_lower_bound: bool = False
    lowest_eigenvectors: Array = None
    counts: EvaluationCounts = field(default_factory=EvaluationCounts)


def classify(
    landscape: Any,
    x: Array,
    *,
    rms_tol: float = 1e-4,
    zero_tol: float | None = None,
    method: str = "auto",
    k: int = 6,
    zero_modes: Array | str | None = "symmetry",
    tol: float = 1e-8,
    max_iterations: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> Classification:
    """Classify the point ``x`` of ``landscape`` by its gradient and projected Hessian spectrum.

    Parameters
    ----------
    landscape, x : the landscape and the point (native array type, shape ``(dim,)``).
    rms_tol : float
        Largest RMS gradient ‖∇E‖/√dim of a stationary point (default 1e-4, in energy per
        coordinate unit).
    zero_tol : float, optional
        Eigenvalues with |λ| ≤ zero_tol count as flat. Default 1e-6 × the largest |λ| seen
        (the spectral scale) — relative, so the same default serves reduced and loss units.
    method : {"auto", "dense", "lanczos"}
        "dense": eigh of Qᵀ H Q (full spectrum); "lanczos": the ``k`` smallest eigenpairs of
        P H P by thick-restart Lanczos; "auto": dense for dim ≤ 3000.
    k : int
        How many lowest eigenvalues to report (and, for Lanczos, to compute; default 6).
    zero_modes : array ``(z, dim)``, None or "symmetry"
        Modes to remove; "symmetry" (default) asks the landscape's symmetry, None removes none.
    tol, max_iterations, rng : passed to :func:`levinthal.curvature.lanczos_eigs`
        (tol defaults to 1e-8 so that the signs of small eigenvalues are reliable).

    Returns
    -------
    Classification
    """
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"classify: method must be 'auto', 'dense' or 'lanczos', got {method!r}")
    L = checked(landscape, caller="classify")
    c0 = L.counts.copy()
    n = int(L.dim)
    e, g = L.energy_gradient(x)
    rms = float(np.sqrt((to_numpy(g) ** 2).mean()))
    Z = zero_modes_of(L, x) if isinstance(zero_modes, str) and zero_modes == "symmetry" else zero_modes
    if isinstance(Z, str):
        raise ValueError(f"classify: zero_modes must be an array, None or 'symmetry', got {Z!r}")
    op = HessianOperator(L, x, None)
    nz = 0 if Z is None else int(Z.shape[0])
    if nz:
        _check_zero_modes(L.name, n, Z)
    zmc = np.array([float((z * op.matvec(z)).sum()) for z in Z]) if nz else np.zeros(0)
    if method == "auto":
        method = "dense" if n <= AUTO_DENSE_MAX_DIM else "lanczos"
    k = int(min(k, n - nz))
    lower_bound = False
    if method == "dense":
        H = dense_hessian(L, x, max_dim=max(n, AUTO_DENSE_MAX_DIM))
        w, U = eigh_projected(H, Z)
        scale = float(np.abs(w).max()) if w.size else 0.0
        lowest, vecs = w[:k], U[:k]
        if not isinstance(x, np.ndarray):
            vecs = as_like(vecs, x)
        all_w = w
    else:
        res = lanczos_eigs(HessianOperator(L, x, Z), k=k, which="smallest", tol=tol,
                           max_iterations=max_iterations, rng=rng)
        if not res.converged and rms <= rms_tol:
            raise RuntimeError(f"{L.name}: classify could not converge the {k} lowest eigenvalues "
                               f"({res.message}); raise max_iterations or use method='dense'")
        lowest, vecs = res.eigenvalues, res.eigenvectors
        scale = float(np.abs(res.ritz_values).max())
        all_w = lowest
    if zero_tol is None:
        zero_tol = 1e-6 * max(scale, float(np.abs(zmc).max()) if nz else 0.0)
    n_neg = int((all_w < -zero_tol).sum())
    n_flat = int((np.abs(all_w) <= zero_tol).sum())
    if method == "lanczos" and n_neg == k:
        lower_bound = True

    sym = symmetry_of(L)
    if nz:
        what = f"{nz} symmetry zero modes removed ({sym!r})" if sym is not None and isinstance(
            zero_modes, str) else f"{nz} zero modes removed"
        bad = np.abs(zmc) > max(zero_tol, 1e-8)
        if bad.any():
            worst = int(np.argmax(np.abs(zmc)))
            what += (f"; WARNING: {int(bad.sum())} declared zero mode(s) have curvature above "
                     f"zero_tol {zero_tol:.1e} (largest zᵀHz = {zmc[worst]:.3e}): the symmetry "
                     "declaration or the point is suspect")
        else:
            what += f", their curvatures ≤ {np.abs(zmc).max():.1e}"
    else:
        what = "no zero modes removed"
    idx_txt = f"index ≥ {n_neg}" if lower_bound else f"index {n_neg}"
    spec = f"smallest remaining eigenvalue {lowest[0]:.6g}" if lowest.size else "no eigenvalues left"
    if rms > rms_tol:
        kind = "not stationary"
        reason = f"RMS gradient {rms:.3g} > {rms_tol:.3g}: not a stationary point ({what}; {spec}, {idx_txt})"
        if method == "lanczos" and not res.converged:
            reason += f" [eigenvalues not converged: {res.message}]"
    elif n_flat:
        kind = "degenerate"
        reason = (f"{what}; {n_flat} remaining eigenvalue(s) within zero_tol {zero_tol:.2e} that are not "
                  f"symmetry modes ({spec}): degenerate stationary point, {idx_txt} among the others")
    elif n_neg == 0:
        kind = "minimum"
        reason = f"{what}; {spec} > {zero_tol:.2e}: minimum"
    else:
        kind = "saddle"
        reason = f"{what}; {n_neg} negative eigenvalue(s), {spec}: saddle of {idx_txt}"
        if lower_bound:
            reason += f" (all {k} computed eigenvalues are negative; raise k for the exact index)"
    return Classification(
        kind=kind, index=n_neg, n_zero_modes=nz, zero_mode_curvatures=zmc,
        lowest_eigenvalues=np.asarray(lowest, dtype=float), rms_gradient=rms, reason=reason,
        energy=float(e), n_flat=n_flat, zero_tol=float(zero_tol), method=method,
        index_is_lower_bound=lower_bound, lowest_eigenvectors=vecs, counts=L.counts - c0,
    )
