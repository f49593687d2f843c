"""The generalised Gauss–Newton matrix of a network loss, as an operator.

For a loss E(x) = ℓ(f(x)) of the network outputs f(x) (all samples of a chunk stacked), the
Hessian splits into

    ∇²E = Jᵀ (∇²ℓ) J + Σ (∂ℓ/∂f) ∇²f,        J = ∂f/∂x  (outputs × parameters),

and the generalised Gauss–Newton matrix (GGN) keeps the first term, G = Jᵀ H_L J
(Schraudolph 2002, "Fast curvature matrix-vector products for second-order gradient
descent", Neural Computation 14, 1723; Martens 2010, "Deep learning via Hessian-free
optimization", ICML). For a loss convex in the outputs (cross-entropy, MSE) H_L is positive
semi-definite, so G is too; G equals the Hessian wherever the residual term vanishes (MSE at
zero residual). Papyan (2019, 2020) explains the C outliers of a C-class cross-entropy
Hessian by this term.

A product G v costs one forward-mode pass (u = J v, :func:`torch.func.jvp`), the loss
Hessian on the outputs, and one reverse pass (Jᵀ w, a ``vjp`` whose graph is built once at
x). The loss Hessian is explicit for the named losses of
:class:`~levinthal.systems.networks.landscape.NetworkLandscape`:

* ``"cross_entropy"`` (mean over N samples): per sample (diag(p) − p pᵀ) / N, p = softmax(f);
* ``"mse"`` (mean over all N·K output entries): 2 I / (N K);

and an exact autodiff product (forward-over-reverse on the outputs) for a custom loss.
:class:`GGNOperator` has the interface of
:class:`~levinthal.curvature.operators.HessianOperator` (``matvec``, ``n_matvec``, ``dim``,
``like``, zero-mode projection P G P), so :func:`~levinthal.curvature.lanczos_eigs`,
:func:`~levinthal.curvature.hutchpp` and :func:`~levinthal.curvature.spectral_density`
accept it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, jvp, vjp

from levinthal.curvature.operators import _check_zero_modes, _Operator
from levinthal.landscape.arrays import Array, as_like, is_torch_array, to_numpy
from levinthal.landscape.checks import Checked
from levinthal.landscape.counting import Counted
from levinthal.landscape.errors import NonFiniteError, NotSupportedError

__all__ = ["GGNOperator", "loss_hessian_product"]


def _network(landscape: Any) -> Any:
    """The :class:`NetworkLandscape` below counting/checking wrappers, or a clear error."""
    from levinthal.systems.networks.landscape import NetworkLandscape

    layer = landscape
    while type(layer) in (Counted, Checked):
        layer = layer.inner
    if not isinstance(layer, NetworkLandscape):
        name = getattr(landscape, "name", type(landscape).__name__)
        raise NotSupportedError(
            f"{name}: the Gauss–Newton matrix needs a network loss (a NetworkLandscape, possibly under "
            f"counting/checking wrappers), got {type(layer).__name__}; a transform such as L2Regularized "
            "adds its own curvature (λI) that the GGN operator would miss — use HessianOperator there"
        )
    return layer


def loss_hessian_product(loss_fn: Callable, out: torch.Tensor, targets: torch.Tensor,
                         u: torch.Tensor) -> torch.Tensor:
    """H_L u: the Hessian of ``loss_fn(out, targets)`` with respect to the outputs ``out``
    (shape ``(N, K)`` or any output shape) applied to ``u`` (same shape as ``out``).

    Closed forms for ``F.cross_entropy`` (class labels, mean reduction) and ``F.mse_loss``
    (mean reduction); any other loss by forward-over-reverse autodiff on the outputs.
    """
    if loss_fn is F.cross_entropy and out.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point():
        p = torch.softmax(out, dim=-1)
        return (p * u - p * (p * u).sum(-1, keepdim=True)) / out.shape[0]
    if loss_fn is F.mse_loss:
        return (2.0 / out.numel()) * u
    _, hu = jvp(grad(lambda o: loss_fn(o, targets)), (out,), (u,))
    return hu


class GGNOperator(_Operator):
    """G = Jᵀ H_L J of a network loss at ``x``, applied with one jvp and one vjp per ``matvec``.

    Parameters
    ----------
    landscape : NetworkLandscape
        The network loss (counting/checking wrappers are looked through; other wrappers are
        refused with :class:`NotSupportedError`, since they change the curvature).
    x : torch.Tensor, shape ``(dim,)``
        The parameter vector.
    zero_modes : array, shape ``(k, dim)``, optional
        Orthonormal rows Z to project out (P G P with P = I − ZᵀZ), as for
        :class:`~levinthal.curvature.operators.HessianOperator`.

    With chunked data the GGN is the chunk-weighted sum of the chunks' GGNs (the energy is
    the weighted sum of chunk losses), so it is the same matrix as without chunks.
    ``n_matvec`` counts products. The reverse-mode graph of every chunk is kept for the life
    of the operator (memory: one set of activations).
    """

    def __init__(self, landscape: Any, x: Array, zero_modes: Array | None = None):
        net = _network(landscape)
        self.network = net
        self.name = f"GGN({net.name})"
        self.dim = int(net.dim)
        x = net.native_point(x)
        if tuple(x.shape) != (self.dim,):
            raise ValueError(f"{self.name}: x has shape {tuple(x.shape)}, expected ({self.dim},)")
        self.x = x
        self.like = x
        self.n_matvec = 0
        if zero_modes is not None and int(zero_modes.shape[0]) == 0:
            zero_modes = None
        if zero_modes is not None:
            _check_zero_modes(self.name, self.dim, zero_modes)
            if not is_torch_array(zero_modes):
                zero_modes = as_like(to_numpy(zero_modes), x)
            else:
                zero_modes = zero_modes.to(dtype=x.dtype, device=x.device)
        self.zero_modes = zero_modes
        from levinthal.systems.networks.landscape import _quiet_jvp_setup

        _quiet_jvp_setup()
        self._parts = []
        for a, b, w in net._chunks:
            f = self._outputs(a)
            out, pullback = vjp(f, x)
            self._parts.append((f, out.detach(), pullback, b, w))

    def _outputs(self, inputs: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        net = self.network
        return lambda p: functional_call(net.model, net.unflatten(p), (inputs,))

    def _apply(self, v: Array) -> Array:
        v = self.network.native_point(v)
        total = None
        for f, out, pullback, targets, w in self._parts:
            _, u = jvp(f, (self.x,), (v,))
            hu = loss_hessian_product(self.network.loss_fn, out, targets, u)
            (gv,) = pullback(hu)
            total = w * gv if total is None else total + w * gv
        if not bool(total.isfinite().all()):
            raise NonFiniteError(f"{self.name}: a Gauss–Newton product is not finite at this x")
        return total

    def __repr__(self) -> str:
        return f"GGNOperator({self.network.name}, dim={self.dim}, zero_modes={self.n_zero_modes})"
