"""Generalised Gauss–Newton operator against explicit Jᵀ H_L J (torch.func.jacrev) and the
Hessian at zero residual (Schraudolph 2002; Martens 2010)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, jacrev

from levinthal.curvature import HessianOperator, hutchpp, lanczos_eigs
from levinthal.curvature.ggn import GGNOperator
from levinthal.landscape import checked
from levinthal.landscape.errors import NotSupportedError
from levinthal.systems.networks import NetworkLandscape
from levinthal.systems.networks.models import mlp
from levinthal.systems.regularized import L2Regularized


def _tiny(loss="cross_entropy", n=7, chunk_size=None, targets=None):
    torch.manual_seed(0)
    model = mlp([4, 5, 3], "tanh").double()
    X = torch.randn(n, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (n,)) if targets is None else targets
    return NetworkLandscape(model, X, y, loss, chunk_size=chunk_size), X, y


def _dense(op) -> np.ndarray:
    eye = torch.eye(op.dim, dtype=torch.float64)
    return np.stack([op.matvec(e).numpy() for e in eye], axis=1)


def _explicit_ggn_cross_entropy(land, X, y, x) -> np.ndarray:
    f = lambda p: functional_call(land.model, land.unflatten(p), (X,))  # noqa: E731
    J = jacrev(f)(x).reshape(-1, land.dim).numpy()  # (N*K, dim)
    out = f(x).detach()
    n, k = out.shape
    p = torch.softmax(out, -1).numpy()
    HL = np.zeros((n * k, n * k))
    for i in range(n):
        HL[i * k:(i + 1) * k, i * k:(i + 1) * k] = (np.diag(p[i]) - np.outer(p[i], p[i])) / n
    return J.T @ HL @ J


def test_ggn_equals_jacobian_transpose_loss_hessian_jacobian_for_cross_entropy():
    land, X, y = _tiny()
    x = land.initial_point()
    G = _dense(GGNOperator(land, x))
    ref = _explicit_ggn_cross_entropy(land, X, y, x)
    np.testing.assert_allclose(G, ref, atol=1e-13 * np.abs(ref).max(), rtol=0)


def test_ggn_is_symmetric_positive_semidefinite():
    land, _, _ = _tiny(n=12)
    G = _dense(GGNOperator(land, land.random_point(np.random.default_rng(3))))
    np.testing.assert_allclose(G, G.T, atol=1e-14 * np.abs(G).max())
    ev = np.linalg.eigvalsh(0.5 * (G + G.T))
    assert ev.min() >= -1e-12 * ev.max()
    # rank ≤ N·(K−1): softmax Hessians are singular along (1, …, 1)
    assert int((ev > 1e-10 * ev.max()).sum()) <= 12 * 2


def test_ggn_equals_hessian_for_mse_at_zero_residual():
    torch.manual_seed(1)
    model = mlp([4, 6, 2], "tanh").double()
    X = torch.randn(9, 4, dtype=torch.float64)
    with torch.no_grad():
        Y = model(X)  # targets = outputs: zero residual at the initial point
    land = NetworkLandscape(model, X, Y, "mse")
    x = land.initial_point()
    G = _dense(GGNOperator(land, x))
    H = land.hessian(x).numpy()
    np.testing.assert_allclose(G, H, atol=1e-13 * np.abs(H).max(), rtol=0)
    # away from zero residual the two differ (the residual term is not zero)
    x2 = x + 0.3
    assert np.abs(_dense(GGNOperator(land, x2)) - land.hessian(x2).numpy()).max() > 1e-6


def test_ggn_of_custom_loss_matches_closed_form_cross_entropy():
    def my_ce(out, t):
        return -(torch.log_softmax(out, -1).gather(1, t[:, None])).mean()

    land, _, _ = _tiny()
    custom, _, _ = _tiny(loss=my_ce)
    x = land.initial_point()
    np.testing.assert_allclose(_dense(GGNOperator(custom, x)), _dense(GGNOperator(land, x)), atol=1e-14)


def test_chunked_ggn_is_the_same_matrix():
    full, _, _ = _tiny(n=10)
    chunked, _, _ = _tiny(n=10, chunk_size=3)
    x = full.initial_point()
    np.testing.assert_allclose(_dense(GGNOperator(chunked, x)), _dense(GGNOperator(full, x)), atol=1e-14)


def test_lanczos_and_hutchpp_run_on_the_ggn_operator():
    land, X, y = _tiny(n=12)
    x = land.initial_point()
    ref = np.linalg.eigvalsh(_explicit_ggn_cross_entropy(land, X, y, x))
    op = GGNOperator(checked(land), x)
    res = lanczos_eigs(op, k=3, tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.eigenvalues, ref[-3:], rtol=1e-8)
    assert res.n_matvec == op.n_matvec
    tr = hutchpp(GGNOperator(land, x), n_matvec=3 * land.dim)  # sketch covers the whole space
    assert tr.estimate == pytest.approx(ref.sum(), rel=1e-8)


def test_ggn_projects_zero_modes():
    land, _, _ = _tiny()
    x = land.initial_point()
    z = torch.zeros(1, land.dim, dtype=torch.float64)
    z[0, 0] = 1.0
    op = GGNOperator(land, x, zero_modes=z)
    assert float(op.matvec(z[0]).abs().max()) == 0.0


def test_ggn_refuses_transformed_landscapes():
    land, _, _ = _tiny()
    with pytest.raises(NotSupportedError, match="L2Regularized"):
        GGNOperator(L2Regularized(land, 0.1), land.initial_point())
    # the Hessian operator still works there
    HessianOperator(L2Regularized(land, 0.1), land.initial_point()).matvec(land.initial_point())


def test_cross_entropy_loss_hessian_closed_form_matches_autodiff():
    from levinthal.curvature.ggn import loss_hessian_product

    torch.manual_seed(2)
    out, u = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    t = torch.randint(0, 4, (5,))
    ref = torch.func.jvp(torch.func.grad(lambda o: F.cross_entropy(o, t)), (out,), (u,))[1]
    np.testing.assert_allclose(loss_hessian_product(F.cross_entropy, out, t, u).numpy(), ref.numpy(),
                               atol=1e-15)


def test_ggn_of_the_cnn_preset_equals_explicit_jacobian_product():
    from levinthal.systems import make_system

    land = make_system("cnn-digits", n_train=20)
    x = land.initial_point()
    f = lambda p: functional_call(land.model, land.unflatten(p), (land._inputs,))  # noqa: E731
    J = jacrev(f)(x).reshape(-1, land.dim)
    out = f(x).detach()
    p = torch.softmax(out, -1)
    n = out.shape[0]
    HL = torch.block_diag(*[(torch.diag(p[i]) - torch.outer(p[i], p[i])) / n for i in range(n)])
    v = torch.as_tensor(np.random.default_rng(0).standard_normal(land.dim))
    ref = J.T @ (HL @ (J @ v))
    np.testing.assert_allclose(GGNOperator(land, x).matvec(v).numpy(), ref.numpy(),
                               atol=1e-13 * float(ref.abs().max()))
