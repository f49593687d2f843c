"""Lennard-Jones and Morse clusters: derivatives against finite differences, dimer minima
against the closed form, symmetry invariance of the energy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from levinthal.landscape import ShapeError, checked
from levinthal.landscape.finite_difference import gradient_fd
from levinthal.systems import make_system
from levinthal.systems.clusters import LennardJonesCluster, MorseCluster

SYSTEMS = [
    LennardJonesCluster(6, epsilon=1.3, sigma=0.9),
    MorseCluster(6, rho=6.0),
    MorseCluster(5, rho=10.0, epsilon=0.7, r0=1.2),
]
IDS = [repr(s) for s in SYSTEMS]


def compact(system, rng, scale=1.0):
    """A random compact configuration: atoms on a jittered cubic grid of spacing ~ r_e."""
    n = system.n_atoms
    grid = np.array([(i, j, k) for i in range(3) for j in range(3) for k in range(3)], dtype=float)[:n]
    return (scale * system.r_e * (grid + 0.15 * rng.normal(size=grid.shape))).reshape(-1)


def fd_hessian(system, x, h=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((system.energy_gradient(x + e)[1] - system.energy_gradient(x - e)[1]) / (2 * h))
    return np.array(cols)


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
def test_gradient_matches_central_differences(system, rng):
    x = compact(system, rng)
    e, g = system.energy_gradient(x)
    assert e == pytest.approx(system.energy(x), rel=1e-13)
    np.testing.assert_allclose(g, gradient_fd(system, x, h=1e-6), rtol=1e-6, atol=1e-6 * np.abs(g).max())


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
def test_hessian_matches_finite_differences_of_gradient(system, rng):
    x = compact(system, rng)
    H = system.hessian(x)
    assert H.shape == (system.dim, system.dim)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * np.abs(H).max())
    np.testing.assert_allclose(H, fd_hessian(system, x), atol=1e-6 * np.abs(H).max())


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
def test_hvp_equals_dense_hessian_times_vector(system, rng):
    x = compact(system, rng)
    v = rng.normal(size=system.dim)
    np.testing.assert_allclose(system.hvp(x, v), system.hessian(x) @ v, rtol=1e-12,
                               atol=1e-12 * np.abs(system.hessian(x)).max())


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
def test_translations_are_exact_zero_modes_of_the_hessian(system, rng):
    x = compact(system, rng)
    H = system.hessian(x)
    for axis in range(3):
        t = np.zeros((system.n_atoms, 3))
        t[:, axis] = 1.0
        assert np.abs(H @ t.reshape(-1)).max() <= 1e-10 * np.abs(H).max()


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
def test_batched_evaluations_equal_single_calls(system, rng):
    X = np.array([compact(system, rng) for _ in range(5)])
    E, G = system.energy_gradients(X)
    np.testing.assert_allclose(system.energies(X), [system.energy(x) for x in X], rtol=1e-14)
    np.testing.assert_allclose(E, [system.energy(x) for x in X], rtol=1e-14)
    np.testing.assert_allclose(G, np.array([system.energy_gradient(x)[1] for x in X]), rtol=1e-14)


@pytest.mark.parametrize(("epsilon", "sigma"), [(1.0, 1.0), (2.5, 1.7)])
def test_lennard_jones_dimer_minimum_is_minus_epsilon_at_two_to_one_sixth_sigma(epsilon, sigma):
    lj = LennardJonesCluster(2, epsilon=epsilon, sigma=sigma)
    r = 2 ** (1 / 6) * sigma
    x = np.array([0.0, 0.0, 0.0, r, 0.0, 0.0])
    e, g = lj.energy_gradient(x)
    assert e == pytest.approx(-epsilon, rel=1e-14)
    assert np.abs(g).max() < 1e-12
    # V(σ) = 0 and the curvature along the bond is V''(r_e) = 72 ε / (2^{1/3} σ²)
    assert lj.energy(np.array([0.0, 0, 0, sigma, 0, 0])) == pytest.approx(0.0, abs=1e-14)
    assert lj.hessian(x)[3, 3] == pytest.approx(72 * epsilon / (2 ** (1 / 3) * sigma**2), rel=1e-12)


@pytest.mark.parametrize(("rho", "epsilon", "r0"), [(6.0, 1.0, 1.0), (14.0, 0.5, 2.0)])
def test_morse_dimer_minimum_is_minus_epsilon_at_r0(rho, epsilon, r0):
    m = MorseCluster(2, rho=rho, epsilon=epsilon, r0=r0)
    x = np.array([0.0, 0.0, 0.0, 0.0, r0, 0.0])
    e, g = m.energy_gradient(x)
    assert e == pytest.approx(-epsilon, rel=1e-14)
    assert np.abs(g).max() < 1e-12
    # V''(r0) = 2 ε ρ² / r0²
    assert m.hessian(x)[4, 4] == pytest.approx(2 * epsilon * rho**2 / r0**2, rel=1e-12)
    # V(r) = ε (e^{2ρ(1−r/r0)} − 2 e^{ρ(1−r/r0)}) at r = 1.3 r0, written out independently
    r = 1.3 * r0
    t = np.exp(rho * (1 - r / r0))
    assert m.energy(np.array([0.0, 0, 0, 0, 0, r])) == pytest.approx(epsilon * (t * t - 2 * t), rel=1e-13)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.tuples(*[st.floats(-10, 10)] * 3),
    which=st.sampled_from([0, 1]),
)
def test_energy_is_invariant_under_rotation_translation_and_permutation(seed, shift, which):
    rng = np.random.default_rng(seed)
    system = [LennardJonesCluster(7), MorseCluster(7, rho=6.0)][which]
    pos = system.positions(system.random_point(rng))
    moved = pos[rng.permutation(system.n_atoms)] @ Rotation.random(random_state=seed).as_matrix().T
    moved = moved + np.asarray(shift)
    e = system.energy(pos.reshape(-1))
    assert system.energy(moved.reshape(-1)) == pytest.approx(e, rel=1e-10, abs=1e-10)


def test_random_point_lies_in_the_documented_ball_and_is_reproducible():
    lj = LennardJonesCluster(38)
    a = lj.random_point(np.random.default_rng(7))
    b = lj.random_point(np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    r = np.linalg.norm(lj.positions(a), axis=1)
    # R = r_e (3N / (4π · 0.5))^{1/3}
    radius = 2 ** (1 / 6) * (3 * 38 / (4 * np.pi * 0.5)) ** (1 / 3)
    assert lj.random_radius == pytest.approx(radius)
    assert r.max() <= radius
    assert r.max() > 0.7 * radius


def test_names_registry_and_protocol_attributes():
    lj = make_system("lj13")
    assert isinstance(lj, LennardJonesCluster)
    assert (lj.name, lj.dim, lj.n_atoms) == ("lj13", 39, 13)
    m = make_system("morse13:6")
    assert isinstance(m, MorseCluster)
    assert m.name == "morse13:6" and m.rho == 6.0
    assert MorseCluster(8, rho=3.5).name == "morse8:3.5"
    x = lj.random_point(np.random.default_rng(0))
    assert lj.positions(x).shape == (13, 3)
    e, g = lj.kernel(x, lj.kernel_params)
    assert e == pytest.approx(lj.energy(x)) and g.shape == (39,)


def test_symmetry_gives_six_zero_modes_of_a_compact_cluster(rng):
    lj = LennardJonesCluster(6)
    modes = lj.symmetry.zero_modes(compact(lj, rng))
    assert modes.shape == (6, 18)
    np.testing.assert_allclose(modes @ modes.T, np.eye(6), atol=1e-10)
    assert lj.symmetry is lj.symmetry


def test_wrong_shapes_and_parameters_raise_clear_errors():
    lj = LennardJonesCluster(4)
    with pytest.raises(ShapeError, match=r"lj4.*expected \(12,\)"):
        lj.energy(np.zeros(9))
    with pytest.raises(ShapeError, match="batch"):
        lj.energies(np.zeros((2, 9)))
    with pytest.raises(ValueError, match="n_atoms"):
        LennardJonesCluster(1)
    with pytest.raises(ValueError, match="rho"):
        MorseCluster(3, rho=-1.0)


def test_checked_wrapper_forwards_optional_members_and_counts():
    c = checked(MorseCluster(4), caller="test")
    x = MorseCluster(4).random_point(np.random.default_rng(1))
    c.energy_gradient(x)
    c.hessian(x)
    c.energies(np.array([x, x]))
    assert (c.counts.gradient, c.counts.hessian, c.counts.energy) == (1, 1, 2)
    assert c.n_atoms == 4
