"""Channel permutations and rescalings of a plain convolutional network, and channel weight matching.

Applies to networks laid out as ``nn.Sequential`` of ``Conv2d`` blocks (each conv followed by
elementwise activations and/or pooling, no BatchNorm), then ``nn.Flatten``, then one
``nn.Linear`` head — the layout of :func:`levinthal.systems.networks.models.small_cnn`. The
parameter vector is the concatenation of ``p.reshape(-1)`` over ``model.parameters()``.

Two symmetries leave the network function unchanged:

* permuting the output channels of conv ``l`` (its filters and bias) together with the input
  channels of the next conv, or, for the last conv, the blocks of ``side²`` columns of the
  linear head that ``Flatten`` makes from each channel (a discrete symmetry:
  ``∏_l c_l!`` equivalent parameter vectors for every minimum);
* for ReLU followed by max-pooling (both positively homogeneous), scaling a channel's filter
  and bias by ``α > 0`` and the weights reading that channel by ``1/α`` (Dinh, Pascanu, Bengio
  & Bengio 2017): one continuous zero mode of the data loss per channel.

:func:`channel_weight_matching` finds the channel permutation that brings network B's
weights closest to A's by the coordinate descent of Ainsworth, Hayase & Srinivasa (2022,
"Git Re-Basin", weight matching), with one linear assignment per conv layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["CNNLayout", "ChannelMatching", "channel_weight_matching", "cnn_layout",
           "permute_channels", "rescaling_tangents", "rescaling_zero_mode_count"]

_PASS_THROUGH = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "MaxPool2d", "AvgPool2d", "Identity")
_HOMOGENEOUS = ("ReLU", "LeakyReLU", "MaxPool2d", "AvgPool2d", "Identity")


@dataclass(frozen=True)
class CNNLayout:
    """Where each conv layer and the linear head live in the flat parameter vector.

    ``conv_shapes``: ``(c_out, c_in, kh, kw)`` per conv; ``conv_weight_offsets`` /
    ``conv_bias_offsets`` (None without bias); ``head_shape`` ``(n_out, n_in)`` with
    ``n_in = c_last · side²``; ``head_weight_offset``, ``head_bias_offset``; ``homogeneous``:
    per conv, whether everything between it and the next layer with weights is positively
    homogeneous (so the channel rescaling is a symmetry); ``dim``.
    """

    conv_shapes: list[tuple[int, int, int, int]]
    conv_weight_offsets: list[int]
    conv_bias_offsets: list[int | None]
    head_shape: tuple[int, int]
    head_weight_offset: int
    head_bias_offset: int | None
    homogeneous: list[bool]
    dim: int

    @property
    def channels(self) -> list[int]:
        return [s[0] for s in self.conv_shapes]

    def conv_weight(self, theta: Any, l: int) -> Any:
        """View of conv ``l``'s weight in ``theta``, shape ``(c_out, c_in, kh, kw)``."""
        n = int(np.prod(self.conv_shapes[l]))
        o = self.conv_weight_offsets[l]
        return theta[o : o + n].reshape(self.conv_shapes[l])

    def conv_bias(self, theta: Any, l: int) -> Any | None:
        o = self.conv_bias_offsets[l]
        return None if o is None else theta[o : o + self.conv_shapes[l][0]]

    def head_weight(self, theta: Any) -> Any:
        """View of the head's weight with the flattened input split per channel:
        shape ``(n_out, c_last, side²)``."""
        n_out, n_in = self.head_shape
        o = self.head_weight_offset
        return theta[o : o + n_out * n_in].reshape(n_out, self.channels[-1], n_in // self.channels[-1])


def cnn_layout(model: Any) -> CNNLayout:
    """Parse ``model`` as ``Sequential(Conv2d, act/pool..., Conv2d, ..., Flatten, Linear)``.

    Raises ``ValueError`` naming what does not fit (BatchNorm, a layer after the head, a conv
    after Flatten, parameters outside the convs and the head, a head width that is not a
    multiple of the last conv's channels, ...).
    """
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise ValueError(f"not an nn.Sequential CNN: got {type(model).__name__}")
    convs: list[Any] = []
    homogeneous: list[bool] = []
    head = None
    flattened = False
    for layer in model:
        kind = type(layer).__name__
        if head is not None:
            raise ValueError(f"layer {kind} after the linear head: expected convs, Flatten, Linear")
        if isinstance(layer, nn.Conv2d):
            if flattened:
                raise ValueError("a Conv2d after Flatten")
            if layer.groups != 1:
                raise ValueError("grouped convolutions are not supported")
            convs.append(layer)
            homogeneous.append(True)
        elif isinstance(layer, nn.Flatten):
            flattened = True
        elif isinstance(layer, nn.Linear):
            if not flattened:
                raise ValueError("the linear head must follow nn.Flatten")
            head = layer
        elif kind in _PASS_THROUGH:
            if not convs:
                raise ValueError(f"{kind} before the first Conv2d")
            homogeneous[-1] = homogeneous[-1] and kind in _HOMOGENEOUS
        else:
            raise ValueError(f"layer {kind} is not supported (channel symmetry needs conv, "
                             f"{_PASS_THROUGH}, Flatten, Linear; no BatchNorm)")
    if not convs or head is None:
        raise ValueError("need at least one Conv2d and a final Linear head")
    offsets: dict[int, int] = {}
    dim = 0
    for p in model.parameters():
        offsets[id(p)] = dim
        dim += p.numel()
    owned = sum(m.weight.numel() + (0 if m.bias is None else m.bias.numel()) for m in (*convs, head))
    if owned != dim:
        raise ValueError("model has parameters outside its convs and head")
    if head.in_features % convs[-1].out_channels:
        raise ValueError(f"head input {head.in_features} is not a multiple of the last conv's "
                         f"{convs[-1].out_channels} channels")
    return CNNLayout(
        conv_shapes=[tuple(c.weight.shape) for c in convs],
        conv_weight_offsets=[offsets[id(c.weight)] for c in convs],
        conv_bias_offsets=[None if c.bias is None else offsets[id(c.bias)] for c in convs],
        head_shape=(head.out_features, head.in_features),
        head_weight_offset=offsets[id(head.weight)],
        head_bias_offset=None if head.bias is None else offsets[id(head.bias)],
        homogeneous=homogeneous,
        dim=dim,
    )


def _check(layout: CNNLayout, permutations: Any) -> list[np.ndarray]:
    perms = [np.asarray(p, dtype=np.int64) for p in permutations]
    if len(perms) != len(layout.channels):
        raise ValueError(f"need one permutation per conv layer ({len(layout.channels)}), got {len(perms)}")
    for l, (p, c) in enumerate(zip(perms, layout.channels, strict=True)):
        if p.shape != (c,) or not np.array_equal(np.sort(p), np.arange(c)):
            raise ValueError(f"permutation {l} is not a permutation of range({c}): {p}")
    return perms


def permute_channels(theta: Any, permutations: Any, template: Any) -> Any:
    """Parameter vector with conv channels permuted; computes the same function as ``theta``.

    Channel ``i`` of conv ``l`` in the result is channel ``permutations[l][i]`` of the input:
    filters and bias of conv ``l`` are reordered, and so are the input channels of conv
    ``l+1`` (or the per-channel column blocks of the head for the last conv).

    ``theta``: torch tensor ``(dim,)``; ``permutations``: one int array ``(c_l,)`` per conv;
    ``template``: the model giving the layout. Returns a new tensor.
    """
    import torch

    layout = cnn_layout(template)
    if tuple(theta.shape) != (layout.dim,):
        raise ValueError(f"permute_channels: theta has shape {tuple(theta.shape)}, expected ({layout.dim},)")
    idx = [torch.as_tensor(p, device=theta.device) for p in _check(layout, permutations)]
    out = theta.clone()
    n = len(layout.channels)
    for l in range(n):
        w = layout.conv_weight(theta, l)[idx[l]]
        if l > 0:
            w = w[:, idx[l - 1]]
        layout.conv_weight(out, l).copy_(w)
        b = layout.conv_bias(theta, l)
        if b is not None:
            layout.conv_bias(out, l).copy_(b[idx[l]])
    layout.head_weight(out).copy_(layout.head_weight(theta)[:, idx[-1]])
    return out


def rescaling_zero_mode_count(template: Any) -> int:
    """Number of continuous channel-rescaling symmetries: channels of convs whose output passes
    only through positively homogeneous maps (ReLU, max/avg pooling) before the next weights."""
    layout = cnn_layout(template)
    return sum(c for c, h in zip(layout.channels, layout.homogeneous, strict=True) if h)


@dataclass(frozen=True)
class ChannelMatching:
    """Result of :func:`channel_weight_matching`: ``permutations`` (one per conv; apply to B
    with :func:`permute_channels`), ``params_b_aligned``, Euclidean ``distance_before`` /
    ``distance_after``, ``iterations`` (sweeps) and ``converged`` (the last sweep changed
    nothing)."""

    permutations: list[np.ndarray]
    params_b_aligned: Any
    distance_before: float
    distance_after: float
    iterations: int
    converged: bool


def channel_weight_matching(theta_a: Any, theta_b: Any, template: Any, *, max_iterations: int = 100,
                            rng: np.random.Generator | int | None = None) -> ChannelMatching:
    """Permute B's conv channels to bring its weights closest to A's (Ainsworth et al. 2022).

    Maximises ``Σ_l ⟨W_l^A, P_l W_l^B P_{l-1}ᵀ⟩ + ⟨b_l^A, P_l b_l^B⟩ + ⟨H^A, H^B P_Lᵀ⟩``
    (filters compared over input channels and kernel taps, the head over its per-channel
    column blocks) by coordinate descent: for each conv in an order shuffled by ``rng`` every
    sweep, the other permutations fixed, a linear assignment (Hungarian algorithm) on the
    similarity of incoming filters, bias and outgoing weights; stops after a sweep that changes
    nothing. ``theta_a``, ``theta_b``: torch tensors ``(dim,)`` with ``template``'s layout.
    """
    import torch

    layout = cnn_layout(template)
    for what, t in (("theta_a", theta_a), ("theta_b", theta_b)):
        if tuple(t.shape) != (layout.dim,):
            raise ValueError(f"channel_weight_matching: {what} has shape {tuple(t.shape)}, "
                             f"expected ({layout.dim},)")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    a, b = theta_a.detach().double(), theta_b.detach().double().to(theta_a.device)
    n = len(layout.channels)
    wa = [layout.conv_weight(a, l) for l in range(n)]
    wb = [layout.conv_weight(b, l) for l in range(n)]
    # Outgoing weights of conv l, with the channel they read on axis 1: the next conv's filters
    # (c_next, c_l, kh, kw), or the head split per channel (n_out, c_last, side²).
    out_a = [wa[l + 1] if l + 1 < n else layout.head_weight(a) for l in range(n)]
    out_b = [wb[l + 1] if l + 1 < n else layout.head_weight(b) for l in range(n)]
    perms = [torch.arange(c, device=a.device) for c in layout.channels]
    iterations, converged = 0, False
    while not converged and iterations < max_iterations:
        iterations += 1
        changed = False
        for l in rng.permutation(n):
            w_in_b = wb[l] if l == 0 else wb[l][:, perms[l - 1]]
            sim = wa[l].reshape(wa[l].shape[0], -1) @ w_in_b.reshape(w_in_b.shape[0], -1).T
            ba_l, bb_l = layout.conv_bias(a, l), layout.conv_bias(b, l)
            if ba_l is not None:
                sim = sim + torch.outer(ba_l, bb_l)
            ob = out_b[l] if l + 1 == n else out_b[l][perms[l + 1]]
            oa = out_a[l].transpose(0, 1).reshape(out_a[l].shape[1], -1)
            ob = ob.transpose(0, 1).reshape(ob.shape[1], -1)
            sim = sim + oa @ ob.T
            _, cols = linear_sum_assignment(sim.cpu().numpy(), maximize=True)
            new = torch.as_tensor(cols, device=a.device)
            if not torch.equal(new, perms[l]):
                changed, perms[l] = True, new
        converged = not changed
    perm_np = [p.cpu().numpy().astype(np.int64) for p in perms]
    aligned = permute_channels(theta_b, perm_np, template)
    return ChannelMatching(
        permutations=perm_np, params_b_aligned=aligned,
        distance_before=float(torch.linalg.vector_norm(theta_a - theta_b.to(theta_a.device))),
        distance_after=float(torch.linalg.vector_norm(theta_a - aligned.to(theta_a.device))),
        iterations=iterations, converged=converged)


def rescaling_tangents(theta: Any, template: Any) -> Any:
    """Orthonormal tangents of the channel rescalings at ``theta``, shape ``(k, dim)``.

    For channel ``c`` of a conv followed only by positively homogeneous maps, the tangent at
    ``α = 1`` of ``(W_l[c], b_l[c], W_next[:, c]) → (α W_l[c], α b_l[c], W_next[:, c] / α)`` is
    ``(W_l[c], b_l[c], −W_next[:, c])`` (Dinh et al. 2017); the rows are orthonormalised (QR).
    Channels whose weights are all zero have no tangent and are dropped.
    """
    import torch

    layout = cnn_layout(template)
    theta = theta.detach()
    rows = []
    n = len(layout.channels)
    for l, (c, hom) in enumerate(zip(layout.channels, layout.homogeneous, strict=True)):
        if not hom:
            continue
        for j in range(c):
            t = torch.zeros_like(theta)
            layout.conv_weight(t, l)[j] = layout.conv_weight(theta, l)[j]
            b = layout.conv_bias(theta, l)
            if b is not None:
                layout.conv_bias(t, l)[j] = b[j]
            if l + 1 < n:
                layout.conv_weight(t, l + 1)[:, j] = -layout.conv_weight(theta, l + 1)[:, j]
            else:
                layout.head_weight(t)[:, j] = -layout.head_weight(theta)[:, j]
            if float(torch.linalg.vector_norm(t)) > 0.0:
                rows.append(t)
    if not rows:
        return theta.new_zeros((0, layout.dim))
    q, _ = torch.linalg.qr(torch.stack(rows).T)
    return q.T.contiguous()
