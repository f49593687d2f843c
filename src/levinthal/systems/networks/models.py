"""Small reference architectures for network loss landscapes, and seeded initialisation.

The layouts are part of the contract with :mod:`levinthal.symmetry.networks`: an MLP is an
``nn.Sequential`` of alternating ``nn.Linear`` and activation modules, ending in an
``nn.Linear`` (no activation on the logits), so the hidden-unit rescaling and permutation
symmetries can be read off from the module list.

The sequence models (:func:`small_rnn`, :func:`attention_classifier`) are written out with
plain parameters and tensor operations instead of ``nn.RNN``/``nn.GRU``/``nn.LSTM`` and
``nn.MultiheadAttention``: torch has no ``vmap`` batching rule for the fused ``aten::rnn_tanh``,
``aten::gru`` and ``aten::lstm`` kernels ("Batching rule not implemented", torch 2.13), so
:meth:`NetworkLandscape.energies` over parameter sets would fail, and ``MultiheadAttention``
can switch to its documented fused inference "fast path" in eval mode without gradients, so
the energy and its gradient could come from different kernels. The hand-written versions compute the same
functions (PyTorch's gate equations) and compose with every ``torch.func`` transform.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from levinthal.landscape.errors import LandscapeError, NotSupportedError

__all__ = [
    "ACTIVATIONS",
    "RNN_CELLS",
    "AttentionClassifier",
    "RecurrentCell",
    "SequenceRNN",
    "attention_classifier",
    "mlp",
    "reset_parameters",
    "small_cnn",
    "small_rnn",
]

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


RNN_CELLS: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}
"""Recurrent cell types accepted by :func:`small_rnn`, with their number of gates."""


class RecurrentCell(nn.Module):
    """One recurrent layer (Elman RNN, GRU or LSTM) unrolled over time with plain tensor ops.

    Equations as in PyTorch's ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (Elman 1990; Cho et al.
    2014; Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000), with one
    bias per gate instead of PyTorch's two (``b_ih + b_hh`` enter only as a sum, so the pair
    would add exact flat directions to the loss). The GRU keeps its second candidate bias
    ``b_hn``, which sits inside the reset gate and is not redundant:

    * rnn: ``h' = tanh(W x + U h + b)``
    * gru: ``r, z = σ(W_{r,z} x + U_{r,z} h + b_{r,z})``,
      ``n = tanh(W_n x + b_n + r ⊙ (U_n h + b_hn))``, ``h' = (1 - z) ⊙ n + z ⊙ h``
    * lstm: ``i, f, g, o = σ, σ, tanh, σ (W x + U h + b)``, ``c' = f ⊙ c + i ⊙ g``,
      ``h' = o ⊙ tanh(c')``

    Parameters: ``weight_ih`` (gates·hidden, input_size), ``weight_hh`` (gates·hidden, hidden),
    ``bias`` (gates·hidden) and for the GRU ``bias_hn`` (hidden), gate blocks in PyTorch's order
    (r, z, n for the GRU; i, f, g, o for the LSTM). Initialised like PyTorch's recurrent layers:
    uniform in ``[-1/√hidden, 1/√hidden]``. Input ``(batch, seq_len, input_size)``; output the
    hidden states ``(batch, seq_len, hidden)``, starting from ``h = c = 0``.
    """

    def __init__(self, input_size: int, hidden_size: int, cell: str = "rnn"):
        super().__init__()
        if cell not in RNN_CELLS:
            raise LandscapeError(f"small_rnn: unknown cell {cell!r}; choose one of {sorted(RNN_CELLS)}")
        if input_size < 1 or hidden_size < 1:
            raise LandscapeError(f"small_rnn: input_size and hidden_size must be positive, "
                                 f"got {input_size}, {hidden_size}")
        self.cell, self.input_size, self.hidden_size = cell, int(input_size), int(hidden_size)
        g = RNN_CELLS[cell] * self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, self.hidden_size))
        self.bias = nn.Parameter(torch.empty(g))
        if cell == "gru":
            self.bias_hn = nn.Parameter(torch.empty(self.hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's recurrent initialisation: every parameter uniform in ``±1/√hidden``."""
        k = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters(recurse=False):
                p.uniform_(-k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, hs = x.shape[0], self.hidden_size
        # The input projections of all time steps at once; only U h stays in the loop.
        xw = x @ self.weight_ih.T + self.bias  # (batch, seq_len, gates * hidden)
        h = x.new_zeros(n, hs)
        c = h
        out = []
        for t in range(x.shape[1]):
            a, hu = xw[:, t], h @ self.weight_hh.T
            if self.cell == "rnn":
                h = torch.tanh(a + hu)
            elif self.cell == "gru":
                rz = torch.sigmoid(a[:, : 2 * hs] + hu[:, : 2 * hs])
                r, z = rz[:, :hs], rz[:, hs:]
                cand = torch.tanh(a[:, 2 * hs :] + r * (hu[:, 2 * hs :] + self.bias_hn))
                h = (1.0 - z) * cand + z * h
            else:
                s = a + hu
                i, f = torch.sigmoid(s[:, :hs]), torch.sigmoid(s[:, hs : 2 * hs])
                gg, o = torch.tanh(s[:, 2 * hs : 3 * hs]), torch.sigmoid(s[:, 3 * hs :])
                c = f * c + i * gg
                h = o * torch.tanh(c)
            out.append(h)
        return torch.stack(out, dim=1)


class SequenceRNN(nn.Module):
    """Stacked :class:`RecurrentCell` layers and a linear head on the last hidden state.

    Input ``(batch, seq_len, input_size)``, or ``(batch, seq_len)`` when ``input_size == 1``
    (a 1-D signal, unsqueezed to one feature per step); output ``(batch, n_classes)`` logits.
    """

    def __init__(self, input_size: int, hidden_size: int, n_classes: int, cell: str = "rnn",
                 n_layers: int = 1):
        super().__init__()
        if n_layers < 1 or n_classes < 1:
            raise LandscapeError(f"small_rnn: n_layers and n_classes must be positive, "
                                 f"got {n_layers}, {n_classes}")
        sizes = [int(input_size)] + [int(hidden_size)] * int(n_layers)
        self.layers = nn.ModuleList(RecurrentCell(a, b, cell) for a, b in itertools.pairwise(sizes))
        self.head = nn.Linear(int(hidden_size), int(n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_sequence(x, self.layers[0].input_size, "small_rnn")
        for layer in self.layers:
            x = layer(x)
        return self.head(x[:, -1])


def _as_sequence(x: torch.Tensor, input_size: int, where: str) -> torch.Tensor:
    if x.ndim == 2 and input_size == 1:
        return x.unsqueeze(-1)
    if x.ndim != 3 or x.shape[-1] != input_size:
        raise LandscapeError(f"{where}: expected inputs of shape (batch, seq_len, {input_size})"
                             + (" or (batch, seq_len)" if input_size == 1 else "")
                             + f", got {tuple(x.shape)}")
    return x


def small_rnn(input_size: int, hidden_size: int, n_classes: int, cell: str = "rnn",
              n_layers: int = 1) -> SequenceRNN:
    """A recurrent sequence classifier: ``n_layers`` recurrent layers, then a linear head on
    the last time step's hidden state.

    Parameters
    ----------
    input_size : int
        Features per time step (1 for a 1-D signal, which may then be passed as
        ``(batch, seq_len)``).
    hidden_size : int
        Hidden units per layer.
    n_classes : int
        Number of output logits.
    cell : {"rnn", "gru", "lstm"}
        Elman tanh RNN (default), GRU or LSTM; see :class:`RecurrentCell` for the equations.
    n_layers : int
        Stacked recurrent layers (default 1).

    Parameter count: per layer ``gates·h·(in + h + 1)`` (+ ``h`` for the GRU), plus
    ``(h + 1)·n_classes`` for the head; e.g. a GRU with 16 units on a 1-D signal and 10
    classes has 3·16·18 + 16 + 170 = 1,050 parameters.
    """
    return SequenceRNN(input_size, hidden_size, n_classes, cell, n_layers)


class AttentionClassifier(nn.Module):
    """One self-attention layer (Vaswani et al. 2017) over a sequence, mean-pooled, linear head.

    ``h = E x_t + p_t`` (linear embedding ``E``, learned positional embedding ``p``, an
    ``nn.Embedding(seq_len, d_model)``); per head ``softmax(Q Kᵀ / √d_head) V`` with
    ``Q, K, V`` from one linear map of ``h`` (``qkv``), heads concatenated and projected
    (``out``), added back to ``h`` (residual), averaged over the sequence, then
    ``head`` → logits. No dropout and no masking, so the loss is a deterministic, smooth
    function of the parameters.
    """

    def __init__(self, seq_len: int, input_size: int, d_model: int, n_heads: int, n_classes: int):
        super().__init__()
        if min(seq_len, input_size, d_model, n_heads, n_classes) < 1:
            raise LandscapeError("attention_classifier: seq_len, input_size, d_model, n_heads and "
                                 "n_classes must be positive")
        if d_model % n_heads:
            raise LandscapeError(f"attention_classifier: d_model ({d_model}) must be divisible by "
                                 f"n_heads ({n_heads})")
        self.seq_len, self.input_size = int(seq_len), int(input_size)
        self.d_model, self.n_heads = int(d_model), int(n_heads)
        self.embed = nn.Linear(self.input_size, self.d_model)
        self.position = nn.Embedding(self.seq_len, self.d_model)
        self.qkv = nn.Linear(self.d_model, 3 * self.d_model)
        self.out = nn.Linear(self.d_model, self.d_model)
        self.head = nn.Linear(self.d_model, int(n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_sequence(x, self.input_size, "attention_classifier")
        if x.shape[1] != self.seq_len:
            raise LandscapeError(f"attention_classifier: built for seq_len={self.seq_len}, "
                                 f"got sequences of length {x.shape[1]}")
        n, t, d, k = x.shape[0], self.seq_len, self.d_model, self.n_heads
        h = self.embed(x) + self.position.weight
        q, kk, v = self.qkv(h).reshape(n, t, 3, k, d // k).permute(2, 0, 3, 1, 4)  # (batch, heads, t, dh)
        w = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(d // k), dim=-1)
        a = (w @ v).transpose(1, 2).reshape(n, t, d)
        return self.head((h + self.out(a)).mean(dim=1))


def attention_classifier(seq_len: int, input_size: int = 1, d_model: int = 16, n_heads: int = 1,
                         n_classes: int = 10) -> AttentionClassifier:
    """A one-layer self-attention sequence classifier; see :class:`AttentionClassifier`.

    Input ``(batch, seq_len, input_size)`` (or ``(batch, seq_len)`` for ``input_size=1``);
    output ``(batch, n_classes)`` logits. Parameters: ``(input_size + 1)·d`` (embedding) +
    ``seq_len·d`` (positions) + ``(d + 1)·3d`` (Q, K, V) + ``(d + 1)·d`` (output projection) +
    ``(d + 1)·n_classes``; 1,930 for seq_len 40, one input feature, d = 16, 10 classes.
    """
    return AttentionClassifier(seq_len, input_size, d_model, n_heads, n_classes)


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
