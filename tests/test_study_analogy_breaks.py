"""Study 6 (where the analogy breaks): zero modes counted from Hessians, discrete copies, data's share.

The study runs once (small configuration); each test compares one of its numbers with an
independent value: the six rigid-body modes of a cluster, one rescaling mode per ReLU unit
(recounted here from a finite-difference Hessian, not from the symmetry module), the exact 2λ
curvature of lifted modes, h!·2^h tanh copies, and exact bootstrap/ANOVA formulas.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from levinthal.studies import analogy_breaks as study
from levinthal.studies import get_study


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("analogy_breaks")
    return study.run(study.Config.small(), out)


@pytest.fixture(scope="module")
def cfg():
    return study.Config.small()


def test_lj13_icosahedron_has_exactly_six_zero_modes(result):
    assert result.numbers["lj13_energy"].value == pytest.approx(-44.326801, abs=1e-6)
    assert result.numbers["lj13_zero_modes"].value == 6
    w = np.sort(np.abs(result.data["symmetry"]["lj13"]["eigenvalues"]))
    # The seventh eigenvalue is a genuine vibration, far above the six zeros.
    assert w[5] < 1e-10 * w[-1] < w[6]


def _fd_hessian(L, x, h=1e-5):
    """Central differences of the gradient: a Hessian independent of HVPs and of the symmetry layer."""
    import torch

    n = L.dim
    H = np.empty((n, n))
    for i in range(n):
        e = torch.zeros_like(x)
        e[i] = h
        gp = L.energy_gradient(x + e)[1].detach().numpy()
        gm = L.energy_gradient(x - e)[1].detach().numpy()
        H[i] = (gp - gm) / (2 * h)
    return 0.5 * (H + H.T)


def test_relu_mlp_has_one_zero_mode_per_hidden_unit(result, cfg):
    relu = result.data["symmetry"]["relu"]
    assert result.numbers["relu_zero_modes"].value == cfg.hidden
    assert relu["converged"]
    # Recount from a finite-difference Hessian of the same loss at the same minimum. Its error
    # is ~h² E''' + eps/h ≈ 1e-10 relative, far below the smallest genuine eigenvalue (~1e-3 of
    # the largest here), so a 1e-6 threshold separates the two groups.
    L, _ = study._teacher_problem(cfg, "relu")
    w = np.linalg.eigvalsh(_fd_hessian(L, relu["x"]))
    k, gap = study.count_zero_modes(w, 1e-6)
    assert k == cfg.hidden
    assert gap > 1e2


def test_relu_rescaling_tangents_are_null_vectors_and_lift_to_two_lambda(result, cfg):
    # H t = −S ∇E, so |tᵀHt|/‖t‖² ≤ ‖∇E‖/‖t‖: with rms ∇E ≤ 1e-10 over 24 parameters and
    # ‖t‖ ≳ 0.1, that is ≤ 5e-9; 1e-7 leaves room.
    assert result.numbers["relu_rescaling_rayleigh_max"].value < 1e-7
    assert result.numbers["relu_l2_zero_modes"].value == 0
    q = result.data["symmetry"]["relu"]["l2_rayleigh"]
    assert result.data["symmetry"]["relu"]["l2_converged"]
    np.testing.assert_allclose(q, 2 * cfg.l2, atol=1e-7)


def test_tanh_has_no_zero_modes_but_h_factorial_two_to_the_h_copies(result, cfg):
    h = cfg.hidden
    assert result.numbers["tanh_zero_modes"].value == 0
    assert result.numbers["tanh_equivalent_copies"].value == math.factorial(h) * 2**h
    assert result.numbers["relu_equivalent_copies"].value == math.factorial(h)
    tanh = result.data["symmetry"]["tanh"]["copies"]
    relu = result.data["symmetry"]["relu"]["copies"]
    assert tanh["max_loss_change"] < 1e-20 + 1e-12 * abs(tanh["energy"])
    assert tanh["single_flip_change"] < 1e-20
    # Flipping a ReLU unit changes the function: the loss rises from ~0 by a finite amount.
    assert relu["single_flip_change"] > 1e-3


def test_expected_unique_fraction_matches_exact_enumeration():
    for n in (2, 3, 4):
        counts = np.array([len(set(s)) for s in itertools.product(range(n), repeat=n)], dtype=float)
        mean, sd = study.expected_unique_fraction(n)
        assert mean == pytest.approx(counts.mean() / n, rel=1e-12)
        assert sd == pytest.approx(counts.std() / n, rel=1e-12)


def test_study_bootstrap_resamples_match_the_exact_unique_fraction(result, cfg):
    m = result.numbers["bootstrap_unique_fraction"]
    n = result.data["runs"].n_train
    mean, sd = study.expected_unique_fraction(n)
    assert m.reference == pytest.approx(mean)
    # The mean of n_resamples independent resamples has sd = sd_one / sqrt(n_resamples).
    assert abs(m.value - mean) < 4 * sd / math.sqrt(cfg.n_resamples)


def test_variance_components_recover_an_exact_additive_table():
    a = np.array([0.0, 1.0, 2.0])  # init effects: sample variance 1
    b = np.array([0.0, 0.0, 3.0, 3.0])  # data effects: sample variance 3
    comp = study.variance_components(a[:, None] + b[None, :])
    assert comp["var_init"] == pytest.approx(1.0)
    assert comp["var_data"] == pytest.approx(3.0)
    assert comp["var_res"] == pytest.approx(0.0, abs=1e-12)
    assert comp["frac_data"] == pytest.approx(0.75)
    # Every pigeonhole resample of an additive table with distinct effects keeps frac in [0, 1];
    # the point estimate is the exact one.
    m = study.pigeonhole_interval(a[:, None] + b[None, :], n_resamples=200, rng=1)
    assert m.value == pytest.approx(0.75)
    assert 0.0 <= m.low <= m.high <= 1.0


def test_bootstrap_interval_of_a_known_mean_covers_it():
    # Means of 400 draws of N(2, 1): the 95% percentile interval has half-width ≈ 1.96/20.
    x = np.random.default_rng(3).normal(2.0, 1.0, 400)
    m = study.bootstrap_interval(x, n_resamples=1000, rng=0)
    assert m.low < 2.0 < m.high
    assert (m.high - m.low) / 2 == pytest.approx(1.96 / 20, rel=0.2)


def test_data_dependence_is_measured_with_intervals(result, cfg):
    runs = result.data["runs"]
    assert runs.loss.shape == (cfg.n_seeds, cfg.n_resamples)
    assert runs.not_converged == 0
    for key in ("loss", "lmax", "trace", "test_loss"):
        comp = study.variance_components(getattr(runs, key))
        assert comp["frac_init"] + comp["frac_data"] + comp["frac_res"] == pytest.approx(1.0)
        m = result.numbers[f"{key}_frac_data"]
        assert m.value == pytest.approx(comp["frac_data"])
        assert 0.0 <= m.low <= m.value <= m.high <= 1.0
    # λmax and the trace come from the same dense spectrum: trace ≥ λmax at a minimum of a
    # weight-decayed loss (all eigenvalues ≥ 0 there up to round-off).
    assert np.all(runs.trace >= runs.lmax)
    assert all(b >= 0 for b in runs.barrier_data + runs.barrier_init)
    assert len(runs.noise) == len(cfg.noise_levels)


def test_result_structure(result):
    assert get_study("analogy_breaks") is study
    assert study.NAME == "analogy_breaks"
    assert result.verdicts and all(k in ("holds", "breaks", "note") for k, _ in result.verdicts)
    assert result.reading and len(result.figures) == 3
    for path, caption in result.figures:
        assert path.exists() and caption
    assert "variance split (crossed design)" in result.tables
    result.as_dict()


def test_count_zero_modes_refuses_non_finite_input():
    with pytest.raises(ValueError, match="finite"):
        study.count_zero_modes([1.0, np.nan])
    assert study.count_zero_modes([1e-12, 1.0, 2.0], 1e-8) == (1, pytest.approx(1e12))


def test_predicted_zero_modes_from_activation_patterns():
    # Every unit partially active: one rescaling mode each.
    assert study.predicted_zero_modes([0.3, 0.5, 0.9], n_in=3, n_out=3) == 3
    # A dead unit: its 3 + 1 incoming and 3 outgoing parameters are all flat.
    assert study.predicted_zero_modes([0.3, 0.5, 0.0], n_in=3, n_out=3) == 2 + 7
    # One always-active unit: rescaling plus a bias shift absorbed by the output bias.
    assert study.predicted_zero_modes([0.3, 1.0], n_in=3, n_out=3) == 1 + 2
    # Two always-active units: GL(2) on the factorisation (4) plus the bias shifts (2).
    assert study.predicted_zero_modes([1.0, 1.0], n_in=3, n_out=3) == 2 * 7 - 2 * 4


def test_size_scan_counts_match_the_activation_pattern(result, cfg):
    rows = result.data["scaling"]
    assert [r[0] for r in rows] == [*cfg.clusters, *(f"ReLU MLP h={h}" for h in cfg.widths)]
    for name, _dim, naive, pattern, counted, gap, _e in rows:
        assert counted == pattern, name
        assert gap > 1e2, name
        if name.startswith("lj"):
            assert counted == naive == 6
    assert result.numbers["size_scan_pattern_matches"].value == len(rows)
