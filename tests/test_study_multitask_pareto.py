"""Multi-task trade-off: the continued front of two convex quadratics is the closed-form Pareto
front, the concave Fonseca-Fleming pair folds where an independent root-finder says, and the
network sweep's numbers agree with its table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levinthal.studies import multitask_pareto as study


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def test_convex_quadratic_front_matches_closed_form(result):
    assert result.numbers["quadratic_front_max_error"].value < 1e-7
    assert result.numbers["quadratic_bifurcations"].value == 0


def test_closed_form_front_is_pareto_optimal():
    """The closed-form x*(s) satisfies the weighted stationarity condition and no sampled point
    dominates the front (independent of the continuation)."""
    rng = np.random.default_rng(0)
    front = np.array([study.quadratic_front(s)[1:] for s in np.linspace(0, 1, 2001)])
    for s in (0.1, 0.5, 0.9):
        x, *_ = study.quadratic_front(s)
        g = (1 - s) * study._QA1 @ (x - study._Qa1) + s * study._QA2 @ (x - study._Qa2)
        assert np.abs(g).max() < 1e-12
    samples = np.array([study._quadratic_losses(x) for x in rng.normal(size=(2000, 3))])
    # for each sample, the front point with the same L1 (interpolated) has L2 no larger
    order = np.argsort(front[:, 0])
    f1, f2 = front[order, 0], front[order, 1]
    inside = (samples[:, 0] >= f1[0]) & (samples[:, 0] <= f1[-1])
    l2_front = np.interp(samples[inside, 0], f1, f2)
    assert inside.sum() > 100
    assert np.all(samples[inside, 1] >= l2_front - 1e-4)


def test_fonseca_fleming_fold_is_bracketed(result):
    s_f, u_f = study.fonseca_fleming_fold()
    # independent check of the fold: on x1 = x2 = u the weighted loss has F' = F'' = 0 at (s_f, u_f)
    c = 1 / math.sqrt(2)

    def F(u):
        return (1 - s_f) * (1 - math.exp(-2 * (u - c) ** 2)) + s_f * (1 - math.exp(-2 * (u + c) ** 2))

    h = 1e-4
    assert (F(u_f + h) - F(u_f - h)) / (2 * h) == pytest.approx(0, abs=1e-8)
    assert (F(u_f + h) - 2 * F(u_f) + F(u_f - h)) / h ** 2 == pytest.approx(0, abs=1e-5)
    lo, hi = result.numbers["ff_fold_bracket_low"].value, result.numbers["ff_fold_bracket_high"].value
    assert lo <= s_f <= hi
    assert hi - lo <= 0.1 / 2 ** 5  # the grid step halved by the step-size control
    # by the x -> -x symmetry the backward sweep folds at 1 - s_f, within the same resolution
    assert result.numbers["ff_fold_backward_weight"].value == pytest.approx(1 - s_f, abs=0.1 / 2 ** 5)
    # the middle of the concave front is never a weighted-sum minimum
    assert result.numbers["ff_unreached_front_half_width"].value >= u_f - 1e-9


def test_network_numbers_match_table(result):
    cfg = study.Config.small()
    _, rows = next(iter(result.tables.values()))
    assert len(rows) == cfg.n_seeds
    m = result.numbers["network_stability_losses_per_seed"]
    assert m.value == pytest.approx(np.mean([r[1] for r in rows]))
    f = result.numbers["network_dominated_fraction"].value
    assert 0.0 <= f <= 1.0


def test_network_end_points_are_single_task_minima():
    """At s = 0 the magnitude head only feels weight decay, so its logits vanish and L2 = ln 2."""
    cfg = study.Config.small()
    family, x0, losses = study._network(cfg, cfg.seed)
    from levinthal.minimize import minimize

    r = minimize(family(0.0), x0, rms_tol=1e-10, max_iterations=20000)
    assert losses(np.asarray(r.x))[1] == pytest.approx(math.log(2), abs=1e-8)


def test_structure(result):
    assert result.name == study.NAME == "multitask_pareto"
    kinds = [k for k, _ in result.verdicts]
    assert kinds[:2] == ["holds", "holds"] and all(k in ("holds", "breaks", "note") for k in kinds)
    assert result.reading
