"""Small functional networks on PCA-reduced digits for the issue-7 studies (curriculum, multi-task).

Inputs are scikit-learn's 8×8 digits (:func:`levinthal.systems.networks.data.digits`), projected
on their first ``n_components`` principal axes of the training split (Pearson 1901) so that a
network has a few hundred parameters and dense Hessians stay cheap. The networks are plain
functions of a flat float64 parameter vector, so they compose into losses of
:class:`~levinthal.studies._torch_function.TorchFunction`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from levinthal.systems.networks.data import digits

__all__ = ["PCADigits", "mlp_dim", "mlp_forward", "pca_digits"]


@dataclass(frozen=True)
class PCADigits:
    """``train_x`` ``(n_train, k)``, ``train_y`` ``(n_train,)`` int64 labels 0–9, and the test split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def pca_digits(n_train: int, n_components: int, seed: int = 0) -> PCADigits:
    """Standardised digits (first ``n_train`` shuffled training images, split ``seed``) on the top
    ``n_components`` principal axes of the training inputs, each axis scaled to unit variance."""
    ds = digits(seed=seed, n_train=n_train)
    X, Xt = ds.train_inputs.double(), ds.test_inputs.double()
    mu = X.mean(0)
    _, s, Vt = torch.linalg.svd(X - mu, full_matrices=False)
    P = Vt[:n_components].T / (s[:n_components] / (X.shape[0] - 1) ** 0.5)
    return PCADigits((X - mu) @ P, ds.train_targets, (Xt - mu) @ P, ds.test_targets)


def mlp_dim(n_in: int, n_hidden: int, n_out: int) -> int:
    """Parameters of a one-hidden-layer MLP with biases."""
    return n_in * n_hidden + n_hidden + n_hidden * n_out + n_out


def mlp_forward(w: torch.Tensor, x: torch.Tensor, n_in: int, n_hidden: int, n_out: int) -> torch.Tensor:
    """``W2 tanh(W1 x + b1) + b2`` for the flat parameters ``w`` (layout W1, b1, W2, b2); output
    ``(n, n_out)``."""
    i = 0
    W1 = w[i:i + n_in * n_hidden].reshape(n_hidden, n_in)
    i += n_in * n_hidden
    b1 = w[i:i + n_hidden]
    i += n_hidden
    W2 = w[i:i + n_hidden * n_out].reshape(n_out, n_hidden)
    i += n_hidden * n_out
    b2 = w[i:i + n_out]
    return torch.tanh(x @ W1.T + b1) @ W2.T + b2
