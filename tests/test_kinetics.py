"""Harmonic TST rates, first-passage times, committors and A→B rate constants on the transition network.

References are independent of the code under test: the Vineyard rate of the analytic double
well from its closed-form Hessians; the closed-form MFPT and committor of a birth–death chain
(Gardiner, *Handbook of Stochastic Methods*, §7.4) evaluated in log space; the fundamental
matrix (I − P)⁻¹ of the embedded jump chain formed densely with NumPy; Gillespie simulation;
and a 60-digit mpmath solve at low temperature.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from levinthal.curvature import dense_hessian
from levinthal.landscape.errors import LandscapeError
from levinthal.minimize import minimize
from levinthal.network.graph import KineticNetwork
from levinthal.network.kinetics import (
    equilibrium_log_occupations,
    first_passage,
    htst_log_rates,
    rate_constants,
    rate_matrix,
)
from levinthal.systems import make_system
from levinthal.systems.analytic import TiltedDoubleWell


def _two_state_from_landscape(L, x_left, x_right, x_ts):
    """Quench the two minima, take the exact saddle, and log products from dense Hessians."""
    qa, qb = (minimize(L, np.asarray(x, float), rms_tol=1e-11) for x in (x_left, x_right))
    logs = []
    for x in (qa.x, qb.x):
        w = np.linalg.eigvalsh(dense_hessian(L, x))
        assert np.all(w > 0)
        logs.append(float(np.log(w).sum()))
    w_ts = np.linalg.eigvalsh(dense_hessian(L, np.asarray(x_ts, float)))
    assert w_ts[0] < 0 < w_ts[1]
    net = KineticNetwork.from_arrays([qa.energy, qb.energy], [L.energy(np.asarray(x_ts, float))], [[0, 1]],
                                     log_product_frequencies=logs,
                                     ts_log_product_frequencies=[np.log(w_ts[1])], dim=2)
    return net, qa, qb


@pytest.mark.parametrize("kT", [0.05, 0.2, 1.0])
def test_htst_rate_of_the_double_well_is_the_vineyard_rate(kT):
    L = make_system("double-well")  # E = h (x² − 1)² + ½ k y², h = k = 1
    h, k = L.h, L.k
    net, _, _ = _two_state_from_landscape(L, [0.9, 0.1], [-1.1, -0.05], [0.0, 0.0])
    # Vineyard: k = (ω₁ω₂ at the minimum) / (2π ω₂ at the saddle) e^{−ΔE/kT} = √(8h)/(2π) e^{−h/kT}
    expected = math.sqrt(8 * h * k) / (2 * math.pi * math.sqrt(k)) * math.exp(-h / kT)
    lf, lb = htst_log_rates(net, kT)
    assert math.exp(lf[0]) == pytest.approx(expected, rel=1e-7)
    assert math.exp(lb[0]) == pytest.approx(expected, rel=1e-7)
    # a two-state chain: the MFPT is the inverse rate, and both A→B rate constants equal k
    fp = first_passage(net, 0, 1, kT)
    assert fp.mfpt[0] == pytest.approx(1 / expected, rel=1e-7)
    rc = rate_constants(net, 0, 1, kT)
    assert rc.k_nss_ab == pytest.approx(expected, rel=1e-7)
    assert rc.k_ss_ab == pytest.approx(expected, rel=1e-7)


def test_tilted_double_well_rates_are_vineyard_in_both_directions_and_obey_detailed_balance():
    L = TiltedDoubleWell(tilt=0.4, h=1.0, k=0.6)
    xl, xs, xr = L.stationary_x()
    net, qa, qb = _two_state_from_landscape(L, [xl + 0.05, 0.1], [xr - 0.05, 0.1], [xs, 0.0])
    kT = 0.15

    def vineyard(xm):  # √(E''(x_min)) / 2π · e^{−ΔE/kT}; the y mode cancels
        return math.sqrt(12 * xm**2 - 4) / (2 * math.pi) * math.exp(-(L.energy(np.array([xs, 0.0]))
                                                                       - L.energy(np.array([xm, 0.0]))) / kT)

    lf, lb = htst_log_rates(net, kT)
    left_first = qa.x[0] < qb.x[0]
    assert left_first
    assert math.exp(lf[0]) == pytest.approx(vineyard(xl), rel=1e-6)
    assert math.exp(lb[0]) == pytest.approx(vineyard(xr), rel=1e-6)
    logp = equilibrium_log_occupations(net, kT)
    assert logp[0] + lf[0] == pytest.approx(logp[1] + lb[0], abs=1e-12)


def test_parallel_transition_states_add_and_self_loops_change_nothing():
    base = KineticNetwork.from_arrays([0.0, 0.3], [1.0], [[0, 1]], log_product_frequencies=[0.2, -0.1],
                                      ts_log_product_frequencies=[0.4], dim=2)
    more = KineticNetwork.from_arrays([0.0, 0.3], [1.0, 1.2, 0.8], [[0, 1], [1, 0], [0, 0]],
                                      log_product_frequencies=[0.2, -0.1],
                                      ts_log_product_frequencies=[0.4, 0.1, np.nan], dim=2)
    kT = 0.3
    k1 = math.exp(0.5 * (0.2 - 0.4) - math.log(2 * math.pi) - 1.0 / kT)
    k2 = math.exp(0.5 * (0.2 - 0.1) - math.log(2 * math.pi) - 1.2 / kT)
    Q = rate_matrix(more, kT).toarray()
    assert Q[0, 1] == pytest.approx(k1 + k2, rel=1e-12)
    assert rate_matrix(base, kT).toarray()[0, 1] == pytest.approx(k1, rel=1e-12)
    assert np.allclose(Q.sum(axis=1), 0.0, atol=1e-15)
    assert first_passage(more, 0, 1, kT).mfpt[0] == pytest.approx(1 / (k1 + k2), rel=1e-12)


def test_occupations_need_no_dim_when_every_minimum_has_the_same_zero_modes():
    kw = dict(log_product_frequencies=[0.4, -0.2, 0.1], ts_log_product_frequencies=[0.0, 0.3],
              point_group_orders=[2, 1, 3])
    args = ([0.0, 0.2, 0.5], [1.0, 1.4], [[0, 1], [1, 2]])
    with_dim = KineticNetwork.from_arrays(*args, dim=6, **kw)
    without = KineticNetwork.from_arrays(*args, **kw)
    assert np.allclose(equilibrium_log_occupations(without, 0.3), equilibrium_log_occupations(with_dim, 0.3),
                       rtol=0, atol=1e-14)
    fp = first_passage(without, 0, 2, 0.3)
    assert np.allclose(fp.committor_forward + fp.committor_backward, 1.0)


def test_point_group_orders_enter_as_o_min_over_o_ts():
    a = KineticNetwork.from_arrays([0.0, 0.0], [1.0], [[0, 1]], log_product_frequencies=[0.0, 0.0],
                                   ts_log_product_frequencies=[0.0], point_group_orders=[6, 2],
                                   ts_point_group_orders=[3], dim=2)
    lf, lb = htst_log_rates(a, 1.0)
    assert lf[0] - lb[0] == pytest.approx(math.log(6 / 2), abs=1e-14)
    assert lf[0] == pytest.approx(math.log(6 / 3) - math.log(2 * math.pi) - 1.0, abs=1e-14)


# ---------------------------------------------------------------- birth–death chain, exact in log space

def _chain(n, seed):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.0, 1.0, n)
    E[-1] -= 0.5
    ts = np.maximum(E[:-1], E[1:]) + rng.uniform(0.2, 1.5, n - 1)
    lp = rng.uniform(-1, 1, n)
    lt = rng.uniform(-1, 1, n - 1)
    net = KineticNetwork.from_arrays(E, ts, np.c_[np.arange(n - 1), np.arange(1, n)],
                                     log_product_frequencies=lp, ts_log_product_frequencies=lt, dim=4)
    return net, E, ts, lp, lt


def _chain_reference(E, ts, lp, lt, kT):
    """log MFPT from every state to the last, and the committor q⁺ for A = {0}, B = {last}, of a
    birth–death chain: T(i→N) = Σ_{k≥i} (Σ_{j≤k} π_j) / (π_k λ_k), with the HTST rates written out."""
    n = len(E)
    log_up = 0.5 * (lp[:-1] - lt) - np.log(2 * np.pi) - (ts - E[:-1]) / kT   # k → k+1
    log_down = 0.5 * (lp[1:] - lt) - np.log(2 * np.pi) - (ts - E[1:]) / kT   # k+1 → k
    log_pi = np.concatenate([[0.0], np.cumsum(log_up - log_down)])
    terms = np.array([logsumexp(log_pi[: k + 1]) - log_pi[k] - log_up[k] for k in range(n - 1)])
    log_T = np.array([logsumexp(terms[i:]) for i in range(n - 1)] + [-np.inf])
    w = -(log_pi[:-1] + log_up)  # 1 / (π_k λ_k)
    q = np.array([0.0] + [math.exp(logsumexp(w[:i]) - logsumexp(w)) for i in range(1, n)])
    return log_T, q


@pytest.mark.parametrize("method", ["gt", "linear"])
def test_mfpt_and_committor_of_a_birth_death_chain_match_the_closed_form(method):
    net, E, ts, lp, lt = _chain(7, 3)
    kT = 0.4
    log_T, q = _chain_reference(E, ts, lp, lt, kT)
    fp = first_passage(net, 0, 6, kT, method=method)
    assert np.allclose(fp.log_mfpt[:-1], log_T[:-1], rtol=0, atol=1e-10)
    assert fp.mfpt[-1] == 0.0
    assert np.allclose(fp.committor_forward, q, rtol=0, atol=1e-12)


def test_graph_transformation_stays_exact_at_low_temperature():
    net, E, ts, lp, lt = _chain(8, 5)
    kT = 0.002  # barriers of ~1 at kT = 0.002: rates down to ~e^{-700}, the MFPT ~e^{900}
    log_T, q = _chain_reference(E, ts, lp, lt, kT)
    fp = first_passage(net, 0, 7, kT, method="gt")
    assert log_T[0] > 709  # the MFPT itself overflows a double; its logarithm does not
    assert np.all(np.isinf(fp.mfpt[:-1]))
    assert np.allclose(fp.log_mfpt[:-1], log_T[:-1], rtol=1e-12, atol=1e-9)
    assert np.allclose(fp.committor_forward, q, rtol=1e-9, atol=1e-300)


def test_linear_solve_refuses_a_cold_chain_instead_of_answering_wrongly():
    net, *_ = _chain(8, 5)
    with pytest.raises(LandscapeError, match=r"condition number.*method='gt'"):
        first_passage(net, 0, 7, 0.01, method="linear")


def _loop_network():
    """Six minima with cycles and a dead end: 0–1–2–5, 0–3–4–5, 1–3, 2–4, 2–2 (self-loop)."""
    E = [0.0, 0.4, 0.2, 0.3, 0.6, -0.1]
    pairs = [(0, 1), (1, 2), (2, 5), (0, 3), (3, 4), (4, 5), (1, 3), (2, 4), (2, 2)]
    ts = [0.9, 1.0, 0.8, 1.1, 1.3, 1.0, 0.7, 1.2, 0.9]
    rng = np.random.default_rng(11)
    return KineticNetwork.from_arrays(E, ts, pairs, log_product_frequencies=rng.uniform(-1, 1, 6),
                                      ts_log_product_frequencies=rng.uniform(-1, 1, 9), dim=3)


def test_mfpt_matches_the_fundamental_matrix_of_the_embedded_chain_and_gillespie_sampling():
    net = _loop_network()
    kT = 0.5
    Q = rate_matrix(net, kT).toarray()
    out = -np.diag(Q)
    P = Q / out[:, None]
    np.fill_diagonal(P, 0.0)
    T = [0, 1, 2, 3, 4]  # transient; 5 absorbing
    N = np.linalg.inv(np.eye(5) - P[np.ix_(T, T)])  # expected visits (Kemeny & Snell)
    exact = N @ (1 / out[T])
    for method in ("gt", "linear"):
        fp = first_passage(net, 0, 5, kT, method=method)
        assert np.allclose(fp.mfpt[T], exact, rtol=1e-11)
    # Gillespie: 20 000 trajectories from minimum 0
    rng = np.random.default_rng(0)
    cum = np.cumsum(P, axis=1)
    times = np.empty(20000)
    for s in range(times.size):
        i, t = 0, 0.0
        while i != 5:
            t += rng.exponential(1 / out[i])
            i = int(np.searchsorted(cum[i], rng.random() * cum[i, -1], side="right"))
        times[s] = t
    se = times.std() / math.sqrt(times.size)
    assert abs(times.mean() - exact[0]) < 4 * se


def test_low_temperature_gt_agrees_with_a_60_digit_solve_on_a_network_with_cycles():
    net = _loop_network()
    kT = 0.01
    lf, lb = htst_log_rates(net, kT)
    mpmath.mp.dps = 60
    n = net.n_minima
    K = [[mpmath.mpf(0)] * n for _ in range(n)]
    for k, (i, j) in enumerate(net.ts_minima):
        if i != j:
            K[i][j] += mpmath.exp(mpmath.mpf(float(lf[k])))
            K[j][i] += mpmath.exp(mpmath.mpf(float(lb[k])))
    T = [0, 1, 2, 3, 4]
    A = mpmath.matrix(5, 5)
    for a, i in enumerate(T):
        A[a, a] = sum(K[i])
        for b, j in enumerate(T):
            if i != j:
                A[a, b] -= K[i][j]
    tau = mpmath.lu_solve(A, mpmath.matrix([1] * 5))
    fp = first_passage(net, 0, 5, kT, method="gt")
    ref = np.array([float(mpmath.log(tau[a])) for a in range(5)])
    assert np.allclose(fp.log_mfpt[T], ref, rtol=1e-12)


def test_rate_constants_with_a_set_source_use_local_equilibrium_in_it():
    net = _loop_network()
    kT = 0.5
    A, B = [0, 1], [5]
    fp = first_passage(net, A, B, kT)
    logp = equilibrium_log_occupations(net, kT)
    w = np.exp(logp[A] - logsumexp(logp[A]))
    rc = rate_constants(net, A, B, kT)
    assert rc.tau_ab == pytest.approx(float(w @ fp.mfpt[A]), rel=1e-12)
    assert rc.k_nss_ab == pytest.approx(1 / rc.tau_ab, rel=1e-12)
    # steady-state rate = reactive flux out of A / p_A, with the flux summed by hand from Q and q⁺
    Q = rate_matrix(net, kT).toarray()
    p = np.exp(logp)
    flux = sum(p[a] * sum(Q[a, j] * fp.committor_forward[j] for j in range(6) if j != a) for a in A)
    assert rc.k_ss_ab == pytest.approx(flux / p[A].sum(), rel=1e-10)
    # the stationary distribution of Q is the harmonic-superposition occupation
    assert np.allclose(p @ Q, 0.0, atol=1e-14 * np.abs(Q).max())


def test_bad_input_is_refused_with_a_reason():
    net = _loop_network()
    with pytest.raises(LandscapeError, match="share minima"):
        first_passage(net, [0, 5], [5], 1.0)
    with pytest.raises(LandscapeError, match="temperature"):
        first_passage(net, 0, 5, 0.0)
    with pytest.raises(LandscapeError, match="method"):
        first_passage(net, 0, 5, 1.0, method="magic")
    bare = KineticNetwork.from_arrays([0.0, 1.0], [2.0], [[0, 1]])
    with pytest.raises(LandscapeError, match="log_product_frequencies"):
        htst_log_rates(bare, 1.0)
    lf, lb = htst_log_rates(bare, 0.5, prefactors="unit")
    assert (lf[0], lb[0]) == (pytest.approx(-4.0), pytest.approx(-2.0))


def test_unreachable_minima_get_infinite_mfpt_and_undefined_committors():
    net = KineticNetwork.from_arrays([0.0, 0.5, 0.2, 0.1], [1.0, 1.2], [[0, 1], [2, 3]],
                                     log_product_frequencies=np.zeros(4),
                                     ts_log_product_frequencies=np.zeros(2), dim=2)
    fp = first_passage(net, 0, 1, 1.0)
    assert np.isinf(fp.mfpt[2]) and np.isinf(fp.mfpt[3]) and np.isfinite(fp.mfpt[0])
    assert np.isnan(fp.committor_forward[2]) and fp.committor_forward[1] == 1.0


# ---------------------------------------------------------------- properties on random networks

@st.composite
def networks(draw):
    n = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    E = rng.uniform(0, 2, n)
    pairs = [(int(rng.integers(0, i)), i) for i in range(1, n)]  # a random tree: connected
    pairs += [tuple(int(v) for v in rng.integers(0, n, 2)) for _ in range(draw(st.integers(0, 6)))]
    pairs = np.array(pairs)
    ts = np.maximum(E[pairs[:, 0]], E[pairs[:, 1]]) + rng.uniform(0.05, 2.0, len(pairs))
    net = KineticNetwork.from_arrays(E, ts, pairs, log_product_frequencies=rng.uniform(-1, 1, n),
                                     ts_log_product_frequencies=rng.uniform(-1, 1, len(pairs)), dim=5)
    a = draw(st.integers(0, n - 1))
    b = draw(st.integers(0, n - 2))
    b = b + (b >= a)
    kT = draw(st.sampled_from([0.1, 0.3, 1.0, 3.0]))
    return net, a, b, kT


@settings(max_examples=40, deadline=None)
@given(networks())
def test_gt_equals_linear_solve_and_committors_are_probabilities_summing_to_one(case):
    net, a, b, kT = case
    kT = max(kT, 0.3)  # barriers up to 4: keeps I − P well conditioned for the linear solve
    gt = first_passage(net, a, b, kT, method="gt")
    lin = first_passage(net, a, b, kT, method="linear")
    others = np.setdiff1d(np.arange(net.n_minima), [b])
    assert np.all(gt.mfpt[others] > 0) and gt.mfpt[b] == 0
    assert np.allclose(gt.log_mfpt[others], lin.log_mfpt[others], rtol=1e-8, atol=1e-8)
    assert np.allclose(gt.committor_forward, lin.committor_forward, atol=1e-9)
    for q in (gt.committor_forward, gt.committor_backward):
        assert np.all((q >= 0) & (q <= 1))
    # detailed balance: the reversed chain is the chain itself, so q⁻ = 1 − q⁺
    assert np.allclose(gt.committor_forward + gt.committor_backward, 1.0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(networks())
def test_htst_rates_obey_detailed_balance_and_steady_state_rates_balance(case):
    net, a, b, kT = case
    Q = rate_matrix(net, kT).toarray()
    logp = equilibrium_log_occupations(net, kT)
    p = np.exp(logp)
    F = p[:, None] * Q
    assert np.allclose(F, F.T, rtol=1e-10, atol=1e-300)
    rc = rate_constants(net, a, b, kT)
    assert rc.log_k_ss_ab + math.log(rc.p_a) == pytest.approx(rc.log_k_ss_ba + math.log(rc.p_b), abs=1e-8)
