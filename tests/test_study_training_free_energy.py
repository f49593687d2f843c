"""Training free-energy study: local free energy (Chaudhari's local entropy) and Zwanzig FEP against
Gaussian integrals and 1-D quadrature, and the small study run's structure."""

import math

import numpy as np
import pytest
from scipy import integrate

from levinthal.studies import get_study
from levinthal.studies.training_free_energy import (
    Anchored,
    Config,
    Quadratic,
    fep,
    harmonic_anchored_free_energy,
    harmonic_local_free_energy,
    local_free_energy,
    run,
)


class Quartic1D:
    """E(x) = ½ k x² + a x⁴ (1-D, NumPy): an anharmonic basin with Hessian k at 0."""

    name, dim, symmetry = "quartic", 1, None

    def __init__(self, k=1.0, a=0.5):
        self.k, self.a = k, a

    def energies(self, X):
        x = np.asarray(X, dtype=float).reshape(-1)
        return 0.5 * self.k * x**2 + self.a * x**4

    def energy_gradients(self, X):
        x = np.asarray(X, dtype=float).reshape(-1)
        return self.energies(x), (self.k * x + 4 * self.a * x**3)[:, None]

    def energy(self, x):
        return float(self.energies(x)[0])

    def energy_gradient(self, x):
        e, g = self.energy_gradients(x)
        return float(e[0]), g[0]

    def hvp(self, x, v):
        x = float(np.asarray(x).reshape(-1)[0])
        return (self.k + 12 * self.a * x * x) * np.asarray(v, dtype=float)


def quadrature_local_free_energy(E, gamma, kT, lim=12.0):
    """−kT ln ∫ exp(−(E(x) + γx²/2)/kT) dx in 1-D by adaptive quadrature (independent reference)."""
    val, _ = integrate.quad(lambda x: math.exp(-(E(x) + 0.5 * gamma * x * x) / kT), -lim, lim, limit=200)
    return -kT * math.log(val)


def test_harmonic_local_free_energy_is_the_gaussian_integral_by_quadrature():
    kT, gamma = 0.3, 0.7
    for k in (0.5, 2.0):
        exact = quadrature_local_free_energy(lambda x, k=k: 1.25 + 0.5 * k * x * x, gamma, kT)
        assert harmonic_local_free_energy(1.25, [k], gamma, kT) == pytest.approx(exact, rel=1e-9)
    # 2-D, non-diagonal H, by a double integral
    H = np.array([[2.0, 0.6], [0.6, 1.0]])
    val, _ = integrate.dblquad(
        lambda y, x: math.exp(
            -(0.5 * np.array([x, y]) @ H @ np.array([x, y]) + 0.5 * gamma * (x * x + y * y)) / kT
        ),
        -8,
        8,
        -8,
        8,
    )
    assert harmonic_local_free_energy(0.0, np.linalg.eigvalsh(H), gamma, kT) == pytest.approx(
        -kT * math.log(val), rel=1e-7
    )


def test_harmonic_anchored_free_energy_with_a_gradient_matches_quadrature():
    kT, gamma, k, g, e0 = 0.2, 0.5, 1.5, 0.8, -0.3
    exact = quadrature_local_free_energy(lambda x: e0 + g * x + 0.5 * k * x * x, gamma, kT)
    assert harmonic_anchored_free_energy(e0, [g], [[k]], gamma, kT) == pytest.approx(exact, rel=1e-9)
    assert harmonic_anchored_free_energy(e0, [0.0], [[k]], gamma, kT) == pytest.approx(
        harmonic_local_free_energy(e0, [k], gamma, kT), rel=1e-12
    )


def _ti_quadrature_error(lam, gamma, kT, gamma_max, n_gamma):
    """Trapezoid error of the TI over the same ln γ grid with the exact ⟨|u|²⟩ = kT Σ 1/(λ + γ)."""
    gammas = np.geomspace(gamma_max, gamma, n_gamma)
    y = gammas * (0.5 * kT * (1 / (lam[None, :] + gammas[:, None])).sum(1) - 0.5 * lam.size * kT / gammas)
    approx = np.trapezoid(y, np.log(gammas))
    exact = 0.5 * kT * (np.log1p(lam / gamma) - np.log1p(lam / gamma_max)).sum()  # −∫_γ^γmax f dγ
    return abs(approx - exact)


def test_sampled_local_free_energy_of_a_quadratic_basin_equals_the_gaussian_integral():
    lam = np.array([0.2, 1.0, 3.0])
    L = Quadratic(np.diag(lam), centre=[0.3, -0.2, 0.1], offset=0.5)
    x0 = L.c.copy()
    kT, gamma, n_gamma = 0.1, 0.5, 10
    gmax = 50 * (lam.max() + gamma)
    lf = local_free_energy(
        L,
        x0,
        gamma=gamma,
        kT=kT,
        gamma_max=gmax,
        n_gamma=n_gamma,
        n_steps=400,
        n_walkers=64,
        dt_scale=0.5,
        curvature_max=lam.max(),
        n_reference=2000,
        rng=np.random.default_rng(3),
    )
    exact = harmonic_local_free_energy(0.5, lam, gamma, kT)
    tol = 4 * lf["stderr"] + _ti_quadrature_error(lam, gamma, kT, gmax, n_gamma)
    assert abs(lf["value"] - exact) <= tol, (lf["value"], exact, tol)
    # the TI integrand is the exact mean square displacement kT Σ 1/(λ + γ) at each γ
    expect = kT * (1 / (lam[None, :] + lf["gammas"][:, None])).sum(1)
    assert lf["msd"] == pytest.approx(expect, rel=0.15)


