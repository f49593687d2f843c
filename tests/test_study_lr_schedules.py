"""lr_schedules study: schedules, the SGD loop and the end-point sharpness against dense references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levinthal.explore.training import train
from levinthal.studies import lr_schedules as study
from levinthal.systems.networks.presets import mlp_digits


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def test_schedules_match_their_formulas():
    T, eta = 100, 0.4
    cos = study.make_schedule("cosine", eta, T)
    step = study.make_schedule("step", eta, T, milestones=(0.5, 0.75), factor=0.1)
    const = study.make_schedule("constant", eta, T)
    assert cos(0) == pytest.approx(eta)
    assert cos(50) == pytest.approx(eta / 2)
    assert cos(25) == pytest.approx(eta * (1 + math.sqrt(0.5)) / 2)
    assert [step(t) for t in (0, 49, 50, 74, 75, 99)] == pytest.approx([0.4, 0.4, 0.04, 0.04, 0.004, 0.004])
    assert const(99) == eta
    with pytest.raises(ValueError):
        study.make_schedule("linear", eta, T)


def test_full_batch_constant_schedule_is_trains_gradient_descent():
    L = mlp_digits(seed=3, hidden=(4,), n_train=60)
    x0 = L.initial_point()
    mine = study.sgd_with_schedule(L, x0, study.make_schedule("constant", 0.3, 15), 15, batch_size=None)
    ref = train(L, x0, optimizer="gd", lr=0.3, steps=15, track=("loss",))
    assert torch.allclose(mine.x, ref.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine.step_loss, ref.step_loss, rtol=1e-12)


def test_end_point_sharpness_agrees_with_dense_hessian(result):
    cfg = study.Config.small()
    L = mlp_digits(seed=cfg.seeds[0], hidden=cfg.hidden, n_train=cfg.n_train)
    d = result.data["by_lr0"][cfg.lr0s[0]]
    for kind in cfg.schedules:
        x = d["finals"][(kind, cfg.seeds[0])]
        w = torch.linalg.eigvalsh(L.hessian(x)).numpy()
        lam = d["per"][kind]["lambda_max"][0]
        assert lam == pytest.approx(w[-1], rel=1e-4)
        # Hutch++ with m products spends m/3 Hutchinson probes on the residual H − H_k, whose
        # standard error is at most sqrt(2 / (m/3)) ‖H‖_F (Meyer et al. 2021); allow 4 of them.
        tr = d["per"][kind]["trace"][0]
        bound = 4.0 * np.sqrt(6.0 / cfg.trace_matvec) * np.sqrt((w**2).sum())
        assert abs(tr - w.sum()) <= bound
        assert L.energy(x) == pytest.approx(d["per"][kind]["train_loss"][0], rel=1e-12)


def test_runs_share_batches_so_schedules_agree_until_they_diverge(result):
    cfg = study.Config.small()
    # Until the first milestone the step schedule equals the constant one: identical losses.
    k = round(cfg.milestones[0] * cfg.steps)
    d = result.data["by_lr0"][cfg.lr0s[0]]
    for seed in cfg.seeds:
        a = d["curves"][("constant", seed)][:k]
        b = d["curves"][("step", seed)][:k]
        np.testing.assert_allclose(a, b, rtol=0, atol=0)


def test_structure(result):
    assert {k for k, _ in result.verdicts} <= {"holds", "breaks", "note"}
    cfg = study.Config.small()
    tag = f"η₀={cfg.lr0s[0]:g}"
    for kind in cfg.schedules:
        for q in study.QUANTITIES:
            m = result.numbers[f"{q}[{kind}, {tag}]"]
            assert math.isfinite(m.value) and m.low is not None
        assert result.numbers[f"aligned_barrier[{kind}, between seeds, {tag}]"].value >= 0
    assert 0 <= result.numbers[f"fraction same basin (schedules, same seed, {tag})"].value <= 1
    assert result.reading
