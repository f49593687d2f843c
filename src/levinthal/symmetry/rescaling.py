"""Finite ReLU rescalings of an MLP's parameter vector (the group action, not its tangents).

For a positively homogeneous activation (ReLU, LeakyReLU: σ(αz) = α σ(z) for α > 0),
multiplying the incoming weights and bias of hidden layer ``l`` by α and the outgoing weights
(layer ``l+1``'s weight matrix) by 1/α leaves the network function, hence every loss on any
data, exactly unchanged (Dinh, Pascanu, Bengio & Bengio, "Sharp minima can generalize for deep
nets", ICML 2017). The map is linear and diagonal on the parameter vector, x ↦ D ⊙ x, so
Hessians transform as H ↦ D⁻¹ H D⁻¹ and Hessian-based sharpness (λmax, trace) can be made
arbitrarily large or small at an unchanged function — Dinh et al.'s point.

:mod:`levinthal.symmetry.networks` provides the *tangents* of this action at α = 1 (the
rescaling zero modes); this module applies finite α. Layout: see
:func:`levinthal.symmetry.networks.mlp_layout` (``Sequential(Linear, act, ..., Linear)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.symmetry.networks import MLPLayout, mlp_layout

__all__ = ["rescale_layer", "rescale_units", "rescaling_diagonal"]


def _check(layout: MLPLayout, layer: int, alphas: Any) -> np.ndarray:
    n_hidden = len(layout.hidden_sizes)
    if not 0 <= layer < n_hidden:
        raise ValueError(f"rescaling: layer must be a hidden layer index in [0, {n_hidden}), got {layer}")
    if not layout.homogeneous[layer]:
        raise ValueError(f"rescaling: hidden layer {layer} is not followed by ReLU/LeakyReLU, so rescaling "
                         "its units changes the network function (no such symmetry)")
    a = np.array(np.broadcast_to(np.asarray(alphas, dtype=np.float64), (layout.hidden_sizes[layer],)))
    if not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"rescaling: factors must be finite and > 0 (σ(αz) = ασ(z) needs α > 0), "
                         f"got {alphas}")
    return a


def rescaling_diagonal(template: Any, layer: int, alphas: Any, like: Any) -> Any:
    """The diagonal D (shape ``(dim,)``, in ``like``'s type/device) with T x = D ⊙ x.

    Parameters
    ----------
    template : nn.Module
        MLP giving the parameter layout.
    layer : int
        Hidden layer index ``l`` (0 = first hidden layer); its activation must be ReLU/LeakyReLU.
    alphas : float or array of shape ``(h_l,)``
        Positive factor per unit of layer ``l`` (a scalar rescales the whole layer).
    like : torch.Tensor, shape ``(dim,)``
        Array whose type, dtype and device the result takes.

    D is α_j on row j of W_l and on b_l[j], 1/α_j on column j of W_{l+1}, and 1 elsewhere.
    """
    import torch

    layout = mlp_layout(template)
    a = _check(layout, layer, alphas)
    d = torch.ones(layout.dim, dtype=like.dtype, device=like.device)
    at = torch.as_tensor(a, dtype=like.dtype, device=like.device)
    layout.weight(d, layer).mul_(at[:, None])
    b = layout.bias(d, layer)
    if b is not None:
        b.mul_(at)
    layout.weight(d, layer + 1).div_(at[None, :])
    return d


def rescale_units(theta: Any, layer: int, alphas: Any, template: Any) -> Any:
    """``theta`` with unit j of hidden layer ``layer`` rescaled by ``alphas[j]``; same function.

    ``theta``: parameter vector, shape ``(dim,)`` (a new tensor is returned). See
    :func:`rescaling_diagonal` for the arguments.
    """
    if int(theta.shape[0]) != mlp_layout(template).dim:
        raise ValueError(f"rescaling: theta has {int(theta.shape[0])} entries, the template "
                         f"{mlp_layout(template).dim}")
    return theta * rescaling_diagonal(template, layer, alphas, theta)


def rescale_layer(theta: Any, layer: int, alpha: float, template: Any) -> Any:
    """``theta`` with hidden layer ``layer`` scaled by α and the next weights by 1/α (Dinh et al. 2017).

    The layer-wise transform T_α of Dinh et al.: (W_l, b_l, W_{l+1}) ↦ (α W_l, α b_l, W_{l+1}/α),
    everything else unchanged. ``theta``: shape ``(dim,)``; ``alpha`` > 0.
    """
    return rescale_units(theta, layer, float(alpha), template)
