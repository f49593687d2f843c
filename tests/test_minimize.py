"""Local minimisers: L-BFGS, FIRE and batched quenches find independently known minima."""

from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.landscape import NonFiniteError
from levinthal.minimize import fire, lbfgs, minimize, minimize_batch
from levinthal.systems.analytic import DoubleWell, MullerBrown, TiltedDoubleWell

# Müller–Brown minima from the literature (e.g. Müller & Brown 1979; Bonfanti & Kob 2017).
MB_LITERATURE = [
    ((-0.558224, 1.441726), -146.699517),
    ((0.623499, 0.028038), -108.166724),
    ((-0.050011, 0.466694), -80.767818),
]
MB_STARTS = [(-0.45, 1.30), (0.50, 0.10), (0.05, 0.45)]  # one start near each minimum
METHODS = ["lbfgs", "fire"]


@pytest.fixture(scope="module")
def mb_scipy_minima():
    """Minima from SciPy's BFGS with a very tight tolerance: an independent reference."""
    mb = MullerBrown()
    out = []
    for x0 in MB_STARTS:
        r = scipy.optimize.minimize(mb.energy_gradient, np.array(x0), jac=True, method="BFGS", tol=1e-12)
        out.append((r.x, r.fun))
    return out


def test_scipy_reference_agrees_with_literature_muller_brown_minima(mb_scipy_minima):
    for (x, e), (x_lit, e_lit) in zip(mb_scipy_minima, MB_LITERATURE, strict=True):
        np.testing.assert_allclose(x, x_lit, atol=2e-6)
        assert e == pytest.approx(e_lit, abs=2e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("k", range(3))
def test_minimize_finds_each_muller_brown_minimum(method, k, mb_scipy_minima):
    r = minimize(MullerBrown(), np.array(MB_STARTS[k]), method=method, rms_tol=1e-7)
    assert r.converged, r.message
    x_ref, e_ref = mb_scipy_minima[k]
    np.testing.assert_allclose(r.x, x_ref, atol=1e-7)
    assert r.energy == pytest.approx(e_ref, abs=1e-9)
    np.testing.assert_allclose(r.x, MB_LITERATURE[k][0], atol=2e-6)
    assert r.energy == pytest.approx(MB_LITERATURE[k][1], abs=2e-6)
    assert r.method == method and r.rms_gradient <= 1e-7


@pytest.mark.parametrize("method", METHODS)
def test_minimize_batch_finds_all_three_muller_brown_minima(method, mb_scipy_minima):
    r = minimize_batch(MullerBrown(), np.array(MB_STARTS), method=method, rms_tol=1e-7)
    assert r.converged and r.each_converged.all(), r.message
    np.testing.assert_allclose(r.x, np.array([x for x, _ in mb_scipy_minima]), atol=1e-7)
    np.testing.assert_allclose(r.energy, [e for _, e in mb_scipy_minima], atol=1e-9)
    assert r.x.shape == (3, 2) and r.iterations.shape == (3,)


class CountingMullerBrown(MullerBrown):
    """Müller–Brown that counts its own calls, to check what the tools report."""

    def __init__(self):
        super().__init__()
        self.single = 0
        self.batched = 0
        self.rows = 0

    def energy_gradient(self, x):
        self.single += 1
        return super().energy_gradient(x)

    def energy_gradients(self, X):
        self.batched += 1
        self.rows += X.shape[0]
        return super().energy_gradients(X)


def test_batched_lbfgs_evaluates_all_walkers_in_one_call_per_iteration():
    mb = CountingMullerBrown()
    r = minimize_batch(mb, np.array(MB_STARTS * 4), method="lbfgs")
    assert r.converged
    assert mb.single == 0  # never one point at a time
    # one batched call for the start plus one per loop iteration; the loop runs as long as the
    # slowest walker (each iteration is an accepted step or a halved retry)
    assert mb.batched == len(r.history["n_active"])
    assert r.counts.gradient == mb.rows
    # converged walkers are frozen: fewer rows than walkers × iterations
    assert mb.rows < 12 * mb.batched


@pytest.mark.parametrize("method", METHODS)
def test_batched_quench_takes_the_same_steps_as_single_point_quench(method):
    mb = MullerBrown()
    X0 = np.array([*MB_STARTS, (-1.0, 0.0)])
    batch = minimize_batch(mb, X0, method=method, rms_tol=1e-8)
    for i in range(len(X0)):
        single = {"lbfgs": lbfgs, "fire": fire}[method](mb, X0[i], rms_tol=1e-8)
        assert batch.iterations[i] == single.iterations
        np.testing.assert_allclose(batch.x[i], single.x, atol=1e-12)


class NoBatch:
    """A landscape without batched methods: minimize_batch must loop."""

    name = "no-batch"
    dim = 2

    def __init__(self):
        self.mb = MullerBrown()

    def energy(self, x):
        return self.mb.energy(x)

    def energy_gradient(self, x):
        return self.mb.energy_gradient(x)

    def hvp(self, x, v):
        return self.mb.hvp(x, v)


@pytest.mark.parametrize("method", [*METHODS, "gradient_flow"])
def test_minimize_batch_loops_over_landscapes_without_batched_gradients(method, mb_scipy_minima):
    r = minimize_batch(NoBatch(), np.array(MB_STARTS), method=method, rms_tol=1e-7)
    assert r.converged, r.message
    np.testing.assert_allclose(r.x, np.array([x for x, _ in mb_scipy_minima]), atol=1e-6)


def test_reported_counts_equal_the_calls_the_landscape_received():
    mb = CountingMullerBrown()
    r = minimize(mb, np.array(MB_STARTS[0]), method="lbfgs")
    assert r.counts.gradient == mb.single
    assert r.counts.gradient >= r.iterations + 1


@pytest.mark.parametrize("method", METHODS)
def test_double_well_minima_are_plus_and_minus_one(method):
    dw = DoubleWell()
    for x0, x_star in (((0.3, 0.4), (1.0, 0.0)), ((-1.7, -0.2), (-1.0, 0.0))):
        r = minimize(dw, np.array(x0), method=method, rms_tol=1e-9)
        assert r.converged
        np.testing.assert_allclose(r.x, x_star, atol=1e-9)
        assert r.energy == pytest.approx(0.0, abs=1e-16)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("tilt", [0.3, -0.5, 1.0])
def test_tilted_double_well_minima_are_the_exact_roots(method, tilt):
    tw = TiltedDoubleWell(tilt=tilt)
    left, _saddle, right = tw.stationary_x()
    for x0, root in (((left - 0.3, 0.5), left), ((right + 0.3, -0.5), right)):
        r = minimize(tw, np.array(x0), method=method, rms_tol=1e-10)
        assert r.converged
        np.testing.assert_allclose(r.x, [root, 0.0], atol=1e-9)
    r = minimize_batch(tw, np.array([[left - 0.3, 0.5], [right + 0.3, -0.5]]), method=method, rms_tol=1e-10)
    np.testing.assert_allclose(r.x, [[left, 0.0], [right, 0.0]], atol=1e-9)


class TorchQuadratic:
    """E = ½ xᵀAx − bᵀx on torch tensors; minimiser A⁻¹b."""

    name = "torch-quadratic"

    def __init__(self, A, b):
        self.A = torch.as_tensor(A, dtype=torch.float64)
        self.b = torch.as_tensor(b, dtype=torch.float64)
        self.dim = len(b)

    def energy(self, x):
        return float(0.5 * x @ self.A @ x - self.b @ x)

    def energy_gradient(self, x):
        assert isinstance(x, torch.Tensor)
        return self.energy(x), self.A @ x - self.b

    def hvp(self, x, v):
        return self.A @ v

    def energies(self, X):
        return 0.5 * ((X @ self.A) * X).sum(-1) - X @ self.b

    def energy_gradients(self, X):
        assert isinstance(X, torch.Tensor)
        return self.energies(X), X @ self.A - self.b

    def native_point(self, x):
        return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _spd(rng, n, lo=0.5, hi=10.0):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = rng.uniform(lo, hi, size=n)
    return (Q * lam) @ Q.T, lam


@pytest.mark.parametrize("method", METHODS)
def test_torch_quadratic_converges_and_stays_a_tensor(method, rng):
    A, _ = _spd(rng, 7)
    b = rng.normal(size=7)
    x_star = np.linalg.solve(A, b)
    landscape = TorchQuadratic(A, b)
    r = minimize(landscape, torch.zeros(7, dtype=torch.float64), method=method, rms_tol=1e-10)
    assert r.converged and isinstance(r.x, torch.Tensor)
    np.testing.assert_allclose(r.x.numpy(), x_star, atol=1e-9)
    assert r.energy == pytest.approx(-0.5 * b @ x_star, abs=1e-12)
    rb = minimize_batch(landscape, torch.as_tensor(rng.normal(size=(4, 7))), method=method, rms_tol=1e-10)
    assert rb.converged and isinstance(rb.x, torch.Tensor)
    np.testing.assert_allclose(rb.x.numpy(), np.tile(x_star, (4, 1)), atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_no_step_is_longer_than_max_step(method):
    visited = []
    x0 = np.array([-1.4, 1.9])  # far from every minimum: large gradients, many capped steps
    r = minimize(MullerBrown(), x0, method=method, max_step=0.05, callback=lambda x, e, g: visited.append(x))
    assert r.converged
    steps = np.linalg.norm(np.diff(np.vstack([x0, *visited]), axis=0), axis=1)
    assert steps.max() <= 0.05 * (1 + 1e-12)
    assert steps.max() >= 0.05 * (1 - 1e-9)  # the cap was active
    np.testing.assert_allclose(steps, r.history["step_length"], rtol=1e-12, atol=1e-14)


def test_lbfgs_energy_never_rises_by_more_than_max_energy_rise():
    # a large max_step lets L-BFGS propose steps that overshoot; they must be rejected
    r = lbfgs(MullerBrown(), np.array([-1.4, 1.9]), max_step=2.0, max_energy_rise=1e-6)
    assert r.converged
    assert np.diff(r.history["energy"]).max() <= 1e-6


class Unbounded:
    """E = −‖x‖²: no minimum, every descent runs away."""

    name = "unbounded-below"
    dim = 3

    def energy(self, x):
        return -float(x @ x)

    def energy_gradient(self, x):
        return self.energy(x), -2 * x

    def hvp(self, x, v):
        return -2 * v

    def energies(self, X):
        return -(X * X).sum(1)

    def energy_gradients(self, X):
        return self.energies(X), -2 * X


class Slope(Unbounded):
    """E = x₀: a plane, unbounded below."""

    name = "linear-slope"

    def energy(self, x):
        return float(x[0])

    def energy_gradient(self, x):
        return self.energy(x), np.array([1.0, 0.0, 0.0])

    def hvp(self, x, v):
        return 0 * v

    def energies(self, X):
        return X[:, 0].copy()

    def energy_gradients(self, X):
        return self.energies(X), np.tile([1.0, 0.0, 0.0], (X.shape[0], 1))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("landscape", [Unbounded(), Slope()], ids=lambda l: l.name)
def test_unbounded_landscape_is_reported_as_diverged(method, landscape):
    r = minimize(landscape, np.array([1.0, 0.5, 0.2]), method=method)
    assert not r.converged
    assert "diverged" in r.message
    rb = minimize_batch(landscape, np.array([[1.0, 0.5, 0.2], [-0.3, 0.2, 0.1]]), method=method)
    assert not rb.converged and not rb.each_converged.any()
    assert "diverged" in rb.message


def test_energy_floor_stops_a_runaway_early():
    r = lbfgs(Unbounded(), np.array([1.0, 0.5, 0.2]), energy_floor=-10.0)
    assert not r.converged and "energy_floor" in r.message and "diverged" in r.message
    assert r.energy < -10.0 and r.iterations < 100


class NaNAt:
    """Returns NaN beyond x[0] > 1: a broken system."""

    name = "nan-beyond-one"
    dim = 2

    def energy(self, x):
        return float("nan") if x[0] > 1 else float((x - 3) @ (x - 3))

    def energy_gradient(self, x):
        return self.energy(x), 2 * (x - 3)

    def hvp(self, x, v):
        return 2 * v


@pytest.mark.parametrize("method", [*METHODS, "gradient_flow"])
def test_nan_energy_raises_naming_the_landscape(method):
    with pytest.raises(NonFiniteError, match=rf"nan-beyond-one.*called by {method}"):
        minimize(NaNAt(), np.array([0.5, 0.0]), method=method)


class WrongGradient(Unbounded):
    """E = ‖x‖² but the gradient has the wrong sign: no downhill step can be found."""

    name = "wrong-gradient"

    def energy(self, x):
        return float(x @ x)

    def energy_gradient(self, x):
        return self.energy(x), -2 * x


def test_lbfgs_reports_step_collapse_when_gradient_contradicts_energy():
    r = lbfgs(WrongGradient(), np.array([1.0, 0.5, 0.2]))
    assert not r.converged and "step collapsed" in r.message
    assert r.iterations == 0


def test_unknown_method_lists_known_methods():
    with pytest.raises(ValueError, match=r"unknown minimisation method 'bfgs'.*lbfgs, fire, gradient_flow"):
        minimize(MullerBrown(), np.zeros(2), method="bfgs")
    with pytest.raises(ValueError, match="known methods"):
        minimize_batch(MullerBrown(), np.zeros((2, 2)), method="newton")


def test_max_iterations_is_reported_as_not_converged():
    r = lbfgs(MullerBrown(), np.array([-1.4, 1.9]), max_iterations=3)
    assert not r.converged and "max_iterations" in r.message and r.iterations == 3


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 20), seed=st.integers(0, 2**32 - 1))
def test_lbfgs_reaches_the_minimiser_of_random_spd_quadratics(n, seed):
    rng = np.random.default_rng(seed)
    A, lam = _spd(rng, n)
    b = rng.normal(size=n) * 3

    class Quadratic:
        name, dim = "spd-quadratic", n

        def energy(self, x):
            return 0.5 * x @ A @ x - b @ x

        def energy_gradient(self, x):
            return self.energy(x), A @ x - b

        def hvp(self, x, v):
            return A @ v

    tol = 1e-9
    r = lbfgs(Quadratic(), rng.normal(size=n), rms_tol=tol, max_step=1.0)
    assert r.converged, r.message
    x_star = np.linalg.solve(A, b)
    # ‖x − x*‖ ≤ ‖∇E(x)‖ / λ_min ≤ √n · rms_tol / λ_min
    assert np.linalg.norm(r.x - x_star) <= np.sqrt(n) * tol / lam.min() * (1 + 1e-6)


