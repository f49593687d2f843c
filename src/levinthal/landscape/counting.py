"""Evaluation counting: force calls and Hessian-vector products are the currency of every
comparison with peer codes, so every tool reports them.

``Counted(landscape)`` forwards the protocol and counts each call. A batched call over
``n`` points counts ``n`` evaluations (the peer codes evaluate them one by one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from levinthal.landscape.protocol import Array


@dataclass
class EvaluationCounts:
    """How much work a landscape did. ``gradient`` counts energy+gradient ("force") calls."""

    energy: int = 0
    gradient: int = 0
    hvp: int = 0
    hessian: int = 0

    def __add__(self, other: EvaluationCounts) -> EvaluationCounts:
        return EvaluationCounts(
            self.energy + other.energy,
            self.gradient + other.gradient,
            self.hvp + other.hvp,
            self.hessian + other.hessian,
        )

    def __sub__(self, other: EvaluationCounts) -> EvaluationCounts:
        return EvaluationCounts(
            self.energy - other.energy,
            self.gradient - other.gradient,
            self.hvp - other.hvp,
            self.hessian - other.hessian,
        )

    def copy(self) -> EvaluationCounts:
        return EvaluationCounts(**asdict(self))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Wrapper:
    """Base of landscape wrappers: forwards attributes to ``inner``; optional protocol
    members exist on the wrapper only when the inner landscape has them."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = inner.name
        self.dim = int(inner.dim)

    def __getattr__(self, item: str) -> Any:
        # Only called when normal lookup fails: forward everything else (n_atoms, model, ...).
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


class Counted(Wrapper):
    """Count every evaluation made through this wrapper in ``self.counts``."""

    def __init__(self, inner: Any):
        super().__init__(inner)
        self.counts = EvaluationCounts()
        if getattr(inner, "hessian", None) is not None:
            self.hessian = self._hessian
        if getattr(inner, "energies", None) is not None:
            self.energies = self._energies
        if getattr(inner, "energy_gradients", None) is not None:
            self.energy_gradients = self._energy_gradients

    def energy(self, x: Array) -> float:
        self.counts.energy += 1
        return self.inner.energy(x)

    def energy_gradient(self, x: Array) -> tuple[float, Array]:
        self.counts.gradient += 1
        return self.inner.energy_gradient(x)

    def hvp(self, x: Array, v: Array) -> Array:
        self.counts.hvp += 1
        return self.inner.hvp(x, v)

    def _hessian(self, x: Array) -> Array:
        self.counts.hessian += 1
        return self.inner.hessian(x)

    def _energies(self, X: Array) -> Array:
        self.counts.energy += int(X.shape[0])
        return self.inner.energies(X)

    def _energy_gradients(self, X: Array) -> tuple[Array, Array]:
        self.counts.gradient += int(X.shape[0])
        return self.inner.energy_gradients(X)


def counted(landscape: Any) -> Counted:
    """Return ``landscape`` wrapped for counting (re-using an existing ``Counted`` wrapper)."""
    return landscape if isinstance(landscape, Counted) else Counted(landscape)
