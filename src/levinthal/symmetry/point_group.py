"""Point-group order of an atomic cluster: how many rotations and improper rotations map it onto itself.

The order ``o`` of a structure's point group enters harmonic transition-state theory and the
harmonic superposition approximation through the number of distinct permutation-inversion
isomers of a minimum, ``2 N! / o`` (Wales 2003, *Energy Landscapes*, ch. 2; Pollak & Pechukas
1978 for symmetry numbers in rate theory): a highly symmetric minimum has fewer distinct copies
and a proportionally smaller weight.

Method
------
Every symmetry operation R (an orthogonal 3×3 matrix about the centre of mass, proper or
improper) maps each atom onto an atom of the same element at the same distance from the
centre, and preserves all interatomic distances. Pick a reference pair of atoms (p, q),
non-collinear with the centre, from the least populated radial shells. Any operation sends p to
an atom p' with |p'| = |p| and q to an atom q' with |q'| = |q| and |p' − q'| = |p − q|; for each
such candidate pair the frames (p, q, p × q) and (p', q', ±p' × q') fix R completely (+: proper,
−: improper). R is kept if it maps the whole structure onto itself within ``tol`` (each image
atom within ``tol`` of a distinct atom of the same species). The count of distinct R is the
order. Linear structures (all atoms on one axis through the centre) have an infinite group and
give ``None``; a single atom too.

The candidate search costs O(n_p · n_q · N²) with n_p, n_q the sizes of the chosen shells,
vectorised over all candidates: about a millisecond for 38 atoms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["point_group_operations", "point_group_order"]


def _shells(r: np.ndarray, tol: float) -> np.ndarray:
    """Label atoms by radial shell: atoms whose distances from the centre agree within ``tol``."""
    order = np.argsort(r)
    labels = np.empty(len(r), dtype=int)
    label, last = -1, -np.inf
    for i in order:
        if r[i] - last > tol:
            label += 1
        labels[i] = label
        last = r[i]
    return labels


def _frame(a: np.ndarray, b: np.ndarray, sign: float = 1.0) -> np.ndarray | None:
    """Orthonormal frame (columns) from two non-collinear vectors; third axis times ``sign``."""
    e1 = a / np.linalg.norm(a)
    b_perp = b - (b @ e1) * e1
    n = np.linalg.norm(b_perp)
    if n < 1e-8:
        return None
    e2 = b_perp / n
    return np.column_stack([e1, e2, sign * np.cross(e1, e2)])


def point_group_operations(x: Any, *, species: Any = None, tol: float = 1e-3) -> list[np.ndarray] | None:
    """The symmetry operations of the cluster ``x`` (shape ``(3N,)``, Cartesian), as 3×3
    orthogonal matrices about its centre of mass (identity included); ``None`` for a linear
    structure or a single atom (infinite group).

    ``species``: optional length-N labels; operations may only exchange atoms of one species.
    ``tol``: distance tolerance in the structure's length units (default 1e-3; a minimum
    converged to an RMS gradient of 1e-5 is symmetric to ~1e-6).
    """
    P = np.asarray(x, dtype=float).reshape(-1, 3)
    n = len(P)
    species = np.zeros(n, dtype=int) if species is None else np.unique(np.asarray(species),
                                                                        return_inverse=True)[1]
    P = P - P.mean(axis=0)
    r = np.linalg.norm(P, axis=1)
    if n < 2 or np.linalg.matrix_rank(P, tol=tol) < 2:
        return None
    shells = _shells(r, tol) * (species.max() + 1) + species  # shells split by species
    sizes = np.bincount(shells)
    off_centre = r > tol
    # Reference atoms: p from the smallest shell off the centre; q the smallest shell's atom
    # not collinear with p (ties broken by index, so the choice is deterministic).
    candidates = np.array(sorted(np.flatnonzero(off_centre), key=lambda i: (sizes[shells[i]], i)))
    p = candidates[0]
    across = np.linalg.norm(np.cross(P[p], P[candidates]), axis=1)
    apart = np.flatnonzero(across > tol * np.maximum(np.maximum(r[p], r[candidates]), 1.0))
    if apart.size == 0:
        return None
    q = candidates[apart[0]]
    F = _frame(P[p], P[q])
    d_pq = np.linalg.norm(P[p] - P[q])
    # every candidate image pair (p', q') at once: same shells, same separation
    pp, qq = np.meshgrid(np.flatnonzero(shells == shells[p]), np.flatnonzero(shells == shells[q]),
                         indexing="ij")
    pp, qq = pp.ravel(), qq.ravel()
    keep = (pp != qq) & (np.abs(np.linalg.norm(P[pp] - P[qq], axis=1) - d_pq) <= 2 * tol)
    pp, qq = pp[keep], qq[keep]
    if pp.size == 0:
        return []
    e1 = P[pp] / np.linalg.norm(P[pp], axis=1, keepdims=True)
    b = P[qq] - np.einsum("ij,ij->i", P[qq], e1)[:, None] * e1
    nb = np.linalg.norm(b, axis=1)
    ok = nb > 1e-8
    e1, e2 = e1[ok], b[ok] / nb[ok, None]
    e3 = np.stack([e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1], e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
                   e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]], axis=1)  # e1 × e2
    G = np.concatenate([np.stack([e1, e2, e3], axis=2), np.stack([e1, e2, -e3], axis=2)])  # frames
    R = G @ F.T  # (M, 3, 3) candidate operations, proper then improper
    proper = np.arange(len(R)) < len(R) // 2  # frames were stacked proper first, improper second
    # Cheap screen: a few atoms must already land on atoms of their species within tol.
    probe = np.argsort(-r, kind="stable")[: min(n, 6)]
    other_species = species[probe][:, None] != species[None, :]
    survive = np.zeros(len(R), dtype=bool)
    step = max(1, 4_000_000 // (len(probe) * n))
    for start in range(0, len(R), step):
        img = np.einsum("mij,nj->mni", R[start:start + step], P[probe])  # (M, k, 3)
        d2 = ((img[:, :, None, :] - P[None, None, :, :]) ** 2).sum(axis=3)  # (M, k, N)
        d2[:, other_species] = np.inf
        survive[start:start + step] = (d2.min(axis=2) <= tol * tol).all(axis=1)
    R, proper = R[survive], proper[survive]
    ops: list[np.ndarray] = []
    # Two operations are the same when they permute the atoms alike and agree in handedness
    # (only the identity and, for a planar structure, the reflection in its plane fix every
    # atom); with a loose ``tol`` this merges the slightly different matrices that map onto
    # the same permutation.
    seen: set[tuple[bytes, bool]] = set()
    chunk = max(1, 4_000_000 // (n * n))  # bound the (chunk, N, N) distance array to ~32 MB
    for start in range(0, len(R), chunk):
        Rc = R[start:start + chunk]
        images = np.einsum("mij,nj->mni", Rc, P)  # (M, N, 3)
        d2 = ((images[:, :, None, :] - P[None, None, :, :]) ** 2).sum(axis=3)  # (M, N, N)
        d2[:, species[:, None] != species[None, :]] = np.inf
        nearest = np.argmin(d2, axis=2)
        close = (np.take_along_axis(d2, nearest[:, :, None], axis=2)[:, :, 0] <= tol * tol).all(axis=1)
        close &= (np.sort(nearest, axis=1) == np.arange(n)).all(axis=1)  # a permutation of the atoms
        for m in np.flatnonzero(close):
            key = (nearest[m].tobytes(), bool(proper[start + m]))
            if key not in seen:
                seen.add(key)
                ops.append(Rc[m])
    return ops


def point_group_order(x: Any, *, species: Any = None, tol: float = 1e-3) -> int | None:
    """Order of the point group of cluster ``x`` (shape ``(3N,)``): 1 for no symmetry, 120 for
    the Lennard-Jones 13 icosahedron (I_h), 48 for an octahedron (O_h), 20 for the LJ7
    pentagonal bipyramid (D_5h); ``None`` for a linear structure. See
    :func:`point_group_operations` for the method and ``tol``."""
    ops = point_group_operations(x, species=species, tol=tol)
    return None if ops is None else len(ops)
