"""Curvature as an operator: the Hessian of a landscape at a point, applied through HVPs.

A Hessian is never formed here: :class:`HessianOperator` applies H = ∇²E(x) to a vector with
one Hessian-vector product (``landscape.hvp``, or the landscape's optional
``hvp_operator(x)`` built once at x when it has one) and counts every application in ``n_matvec``.
Exact zero modes (translations and rotations of a cluster, rescalings of a network) can be
projected out: with Z the ``(k, dim)`` matrix whose rows are orthonormal zero modes,

    P = I − Zᵀ Z,        H_P v = P H P v,

so the projected operator acts on the orthogonal complement of the zero modes and maps the
zero modes themselves to 0 (they are then eigenvectors with eigenvalue exactly 0 and can be
told apart from the physical spectrum by construction, see :mod:`levinthal.curvature.classify`).

Vectors stay in the landscape's native array type (NumPy on the host, ``torch.Tensor`` on the
model's device). :func:`as_operator` gives the same ``matvec`` interface to a dense matrix or
a SciPy ``LinearOperator``, so every curvature tool also runs on plain matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape import as_like, checked, symmetry_of, to_numpy
from levinthal.landscape.arrays import Array, is_torch_array
from levinthal.landscape.checks import check_vector, hvp_operator_of

__all__ = ["HessianOperator", "MatrixOperator", "as_operator", "zero_modes_of"]

ORTHONORMALITY_TOL = 1e-8


def zero_modes_of(landscape: Any, x: Array) -> Array | None:
    """The orthonormal zero modes the landscape's symmetry declares at ``x``, or ``None``.

    Uses :func:`levinthal.landscape.symmetry_of` (following wrappers); returns a ``(k, dim)``
    array in ``x``'s array type and device, or ``None`` when the landscape declares no
    symmetry or the symmetry has no zero modes at ``x``.
    """
    sym = symmetry_of(landscape)
    if sym is None:
        return None
    Z = sym.zero_modes(x)
    if Z is None or int(Z.shape[0]) == 0:
        return None
    if is_torch_array(x) != is_torch_array(Z):
        Z = as_like(to_numpy(Z), x)
    elif is_torch_array(x):
        Z = Z.to(dtype=x.dtype, device=x.device)
    return Z


def _check_zero_modes(name: str, dim: int, Z: Array) -> None:
    if len(Z.shape) != 2 or int(Z.shape[1]) != dim:
        raise ValueError(f"{name}: zero modes have shape {tuple(Z.shape)}, expected (k, {dim})")
    Zn = to_numpy(Z)
    err = float(np.abs(Zn @ Zn.T - np.eye(Zn.shape[0])).max()) if Zn.shape[0] else 0.0
    if err > ORTHONORMALITY_TOL:
        raise ValueError(
            f"{name}: zero-mode rows are not orthonormal (max |Z Zᵀ − I| = {err:.2e}); "
            "orthonormalise them (e.g. levinthal.symmetry.zero_modes.orthonormal_rows) first"
        )


def _fast_hvp(landscape: Any, x: Array) -> Any:
    """See :func:`levinthal.landscape.checks.hvp_operator_of`."""
    return hvp_operator_of(landscape, x)


class _Operator:
    """Shared plumbing: symmetric operator of size ``dim`` acting on vectors like ``self.like``."""

    name = "operator"
    dim: int
    like: Array
    zero_modes: Array | None = None
    n_matvec: int = 0

    def _apply(self, v: Array) -> Array:
        raise NotImplementedError

    def project(self, v: Array) -> Array:
        """P v = v − Zᵀ(Z v): remove the zero-mode components of ``v`` (identity without modes)."""
        Z = self.zero_modes
        if Z is None:
            return v
        return v - (Z @ v) @ Z

    def matvec(self, v: Array) -> Array:
        """(P H P) v for a vector ``v`` of shape ``(dim,)``; counts one product in ``n_matvec``."""
        self.n_matvec += 1
        return self.project(self._apply(self.project(v)))

    def __matmul__(self, v: Array) -> Array:
        return self.matvec(v)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.dim, self.dim)

    @property
    def n_zero_modes(self) -> int:
        return 0 if self.zero_modes is None else int(self.zero_modes.shape[0])

    def random_vector(self, rng: np.random.Generator, kind: str = "normal") -> Array:
        """A random vector in the operator's array type: ``"normal"`` or ``"rademacher"`` (±1)."""
        if kind == "normal":
            r = rng.standard_normal(self.dim)
        elif kind == "rademacher":
            r = rng.choice(np.array([-1.0, 1.0]), size=self.dim)
        else:
            raise ValueError(f"random_vector: kind must be 'normal' or 'rademacher', got {kind!r}")
        return as_like(r, self.like)

    def as_linear_operator(self):
        """This operator as a ``scipy.sparse.linalg.LinearOperator`` (NumPy operators only)."""
        from scipy.sparse.linalg import LinearOperator

        if is_torch_array(self.like):
            raise TypeError(
                f"{self.name}: as_linear_operator is for NumPy landscapes; this one works on torch "
                "tensors — use matvec directly (e.g. with levinthal.curvature.lanczos_eigs)"
            )
        return LinearOperator(self.shape, matvec=lambda v: self.matvec(np.asarray(v).ravel()),
                              rmatvec=lambda v: self.matvec(np.asarray(v).ravel()),
                              dtype=np.float64)


