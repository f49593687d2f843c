"""Regularisers and mixed states: the indices the study reports are those of independent
finite-difference Hessians, the mixed point is stationary in the full space, and the linear
autoencoder's rotation valley is exactly flat without a penalty and curved down with one."""

from __future__ import annotations

import numpy as np
import pytest

from levinthal.landscape.finite_difference import hessian_fd
from levinthal.studies import regularizer_saddles as study


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def _fd_index(L, x, h=1e-4):
    w = np.linalg.eigvalsh(hessian_fd(L, x, h=h))
    scale = np.abs(w).max()
    return int((w < -1e-5 * scale).sum()), w


@pytest.mark.parametrize("key,problem", [("ae", study.autoencoder_problem), ("at", study.attention_problem)])
def test_mixed_point_index_matches_finite_difference_hessian(result, key, problem):
    cfg = study.Config.small()
    sw = result.data[key]
    for (j, s), mp in sw["points"].items():
        L, _, _ = problem(cfg, cfg.seed + s, sw["penalties"][j])
        _, g = L.energy_gradient(mp.x)
        assert np.linalg.norm(g) / np.sqrt(L.dim) < 1e-8  # stationary in the FULL space
        idx, w = _fd_index(L, mp.x)
        assert idx == mp.index == sw["index"][j, s]
        assert w[0] == pytest.approx(mp.lowest[0], abs=1e-5)


def test_linear_autoencoder_rotation_valley_flat_without_penalty(result):
    """Baldi & Hornik: without penalty every rotation of the rows is equivalent, so the mixed
    point's curvature along the rotation is zero; an FD second derivative along the exact
    rotation curve agrees with vᵀHv."""
    cfg = study.Config.small()
    assert cfg.betas[0] == 0 and cfg.activation == "linear"
    assert abs(result.numbers["ae_rotation_curvature_first_beta"].value) < 1e-9
    for j, beta in enumerate(cfg.betas):
        mp = result.data["ae"]["points"][(j, 0)]
        L, _, _ = study.autoencoder_problem(cfg, cfg.seed, beta)
        W = mp.x.reshape(2, cfg.dim_x)
        v = study.rotation_mode(mp.x, cfg.dim_x)
        nW = np.linalg.norm(np.array([[0, 1], [-1, 0]]) @ W)

        def E(th, L=L, W=W):
            R = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]])
            return L.energy((R @ W).ravel())

        h = 1e-3
        d2 = (E(h) - 2 * E(0.0) + E(-h)) / h ** 2 / nW ** 2
        assert d2 == pytest.approx(float(v @ L.hvp(mp.x, v)), rel=1e-3, abs=1e-6)  # O(h²) truncation
        if beta > 0:
            assert d2 < 0  # the sparsity penalty curves the valley down: a saddle direction


def test_autoencoder_minima_specialise_with_sparsity(result):
    cfg = study.Config.small()
    ae = result.data["ae"]
    assert np.nanmean(ae["spec"][-1]) > 0.99  # rows aligned with the sources
    assert np.all(ae["index"][-1] >= 1)
    for mp in ae["points"].values():  # the mixed point is at 45° in the source plane
        W = mp.x.reshape(2, cfg.dim_x)
        assert np.abs(np.abs(W[:, 0]) - np.abs(W[:, 1])).max() < 1e-12
    assert np.all(ae["spec_mixed"] <= 1 / np.sqrt(2) + 1e-12)
    assert len(ae["penalties"]) == len(cfg.betas)


def test_structure(result):
    assert result.name == study.NAME == "regularizer_saddles"
    assert all(k in ("holds", "breaks", "note") for k, _ in result.verdicts)
    assert result.reading and "ae_critical_beta" in result.numbers and "att_critical_gamma" in result.numbers
