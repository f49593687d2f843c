"""Training with tracked curvature: exact GD steps and curvature on a quadratic, seeded
reproducibility, resume from checkpoints, and the edge of stability (Cohen et al. 2021)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from levinthal.explore import edge_of_stability_check, train
from levinthal.landscape.errors import LandscapeError, NotSupportedError
from levinthal.systems import make_system
from levinthal.systems.networks import NetworkLandscape
from levinthal.systems.networks.data import digits
from levinthal.systems.networks.models import mlp, reset_parameters


class Quadratic:
    """E = ½ xᵀ A x with a known spectrum."""

    def __init__(self, eigenvalues, seed=0):
        q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))
        self.A = q @ np.diag(eigenvalues) @ q.T
        self.dim = len(eigenvalues)
        self.name = "quadratic"

    def energy(self, x):
        return 0.5 * float(x @ self.A @ x)

    def energy_gradient(self, x):
        return self.energy(x), self.A @ x

    def hvp(self, x, v):
        return self.A @ v


class Boom(Exception):
    pass


def test_gd_steps_and_tracked_curvature_on_a_quadratic_are_exact():
    lam = np.array([0.1, 0.5, 1.0, 2.0, 3.0])
    q = Quadratic(lam)
    x0 = np.ones(5)
    rec = train(q, x0, lr=0.2, steps=7, track_every=3, trace_matvec=15)
    x = x0.copy()
    for _ in range(7):
        x = x - 0.2 * (q.A @ x)
    np.testing.assert_allclose(rec.x, x, atol=1e-14)
    assert list(rec.steps) == [0, 3, 6, 7]
    np.testing.assert_allclose(rec.metrics["lambda_max"], 3.0, rtol=1e-6)
    np.testing.assert_allclose(rec.metrics["trace"], lam.sum(), rtol=1e-10)  # sketch spans R^5
    assert rec.metrics["loss"][0] == pytest.approx(0.5 * x0 @ q.A @ x0)
    assert np.isnan(rec.metrics["accuracy"]).all()
    assert rec.counts.gradient == 7 and rec.counts.hvp == rec.hvp_per_check.sum()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_gd_beyond_two_over_eta_diverges_and_says_so():
    q = Quadratic([1.0, 50.0])
    rec = train(q, np.ones(2), lr=1.0, steps=1000, track=("loss",))
    assert not rec.converged and "diverged" in rec.message


def test_warm_started_lambda_max_checks_use_fewer_hvps_than_the_first(small_net):
    land = small_net
    rec = train(land, land.initial_point(), lr=0.5, steps=40, track_every=10, track=("lambda_max",))
    assert rec.hvp_per_check[1:].max() < rec.hvp_per_check[0]
    dense = np.linalg.eigvalsh(land.hessian(rec.x).numpy())[-1]
    assert rec.metrics["lambda_max"][-1] == pytest.approx(dense, rel=1e-5)


@pytest.fixture(scope="module")
def small_net():
    return make_system("mlp-digits", n_train=120, hidden=(8,))


def _sgd(land, **kw):
    return train(land, land.initial_point(), optimizer="sgd", lr=0.3, steps=25, batch_size=32,
                 track_every=10, track=("loss", "accuracy", "lambda_max", "trace"), trace_matvec=9, **kw)


def test_training_record_is_reproducible_from_a_seed(small_net):
    a, b = _sgd(small_net, rng=5), _sgd(small_net, rng=5)
    assert torch.equal(a.x, b.x)
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k])
    np.testing.assert_array_equal(a.step_loss, b.step_loss)
    c = _sgd(small_net, rng=6)
    assert not torch.equal(a.x, c.x)
    assert 0.0 <= a.metrics["accuracy"].min() and a.metrics["accuracy"].max() <= 1.0


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_from_checkpoint_gives_the_same_run_as_uninterrupted(small_net, tmp_path, optimizer):
    kw = dict(optimizer=optimizer, lr=0.05, steps=23, batch_size=16, track_every=5,
              track=("loss", "lambda_max"), rng=3)
    full = train(small_net, small_net.initial_point(), **kw)

    def kill(step, x, landscape):
        if step == 15:
            raise Boom  # the process dies after the checkpoint at step 10 (and 15) was written

    with pytest.raises(Boom):
        train(small_net, small_net.initial_point(), checkpoint_dir=tmp_path, checkpoint_every=5,
              callback=kill, **kw)
    resumed = train(small_net, small_net.initial_point(), checkpoint_dir=tmp_path, checkpoint_every=5, **kw)
    assert resumed.resumed_from == 15
    assert torch.equal(resumed.x, full.x)
    np.testing.assert_array_equal(resumed.steps, full.steps)
    np.testing.assert_allclose(resumed.metrics["lambda_max"], full.metrics["lambda_max"], rtol=1e-12)
    np.testing.assert_array_equal(resumed.step_loss, full.step_loss)
    # a finished run resumes to the end at once
    again = train(small_net, small_net.initial_point(), checkpoint_dir=tmp_path, **kw | {"track_every": 5})
    assert again.resumed_from == 23 and torch.equal(again.x, full.x)


def test_checkpoint_of_another_run_is_refused(small_net, tmp_path):
    train(small_net, small_net.initial_point(), lr=0.1, steps=2, track=("loss",), checkpoint_dir=tmp_path)
    with pytest.raises(LandscapeError, match="different run"):
        train(small_net, small_net.initial_point(), lr=0.2, steps=2, track=("loss",), checkpoint_dir=tmp_path)


def test_callback_metrics_are_recorded(small_net):
    rec = train(small_net, small_net.initial_point(), lr=0.1, steps=4, track_every=2, track=("loss",),
                callback=lambda s, x, land: {"norm": float(x.norm()), "step_again": s})
    np.testing.assert_array_equal(rec.metrics["step_again"], [0, 2, 4])
    assert rec.metrics["norm"][0] == pytest.approx(float(small_net.initial_point().norm()))


def test_sgd_needs_a_network_landscape():
    with pytest.raises(NotSupportedError, match="on_batch"):
        train(Quadratic([1.0, 2.0]), np.ones(2), optimizer="sgd", lr=0.1, steps=1, batch_size=1)


def test_gd_reaches_the_edge_of_stability_two_over_eta():
    """Cohen et al. (2021): full-batch GD on a tanh MLP with MSE loss sharpens progressively
    until λmax ≈ 2/η and then stays there. 200 digits, 64-32-32-10, η = 2.5, float64."""
    d = digits(n_train=200, flatten=True)
    model = reset_parameters(mlp([64, 32, 32, 10], "tanh").double(), 0)
    land = NetworkLandscape(model, d.train_inputs, F.one_hot(d.train_targets, 10).double(), "mse")
    eta = 2.5
    rec = train(land, land.initial_point(), lr=eta, steps=300, track_every=10, track=("loss", "lambda_max"))
    eos = edge_of_stability_check(rec, eta, last_fraction=0.25, tolerance=0.15)
    lam = rec.metrics["lambda_max"]
    assert lam[0] < 0.7 * 2 / eta  # starts well below the edge: the rise is progressive sharpening
    assert eos.at_edge, eos.text()
    assert abs(eos.mean_ratio - 1.0) <= 0.15
    assert eos.first_step_at_edge is not None and eos.first_step_at_edge > 0
    assert rec.metrics["loss"][-1] < 0.2 * rec.metrics["loss"][0]  # training still makes progress
