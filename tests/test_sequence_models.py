"""Sequence models (hand-written RNN/GRU/LSTM, one-layer attention) as network landscapes, and
the generated MNIST-1D-like data.

References are independent of the code under test: torch's own ``nn.RNN``/``nn.GRU``/``nn.LSTM``
and ``nn.MultiheadAttention`` with copied weights, forward passes written out by hand from the
parameter layout (differentiated with ``torch.func.hessian``), central finite differences, and
a classifier trained with SciPy's L-BFGS.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import torch
import torch.nn.functional as F
from torch import nn

from levinthal.landscape import to_numpy
from levinthal.landscape.finite_difference import gradient_fd
from levinthal.systems.networks import NetworkLandscape, mlp, reset_parameters
from levinthal.systems.networks.data import MNIST1D_TEMPLATES, mnist1d
from levinthal.systems.networks.models import attention_classifier, small_rnn
from levinthal.systems.networks.presets import attention_mnist1d, mlp_mnist1d, rnn_mnist1d

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")

SEQ, N_CLASSES, N_SAMPLES, HIDDEN = 7, 3, 24, 3
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def sequences(input_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N_SAMPLES, SEQ, input_size, generator=g, dtype=torch.float64)
    y = torch.randint(0, N_CLASSES, (N_SAMPLES,), generator=g)
    return (X[..., 0] if input_size == 1 else X), y


def rnn_landscape(cell: str, input_size: int = 1, n_layers: int = 1) -> NetworkLandscape:
    model = reset_parameters(small_rnn(input_size, HIDDEN, N_CLASSES, cell, n_layers).double(), 0)
    return NetworkLandscape(model, *sequences(input_size), name=f"tiny-{cell}")


def attention_landscape(n_heads: int = 1, input_size: int = 1) -> NetworkLandscape:
    model = reset_parameters(attention_classifier(SEQ, input_size, 4, n_heads, N_CLASSES).double(), 0)
    return NetworkLandscape(model, *sequences(input_size), name="tiny-attention")


def point(L: NetworkLandscape, seed: int) -> torch.Tensor:
    """A generic point: the initialisation plus a seeded perturbation of size 0.3."""
    rng = np.random.default_rng(seed)
    return L.initial_point() + 0.3 * torch.as_tensor(rng.standard_normal(L.dim))


class Reader:
    """Reads consecutive parameter blocks of the given shapes from a flat vector."""

    def __init__(self, x: torch.Tensor):
        self.x, self.i = x, 0

    def __call__(self, *shape: int) -> torch.Tensor:
        n = math.prod(shape)
        out = self.x[self.i : self.i + n].reshape(shape)
        self.i += n
        return out


def reference_rnn_loss(x: torch.Tensor, X: torch.Tensor, y: torch.Tensor, cell: str, n_layers: int = 1):
    """The recurrent classifier's loss, written out from the textbook equations."""
    take, h_size = Reader(x), HIDDEN
    seq = X.unsqueeze(-1) if X.ndim == 2 else X
    for _ in range(n_layers):
        n_in, gates = seq.shape[-1], GATES[cell]
        W, U, b = take(gates * h_size, n_in), take(gates * h_size, h_size), take(gates * h_size)
        b_hn = take(h_size) if cell == "gru" else None
        h = torch.zeros(seq.shape[0], h_size, dtype=x.dtype)
        c = torch.zeros_like(h)
        states = []
        for t in range(seq.shape[1]):
            xt = seq[:, t]
            if cell == "rnn":
                h = torch.tanh(xt @ W.T + h @ U.T + b)
            elif cell == "gru":
                Wr, Wz, Wn = W.chunk(3)
                Ur, Uz, Un = U.chunk(3)
                br, bz, bn = b.chunk(3)
                r = torch.sigmoid(xt @ Wr.T + h @ Ur.T + br)
                z = torch.sigmoid(xt @ Wz.T + h @ Uz.T + bz)
                n = torch.tanh(xt @ Wn.T + bn + r * (h @ Un.T + b_hn))
                h = (1 - z) * n + z * h
            else:
                pre = [xt @ Wk.T + h @ Uk.T + bk for Wk, Uk, bk in zip(W.chunk(4), U.chunk(4), b.chunk(4),
                                                                        strict=True)]
                i, f, o = torch.sigmoid(pre[0]), torch.sigmoid(pre[1]), torch.sigmoid(pre[3])
                g = torch.tanh(pre[2])
                c = f * c + i * g
                h = o * torch.tanh(c)
            states.append(h)
        seq = torch.stack(states, dim=1)
    Wo, bo = take(N_CLASSES, h_size), take(N_CLASSES)
    assert take.i == x.numel()
    return F.cross_entropy(seq[:, -1] @ Wo.T + bo, y)