def _perturbed_icosahedron(rng, r=1.09, noise=0.05):
    phi = (1 + 5**0.5) / 2
    verts = []
    for a in (-1, 1):
        for c in (-phi, phi):
            verts += [(0, a, c), (a, c, 0), (c, 0, a)]
    verts = np.array(verts) / np.linalg.norm(verts[0]) * r
    pos = np.vstack([np.zeros(3), verts])
    return (pos + noise * rng.normal(size=pos.shape)).ravel()


LJ13_GLOBAL = -44.326801  # Wales & Doye 1997, Cambridge Cluster Database


@pytest.mark.skipif(not (Path(__file__).parents[1] / "src/levinthal/systems/clusters.py").exists(),
                    reason="cluster module not present")
@pytest.mark.parametrize("compiled", [False, None])
def test_lbfgs_finds_lj13_icosahedron_from_perturbed_start(compiled, rng):
    from levinthal.systems import make_system

    lj13 = make_system("lj13")
    x0 = _perturbed_icosahedron(rng)
    r = minimize(lj13, x0, method="lbfgs", compiled=compiled)
    assert r.converged, r.message
    assert (r.method == "lbfgs") == (compiled is False)  # auto picks the numba kernel
    assert r.energy == pytest.approx(LJ13_GLOBAL, abs=1e-6)
    rb = minimize_batch(lj13, np.stack([x0, _perturbed_icosahedron(rng)]), method="lbfgs", compiled=compiled)
    np.testing.assert_allclose(rb.energy, LJ13_GLOBAL, atol=1e-6)
    rf = minimize(lj13, x0, method="fire")
    assert rf.converged and rf.energy == pytest.approx(LJ13_GLOBAL, abs=1e-6)


def test_landscape_defaults_apply_unless_overridden():
    from levinthal.minimize import minimize
    from levinthal.systems.analytic import DoubleWell

    class Capped(DoubleWell):
        def __init__(self):
            self.minimizer_defaults = {"lbfgs": {"max_iterations": 3}}

    assert minimize(Capped(), np.array([0.3, 0.4])).iterations == 3
    res = minimize(Capped(), np.array([0.3, 0.4]), max_iterations=1000)
    assert res.converged and res.x[0] == pytest.approx(1.0, abs=1e-5)
