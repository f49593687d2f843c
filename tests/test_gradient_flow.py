"""Gradient flow dx/dt = −∇E: the recorded path is the exact flow, and its energy obeys dE/dt = −‖∇E‖²."""

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.integrate import solve_ivp

from levinthal.minimize import GradientFlowResult, gradient_flow, minimize
from levinthal.systems.analytic import MullerBrown


class Quadratic:
    """E = ½ xᵀAx, whose flow is x(t) = exp(−At) x0."""

    name = "quadratic"

    def __init__(self, A):
        self.A = A
        self.dim = len(A)

    def energy(self, x):
        return 0.5 * float(x @ self.A @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.A @ x

    def hvp(self, x, v):
        return self.A @ v

    def hessian(self, x):
        return self.A


class TorchQuadratic(Quadratic):
    name = "torch-quadratic"

    def energy_gradient(self, x):
        assert isinstance(x, torch.Tensor)
        return self.energy(x), self.A @ x


@pytest.fixture
def quadratic(rng):
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    A = (Q * np.array([0.3, 0.7, 1.0, 2.0, 4.0])) @ Q.T
    return A, rng.normal(size=5)


def energy_identity_residual(landscape, r):
    """Per step: ΔE − (−∫‖∇E‖² dt) with the end-corrected trapezoid rule (error O(h⁵)),
    using d‖∇E‖²/dt = −2 ∇Eᵀ H ∇E along the flow. Returns (residuals, |ΔE|)."""
    X = np.array([np.asarray(x) for x in r.path])
    grads = np.array([landscape.energy_gradient(x)[1] for x in X])
    hess = [landscape.hessian(x) for x in X]
    G = (grads**2).sum(1)
    dG = np.array([-2 * g @ H @ g for g, H in zip(grads, hess, strict=True)])
    h = np.diff(r.path_times)
    integral = h / 2 * (G[1:] + G[:-1]) + h**2 / 12 * (dG[:-1] - dG[1:])
    dE = np.diff(r.energies)
    return dE + integral, np.abs(dE)


def test_quadratic_flow_matches_the_matrix_exponential(quadratic):
    A, x0 = quadratic
    r = gradient_flow(Quadratic(A), x0, t_max=4.0, rtol=1e-9, atol=1e-12, rms_tol=0, path_every=40)
    assert isinstance(r, GradientFlowResult) and r.converged, r.message
    assert len(r.path) > 20
    assert r.times[-1] == pytest.approx(4.0, abs=1e-12)
    exact = np.array([scipy.linalg.expm(-A * t) @ x0 for t in r.path_times])
    np.testing.assert_allclose(np.array(r.path), exact, atol=2e-8)
    on_path = np.searchsorted(r.times, r.path_times)
    np.testing.assert_allclose(r.energies[on_path], [0.5 * x @ A @ x for x in exact], atol=1e-9)


def test_quadratic_flow_energy_obeys_de_dt_equals_minus_gradient_squared(quadratic):
    A, x0 = quadratic
    landscape = Quadratic(A)
    r = gradient_flow(landscape, x0, t_max=4.0, rtol=1e-10, atol=1e-13, rms_tol=0, path_every=1)
    residual, dE = energy_identity_residual(landscape, r)
    assert np.all(np.abs(residual) <= 1e-6 * dE + 1e-14)


def test_muller_brown_flow_matches_an_independent_high_order_integration():
    mb = MullerBrown()
    x0 = np.array([-0.3, 1.0])
    r = gradient_flow(mb, x0, t_max=0.02, rtol=1e-10, atol=1e-13, rms_tol=0, path_every=5)
    assert r.converged, r.message
    ref = solve_ivp(lambda t, x: -mb.energy_gradient(x)[1], (0.0, 0.02), x0, method="DOP853",
                    rtol=1e-13, atol=1e-14, max_step=1e-4, t_eval=r.path_times)
    np.testing.assert_allclose(np.array(r.path), ref.y.T, atol=1e-8)


def test_muller_brown_flow_energy_obeys_de_dt_equals_minus_gradient_squared():
    mb = MullerBrown()
    r = gradient_flow(mb, np.array([-0.3, 1.0]), t_max=0.02, rtol=1e-10, atol=1e-13, rms_tol=0,
                      path_every=1)
    residual, dE = energy_identity_residual(mb, r)
    assert np.all(np.abs(residual) <= 1e-5 * dE)
    # and summed over the whole path: E(t) − E(0) = −∫₀ᵗ ‖∇E‖² dt
    total = r.energies[-1] - r.energies[0]
    assert abs(residual.sum()) <= 1e-7 * abs(total)
    # the recorded ‖∇E‖² is the gradient at the recorded points
    np.testing.assert_allclose(r.gradient_norms_sq,
                               [np.sum(mb.energy_gradient(x)[1] ** 2) for x in r.path], rtol=1e-12)


@pytest.mark.parametrize("x0", [(-0.3, 1.0), (0.9, 0.6), (-1.2, 0.2), (0.1, 0.1)])
def test_recorded_energy_never_increases(x0):
    r = gradient_flow(MullerBrown(), np.array(x0), rtol=1e-4)
    assert r.converged, r.message
    assert np.all(np.diff(r.energies) <= 0.0)
    assert np.all(np.diff(r.times) > 0.0)


def test_flow_ends_at_the_minimum_of_its_basin():
    # the start (−0.3, 1.0) lies in the basin of the deepest Müller–Brown minimum
    r = minimize(MullerBrown(), np.array([-0.3, 1.0]), method="gradient_flow", rms_tol=1e-7)
    assert r.converged
    np.testing.assert_allclose(r.x, [-0.558224, 1.441726], atol=2e-6)
    assert r.energy == pytest.approx(-146.699517, abs=2e-6)


def test_flow_on_a_torch_landscape_stays_a_tensor_and_matches_the_exponential(quadratic):
    A, x0 = quadratic
    landscape = TorchQuadratic(torch.as_tensor(A))
    r = gradient_flow(landscape, torch.as_tensor(x0), t_max=2.0, rtol=1e-9, atol=1e-12, rms_tol=0,
                      path_every=3)
    assert r.converged and isinstance(r.x, torch.Tensor)
    assert all(isinstance(p, torch.Tensor) for p in r.path)
    np.testing.assert_allclose(r.x.numpy(), scipy.linalg.expm(-2.0 * A) @ x0, atol=2e-8)
    assert np.all(np.diff(r.energies) <= 0.0)