def reference_attention_loss(x: torch.Tensor, X: torch.Tensor, y: torch.Tensor, n_heads: int, d: int = 4):
    """One-layer attention classifier's loss, written out head by head."""
    take = Reader(x)
    seq = X.unsqueeze(-1) if X.ndim == 2 else X
    We, be = take(d, seq.shape[-1]), take(d)
    P = take(SEQ, d)
    Wqkv, bqkv = take(3 * d, d), take(3 * d)
    Wout, bout = take(d, d), take(d)
    Wh, bh = take(N_CLASSES, d), take(N_CLASSES)
    assert take.i == x.numel()
    h = seq @ We.T + be + P
    q, k, v = (h @ Wqkv.T + bqkv).split(d, dim=-1)
    dh = d // n_heads
    heads = []
    for j in range(n_heads):
        sl = slice(j * dh, (j + 1) * dh)
        scores = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh)
        heads.append(torch.softmax(scores, dim=-1) @ v[..., sl])
    a = torch.cat(heads, dim=-1) @ Wout.T + bout
    return F.cross_entropy((h + a).mean(dim=1) @ Wh.T + bh, y)


CASES = [("rnn", 1, 1), ("gru", 1, 1), ("lstm", 1, 1), ("gru", 2, 2), ("lstm", 2, 1)]


@pytest.mark.parametrize(("cell", "input_size", "n_layers"), CASES)
def test_rnn_parameter_count_matches_the_gate_formula(cell, input_size, n_layers):
    L = rnn_landscape(cell, input_size, n_layers)
    g = GATES[cell]
    per = [g * HIDDEN * (n_in + HIDDEN + 1) + (HIDDEN if cell == "gru" else 0)
           for n_in in [input_size] + [HIDDEN] * (n_layers - 1)]
    assert L.dim == sum(per) + (HIDDEN + 1) * N_CLASSES


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rnn_cells_compute_torch_recurrent_layers(cell):
    """Copy the weights into torch's fused nn.RNN/GRU/LSTM (second bias zero, except the GRU's
    b_hn) and compare the logits."""
    model = reset_parameters(small_rnn(2, HIDDEN, N_CLASSES, cell).double(), 1)
    layer = model.layers[0]
    torch_layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](2, HIDDEN, batch_first=True).double()
    with torch.no_grad():
        torch_layer.weight_ih_l0.copy_(layer.weight_ih)
        torch_layer.weight_hh_l0.copy_(layer.weight_hh)
        torch_layer.bias_ih_l0.copy_(layer.bias)
        torch_layer.bias_hh_l0.zero_()
        if cell == "gru":
            torch_layer.bias_hh_l0[2 * HIDDEN :] = layer.bias_hn
    X, _ = sequences(2, seed=4)
    with torch.no_grad():
        out, _ = torch_layer(X)
        torch.testing.assert_close(model(X), model.head(out[:, -1]), rtol=0, atol=1e-13)


