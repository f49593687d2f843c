"""Tangents and projected forces of a nudged elastic band.

All functions work on a whole band at once: ``X`` has shape ``(n, dim)`` (endpoints included,
rows 0 and n−1), ``E`` shape ``(n,)`` and ``G`` (gradients ∇E) shape ``(n, dim)``. Only the
interior rows 1..n−2 of the returned arrays are meaningful; endpoint rows are zero.

* Improved tangent (Henkelman & Jónsson 2000, J. Chem. Phys. 113, 9978): the tangent of image
  i points to its higher-energy neighbour; at an extremum of the energy along the band it is a
  mixture of both neighbour vectors weighted by the energy differences, so the tangent turns
  smoothly and no kinks form where the force along the path is large compared with the
  perpendicular force.
* Climbing image (Henkelman, Uberuaga & Jónsson 2000, J. Chem. Phys. 113, 9901): the highest
  image feels no spring and the component of the true force along the tangent inverted,
  F = −∇E + 2 (∇E·τ) τ, so it climbs to the saddle along the band and relaxes across it.
* Doubly nudged elastic band (Trygubenko & Wales 2004, J. Chem. Phys. 120, 2082): the part of
  the spring force perpendicular to τ is kept after projecting out its component along the
  perpendicular true force, which stabilises quasi-Newton optimisation of the band.
"""

from __future__ import annotations

import numpy as np

__all__ = ["band_forces", "improved_tangents"]


def improved_tangents(X: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Unit tangents τ_i of Henkelman & Jónsson (2000) at the interior images; shape ``(n, dim)``.

    With τ⁺ = X_{i+1} − X_i and τ⁻ = X_i − X_{i−1}: τ = τ⁺ if E_{i+1} > E_i > E_{i−1};
    τ = τ⁻ if E_{i+1} < E_i < E_{i−1}; otherwise (an extremum along the band)
    τ = τ⁺ ΔE_max + τ⁻ ΔE_min when E_{i+1} > E_{i−1}, else τ⁺ ΔE_min + τ⁻ ΔE_max, with
    ΔE_max/min the larger/smaller of |E_{i±1} − E_i|. Rows 0 and n−1 are zero.
    """
    n = X.shape[0]
    tau = np.zeros_like(X)
    tp = X[2:] - X[1:-1]
    tm = X[1:-1] - X[:-2]
    e_prev, e_i, e_next = E[:-2], E[1:-1], E[2:]
    up = (e_next > e_i) & (e_i > e_prev)
    down = (e_next < e_i) & (e_i < e_prev)
    d_next = np.abs(e_next - e_i)
    d_prev = np.abs(e_prev - e_i)
    d_max = np.maximum(d_next, d_prev)[:, None]
    d_min = np.minimum(d_next, d_prev)[:, None]
    mixed = np.where((e_next > e_prev)[:, None], tp * d_max + tm * d_min, tp * d_min + tm * d_max)
    # Both neighbour energies equal to E_i (a flat stretch): fall back to the bisector.
    flat = (d_max[:, 0] == 0.0)[:, None]
    mixed = np.where(flat, tp / _safe_norm(tp) + tm / _safe_norm(tm), mixed)
    t = np.where(up[:, None], tp, np.where(down[:, None], tm, mixed))
    tau[1 : n - 1] = t / _safe_norm(t)
    return tau


def _safe_norm(V: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return np.where(norms > 0.0, norms, 1.0)


def band_forces(
    X: np.ndarray,
    E: np.ndarray,
    G: np.ndarray,
    spring: float,
    *,
    climbing: int | None = None,
    doubly_nudged: bool = False,
    tangents: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """NEB forces on every image of the band; returns ``(F, tau)``, both shape ``(n, dim)``.

    Interior image i: F_i = −∇E_i^⊥ + k (‖X_{i+1} − X_i‖ − ‖X_i − X_{i−1}‖) τ_i (the
    spring force of the improved-tangent paper, which keeps images equally spaced in
    Euclidean distance), with ∇E^⊥ = ∇E − (∇E·τ) τ. ``climbing`` (an interior row index or
    ``None``): that image gets F = −∇E + 2 (∇E·τ) τ instead. ``doubly_nudged``: add
    F_s^⊥ − (F_s^⊥·ĝ) ĝ, where F_s = k (X_{i+1} − 2 X_i + X_{i−1}), F_s^⊥ its part
    perpendicular to τ and ĝ the unit perpendicular true force (Trygubenko & Wales 2004).
    ``spring`` k is in energy / length² of the landscape. Endpoint rows of F are zero.
    """
    tau = improved_tangents(X, E) if tangents is None else tangents
    n = X.shape[0]
    F = np.zeros_like(X)
    g = G[1:-1]
    t = tau[1:-1]
    g_par = np.einsum("ij,ij->i", g, t)[:, None]
    f_perp = -(g - g_par * t)
    d_next = np.linalg.norm(X[2:] - X[1:-1], axis=1)
    d_prev = np.linalg.norm(X[1:-1] - X[:-2], axis=1)
    f_spring = spring * (d_next - d_prev)[:, None] * t
    F[1 : n - 1] = f_perp + f_spring
    if doubly_nudged:
        fs = spring * (X[2:] - 2.0 * X[1:-1] + X[:-2])
        fs_perp = fs - np.einsum("ij,ij->i", fs, t)[:, None] * t
        norm = np.linalg.norm(f_perp, axis=1, keepdims=True)
        ghat = np.where(norm > 0.0, f_perp / np.where(norm > 0.0, norm, 1.0), 0.0)
        F[1 : n - 1] += fs_perp - np.einsum("ij,ij->i", fs_perp, ghat)[:, None] * ghat
    if climbing is not None:
        if not 0 < climbing < n - 1:
            raise ValueError(f"band_forces: climbing image {climbing} is not an interior image of {n}")
        gc = G[climbing]
        tc = tau[climbing]
        F[climbing] = -gc + 2.0 * float(gc @ tc) * tc
    return F, tau
