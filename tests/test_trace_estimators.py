"""XTrace, XNysTrace and adaptive trace (Epperly, Tropp & Webber 2024) against exact traces:
exactness above the rank, unbiasedness over seeds, PSD refusal, zero modes, a small MLP's dense
Hessian, torch tensors without per-product host copies, and adaptive stopping with reuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import levinthal.curvature.trace as trace_mod
from levinthal.curvature import adaptive_trace, hutchpp, xnystrace, xtrace
from levinthal.systems.networks import NetworkLandscape
from levinthal.systems.networks.models import mlp


def symmetric(rng, eigenvalues):
    Q = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))[0]
    return (Q * np.asarray(eigenvalues, float)) @ Q.T


def low_rank(rng, n, eigenvalues):
    Q = np.linalg.qr(rng.standard_normal((n, len(eigenvalues))))[0]
    return (Q * np.asarray(eigenvalues, float)) @ Q.T


# ---------------------------------------------------------------- exactness above the rank


@settings(max_examples=25, deadline=None)
@given(n=st.integers(10, 40), rank=st.integers(1, 4), seed=st.integers(0, 10_000))
@example(n=10, rank=1, seed=673)  # probes wholly inside the range: residual scale once overflowed
def test_xtrace_is_exact_when_test_vectors_exceed_the_rank(n, rank, seed):
    rng = np.random.default_rng(seed)
    eig = rng.uniform(0.5, 3.0, rank) * rng.choice([-1.0, 1.0], rank)   # indefinite allowed
    A = low_rank(rng, n, eig)
    t = xtrace(A, n_matvec=2 * (rank + 2), rng=seed)
    assert t.n_matvec == 2 * (rank + 2)
    assert abs(t.estimate - eig.sum()) < 1e-10 * np.abs(eig).sum()
    assert t.standard_error < 1e-10 * np.abs(eig).sum()


def test_xnystrace_is_exact_on_a_low_rank_psd_matrix():
    rng = np.random.default_rng(3)
    eig = np.array([5.0, 2.0, 1.0, 0.5, 1e-3])
    A = low_rank(rng, 200, eig)
    t = xnystrace(A, n_matvec=8, rng=1)
    assert t.n_matvec == 8
    assert abs(t.estimate - eig.sum()) < 1e-10 * eig.sum()
    assert t.standard_error < 1e-10 * eig.sum()


def test_full_budget_on_a_small_matrix_gives_the_exact_trace():
    rng = np.random.default_rng(8)
    A = symmetric(rng, rng.normal(0.0, 1.0, 12))
    assert xtrace(A, n_matvec=24, rng=0).estimate == pytest.approx(np.trace(A), abs=1e-10)
    P = symmetric(rng, rng.uniform(0.1, 2.0, 12))
    assert xnystrace(P, n_matvec=12, rng=0).estimate == pytest.approx(np.trace(P), abs=1e-10)


# ---------------------------------------------------------------- unbiasedness and error estimate


@pytest.mark.parametrize("method", ["xtrace", "xnystrace"])
def test_mean_over_seeds_is_the_trace_within_four_standard_errors(method):
    rng = np.random.default_rng(11)
    n = 40
    if method == "xtrace":
        eig = rng.normal(0.3, 1.0, n)                                        # indefinite
        est = [xtrace(symmetric(np.random.default_rng(11), eig), n_matvec=6, rng=s).estimate
               for s in range(400)]
    else:
        eig = rng.exponential(1.0, n)                                        # PSD
        A = symmetric(np.random.default_rng(11), eig)
        est = [xnystrace(A, n_matvec=4, rng=s).estimate for s in range(400)]
    est = np.asarray(est)
    assert abs(est.mean() - eig.sum()) < 4 * est.std(ddof=1) / np.sqrt(est.size)


def test_error_estimate_is_the_size_of_the_actual_error():
    """Across seeds, the RMS of the reported standard errors is within a factor 2 of the RMS
    actual error (the paper's estimate is not a bound, but it is the right size)."""
    rng = np.random.default_rng(5)
    eig = 1.0 / np.arange(1, 301) ** 0.8
    A = symmetric(rng, eig)
    for f in (lambda s: xtrace(A, n_matvec=40, rng=s), lambda s: xnystrace(A, n_matvec=40, rng=s)):
        runs = [f(s) for s in range(30)]
        err = np.sqrt(np.mean([(r.estimate - eig.sum()) ** 2 for r in runs]))
        se = np.sqrt(np.mean([r.standard_error**2 for r in runs]))
        assert 0.5 < se / err < 2.0


def test_exchangeable_estimators_beat_hutchpp_on_a_decaying_spectrum():
    rng = np.random.default_rng(4)
    eig = 50.0 * np.exp(-np.arange(300) / 8.0) + 0.01 * rng.random(300)
    A = symmetric(rng, eig)
    err = {"hutch++": [], "xtrace": [], "xnystrace": []}
    for s in range(8):
        err["hutch++"].append(abs(hutchpp(A, n_matvec=60, rng=s).estimate - eig.sum()))
        err["xtrace"].append(abs(xtrace(A, n_matvec=60, rng=s).estimate - eig.sum()))
        err["xnystrace"].append(abs(xnystrace(A, n_matvec=60, rng=s).estimate - eig.sum()))
    assert np.mean(err["xtrace"]) < 0.5 * np.mean(err["hutch++"])
    assert np.mean(err["xnystrace"]) < 0.5 * np.mean(err["hutch++"])


# ---------------------------------------------------------------- PSD requirement, zero modes


def test_xnystrace_refuses_an_indefinite_matrix_and_a_shift_repairs_it():
    rng = np.random.default_rng(2)
    eig = np.r_[-1.0, rng.uniform(0.5, 2.0, 59)]
    A = symmetric(rng, eig)
    with pytest.raises(ValueError, match=r"not positive semidefinite.*shift"):
        xnystrace(A, n_matvec=30, rng=0)
    est = np.array([xnystrace(A, n_matvec=10, rng=s, shift=1.0).estimate for s in range(300)])
    assert abs(est.mean() - eig.sum()) < 4 * est.std(ddof=1) / np.sqrt(est.size)
    with pytest.raises(ValueError, match="shift must be >= 0"):
        xnystrace(A, n_matvec=10, shift=-1.0)


def test_projected_trace_removes_zero_mode_curvature():
    rng = np.random.default_rng(9)
    A = symmetric(rng, rng.uniform(0.5, 2.0, 60))
    Z = np.linalg.qr(rng.standard_normal((60, 3)))[0].T
    exact = np.trace(A) - np.einsum("ij,jk,ik->", Z, A, Z)
    for f in (xtrace, xnystrace):
        est = np.array([f(A, n_matvec=20, rng=s, zero_modes=Z).estimate for s in range(100)])
        assert abs(est.mean() - exact) < 4 * est.std(ddof=1) / 10
    # the projected operator has rank 57: 2·58 products make XTrace exact
    assert xtrace(A, n_matvec=116, rng=0, zero_modes=Z).estimate == pytest.approx(exact, abs=1e-9)


def test_bad_budgets_are_refused():
    A = np.eye(5)
    with pytest.raises(ValueError, match="xtrace: n_matvec must be >= 4"):
        xtrace(A, n_matvec=3)
    with pytest.raises(ValueError, match="xnystrace: n_matvec must be >= 2"):
        xnystrace(A, n_matvec=1)
    with pytest.raises(ValueError, match="method must be"):
        adaptive_trace(A, method="hutch")


# ---------------------------------------------------------------- torch network landscape


def _small_mlp():
    torch.manual_seed(0)
    model = mlp([5, 6, 3], "tanh").double()
    X = torch.randn(40, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    land = NetworkLandscape(model, X, y)
    return land, land.initial_point(), X, y


def test_trace_of_small_mlp_hessian_matches_independent_dense_hessian():
    land, x, X, y = _small_mlp()

    def loss(p):
        out = torch.func.functional_call(land.model, land.unflatten(p), (X,))
        return torch.nn.functional.cross_entropy(out, y)

    H = torch.func.hessian(loss)(x).numpy()
    exact = float(np.trace(H))
    assert land.dim == 57
    # 2·57 products: XTrace is exact on a 57-dimensional operator
    full = xtrace(land, x, n_matvec=114, rng=0)
    assert full.estimate == pytest.approx(exact, abs=1e-9 * np.abs(H).sum())
    est = np.array([xtrace(land, x, n_matvec=20, rng=s).estimate for s in range(60)])
    assert abs(est.mean() - exact) < 4 * est.std(ddof=1) / np.sqrt(est.size)


def test_torch_products_stay_torch_and_host_copies_do_not_grow_with_the_budget(monkeypatch):
    land, x, _, _ = _small_mlp()
    seen = []
    orig_hvp = land.hvp_operator

    def spy(x0, *a, **k):
        f = orig_hvp(x0, *a, **k)

        def apply(v):
            seen.append(isinstance(v, torch.Tensor) and v.device == x.device and v.dtype == x.dtype)
            return f(v)
        return apply

    monkeypatch.setattr(land, "hvp_operator", spy)
    copies = []
    orig = trace_mod.to_numpy
    monkeypatch.setattr(trace_mod, "to_numpy", lambda a: copies.append(tuple(a.shape)) or orig(a))
    counts = {}
    for f in (xtrace, xnystrace):
        for m in (8, 40):
            copies.clear()
            f(land, x, n_matvec=m, rng=0, **({"shift": 1.0} if f is xnystrace else {}))
            counts[f.__name__, m] = len(copies)
            assert all(len(s) <= 2 and max(s, default=0) <= m for s in copies)   # k×k or k only
    assert seen and all(seen)
    assert counts["xtrace", 8] == counts["xtrace", 40]
    assert counts["xnystrace", 8] == counts["xnystrace", 40]


# ---------------------------------------------------------------- adaptive


@pytest.mark.parametrize("method", ["xtrace", "xnystrace"])
def test_adaptive_trace_reuses_products_and_equals_the_fixed_budget_estimate(method):
    rng = np.random.default_rng(7)
    eig = 1.0 / np.arange(1, 201) ** 1.5
    A = symmetric(rng, eig)
    a = adaptive_trace(A, rtol=2e-3, method=method, rng=3, min_matvec=8)
    assert a.converged and a.standard_error <= 2e-3 * abs(a.estimate)
    per = 2 if method == "xtrace" else 1
    k = a.samples.size
    assert a.n_matvec == per * k                       # no product made twice across stages
    fixed = (xtrace if method == "xtrace" else xnystrace)(A, n_matvec=per * k, rng=3)
    assert a.estimate == pytest.approx(fixed.estimate, abs=1e-10)
    assert abs(a.estimate - eig.sum()) < 5 * a.standard_error


def test_adaptive_trace_reports_an_exhausted_budget():
    rng = np.random.default_rng(1)
    A = symmetric(rng, rng.uniform(0.0, 1.0, 100))
    a = adaptive_trace(A, rtol=1e-8, max_matvec=30, rng=0)
    assert not a.converged and "max_matvec = 30 spent" in a.message
    assert a.n_matvec == 30
