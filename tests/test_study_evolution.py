"""Evolution study: Lande's equation exact for Gaussian populations under linear and Gaussian
fitness, Wright–Fisher generations that conserve what they must, and the search study's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levinthal.studies import get_study
from levinthal.studies.base import VERDICTS
from levinthal.studies.evolution import (
    Config,
    lande_response,
    run,
    selection_differential,
    wright_fisher_generation,
)

G = np.array([[0.04, 0.01], [0.01, 0.02]])
MU = np.array([0.3, -0.2])


def _gaussian_population(n, seed):
    return np.random.default_rng(seed).multivariate_normal(MU, G, size=n)


def _weighted_mean_se(X, log_w):
    """Standard error of a self-normalised importance-weighted mean: √(Σ p_i² (x_i − x̄_w)²)."""
    p = np.exp(log_w - log_w.max())
    p /= p.sum()
    m = p @ X
    return np.sqrt((p**2) @ (X - m) ** 2)


def test_selection_differential_under_linear_fitness_is_lande_g_beta():
    # w = exp(β·x) on N(μ, G): the selected distribution is N(μ + Gβ, G), so S = G ∇ln w̄ = Gβ exactly
    beta = np.array([1.5, -2.0])
    X = _gaussian_population(400_000, 1)
    S = selection_differential(X, X @ beta)
    expected = lande_response(G, beta)
    se = _weighted_mean_se(X, X @ beta)
    assert np.all(se < np.sqrt(np.diag(G) * math.exp(beta @ G @ beta) / X.shape[0]) * 1.5)
    assert np.all(np.abs(S - expected) < 5 * se)


def test_selection_differential_under_gaussian_fitness_matches_the_closed_form():
    # w = exp(−½ (x−θ)ᵀ Ω⁻¹ (x−θ)): ln w̄(μ) = −½ (μ−θ)ᵀ (G+Ω)⁻¹ (μ−θ) + const, so
    # Lande's G ∇ln w̄ = G (G+Ω)⁻¹ (θ − μ), exact for a Gaussian population (Lande 1976)
    theta, Omega = np.array([0.6, 0.1]), np.array([[0.1, 0.0], [0.0, 0.05]])
    X = _gaussian_population(400_000, 2)
    d = X - theta
    lw = -0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(Omega), d)
    S = selection_differential(X, lw)
    expected = G @ np.linalg.solve(G + Omega, theta - MU)
    assert np.all(np.abs(S - expected) < 5 * _weighted_mean_se(X, lw))


def test_wright_fisher_offspring_carry_parental_alleles_and_recombine_loci():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 40, 2))
    lw = rng.normal(size=(3, 40))
    child, p1, p2, rec = wright_fisher_generation(X, lw, rng, mutation_sd=0.0, recombination=1.0)
    rows = np.arange(3)[:, None]
    # without mutation each locus is a copy of the same locus of one of the two parents
    from1 = child == X[rows, p1]
    from2 = child == X[rows, p2]
    assert np.all(from1 | from2)
    assert rec.all() and np.any(from1[..., 0] & ~from1[..., 1] & from2[..., 1])  # mixed genotypes occur
    clone, q1, q2, rec0 = wright_fisher_generation(X, lw, rng, mutation_sd=0.0, recombination=0.0)
    assert not rec0.any() and np.array_equal(q1, q2) and np.array_equal(clone, X[rows, q1])


def test_neutral_wright_fisher_mean_drifts_with_variance_g_over_n():
    # equal fitness: E[Δz̄] = 0 and Var[Δz̄] = G_pop / N per generation (binomial sampling of parents)
    rng = np.random.default_rng(4)
    R, N = 4000, 30
    X = np.broadcast_to(rng.normal(size=(1, N, 2)), (R, N, 2)).copy()
    child, *_ = wright_fisher_generation(X, np.zeros((R, N)), rng, mutation_sd=0.0)
    dz = child.mean(axis=1) - X.mean(axis=1)
    var_pop = X[0].var(axis=0)
    assert np.all(np.abs(dz.mean(axis=0)) < 5 * np.sqrt(var_pop / N / R))
    # sample variance of 4000 draws: relative s.e. ≈ √(2/4000) ≈ 2.2 %
    assert np.all(np.abs(dz.var(axis=0) / (var_pop / N) - 1) < 0.1)


def test_bad_input_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        wright_fisher_generation(np.zeros((2, 5, 2)), np.zeros((2, 4)), rng, mutation_sd=0.1)
    with pytest.raises(ValueError):
        wright_fisher_generation(np.zeros((2, 5, 2)), np.zeros((2, 5)), rng, mutation_sd=0.1,
                                 recombination=2.0)
    with pytest.raises(TypeError):
        wright_fisher_generation(np.zeros((2, 5, 2)), np.zeros((2, 5)), 0, mutation_sd=0.1)


@pytest.fixture(scope="module")
def result():
    return run(Config.small())


def test_study_is_registered_and_reports_verdicts(result):
    assert get_study("evolution").run is run
    assert result.verdicts and all(kind in VERDICTS for kind, _ in result.verdicts)
    assert result.reading
    names = [k for k in result.numbers if k.startswith("P(highest peak)")]
    assert len(names) == 4
    for k in names:
        m = result.numbers[k]
        assert 0.0 <= m.low <= m.value <= m.high <= 1.0


def test_peaks_are_the_muller_brown_minima(result):
    # Müller & Brown 1979: minima E = −146.700, −108.167, −80.768 at the positions below
    ref = np.array([[-0.558, 1.442], [0.623, 0.028], [-0.050, 0.467]])
    assert np.allclose(result.data["peaks"], ref, atol=2e-3)


def test_gradient_ascent_ends_on_a_peak(result):
    # the gradient flow of F stops at a maximum of F: one of the three Müller–Brown minima
    ga, peaks = result.data["ga"], result.data["peaks"]
    d = np.linalg.norm(ga[:, None] - peaks[None], axis=-1)
    assert np.all(d.min(axis=1) < 1e-3)
    assert np.array_equal(result.data["finals"]["gradient ascent"], d.argmin(axis=1))


def test_lande_holds_at_weak_selection_and_degrades_at_strong(result):
    cfg = Config.small()
    weak = result.numbers[f"Lande: |S − sG∇F| / |sG∇F| at s = {min(cfg.lande_s):g}"]
    strong = result.numbers[f"Lande: |S − sG∇F| / |sG∇F| at s = {max(cfg.lande_s):g}"]
    # weak selection: deviation only from the population's non-Gaussianity over a slope whose
    # curvature × spread is ≈ 5 × 0.02 against |∇F| ≈ 2.5, i.e. a few per cent
    assert weak.value < 0.15
    assert strong.value > weak.value
