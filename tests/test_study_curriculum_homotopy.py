"""Curriculum as homotopy: the continuation finds the analytic pitchfork, and the network run is
internally consistent with independent evaluations of its losses and Hessians."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levinthal.curvature import dense_hessian
from levinthal.landscape.finite_difference import hessian_fd
from levinthal.studies import curriculum_homotopy as study
from levinthal.studies._continuation import continue_minimum


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def test_pitchfork_is_located_at_a_over_a_plus_b(result):
    cfg = study.Config.small()
    m = result.numbers["pitchfork_t_star"]
    # the eigenvalue on the x = 0 branch is (1 - t) a - t b, linear in t: interpolation is exact
    assert m.value == pytest.approx(cfg.a / (cfg.a + cfg.b), abs=1e-9)
    assert result.numbers["pitchfork_n_bifurcations"].value == 1
    # after the bifurcation the minimum of x^4/4 - b x^2/2 is at |x| = sqrt(b)
    assert result.numbers["pitchfork_abs_x_at_t1"].value == pytest.approx(math.sqrt(cfg.b), abs=1e-6)


def test_pitchfork_eigenvalue_matches_finite_difference_hessian():
    """λ_min recorded on the grid equals the smallest eigenvalue of a finite-difference Hessian,
    and off the bifurcation it equals the analytic curvature."""
    a, b, c = 1.0, 2.0, 0.3
    fam = study.pitchfork_family(a, b, c)
    ts = np.linspace(0.0, 1.0, 6)
    r = continue_minimum(fam, np.zeros(3) + 0.01, ts, dense_max_dim=0)
    for t, x, lam in zip(ts, r.xs, r.lambda_min, strict=True):
        w = np.linalg.eigvalsh(hessian_fd(fam(t), x, h=1e-4))
        assert lam == pytest.approx(w[0], abs=1e-5)
        exact = (1 - t) * a - t * b if t < a / (a + b) else 2 * (t * (a + b) - a)
        assert lam == pytest.approx(min(exact, 1.0), abs=1e-8)


def test_network_numbers_are_consistent_with_the_table(result):
    cfg = study.Config.small()
    _, rows = next(iter(result.tables.values()))
    assert len(rows) == cfg.n_seeds
    diffs = [float(r[1]) - float(r[2]) for r in rows]
    m = result.numbers["target_loss_curriculum_minus_direct"]
    assert m.value == pytest.approx(np.mean(diffs), abs=2e-6)
    assert result.numbers["bifurcations_per_path"].value == pytest.approx(np.mean([r[5] for r in rows]))


def test_followed_network_minimum_is_a_minimum_by_dense_hessian():
    """The continuation's end point is a stationary point of L_target with a positive-definite
    Hessian (checked independently by finite differences)."""
    cfg = study.Config.small()
    family, x0, *_ = study._network_family(cfg, cfg.seed)
    r = continue_minimum(family, x0, np.linspace(0, 1, 4), dense_max_dim=1000,
                         minimize_options={"rms_tol": 1e-9}, max_predict=1.0)
    L = family(1.0)
    _, g = L.energy_gradient(r.xs[-1])
    assert np.linalg.norm(g) / math.sqrt(L.dim) < 1e-7
    w_fd = np.linalg.eigvalsh(hessian_fd(L, r.xs[-1], h=1e-4))
    w = np.linalg.eigvalsh(dense_hessian(L, r.xs[-1]))
    assert w[0] == pytest.approx(r.lambda_min[-1], rel=1e-6, abs=1e-9)
    assert w_fd[0] == pytest.approx(w[0], abs=1e-5)
    assert w[0] > 0


def test_structure(result):
    assert result.name == study.NAME == "curriculum_homotopy"
    assert result.verdicts and all(k in ("holds", "breaks", "note") for k, _ in result.verdicts)
    assert result.verdicts[0][0] == "holds"
    assert result.reading
    for key in ("target_loss_curriculum_minus_direct", "test_accuracy_curriculum_minus_direct",
                "bifurcations_per_path", "fraction_same_minimum"):
        assert key in result.numbers