def test_sampled_local_free_energy_of_an_anharmonic_well_follows_quadrature_not_the_hessian():
    L = Quartic1D(k=1.0, a=0.5)
    kT, gamma, n_gamma = 0.5, 0.2, 12
    gmax = 50 * (1.0 + gamma)
    lf = local_free_energy(
        L,
        np.zeros(1),
        gamma=gamma,
        kT=kT,
        gamma_max=gmax,
        n_gamma=n_gamma,
        n_steps=600,
        n_walkers=64,
        dt_scale=0.3,
        curvature_max=6.0,
        n_reference=2000,
        rng=np.random.default_rng(4),
    )
    exact = quadrature_local_free_energy(lambda x: L.energy(np.array([x])), gamma, kT)
    harm = harmonic_local_free_energy(0.0, [1.0], gamma, kT)
    tol = 4 * lf["stderr"] + _ti_quadrature_error(np.array([1.0]), gamma, kT, gmax, n_gamma) + 2e-3
    assert abs(lf["value"] - exact) <= tol
    assert abs(harm - exact) > 2 * tol  # the quartic term is visible at this kT: the Hessian misses it


def test_fep_between_two_quadratic_landscapes_equals_the_analytic_free_energy_difference():
    kT = 0.5
    HA = np.array([[2.0, 0.3], [0.3, 1.0]])
    HB = np.array([[2.5, 0.0], [0.0, 1.4]])
    A = Quadratic(HA, centre=[0.0, 0.0], offset=0.1)
    B = Quadratic(HB, centre=[0.1, -0.1], offset=0.4)
    exact = 0.3 + 0.5 * kT * math.log(np.linalg.det(HB) / np.linalg.det(HA))
    rng = np.random.default_rng(5)
    XA = rng.multivariate_normal(A.c, kT * np.linalg.inv(HA), size=20000)  # exact Boltzmann samples of A
    m = fep(B.energies(XA) - A.energies(XA), kT)
    assert abs(m.value - exact) <= 4 * m.stderr
    XB = rng.multivariate_normal(B.c, kT * np.linalg.inv(HB), size=20000)
    r = fep(A.energies(XB) - B.energies(XB), kT)  # reverse: F_A − F_B
    assert abs(-r.value - exact) <= 4 * r.stderr


def test_anchored_landscape_adds_the_coupling_exactly():
    L = Quadratic(np.diag([1.0, 2.0]))
    x0 = np.array([0.5, -0.5])
    A = Anchored(L, x0, 0.3)
    x = np.array([0.1, 0.2])
    e, g = A.energy_gradient(x)
    assert e == pytest.approx(L.energy(x) + 0.15 * ((x - x0) ** 2).sum())
    assert g == pytest.approx(L.energy_gradient(x)[1] + 0.3 * (x - x0))
    E, G = A.energy_gradients(np.stack([x, x0]))
    assert E == pytest.approx([e, L.energy(x0)])
    assert G[0] == pytest.approx(g) and G[1] == pytest.approx(L.energy_gradient(x0)[1])
    with pytest.raises(ValueError):
        Anchored(L, x0, 0.0)


@pytest.fixture(scope="module")
def small():
    return run(Config.small())


def test_small_study_forward_and_reverse_fep_agree(small):
    fwd = small.numbers[
        f"ΔF forward FEP (λ {Config.small().weight_decay:g} → {Config.small().weight_decay_b:g})"
    ]
    rev = small.numbers["ΔF reverse FEP"]
    # both are estimates of the same anchored ΔF from independent samples
    assert abs(fwd.value - rev.value) <= 5 * math.hypot(fwd.stderr, rev.stderr) + 1e-4
    assert math.isfinite(small.numbers["ΔF harmonic"].value)


def test_small_study_quench_never_raises_the_loss_and_structure(small):
    assert get_study("training_free_energy").NAME == "training_free_energy"
    _, rows = small.tables["Search from the same initialisations (mean [95% CI] over seeds)"]
    assert [r[0] for r in rows] == ["SGD", "SA", "RE"]
    for r in small.data["runs"]:
        for m in r.values():
            assert m["loss_min"] <= m["loss_end"] + 1e-9  # L-BFGS quench from the run's end point
    for r in small.data.get("local", []):
        assert np.all(r["acceptance"] > 0.2)  # MALA moved at every γ
    for method in ("SGD", "SA", "RE"):
        assert small.numbers[f"{method}: loss of the quenched minimum"].value > 0
        assert 0 <= small.numbers[f"{method}: test accuracy"].value <= 1
    assert small.verdicts and all(k in ("holds", "breaks", "note") for k, _ in small.verdicts)
    assert small.reading and small.seconds > 0
