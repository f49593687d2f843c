"""Stationary-point classification against analytic stationary points and the LJ13 icosahedron."""

import numpy as np
import pytest
import scipy.optimize
import torch

from levinthal.curvature import classify, dense_hessian
from levinthal.systems.analytic import DoubleWell, MullerBrown


def newton(landscape, x, steps=20):
    """Refine a stationary point with Newton steps on the analytic gradient and Hessian."""
    x = np.array(x, dtype=float)
    for _ in range(steps):
        _, g = landscape.energy_gradient(x)
        x = x - np.linalg.solve(landscape.hessian(x), g)
    return x


MB_MINIMA = [(-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467)]
MB_SADDLES = [(-0.822, 0.624), (0.212, 0.293)]


@pytest.mark.parametrize("guess", MB_MINIMA)
def test_muller_brown_minima_are_minima_of_index_zero(guess):
    mb = MullerBrown()
    x = newton(mb, guess)
    c = classify(mb, x)
    assert (c.kind, c.index, c.n_zero_modes) == ("minimum", 0, 0)
    assert c.lowest_eigenvalues[0] > 0
    assert "minimum" in c.reason


@pytest.mark.parametrize("guess", MB_SADDLES)
def test_muller_brown_saddles_have_index_one(guess):
    mb = MullerBrown()
    x = newton(mb, guess)
    assert np.linalg.norm(x - guess) < 5e-3  # Newton stayed at the literature saddle
    for method in ("dense", "lanczos"):
        c = classify(mb, x, method=method)
        assert (c.kind, c.index) == ("saddle", 1), c.reason
        np.testing.assert_allclose(c.lowest_eigenvalues, np.linalg.eigvalsh(mb.hessian(x)), rtol=1e-8)


def test_random_muller_brown_point_is_not_stationary():
    mb = MullerBrown()
    c = classify(mb, np.array([0.3, 1.0]))
    assert c.kind == "not stationary"
    assert c.rms_gradient > 1.0
    assert c.reason.startswith(f"RMS gradient {c.rms_gradient:.3g} > 0.0001: not a stationary point")


def test_double_well_origin_is_index_one_saddle_and_wells_are_minima():
    dw = DoubleWell()
    c = classify(dw, np.zeros(2))
    assert (c.kind, c.index) == ("saddle", 1)
    np.testing.assert_allclose(c.lowest_eigenvalues, [-4.0, 1.0])
    for xm in (-1.0, 1.0):
        assert classify(dw, np.array([xm, 0.0])).kind == "minimum"


class FlatValley:
    """E = x² + y⁴: stationary at 0 with Hessian diag(2, 0) — a genuinely flat direction."""

    name = "flat-valley"
    dim = 2

    def energy(self, x):
        return float(x[0] ** 2 + x[1] ** 4)

    def energy_gradient(self, x):
        return self.energy(x), np.array([2 * x[0], 4 * x[1] ** 3])

    def hvp(self, x, v):
        return np.array([2 * v[0], 12 * x[1] ** 2 * v[1]])


def test_flat_direction_is_degenerate_not_minimum():
    c = classify(FlatValley(), np.zeros(2))
    assert c.kind == "degenerate"
    assert c.n_flat == 1 and c.n_zero_modes == 0
    assert "not symmetry modes" in c.reason


class WrongSymmetry:
    """Declares the stiff x direction of FlatValley a zero mode: a wrong declaration."""

    def zero_modes(self, x):
        return np.array([[1.0, 0.0]])


def test_declared_zero_mode_with_curvature_is_reported_as_suspect():
    ls = FlatValley()
    ls.symmetry = WrongSymmetry()
    c = classify(ls, np.zeros(2))
    np.testing.assert_allclose(c.zero_mode_curvatures, [2.0])
    assert "WARNING" in c.reason and "suspect" in c.reason


class TorchSaddle:
    """E = Σ a_i x_i² in torch with one negative a_i: a saddle of index 1 at 0."""

    name = "torch-saddle"
    dim = 5
    a = torch.tensor([-1.0, 0.5, 1.0, 2.0, 3.0], dtype=torch.float64)

    def energy(self, x):
        return float((self.a * x * x).sum())

    def energy_gradient(self, x):
        return self.energy(x), 2 * self.a * x

    def hvp(self, x, v):
        return 2 * self.a * v


@pytest.mark.parametrize("method", ["dense", "lanczos"])
def test_torch_landscape_saddle_is_classified_on_either_path(method):
    c = classify(TorchSaddle(), torch.zeros(5, dtype=torch.float64), method=method, k=3)
    assert (c.kind, c.index) == ("saddle", 1)
    np.testing.assert_allclose(c.lowest_eigenvalues, [-2.0, 1.0, 2.0], atol=1e-10)
    assert isinstance(c.lowest_eigenvectors, torch.Tensor)


def test_lanczos_index_is_a_lower_bound_when_all_k_are_negative():
    c = classify(TorchSaddle(), torch.zeros(5, dtype=torch.float64), method="lanczos", k=1)
    assert c.index_is_lower_bound and c.index == 1
    assert "index ≥ 1" in c.reason


# ---------------------------------------------------------------- LJ13


def icosahedron13(r=1.1):
    phi = (1 + 5**0.5) / 2
    v = []
    for s1 in (-1, 1):
        for s2 in (-1, 1):
            v += [(0, s1, s2 * phi), (s1, s2 * phi, 0), (s2 * phi, 0, s1)]
    v = np.array(v, dtype=float)
    v *= r / np.linalg.norm(v[0])
    return np.vstack([np.zeros(3), v])


@pytest.fixture(scope="module")
def lj13_minimum():
    from levinthal.systems.clusters import LennardJonesCluster

    lj = LennardJonesCluster(13)
    rng = np.random.default_rng(0)
    x0 = (icosahedron13() + 0.05 * rng.standard_normal((13, 3))).ravel()
    opt = scipy.optimize.minimize(lambda x: lj.energy_gradient(x), x0, jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 2000})
    return lj, opt.x


def test_lj13_icosahedron_is_minimum_with_six_zero_modes_removed(lj13_minimum):
    lj, x = lj13_minimum
    assert lj.energy(x) == pytest.approx(-44.326801, abs=1e-5)  # Wales & Doye 1997, J. Phys. Chem. A
    c = classify(lj, x)
    assert (c.kind, c.index, c.n_zero_modes) == ("minimum", 0, 6), c.reason
    assert np.abs(c.zero_mode_curvatures).max() < 1e-4
    assert c.lowest_eigenvalues[0] > 1.0  # the softest vibration of the icosahedron is stiff
    assert "6 symmetry zero modes removed" in c.reason
    # Lanczos on the projected operator agrees with the dense projected spectrum.
    cl = classify(lj, x, method="lanczos", k=3)
    assert (cl.kind, cl.index) == ("minimum", 0)
    np.testing.assert_allclose(cl.lowest_eigenvalues[0], c.lowest_eigenvalues[0], rtol=1e-8)


def test_without_projection_lj13_shows_six_near_zero_eigenvalues(lj13_minimum):
    lj, x = lj13_minimum
    w = np.linalg.eigvalsh(dense_hessian(lj, x))
    assert np.sum(np.abs(w) < 1e-4) == 6
    c = classify(lj, x, zero_modes=None)
    assert c.kind == "degenerate" and c.n_flat == 6 and c.n_zero_modes == 0
