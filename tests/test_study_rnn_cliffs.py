"""rnn_cliffs study: the slice coordinate is the spectral radius, its slopes agree with finite
differences, clipping and the Wilson interval match their formulas, divergences are counted right."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levinthal.studies import rnn_cliffs as study


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


@pytest.fixture(scope="module")
def landscape():
    cfg = study.Config.small()
    return study.make_landscape(cfg.hidden, cfg.length, cfg.n_train, cfg.n_test, seed=cfg.seed)


def test_memory_task_labels_are_the_sign_of_the_first_input():
    X, y = study.memory_task(50, 7, seed=3)
    assert X.shape == (50, 7)
    assert torch.equal(y, (X[:, 0] > 0).long())


def test_slice_coordinate_is_the_recurrent_spectral_radius(result, landscape):
    s = result.data["slices"]["trained"]
    for rho in (0.0, 0.7, 1.3, 2.0):
        W = landscape.unflatten(s["base"] + rho * s["d"])[study.W_HH].numpy()
        assert np.max(np.abs(np.linalg.eigvals(W))) == pytest.approx(rho, abs=1e-12)
    # the trained point itself lies on the line at its own radius
    x = result.data["trained"]["x"]
    assert torch.allclose(s["base"] + s["rho0"] * s["d"], x, atol=1e-12)


def test_slice_losses_and_slopes_agree_with_direct_evaluation(result, landscape):
    s = result.data["slices"]["trained"]
    h = 1e-5
    for i in range(0, len(s["rho"]), 3):
        rho = float(s["rho"][i])
        assert s["loss"][i] == pytest.approx(landscape.energy(s["base"] + rho * s["d"]), rel=1e-10)
        fd = (landscape.energy(s["base"] + (rho + h) * s["d"])
              - landscape.energy(s["base"] + (rho - h) * s["d"])) / (2 * h)
        # central difference error ~ h² L''' plus rounding ~ 1e-16 / h
        assert s["dloss_drho"][i] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_clip_by_norm():
    g = torch.tensor([3.0, 4.0], dtype=torch.float64)
    c = study.clip_by_norm(g, 1.0)
    assert float(c.norm()) == pytest.approx(1.0)
    assert torch.allclose(c * 5.0, g)
    assert study.clip_by_norm(g, 10.0) is g


def test_wilson_interval_matches_the_closed_form():
    z = 1.959963984540054
    m = study.wilson_interval(0, 3)
    assert m.low == 0.0 and m.high == pytest.approx(z * z / (3 + z * z))
    m = study.wilson_interval(5, 10)
    half = z * math.sqrt(0.25 / 10 + z * z / 400) / (1 + z * z / 10)
    assert (m.low, m.high) == pytest.approx((0.5 - half, 0.5 + half))


def test_divergences_are_counted_from_the_runs(result):
    cfg = study.Config.small()
    for lr in cfg.lrs:
        for clipped in (False, True):
            runs = result.data["runs"][(lr, clipped)]
            k = sum((not o["finite"]) or o["final_loss"] > o["initial_loss"] for o in runs)
            tag = f"lr={lr:g}, {'clipped' if clipped else 'unclipped'}"
            assert result.numbers[f"divergence fraction [{tag}]"].value == pytest.approx(k / len(runs))
            if clipped:
                # clipped updates move at most lr·c: no gradient explosion can throw x to non-finite values
                assert all(o["finite"] for o in runs)


def test_structure(result):
    assert {k for k, _ in result.verdicts} <= {"holds", "breaks", "note"}
    for name in ("initial", "trained"):
        assert result.numbers[f"{name}: slope ratio (ρ ≥ 1)/(ρ ≤ 0.8)"].value > 0
    assert result.reading and result.tables
