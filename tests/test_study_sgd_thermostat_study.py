"""SGD-thermostat study: the skewed double well against its closed forms, Kramers against the
exact 1-D MFPT integral in the small-noise limit, and the small study run against quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from levinthal.studies import get_study
from levinthal.studies.sgd_thermostat_study import (
    Config,
    SkewedDoubleWell,
    exact_mfpt,
    kramers_rate,
    run,
    stationary_density,
)


@pytest.fixture(scope="module")
def small():
    return run(Config.small())


def test_skewed_double_well_has_equal_depth_minima_with_the_designed_curvatures():
    dw = SkewedDoubleWell(1.0, 0.5, 0.3)
    a, b = dw.minima()
    assert dw.V(np.array([a, b])) == pytest.approx([0.0, 0.0], abs=1e-20)
    assert dw.dV(np.array([a, b])) == pytest.approx([0.0, 0.0], abs=1e-12)
    # V'' = 8h s'² at s = ±1; V''(0) = −4h
    assert dw.d2V(np.array([a, b, 0.0])) == pytest.approx(
        8 * dw.ds(np.array([a, b, 0.0])) ** 2 * [1, 1, -0.5]
    )
    x = np.linspace(-2.5, 1.5, 17)
    h = 1e-6
    assert dw.dV(x) == pytest.approx((dw.V(x + h) - dw.V(x - h)) / (2 * h), rel=1e-6, abs=1e-6)
    assert dw.d2V(x) == pytest.approx((dw.dV(x + h) - dw.dV(x - h)) / (2 * h), rel=1e-6, abs=1e-6)


def test_kramers_rate_approaches_the_exact_mfpt_linearly_in_kT():
    """Kramers is the ΔV/kT → ∞ limit of the exact MFPT integral, with an O(kT/ΔV) correction:
    halving kT halves k·T_exact − 1."""
    dw = SkewedDoubleWell(1.0, 0.5, 0.3)
    a, b = dw.minima()
    ca, cb, ct = dw.d2V(np.array([a, b, 0.0]))
    for start, target, curv in ((a, b, ca), (b, a, cb)):
        r = [
            exact_mfpt(dw, kT, start, target) * kramers_rate(curv, ct, 1.0, kT) for kT in (0.02, 0.01, 0.005)
        ]
        assert abs(r[2] - 1) < 0.01
        assert (r[1] - 1) / (r[0] - 1) == pytest.approx(0.5, abs=0.03)
        assert (r[2] - 1) / (r[1] - 1) == pytest.approx(0.5, abs=0.03)


def test_exact_mfpt_both_quadrature_routes_agree_on_a_symmetric_well():
    """κ = 0 makes the well symmetric, so the left→right quadrature (reflecting on the left)
    and the right→left one (reflecting on the right) must give the same time."""
    dw, mirrored = SkewedDoubleWell(1.0, 0.5, 0.3), SkewedDoubleWell(1.0, 0.0, 0.3)
    a, b = mirrored.minima()
    assert a == pytest.approx(-b)
    left = exact_mfpt(mirrored, 0.3, a, b)
    right = exact_mfpt(mirrored, 0.3, b, a)
    assert left == pytest.approx(right, rel=1e-5)  # grid of 40001 points
    assert dw.minima()[0] < a  # the flat minimum is wider


def test_stationary_density_is_boltzmann_for_constant_diffusion():
    dw = SkewedDoubleWell()
    x, p = stationary_density(dw, 0.4, -4.0, 3.0)
    q = np.exp(-dw.V(x) / 0.4)
    q /= integrate.trapezoid(q, x)
    assert p == pytest.approx(q, rel=1e-5, abs=1e-10)  # trapezoid error of Φ = ∫V'/kT


def test_small_study_sgd_histogram_matches_boltzmann_by_quadrature(small):
    m = small.numbers["stationary P(sharp well), additive SGD"]
    # tolerance: 4 binomial standard errors plus an O(η V''·kT/ΔV) step bias allowance of 0.03
    assert abs(m.value - m.reference) < 4 * m.stderr + 0.03
    chi2 = small.numbers["χ² of the SGD histogram vs Boltzmann"]
    dof = chi2.reference
    assert chi2.value < dof + 5 * math.sqrt(2 * dof)


def test_small_study_escape_times_match_the_exact_mfpt(small):
    for noise in ("additive", "hessian"):
        for label in ("flat", "sharp"):
            m = small.numbers[f"MFPT {label} → other well, {noise} noise"]
            # the exact value must lie within the censored-MLE 95% interval widened by 10% (O(η) bias)
            assert m.low * 0.9 <= m.reference <= m.high * 1.1, (noise, label, m.text())
    hes = small.numbers["τ_flat/τ_sharp, Hessian-shaped noise"]
    add = small.numbers["τ_flat/τ_sharp, additive"]
    assert hes.value > 5 * add.value  # state-dependent noise separates the minima far beyond the prefactor


def test_small_study_network_noise_structure(small):
    d = small.data["networks"][0]["dim"]
    an = small.numbers["network noise anisotropy λmax(Σ)·d/trΣ"]
    assert 1.0 <= an.value <= d  # bounds of λmax·d/tr for a PSD matrix
    share = small.numbers["share of trΣ in the top-5 Hessian eigenspace"]
    assert 0.0 <= share.value <= 1.0 and share.reference == pytest.approx(5 / d)
    cos = small.numbers["|cos| top eigvec Σ vs top eigvec H"]
    assert 0.0 <= cos.value <= 1.0 + 1e-12


def test_small_study_structure(small):
    assert get_study("sgd_thermostat_study").NAME == "sgd_thermostat_study"
    assert small.verdicts and all(k in ("holds", "breaks", "note") for k, _ in small.verdicts)
    assert all(any(ch.isdigit() for ch in s) for _, s in small.verdicts)
    assert small.reading and small.seconds > 0
    for m in small.numbers.values():
        assert math.isfinite(m.value)
