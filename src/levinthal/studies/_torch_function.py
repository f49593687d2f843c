"""A landscape from a scalar torch function of a flat parameter vector (NumPy in, NumPy out).

The case studies of issue 7 build small losses (tied autoencoders, two-head attention, two-task
networks, homotopies between losses) as plain torch functions ``f(x) -> scalar`` of a float64
vector; this wrapper gives them the landscape protocol with exact autodiff gradients, HVPs
(double backward, Pearlmutter 1994) and dense Hessians, so every levinthal tool applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from levinthal.landscape.errors import ShapeError

__all__ = ["TorchFunction"]


class TorchFunction:
    """``E(x) = fn(x)`` for a torch function ``fn`` of a float64 tensor of shape ``(dim,)``.

    Points and vectors are NumPy float64 arrays of shape ``(dim,)``; ``hessian`` returns a dense
    ``(dim, dim)`` array (use only for small ``dim``). ``fn`` must be smooth and deterministic.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], dim: int, name: str,
                 scale: float = 0.1):
        self.fn, self.dim, self.name = fn, int(dim), str(name)
        self.scale = float(scale)
        self.symmetry = None
        self.minimizer_defaults = {"lbfgs": {"memory": 20, "max_step": 0.5, "rms_tol": 1e-9,
                                             "max_iterations": 20000}}

    def _t(self, x: Any) -> torch.Tensor:
        a = np.asarray(x, dtype=np.float64)
        if a.shape != (self.dim,):
            raise ShapeError(f"{self.name}: expected a point of shape ({self.dim},), got {a.shape}")
        return torch.as_tensor(a.copy(), dtype=torch.float64)

    def energy(self, x: Any) -> float:
        with torch.no_grad():
            return float(self.fn(self._t(x)))

    def energy_gradient(self, x: Any) -> tuple[float, np.ndarray]:
        t = self._t(x).requires_grad_(True)
        e = self.fn(t)
        (g,) = torch.autograd.grad(e, t)
        return float(e.detach()), g.numpy()

    def hvp(self, x: Any, v: Any) -> np.ndarray:
        t = self._t(x).requires_grad_(True)
        (g,) = torch.autograd.grad(self.fn(t), t, create_graph=True)
        (hv,) = torch.autograd.grad(g, t, grad_outputs=self._t(v))
        return hv.detach().numpy()

    def hessian(self, x: Any) -> np.ndarray:
        H = torch.autograd.functional.hessian(self.fn, self._t(x), vectorize=True).detach().numpy()
        return 0.5 * (H + H.T)

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        return self.scale * rng.standard_normal(self.dim)

    def native_point(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def __repr__(self) -> str:
        return f"TorchFunction({self.name!r}, dim={self.dim})"
