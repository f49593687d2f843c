"""calibration_sharpness study: ECE on a hand-made table, temperature recovery, and the small run's
numbers against independent recomputations (binned ECE, dense Hessian, NLL optimality)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from levinthal.studies import calibration_sharpness as study
from levinthal.studies.base import VERDICTS


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return study.run(study.Config.small(), out=tmp_path_factory.mktemp("calibration"))


def test_ece_of_a_hand_made_table():
    # 15 bins of width 1/15: 0.90 and 0.92 share bin (13/15, 14/15], 0.58 and 0.55 share (8/15, 9/15],
    # 0.30 is alone in (4/15, 5/15], 1.0 alone in the last bin.
    conf = [0.90, 0.92, 0.58, 0.55, 0.30, 1.0]
    correct = [1, 0, 1, 1, 0, 1]
    by_hand = (2 * abs(0.5 - 0.91) + 2 * abs(1.0 - 0.565) + 1 * abs(0.0 - 0.30) + 1 * 0.0) / 6
    assert by_hand == pytest.approx(1.99 / 6)
    assert study.expected_calibration_error(conf, correct, 15) == pytest.approx(by_hand, abs=1e-12)
    # one bin: |mean accuracy − mean confidence|
    assert study.expected_calibration_error(conf, correct, 1) == pytest.approx(abs(4 / 6 - np.mean(conf)))
    # a confidence of 0 belongs to the first bin, not outside every bin
    assert study.expected_calibration_error([0.0, 0.05], [0, 0], 15) == pytest.approx(0.025)
    with pytest.raises(ValueError):
        study.expected_calibration_error([1.2], [1])


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(7)
    n, C, T0 = 20000, 5, 2.5
    z0 = 2.0 * rng.standard_normal((n, C))  # calibrated logits
    p0 = np.exp(z0 - logsumexp(z0, axis=1, keepdims=True))
    y = np.array([rng.choice(C, p=p) for p in p0])
    z = T0 * z0  # an overconfident model: logits T0 times too large
    T = study.fit_temperature(z, y)
    # Fisher information of β = 1/T per sample: Var_{softmax(β z)}(z); se(T) = T0² se(β)
    info = float(np.mean((p0 * z**2).sum(1) - (p0 * z).sum(1) ** 2))
    se_T = T0**2 / math.sqrt(n * info)
    assert abs(T - T0) < 4 * se_T
    # the NLL at the fit is below that at T0 (the MLE), and both are far below the unscaled NLL
    assert study.nll(z, y, T) <= study.nll(z, y, T0) + 1e-12
    assert study.nll(z, y, T) < study.nll(z, y, 1.0)


def _ece_independent(p: np.ndarray, y: np.ndarray, M: int = 15) -> float:
    conf, pred = p.max(1), p.argmax(1)
    total = 0.0
    for m in range(M):
        lo, hi = m / M, (m + 1) / M
        sel = (conf > lo) & (conf <= hi) if m else (conf >= 0) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs((pred[sel] == y[sel]).mean() - conf[sel].mean())
    return total


def test_reported_ece_and_temperature_match_an_independent_computation(result):
    kept = result.data["kept"]
    zt, yt, zv, yv, T = (kept[k] for k in ("test_logits", "test_labels", "val_logits", "val_labels",
                                           "temperature"))
    soft = lambda z: np.exp(z - logsumexp(z, axis=1, keepdims=True))  # noqa: E731
    assert kept["row"]["ece_before"] == pytest.approx(_ece_independent(soft(zt), yt), abs=1e-12)
    assert kept["row"]["ece_after"] == pytest.approx(_ece_independent(soft(zt / T), yt), abs=1e-12)
    # T* minimises the validation NLL (independent log-sum-exp NLL)
    nll = lambda t: float(np.mean(logsumexp(zv / t, axis=1) - zv[np.arange(len(yv)), yv] / t))  # noqa: E731
    assert nll(T) <= nll(T * 1.02) and nll(T) <= nll(T / 1.02)


def test_reported_lambda_max_matches_a_dense_hessian(result):
    kept = result.data["kept"]
    h = kept["width"]
    X = torch.as_tensor(result.data["fit_inputs"])
    y = torch.as_tensor(result.data["fit_labels"])

    def loss(w):  # Linear(64, h) → tanh → Linear(h, 10), cross-entropy; layout W1, b1, W2, b2
        W1 = w[:64 * h].reshape(h, 64)
        b1 = w[64 * h:65 * h]
        W2 = w[65 * h:75 * h].reshape(10, h)
        b2 = w[75 * h:]
        z = torch.tanh(X @ W1.T + b1) @ W2.T + b2
        return (torch.logsumexp(z, 1) - z[torch.arange(len(y)), y]).mean()

    x = torch.as_tensor(kept["x"])
    H = torch.autograd.functional.hessian(loss, x, vectorize=True)
    ev = torch.linalg.eigvalsh(0.5 * (H + H.T))
    assert kept["row"]["lambda_max"] == pytest.approx(float(ev[-1]), rel=1e-5)
    assert float(loss(x)) == pytest.approx(kept["row"]["train_loss"], rel=1e-12)


def test_structure_of_the_result(result):
    cfg = study.Config.small()
    assert len(result.data["rows"]) == cfg.n_settings * len(cfg.seeds)
    assert result.verdicts and all(kind in VERDICTS for kind, _ in result.verdicts)
    for m in cfg.measures:
        for which in ("ece_before", "ece_after"):
            assert f"spearman({which}, {m})" in result.numbers
            r = result.numbers[f"spearman({which}, {m})"].value
            assert -1.0 <= r <= 1.0
    d = result.numbers["ece_after - ece_before"]
    assert d.low is not None and d.low <= d.value <= d.high
    assert all(0.0 <= r["ece_before"] <= 1.0 and r["temperature"] > 0 for r in result.data["rows"])
    assert len(result.figures) == 2 and all(p.exists() for p, _ in result.figures)
    assert result.reading
