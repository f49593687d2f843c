"""Paths between minima: linear barriers (Frankle et al. 2020), barriers after weight matching
(Ainsworth et al. 2022), BatchNorm statistics recomputed on the path (Garipov et al. 2018;
Jordan et al. 2022) and trained Bézier curves (Garipov et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from levinthal.landscape import NotSupportedError
from levinthal.minimize import minimize
from levinthal.paths.bezier import curve_objective, curve_points, curve_weights, fit_bezier
from levinthal.paths.network_barriers import (
    aligned_barrier,
    barrier_heights,
    batchnorm_statistics,
    linear_barrier,
    recompute_batchnorm_statistics,
)
from levinthal.symmetry.networks import permute_parameters
from levinthal.systems import make_system
from levinthal.systems.networks import NetworkLandscape, digits, mlp_digits, reset_parameters
from levinthal.systems.regularized import L2Regularized

N_TRAIN = 300


def _train(land, x0, l2=1e-3):
    r = minimize(L2Regularized(land, l2), x0, memory=20, max_step=1.0, rms_tol=1e-4, max_iterations=3000)
    assert r.converged, r.message
    return r.x


@pytest.fixture(scope="module")
def two_mlps():
    """Two tanh MLPs 64-16-10 trained from different initialisations on 300 digits."""
    land = mlp_digits(seed=1, hidden=(16,), n_train=N_TRAIN)
    other = mlp_digits(seed=2, hidden=(16,), n_train=N_TRAIN)
    return land, _train(land, land.initial_point()), _train(land, other.initial_point())


def _bn_model(seed):
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(64, 12), nn.BatchNorm1d(12), nn.Tanh(), nn.Linear(12, 10)).double()
    return reset_parameters(model, seed)


@pytest.fixture(scope="module")
def two_bn_mlps():
    """Two BatchNorm MLPs trained in train mode (batch statistics, full batch) on 200 digits;
    the landscape returned evaluates in eval mode (running statistics)."""
    data = digits(n_train=200, flatten=True, dtype=torch.float64)
    train_mode = NetworkLandscape(_bn_model(1), data.train_inputs, data.train_targets, mode="train")
    eval_mode = NetworkLandscape(_bn_model(1), data.train_inputs, data.train_targets, mode="eval")
    ends = [_train(train_mode, NetworkLandscape(_bn_model(s), data.train_inputs, data.train_targets,
                                                mode="train").initial_point()) for s in (1, 2)]
    return eval_mode, data, ends[0], ends[1]


# ---------------------------------------------------------------------------- linear barrier


def test_barrier_heights_of_a_known_profile():
    t = np.linspace(0, 1, 101)
    e = 2.0 * t + np.sin(np.pi * t)  # chord 2t: barrier above chord 1 at t = ½
    above_chord, above_ends = barrier_heights(t, e)
    assert above_chord == pytest.approx(1.0, abs=1e-12)
    # max of 2t + sin(πt): t* = 1 − arccos(−2/π)/π ... evaluated on the grid, above E(1) = 2
    assert above_ends == pytest.approx(np.max(e) - 2.0, abs=1e-12)
    assert barrier_heights(t, 3.0 - t)[0] == pytest.approx(0.0, abs=1e-12)


def test_linear_profile_ends_are_the_end_energies_and_batched_equals_pointwise(two_mlps):
    land, a, b = two_mlps
    p = linear_barrier(land, a, b, n_points=7)
    assert p.energies[0] == pytest.approx(land.energy(a), rel=1e-12)
    assert p.energies[-1] == pytest.approx(land.energy(b), rel=1e-12)
    one_by_one = [land.energy((1 - t) * a + t * b) for t in p.t]
    np.testing.assert_allclose(p.energies, one_by_one, rtol=1e-12)
    np.testing.assert_allclose(p.test_energies, [land.test_energy((1 - t) * a + t * b) for t in p.t],
                               rtol=1e-12)
    assert p.counts.energy == 7 and not p.batchnorm_recomputed
    chord = (1 - p.t) * p.energies[0] + p.t * p.energies[-1]
    assert p.barrier == pytest.approx(np.max(np.asarray(one_by_one) - chord), rel=1e-12)


def test_linear_barrier_on_muller_brown_equals_the_analytic_profile():
    mb = make_system("muller-brown")
    a, b = np.array([-0.558, 1.442]), np.array([0.623, 0.028])
    p = linear_barrier(mb, a, b, n_points=11)
    np.testing.assert_allclose(p.energies, [mb.energy((1 - t) * a + t * b) for t in p.t], rtol=1e-13)
    assert p.test_energies is None and p.accuracies is None


def test_weight_matching_lowers_the_linear_barrier_between_two_mlps(two_mlps):
    land, a, b = two_mlps
    result = aligned_barrier(land, a, b, n_points=11)
    assert result.distance_after < result.distance_before
    assert result.before.barrier > 0.05  # independently trained: a real barrier
    assert result.after.barrier < result.before.barrier
    np.testing.assert_allclose(result.after.energies[[0, -1]], result.before.energies[[0, -1]], rtol=1e-10)


def test_weight_matching_of_a_permuted_copy_gives_zero_barrier(two_mlps):
    land, a, _ = two_mlps
    perm = np.random.default_rng(3).permutation(16)
    b = permute_parameters(a, [perm], land.model)
    assert land.energy(b) == pytest.approx(land.energy(a), rel=1e-12)  # same function
    result = aligned_barrier(land, a, b, n_points=9)
    assert result.before.barrier > 0.01
    assert result.distance_after == pytest.approx(0.0, abs=1e-12)
    assert result.after.barrier == pytest.approx(0.0, abs=1e-12)


def test_aligned_barrier_refuses_a_network_weight_matching_cannot_parse(two_bn_mlps):
    land, _, a, b = two_bn_mlps
    with pytest.raises(NotSupportedError, match="weight matching"):
        aligned_barrier(land, a, b)


# ---------------------------------------------------------------------------- BatchNorm


def test_recomputed_batchnorm_statistics_are_the_data_mean_and_unbiased_variance(two_bn_mlps):
    land, data, a, _ = two_bn_mlps
    stats = recompute_batchnorm_statistics(land, a)
    # Independent: the BatchNorm input is X W1ᵀ + b1, computed here in NumPy.
    w = a[: 12 * 64].reshape(12, 64).numpy()
    bias = a[12 * 64 : 12 * 65].numpy()
    z = data.train_inputs.numpy() @ w.T + bias
    np.testing.assert_allclose(stats["1.running_mean"].numpy(), z.mean(0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats["1.running_var"].numpy(), z.var(0, ddof=1), rtol=1e-10)
    assert int(stats["1.num_batches_tracked"]) == 1


def test_batchnorm_statistics_are_used_inside_the_block_and_restored_after(two_bn_mlps):
    land, data, a, _ = two_bn_mlps
    before = {n: t.clone() for n, t in land.model.named_buffers()}
    stats = recompute_batchnorm_statistics(land, a)
    with batchnorm_statistics(land, stats):
        inside = land.energy(a)
    # Independent reference: the model in eval mode with those buffers, called directly.
    model = _bn_model(0)
    nn.utils.vector_to_parameters(a, model.parameters())
    model.load_state_dict({**model.state_dict(), **stats})
    model.eval()
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(data.train_inputs), data.train_targets))
    assert inside == pytest.approx(expected, rel=1e-12)
    for n, t in land.model.named_buffers():
        assert torch.equal(t, before[n])


def test_recomputing_batchnorm_lowers_the_loss_at_the_midpoint(two_bn_mlps):
    land, _, a, b = two_bn_mlps
    sa, sb = recompute_batchnorm_statistics(land, a), recompute_batchnorm_statistics(land, b)
    naive = {n: 0.5 * (sa[n] + sb[n]) if sa[n].is_floating_point() else sa[n] for n in sa}
    mid = 0.5 * (a + b)
    with batchnorm_statistics(land, naive):
        naive_loss = land.energy(mid)
    profile = linear_barrier(land, a, b, n_points=3)
    assert profile.batchnorm_recomputed
    assert profile.energies[1] < naive_loss
    unrecomputed = linear_barrier(land, a, b, n_points=3, recompute_batchnorm=False)
    assert not unrecomputed.batchnorm_recomputed
    assert unrecomputed.energies[1] == pytest.approx(land.energy(mid), rel=1e-12)


def test_recompute_refuses_a_network_without_batchnorm(two_mlps):
    land, a, _ = two_mlps
    with pytest.raises(NotSupportedError, match="no BatchNorm"):
        recompute_batchnorm_statistics(land, a)


# ---------------------------------------------------------------------------- curves


@pytest.mark.parametrize("kind", ["bezier", "polychain"])
def test_curve_ends_exactly_at_a_and_b_and_weights_sum_to_one(kind):
    rng = np.random.default_rng(0)
    a, theta, b = rng.normal(size=(3, 5))
    X = curve_points(kind, a, theta, b, [0.0, 1.0])
    assert np.array_equal(X[0], a) and np.array_equal(X[1], b)
    Xt = curve_points(kind, torch.as_tensor(a), torch.as_tensor(theta), torch.as_tensor(b), [0.0, 1.0])
    assert torch.equal(Xt[0], torch.as_tensor(a)) and torch.equal(Xt[1], torch.as_tensor(b))
    t = np.linspace(0, 1, 13)
    np.testing.assert_allclose(np.sum(curve_weights(kind, t), axis=0), 1.0, rtol=1e-15)


def test_bezier_curve_is_the_quadratic_bezier_formula():
    a, theta, b = np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([2.0, 0.0])
    t = 0.25
    expected = (1 - t) ** 2 * a + 2 * t * (1 - t) * theta + t**2 * b
    np.testing.assert_allclose(curve_points("bezier", a, theta, b, [t])[0], expected, rtol=1e-15)


@pytest.mark.parametrize("kind", ["bezier", "polychain"])
def test_curve_gradient_matches_finite_differences_on_muller_brown(kind):
    mb = make_system("muller-brown")
    a, b, theta = np.array([-0.558, 1.442]), np.array([0.623, 0.028]), np.array([-0.3, 0.6])
    ts = np.array([0.1, 0.37, 0.5, 0.8])
    _, g = curve_objective(mb, kind, a, theta, b, ts)
    h = 1e-6
    fd = [(curve_objective(mb, kind, a, theta + h * e, b, ts)[0]
           - curve_objective(mb, kind, a, theta - h * e, b, ts)[0]) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_curve_gradient_matches_finite_differences_on_an_mlp(two_mlps):
    land, a, b = two_mlps
    theta = 0.5 * (a + b)
    ts = np.array([0.2, 0.55, 0.9])
    _, g = curve_objective(land, "bezier", a, theta, b, ts)
    u = torch.as_tensor(np.random.default_rng(1).normal(size=land.dim))
    u = u / torch.linalg.vector_norm(u)
    h = 1e-5
    fd = (curve_objective(land, "bezier", a, theta + h * u, b, ts)[0]
          - curve_objective(land, "bezier", a, theta - h * u, b, ts)[0]) / (2 * h)
    assert float(g @ u) == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("kind", ["bezier", "polychain"])
def test_bezier_curve_between_two_trained_mlps_has_lower_max_loss_than_the_straight_line(two_mlps, kind):
    land, a, b = two_mlps
    line = linear_barrier(land, a, b, n_points=17, held_out=False)
    curve = fit_bezier(land, a, b, kind=kind, steps=150, lr=0.01, rng=0)
    profile = curve.profile(17, held_out=False)
    assert profile.max_energy < line.max_energy
    assert profile.barrier < 0.5 * line.barrier
    assert profile.energies[0] == line.energies[0] and profile.energies[-1] == line.energies[-1]
    assert curve.counts.gradient == 150 * 8
    assert len(curve.history["objective"]) == 150


def test_bezier_training_is_reproducible_from_its_seed(two_mlps):
    land, a, b = two_mlps
    c1 = fit_bezier(land, a, b, steps=5, rng=7)
    c2 = fit_bezier(land, a, b, steps=5, rng=7)
    assert torch.equal(c1.control, c2.control)


def test_bezier_on_minibatches_refuses_a_wrapped_landscape(two_mlps):
    land, a, b = two_mlps
    fit_bezier(land, a, b, steps=2, batch_size=50)  # the network landscape itself is fine
    with pytest.raises(NotSupportedError, match="on_batch"):
        fit_bezier(L2Regularized(land, 1e-3), a, b, steps=2, batch_size=50)


def test_bezier_between_aligned_lj7_minima_lies_below_the_straight_line():
    lj = make_system("lj7")
    rng = np.random.default_rng(0)
    minima = {}
    while len(minima) < 2:
        r = minimize(lj, lj.random_point(rng))
        minima.setdefault(round(r.energy, 4), r.x)
    (_, a), (_, b) = sorted(minima.items())[:2]
    aligned = aligned_barrier(lj, a, b, n_points=21)
    assert aligned.after.max_energy < aligned.before.max_energy
    curve = fit_bezier(lj, a, aligned.b_aligned, steps=200, lr=0.01, rng=0)
    profile = curve.profile(21)
    assert profile.max_energy < aligned.after.max_energy
    assert profile.energies[0] == pytest.approx(lj.energy(a), rel=1e-12)


# ---------------------------------------------------------------------------- CLI


def test_mode_connect_cli_reports_the_three_barriers(capsys, tmp_path):
    import json

    from levinthal.cli.main import main

    plot = tmp_path / "paths.png"
    code = main(["mode-connect", "mlp-digits", "--n-train", "200", "--steps", "60", "--points", "9",
                 "--rms-tol", "1e-4", "--json", "--plot", str(plot)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["aligned_barrier"] < out["linear_barrier"]
    assert out["bezier_max"] < out["linear_max"]
    assert out["distance_after"] < out["distance_before"]
    assert plot.stat().st_size > 0


def test_recomputed_batchnorm2d_statistics_of_a_cnn_are_the_channel_mean_and_variance():
    from levinthal.systems.networks import cnn_digits

    land = cnn_digits(seed=0, batch_norm=True, n_train=120)
    x = land.random_point(np.random.default_rng(5))
    stats = recompute_batchnorm_statistics(land, x)
    # Independent: the first BatchNorm2d sees conv1(X); mean/variance over (samples, height, width).
    w = x[: 8 * 9].reshape(8, 1, 3, 3)
    b = x[8 * 9 : 8 * 10]
    inputs = digits(n_train=120, flatten=False, dtype=torch.float64).train_inputs
    z = nn.functional.conv2d(inputs, w, b, padding=1).transpose(0, 1).reshape(8, -1).numpy()
    np.testing.assert_allclose(stats["1.running_mean"].numpy(), z.mean(1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats["1.running_var"].numpy(), z.var(1, ddof=1), rtol=1e-10)


def test_bezier_fitted_with_batch_statistics_beats_the_line_with_recomputed_batchnorm(two_bn_mlps):
    land, data, a, b = two_bn_mlps
    train_mode = NetworkLandscape(_bn_model(1), data.train_inputs, data.train_targets, mode="train")
    curve = fit_bezier(train_mode, a, b, steps=100, lr=0.01, rng=0)
    profile = curve.profile(9, landscape=land, held_out=False)
    line = linear_barrier(land, a, b, n_points=9, held_out=False)
    assert profile.batchnorm_recomputed and line.batchnorm_recomputed
    assert profile.max_energy < line.max_energy


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=20), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_barrier_above_the_chord_ignores_added_linear_trends(energies, c0, c1):
    e = np.asarray(energies)
    t = np.linspace(0, 1, e.size)
    base, _ = barrier_heights(t, e)
    tilted, _ = barrier_heights(t, e + c0 + c1 * t)
    assert base >= 0.0
    assert tilted == pytest.approx(base, abs=1e-9 * (1 + np.abs(e).max() + abs(c0) + abs(c1)))


def test_mode_connect_cli_recomputes_batchnorm_and_reports_a_cnn_it_cannot_align(capsys):
    import json

    from levinthal.cli.main import main

    code = main(["mode-connect", "cnn-digits", "--batch-norm", "--n-train", "100", "--steps", "5",
                 "--samples", "2", "--points", "3", "--max-iterations", "60", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["batchnorm_recomputed"] is True
    assert out["aligned_barrier"] is None and "weight matching" in out["not_aligned"]
    assert set(out["profiles"]) == {"straight line", "Bézier (raw ends)"}
    assert all(p["batchnorm_recomputed"] for p in out["profiles"].values())


def test_only_batchnorm_layers_with_running_statistics_are_recomputed():
    data = digits(n_train=80, flatten=True, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(64, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 5),
                              nn.BatchNorm1d(5, track_running_stats=False), nn.Tanh(),
                              nn.Linear(5, 10)).double()
    reset_parameters(model, 0)
    land = NetworkLandscape(model, data.train_inputs, data.train_targets)
    x = land.initial_point()
    stats = recompute_batchnorm_statistics(land, x)
    assert set(stats) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    w, b = x[: 6 * 64].reshape(6, 64).numpy(), x[6 * 64 : 6 * 65].numpy()
    z = data.train_inputs.numpy() @ w.T + b
    np.testing.assert_allclose(stats["1.running_mean"].numpy(), z.mean(0), rtol=1e-10, atol=1e-12)
    assert linear_barrier(land, x, x + 0.01, n_points=3).batchnorm_recomputed


def test_batchnorm_pass_in_equal_batches_averages_batch_means_to_the_data_mean(two_bn_mlps):
    land, data, a, _ = two_bn_mlps
    stats = recompute_batchnorm_statistics(land, a, batch_size=50)  # 200 samples: four batches
    w, bias = a[: 12 * 64].reshape(12, 64).numpy(), a[12 * 64 : 12 * 65].numpy()
    z = data.train_inputs.numpy() @ w.T + bias
    np.testing.assert_allclose(stats["1.running_mean"].numpy(), z.mean(0), rtol=1e-10, atol=1e-12)
    chunk_vars = np.mean([c.var(0, ddof=1) for c in np.split(z, 4)], axis=0)  # cumulative average
    np.testing.assert_allclose(stats["1.running_var"].numpy(), chunk_vars, rtol=1e-10)
    assert int(stats["1.num_batches_tracked"]) == 4
