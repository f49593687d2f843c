"""saddle_escape study: escape times against the exact discrete formulas, the network saddle's
eigenvalues against the closed form ±σ(G), and the invariance that keeps SGD on the saddle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levinthal.studies import saddle_escape as study
from levinthal.systems.networks.presets import mlp_digits


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def test_gd_and_saddle_free_newton_times_are_the_exact_discrete_formulas(result):
    cfg = study.Config.small()
    an = result.data["analytic"]
    for lam, t_gd, t_sfn in zip(cfg.lam_negs, an["gd"], an["sfn"], strict=True):
        a = 1 + cfg.lr * abs(lam)
        # smallest t with r0 a^t >= R
        t_exact = next(t for t in range(1, 10**6) if cfg.r0 * a**t >= cfg.radius * (1 - 1e-12))
        assert t_gd == t_exact
        t_sfn_exact = next(t for t in range(1, 10**6) if cfg.r0 * (1 + cfg.sfn_lr) ** t >= cfg.radius)
        assert t_sfn == t_sfn_exact


def test_noisy_gd_mean_escape_time_matches_theory(result):
    cfg = study.Config.small()
    for lam in cfg.lam_negs:
        m = result.numbers[f"analytic noisy-GD escape steps (λ₋={lam:g})"]
        # theory: (ln(R/s) + (γ + ln 2)/2)/ln a, plus ½ for the first integer step; 4 standard errors
        a = 1 + cfg.lr * abs(lam)
        s = cfg.lr * cfg.sigma / math.sqrt(a * a - 1)
        ref = (math.log(cfg.radius / s) + (0.5772156649 + math.log(2)) / 2) / math.log(a) + 0.5
        assert abs(m.value - ref) <= 4 * m.stderr


def test_saddle_free_newton_step_on_a_quadratic():
    H = np.diag([-0.3, 2.0])
    g = H @ np.array([0.1, 0.2])
    step = study.saddle_free_newton_step(H, g, 0.5)
    np.testing.assert_allclose(step, [0.05, -0.1], atol=1e-15)  # unstable mode grows, stable shrinks


def test_network_origin_saddle_spectrum_is_plus_minus_singular_values_of_g(result):
    cfg = study.Config.small()
    L = mlp_digits(seed=0, hidden=(cfg.net_hidden,), n_train=cfg.net_n_train)
    X = L.inputs.numpy().reshape(L.n_samples, -1)
    y = L.targets.numpy()
    Y = np.eye(10)[y]
    p = Y.mean(0)  # softmax of the optimal output bias = class frequencies
    G = (p - Y).T @ X / len(y)
    sv = np.linalg.svd(G, compute_uv=False)
    lam0 = -sv[0]
    assert result.numbers["network saddle: λ₋ without decay"].value == pytest.approx(lam0, rel=1e-8)
    rank = int((sv > 1e-10 * sv[0]).sum())
    assert result.numbers["network saddle: index without decay"].value == cfg.net_hidden * rank
    assert result.numbers["network saddle: gradient norm at the origin"].value < 1e-10
    w = result.data["network_eigenvalues"]
    expected = np.sort(np.repeat(-sv[:rank], cfg.net_hidden))
    np.testing.assert_allclose(np.sort(w[w < -1e-10]), expected, rtol=1e-8)
    # weight decay on the weights shifts λ₋ by exactly μ = |λ₋(0)| (1 − f)
    lams = [f * lam0 for f in cfg.net_fractions]
    np.testing.assert_allclose(result.data["network"]["lam"], lams, rtol=1e-8)


def test_minibatch_noise_cannot_leave_the_network_saddle(result):
    assert result.numbers["network saddle: rms minibatch-gradient noise on the unstable space"].value < 1e-12
    assert not any(result.data["network"]["sgd_saddle_escaped"])
    assert result.numbers["network saddle: rms minibatch-gradient noise, total"].value > 0


def test_structure(result):
    assert {k for k, _ in result.verdicts} <= {"holds", "breaks", "note"}
    assert result.numbers["analytic slope d ln t / d ln|λ₋| (SFN)"].value == pytest.approx(0, abs=1e-12)
    assert result.reading and len(result.tables) == 2
