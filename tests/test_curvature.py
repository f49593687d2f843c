"""Curvature tools against independent references: dense ``eigh``, analytic Hessians, exact traces."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.curvature import (
    HessianOperator,
    MatrixOperator,
    complement_basis,
    dense_hessian,
    eigh_projected,
    hutchinson,
    hutchpp,
    lanczos_eigs,
    lanczos_tridiagonal,
    spectral_density,
    zero_modes_of,
)
from levinthal.systems.analytic import DoubleWell, MullerBrown


def random_symmetric(rng, eigenvalues):
    """Q diag(λ) Qᵀ with a Haar-random orthogonal Q: the spectrum is known exactly."""
    n = len(eigenvalues)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    return (q * np.asarray(eigenvalues)) @ q.T


def clustered_spectrum(rng, n):
    """Bulk near 0 plus clusters of nearly equal outliers at both ends (hard for Lanczos)."""
    w = rng.normal(0.0, 0.3, n)
    w[:4] = -3.0 + 1e-3 * rng.standard_normal(4)
    w[-4:] = 5.0 + 1e-3 * rng.standard_normal(4)
    return np.sort(w)


# ---------------------------------------------------------------- Lanczos vs dense eigh


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 150), which=st.sampled_from(["largest", "smallest"]))
def test_lanczos_matches_eigh_on_clustered_spectra(seed, n, which):
    rng = np.random.default_rng(seed)
    w = clustered_spectrum(rng, n)
    A = random_symmetric(rng, w)
    k = 5
    res = lanczos_eigs(A, k=k, which=which, tol=1e-10, rng=seed, max_iterations=2000)
    ref = w[-k:] if which == "largest" else w[:k]
    assert res.converged, res.message
    np.testing.assert_allclose(res.eigenvalues, ref, atol=1e-8 * np.abs(w).max())
    # Eigenvectors: orthonormal rows with small true residuals ‖A y − θ y‖ (computed here, not reported).
    Y = res.eigenvectors
    np.testing.assert_allclose(Y @ Y.T, np.eye(k), atol=1e-10)
    true_res = np.linalg.norm(Y @ A - res.eigenvalues[:, None] * Y, axis=1)
    assert np.all(true_res <= 1e-7 * np.abs(w).max())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 120), mult=st.integers(2, 4))
def test_block_lanczos_finds_every_copy_of_a_degenerate_eigenvalue(seed, n, mult):
    rng = np.random.default_rng(seed)
    w = np.sort(rng.uniform(-1.0, 1.0, n))
    w[-mult:] = 3.0  # exact multiplicity `mult` at the top
    w[:mult] = -2.0  # and at the bottom
    A = random_symmetric(rng, w)
    res = lanczos_eigs(A, k=mult + 1, which="both", block_size=mult, tol=1e-10, rng=seed,
                       max_iterations=3000)
    assert res.converged, res.message
    ref = np.concatenate([w[: mult + 1], w[-(mult + 1):]])
    np.testing.assert_allclose(res.eigenvalues, ref, atol=1e-8)


def test_thick_restart_bounds_the_basis_and_still_converges():
    rng = np.random.default_rng(7)
    n = 1500
    w = np.sort(np.concatenate([rng.uniform(0, 1, n - 5), [1.5, 1.6, 1.7, 1.8, 2.0]]))
    A = random_symmetric(rng, w)
    res = lanczos_eigs(A, k=5, which="largest", tol=1e-8, max_basis=20, rng=1, max_iterations=3000)
    assert res.converged, res.message
    assert max(res.history["basis_size"]) <= 20
    assert np.any(np.diff(res.history["basis_size"]) < 0)  # it did restart (the basis shrank)
    np.testing.assert_allclose(res.eigenvalues, w[-5:], atol=1e-7)


def test_lanczos_reports_unconverged_when_budget_is_spent():
    rng = np.random.default_rng(3)
    A = random_symmetric(rng, np.linspace(0, 1, 400))  # no gap: slow
    res = lanczos_eigs(A, k=5, which="largest", tol=1e-14, max_iterations=12, max_basis=10)
    assert not res.converged
    assert "budget of 12 matvecs spent" in res.message
    assert res.n_matvec == 12


@pytest.mark.parametrize("point", [(-0.558, 1.442), (-0.822, 0.624), (0.212, 0.293), (0.3, 1.0)])
def test_lanczos_reproduces_muller_brown_analytic_hessian_eigenvalues(point):
    mb = MullerBrown()
    x = np.array(point)
    ref = np.linalg.eigvalsh(mb.hessian(x))
    lo = lanczos_eigs(mb, x, k=1, which="smallest", tol=1e-12)
    hi = lanczos_eigs(mb, x, k=1, which="largest", tol=1e-12)
    np.testing.assert_allclose([lo.eigenvalues[0], hi.eigenvalues[0]], ref, rtol=1e-10)
    assert lo.counts.hvp == lo.n_matvec <= 2


def test_lanczos_on_double_well_saddle_gives_minus_4h_and_k():
    dw = DoubleWell(h=2.0, k=0.5)
    res = lanczos_eigs(dw, np.zeros(2), k=1, which="both")
    np.testing.assert_allclose(res.eigenvalues, [-8.0, 0.5], rtol=1e-12)


# ---------------------------------------------------------------- operators and projection


def test_projected_operator_annihilates_zero_modes_and_matches_complement_eigh():
    rng = np.random.default_rng(11)
    n = 60
    A = random_symmetric(rng, rng.normal(size=n))
    Z = np.linalg.qr(rng.standard_normal((n, 3)))[0].T  # 3 orthonormal rows
    op = MatrixOperator(A, zero_modes=Z)
    for z in Z:
        assert np.linalg.norm(op.matvec(z)) < 1e-12
    # Independent reference: P A P via explicit projector, whose spectrum is eig(QᵀAQ) ∪ {0,0,0}.
    P = np.eye(n) - Z.T @ Z
    ref_full = np.linalg.eigvalsh(P @ A @ P)
    w, U = eigh_projected(A, Z)
    assert np.abs(U @ Z.T).max() < 1e-12
    # remove three zeros from the reference spectrum
    ref = np.delete(ref_full, np.argsort(np.abs(ref_full))[:3])
    np.testing.assert_allclose(w, ref, atol=1e-10)
    res = lanczos_eigs(op, k=4, which="smallest", tol=1e-10)
    np.testing.assert_allclose(res.eigenvalues, w[:4], atol=1e-8)
    assert np.abs(res.eigenvectors @ Z.T).max() < 1e-10
    Q = complement_basis(Z, n)
    np.testing.assert_allclose(Q.T @ Q, np.eye(n - 3), atol=1e-12)


def test_operator_refuses_non_orthonormal_zero_modes():
    with pytest.raises(ValueError, match="not orthonormal"):
        MatrixOperator(np.eye(4), zero_modes=np.ones((1, 4)))


def test_linear_operator_counts_products_and_agrees_with_hessian():
    mb = MullerBrown()
    x = np.array([0.1, 0.4])
    op = HessianOperator(mb, x)
    lo = op.as_linear_operator()
    v = np.array([0.3, -0.7])
    np.testing.assert_allclose(lo @ v, mb.hessian(x) @ v, rtol=1e-14)
    assert op.n_matvec == 1 and op.landscape.counts.hvp == 1
    assert zero_modes_of(mb, x) is None


def test_dense_hessian_refuses_large_dim():
    class Big:
        name = "big"
        dim = 10_000

        def energy(self, x):
            return 0.0

        def energy_gradient(self, x):
            return 0.0, x

        def hvp(self, x, v):
            return v

    with pytest.raises(ValueError, match="big: dense_hessian refuses dim = 10000"):
        dense_hessian(Big(), np.zeros(10_000))


# ---------------------------------------------------------------- torch landscapes


class TorchQuartic:
    """E(x) = ½ xᵀAx + ¼ Σ c_i x_i⁴ in torch, HVPs by autograd, no dense ``hessian``."""

    name = "torch-quartic"

    def __init__(self, n, seed=0):
        g = torch.Generator().manual_seed(seed)
        B = torch.randn(n, n, generator=g, dtype=torch.float64)
        self.A = (B + B.T) / 2
        self.c = torch.rand(n, generator=g, dtype=torch.float64)
        self.dim = n

    def _e(self, x):
        return 0.5 * x @ self.A @ x + 0.25 * (self.c * x**4).sum()

    def energy(self, x):
        return float(self._e(x))

    def energy_gradient(self, x):
        x = x.detach().requires_grad_(True)
        e = self._e(x)
        (g,) = torch.autograd.grad(e, x)
        return float(e), g

    def hvp(self, x, v):
        return torch.autograd.functional.hvp(self._e, x, v)[1]


def test_lanczos_and_dense_on_a_torch_landscape_match_autograd_hessian():
    ls = TorchQuartic(40)
    x = torch.linspace(-1, 1, 40, dtype=torch.float64)
    H = torch.autograd.functional.hessian(ls._e, x).numpy()
    ref = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(dense_hessian(ls, x), H, atol=1e-12)
    res = lanczos_eigs(ls, x, k=3, which="both", tol=1e-10)
    assert isinstance(res.eigenvectors, torch.Tensor)
    np.testing.assert_allclose(res.eigenvalues, np.r_[ref[:3], ref[-3:]], atol=1e-8)
    t = hutchinson(ls, x, n_probes=200, rng=0)
    assert abs(t.estimate - np.trace(H)) < 4 * t.standard_error


def test_lanczos_on_digits_mlp_matches_dense_eigh_of_independent_hessian():
    from levinthal.systems import make_system
    from levinthal.systems.networks.data import digits

    ls = make_system("mlp-digits", n_train=300)
    x = ls.initial_point()
    # Independent dense Hessian: torch.func.hessian of a hand-written loss on the same data.
    data = digits(seed=0, n_train=300, flatten=True, dtype=torch.float64)
    X, y = torch.as_tensor(data.train_inputs), torch.as_tensor(data.train_targets)

    def loss(p):
        out = torch.func.functional_call(ls.model, ls.unflatten(p), (X,))
        return torch.nn.functional.cross_entropy(out, y)

    H = torch.func.hessian(loss)(x).numpy()
    ref = np.linalg.eigvalsh(0.5 * (H + H.T))
    top = lanczos_eigs(ls, x, k=5, which="largest", tol=1e-8, max_iterations=1000)
    bottom = lanczos_eigs(ls, x, k=3, which="smallest", tol=1e-8, max_iterations=1000)
    assert top.converged and bottom.converged
    scale = np.abs(ref).max()
    np.testing.assert_allclose(top.eigenvalues, ref[-5:], atol=1e-7 * scale)
    np.testing.assert_allclose(bottom.eigenvalues, ref[:3], atol=1e-7 * scale)
    assert top.counts.hvp == top.n_matvec < 200


# ---------------------------------------------------------------- trace estimators


def decaying_matrix(rng, n=300):
    w = 50.0 * np.exp(-np.arange(n) / 8.0) + 0.01 * rng.random(n)
    return random_symmetric(rng, w), w


def test_hutchinson_is_within_four_standard_errors_of_exact_trace():
    rng = np.random.default_rng(2)
    A = random_symmetric(rng, rng.normal(1.0, 1.0, 200))
    t = hutchinson(A, n_probes=300, rng=5)
    assert t.n_matvec == 300
    assert abs(t.estimate - np.trace(A)) < 4 * t.standard_error


def test_hutchpp_beats_hutchinson_at_equal_matvecs_on_decaying_spectrum():
    rng = np.random.default_rng(4)
    A, w = decaying_matrix(rng)
    exact = w.sum()
    err_h, err_pp = [], []
    for seed in range(8):
        h = hutchinson(A, n_probes=60, rng=seed)
        pp = hutchpp(A, n_matvec=60, rng=seed)
        assert h.n_matvec == pp.n_matvec == 60
        err_h.append(abs(h.estimate - exact))
        err_pp.append(abs(pp.estimate - exact))
        assert abs(pp.estimate - exact) < 4 * pp.standard_error + 1e-9 * exact
    assert np.mean(err_pp) < 0.5 * np.mean(err_h)


def test_trace_of_projected_operator_removes_zero_mode_curvature():
    rng = np.random.default_rng(9)
    A = random_symmetric(rng, rng.uniform(0.5, 2.0, 100))
    Z = np.linalg.qr(rng.standard_normal((100, 4)))[0].T
    exact = np.trace(A) - np.einsum("ij,jk,ik->", Z, A, Z)
    t = hutchinson(A, n_probes=200, rng=1, zero_modes=Z)
    assert abs(t.estimate - exact) < 4 * t.standard_error
    pp = hutchpp(A, n_matvec=150, rng=1, zero_modes=Z)
    assert abs(pp.estimate - exact) < 4 * pp.standard_error


# ---------------------------------------------------------------- spectral density


def test_gauss_quadrature_nodes_are_the_eigenvalues_when_krylov_space_is_complete():
    rng = np.random.default_rng(6)
    w = np.sort(rng.normal(size=25))
    A = random_symmetric(rng, w)
    op = MatrixOperator(A)
    nodes, weights = lanczos_tridiagonal(op, op.random_vector(rng), 25)
    np.testing.assert_allclose(nodes, w, atol=1e-10)
    assert abs(weights.sum() - 1.0) < 1e-12


def test_slq_density_integrates_to_one_and_first_moment_is_trace_over_dim():
    rng = np.random.default_rng(8)
    n = 200
    w = np.concatenate([rng.normal(0.0, 0.2, n - 5), [3.0, 4.0, 5.0, 6.0, 8.0]])
    A = random_symmetric(rng, w)
    d = spectral_density(A, n_probes=20, n_steps=40, rng=3)
    assert d.n_matvec == 20 * 40
    np.testing.assert_allclose(d.weights.sum(axis=1), 1.0, atol=1e-12)  # each rule is a probability
    assert abs(np.trapezoid(d.density, d.grid) - 1.0) < 1e-12
    mean_grid = np.trapezoid(d.grid * d.density, d.grid)
    assert abs(mean_grid - d.mean()) < 1e-6  # broadening is symmetric: it does not move the mean
    # Gauss quadrature is exact for λ: the SLQ mean equals Hutchinson's on the same probes / n.
    op = MatrixOperator(A)
    probe_rng = np.random.default_rng(3)
    probes = [op.random_vector(probe_rng, "rademacher") for _ in range(20)]
    samples = np.array([(g @ A @ g) / n for g in probes])
    assert abs(d.mean() - samples.mean()) < 1e-10
    # and that estimates tr A / n within a few standard errors
    assert abs(d.mean() - w.sum() / n) < 4 * samples.std(ddof=1) / np.sqrt(20)
    # the outliers show up as separate peaks of weight ≈ 1/n each
    assert d.grid[np.argmax(d.density)] == pytest.approx(0.0, abs=0.3)
