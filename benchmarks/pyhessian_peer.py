"""PyHessian (Yao, Gholami, Keutzer & Mahoney 2020) as a counted benchmark peer on the digits MLP.

Shared by the benchmarks that compare against it. PyHessian 0.1 (PyPI) computes every product
in ``pyhessian.utils.hessian_vector_product`` (imported by name into ``pyhessian.hessian``) with
``torch.autograd.grad(..., only_inputs=True)``, an argument current torch removed; this module
replaces ``pyhessian.hessian.hessian_vector_product`` by the same ``torch.autograd.grad`` call
without it and counts the calls (one call = one HVP). PyHessian draws its random vectors with
``torch.randn`` in the default dtype, so the default dtype is float64 while it runs (the model
is float64). No PyHessian code is copied. Install: ``.bench-venv/bin/pip install pyhessian``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import torch

from levinthal.systems.networks.data import digits


class PyHessianPeer:
    """PyHessian's ``hessian`` object on the same model, data and loss as the landscape ``ls`` at
    the parameter vector ``x`` (checked: the two losses must agree to 1e-10)."""

    def __init__(self, ls: Any, x: torch.Tensor):
        import pyhessian  # noqa: F401  (registers the submodule)

        self.ph = sys.modules["pyhessian.hessian"]  # the module; ``pyhessian.hessian`` is the class
        self.calls = 0

        def counted_hvp(gradsH, params, v):
            self.calls += 1
            return torch.autograd.grad(gradsH, params, grad_outputs=v, retain_graph=True)

        self.ph.hessian_vector_product = counted_hvp  # the documented patch
        data = digits(seed=0, flatten=True, dtype=torch.float64)
        self.X = torch.as_tensor(data.train_inputs)
        self.y = torch.as_tensor(data.train_targets)
        self.model = ls.model
        torch.nn.utils.vector_to_parameters(x.detach().clone(), self.model.parameters())
        with torch.no_grad():
            loss = float(torch.nn.CrossEntropyLoss()(self.model(self.X), self.y))
        if abs(loss - ls.energy(x)) > 1e-10 * max(1.0, abs(loss)):
            raise RuntimeError(f"PyHessian's loss {loss} differs from the landscape's {ls.energy(x)}: "
                               "not the same model/data/loss")

    @contextlib.contextmanager
    def hessian(self, seed: int) -> Iterator[Any]:
        """A fresh PyHessian ``hessian`` object, seeded, float64 default dtype, HVP count at 0."""
        torch.manual_seed(seed)
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            self.model.zero_grad()
            h = self.ph.hessian(self.model, torch.nn.CrossEntropyLoss(), data=(self.X, self.y), cuda=False)
            self.calls = 0
            yield h
        finally:
            torch.set_default_dtype(old)
