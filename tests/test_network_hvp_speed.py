"""The fixed-point HVP operator of network landscapes gives the products of ``hvp`` (to
round-off), and HessianOperator uses it only where that is the same function, counting
every product (correctness only: speed is measured in benchmarks/bench_hvp_cost.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levinthal.curvature import HessianOperator, lanczos_eigs
from levinthal.landscape import checked
from levinthal.landscape.errors import LandscapeError
from levinthal.systems import make_system
from levinthal.systems.regularized import L2Regularized


@pytest.fixture(scope="module", params=["mlp-digits", "cnn-digits"])
def net(request):
    return make_system(request.param, n_train=60)


@pytest.mark.parametrize("method", ["double-backward", "linearize"])
def test_hvp_operator_equals_hvp(net, method):
    rng = np.random.default_rng(0)
    x = net.random_point(rng)
    op = net.hvp_operator(x, method=method)
    for _ in range(3):
        v = torch.as_tensor(rng.standard_normal(net.dim))
        ref = net.hvp(x, v)
        np.testing.assert_allclose(op(v).numpy(), ref.numpy(), atol=1e-12, rtol=0)


def test_hvp_operator_with_chunks_equals_unchunked_hvp():
    full = make_system("mlp-digits", n_train=50)
    chunked = make_system("mlp-digits", n_train=50, chunk_size=16)
    x = full.initial_point()
    v = torch.linspace(-1, 1, full.dim, dtype=torch.float64)
    np.testing.assert_allclose(chunked.hvp_operator(x)(v).numpy(), full.hvp(x, v).numpy(), atol=1e-12)


def test_hvp_operator_rejects_unknown_method(net):
    with pytest.raises(LandscapeError, match="linearize"):
        net.hvp_operator(net.initial_point(), method="finite-difference")


def test_hessian_operator_uses_fast_path_through_checked_wrappers_and_counts_each_product(net):
    x = net.initial_point()
    lc = checked(net, caller="test")
    op = HessianOperator(lc, x)
    assert op.uses_hvp_operator
    v = torch.ones(net.dim, dtype=torch.float64)
    before = lc.counts.hvp
    out = [op.matvec(v) for _ in range(4)]
    assert lc.counts.hvp - before == 4 and op.n_matvec == 4
    np.testing.assert_allclose(out[-1].numpy(), net.hvp(x, v).numpy(), atol=1e-12)


def test_l2_regularized_network_keeps_its_shift_in_the_hessian_operator(net):
    lam = 0.37
    reg = L2Regularized(net, lam)
    x = net.initial_point()
    op = HessianOperator(checked(reg), x)
    assert op.uses_hvp_operator  # L2Regularized builds its own operator: inner operator + λv
    v = torch.ones(net.dim, dtype=torch.float64)
    np.testing.assert_allclose(op.matvec(v).numpy(), (net.hvp(x, v) + lam * v).numpy(), atol=1e-12)


def test_fast_and_plain_operators_give_the_same_top_eigenvalues():
    net = make_system("mlp-digits", n_train=80, hidden=(8,))
    x = net.initial_point()
    fast = lanczos_eigs(HessianOperator(net, x), k=3, tol=1e-9)
    plain = lanczos_eigs(HessianOperator(net, x, fast=False), k=3, tol=1e-9)
    dense = np.linalg.eigvalsh(net.hessian(x).numpy())[-3:]
    np.testing.assert_allclose(fast.eigenvalues, dense, rtol=1e-8)
    np.testing.assert_allclose(plain.eigenvalues, dense, rtol=1e-8)
    assert fast.counts.hvp == fast.n_matvec
