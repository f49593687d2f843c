"""Basin-hopping, its step-takers and parallel tempering: global minima, Metropolis statistics,
adaptive step size, and resume after a killed run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.explore.basin_hopping import basin_hopping
from levinthal.explore.parallel_tempering_bh import (
    ReplicaExchange,
    exchange_probability,
    geometric_ladder,
    parallel_tempering_basin_hopping,
)
from levinthal.explore.sink import InMemoryMinima
from levinthal.explore.steps import (
    AdaptiveStepSize,
    ClusterStep,
    GaussianStep,
    RandomDisplacement,
    SurfaceMove,
)
from levinthal.systems.registry import make_system

LJ13_GM = -44.326801
LJ19_GM = -72.659782


# --------------------------------------------------------------------------- global minima
def test_basin_hopping_finds_lj13_global_minimum_from_random_starts():
    L = make_system("lj13")
    for seed in (0, 1, 2):
        r = basin_hopping(L, n_steps=300, seed=seed, adaptive=AdaptiveStepSize(), target_energy=LJ13_GM,
                          target_tol=1e-5)
        assert r.converged, r.message
        assert r.energy == pytest.approx(LJ13_GM, abs=1e-5)
        assert L.energy(r.x) == pytest.approx(r.energy, abs=1e-12)
        assert 1 <= r.first_encounter <= r.quenches


def test_basin_hopping_finds_lj19_double_icosahedron():
    L = make_system("lj19")
    r = basin_hopping(L, n_steps=1000, n_walkers=2, seed=1, adaptive=AdaptiveStepSize(),
                      target_energy=LJ19_GM, target_tol=1e-5)
    assert r.converged, r.message
    assert r.energy == pytest.approx(LJ19_GM, abs=1e-5)


def test_parallel_tempering_bh_finds_lj13_global_minimum():
    L = make_system("lj13")
    r = parallel_tempering_basin_hopping(L, n_replicas=4, t_min=0.5, t_max=2.0, n_steps=200, seed=3,
                                         target_energy=LJ13_GM, target_tol=1e-5)
    assert r.converged, r.message
    assert r.energy == pytest.approx(LJ13_GM, abs=1e-5)
    np.testing.assert_allclose(r.walkers.temperature, geometric_ladder(0.5, 2.0, 4))


def test_every_converged_quench_is_stored_in_the_sink():
    L = make_system("lj7")
    sink = InMemoryMinima(L)
    r = basin_hopping(L, n_steps=20, n_walkers=3, seed=0, sink=sink)
    assert r.quenches == 3 * 21  # initial quench + 20 steps, per walker
    assert sum(m.hits for m in sink.minima) == r.quenches - r.failed_quenches
    assert min(m.energy for m in sink.minima) == pytest.approx(r.energy, abs=1e-9)
    assert r.counts.gradient > r.quenches


# --------------------------------------------------------------------------- Metropolis
class StaircaseWells:
    """1-D landscape with minima at the integers: E(n) = −1 for even n, −1 + h for odd n.

    E(x) = −cos(2πx) + h (1 − cos πx)/2 for |x| < 10 (h < 1 keeps every integer a minimum)."""

    name = "staircase-wells"
    dim = 1

    def __init__(self, h: float):
        self.h = h

    def energy_gradient(self, x):
        x = np.asarray(x, dtype=float)
        e = -math.cos(2 * math.pi * x[0]) + self.h * (1 - math.cos(math.pi * x[0])) / 2
        g = 2 * math.pi * math.sin(2 * math.pi * x[0]) + self.h * math.pi / 2 * math.sin(math.pi * x[0])
        return e, np.array([g])

    def energy(self, x):
        return self.energy_gradient(x)[0]

    def energy_gradients(self, X):
        out = [self.energy_gradient(x) for x in np.asarray(X)]
        return np.array([e for e, _ in out]), np.stack([g for _, g in out])

    def hvp(self, x, v):
        x = float(np.asarray(x)[0])
        c = 4 * math.pi ** 2 * math.cos(2 * math.pi * x) + self.h * math.pi ** 2 / 2 * math.cos(math.pi * x)
        return c * np.asarray(v, dtype=float)


def hop_to_neighbour(x, stepsize, rng):
    """Jump to x ± 1 (plus a little noise for the quench to remove)."""
    return x + rng.choice([-1.0, 1.0]) + rng.uniform(-0.1, 0.1)


def test_metropolis_acceptance_matches_the_exact_two_state_chain():
    # Even wells at −1, odd wells at −1 + h: an uphill hop is accepted with p = exp(−h/T),
    # a downhill one always. Stationary odd fraction p/(1+p), acceptance rate 2p/(1+p).
    h, T = 0.6, 0.5
    p = math.exp(-h / T)
    L = StaircaseWells(h)
    n_walkers, n_steps = 40, 150
    r = basin_hopping(L, np.zeros((n_walkers, 1)), n_steps=n_steps, temperature=T, step=hop_to_neighbour,
                      seed=7, minimize_options={"rms_tol": 1e-8})
    assert r.failed_quenches == 0
    assert np.allclose(np.round(r.walkers.X[:, 0]), r.walkers.X[:, 0], atol=1e-6)
    acc = np.array(r.history["acceptance"])
    expected = 2 * p / (1 + p)
    # 6000 correlated trials; the chain mixes in ~2 steps, so the standard error is < 0.012
    assert acc[20:].mean() == pytest.approx(expected, abs=0.04)
    odd = np.round(r.walkers.X[:, 0]).astype(int) % 2 == 1
    assert np.allclose(r.walkers.E[odd], -1 + h) and np.allclose(r.walkers.E[~odd], -1.0)


def test_zero_temperature_accepts_only_moves_that_do_not_raise_the_energy():
    L = StaircaseWells(0.6)
    r = basin_hopping(L, np.zeros((5, 1)), n_steps=30, temperature=0.0, step=hop_to_neighbour, seed=0,
                      minimize_options={"rms_tol": 1e-8})
    # all walkers start in even (lowest) wells; every hop goes to an odd well and is refused
    assert np.all(np.array(r.history["acceptance"]) == 0.0)
    np.testing.assert_array_equal(r.walkers.X[:, 0], 0.0)


# --------------------------------------------------------------------------- adaptive step size
def test_adaptive_step_size_converges_to_target_for_a_known_acceptance_curve():
    # acceptance probability exp(−s): the step size with 50 % acceptance is ln 2
    ctrl = AdaptiveStepSize(target=0.5, factor=0.9, interval=20)
    rng = np.random.default_rng(0)
    s = np.array([3.0])
    trials, acc = np.zeros(1, dtype=int), np.zeros(1, dtype=int)
    log_s = []
    for _ in range(20000):
        trials += 1
        acc += rng.random() < math.exp(-s[0])
        ctrl.update(s, trials, acc)
        log_s.append(math.log(s[0]))
    assert math.exp(np.mean(log_s[5000:])) == pytest.approx(math.log(2), rel=0.15)


def test_basin_hopping_adapts_the_step_size_towards_the_target_acceptance():
    L = make_system("lj13")
    r = basin_hopping(L, n_steps=400, seed=0, stepsize=3.0, temperature=0.3,
                      adaptive=AdaptiveStepSize(target=0.5, interval=10))
    acc = np.array(r.history["acceptance"])
    assert acc[:30].mean() < 0.25  # a step of 3 σ scrambles the cluster: mostly rejected
    assert r.walkers.stepsize[0] < 1.0
    assert acc[200:].mean() == pytest.approx(0.5, abs=0.15)


# --------------------------------------------------------------------------- resume
class KilledSink(InMemoryMinima):
    """An InMemoryMinima that dies (like a killed process) after ``die_after`` minima."""

    die_after: int = 10**9

    def add_minimum(self, x, energy, *, source=None):
        if self.die_after <= 0:
            raise KeyboardInterrupt("killed")
        self.die_after -= 1
        return super().add_minimum(x, energy, source=source)


def _same_database(a: InMemoryMinima, b: InMemoryMinima) -> None:
    assert [(m.id, m.energy, m.hits) for m in a.minima] == [(m.id, m.energy, m.hits) for m in b.minima]
    for ma, mb in zip(a.minima, b.minima, strict=True):
        np.testing.assert_array_equal(ma.x, mb.x)


@pytest.mark.parametrize("search", ["bh", "bhpt"])
def test_resume_after_a_killed_run_reproduces_the_uninterrupted_run(tmp_path, search):
    L = make_system("lj13")

    def run(sink):
        kw = dict(n_steps=40, seed=11, sink=sink, checkpoint_every=5, adaptive=AdaptiveStepSize(interval=4))
        if search == "bh":
            return basin_hopping(L, n_walkers=2, **kw)
        return parallel_tempering_basin_hopping(L, n_replicas=3, t_min=0.5, t_max=2.0, **kw)

    full_sink = InMemoryMinima(L)
    full = run(full_sink)

    path = tmp_path / "minima.pkl"
    killed = KilledSink(L, checkpoint_path=path)
    killed.die_after = 57  # mid-step, between checkpoints
    with pytest.raises(KeyboardInterrupt):
        run(killed)
    resumed_sink = InMemoryMinima(L, checkpoint_path=path)
    resumed = run(resumed_sink)

    assert resumed.resumed_from is not None and 0 < resumed.resumed_from < 40
    np.testing.assert_array_equal(resumed.walkers.X, full.walkers.X)
    np.testing.assert_array_equal(resumed.walkers.E, full.walkers.E)
    np.testing.assert_array_equal(resumed.walkers.stepsize, full.walkers.stepsize)
    assert resumed.walkers.extra == full.walkers.extra
    assert resumed.history == full.history
    assert (resumed.energy, resumed.quenches, resumed.first_encounter, resumed.counts) == (
        full.energy, full.quenches, full.first_encounter, full.counts)
    _same_database(resumed_sink, full_sink)


def test_a_finished_run_resumes_as_finished_and_a_foreign_checkpoint_is_refused():
    L = make_system("lj7")
    sink = InMemoryMinima(L)
    first = basin_hopping(L, n_steps=10, seed=0, sink=sink)
    again = basin_hopping(L, n_steps=10, seed=0, sink=sink)
    assert again.resumed_from == 10 and again.steps == 10 and again.quenches == first.quenches
    with pytest.raises(ValueError, match="checkpoint has 1 walkers"):
        basin_hopping(L, n_steps=10, n_walkers=3, sink=sink)
    other = InMemoryMinima(L)
    other.save_checkpoint({"kind": "genetic_algorithm"})
    with pytest.raises(ValueError, match="genetic_algorithm"):
        basin_hopping(L, n_steps=5, sink=other)


def test_bad_inputs_are_named():
    L = make_system("lj7")
    with pytest.raises(ValueError, match="x0 has shape"):
        basin_hopping(L, np.zeros(5), n_steps=1)
    with pytest.raises(ValueError, match="temperature"):
        basin_hopping(L, n_walkers=2, temperature=[1.0, 2.0, 3.0], n_steps=1)
    with pytest.raises(ValueError, match="step size"):
        ClusterStep(7)(np.zeros(21), -1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_atoms"):
        SurfaceMove(make_system("muller-brown"))


# --------------------------------------------------------------------------- replica exchange
def test_exchange_probability_is_the_parallel_tempering_metropolis_rule():
    assert exchange_probability(-5.0, -3.0, 1.0, 2.0) == pytest.approx(math.exp((1 - 0.5) * (-2.0)))
    assert exchange_probability(-3.0, -5.0, 1.0, 2.0) == 1.0  # the colder replica takes the lower energy
    ladder = geometric_ladder(0.5, 4.0, 4)
    np.testing.assert_allclose(ladder, [0.5, 1.0, 2.0, 4.0])


def test_replica_exchange_swap_frequency_matches_the_exchange_probability():
    from levinthal.explore.basin_hopping import WalkerState

    rng = np.random.default_rng(1)
    hook = ReplicaExchange(every=1)
    n, swaps = 4000, 0
    p = exchange_probability(-5.0, -4.0, 0.5, 1.0)
    for _ in range(n):
        s = WalkerState(X=np.array([[0.0], [1.0]]), E=np.array([-5.0, -4.0]), stepsize=np.ones(2),
                        temperature=np.array([0.5, 1.0]), trials=np.zeros(2, int), accepted=np.zeros(2, int))
        hook(s, rng, 0)
        swapped = s.X[0, 0] == 1.0
        assert swapped == (s.E[0] == -4.0)
        swaps += swapped
    assert swaps / n == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))


# --------------------------------------------------------------------------- steps
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), s=st.floats(0.01, 2.0), shape=st.sampled_from(["cube", "sphere"]))
def test_cluster_step_bounds_recentring_and_container(seed, s, shape):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=3 * 9)
    raw = ClusterStep(9, shape=shape, recentre=False)(x, s, np.random.default_rng(seed))
    d = (raw - x).reshape(9, 3)
    if shape == "cube":
        assert np.abs(d).max() <= s
    else:
        assert np.linalg.norm(d, axis=1).max() <= s * (1 + 1e-12)
    centred = ClusterStep(9, shape=shape, rotate=True)(x, s, rng).reshape(9, 3)
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=1e-12)
    contained = ClusterStep(9, shape=shape, container_radius=1.5)(x, s, rng).reshape(9, 3)
    assert np.linalg.norm(contained, axis=1).max() <= 1.5 + 1e-12


def test_rotation_in_cluster_step_preserves_pair_distances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = ClusterStep(10, rotate=True)(x, 1e-12, rng)
    dx = np.linalg.norm(x.reshape(10, 1, 3) - x.reshape(1, 10, 3), axis=-1)
    dy = np.linalg.norm(y.reshape(10, 1, 3) - y.reshape(1, 10, 3), axis=-1)
    np.testing.assert_allclose(dy, dx, atol=1e-10)
    np.testing.assert_allclose(y.reshape(10, 3).mean(axis=0), 0.0, atol=1e-12)


def test_random_displacement_and_gaussian_step():
    rng = np.random.default_rng(0)
    x = np.zeros(300)
    d = RandomDisplacement("cube", block=3)(x, 0.2, rng)
    assert np.abs(d).max() <= 0.2 and np.std(d) == pytest.approx(0.2 / math.sqrt(3), rel=0.15)
    scale = np.r_[np.zeros(150), np.ones(150)]
    g = GaussianStep(scale)(x, 0.5, rng)
    assert np.all(g[:150] == 0.0) and np.std(g[150:]) == pytest.approx(0.5, rel=0.2)


def test_surface_move_relocates_the_least_coordinated_atom_onto_the_surface():
    L = make_system("lj13")
    r = basin_hopping(L, n_steps=60, seed=0, target_energy=LJ13_GM, target_tol=1e-5)
    x = r.x.reshape(13, 3) - r.x.reshape(13, 3).mean(axis=0)
    # an icosahedron: the centre atom has 12 neighbours, each surface atom 6; pull one atom off
    x_adatom = x.copy()
    far = int(np.argmax(np.linalg.norm(x, axis=1)))
    x_adatom[far] *= 1.8
    y = SurfaceMove(L, n_candidates=20)(x_adatom.reshape(-1), 0.0, np.random.default_rng(0)).reshape(13, 3)
    moved = np.flatnonzero(np.linalg.norm((y - y.mean(0)) - (x_adatom - x_adatom.mean(0)), axis=1) > 1e-6)
    assert far in moved
    assert L.energy(y.reshape(-1)) < L.energy(x_adatom.reshape(-1))
    assert y.shape == (13, 3) and np.abs(y.mean(axis=0)).max() < 1e-12
