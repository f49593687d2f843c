"""Small reference architectures for network loss landscapes, and seeded initialisation.

The layouts are part of the contract with :mod:`levinthal.symmetry.networks`: an MLP is an
``nn.Sequential`` of alternating ``nn.Linear`` and activation modules, ending in an
``nn.Linear`` (no activation on the logits), so the hidden-unit rescaling and permutation
symmetries can be read off from the module list.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from levinthal.landscape.errors import LandscapeError, NotSupportedError

__all__ = ["ACTIVATIONS", "mlp", "reset_parameters", "small_cnn"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
"""Activation names accepted by :func:`mlp`."""


def mlp(sizes: Sequence[int], activation: str = "tanh", bias: bool = True) -> nn.Sequential:
    """A fully connected network ``Linear, act, Linear, act, ..., Linear``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_in, h_1, ..., h_k, n_out]`` (at least two entries); e.g.
        ``[64, 32, 10]`` maps 64 features to 10 logits through one hidden layer of 32 units.
    activation : {"tanh", "relu", "gelu"}
        Hidden activation (default ``"tanh"``: smooth, so the loss is C² and Hessians exist
        everywhere; ReLU networks have kinks and an exact rescaling symmetry).
    bias : bool
        Whether the linear layers have biases (default True).

    The parameters get PyTorch's default initialisation from the global generator; use
    :func:`reset_parameters` to initialise them from an explicit seed.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise LandscapeError(f"mlp: sizes must list at least two positive widths, got {sizes}")
    if activation not in ACTIVATIONS:
        raise LandscapeError(f"mlp: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def small_cnn(
    in_channels: int = 1,
    image_size: int = 8,
    n_classes: int = 10,
    channels: Sequence[int] = (8, 16),
    batch_norm: bool = False,
) -> nn.Sequential:
    """A two-block convolutional classifier: (conv3x3 [-BN] - ReLU - maxpool2) x 2, linear head.

    Input shape ``(n, in_channels, image_size, image_size)``; output ``(n, n_classes)`` logits.
    ``image_size`` must be divisible by 4 (two 2x2 poolings). With the defaults on 8x8 digits
    the model has 1,898 parameters (1,946 with ``batch_norm=True``), small enough for dense
    Hessians. ``batch_norm=True`` inserts ``nn.BatchNorm2d`` after each convolution; the
    landscape evaluates it in eval mode (running statistics) by default.
    """
    c1, c2 = (int(c) for c in channels)
    if image_size % 4:
        raise LandscapeError(f"small_cnn: image_size must be divisible by 4, got {image_size}")
    blocks: list[nn.Module] = []
    for c_in, c_out in ((in_channels, c1), (c1, c2)):
        blocks.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
        if batch_norm:
            blocks.append(nn.BatchNorm2d(c_out))
        blocks += [nn.ReLU(), nn.MaxPool2d(2)]
    side = image_size // 4
    return nn.Sequential(*blocks, nn.Flatten(), nn.Linear(c2 * side * side, n_classes))


def reset_parameters(model: nn.Module, seed: int) -> nn.Module:
    """Re-initialise ``model``'s parameters in place with PyTorch's default initialisation,
    drawn from a generator seeded with ``seed``; returns ``model``.

    Every module that owns parameters must define ``reset_parameters()`` (all of
    ``torch.nn``'s layers do); otherwise :class:`NotSupportedError` names the modules that do
    not, since leaving them untouched would silently share values between "random" points.
    The global RNG state is saved and restored, so the call has no side effects beyond the
    model. The draw is made on the CPU in the model's dtype, so a seed gives the same point on
    every device.
    """
    missing = [
        f"{name or '<root>'} ({type(m).__name__})"
        for name, m in model.named_modules()
        if any(True for _ in m.parameters(recurse=False)) and not hasattr(m, "reset_parameters")
    ]
    if missing:
        raise NotSupportedError(
            "cannot re-initialise modules without reset_parameters(): " + ", ".join(missing)
        )
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    if device.type != "cpu":
        model.to("cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in model.modules():
            if any(True for _ in m.parameters(recurse=False)):
                m.reset_parameters()
    return model.to(device)
