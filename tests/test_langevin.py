"""Langevin dynamics: stationary laws against exact values (harmonic wells, quadrature of the
double well), MALA exactness, BAOAB's configurational temperature, torch landscapes, and
bit-for-bit resume after a kill.

Statistics: walkers are independent, so their final positions are i.i.d. draws of the chain's
law at that time; every tolerance is 4 standard errors computed from the *known* variance of
the estimator (e.g. SE(⟨x²⟩) = Var·√(2/N) for a Gaussian of variance Var).
"""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from levinthal.explore.langevin import configurational_temperature, langevin, overdamped_stationary_variance
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import LandscapeError
from levinthal.systems.analytic import DoubleWell, TiltedDoubleWell
from levinthal.systems.registry import make_system


class Harmonic:
    """E = ½ k |x|² in ``dim`` dimensions, batched."""

    def __init__(self, dim=1, k=1.0):
        self.name, self.dim, self.k, self.symmetry = f"harmonic{dim}", dim, k, None

    def energy(self, x):
        return 0.5 * self.k * float(x @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.k * np.asarray(x, dtype=float)

    def energies(self, X):
        return 0.5 * self.k * (X * X).sum(1)

    def energy_gradients(self, X):
        return self.energies(X), self.k * X

    def hvp(self, x, v):
        return self.k * np.asarray(v, dtype=float)

    def hessian(self, x):
        return self.k * np.eye(self.dim)


class Killed(RuntimeError):
    pass


class KilledAfter:
    """Forwards to ``inner`` and raises :class:`Killed` after ``limit`` evaluations (a kill -9)."""

    def __init__(self, inner, limit):
        self.inner, self.limit, self.calls = inner, limit, 0
        self.name, self.dim, self.symmetry = inner.name, inner.dim, getattr(inner, "symmetry", None)

    def __getattr__(self, item):  # native_point, random_point ...
        return getattr(self.inner, item)

    def _tick(self):
        self.calls += 1
        if self.calls > self.limit:
            raise Killed

    def energy(self, x):
        self._tick()
        return self.inner.energy(x)

    def energy_gradient(self, x):
        self._tick()
        return self.inner.energy_gradient(x)

    def energies(self, X):
        self._tick()
        return self.inner.energies(X)

    def energy_gradients(self, X):
        self._tick()
        return self.inner.energy_gradients(X)

    def hvp(self, x, v):
        return self.inner.hvp(x, v)


def mean_square_within(samples, exact_var, n_se=4.0):
    """⟨x²⟩ of zero-mean Gaussian-like samples vs ``exact_var``, SE = exact_var·√(2/N)."""
    ms = float(np.mean(samples**2))
    se = exact_var * math.sqrt(2.0 / samples.size)
    return abs(ms - exact_var) <= n_se * se, ms, se


def test_euler_maruyama_variance_is_the_exact_ar1_value_not_boltzmann():
    L = Harmonic(1, k=2.0)
    kT, tau = 0.5, 0.2  # τk = 0.4: EM variance kT/(k(1 − 0.2)) = 0.3125, Boltzmann 0.25
    res = langevin(L, np.zeros((4000, 1)), kT=kT, dt=tau, friction=1.0, n_steps=80, method="overdamped",
                   rng=1, record_every=80)
    x = res.x[:, 0]
    exact = overdamped_stationary_variance(2.0, kT, tau)
    assert exact == pytest.approx(0.3125)
    ok, ms, se = mean_square_within(x, exact)
    assert ok, (ms, exact, se)
    assert abs(ms - kT / 2.0) > 4 * se  # the O(τ) bias of Euler–Maruyama is real and resolved
    assert res.steps.tolist() == [0, 80] and res.energies.shape == (2, 4000)
    assert res.counts.gradient == (80 + 1) * 4000  # one per step, one for the energies at the last step


def test_mala_is_exact_at_a_step_where_euler_maruyama_is_biased():
    L = Harmonic(1, k=2.0)
    kT = 0.5
    res = langevin(L, np.zeros((4000, 1)), kT=kT, dt=0.2, n_steps=150, method="mala", rng=2,
                   record_every=150)
    ok, ms, se = mean_square_within(res.x[:, 0], kT / 2.0)
    assert ok, (ms, kT / 2.0, se)
    assert 0.5 < res.acceptance.mean() < 1.0


def test_baoab_configurations_exact_on_a_harmonic_well_at_large_dt():
    # BAOAB's configurational marginal is exact for a harmonic oscillator (Leimkuhler & Matthews 2013)
    L = Harmonic(2, k=1.0)
    kT = 0.7
    res = langevin(L, np.zeros((3000, 2)), kT=kT, dt=1.0, friction=1.0, n_steps=100, method="baoab", rng=3,
                   record_every=100)
    ok, ms, se = mean_square_within(res.x.reshape(-1), kT)
    assert ok, (ms, kT, se)


def _double_well_x_cdf(kT, h=1.0):
    grid = np.linspace(-3.0, 3.0, 6001)
    w = np.exp(-h * (grid**2 - 1) ** 2 / kT)
    cdf = integrate.cumulative_trapezoid(w, grid, initial=0.0)
    cdf /= cdf[-1]
    return lambda x: np.interp(x, grid, cdf)


@pytest.mark.parametrize("method, dt, n_steps", [("mala", 0.05, 400), ("overdamped", 0.002, 4000)])
def test_double_well_x_marginal_passes_ks_against_quadrature(method, dt, n_steps):
    L = make_system("double-well")
    kT = 1.0
    X0 = np.random.default_rng(4).uniform(-1.5, 1.5, size=(2000, 2))
    res = langevin(L, X0, kT=kT, dt=dt, n_steps=n_steps, method=method, rng=5, record_every=n_steps,
                   record_positions=False)
    ks = stats.kstest(res.x[:, 0], _double_well_x_cdf(kT))
    assert ks.pvalue > 1e-3, ks
    # the y-direction is a harmonic well of stiffness 1: ⟨y²⟩ = kT (MALA), kT/(1 − dt/2) (Euler–Maruyama)
    exact = kT if method == "mala" else overdamped_stationary_variance(1.0, kT, dt)
    ok, ms, se = mean_square_within(res.x[:, 1], exact)
    assert ok, (ms, se)


def test_tilted_double_well_occupation_ratio_matches_quadrature():
    L = TiltedDoubleWell(tilt=0.2)
    kT = 0.5
    f = lambda x: math.exp(-((x * x - 1) ** 2 + 0.2 * x) / kT)  # noqa: E731
    left = integrate.quad(f, -4, 0)[0]
    right = integrate.quad(f, 0, 4)[0]
    p_left = left / (left + right)
    X0 = np.column_stack([np.linspace(-1.2, 1.2, 3000), np.zeros(3000)])
    res = langevin(L, X0, kT=kT, dt=0.05, n_steps=600, method="mala", rng=6, record_every=600,
                   record_positions=False)
    frac = float(np.mean(res.x[:, 0] < 0))
    se = math.sqrt(p_left * (1 - p_left) / 3000)
    assert abs(frac - p_left) < 4 * se, (frac, p_left, se)
    assert p_left > 0.6  # the tilt favours the left well (E(−1) = −0.2 < E(1) = 0.2)


def test_baoab_configurational_temperature_on_the_double_well():
    L = DoubleWell()
    kT = 0.5
    X0 = np.column_stack([np.where(np.arange(2000) % 2 == 0, -1.0, 1.0), np.zeros(2000)])
    res = langevin(L, X0, kT=kT, dt=0.05, friction=2.0, n_steps=300, method="baoab", rng=7,
                   record_every=300, record_positions=False)
    X = res.x
    t_conf = configurational_temperature(L, X)
    # delta-method SE of the ratio estimator ⟨a⟩/⟨b⟩ from the i.i.d. walkers
    x, y = X[:, 0], X[:, 1]
    a = (4 * x * (x**2 - 1)) ** 2 + y**2
    b = (12 * x**2 - 4) + 1.0
    r = a.mean() / b.mean()
    assert t_conf == pytest.approx(r, rel=1e-12)
    se = math.sqrt(np.var(a - r * b) / a.size) / b.mean()
    assert abs(t_conf - kT) < 4 * se, (t_conf, se)
    assert se < 0.05 * kT


def test_configurational_temperature_uses_hvps_without_a_hessian():
    class NoHessian(Harmonic):
        hessian = None

    X = np.random.default_rng(0).normal(size=(50, 3))
    # |∇E|² = k²|x|², ∇²E = k·dim: T_conf = k ⟨|x|²⟩ / dim exactly
    exact = 2.0 * np.mean((X**2).sum(1)) / 3
    assert configurational_temperature(NoHessian(3, k=2.0), X) == pytest.approx(exact)


@pytest.mark.parametrize("method", ["baoab", "mala", "overdamped"])
def test_resume_after_a_kill_reproduces_the_uninterrupted_run_bit_for_bit(method):
    L = DoubleWell()
    X0 = np.array([[-1.0, 0.0], [1.0, 0.2], [0.1, -0.3]])
    kw = dict(kT=0.4, dt=0.05, n_steps=60, method=method, record_every=5, quench_every=10,
              checkpoint_every=10)
    full = langevin(L, X0, rng=11, sink=InMemoryMinima(L), **kw)
    sink = InMemoryMinima(L)
    with pytest.raises(Killed):
        langevin(KilledAfter(L, limit=57), X0, rng=11, sink=sink, **kw)
    killed_at = sink.load_checkpoint()["step"]
    assert killed_at in (10, 20, 30, 40, 50)
    again = langevin(L, X0, rng=11, sink=sink, **kw)
    assert again.resumed_from == killed_at
    assert np.array_equal(again.x, full.x)
    if method == "baoab":
        assert np.array_equal(again.p, full.p)
    assert np.array_equal(again.trajectory, full.trajectory)
    assert np.array_equal(again.energies, full.energies)
    assert np.array_equal(again.acceptance, full.acceptance)
    # is_new differs by design: minima found after the last checkpoint are offered twice
    drop_new = lambda q: [(s, w, m, e) for s, w, m, _, e in q]  # noqa: E731
    assert drop_new(again.quenches) == drop_new(full.quenches)
    assert [m.energy for m in again.sink.minima] == [m.energy for m in full.sink.minima]
    # the quenches found both wells, (−1, 0) and (1, 0), each at E = 0
    assert sorted(float(m.x[0]) for m in full.sink.minima) == pytest.approx([-1.0, 1.0], abs=1e-5)
    assert [m.energy for m in full.sink.minima] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_resume_refuses_a_checkpoint_of_other_settings():
    L = DoubleWell()
    sink = InMemoryMinima(L)
    langevin(L, np.zeros(2), kT=0.4, dt=0.05, n_steps=10, sink=sink, checkpoint_every=5, rng=0)
    with pytest.raises(LandscapeError, match="other settings"):
        langevin(L, np.zeros(2), kT=0.5, dt=0.05, n_steps=10, sink=sink, checkpoint_every=5, rng=0)
    res = langevin(L, np.zeros(2), kT=0.5, dt=0.05, n_steps=10, sink=sink, checkpoint_every=5, rng=0,
                   resume=False)
    assert res.resumed_from is None and res.x.shape == (2,)


def _tiny_network():
    from levinthal.systems.networks import NetworkLandscape

    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1, dtype=torch.float64)
    inputs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]], dtype=torch.float64)
    targets = torch.tensor([[1.0], [-1.0], [0.3], [2.0]], dtype=torch.float64)
    return NetworkLandscape(model, inputs, targets, loss="mse")


