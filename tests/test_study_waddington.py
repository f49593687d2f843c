"""Waddington study: switching times against Kramers with the quasi-potential barrier, the exact 1-D
MFPT of a gradient double well, the saddle-node at det J = 0 and a flux of zero for gradient flows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levinthal.studies import get_study
from levinthal.studies.base import VERDICTS
from levinthal.studies.waddington import Config, exact_mfpt_1d, fit_arrhenius, run
from levinthal.systems.circuits import ToggleSwitch


@pytest.fixture(scope="module")
def result():
    return run(Config.small())


def test_study_is_registered_and_reports_verdicts_and_numbers(result):
    assert get_study("waddington").run is run
    assert result.verdicts and all(kind in VERDICTS for kind, _ in result.verdicts)
    for key in ("ΔΦ = D·ΔU at the smallest D (P_ss)", "switching: slope of ln τ vs 1/D (toggle)",
                "fold signal s_c (f = 0, det J = 0)", "toggle: slope / ΔΦ"):
        assert key in result.numbers and math.isfinite(result.numbers[key].value)
    assert result.reading
    assert result.numbers["stable nodes"].value == 2 and result.numbers["saddles"].value == 1


def test_exact_mfpt_of_free_diffusion_is_the_textbook_formula():
    # V = 0 with a reflecting wall at `lower`: T(a -> b) = ((b - lower)² − (a - lower)²) / (2D)
    D, lower, a, b = 0.7, -1.0, 0.5, 2.0
    exact = ((b - lower) ** 2 - (a - lower) ** 2) / (2 * D)
    assert abs(exact_mfpt_1d(lambda x: 0.0 * x, a, b, D, lower) / exact - 1) < 1e-8


def test_arrhenius_fit_recovers_slope_of_noise_free_data():
    D = np.array([0.03, 0.04, 0.06])
    slope, se, c = fit_arrhenius(D, 2.0 * np.exp(0.125 / D), np.full(3, 0.1))
    assert abs(slope - 0.125) < 1e-12 and abs(c - math.log(2.0)) < 1e-12 and se > 0


def test_switching_slope_is_the_quasi_potential_barrier(result):
    # Freidlin–Wentzell / Kramers: ln τ = c + ΔΦ/D + o(1). At finite D the fit's slope differs from
    # the barrier by the prefactor's D-dependence; the exact MFPT of a gradient double well with the
    # same barrier, at the same D, sets that expected ratio independently.
    m = result.numbers["toggle: slope / ΔΦ"]
    assert abs(m.value - m.reference) < 4 * m.stderr + 0.05
    assert 0.1 < result.data["dphi"] < 0.15  # D·ΔU of this switch is ≈ 0.125 (circuit test, D → 0)


def test_gradient_double_well_times_match_the_exact_one_dimensional_mfpt(result):
    ratio, se = result.data["tau_ratio"], result.data["tau_ratio_se"]
    # each ratio: mean of ~100 roughly exponential times (≈ 10 % standard error) + an O(dt) bias
    assert np.all(np.abs(ratio - 1.0) < 4 * se + 0.05)


def test_double_well_quasi_potential_barrier_and_flux_are_the_gradient_values(result):
    assert abs(result.numbers["double well: D·ΔU from P_ss"].value - 1.0) < 0.01  # ΔV = 1
    assert result.data["flux_fraction_well"] < 1e-10  # a gradient flow carries no stationary flux
    assert result.numbers["relative curl, double well"].value == 0.0
    assert result.numbers["flux fraction, toggle (D = 0.02)"].value > 0.05


def test_fold_is_where_det_j_vanishes_by_finite_differences(result):
    sn = result.data["saddle_node"]
    t = ToggleSwitch().with_signal(result.numbers["fold signal s_c (f = 0, det J = 0)"].value)
    h = 1e-6
    J = np.stack([(t.drift(sn.x_fold + h * e) - t.drift(sn.x_fold - h * e)) / (2 * h) for e in np.eye(2)], 1)
    assert abs(np.linalg.det(J)) < 1e-7
    assert np.max(np.abs(t.drift(sn.x_fold))) < 1e-10
    assert abs(sn.signal_fold - sn.signal_bisection) < 1e-6
    # before the fold two fates, after it one
    before = t.with_signal(sn.signal_fold - 1e-3).fixed_points()
    assert sum(p.kind == "stable" for p in before) == 2
    assert result.numbers["P(low-x fate) past the fold"].value < 1e-2


def test_symmetric_switch_occupies_both_fates_equally(result):
    assert abs(result.data["occupancy"][0] - 0.5) < 1e-8  # the mirror symmetry x <-> y at s = 0
    assert np.all(np.diff(result.data["occupancy"]) <= 1e-12)  # the signal favours the high-x fate