@pytest.mark.parametrize("n_heads", [1, 2])
def test_attention_computes_torch_multihead_attention(n_heads):
    model = reset_parameters(attention_classifier(SEQ, 2, 4, n_heads, N_CLASSES).double(), 2)
    mha = nn.MultiheadAttention(4, n_heads, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(model.qkv.weight)
        mha.in_proj_bias.copy_(model.qkv.bias)
        mha.out_proj.weight.copy_(model.out.weight)
        mha.out_proj.bias.copy_(model.out.bias)
    X, _ = sequences(2, seed=5)
    with torch.no_grad():
        h = model.embed(X) + model.position.weight
        a, _ = mha(h, h, h, need_weights=False)
        torch.testing.assert_close(model(X), model.head((h + a).mean(dim=1)), rtol=0, atol=1e-13)


def landscapes():
    for cell, input_size, n_layers in CASES:
        yield (f"{cell}-{input_size}in-{n_layers}layer",
               lambda c=cell, i=input_size, n=n_layers: rnn_landscape(c, i, n),
               lambda x, X, y, c=cell, n=n_layers: reference_rnn_loss(x, X, y, c, n))
    for heads, input_size in ((1, 1), (2, 2)):
        yield (f"attention-{heads}head-{input_size}in",
               lambda h=heads, i=input_size: attention_landscape(h, i),
               lambda x, X, y, h=heads: reference_attention_loss(x, X, y, h))


LANDSCAPES = {name: (build, ref) for name, build, ref in landscapes()}


@pytest.fixture(scope="module", params=sorted(LANDSCAPES))
def case(request):
    build, ref = LANDSCAPES[request.param]
    return build(), ref


def test_energy_equals_the_hand_written_forward_pass(case):
    L, ref = case
    x = point(L, 1)
    assert L.energy(x) == pytest.approx(float(ref(x, L._inputs, L._targets)), rel=1e-13)


def test_gradient_matches_central_finite_differences(case):
    L, _ = case
    x = point(L, 2)
    _, g = L.energy_gradient(x)
    np.testing.assert_allclose(to_numpy(g), gradient_fd(L, to_numpy(x), h=1e-6), rtol=0, atol=1e-8)


def test_hvp_matches_hessian_of_independent_closure(case):
    L, ref = case
    x = point(L, 3)
    H = torch.func.hessian(ref)(x, L._inputs, L._targets)
    rng = np.random.default_rng(0)
    for _ in range(2):
        v = torch.as_tensor(rng.standard_normal(L.dim))
        torch.testing.assert_close(L.hvp(x, v), H @ v, rtol=0, atol=1e-11)


def test_batched_energies_and_gradients_equal_one_by_one(case):
    L, _ = case
    Xs = torch.stack([point(L, s) for s in range(3)])
    E, G = L.energy_gradients(Xs)
    E_only = L.energies(Xs)
    for i in range(3):
        e, g = L.energy_gradient(Xs[i])
        assert abs(float(E[i]) - e) < 1e-13 and abs(float(E_only[i]) - e) < 1e-13
        torch.testing.assert_close(G[i], g, rtol=0, atol=1e-13)


def test_sequence_models_refuse_wrong_input_shapes():
    from levinthal.landscape.errors import LandscapeError

    with pytest.raises(LandscapeError, match="seq_len=7"):
        attention_classifier(SEQ, 1, 4, 1, 3).double()(torch.zeros(2, 9, dtype=torch.float64))
    with pytest.raises(LandscapeError, match=r"\(batch, seq_len, 2\)"):
        small_rnn(2, 3, 3).double()(torch.zeros(2, 9, dtype=torch.float64))
    with pytest.raises(LandscapeError, match="unknown cell"):
        small_rnn(1, 3, 3, cell="transformer")
    with pytest.raises(LandscapeError, match="divisible"):
        attention_classifier(SEQ, 1, 5, 2, 3)


# ---------------------------------------------------------------- MNIST-1D-like data


def test_mnist1d_has_forty_standardised_points_and_balanced_classes():
    d = mnist1d(seed=0, n_samples=200)
    assert d.train_inputs.shape == (160, 40) and d.test_inputs.shape == (40, 40)
    assert d.train_inputs.dtype == torch.float64 and d.n_classes == 10 == MNIST1D_TEMPLATES.shape[0]
    assert torch.bincount(d.train_targets, minlength=10).tolist() == [16] * 10
    assert torch.bincount(d.test_targets, minlength=10).tolist() == [4] * 10
    assert abs(float(d.train_inputs.mean())) < 1e-12
    assert float(d.train_inputs.std(unbiased=False)) == pytest.approx(1.0, abs=1e-12)


def test_mnist1d_is_fixed_by_the_seed_and_changes_with_it():
    a, b, c = mnist1d(seed=3, n_samples=100), mnist1d(seed=3, n_samples=100), mnist1d(seed=4, n_samples=100)
    assert torch.equal(a.train_inputs, b.train_inputs) and torch.equal(a.test_targets, b.test_targets)
    assert not torch.allclose(a.train_inputs, c.train_inputs)


def test_mnist1d_without_noise_or_transformations_reproduces_the_templates():
    d = mnist1d(seed=0, n_samples=20, test_fraction=0.0, max_shift=0.0, scale_range=(1.0, 1.0), max_shear=0.0,
                corr_noise=0.0, iid_noise=0.0, standardize=False, length=221)
    # 221 points on [-0.6, 1.6] (step 0.01): the template, linear between its knots, on [0, 1]
    g = np.linspace(-0.6, 1.6, 221)
    for xi, c in zip(d.train_inputs.numpy(), d.train_targets.numpy(), strict=True):
        knots = np.linspace(0, 1, 12)
        expected = np.where((g >= 0) & (g <= 1), np.interp(g, knots, MNIST1D_TEMPLATES[c]), 0.0)
        np.testing.assert_allclose(xi, expected, atol=1e-12)


def test_mlp_trained_with_lbfgs_on_mnist1d_beats_chance_on_the_test_split():
    d = mnist1d(seed=0, n_samples=500)
    model = reset_parameters(mlp([40, 16, 10]).double(), 0)
    L = NetworkLandscape(model, d.train_inputs, d.train_targets, test_data=(d.test_inputs, d.test_targets))

    def fun(x):
        e, g = L.energy_gradient(torch.as_tensor(x))
        return e, to_numpy(g)

    res = scipy.optimize.minimize(fun, to_numpy(L.initial_point()), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 150})
    x = torch.as_tensor(res.x)
    nn.utils.vector_to_parameters(x, model.parameters())
    with torch.no_grad():
        test_acc = float((model(d.test_inputs).argmax(1) == d.test_targets).double().mean())
    assert test_acc > 0.3  # chance is 0.1
    assert L.test_accuracy(x) == test_acc


def test_mnist1d_presets_have_the_documented_sizes():
    assert mlp_mnist1d(n_samples=100).dim == 40 * 32 + 32 + 32 * 10 + 10 == 1642
    assert rnn_mnist1d(n_samples=100).dim == 3 * 16 * 18 + 16 + 17 * 10 == 1050
    assert rnn_mnist1d(n_samples=100, cell="lstm").dim == 4 * 16 * 18 + 170
    L = attention_mnist1d(n_samples=100)
    assert L.dim == 2 * 16 + 40 * 16 + 17 * 48 + 17 * 16 + 17 * 10 == 1930
    assert L.test is not None and L.n_samples == 80
    a, b = rnn_mnist1d(seed=0, n_samples=100), rnn_mnist1d(seed=1, n_samples=100)
    assert not torch.equal(a.initial_point(), b.initial_point())
    assert torch.equal(a._inputs, b._inputs)


@pytest.mark.parametrize("name", ["mlp-mnist1d", "rnn-mnist1d:lstm", "attention-mnist1d"])
def test_sequence_presets_build_from_the_registry(name):
    from levinthal.systems import make_system

    land = make_system(name, n_samples=60)
    x = land.initial_point()
    assert land.dim == x.shape[0] and np.isfinite(land.energy(x))
