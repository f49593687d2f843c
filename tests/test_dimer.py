"""Dimer method (Henkelman & Jónsson 1999; Kästner & Sherwood 2008) against independent saddles.

References: Müller–Brown saddles solved here with ``scipy.optimize.root`` on the analytic
gradient; LJ7 transition states checked by a dense ``eigh`` of the full Hessian in the test.
"""

import numpy as np
import pytest
from scipy.optimize import root

from levinthal.minimize import minimize
from levinthal.saddles import descend_from_saddle, dimer
from levinthal.systems import make_system

MB = make_system("muller-brown")
MB_SADDLE_GUESSES = [(-0.822, 0.624), (0.212, 0.293)]
MB_SADDLE_ENERGIES = [-40.665, -72.249]


def mb_saddle(guess):
    sol = root(lambda x: MB.energy_gradient(x)[1], np.array(guess), jac=MB.hessian, tol=1e-12)
    assert np.abs(MB.energy_gradient(sol.x)[1]).max() < 1e-8, sol.message
    return sol.x


class Quadratic:
    """E = ½ xᵀ A x with a fixed symmetric A (independent test landscape)."""

    def __init__(self, diag):
        self.A = np.diag(np.asarray(diag, dtype=float))
        self.dim = len(diag)
        self.name = f"quadratic{tuple(diag)}"

    def energy(self, x):
        return float(0.5 * x @ self.A @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.A @ x

    def hvp(self, x, v):
        return self.A @ v

    def hessian(self, x):
        return self.A.copy()


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("offset", [(0.07, -0.05), (-0.06, 0.06), (0.0, 0.09)])
def test_dimer_converges_to_muller_brown_saddle_from_a_start_within_0_1(which, offset):
    ref = mb_saddle(MB_SADDLE_GUESSES[which])
    res = dimer(MB, ref + np.array(offset), rng=3)
    assert res.converged, res.message
    assert res.index == 1
    assert np.linalg.norm(res.x - ref) < 1e-5
    assert res.energy == pytest.approx(MB_SADDLE_ENERGIES[which], abs=1e-3)
    w = np.linalg.eigvalsh(MB.hessian(ref))
    assert res.transition_state.eigenvalue == pytest.approx(w[0], rel=1e-6)
    assert res.counts.gradient > 0


def test_dimer_finds_double_well_saddle_at_origin():
    dw = make_system("double-well")
    res = dimer(dw, np.array([0.15, -0.1]), mode0=np.array([1.0, 0.3]))
    assert res.converged, res.message
    assert np.allclose(res.x, 0.0, atol=1e-6)
    assert res.energy == pytest.approx(dw.energy(np.zeros(2)), abs=1e-10)


@pytest.fixture(scope="module")
def lj7():
    lj = make_system("lj7")
    rng = np.random.default_rng(0)
    best = min((minimize(lj, lj.random_point(rng)) for _ in range(8)), key=lambda m: m.energy)
    assert best.energy == pytest.approx(-16.505384, abs=1e-5)
    return lj, best


@pytest.mark.parametrize("seed", [0, 2])
def test_dimer_from_perturbed_lj7_minimum_finds_index_one_saddle_by_dense_eigh(lj7, seed):
    from levinthal.symmetry import same

    lj, gm = lj7
    r = np.random.default_rng(seed)
    res = dimer(lj, gm.x + 0.05 * r.standard_normal(lj.dim), mode0=r.standard_normal(lj.dim))
    assert res.converged, res.message
    assert res.index == 1
    w = np.linalg.eigvalsh(lj.hessian(res.x))  # full Hessian, no projection: 6 zeros + 1 negative
    scale = np.abs(w).max()
    assert (np.abs(w) < 1e-6 * scale).sum() == 6
    assert (w < -1e-6 * scale).sum() == 1
    assert res.transition_state.eigenvalue == pytest.approx(w[0], rel=1e-6)
    assert np.sqrt(np.mean(lj.energy_gradient(res.x)[1] ** 2)) <= 1e-5
    minus, plus = descend_from_saddle(lj, res.transition_state)[:2]
    assert minus.converged and plus.converged
    assert minus.energy < res.energy and plus.energy < res.energy
    same_as_start = [same(m.x, gm.x, energy_a=m.energy, energy_b=gm.energy) for m in (minus, plus)]
    assert not all(same_as_start)  # at least one end is a different minimum


def test_dimer_on_convex_quadratic_never_reports_a_saddle():
    q = Quadratic([1.0, 2.0, 3.0])
    res = dimer(q, np.array([0.3, -0.2, 0.1]), rng=0, max_iterations=60)
    assert not res.converged
    assert res.transition_state is None
    assert "budget exhausted" in res.message


def test_dimer_stops_when_it_leaves_max_distance():
    q = Quadratic([1.0, 2.0])
    res = dimer(q, np.array([0.1, 0.1]), rng=0, max_distance=0.5)
    assert not res.converged and res.transition_state is None
    assert "left the region" in res.message
    assert np.linalg.norm(res.x - np.array([0.1, 0.1])) > 0.5


class Index2:
    """E = x² − y² − z²: the origin is a stationary point of index 2."""

    name, dim = "x2-y2-z2", 3
    A = np.diag([2.0, -2.0, -2.0])

    def energy(self, x):
        return float(0.5 * x @ self.A @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.A @ x

    def hvp(self, x, v):
        return self.A @ v

    def hessian(self, x):
        return self.A.copy()


def test_dimer_at_index_two_point_does_not_report_a_transition_state():
    res = dimer(Index2(), np.zeros(3), mode0=np.array([0.0, 1.0, 0.2]))
    assert not res.converged
    assert res.transition_state is None
    assert res.index == 2
    assert "index 2" in res.message


def test_dimer_started_at_muller_brown_minimum_without_mode_gives_a_clear_result():
    refs = [mb_saddle(g) for g in MB_SADDLE_GUESSES]
    for m in [(-0.558224, 1.441726), (0.623499, 0.028038), (-0.050011, 0.466694)]:
        res = dimer(MB, np.array(m), rng=0, max_distance=2.0)
        if res.converged:
            assert min(np.linalg.norm(res.x - r) for r in refs) < 1e-5
        else:
            assert res.transition_state is None and res.message


def test_dimer_rejects_mode_inside_the_zero_modes(lj7):
    lj, gm = lj7
    translation = np.tile([1.0, 0.0, 0.0], lj.dim // 3)
    with pytest.raises(ValueError, match="zero modes"):
        dimer(lj, gm.x, mode0=translation)
    with pytest.raises(ValueError, match="shape"):
        dimer(lj, gm.x, mode0=np.ones(5))


class Tilted:
    """E = x + y²: curvature 0 along x, so no stationary point and a flat lowest mode."""

    name, dim = "x+y2", 2

    def energy(self, x):
        return float(x[0] + x[1] ** 2)

    def energy_gradient(self, x):
        return self.energy(x), np.array([1.0, 2 * x[1]])

    def hvp(self, x, v):
        return np.array([0.0, 2 * v[1]])


def test_dimer_following_a_flat_direction_stops_with_zero_curvature_message():
    res = dimer(Tilted(), np.array([0.0, 0.3]), mode0=np.array([0.3, 1.0]))
    assert not res.converged and res.transition_state is None
    assert "zero curvature" in res.message
    assert abs(res.eigenvalue) < 1e-3 * 2.0


def test_henkelman_fixed_convex_step_also_reaches_muller_brown_saddle():
    ref = mb_saddle(MB_SADDLE_GUESSES[0])
    res = dimer(MB, ref + np.array([0.05, 0.05]), rng=1, convex_step="fixed")
    assert res.converged, res.message
    assert np.linalg.norm(res.x - ref) < 1e-5