def test_langevin_on_a_torch_landscape_stays_in_torch_and_is_seeded():
    L = _tiny_network()
    x0 = L.initial_point()
    runs = [langevin(L, x0, kT=0.01, dt=0.05, n_steps=30, method=m, rng=3, record_every=10)
            for m in ("baoab", "baoab", "mala")]
    assert isinstance(runs[0].x, torch.Tensor) and runs[0].x.shape == (L.dim,)
    assert torch.equal(runs[0].x, runs[1].x)
    assert runs[0].trajectory.shape == (4, 1, L.dim)
    assert np.all(np.isfinite(runs[2].energies)) and 0 < runs[2].acceptance[0] <= 1


def test_torch_resume_restores_the_device_generator():
    L = _tiny_network()
    x0 = L.initial_point()
    kw = dict(kT=0.01, dt=0.05, n_steps=40, method="baoab", record_every=5, checkpoint_every=10)
    full = langevin(L, x0, rng=9, sink=InMemoryMinima(L), **kw)
    sink = InMemoryMinima(L)
    with pytest.raises(Killed):
        langevin(KilledAfter(L, limit=25), x0, rng=9, sink=sink, **kw)
    again = langevin(L, x0, rng=9, sink=sink, **kw)
    assert again.resumed_from == 20
    assert torch.equal(again.x, full.x) and torch.equal(again.p, full.p)
    assert np.array_equal(again.energies, full.energies)


def test_bad_input_is_named():
    L = DoubleWell()
    with pytest.raises(ValueError, match="method"):
        langevin(L, np.zeros(2), kT=1.0, dt=0.1, n_steps=1, method="verlet")
    with pytest.raises(ValueError, match="kT"):
        langevin(L, np.zeros(2), kT=-1.0, dt=0.1, n_steps=1)
    with pytest.raises(LandscapeError, match="shape"):
        langevin(L, np.zeros(3), kT=1.0, dt=0.1, n_steps=1)
    with pytest.raises(ValueError, match="τk"):
        overdamped_stationary_variance(1.0, 1.0, 2.5)
