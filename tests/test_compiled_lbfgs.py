"""The compiled L-BFGS quench: literature minima of LJ13 and Morse M13, the safeguards
(maximum step, energy-rise rejection), honest stopping messages and evaluation counts."""

from __future__ import annotations

import numpy as np
import pytest

from levinthal.landscape import NonFiniteError, NotSupportedError, ShapeError, checked
from levinthal.minimize.compiled_lbfgs import lbfgs_compiled, lbfgs_compiled_batch
from levinthal.systems.analytic import MullerBrown
from levinthal.systems.clusters import LennardJonesCluster, MorseCluster

# Cambridge Cluster Database (Wales, Doye et al.): LJ13 Mackay icosahedron; Morse M13 at
# ρ = 6 (Doye & Wales 1997, −42.4399 in their table; −42.439863 in the CCD).
LJ13_GLOBAL_MINIMUM = -44.326801
M13_RHO6_GLOBAL_MINIMUM = -42.439863


def icosahedron13(r_e: float) -> np.ndarray:
    """Centre plus the 12 vertices (0, ±1, ±φ) and cyclic permutations, centre–vertex ≈ r_e."""
    phi = (1 + 5**0.5) / 2
    v = []
    for a in (-1, 1):
        for b in (-1, 1):
            v += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    v = np.array(v, dtype=float)
    v *= 0.95 * r_e / np.linalg.norm(v[0])
    return np.vstack([np.zeros(3), v]).reshape(-1)


def test_lbfgs_finds_lj13_global_minimum_from_perturbed_icosahedron(rng):
    lj = LennardJonesCluster(13)
    x0 = icosahedron13(lj.r_e) + 0.03 * rng.normal(size=39)
    r = lbfgs_compiled(lj, x0, rms_tol=1e-6)
    assert r.converged, r.message
    assert r.energy == pytest.approx(LJ13_GLOBAL_MINIMUM, abs=1e-6)
    assert r.rms_gradient <= 1e-6
    assert np.linalg.norm(lj.energy_gradient(r.x)[1]) / np.sqrt(39) == pytest.approx(r.rms_gradient)
    # a minimum: Hessian eigenvalues are 6 zeros (rigid-body modes) and 33 positive
    w = np.linalg.eigvalsh(lj.hessian(r.x))
    assert np.all(np.abs(w[:6]) < 1e-4) and w[6] > 1.0


def test_lbfgs_finds_lj13_global_minimum_among_random_starts():
    lj = LennardJonesCluster(13)
    rng = np.random.default_rng(2024)
    X0 = np.array([lj.random_point(rng) for _ in range(40)])
    b = lbfgs_compiled_batch(lj, X0)
    assert b.converged, b.message
    assert b.energy.min() == pytest.approx(LJ13_GLOBAL_MINIMUM, abs=1e-5)
    assert np.all(b.energy >= LJ13_GLOBAL_MINIMUM - 1e-6)


def test_lbfgs_finds_morse13_rho6_global_minimum_from_perturbed_icosahedron(rng):
    m = MorseCluster(13, rho=6.0)
    r = lbfgs_compiled(m, icosahedron13(m.r_e) + 0.03 * rng.normal(size=39), rms_tol=1e-6)
    assert r.converged, r.message
    assert r.energy == pytest.approx(M13_RHO6_GLOBAL_MINIMUM, abs=1e-6)


def test_lbfgs_relaxes_lj_dimer_to_two_to_one_sixth_sigma():
    lj = LennardJonesCluster(2, epsilon=1.5, sigma=0.8)
    r = lbfgs_compiled(lj, np.array([0.0, 0.0, 0.0, 1.4, 0.3, -0.2]), rms_tol=1e-9)
    assert r.converged
    assert np.linalg.norm(r.x[3:] - r.x[:3]) == pytest.approx(2 ** (1 / 6) * 0.8, rel=1e-8)
    assert r.energy == pytest.approx(-1.5, rel=1e-12)


def test_batch_quench_equals_one_by_one_quenches():
    m = MorseCluster(8, rho=6.0)
    rng = np.random.default_rng(3)
    X0 = np.array([m.random_point(rng) for _ in range(6)])
    b = lbfgs_compiled_batch(m, X0)
    singles = [lbfgs_compiled(m, x) for x in X0]
    np.testing.assert_array_equal(b.energy, [s.energy for s in singles])
    np.testing.assert_array_equal(b.x, np.array([s.x for s in singles]))
    assert b.history["gradient_calls"] == [s.counts.gradient for s in singles]
    assert b.counts.gradient == sum(s.counts.gradient for s in singles)
    assert list(b.iterations) == [s.iterations for s in singles]


@pytest.mark.parametrize("step_norm", ["atom", "total"])
def test_every_step_is_capped_at_max_step(step_norm):
    lj = LennardJonesCluster(13)
    x = lj.random_point(np.random.default_rng(5))
    prev, energies = x, []
    for k in range(1, 40):
        r = lbfgs_compiled(lj, x, max_iterations=k, max_step=0.05, step_norm=step_norm)
        d = (r.x - prev).reshape(13, 3)
        size = np.linalg.norm(d, axis=1).max() if step_norm == "atom" else np.linalg.norm(d)
        assert size <= 0.05 * (1 + 1e-12)
        energies.append(r.energy)
        prev = r.x
    # the backtracking never accepts an energy rise above max_energy_rise (1e-4)
    assert np.all(np.diff(energies) < 1e-4)


def test_counts_are_credited_to_a_checked_wrapper():
    lj = LennardJonesCluster(7)
    c = checked(lj, caller="test")
    r = lbfgs_compiled(c, lj.random_point(np.random.default_rng(0)))
    assert r.counts.gradient > 1
    assert c.counts.gradient == r.counts.gradient
    assert r.iterations < r.counts.gradient


def test_non_finite_energy_is_reported_never_silent():
    lj = LennardJonesCluster(3)
    x0 = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])  # two atoms on top of each other
    r = lbfgs_compiled(lj, x0)
    assert not r.converged
    assert "lj3" in r.message and "non-finite" in r.message
    with pytest.raises(NonFiniteError, match=r"lj3.*non-finite"):
        lbfgs_compiled(checked(lj), x0)
    b = lbfgs_compiled_batch(lj, np.array([x0, x0 + np.arange(9.0)]))
    assert list(b.each_converged) == [False, True]
    assert "non-finite" in b.message


def test_max_iterations_stop_is_reported():
    lj = LennardJonesCluster(13)
    r = lbfgs_compiled(lj, lj.random_point(np.random.default_rng(1)), max_iterations=5)
    assert not r.converged
    assert r.iterations == 5
    assert "max_iterations" in r.message


def test_bad_arguments_raise_clear_errors():
    lj = LennardJonesCluster(4)
    with pytest.raises(NotSupportedError, match=r"muller-brown.*kernel"):
        lbfgs_compiled(MullerBrown(), np.zeros(2))
    with pytest.raises(ShapeError, match="lj4"):
        lbfgs_compiled(lj, np.zeros(9))
    with pytest.raises(ValueError, match="step_norm"):
        lbfgs_compiled(lj, np.zeros(12), step_norm="max")
    with pytest.raises(ValueError, match="max_step"):
        lbfgs_compiled(lj, np.zeros(12), max_step=0.0)
