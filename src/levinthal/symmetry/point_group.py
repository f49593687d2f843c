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

The candidate search costs O(n_p · n_q · N²) with n_p, n_q the sizes of the chosen shells: a
few milliseconds for 38 atoms.
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


def _maps_onto_itself(P: np.ndarray, Q: np.ndarray, species: np.ndarray, tol: float) -> bool:
    """Whether the rotated points Q coincide with P atom for atom (a permutation within species)."""
    d = np.linalg.norm(Q[:, None, :] - P[None, :, :], axis=2)
    d[species[:, None] != species[None, :]] = np.inf
    nearest = np.argmin(d, axis=1)
    if np.any(d[np.arange(len(Q)), nearest] > tol):
        return False
    return len(np.unique(nearest)) == len(Q)


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
    candidates = sorted(np.flatnonzero(off_centre), key=lambda i: (sizes[shells[i]], i))
    p = candidates[0]
    q = next((i for i in candidates
              if np.linalg.norm(np.cross(P[p], P[i])) > tol * max(r[p], r[i], 1.0)), None)
    if q is None:
        return None
    F = _frame(P[p], P[q])
    d_pq = np.linalg.norm(P[p] - P[q])
    ops: list[np.ndarray] = []
    for pp in np.flatnonzero(shells == shells[p]):
        for qq in np.flatnonzero(shells == shells[q]):
            if qq == pp or abs(np.linalg.norm(P[pp] - P[qq]) - d_pq) > 2 * tol:
                continue
            for sign in (1.0, -1.0):
                G = _frame(P[pp], P[qq], sign)
                if G is None:
                    continue
                R = G @ F.T
                if any(np.allclose(R, S, atol=1e-6) for S in ops):
                    continue
                if _maps_onto_itself(P, P @ R.T, species, tol):
                    ops.append(R)
    return ops


def point_group_order(x: Any, *, species: Any = None, tol: float = 1e-3) -> int | None:
    """Order of the point group of cluster ``x`` (shape ``(3N,)``): 1 for no symmetry, 120 for
    the Lennard-Jones 13 icosahedron (I_h), 48 for an octahedron (O_h), 20 for the LJ7
    pentagonal bipyramid (D_5h); ``None`` for a linear structure. See
    :func:`point_group_operations` for the method and ``tol``."""
    ops = point_group_operations(x, species=species, tol=tol)
    return None if ops is None else len(ops)