class HessianOperator(_Operator):
    """H = ∇²E(x) of ``landscape`` at the point ``x``, applied with one HVP per ``matvec``.

    Parameters
    ----------
    landscape : Landscape
        Any landscape (it is wrapped with :func:`levinthal.landscape.checked`, so its HVP
        evaluations are checked and counted in ``self.landscape.counts.hvp``).
    x : array, shape ``(dim,)``
        The point, in the landscape's native array type.
    zero_modes : array, shape ``(k, dim)``, optional
        Orthonormal rows Z to project out (P H P with P = I − ZᵀZ). ``None``: no projection.
        Use :func:`zero_modes_of` to get the modes the landscape's symmetry declares.

    fast : bool
        Use the landscape's optional ``hvp_operator(x) -> (v ↦ H v)`` when it has one
        (default True): Lanczos, Hutch++ and SLQ apply many products at the same x, and a
        network landscape then builds its derivative graph once instead of once per product
        (:meth:`~levinthal.systems.networks.landscape.NetworkLandscape.hvp_operator`; same
        numbers to round-off). Only used when every layer above the landscape is a counting or
        checking wrapper: a transforming wrapper (e.g. ``L2Regularized``, which adds λv) does
        not define ``hvp_operator`` itself, and the product then goes through its ``hvp``.

    ``n_matvec`` counts the products applied through this operator; each one is also counted
    as one HVP in ``self.landscape.counts.hvp`` and its result checked for finiteness, on the
    fast path as on the plain one.
    """

    def __init__(self, landscape: Any, x: Array, zero_modes: Array | None = None, *, fast: bool = True):
        self.landscape = checked(landscape, caller="curvature")
        self.name = self.landscape.name
        self.dim = int(self.landscape.dim)
        self.x = x
        self.like = x
        self.n_matvec = 0
        self._fast = _fast_hvp(self.landscape, x) if fast else None
        if zero_modes is not None and int(zero_modes.shape[0]) == 0:
            zero_modes = None
        if zero_modes is not None:
            _check_zero_modes(self.name, self.dim, zero_modes)
            if is_torch_array(x) != is_torch_array(zero_modes):
                zero_modes = as_like(to_numpy(zero_modes), x)
        self.zero_modes = zero_modes

    def _apply(self, v: Array) -> Array:
        if self._fast is None:
            return self.landscape.hvp(self.x, v)
        self.landscape.counts.hvp += 1
        return check_vector(self.name, self._fast(v), self.x, "Hessian-vector product", "hvp_operator",
                            "curvature")

    @property
    def uses_hvp_operator(self) -> bool:
        """True when products go through the landscape's ``hvp_operator`` (built once at x)."""
        return self._fast is not None

    def __repr__(self) -> str:
        return f"HessianOperator({self.name}, dim={self.dim}, zero_modes={self.n_zero_modes})"


class MatrixOperator(_Operator):
    """A symmetric matrix (NumPy / torch 2-D array or SciPy ``LinearOperator``) as an operator.

    ``zero_modes`` as for :class:`HessianOperator`. Used by the tests and for user matrices.
    """

    def __init__(self, A: Any, zero_modes: Array | None = None, name: str = "matrix"):
        shape = tuple(A.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"{name}: a square matrix is required, got shape {shape}")
        self.A = A
        self.name = name
        self.dim = int(shape[0])
        if is_torch_array(A):
            import torch

            self.like = torch.zeros(self.dim, dtype=A.dtype, device=A.device)
        else:
            self.like = np.zeros(self.dim)
        self.n_matvec = 0
        if zero_modes is not None:
            _check_zero_modes(name, self.dim, zero_modes)
        self.zero_modes = zero_modes

    def _apply(self, v: Array) -> Array:
        if hasattr(self.A, "matvec") and not isinstance(self.A, np.ndarray):
            return np.asarray(self.A.matvec(v), dtype=np.float64).ravel()
        return self.A @ v

    def __repr__(self) -> str:
        return f"MatrixOperator({self.name}, dim={self.dim}, zero_modes={self.n_zero_modes})"


def as_operator(A: Any, x: Array | None = None, zero_modes: Array | None = None) -> _Operator:
    """Turn ``A`` into an operator with ``matvec``, ``dim``, ``like`` and ``n_matvec``.

    ``A`` may be an operator from this module (returned as is; ``zero_modes`` must then be
    ``None``), a landscape (then ``x`` is required: its Hessian at ``x``), or a square matrix /
    ``LinearOperator``.
    """
    if isinstance(A, _Operator):
        if zero_modes is not None:
            raise ValueError(f"{A.name}: pass zero_modes when building the operator, not again here")
        return A
    if hasattr(A, "hvp") and hasattr(A, "dim"):
        if x is None:
            raise ValueError(f"{getattr(A, 'name', 'landscape')}: a landscape needs the point x "
                             "at which its Hessian is taken")
        return HessianOperator(A, x, zero_modes)
    if hasattr(A, "shape"):
        return MatrixOperator(A, zero_modes)
    raise TypeError(f"as_operator: cannot use a {type(A).__name__} as a symmetric operator")
