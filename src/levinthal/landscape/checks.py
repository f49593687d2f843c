"""Input and output checks, applied once for every tool.

``Checked(landscape, caller="lbfgs")`` verifies that every point has the landscape's shape
and a floating dtype, and that every energy, gradient, HVP and Hessian it returns is finite.
A failure raises :class:`~levinthal.landscape.errors.ShapeError` or
:class:`~levinthal.landscape.errors.NonFiniteError` whose message names the landscape, the
offending value, the method that produced it and the tool that called it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.landscape.arrays import is_torch_array, to_numpy
from levinthal.landscape.counting import Counted, Wrapper
from levinthal.landscape.errors import NonFiniteError, ShapeError
from levinthal.landscape.protocol import Array


def _describe(x: Array, limit: int = 6) -> str:
    a = to_numpy(x).ravel()
    body = np.array2string(a[:limit], precision=6, separator=", ")
    return body if a.size <= limit else body[:-1] + f", ... ({a.size} values)]"


def _is_floating(x: Array) -> bool:
    if is_torch_array(x):
        return bool(x.is_floating_point())
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def check_point(name: str, dim: int, x: Array, what: str = "x", where: str = "") -> None:
    """Raise :class:`ShapeError` unless ``x`` is a finite floating vector of shape ``(dim,)``."""
    origin = f" (passed to {where})" if where else ""
    shape = tuple(x.shape) if hasattr(x, "shape") else None
    if shape is None:
        raise ShapeError(f"{name}: {what}{origin} is a {type(x).__name__}, not an array")
    if shape != (dim,):
        raise ShapeError(
            f"{name}: {what}{origin} has shape {shape}, expected ({dim},); "
            "flatten the configuration (e.g. positions.reshape(-1)) before passing it"
        )
    if not _is_floating(x):
        raise ShapeError(f"{name}: {what}{origin} has dtype {x.dtype}; a floating dtype is required")
    finite = bool(x.isfinite().all()) if is_torch_array(x) else bool(np.isfinite(x).all())
    if not finite:
        raise NonFiniteError(f"{name}: {what}{origin} contains NaN or infinity: {_describe(x)}")


def check_batch(name: str, dim: int, X: Array, where: str = "") -> None:
    """Raise :class:`ShapeError` unless ``X`` has shape ``(n, dim)`` and a floating dtype."""
    origin = f" (passed to {where})" if where else ""
    if len(X.shape) != 2 or X.shape[1] != dim:
        raise ShapeError(f"{name}: batch{origin} has shape {tuple(X.shape)}, expected (n, {dim})")
    if not _is_floating(X):
        raise ShapeError(f"{name}: batch{origin} has dtype {X.dtype}; a floating dtype is required")


def check_energy(name: str, e: Any, x: Array, method: str, where: str = "") -> float:
    """Return ``e`` as a float, or raise :class:`NonFiniteError` naming the point."""
    e = float(e)
    if not math.isfinite(e):
        by = f", called by {where}" if where else ""
        raise NonFiniteError(f"{name}: {method} returned energy {e} at x = {_describe(x)}{by}")
    return e


def check_vector(name: str, v: Array, x: Array, what: str, method: str, where: str = "") -> Array:
    """Return ``v`` unchanged, or raise if it is non-finite or not shaped like ``x``."""
    by = f", called by {where}" if where else ""
    if tuple(v.shape) != tuple(x.shape) and not (
        len(v.shape) == 2 and len(x.shape) == 1 and v.shape[0] == v.shape[1] == x.shape[0]
    ):
        raise ShapeError(f"{name}: {method} returned {what} of shape {tuple(v.shape)}{by}")
    finite = bool(v.isfinite().all()) if is_torch_array(v) else bool(np.isfinite(v).all())
    if not finite:
        raise NonFiniteError(
            f"{name}: {method} returned a non-finite {what} {_describe(v)} at x = {_describe(x)}{by}"
        )
    return v


class Checked(Wrapper):
    """Validate inputs and outputs of every protocol call; ``caller`` names the tool."""

    def __init__(self, inner: Any, caller: str = ""):
        super().__init__(inner)
        self.caller = caller
        if getattr(inner, "hessian", None) is not None:
            self.hessian = self._hessian
        if getattr(inner, "energies", None) is not None:
            self.energies = self._energies
        if getattr(inner, "energy_gradients", None) is not None:
            self.energy_gradients = self._energy_gradients

    def energy(self, x: Array) -> float:
        check_point(self.name, self.dim, x, where=self.caller)
        return check_energy(self.name, self.inner.energy(x), x, "energy", self.caller)

    def energy_gradient(self, x: Array) -> tuple[float, Array]:
        check_point(self.name, self.dim, x, where=self.caller)
        e, g = self.inner.energy_gradient(x)
        e = check_energy(self.name, e, x, "energy_gradient", self.caller)
        return e, check_vector(self.name, g, x, "gradient", "energy_gradient", self.caller)

    def hvp(self, x: Array, v: Array) -> Array:
        check_point(self.name, self.dim, x, where=self.caller)
        check_point(self.name, self.dim, v, what="v", where=self.caller)
        return check_vector(self.name, self.inner.hvp(x, v), x, "Hessian-vector product", "hvp",
                            self.caller)

    def _hessian(self, x: Array) -> Array:
        check_point(self.name, self.dim, x, where=self.caller)
        return check_vector(self.name, self.inner.hessian(x), x, "Hessian", "hessian", self.caller)

    def _energies(self, X: Array) -> Array:
        check_batch(self.name, self.dim, X, where=self.caller)
        E = self.inner.energies(X)
        bad = ~(E.isfinite() if is_torch_array(E) else np.isfinite(E))
        if bool(bad.any()):
            i = int(to_numpy(bad).nonzero()[0][0])
            check_energy(self.name, E[i], X[i], f"energies (row {i})", self.caller)
        return E

    def _energy_gradients(self, X: Array) -> tuple[Array, Array]:
        check_batch(self.name, self.dim, X, where=self.caller)
        E, G = self.inner.energy_gradients(X)
        for i in range(X.shape[0]) if not bool(_all_finite(E) and _all_finite(G)) else ():
            check_energy(self.name, E[i], X[i], f"energy_gradients (row {i})", self.caller)
            check_vector(self.name, G[i], X[i], "gradient", f"energy_gradients (row {i})",
                         self.caller)
        return E, G


def _all_finite(a: Array) -> bool:
    return bool(a.isfinite().all()) if is_torch_array(a) else bool(np.isfinite(a).all())


def checked(landscape: Any, caller: str = "") -> Counted:
    """Wrap ``landscape`` once for checking and counting: ``Counted(Checked(landscape))``.

    Tools call this on entry and read ``.counts`` at the end to report their work.
    """
    if isinstance(landscape, Counted):
        return landscape
    return Counted(Checked(landscape, caller))


def hvp_operator_of(landscape: Any, x: Array) -> Any:
    """The landscape's own ``hvp_operator(x)`` below counting/checking wrappers, or ``None``.

    ``hvp_operator(x) -> Callable[[v], Hv]`` is an optional protocol member: the same numbers
    as ``hvp(x, v)`` (to round-off), with the work that depends only on x (a forward pass, a
    derivative graph) done once — what Lanczos, trace and density estimates want, since they
    apply many products at one point. The method is looked up on the *class* of the first layer
    that is not a :class:`Counted` / :class:`Checked` wrapper, so a transforming wrapper that only
    forwards unknown attributes can never hand out its inner landscape's operator for a function
    it changes. Callers count and check the products themselves.
    """
    layer = landscape
    while type(layer) in (Counted, Checked):
        layer = layer.inner
    if getattr(type(layer), "hvp_operator", None) is None:
        return None
    check_point(landscape.name, int(landscape.dim), x, where="hvp_operator")
    return layer.hvp_operator(x)
