"""Study gan_mode_collapse: the game Jacobian against finite differences and the bilinear game,
player Hessians against torch.func.hessian, mode counting against exact Gaussian fractions."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from levinthal.studies import gan_mode_collapse as study


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def test_bilinear_game_has_eigenvalues_plus_minus_i():
    """V(x, y) = x·y (x minimises, y maximises): v = (y, −x), J = [[0, I], [−I, 0]], eigenvalues ±i."""
    x = torch.tensor([0.3, -1.2, 0.5], dtype=torch.float64)
    y = torch.tensor([2.0, 0.1, -0.7], dtype=torch.float64)
    J = study.game_jacobian(lambda a, b: a @ b, x, y).numpy()
    n = 3
    expected = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    np.testing.assert_array_equal(J, expected)
    ev = np.linalg.eigvals(J)
    np.testing.assert_allclose(np.sort(ev.imag), [-1, -1, -1, 1, 1, 1], atol=1e-15)
    np.testing.assert_allclose(ev.real, 0.0, atol=1e-15)
    hg, hd = study.player_hessians(torch.as_tensor(J), n)
    assert not hg.any() and not hd.any()  # a bilinear game has no curvature within a player


def test_game_jacobian_matches_finite_differences(result):
    run = result.data["runs"][0]
    game, state = run["game"], run["states"][-1]
    theta, phi = state["theta"], state["phi"]
    J = study.game_jacobian(game.eval_value, theta, phi).numpy()
    w, nt, h = torch.cat([theta, phi]), theta.numel(), 1e-5
    J_fd = np.empty_like(J)
    for i in range(w.numel()):
        e = torch.zeros_like(w)
        e[i] = h
        vp = study.vector_field(game.eval_value, (w + e)[:nt], (w + e)[nt:])
        vm = study.vector_field(game.eval_value, (w - e)[:nt], (w - e)[nt:])
        J_fd[:, i] = ((vp - vm) / (2 * h)).numpy()
    # central differences: truncation h²‖∇³v‖ ~ 1e-10, round-off ε‖v‖/h ~ 1e-11
    np.testing.assert_allclose(J, J_fd, atol=1e-7)
    # the study's eigenvalues are those of the finite-difference Jacobian (matched one to one)
    ev, ev_fd = state["jacobian_eigenvalues"], np.linalg.eigvals(J_fd)
    cost = np.abs(ev[:, None] - ev_fd[None, :])
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max() < 1e-4 * np.abs(ev).max()
    complex_fd = np.mean(np.abs(ev_fd.imag) > 1e-9 * np.abs(ev_fd).max())
    assert state["complex_fraction"] == pytest.approx(complex_fd, abs=2 / ev.size)


def test_player_hessians_are_each_players_own_hessian(result):
    run = result.data["runs"][1]
    game, state = run["game"], run["states"][0]
    theta, phi = state["theta"], state["phi"]
    hg = torch.func.hessian(lambda t: game.eval_value(t, phi))(theta).numpy()
    hd = torch.func.hessian(lambda p: -game.eval_value(theta, p))(phi).numpy()
    np.testing.assert_allclose(state["g_eigenvalues"], np.linalg.eigvalsh(hg), atol=1e-10)
    np.testing.assert_allclose(state["d_eigenvalues"], np.linalg.eigvalsh(hd), atol=1e-10)
    lam = np.linalg.eigvalsh(hg)
    assert state["g_min"] == pytest.approx(lam[0], abs=1e-10)
    assert state["g_negative_fraction"] == np.mean(lam < -1e-9 * np.abs(lam).max())
    a = np.abs(lam)
    assert state["g_log10_anisotropy"] == pytest.approx(math.log10(a.max() / a.min()), rel=1e-6)


def test_mode_counting_against_exact_gaussian_fractions():
    cfg = study.Config.small()
    g = torch.Generator().manual_seed(5)
    x = study.ring_of_gaussians(20000, g, cfg.n_modes, cfg.radius, cfg.sigma)
    modes, quality = study.modes_covered(x, cfg)
    assert modes == cfg.n_modes
    p = 1 - math.exp(-4.5)  # P(|N(0, σ²I₂)| < 3σ), a Rayleigh tail
    assert quality == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / x.shape[0]))
    # samples from 3 of the 8 modes, and a far cloud: 3 modes covered
    centres = study._centres(cfg)
    noise = cfg.sigma * torch.randn(1200, 2, generator=g, dtype=torch.float64)
    three = centres[[0, 3, 5]].repeat(400, 1) + noise
    far = torch.zeros(800, 2, dtype=torch.float64)
    modes, quality = study.modes_covered(torch.cat([three, far]), cfg)
    assert modes == 3 and quality == pytest.approx(1200 / 2000 * p, abs=0.02)


def test_result_structure(result):
    assert {k for k, _ in result.verdicts} <= {"holds", "breaks", "note"}
    assert len(result.verdicts) == 5 and result.reading
    cfg = study.Config.small()
    n_states = cfg.n_seeds * len(cfg.step_sizes) * cfg.checkpoints
    assert result.numbers["states_analysed"].value == n_states
    for key in ("all_complex_fraction", "all_g_negative_fraction", "all_d_log10_anisotropy"):
        assert key in result.numbers
    for s in result.data["states"]:
        assert s["jacobian_eigenvalues"].size == s["theta"].numel() + s["phi"].numel()
        assert 0 <= s["modes"] <= cfg.n_modes
