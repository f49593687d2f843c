"""Simulated annealing: schedules evaluated exactly, the Metropolis kernel against Boltzmann,
the LJ7 global minimum and the deeper well of a tilted double well, and bit-for-bit resume."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from levinthal.explore.annealing import Schedule, anneal, make_schedule
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import LandscapeError
from levinthal.systems.analytic import TiltedDoubleWell
from levinthal.systems.registry import make_system

LJ7_GLOBAL_MINIMUM = -16.505384  # pentagonal bipyramid (Wales & Doye 1997, Cambridge Cluster Database)


def test_geometric_schedule_values():
    s = make_schedule("geometric", 5, 1.0, 0.0625)
    assert s.temperatures() == pytest.approx([1.0, 0.5, 0.25, 0.125, 0.0625], rel=1e-14)
    assert make_schedule("exponential", 5, 1.0, 0.0625).temperatures() == pytest.approx(s.temperatures())


def test_linear_schedule_values():
    s = make_schedule("linear", 5, 2.0, 1.0)
    assert s.temperatures() == pytest.approx([2.0, 1.75, 1.5, 1.25, 1.0], rel=1e-14)
    assert make_schedule("linear", 1, 2.0, 1.0).temperatures().tolist() == [2.0]


def test_logarithmic_schedule_hits_both_ends_and_has_the_geman_geman_form():
    s = make_schedule("logarithmic", 1000, 2.0, 0.5)
    T = s.temperatures()
    assert T[0] == pytest.approx(2.0, rel=1e-12) and T[-1] == pytest.approx(0.5, rel=1e-10)
    k = np.arange(1000)
    assert T * np.log(k + s.k0) == pytest.approx(np.full(1000, s.c), rel=1e-13)  # T_k ln(k + k0) = c
    assert s.k0 > 1 and np.all(np.diff(T) < 0)


@given(st.sampled_from(["geometric", "linear", "logarithmic"]), st.integers(2, 5000), st.floats(0.01, 10),
       st.floats(1.001, 1000))
def test_named_schedules_fall_monotonically_between_exact_ends(kind, n, t_end, ratio):
    s = make_schedule(kind, n, t_end * ratio, t_end)
    assert s(0) == pytest.approx(t_end * ratio, rel=1e-9)
    assert s(n - 1) == pytest.approx(t_end, rel=1e-9)
    T = s.temperatures() if n <= 500 else np.array([s(k) for k in (0, 1, n // 2, n - 2, n - 1)])
    assert np.all(np.diff(T) <= 1e-12 * T[:-1])


def test_callable_schedule_is_used_as_given_and_checked():
    s = make_schedule(lambda k: 1.0 / (1 + k), 4)
    assert s.temperatures() == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    with pytest.raises(ValueError, match="positive"):
        make_schedule(lambda k: -1.0, 3)(0)


@pytest.mark.parametrize("kw", [dict(kind="cubic", n_steps=3, t_start=1, t_end=0.5),
                                dict(kind="geometric", n_steps=3, t_start=0.5, t_end=1.0),
                                dict(kind="geometric", n_steps=3),
                                dict(kind="logarithmic", n_steps=3, t_start=1.0, t_end=1.0)])
def test_bad_schedules_are_refused(kw):
    with pytest.raises(ValueError):
        make_schedule(**kw)


def test_run_records_the_schedule_temperatures():
    L = TiltedDoubleWell(tilt=0.2)
    res = anneal(L, np.array([1.0, 0.0]), n_steps=300, schedule="linear", t_start=1.0, t_end=0.1,
                 record_every=100, rng=0)
    s = make_schedule("linear", 300, 1.0, 0.1)
    assert res.steps.tolist() == [0, 100, 200, 300]
    assert res.temperatures == pytest.approx([s(0), s(100), s(200), s(299)])
    assert isinstance(res.schedule, Schedule)
    assert res.counts.energy == 301  # the start and one proposal per step (the quench counts gradients)


def test_fixed_temperature_metropolis_samples_boltzmann_on_a_harmonic_well():
    class Harmonic:
        name, dim, symmetry = "harmonic", 1, None

        def energy(self, x):
            return float(x[0] ** 2)  # k = 2

        def energy_gradient(self, x):
            return self.energy(x), 2 * np.asarray(x, dtype=float)

        def energies(self, X):
            return X[:, 0] ** 2

        def hvp(self, x, v):
            return 2 * np.asarray(v, dtype=float)

    kT = 0.3
    res = anneal(Harmonic(), np.zeros((3000, 1)), n_steps=200, schedule=lambda k: kT, step_size=0.8,
                 adapt_every=None, record_every=200, rng=1)
    x = res.x[:, 0]
    var = kT / 2.0  # ⟨x²⟩ = kT/k
    se = var * math.sqrt(2 / x.size)
    assert abs(np.mean(x**2) - var) < 4 * se


def test_annealing_finds_the_deeper_well_of_the_tilted_double_well():
    L = TiltedDoubleWell(tilt=0.3)
    x_low = L.stationary_x()[0]  # the left, deeper minimum
    e_low = L.energy(np.array([x_low, 0.0]))
    # all eight walkers start in the upper (right) well
    res = anneal(L, np.tile([1.0, 0.0], (8, 1)), n_steps=5000, schedule="geometric", t_start=1.0,
                 t_end=0.05, step_size=0.3, quench_every=1000, record_every=500, rng=2)
    final = [q for q in res.quenches if q[0] == 5000]
    assert len(final) == 8
    assert sum(abs(q[4] - e_low) < 1e-9 for q in final) >= 6
    assert res.best_energy == pytest.approx(e_low, abs=1e-9)
    assert res.best_x[0] == pytest.approx(x_low, abs=1e-5)
    assert res.converged


def test_annealing_finds_the_lj7_global_minimum():
    L = make_system("lj7")
    rng = np.random.default_rng(3)
    X0 = np.stack([L.random_point(rng) for _ in range(8)])
    res = anneal(L, X0, n_steps=10000, schedule="geometric", t_start=0.3, t_end=0.01, step_size=0.1,
                 container_radius=2.5, quench_every=2500, rng=rng)
    assert res.best_energy == pytest.approx(LJ7_GLOBAL_MINIMUM, abs=1e-6)
    assert L.energy(res.best_x) == pytest.approx(res.best_energy, abs=1e-9)
    assert res.sink.lowest(1)[0].energy == pytest.approx(LJ7_GLOBAL_MINIMUM, abs=1e-6)
    # the adaptation moved the step sizes and kept the acceptance away from 0 and 1
    assert np.all(res.step_sizes[-1] != 0.1)
    assert 0.2 < res.acceptance[1:].mean() < 0.8


class Killed(RuntimeError):
    pass


class KilledAfter:
    def __init__(self, inner, limit):
        self.inner, self.limit, self.calls = inner, limit, 0

    def __getattr__(self, item):
        return getattr(self.inner, item)

    def energies(self, X):
        self.calls += 1
        if self.calls > self.limit:
            raise Killed
        return self.inner.energies(X)


def test_resume_after_a_kill_reproduces_the_uninterrupted_run_bit_for_bit():
    L = TiltedDoubleWell(tilt=0.3)
    X0 = np.array([[1.0, 0.0], [-1.0, 0.5]])
    kw = dict(n_steps=400, schedule="geometric", t_start=1.0, t_end=0.05, adapt_every=30, record_every=25,
              quench_every=50, checkpoint_every=100)
    full = anneal(L, X0, rng=5, sink=InMemoryMinima(L), **kw)
    sink = InMemoryMinima(L)
    with pytest.raises(Killed):
        anneal(KilledAfter(L, 250), X0, rng=5, sink=sink, **kw)
    assert sink.load_checkpoint()["step"] == 200
    again = anneal(L, X0, rng=5, sink=sink, **kw)
    assert again.resumed_from == 200
    assert np.array_equal(again.x, full.x)
    for name in ("steps", "temperatures", "energies", "step_sizes", "acceptance", "best_x"):
        assert np.array_equal(getattr(again, name), getattr(full, name)), name
    assert [q[:3] + q[4:] for q in again.quenches] == [q[:3] + q[4:] for q in full.quenches]
    assert [m.energy for m in sink.minima] == [m.energy for m in full.sink.minima]


def test_bad_input_is_named():
    L = TiltedDoubleWell()
    with pytest.raises(ValueError, match="step_size"):
        anneal(L, np.zeros(2), n_steps=1, t_start=1, t_end=0.1, step_size=0.0)
    with pytest.raises(LandscapeError, match="container_radius"):
        anneal(L, np.zeros(2), n_steps=1, t_start=1, t_end=0.1, container_radius=2.0)
    with pytest.raises(LandscapeError, match="shape"):
        anneal(L, np.zeros(5), n_steps=1, t_start=1, t_end=0.1)
