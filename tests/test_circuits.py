"""Gene circuits: the toggle switch, its fixed points and saddle-node, and the Fokker–Planck
landscape-and-flux tools checked against a gradient system whose density is exp(−V/D)/Z."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.landscape import LandscapeError, ShapeError
from levinthal.minimize import minimize
from levinthal.systems.analytic import DoubleWell
from levinthal.systems.circuits import (
    DynamicalSystem,
    GradientDrift,
    Grid2D,
    ToggleSwitch,
    curl,
    first_passage_times,
    gradient_test,
    quasi_potential_landscape,
    simulate,
    stationary_density,
)


@dataclass
class CoupledDoubleWell:
    """V = (x² − 1)² + ½ y² + c y sin 2x: a gradient system whose drift is not separable.

    (A bilinear or x²y coupling would not do: the midpoint rule then integrates the drift
    around every grid plaquette exactly, the discrete chain is reversible and the flux is 0
    to rounding; with sin 2x it is a genuine O(h²) discretisation error.)
    """

    c: float = 0.5
    name: str = "coupled-double-well"
    dim: int = 2

    def energy(self, p):
        x, y = p
        return (x * x - 1.0) ** 2 + 0.5 * y * y + self.c * y * np.sin(2 * x)

    def energy_gradient(self, p):
        x, y = p
        return self.energy(p), np.array([4.0 * x * (x * x - 1.0) + 2 * self.c * y * np.cos(2 * x),
                                         y + self.c * np.sin(2 * x)])

    def hessian(self, p):
        x, y = p
        hxy = 2 * self.c * np.cos(2 * x)
        return np.array([[12.0 * x * x - 4.0 - 4 * self.c * y * np.sin(2 * x), hxy], [hxy, 1.0]])


@dataclass
class Quadratic:
    """V = ½ (k1 x² + k2 y²): an Ornstein–Uhlenbeck process under the gradient flow."""

    k1: float = 1.0
    k2: float = 2.0
    name: str = "quadratic"
    dim: int = 2

    def energy_gradient(self, p):
        x, y = p
        return 0.5 * (self.k1 * x * x + self.k2 * y * y), np.array([self.k1 * x, self.k2 * y])

    def energy_gradients(self, X):
        k = np.array([self.k1, self.k2])
        return 0.5 * (X * X) @ k, X * k

    def hessian(self, p):
        return np.diag([self.k1, self.k2])


def _fd_jacobian(system, x, h=1e-6):
    J = np.empty((2, 2))
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        J[:, j] = (system.drift(x + e) - system.drift(x - e)) / (2 * h)
    return J


def test_toggle_switch_is_a_dynamical_system():
    assert isinstance(ToggleSwitch(), DynamicalSystem)
    assert isinstance(GradientDrift(CoupledDoubleWell()), DynamicalSystem)


@settings(max_examples=30, deadline=None)
@given(x=st.floats(0.01, 2.5), y=st.floats(0.01, 2.5), s=st.floats(0.0, 0.5),
       n=st.sampled_from([2.0, 3.5, 4.0]))
def test_toggle_drift_and_jacobian_match_finite_differences(x, y, s, n):
    t = ToggleSwitch(a=0.7, b=1.1, k=0.9, S=0.6, n=n, signal=s)
    p = np.array([x, y])
    assert np.allclose(t.jacobian(p), _fd_jacobian(t, p), rtol=1e-6, atol=1e-7)


def test_toggle_drift_formula_and_batches():
    t = ToggleSwitch(a=0.5, b=1.0, k=1.0, S=0.5, n=4, signal=0.1)
    x, y = 0.3, 0.9
    hill = lambda u: u**4 / (0.5**4 + u**4)  # noqa: E731
    expected = [0.5 * hill(x) + (1 - hill(y)) - x + 0.1, 0.5 * hill(y) + (1 - hill(x)) - y]
    assert np.allclose(t.drift([x, y]), expected, rtol=1e-14)
    X = np.array([[x, y], [1.0, 0.2], [0.0, 0.0]])
    assert np.allclose(t.drift(X), np.stack([t.drift(r) for r in X]), rtol=1e-14)
    assert t.jacobian(X).shape == (3, 2, 2)
    with pytest.raises(ShapeError):
        t.drift(np.zeros(3))


def test_curl_of_toggle_matches_closed_form_and_vanishes_for_a_gradient_flow():
    t = ToggleSwitch(a=0.5, b=1.0, k=1.0, S=0.5, n=4)
    dh = lambda u: 4 * 0.5**4 * u**3 / (0.5**4 + u**4) ** 2  # noqa: E731
    pts = np.array([[0.3, 0.9], [1.2, 0.4], [0.5, 0.5]])
    expected = -dh(pts[:, 0]) + dh(pts[:, 1])  # ∂f_y/∂x − ∂f_x/∂y
    assert np.allclose(curl(t, pts), expected, rtol=1e-12)
    assert curl(t, [0.5, 0.5]) == 0.0  # on the diagonal the mutual repression is symmetric
    assert abs(curl(t, [0.3, 0.9])) > 0.5  # off it, no potential can generate the drift
    g = GradientDrift(CoupledDoubleWell())
    assert np.allclose(curl(g, pts), 0.0, atol=1e-14)


def test_gradient_test_tells_the_circuit_from_a_gradient_flow():
    grid = Grid2D(0.0, 2.0, 0.0, 2.0, 30, 30)
    toggle = gradient_test(ToggleSwitch(), grid)
    assert not toggle.is_gradient and toggle.relative > 0.1
    flow = gradient_test(GradientDrift(CoupledDoubleWell()), Grid2D(-2, 2, -2, 2, 30, 30))
    assert flow.is_gradient and flow.max_curl == 0.0
    # with no mutual repression the genes decouple: f_x depends on x only, f_y on y only
    assert gradient_test(ToggleSwitch(b=0.0), grid).is_gradient


def test_symmetric_toggle_has_two_nodes_and_a_diagonal_saddle():
    t = ToggleSwitch()
    fps = t.fixed_points()
    assert [p.kind for p in fps] == ["stable", "saddle", "stable"]
    for p in fps:
        assert np.max(np.abs(t.drift(p.x))) < 1e-12
    low, saddle, high = fps
    assert abs(saddle.x[0] - saddle.x[1]) < 1e-10
    assert saddle.index == 1
    assert np.allclose(low.x, high.x[::-1], atol=1e-9)  # the two fates are mirror images
    assert np.all(low.eigenvalues.real < 0)


def test_strong_self_activation_gives_huang_tristable_switch():
    # Huang et al. 2007: with self-activation a = 1 a third (progenitor) attractor sits on x = y.
    fps = ToggleSwitch(a=1.0).fixed_points()
    assert [p.kind for p in fps] == ["stable", "saddle", "stable", "saddle", "stable"]
    mid = fps[2]
    assert np.allclose(mid.x, [1.0, 1.0], atol=1e-9)  # x = y = 1 solves both equations exactly


def test_signal_removes_one_fate_in_a_saddle_node_bifurcation():
    t = ToggleSwitch()
    sn = t.saddle_node(tol=1e-8)
    assert sn.converged and sn.residual < 1e-12
    assert 0.0 < sn.signal_fold < 1.0
    assert abs(sn.signal_bisection - sn.signal_fold) < 1e-7
    at = t.with_signal(sn.signal_fold)
    eig = np.linalg.eigvals(at.jacobian(sn.x_fold))
    assert np.min(np.abs(eig)) < 1e-7  # a simple zero eigenvalue: the fold condition det J = 0
    assert np.max(np.abs(at.drift(sn.x_fold))) < 1e-12
    before = t.with_signal(sn.signal_fold - 1e-4).fixed_points()
    after = t.with_signal(sn.signal_fold + 1e-4).fixed_points()
    assert [p.kind for p in before] == ["stable", "saddle", "stable"]
    assert [p.kind for p in after] == ["stable"]
    assert after[0].x[0] > after[0].x[1]  # the surviving fate is the one the signal favours


def _boltzmann(landscape, grid, D):
    V = np.array([landscape.energy(p) for p in grid.points()]).reshape(grid.nx, grid.ny)
    P = np.exp(-(V - V.min()) / D)
    return P / (P.sum() * grid.hx * grid.hy)


def test_fokker_planck_of_a_gradient_flow_is_the_boltzmann_density():
    V = CoupledDoubleWell()
    D = 0.3
    errors, fluxes = [], []
    for n in (40, 80):
        grid = Grid2D(-2.5, 2.5, -3.0, 3.0, n, n)
        sd = stationary_density(GradientDrift(V), D, grid)
        ref = _boltzmann(V, grid, D)
        errors.append(np.max(np.abs(sd.density - ref)) / ref.max())
        fluxes.append(sd.flux_fraction())
    assert errors[1] < 3e-3
    assert 3.0 < errors[0] / errors[1] < 5.0  # second order in the grid spacing
    # the flux is discretisation error only: small and second order
    assert fluxes[1] < 1e-4 and 3.0 < fluxes[0] / fluxes[1] < 5.0


def test_toggle_stationary_density_is_normalised_positive_and_peaked_at_the_fates():
    t = ToggleSwitch()
    grid = Grid2D(0.0, 2.1, 0.0, 2.1, 70, 70)
    sd = stationary_density(t, 0.02, grid)
    assert abs(sd.density.sum() * grid.hx * grid.hy - 1.0) < 1e-12
    assert sd.density.min() >= 0.0
    low, saddle, high = t.fixed_points()
    assert np.allclose(sd.density, sd.density.T, rtol=1e-8, atol=1e-12 * sd.density.max())
    peak = grid.points()[np.argmax(sd.density)]
    assert min(np.linalg.norm(peak - low.x), np.linalg.norm(peak - high.x)) <= np.hypot(grid.hx, grid.hy)
    p_low, p_high, p_saddle = (sd.probability_near(q.x, 0.3) for q in (low, high, saddle))
    assert p_low > 0.3 and p_high > 0.3 and p_saddle < 0.01 * p_low
    # U = −ln P is lowest at the fates and higher at the saddle
    i_s = np.argmin(np.linalg.norm(grid.points() - saddle.x, axis=1))
    assert sd.quasi_potential.reshape(-1)[i_s] > sd.quasi_potential.min() + 5.0


def test_toggle_drift_splits_into_potential_and_flux_parts():
    t = ToggleSwitch()
    grid = Grid2D(0.0, 2.1, 0.0, 2.1, 70, 70)
    sd = stationary_density(t, 0.02, grid)
    grad_part, flux_part = sd.decomposition()
    ok = sd.resolved()
    w = sd.density[ok]
    recon = np.linalg.norm((grad_part + flux_part - sd.drift)[ok], axis=-1)
    scale = np.linalg.norm(sd.drift[ok], axis=-1)
    assert np.sum(w * recon) / np.sum(w * scale) < 0.01
    assert sd.flux_fraction() > 0.05  # a non-gradient circuit carries a stationary flux
    # no flux through the walls, and the discrete flux is divergence free
    assert np.all(sd.flux_x[[0, -1]] == 0.0) and np.all(sd.flux_y[:, [0, -1]] == 0.0)
    div = (np.diff(sd.flux_x, axis=0) / grid.hx + np.diff(sd.flux_y, axis=1) / grid.hy)
    assert np.max(np.abs(div)) < 1e-9 * np.max(np.abs(sd.flux_x))


def test_quasi_potential_landscape_minimum_sits_at_a_fate():
    # Huang's tristable switch: the progenitor attractor (1, 1) lies inside the box
    t = ToggleSwitch(a=1.0)
    grid = Grid2D(0.0, 2.6, 0.0, 2.6, 65, 65)
    L = quasi_potential_landscape(t, 0.05, grid)
    r = minimize(L, np.array([1.15, 0.9]))
    assert r.converged
    assert np.linalg.norm(r.x - [1.0, 1.0]) < 2 * grid.hx
    # outside the box a harmonic wall, not the spline's extrapolation
    e_in = L.energy([grid.x[0], 1.0])
    assert abs(L.energy([-0.1, 1.0]) - (e_in + 0.5 * L.wall * (grid.x[0] + 0.1) ** 2)) < 1e-9
    # gradient-system check: U differences are V differences over D
    V = CoupledDoubleWell()
    g2 = Grid2D(-2.5, 2.5, -3.0, 3.0, 80, 80)
    L2 = quasi_potential_landscape(GradientDrift(V), 0.3, g2)
    a, b = np.array([1.0, -0.4]), np.array([0.0, 0.0])
    assert abs((L2.energy(b) - L2.energy(a)) - (V.energy(b) - V.energy(a)) / 0.3) < 0.02
    _, g = L2.energy_gradient(a)
    h = 1e-5
    fd = [(L2.energy(a + h * u) - L2.energy(a - h * u)) / (2 * h) for u in np.eye(2)]
    assert np.allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_euler_maruyama_reproduces_the_exact_ar1_variance():
    # dX = −k X dt + √(2D) dW in Euler–Maruyama is the AR(1) chain X' = (1 − k dt) X + √(2D dt) ξ,
    # whose stationary variance is 2D / (k (2 − k dt)) exactly.
    q = Quadratic(k1=1.0, k2=2.0)
    D, dt = 0.5, 0.05
    rng = np.random.default_rng(3)
    traj = simulate(GradientDrift(q), np.zeros((4000, 2)), D, dt, 200, rng, record_every=200,
                    reflect_at_zero=False)
    X = traj[-1]
    for axis, k in ((0, q.k1), (1, q.k2)):
        exact = 2 * D / (k * (2 - k * dt))
        # sample variance of 4000 Gaussians: relative standard error sqrt(2/4000) ≈ 2.2 %
        assert abs(X[:, axis].var() / exact - 1) < 0.09


def test_first_passage_time_matches_the_exact_one_dimensional_mfpt():
    # Separable double well V = (x² − 1)² + ½ y²: the time to reach x ≥ b from x = a is the
    # 1-D mean first-passage time T = (1/D) ∫_a^b e^{V(y)/D} ∫_{−∞}^y e^{−V(z)/D} dz dy
    # (Gardiner, Handbook of Stochastic Methods, §5.2.7).
    D, a, b = 0.3, -1.0, 0.8
    z = np.linspace(-3.0, b, 40001)
    v = (z * z - 1.0) ** 2
    inner = np.concatenate([[0.0], np.cumsum(0.5 * (np.exp(-v[1:] / D) + np.exp(-v[:-1] / D)) * np.diff(z))])
    outer = np.exp(v / D) * inner
    m = z >= a
    exact = np.trapezoid(outer[m], z[m]) / D
    fp = first_passage_times(GradientDrift(DoubleWell()), [a, 0.0], D, 0.002, lambda X: X[:, 0] >= b,
                             np.random.default_rng(8), n_walkers=600, max_steps=200_000,
                             reflect_at_zero=False)
    assert fp.censored == 0 and fp.arrived == 600
    # 600 roughly exponential times: relative standard error ≈ 4 %; discrete monitoring adds a
    # small positive bias
    assert abs(fp.mean / exact - 1.0) < 0.12


def test_simulate_without_noise_flows_to_the_nearest_fate_and_stays_non_negative():
    t = ToggleSwitch()
    rng = np.random.default_rng(0)
    traj = simulate(t, [0.9, 0.3], 0.0, 0.01, 3000, rng)
    assert traj.shape == (3001, 2)
    assert np.allclose(traj[-1], t.fixed_points()[-1].x, atol=1e-6)
    noisy = simulate(t, np.full((50, 2), 0.05), 0.05, 0.01, 500, rng, record_every=50)
    assert noisy.shape == (11, 50, 2) and noisy.min() >= 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        ToggleSwitch(k=0.0)
    with pytest.raises(ValueError):
        stationary_density(ToggleSwitch(), 0.0, Grid2D(0, 2, 0, 2, 10, 10))
    with pytest.raises(ValueError):
        Grid2D(0, 2, 0, 2, 2, 10)
    with pytest.raises(TypeError):
        simulate(ToggleSwitch(), [0.5, 0.5], 0.1, 0.01, 10, 0)
    with pytest.raises(LandscapeError):
        ToggleSwitch(b=0.1).saddle_node()  # weak repression: only one stable state to start with
