"""distillation_temperature study: the distillation loss's Hessian for a linear student against the
softmax-Jacobian formula, its T → ∞ limit, and the small run's spectrum against a dense Hessian."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levinthal.studies import distillation_temperature as study
from levinthal.studies.base import VERDICTS


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def _linear_problem(seed=0, N=40, d=5, C=4, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, d, generator=g, dtype=torch.float64)
    Zt = scale * torch.randn(N, C, generator=g, dtype=torch.float64)
    w = 0.5 * torch.randn(C * d + C, generator=g, dtype=torch.float64)
    return X, Zt, w, d, C


def _analytic_hessian(X, w, d, C, T):
    """(1/N) Σ_n J_nᵀ (diag(q_n) − q_n q_nᵀ) J_n, J_n = [I_C ⊗ x_nᵀ, I_C]; at T = ∞ the middle
    factor is P/C (P the centring projector). The T² of the loss cancels the 1/T² of z/T."""
    Xn, wn = X.numpy(), w.numpy()
    W, b = wn[:C * d].reshape(C, d), wn[C * d:]
    H = np.zeros((wn.size, wn.size))
    for x in Xn:
        z = W @ x + b
        if math.isinf(T):
            A = (np.eye(C) - np.ones((C, C)) / C) / C
        else:
            q = np.exp(z / T - np.max(z / T))
            q /= q.sum()
            A = np.diag(q) - np.outer(q, q)
        J = np.hstack([np.kron(np.eye(C), x[None, :]), np.eye(C)])
        H += J.T @ A @ J
    return H / len(Xn)


@pytest.mark.parametrize("T", [1.0, 3.0, math.inf])
def test_linear_student_hessian_is_the_softmax_jacobian_formula(T):
    X, Zt, w, d, C = _linear_problem()

    def loss(v):
        return study.distillation_loss(X @ v[:C * d].reshape(C, d).T + v[C * d:], Zt, T)

    H = torch.autograd.functional.hessian(loss, w).numpy()
    np.testing.assert_allclose(H, _analytic_hessian(X, w, d, C, T), rtol=1e-10, atol=1e-12)


def test_high_temperature_limit_is_centred_logit_matching():
    g = torch.Generator().manual_seed(3)
    N, C = 50, 10
    zs = 3.0 * torch.randn(N, C, generator=g, dtype=torch.float64)
    zt = 3.0 * torch.randn(N, C, generator=g, dtype=torch.float64)
    P = np.eye(C) - np.ones((C, C)) / C
    D = (zs - zt).numpy() @ P.T
    limit = float(np.mean((D * D).sum(1)) / (2 * C))
    assert float(study.logit_matching_limit(zs, zt)) == pytest.approx(limit, rel=1e-13)
    assert float(study.distillation_loss(zs, zt, math.inf)) == pytest.approx(limit, rel=1e-13)
    # a common shift of either set of logits changes nothing (softmax invariance)
    assert float(study.distillation_loss(zs + 7.0, zt, 5.0)) == pytest.approx(
        float(study.distillation_loss(zs, zt, 5.0)), rel=1e-12)
    # T²·KL → L_∞ with an O(1/T) error: relative error small at T = 1000, shrinking ×10 per decade
    err = {T: abs(float(study.distillation_loss(zs, zt, T)) - limit) for T in (100.0, 1000.0)}
    assert err[1000.0] / limit < 1e-2
    assert 8.0 < err[100.0] / err[1000.0] < 12.0
    with pytest.raises(ValueError):
        study.distillation_loss(zs, zt, 0.0)


def test_reported_spectrum_matches_a_dense_hessian(result):
    kept = result.data["kept"]
    cfg = study.Config.small()
    h, T = cfg.student_hidden, kept["temperature"]
    X, Zt = torch.as_tensor(kept["inputs"]), torch.as_tensor(kept["teacher_logits"])

    def loss(w):  # Linear(64, h) → tanh → Linear(h, 10); T²·mean KL(softmax(z_t/T) ‖ softmax(z_s/T))
        W1, b1 = w[:64 * h].reshape(h, 64), w[64 * h:65 * h]
        W2, b2 = w[65 * h:75 * h].reshape(10, h), w[75 * h:]
        zs = torch.tanh(X @ W1.T + b1) @ W2.T + b2
        logp = Zt / T - torch.logsumexp(Zt / T, 1, keepdim=True)
        logq = zs / T - torch.logsumexp(zs / T, 1, keepdim=True)
        return T * T * (logp.exp() * (logp - logq)).sum(1).mean()

    x = torch.as_tensor(kept["x"])
    H = torch.autograd.functional.hessian(loss, x, vectorize=True)
    ev = torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy()
    rep = kept["eigenvalues"]
    assert rep[-1] == pytest.approx(ev[-1], rel=1e-8)
    assert rep.sum() == pytest.approx(ev.sum(), rel=1e-8)
    key = "∞" if math.isinf(T) else f"{T:g}"
    per = result.data["per"][T]
    assert per["lambda_max"][0] == pytest.approx(ev[-1], rel=1e-8)
    assert result.numbers[f"lambda_max[T={key}]"].value == pytest.approx(np.mean(per["lambda_max"]))


def test_structure_of_the_result(result):
    cfg = study.Config.small()
    assert result.verdicts and all(kind in VERDICTS for kind, _ in result.verdicts)
    for T in cfg.temperatures:
        key = "∞" if math.isinf(T) else f"{T:g}"
        for q in ("lambda_max", "trace", "evals_to_gap", "test_accuracy"):
            m = result.numbers[f"{q}[T={key}]"]
            assert math.isfinite(m.value)
        assert len(result.data["per"][T]["lambda_max"]) == len(cfg.seeds)
        assert all(0.0 <= a <= 1.0 for a in result.data["per"][T]["test_accuracy"])
    assert 0.0 <= result.numbers["teacher test accuracy"].value <= 1.0
    assert "test_accuracy[hard labels]" in result.numbers
    assert result.reading
