"""SGD as a thermostat: the gradient-noise covariance against hand-computed per-sample gradients,
the exact stationary variance of SGD on a quadratic, SGD vs Langevin at the matching kT_eff,
and bit-for-bit resume."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from levinthal.explore.sgd_thermostat import (
    compare_sgd_langevin,
    gradient_noise,
    per_sample_gradients,
    sgd_stationary_variance,
    sgd_thermostat,
)
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import NotSupportedError
from levinthal.systems.analytic import DoubleWell
from levinthal.systems.networks import NetworkLandscape

F64 = torch.float64


def regression(n=40, p=3, seed=0, bias=True):
    g = np.random.default_rng(seed)
    A = g.normal(size=(n, p))
    b = A @ g.normal(size=p) + 0.3 * g.normal(size=n)
    torch.manual_seed(seed)
    model = torch.nn.Linear(p, 1, bias=bias, dtype=F64)
    return NetworkLandscape(model, torch.tensor(A), torch.tensor(b[:, None]), loss="mse"), A, b


def hand_gradients(A, b, w, c):
    """ℓ_i = (w·a_i + c − b_i)²: g_i = 2 r_i (a_i, 1), parameters ordered (weight, bias)."""
    r = A @ w + c - b
    return 2 * r[:, None] * np.column_stack([A, np.ones(len(b))])


def test_noise_trace_and_spectrum_equal_the_hand_computed_covariance():
    L, A, b = regression()
    x = L.initial_point()
    w, c = x[:3].numpy(), float(x[3])
    G = hand_gradients(A, b, w, c)
    assert per_sample_gradients(L, x).numpy() == pytest.approx(G, rel=1e-12, abs=1e-12)
    Gc = G - G.mean(0)
    sigma = Gc.T @ Gc / len(b)  # population covariance, 1/N
    lr, B, N, d = 0.05, 8, 40, 4
    f = (N - B) / (N - 1)
    noise = gradient_noise(L, x, lr=lr, batch_size=B, top_k=3)
    assert noise.trace == pytest.approx(np.trace(sigma), rel=1e-12)
    assert noise.replacement_factor == pytest.approx(32 / 39)
    assert noise.batch_trace == pytest.approx(f * np.trace(sigma) / B, rel=1e-12)
    assert noise.kT_eff == pytest.approx(lr * f * np.trace(sigma) / (2 * B * d), rel=1e-12)
    evals = np.sort(np.linalg.eigvalsh(sigma))[::-1]
    assert noise.top_eigenvalues == pytest.approx(evals[:3], rel=1e-10)
    assert noise.kT_top == pytest.approx(lr * f * evals[0] / (2 * B), rel=1e-10)
    assert noise.anisotropy == pytest.approx(evals[0] * d / np.trace(sigma), rel=1e-10)
    assert noise.gradient_norm2 == pytest.approx(float((G.mean(0) ** 2).sum()), rel=1e-12)
    with_repl = gradient_noise(L, x, lr=lr, batch_size=B, with_replacement=True)
    assert with_repl.kT_eff == pytest.approx(lr * np.trace(sigma) / (2 * B * d), rel=1e-12)


def test_noise_along_one_direction_has_anisotropy_d():
    # inputs (1, 0): every per-sample gradient lies along the first weight, so Σ has rank one
    n = 30
    A = np.column_stack([np.ones(n), np.zeros(n)])
    b = np.random.default_rng(1).normal(size=n)
    model = torch.nn.Linear(2, 1, bias=False, dtype=F64)
    L = NetworkLandscape(model, torch.tensor(A), torch.tensor(b[:, None]), loss="mse")
    noise = gradient_noise(L, L.initial_point(), lr=0.1, batch_size=5)
    assert noise.anisotropy == pytest.approx(2.0, rel=1e-12)
    # g_i = 2(w − b_i) e1: tr Σ = 4 Var(b) (population)
    assert noise.trace == pytest.approx(4 * np.var(b), rel=1e-12)


def test_cross_entropy_noise_matches_a_loop_over_single_sample_landscapes():
    g = np.random.default_rng(2)
    X = torch.tensor(g.normal(size=(25, 4)))
    y = torch.tensor(g.integers(0, 3, size=25))
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    L = NetworkLandscape(model, X, y)
    x = L.initial_point()
    G = torch.stack([L.minibatch([i]).energy_gradient(x)[1] for i in range(25)]).numpy()
    Gc = G - G.mean(0)
    noise = gradient_noise(L, x, lr=0.1, batch_size=5)
    assert noise.trace == pytest.approx(float((Gc**2).sum() / 25), rel=1e-10)
    # a subsample of all N samples is the full estimate; of m < N, (N − 1)/N × the sample covariance
    idx = np.random.default_rng(7).choice(25, size=10, replace=False)
    sub = gradient_noise(L, x, lr=0.1, batch_size=5, n_samples=10, rng=7)
    Gs = G[idx] - G[idx].mean(0)
    assert sub.trace == pytest.approx(24 / 25 * float((Gs**2).sum()) / 9, rel=1e-10)
    assert sub.n_used == 10 and noise.n_used == 25


def test_stationary_variance_of_minibatch_sgd_on_a_quadratic_is_the_exact_discrete_formula():
    """E(w) = (1/N) Σ (w − b_i)²: k = 2, per-sample gradient 2(w − b_i), additive noise of per-sample
    variance σ² = 4 Var(b). Batches of B without replacement: Var = η f σ² / (B (2k − ηk²))."""
    N, B, lr = 32, 8, 0.25  # ηk = 0.5: the AR(1) coefficient is φ = 1 − ηk = 0.5; f = 24/31
    b = np.random.default_rng(3).normal(size=N)
    L = NetworkLandscape(torch.nn.Linear(1, 1, bias=False, dtype=F64), torch.ones(N, 1, dtype=F64),
                         torch.tensor(b[:, None]), loss="mse")
    sigma2, k, f = 4 * np.var(b), 2.0, (N - B) / (N - 1)
    exact = sgd_stationary_variance(k, lr, sigma2, B, f)
    res = sgd_thermostat(L, torch.tensor([b.mean()]), lr=lr, batch_size=B, n_steps=5000, rng=4,
                         record_every=1, record_positions=True, measure_every=2500)
    y = (res.trajectory[1:, 0] - b.mean()) ** 2
    phi = 1 - lr * k
    se = exact * math.sqrt(2 / y.size * (1 + phi**2) / (1 - phi**2))  # AR(1): Var of the mean of x²
    assert abs(y.mean() - exact) < 4 * se, (y.mean(), exact, se)
    assert abs(y.mean() - sgd_stationary_variance(k, lr, sigma2, B, 1.0)) > 4 * se  # f is resolved
    assert abs(y.mean() - lr * f * sigma2 / (2 * B * k)) > 4 * se  # and so is the finite-η correction
    # the noise is additive: the measured temperature is the same at every point, η f σ² / (2B)
    assert res.kT_eff == pytest.approx([lr * f * sigma2 / (2 * B)] * 3, rel=1e-10)
    assert res.noise_steps.tolist() == [0, 2500, 5000]


def test_sgd_with_gaussian_noise_and_langevin_at_kt_eff_have_the_same_stationary_law():
    L = DoubleWell(k=2.0)  # y-direction: quadratic of stiffness 2
    lr, B, sigma = 0.1, 4, 2.0
    cmp = compare_sgd_langevin(L, np.array([1.0, 0.0]), lr=lr, batch_size=B, n_steps=400, noise_std=sigma,
                               n_walkers=3000, rng=5)
    assert cmp.kT_eff == pytest.approx(lr * sigma**2 / (2 * B))
    exact_y = sgd_stationary_variance(2.0, lr, sigma**2, B)
    se = exact_y * math.sqrt(2 / 3000)
    assert abs(np.mean(cmp.sgd[:, 1] ** 2) - exact_y) < 4 * se
    assert abs(np.mean(cmp.langevin[:, 1] ** 2) - exact_y) < 4 * se
    # same kernel in law: the x-marginals (double well, non-Gaussian) agree too
    assert stats.ks_2samp(cmp.sgd[:, 0], cmp.langevin[:, 0]).pvalue > 1e-3


def test_minibatch_noise_from_a_finite_population_uses_the_without_replacement_factor():
    L = DoubleWell(k=1.0)
    offsets = np.column_stack([np.zeros(10), np.where(np.arange(10) < 5, 1.5, -1.5)])  # two-point noise in y
    lr, B = 0.2, 3
    cmp = compare_sgd_langevin(L, np.array([-1.0, 0.0]), lr=lr, batch_size=B, n_steps=300, offsets=offsets,
                               n_walkers=3000, rng=6)
    f = (10 - B) / 9
    assert cmp.noise_cov == pytest.approx(np.diag([0.0, f * 2.25 / B]))
    assert cmp.kT_eff == pytest.approx(lr * f * 2.25 / (2 * B * 2))
    exact_y = sgd_stationary_variance(1.0, lr, 2.25, B, f)
    se = exact_y * math.sqrt(2 / 3000)  # Gaussian SE; y is a sum of many batch means, close to Gaussian
    assert abs(np.mean(cmp.sgd[:, 1] ** 2) - exact_y) < 4 * se


class Killed(RuntimeError):
    pass


class KilledAfter:
    def __init__(self, inner, limit):
        self.inner, self.limit, self.calls = inner, limit, 0

    def __getattr__(self, item):
        return getattr(self.inner, item)

    def on_batch(self, rng, batch_size=None):
        self.calls += 1
        if self.calls > self.limit:
            raise Killed
        return self.inner.on_batch(rng, batch_size)


def test_resume_after_a_kill_reproduces_the_uninterrupted_run_bit_for_bit():
    L, _, _ = regression(n=32, p=2)
    x0 = L.initial_point()
    kw = dict(lr=0.05, batch_size=4, n_steps=60, record_every=5, record_positions=True, measure_every=20,
              noise_options={"n_samples": 16, "seed": 3}, quench_every=30, checkpoint_every=10)
    # sinks without the landscape: InMemoryMinima hands NumPy copies to the network symmetry, which
    # wants tensors (reported); one minimum here, so plain Euclidean identity is exact
    full = sgd_thermostat(L, x0, rng=8, sink=InMemoryMinima(), **kw)
    sink = InMemoryMinima()
    with pytest.raises(Killed):
        sgd_thermostat(KilledAfter(L, 45), x0, rng=8, sink=sink, **kw)
    again = sgd_thermostat(L, x0, rng=8, sink=sink, **kw)
    assert again.resumed_from == 40
    assert torch.equal(again.x, full.x)
    for name in ("batch_losses", "steps", "losses", "trajectory", "kT_eff"):
        assert np.array_equal(getattr(again, name), getattr(full, name)), name
    # a linear model's MSE loss has one minimum: the least-squares solution
    assert len(full.sink) == 1 and [q[0] for q in full.quenches] == [30, 60]


def test_refusals_are_named():
    with pytest.raises(NotSupportedError, match="network landscape"):
        gradient_noise(DoubleWell(), np.zeros(2), lr=0.1, batch_size=1)
    L, _, _ = regression()
    with pytest.raises(ValueError, match="batch_size"):
        gradient_noise(L, L.initial_point(), lr=0.1, batch_size=41)
    with pytest.raises(ValueError, match="ηk"):
        sgd_stationary_variance(2.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        compare_sgd_langevin(DoubleWell(), np.zeros(2), lr=0.1, batch_size=1, n_steps=1)
