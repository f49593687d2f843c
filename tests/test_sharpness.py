"""Sharpness and flatness measures against analytic values, dense Hessians and brute force,
and the Dinh et al. (2017) rescaling claims on a ReLU MLP.

References are independent of the code under test: E = ½ xᵀAx (worst ℓ2 case ½ρ²λmax(A),
ℓ∞ case by enumerating the cube's vertices, Gaussian average ½ρ² tr A, PAC-Bayes σ² = 2b/tr A),
grid maxima in 2-D, ``torch.func.hessian`` of a loss closure written here, and network outputs
computed with ``torch.func.functional_call`` on hand-rescaled weights.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

from levinthal.curvature.sharpness import (
    average_sharpness,
    epsilon_sharpness,
    hessian_trace,
    lambda_max,
    pac_bayes_sigma,
    worst_case_sharpness,
)
from levinthal.landscape import NotSupportedError
from levinthal.minimize import minimize
from levinthal.symmetry.rescaling import rescale_layer, rescaling_diagonal
from levinthal.systems.networks.data import synthetic
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import mlp, reset_parameters
from levinthal.systems.regularized import L2Regularized

# torch.func.hessian's forward mode imports torch decompositions that warn about torch.jit.
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")


class Quadratic:
    """E(x) = ½ (x − c)ᵀ A (x − c), optionally + a cubic term (NumPy)."""

    def __init__(self, A, c=None, cubic=0.0):
        self.A = np.asarray(A, dtype=float)
        self.dim = self.A.shape[0]
        self.c = np.zeros(self.dim) if c is None else np.asarray(c, dtype=float)
        self.cubic = cubic
        self.name = "quadratic"

    def energy(self, x):
        d = x - self.c
        return 0.5 * float(d @ self.A @ d) + self.cubic * float(d[0] ** 3) + 1.0 * (self.cubic != 0)

    def energy_gradient(self, x):
        d = x - self.c
        g = self.A @ d
        g[0] += 3 * self.cubic * d[0] ** 2
        return self.energy(x), g

    def energies(self, X):
        D = X - self.c
        quad = 0.5 * np.einsum("ij,jk,ik->i", D, self.A, D)
        return quad + self.cubic * D[:, 0] ** 3 + 1.0 * (self.cubic != 0)

    def hvp(self, x, v):
        d = x - self.c
        Hv = self.A @ v
        Hv[0] += 6 * self.cubic * d[0] * v[0]
        return Hv


class RowQuadratics:
    """Mean over samples i of ½ (a_iᵀ x)²: a data set of quadratics with ``minibatch``."""

    def __init__(self, rows):
        self.rows = np.asarray(rows, dtype=float)
        self.dim = self.rows.shape[1]
        self.n_samples = self.rows.shape[0]
        self.name = f"row-quadratics({self.n_samples})"

    def matrix(self, idx=None):
        R = self.rows if idx is None else self.rows[idx]
        return R.T @ R / R.shape[0]

    def energy(self, x):
        return 0.5 * float(np.mean((self.rows @ x) ** 2))

    def energy_gradient(self, x):
        return self.energy(x), self.matrix() @ x

    def hvp(self, x, v):
        return self.matrix() @ v

    def minibatch(self, idx):
        return RowQuadratics(self.rows[np.asarray(idx)])


def spd(rng, eigenvalues):
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T


EIGS = np.array([5.0, 2.0, 1.0, 0.5, 0.2])


# ------------------------------------------------------------------------- quadratic: analytic


def test_worst_case_l2_sharpness_at_quadratic_minimum_is_half_rho2_lambda_max():
    A = spd(np.random.default_rng(0), EIGS)
    rho = 0.3
    res = worst_case_sharpness(Quadratic(A), np.zeros(5), rho, tol=1e-7, steps=500, rng=1)
    assert res.converged, res.message
    assert res.value == pytest.approx(0.5 * rho**2 * EIGS.max(), rel=1e-10)
    assert np.linalg.norm(res.perturbation) == pytest.approx(rho, rel=1e-12)


def test_worst_case_linf_sharpness_equals_best_vertex_of_the_cube():
    A = spd(np.random.default_rng(1), EIGS)
    rho = 0.2
    brute = max(0.5 * rho**2 * np.array(v) @ A @ np.array(v) for v in itertools.product([-1, 1], repeat=5))
    res = worst_case_sharpness(Quadratic(A), np.zeros(5), rho, norm="linf", restarts=8, tol=1e-7, rng=3)
    assert res.converged, res.message
    assert res.value == pytest.approx(brute, rel=1e-12)
    assert np.allclose(np.abs(res.perturbation), rho)


def test_adaptive_worst_case_on_quadratic_is_max_of_the_scaled_matrix():
    # δ = |x| ⊙ u, ‖u‖ ≤ ρ around the minimum c: max = ½ρ² λmax(T A T), T = diag(|c|).
    rng = np.random.default_rng(2)
    A = spd(rng, EIGS)
    c = rng.uniform(0.5, 2.0, 5) * rng.choice([-1, 1], 5)
    T = np.diag(np.abs(c))
    res = worst_case_sharpness(Quadratic(A, c), c, 0.1, adaptive=True, tol=1e-7, steps=1000, rng=0)
    assert res.converged, res.message
    assert res.value == pytest.approx(0.5 * 0.01 * np.linalg.eigvalsh(T @ A @ T).max(), rel=1e-9)


@pytest.mark.parametrize(("distribution", "factor"),
                         [("gaussian", 1.0), ("l2-ball", 1 / 7), ("linf-ball", 1 / 3)])
def test_average_sharpness_is_half_rho2_trace_in_expectation(distribution, factor):
    A = spd(np.random.default_rng(3), EIGS)
    rho = 0.1
    res = average_sharpness(Quadratic(A), np.zeros(5), rho, distribution=distribution, n_samples=4000, rng=5)
    exact = 0.5 * rho**2 * EIGS.sum() * factor  # E[uuᵀ] = ρ²I, ρ²I/(d+2), ρ²I/3
    assert abs(res.value - exact) < 4 * res.standard_error
    assert res.standard_error < 0.05 * exact


def test_pac_bayes_sigma_matches_closed_form_for_a_quadratic():
    A = spd(np.random.default_rng(4), EIGS)
    bound, n = 0.1, 4000
    res = pac_bayes_sigma(Quadratic(A), np.zeros(5), bound=bound, n_samples=n, rtol=1e-6, rng=7)
    assert res.converged, res.message
    # ½σ² mean(ξᵀAξ) = bound; mean(ξᵀAξ) has relative s.e. sqrt(2 Σλ²/n)/tr A.
    rel_se = np.sqrt(2 * (EIGS**2).sum() / n) / EIGS.sum()
    assert abs(res.value**2 * EIGS.sum() / (2 * bound) - 1) < 4 * rel_se
    assert res.details["flatness"] == pytest.approx(1 / res.value**2)


def test_magnitude_aware_pac_bayes_sigma_matches_closed_form_for_a_quadratic():
    # u_i ∼ N(0, σ'² c_i²) around the minimum c: E ΔL = ½ σ'² Σ A_ii c_i².
    rng = np.random.default_rng(5)
    A = spd(rng, EIGS)
    c = rng.uniform(0.5, 2.0, 5)
    res = pac_bayes_sigma(Quadratic(A, c), c, magnitude_aware=True, magnitude_eps=0.0, n_samples=4000,
                          rtol=1e-6, rng=8)
    exact = np.sqrt(2 * 0.1 / np.sum(np.diag(A) * c**2))
    assert res.converged, res.message
    assert res.value == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize("method", ["pga", "l-bfgs-b"])
def test_epsilon_sharpness_matches_grid_maximum_in_2d(method):
    A = np.array([[2.0, 0.6], [0.6, 1.0]])
    c = np.array([0.7, -1.3])
    L = Quadratic(A, c, cubic=0.8)  # non-quadratic, E(c) = 1
    eps = 0.05
    r = eps * (np.abs(c) + 1.0)
    g1, g2 = np.meshgrid(np.linspace(-r[0], r[0], 801), np.linspace(-r[1], r[1], 801))
    grid = L.energies(c + np.stack([g1.ravel(), g2.ravel()], axis=1))
    e0 = L.energy(c)
    brute = 100 * (grid.max() - e0) / (1 + e0)
    res = epsilon_sharpness(L, c, eps, method=method, restarts=4, rng=0)
    assert res.value == pytest.approx(brute, rel=1e-6)
    assert res.value >= brute - 1e-12  # the grid cannot beat the maximiser (max at a vertex here)


def test_epsilon_sharpness_in_a_one_dimensional_subspace_is_a_line_maximum():
    A = spd(np.random.default_rng(6), EIGS)
    L = Quadratic(A)
    res = epsilon_sharpness(L, np.zeros(5), 0.1, subspace_dim=1, rng=2)
    a = res.perturbation / np.linalg.norm(res.perturbation)  # the subspace's unit column
    # C_ε = |y| ≤ ε (|aᵀx| + 1) = ε at x = 0: max ½ ε² aᵀAa, in percent of 1 + 0.
    assert res.value == pytest.approx(100 * 0.5 * 0.01 * a @ A @ a, rel=1e-12)


def test_m_sharpness_is_the_mean_of_per_batch_worst_cases():
    rng = np.random.default_rng(7)
    L = RowQuadratics(rng.standard_normal((24, 4)))
    rho = 0.5
    res = worst_case_sharpness(L, np.zeros(4), rho, m=6, tol=1e-7, steps=2000, rng=11)
    batches = res.details["batch_indices"]
    assert len(batches) == 4
    assert sorted(np.concatenate(batches).tolist()) == list(range(24))
    exact = [0.5 * rho**2 * np.linalg.eigvalsh(L.matrix(b)).max() for b in batches]
    assert res.value == pytest.approx(np.mean(exact), rel=1e-8)
    assert res.details["batch_values"] == pytest.approx(exact, rel=1e-8)


def test_m_sharpness_keeps_the_l2_penalty_on_each_batch():
    rng = np.random.default_rng(8)
    L = L2Regularized(RowQuadratics(rng.standard_normal((12, 3))), 0.3)
    res = worst_case_sharpness(L, np.zeros(3), 0.2, m=4, tol=1e-7, steps=2000, rng=1)
    inner = L.inner
    exact = [0.5 * 0.04 * (np.linalg.eigvalsh(inner.matrix(b)).max() + 0.3)
             for b in res.details["batch_indices"]]
    assert res.value == pytest.approx(np.mean(exact), rel=1e-8)


def test_m_sharpness_refuses_a_landscape_without_samples():
    with pytest.raises(NotSupportedError, match=r"minibatch|n_samples"):
        worst_case_sharpness(Quadratic(np.eye(2)), np.zeros(2), 0.1, m=2)


def test_same_seed_same_values_and_other_seed_other_samples():
    A = spd(np.random.default_rng(9), EIGS)
    L = Quadratic(A)
    x = np.full(5, 0.1)
    a = average_sharpness(L, x, 0.1, rng=3).value
    assert average_sharpness(L, x, 0.1, rng=3).value == a
    assert average_sharpness(L, x, 0.1, rng=4).value != a
    w = worst_case_sharpness(L, x, 0.1, steps=5, rng=3)
    assert worst_case_sharpness(L, x, 0.1, steps=5, rng=3).value == w.value
    assert pac_bayes_sigma(L, x, rng=2).value == pac_bayes_sigma(L, x, rng=2).value


# ------------------------------------------------------------------------- ReLU MLP


@pytest.fixture(scope="module")
def relu_net():
    """A 2-8-6-3 ReLU MLP (float64) on 48 synthetic blob samples, trained 150 L-BFGS steps."""
    data = synthetic("blobs", seed=1, n_samples=60, n_classes=3, noise=0.8)
    model = reset_parameters(mlp([2, 8, 6, 3], "relu").double(), 3)
    land = NetworkLandscape(model, data.train_inputs, data.train_targets)
    x = minimize(land, land.initial_point(), max_iterations=150, memory=4, max_step=0.1).x
    return land, x, data


def loss_closure(land, inputs, targets):
    """The mean cross-entropy as a function of the flat vector, written here independently."""
    model = land.model
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]

    def loss(theta):
        params = {n: t.reshape(s) for n, t, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}
        return F.cross_entropy(functional_call(model, params, (inputs,)), targets)

    return loss


def test_lambda_max_and_trace_match_dense_hessian_of_relu_mlp(relu_net):
    land, x, data = relu_net
    H = torch.func.hessian(loss_closure(land, data.train_inputs, data.train_targets))(x)
    evals = torch.linalg.eigvalsh(0.5 * (H + H.T))
    lm = lambda_max(land, x, tol=1e-7)
    assert lm.converged, lm.message
    assert lm.value == pytest.approx(float(evals[-1]), rel=1e-8)
    tr = hessian_trace(land, x, n_matvec=3 * land.dim)  # the sketch spans the space: exact
    assert tr.value == pytest.approx(float(torch.trace(H)), rel=1e-8)
    tr_small = hessian_trace(land, x, n_matvec=30, rng=1)
    assert abs(tr_small.value - float(torch.trace(H))) < 5 * tr_small.standard_error + 1e-8


def test_rescaling_leaves_the_function_and_loss_exactly_unchanged(relu_net):
    land, x, data = relu_net
    for layer, alpha in [(0, 7.0), (1, 0.2)]:
        y = rescale_layer(x, layer, alpha, land.model)
        out_x = functional_call(land.model, land.unflatten(x), (data.test_inputs,))
        out_y = functional_call(land.model, land.unflatten(y), (data.test_inputs,))
        assert torch.allclose(out_x, out_y, rtol=1e-12, atol=1e-12)
        assert land.energy(y) == pytest.approx(land.energy(x), rel=1e-12)
        # by hand: the layer's weights and bias times α, the next weights divided by α
        p, q = land.unflatten(x), land.unflatten(y)
        assert torch.allclose(q[f"{2 * layer}.weight"], alpha * p[f"{2 * layer}.weight"])
        assert torch.allclose(q[f"{2 * layer}.bias"], alpha * p[f"{2 * layer}.bias"])
        assert torch.allclose(q[f"{2 * layer + 2}.weight"], p[f"{2 * layer + 2}.weight"] / alpha)
        assert torch.equal(q[f"{2 * layer + 2}.bias"], p[f"{2 * layer + 2}.bias"])


@settings(max_examples=25, deadline=None)
@given(layer=st.integers(0, 1), log_alpha=st.floats(-3.0, 3.0), seed=st.integers(0, 2**31 - 1))
def test_any_positive_unit_rescaling_leaves_relu_outputs_unchanged(relu_net, layer, log_alpha, seed):
    from levinthal.symmetry.rescaling import rescale_units

    land, x, data = relu_net
    h = land.model[2 * layer].out_features
    alphas = np.exp(log_alpha * np.random.default_rng(seed).uniform(-1, 1, h))
    y = rescale_units(x, layer, alphas, land.model)
    out_x = functional_call(land.model, land.unflatten(x), (data.test_inputs,))
    out_y = functional_call(land.model, land.unflatten(y), (data.test_inputs,))
    assert torch.allclose(out_x, out_y, rtol=1e-11, atol=1e-11)


def test_rescaling_changes_lambda_max_as_d_inverse_h_d_inverse(relu_net):
    land, x, data = relu_net
    alpha = 5.0
    y = rescale_layer(x, 0, alpha, land.model)
    H = torch.func.hessian(loss_closure(land, data.train_inputs, data.train_targets))(x)
    dinv = 1.0 / rescaling_diagonal(land.model, 0, alpha, x)
    expected = float(torch.linalg.eigvalsh(dinv[:, None] * H * dinv[None, :]).max())
    before, after = lambda_max(land, x, tol=1e-7).value, lambda_max(land, y, tol=1e-7).value
    assert after == pytest.approx(expected, rel=1e-7)
    assert abs(after / before - 1) > 0.2  # same function, different λmax (Dinh et al. 2017)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_adaptive_worst_case_m_sharpness_is_rescaling_invariant(relu_net, norm):
    land, x, _ = relu_net
    y = rescale_layer(rescale_layer(x, 0, 4.0, land.model), 1, 0.3, land.model)
    opts = dict(norm=norm, adaptive=True, m=16, steps=20, rng=5)
    rho = 0.05 if norm == "l2" else 0.01
    a = worst_case_sharpness(land, x, rho, **opts)
    b = worst_case_sharpness(land, y, rho, **opts)
    assert a.value > 0
    assert b.value == pytest.approx(a.value, rel=1e-8)
    assert a.parameters["n_batches"] == 3
    plain_a = worst_case_sharpness(land, x, rho, norm=norm, m=16, steps=20, rng=5).value
    plain_b = worst_case_sharpness(land, y, rho, norm=norm, m=16, steps=20, rng=5).value
    assert abs(plain_b / plain_a - 1) > 0.05  # the plain measure is not invariant


def test_adaptive_average_sharpness_is_rescaling_invariant(relu_net):
    land, x, _ = relu_net
    y = rescale_layer(x, 1, 3.0, land.model)
    a = average_sharpness(land, x, 0.1, adaptive=True, n_samples=40, rng=2)
    b = average_sharpness(land, y, 0.1, adaptive=True, n_samples=40, rng=2)
    assert b.value == pytest.approx(a.value, rel=1e-8)


def test_magnitude_aware_pac_bayes_sigma_is_rescaling_invariant(relu_net):
    land, x, _ = relu_net
    y = rescale_layer(x, 0, 6.0, land.model)
    opts = dict(magnitude_aware=True, magnitude_eps=0.0, bound=0.05, n_samples=8, rng=4)
    a = pac_bayes_sigma(land, x, **opts)
    b = pac_bayes_sigma(land, y, **opts)
    assert a.converged, a.message
    assert b.value == pytest.approx(a.value, rel=1e-8)
    plain_a = pac_bayes_sigma(land, x, bound=0.05, n_samples=8, rng=4).value
    plain_b = pac_bayes_sigma(land, y, bound=0.05, n_samples=8, rng=4).value
    assert abs(plain_b / plain_a - 1) > 0.05


def test_accuracy_criterion_pac_bayes_sigma_reaches_its_bound(relu_net):
    land, x, _ = relu_net
    res = pac_bayes_sigma(land, x, criterion="accuracy", bound=0.1, n_samples=4, rtol=1e-2, rng=0)
    assert res.details["accuracy"] == pytest.approx(land.accuracy(x))
    assert res.history["deviation"][res.history["sigma"].index(res.value)] <= 0.1 if res.value > 0 else True
    assert max(res.history["deviation"]) > 0.1


def test_rescaling_refuses_non_homogeneous_layers_and_bad_factors(relu_net):
    land, x, _ = relu_net
    with pytest.raises(ValueError, match="> 0"):
        rescale_layer(x, 0, -1.0, land.model)
    with pytest.raises(ValueError, match="hidden layer"):
        rescale_layer(x, 2, 2.0, land.model)
    tanh = mlp([2, 4, 3], "tanh").double()
    with pytest.raises(ValueError, match="ReLU"):
        theta = torch.zeros(sum(p.numel() for p in tanh.parameters()), dtype=torch.float64)
        rescale_layer(theta, 0, 2.0, tanh)


def test_adaptive_sharpness_with_eta_zero_refuses_zero_coordinates():
    with pytest.raises(ValueError, match="eta"):
        worst_case_sharpness(Quadratic(np.eye(2)), np.array([0.0, 1.0]), 0.1, adaptive=True)


# ------------------------------------------------------------------------- CLI


def test_cli_sharpness_reports_every_measure_as_json(capsys, tmp_path):
    import json

    from levinthal.cli.main import main

    point = tmp_path / "min.npy"
    np.save(point, np.array([1.0, 0.0]))  # a minimum of the double well: λ = 8 and 1 there
    assert main(["sharpness", "double-well", "--point", str(point), "--m", "full", "4", "--eta", "0.1",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["measure"]: r for r in out["measures"] if "value" in r}
    assert rows["lambda_max"]["value"] == pytest.approx(8.0, rel=1e-8)
    assert rows["hessian_trace"]["value"] == pytest.approx(9.0, rel=1e-8)
    for name in ("epsilon_sharpness", "worst_l2", "worst_linf", "average_gaussian", "pac_bayes_sigma",
                 "pac_bayes_sigma_magnitude"):
        assert name in rows
    refused = [r for r in out["measures"] if "refused" in r]
    assert len(refused) == 4  # m = 4 needs samples: the four worst-case rows of m = 4
    assert all("minibatch" in r["refused"] or "n_samples" in r["refused"] for r in refused)
    assert rows["worst_l2_adaptive"]["parameters"]["eta"] == 0.1


def test_cli_sharpness_prints_a_table(capsys):
    from levinthal.cli.main import main

    assert main(["sharpness", "muller-brown", "--samples", "20", "--pac-samples", "4"]) == 0
    text = capsys.readouterr().out
    assert "lambda_max" in text and "worst_l2_adaptive" in text and "flatness" in text
