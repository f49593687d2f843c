"""The landscape protocol: the one interface every tool in levinthal talks to.

A landscape is a scalar function E(x) on a flat vector x of length ``dim``.

Required
--------
``name``            short human-readable name used in every error message and report.
``dim``             length of x.
``energy(x)``       E(x) as a Python float.
``energy_gradient(x)``  ``(E, g)`` with g = ∇E(x), shape ``(dim,)``, in x's array type.
``hvp(x, v)``       Hessian-vector product ∇²E(x) v, shape ``(dim,)``; exact (analytic or
                    autodiff) wherever possible.

Optional (check with :func:`supports`)
--------------------------------------
``hessian(x)``              dense Hessian, shape ``(dim, dim)``; for small ``dim`` only.
``energies(X)``             batched energies of ``X`` of shape ``(n, dim)`` -> ``(n,)``.
``energy_gradients(X)``     batched ``(E (n,), G (n, dim))``.
``symmetry``                an object with ``zero_modes(x) -> (k, dim)`` orthonormal rows
                            spanning the exact zero modes at x (translations, rotations,
                            rescalings ...), or ``None``.
``random_point(rng)``       a random starting point drawn with ``numpy.random.Generator``.
``native_point(x)``         convert a NumPy vector to the landscape's native array type.
``hvp_operator(x)``         ``v ↦ ∇²E(x) v`` with the x-dependent work done once (see
                            :func:`levinthal.landscape.checks.hvp_operator_of`).
``minimizer_defaults``      ``{"lbfgs": {...}, ...}``: option defaults suited to this landscape.

Units are the system's own (reduced units for Lennard-Jones, loss units for networks);
nothing in the tools assumes eV or Å.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

Array = Any

OPTIONAL_METHODS = ("hessian", "energies", "energy_gradients", "random_point", "native_point",
                    "hvp_operator")


@runtime_checkable
class Landscape(Protocol):
    """Structural type of a landscape; any object with these members is one."""

    name: str
    dim: int

    def energy(self, x: Array) -> float: ...

    def energy_gradient(self, x: Array) -> tuple[float, Array]: ...

    def hvp(self, x: Array, v: Array) -> Array: ...


@runtime_checkable
class ZeroModes(Protocol):
    """Symmetry information a landscape may carry: an orthonormal basis of its exact zero modes."""

    def zero_modes(self, x: Array) -> Array:
        """Rows spanning the zero modes at ``x``, shape ``(k, dim)``, orthonormal."""
        ...


def supports(landscape: Any, method: str) -> bool:
    """True if ``landscape`` offers the optional member ``method`` (and it is not ``None``)."""
    # Wrappers forward attributes they do not define and define (or omit) the optional
    # members they transform, so a plain lookup answers for the whole stack.
    return getattr(landscape, method, None) is not None


def symmetry_of(landscape: Any) -> ZeroModes | None:
    """The landscape's symmetry object; ``None`` if it declares none.

    Wrappers forward ``symmetry`` unless they set it themselves: a transform that breaks a
    symmetry (weight decay breaks ReLU rescaling) sets ``symmetry = None`` and is believed.
    """
    return getattr(landscape, "symmetry", None)


def unwrap(landscape: Any) -> Any:
    """The innermost landscape below any counting or checking wrappers."""
    while getattr(landscape, "inner", None) is not None:
        landscape = landscape.inner
    return landscape


def native_point(landscape: Any, x: Array) -> Array:
    """Convert ``x`` (NumPy or native) to the landscape's native array type."""
    if supports(landscape, "native_point"):
        return landscape.native_point(x)
    return np.asarray(x, dtype=np.float64)
