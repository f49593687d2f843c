"""The funnels/Levinthal study against independent values: the ZSB mean first-passage time by a dense
linear solve of the full residue-level generator, Kac's recurrence time, the LJ13 global minimum
energy, and monotonic sequences recomputed by hand."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from levinthal.studies import get_study
from levinthal.studies.funnels_levinthal import Config, levinthal_random_search_time, log_mfpt_zsb, run

LJ13_GM = -44.326801


def microscopic_mfpt(n_residues: int, nu: int, bias: float) -> float:
    """MFPT (units 1/k0) from 'every residue in wrong state 1' to 'every residue correct' of the
    residue-level ZSB model, by solving Q_TT τ = −1 over all (ν+1)^N configurations."""
    states = list(itertools.product(range(nu + 1), repeat=n_residues))
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for s, i in index.items():
        for r, a in enumerate(s):
            for b in range(nu + 1):
                if b != a:
                    t = (*s[:r], b, *s[r + 1:])
                    q[i, index[t]] += math.exp(-bias) if a == 0 else 1.0
        q[i, i] = -q[i].sum()
    native = index[(0,) * n_residues]
    keep = [i for i in range(len(states)) if i != native]
    tau = np.linalg.solve(q[np.ix_(keep, keep)], -np.ones(len(keep)))
    return float(tau[keep.index(index[(1,) * n_residues])])


def lumped_mfpt_exact(n_residues: int, nu: int, bias: float, k0: float) -> float:
    """The birth–death chain's MFPT 0 → N by Gaussian elimination of Q_TT τ = −1 in exact rational
    arithmetic (no closed form, no rounding: the float solve is too ill-conditioned at 10^26)."""
    n = n_residues
    down = Fraction(nu) * Fraction(math.exp(-bias)) * Fraction(k0)
    up = [Fraction(n - m) * Fraction(k0) for m in range(n)]
    dn = [m * down for m in range(n)]
    # tridiagonal rows m: dn[m] τ[m-1] − (up[m] + dn[m]) τ[m] + up[m] τ[m+1] = −1, τ[n] = 0
    c, d = [Fraction(0)] * n, [Fraction(0)] * n
    for m in range(n):
        diag = -(up[m] + dn[m]) - (dn[m] * c[m - 1] if m else 0)
        c[m] = up[m] / diag
        d[m] = (Fraction(-1) - (dn[m] * d[m - 1] if m else 0)) / diag
    tau = Fraction(0)
    for m in range(n - 1, -1, -1):
        tau = d[m] - c[m] * tau
    return float(tau)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run(Config.small(), tmp_path_factory.mktemp("funnels_levinthal"))


@pytest.mark.parametrize("bias", [0.0, 0.7, 2.5])
def test_exact_zsb_mfpt_equals_dense_solve_of_residue_level_generator(bias):
    assert math.exp(log_mfpt_zsb(4, 2, bias)) == pytest.approx(microscopic_mfpt(4, 2, bias), rel=1e-10)


def test_zsb_kinetic_monte_carlo_matches_dense_generator_within_its_standard_error(result):
    cfg = Config.small()
    for u in cfg.sim_biases:
        m = result.numbers[f"zsb_sim_mfpt_N{cfg.sim_n}_U{u:g}"]
        exact = microscopic_mfpt(cfg.sim_n, cfg.sim_nu, u)
        assert m.reference == pytest.approx(exact, rel=1e-10)
        # the first-passage time has a coefficient of variation ≈ 1, so 4.5 standard errors of the
        # pooled mean fails a correct simulation with probability < 1e-5
        assert abs(m.value - exact) < 4.5 * m.stderr
        assert m.low < exact < m.high or abs(m.value - exact) < 4.5 * m.stderr


def test_unbiased_search_is_kac_recurrence_time_and_levinthal_estimate_is_nu_n_times_longer(result):
    n, nu, k0 = 100, 2, 1e9
    assert result.numbers["zsb_random_search_s"].value == pytest.approx(3.0 ** 100 / 1e9, rel=1e-12)
    kac = 3.0 ** 100 / (n * nu * k0)
    # corrections to Kac's recurrence time of the native state are O(1/(N ν)) = 0.5 %
    assert result.numbers["zsb_unbiased_mfpt_s"].value == pytest.approx(kac, rel=2.0 / (n * nu))
    ratio = levinthal_random_search_time(n, nu, k0) / result.numbers["zsb_unbiased_mfpt_s"].value
    assert ratio > 0.9 * n * nu


def test_bias_for_one_second_gives_one_second_by_dense_solve(result):
    u = result.numbers["zsb_bias_for_1s"].value
    assert 0.0 < u < 4.0
    assert lumped_mfpt_exact(100, 2, u, 1e9) == pytest.approx(1.0, rel=1e-6)
    u_age = result.numbers["zsb_bias_for_age_of_universe"].value
    assert lumped_mfpt_exact(100, 2, u_age, 1e9) == pytest.approx(4.35e17, rel=1e-6)
    assert result.numbers["zsb_mfpt_U2kT_s"].value == pytest.approx(lumped_mfpt_exact(100, 2, 2.0, 1e9),
                                                                    rel=1e-8)


def test_lj13_first_encounters_reach_the_known_global_minimum(result):
    fe = result.data["landscapes"]["lj13"]["fe"]
    q = fe["quenches"]
    assert np.isfinite(q).all() and (q >= 1).all() and (q <= Config.small().fe_cap["lj13"]).all()
    np.testing.assert_allclose(fe["lowest"], LJ13_GM, atol=1e-5)
    assert result.numbers["lj13_success_fraction"].value == 1.0
    assert result.numbers["lj13_first_encounter_quenches"].value == pytest.approx(np.median(q))


def _bottoms_by_hand(net) -> np.ndarray:
    e = net.energies
    nxt = np.arange(net.n_minima)
    best = {}
    for k in range(net.n_transition_states):
        a, b = (int(v) for v in net.ts_minima[k])
        if a < 0 or b < 0 or a == b:
            continue
        for i, j in ((a, b), (b, a)):
            key = (float(net.ts_energies[k]), float(e[j]), j)
            if e[j] < e[i] and (i not in best or key < best[i]):
                best[i] = key
    for i, key in best.items():
        nxt[i] = key[2]
    out = np.empty(net.n_minima, dtype=int)
    for i in range(net.n_minima):
        j = i
        while nxt[j] != j:
            j = nxt[j]
        out[i] = j
    return out


def test_lj13_network_funnel_fraction_matches_monotonic_sequences_followed_by_hand(result):
    info = result.data["landscapes"]["lj13"]["info"]
    net = info["net"]
    assert info["gm_energy"] == pytest.approx(LJ13_GM, abs=1e-5)
    assert net.n_minima >= 2
    # every transition state lies above both minima it joins
    for k in range(net.n_transition_states):
        a, b = net.ts_minima[k]
        assert net.ts_energies[k] >= max(net.energies[a], net.energies[b]) - 1e-9
    bottoms = _bottoms_by_hand(net)
    gm = int(np.argmin(net.energies))
    frac = float(np.mean(bottoms == gm))
    assert result.numbers["lj13_fraction_draining_to_gm"].value == pytest.approx(frac, abs=1e-12)
    assert result.numbers["lj13_funnels"].value == len(set(bottoms.tolist()))
    low = np.argsort(net.energies, kind="stable")[1:11]
    assert result.numbers["lj13_low_lying_fraction_to_gm"].value == pytest.approx(np.mean(bottoms[low] == gm))


def test_result_structure_and_registry(result, tmp_path_factory):
    assert get_study("funnels_levinthal").NAME == "funnels_levinthal"
    assert result.verdicts and all(k in ("holds", "breaks", "note") for k, _ in result.verdicts)
    assert result.reading.count(".") >= 2
    assert all(p.exists() and p.stat().st_size < 300_000 for p, _ in result.figures)
    assert {p.name for p, _ in result.figures} >= {"zsb_mfpt.png", "first_encounter.png", "dgraph_lj13.png"}
    assert result.config["systems"] == ("lj13",)
    assert result.as_dict()["numbers"]["zsb_sim_max_abs_z"]["value"] < 4.0
