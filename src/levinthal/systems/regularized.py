"""Tikhonov (L2) regularisation of any landscape: E(x) + ½ λ ‖x‖².

An unregularised cross-entropy loss on separable data has no finite minimum (the loss keeps
falling as the weights grow), so "minimum" and "Hessian at the minimum" are ill-posed there.
Weight decay restores isolated minima; it also breaks the exact rescaling symmetry of ReLU
networks, which is why the wrapper drops the inner landscape's zero modes unless told they
survive (``keep_symmetry=True``, e.g. for translations of a cluster with a centred penalty).
"""

from __future__ import annotations

from typing import Any

from levinthal.landscape.counting import Wrapper


class L2Regularized(Wrapper):
    """``inner`` plus ½ λ ‖x‖² (λ = ``strength``, in the inner landscape's energy units)."""

    def __init__(self, inner: Any, strength: float, keep_symmetry: bool = False):
        super().__init__(inner)
        if not strength >= 0.0:
            raise ValueError(f"{inner.name}: L2 strength must be >= 0, got {strength}")
        self.strength = float(strength)
        self.name = f"{inner.name}+l2({strength:g})"
        self.symmetry = getattr(inner, "symmetry", None) if keep_symmetry else None
        if getattr(inner, "hessian", None) is not None:
            self.hessian = self._hessian
        if getattr(inner, "energies", None) is not None:
            self.energies = self._energies
        if getattr(inner, "energy_gradients", None) is not None:
            self.energy_gradients = self._energy_gradients
        # Data subsets keep the penalty (attribute forwarding would silently drop it).
        if getattr(inner, "minibatch", None) is not None:
            self.minibatch = lambda indices: self._same_penalty(inner.minibatch(indices))
        if getattr(inner, "on_batch", None) is not None:
            self.on_batch = lambda *a, **k: self._same_penalty(inner.on_batch(*a, **k))
        if getattr(inner, "batches", None) is not None:
            self.batches = lambda *a, **k: (self._same_penalty(b) for b in inner.batches(*a, **k))
        self._keep_symmetry = keep_symmetry

    def _same_penalty(self, landscape):
        return L2Regularized(landscape, self.strength, keep_symmetry=self._keep_symmetry)

    def energy(self, x):
        return self.inner.energy(x) + 0.5 * self.strength * float((x * x).sum())

    def energy_gradient(self, x):
        e, g = self.inner.energy_gradient(x)
        return e + 0.5 * self.strength * float((x * x).sum()), g + self.strength * x

    def hvp(self, x, v):
        return self.inner.hvp(x, v) + self.strength * v

    def hvp_operator(self, x):
        """``v ↦ H_inner v + λ v`` with the inner landscape's fixed-point operator when it has one."""
        from levinthal.landscape.checks import hvp_operator_of

        inner_op = hvp_operator_of(self.inner, x)
        if inner_op is None:
            return lambda v: self.hvp(x, v)
        return lambda v: inner_op(v) + self.strength * v

    def _hessian(self, x):
        H = self.inner.hessian(x)
        n = H.shape[0]
        H = H.clone() if hasattr(H, "clone") else H.copy()
        H[range(n), range(n)] += self.strength
        return H

    def _energies(self, X):
        return self.inner.energies(X) + 0.5 * self.strength * (X * X).sum(1)

    def _energy_gradients(self, X):
        E, G = self.inner.energy_gradients(X)
        return E + 0.5 * self.strength * (X * X).sum(1), G + self.strength * X
