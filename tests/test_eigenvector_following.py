"""Hybrid eigenvector following (Munro & Wales 1999) against independent saddles.

Müller–Brown saddles are solved here with ``scipy.optimize.root``; LJ7 transition states are
checked with a dense ``eigh`` of the full Hessian computed in the test.
"""

import numpy as np
import pytest
from scipy.optimize import root

from levinthal.minimize import minimize
from levinthal.saddles import descend_from_saddle, eigenvector_following, refine_transition_state
from levinthal.saddles.eigenvector_following import ef_uphill_step
from levinthal.systems import make_system

MB = make_system("muller-brown")
MB_SADDLE_GUESSES = [(-0.822, 0.624), (0.212, 0.293)]
MB_SADDLE_ENERGIES = [-40.665, -72.249]


def mb_saddle(guess):
    sol = root(lambda x: MB.energy_gradient(x)[1], np.array(guess), jac=MB.hessian, tol=1e-12)
    assert np.abs(MB.energy_gradient(sol.x)[1]).max() < 1e-8, sol.message
    return sol.x


@pytest.mark.parametrize("mode_method", ["lanczos", "dimer"])
@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("offset", [(0.07, -0.05), (-0.06, 0.06)])
def test_ef_converges_to_muller_brown_saddle_from_a_start_within_0_1(which, offset, mode_method):
    ref = mb_saddle(MB_SADDLE_GUESSES[which])
    res = eigenvector_following(MB, ref + np.array(offset), rng=5, mode_method=mode_method)
    assert res.converged, res.message
    assert res.index == 1
    assert np.linalg.norm(res.x - ref) < 1e-5
    assert res.energy == pytest.approx(MB_SADDLE_ENERGIES[which], abs=1e-3)
    w, U = np.linalg.eigh(MB.hessian(ref))
    assert res.transition_state.eigenvalue == pytest.approx(w[0], rel=1e-6)
    assert abs(res.transition_state.unstable_mode @ U[:, 0]) == pytest.approx(1.0, abs=1e-6)


def test_ef_uphill_step_is_newton_step_for_negative_curvature_and_uphill_for_positive():
    # λ < 0: Δ → −g/λ as g → 0 (the Newton step towards the maximum along the mode)
    assert ef_uphill_step(1e-6, -2.0, 1.0) == pytest.approx(5e-7, rel=1e-6)
    # λ > 0: still uphill (same sign as g), capped
    assert ef_uphill_step(0.3, 4.0, 10.0) > 0
    assert ef_uphill_step(-0.3, 4.0, 0.05) == -0.05
    assert ef_uphill_step(0.0, 4.0, 0.05) == 0.05


def test_refine_transition_state_from_a_guess_with_tangent_finds_the_saddle():
    ref = mb_saddle(MB_SADDLE_GUESSES[1])
    # a "climbing image" a little off the saddle and the chord between the two minima as tangent
    tangent = np.array([0.623499, 0.028038]) - np.array([-0.050011, 0.466694])
    res = refine_transition_state(MB, ref + np.array([0.02, -0.03]), tangent=tangent)
    assert res.converged, res.message
    assert np.linalg.norm(res.x - ref) < 1e-5


def test_ef_finds_double_well_saddle_at_origin():
    dw = make_system("double-well")
    res = eigenvector_following(dw, np.array([-0.2, 0.15]), rng=0)
    assert res.converged, res.message
    assert np.allclose(res.x, 0.0, atol=1e-6)


@pytest.fixture(scope="module")
def lj7():
    lj = make_system("lj7")
    rng = np.random.default_rng(0)
    best = min((minimize(lj, lj.random_point(rng)) for _ in range(8)), key=lambda m: m.energy)
    assert best.energy == pytest.approx(-16.505384, abs=1e-5)
    return lj, best


@pytest.mark.parametrize("seed", [1, 2])
def test_ef_from_perturbed_lj7_minimum_finds_index_one_saddle_by_dense_eigh(lj7, seed):
    from levinthal.symmetry import same

    lj, gm = lj7
    r = np.random.default_rng(seed)
    res = eigenvector_following(lj, gm.x + 0.05 * r.standard_normal(lj.dim), mode0=r.standard_normal(lj.dim))
    assert res.converged, res.message
    w = np.linalg.eigvalsh(lj.hessian(res.x))
    scale = np.abs(w).max()
    assert (np.abs(w) < 1e-6 * scale).sum() == 6
    assert (w < -1e-6 * scale).sum() == 1
    assert res.transition_state.eigenvalue == pytest.approx(w[0], rel=1e-6)
    assert res.counts.hvp > 0
    minus, plus = descend_from_saddle(lj, res.transition_state)[:2]
    assert minus.converged and plus.converged
    same_as_start = [same(m.x, gm.x, energy_a=m.energy, energy_b=gm.energy) for m in (minus, plus)]
    assert not all(same_as_start)


class Quadratic:
    name, dim = "convex quadratic", 3
    A = np.diag([1.0, 2.0, 3.0])

    def energy(self, x):
        return float(0.5 * x @ self.A @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.A @ x

    def hvp(self, x, v):
        return self.A @ v


def test_ef_on_convex_quadratic_never_reports_a_saddle():
    res = eigenvector_following(Quadratic(), np.array([0.2, 0.1, -0.1]), rng=0, max_iterations=40)
    assert not res.converged and res.transition_state is None
    assert "budget exhausted" in res.message
    res = eigenvector_following(Quadratic(), np.array([0.2, 0.1, -0.1]), rng=0, max_distance=1.0)
    assert not res.converged and "left the region" in res.message


def test_ef_at_index_two_point_does_not_report_a_transition_state():
    class Index2(Quadratic):
        name = "x2-y2-z2"
        A = np.diag([2.0, -2.0, -2.0])

    res = eigenvector_following(Index2(), np.zeros(3), rng=0)
    assert not res.converged and res.transition_state is None
    assert res.index == 2 and "index 2" in res.message


def test_ef_rejects_unknown_mode_method():
    with pytest.raises(ValueError, match="mode_method"):
        eigenvector_following(MB, np.zeros(2), mode_method="newton")
