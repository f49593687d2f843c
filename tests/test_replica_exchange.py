"""Replica exchange: the exchange rule against its formula, Boltzmann mean energies on a harmonic
well at every rung, minima into the sink, and bit-for-bit resume."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from levinthal.explore.replica_exchange import exchange_probability, geometric_ladder, replica_exchange
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import LandscapeError
from levinthal.systems.analytic import DoubleWell
from levinthal.systems.registry import make_system


class Harmonic:
    """E = ½ k |x|² in ``dim`` dimensions, batched; mean energy at kT is dim·kT/2."""

    def __init__(self, dim, k=1.0):
        self.name, self.dim, self.k, self.symmetry = f"harmonic{dim}", dim, k, None

    def energy(self, x):
        return 0.5 * self.k * float(np.dot(x, x))

    def energy_gradient(self, x):
        return self.energy(x), self.k * np.asarray(x, dtype=float)

    def energies(self, X):
        return 0.5 * self.k * (X * X).sum(1)

    def hvp(self, x, v):
        return self.k * np.asarray(v, dtype=float)


def test_geometric_ladder_values():
    assert geometric_ladder(0.5, 4.0, 4) == pytest.approx([0.5, 1.0, 2.0, 4.0], rel=1e-14)
    assert geometric_ladder(1.0, 1.0, 1).tolist() == [1.0]
    with pytest.raises(ValueError):
        geometric_ladder(2.0, 1.0, 3)


def test_exchange_probability_formula():
    # β_i > β_j (i colder): a swap that brings the lower energy to the colder replica always happens
    assert exchange_probability(1.0, 0.5, 2.0, 1.0) == 1.0
    assert exchange_probability(1.0, 0.5, 1.0, 3.0) == pytest.approx(math.exp(0.5 * -2.0), rel=1e-15)
    assert exchange_probability(2.0, 2.0, 1.0, 5.0) == 1.0  # equal temperatures: always


@given(st.floats(0.1, 10), st.floats(0.1, 10), st.floats(-5, 5), st.floats(-5, 5))
def test_exchange_rule_satisfies_detailed_balance(beta_i, beta_j, e_i, e_j):
    # π(E_i at β_i, E_j at β_j) P(swap) = π(swapped) P(swap back): the joint Boltzmann law is invariant
    forward = math.exp(-beta_i * e_i - beta_j * e_j) * exchange_probability(beta_i, beta_j, e_i, e_j)
    backward = math.exp(-beta_i * e_j - beta_j * e_i) * exchange_probability(beta_i, beta_j, e_j, e_i)
    assert forward == pytest.approx(backward, rel=1e-12)
    assert 0 < exchange_probability(beta_i, beta_j, e_i, e_j) <= 1


def test_exchange_acceptance_matches_the_formula_with_frozen_energies():
    """Two configurations with known energies, no moves (moves_per_sweep=0): the pair flips between
    the unfavourable order A (accepted with q = exp((β0 − β1)(E0 − E1)) < 1) and the favourable
    order B (accepted always). Attempts from A are i.i.d. Bernoulli(q), so from ``accepts`` = 2 S
    (± 1) and ``attempts`` = N_A + S we recover q̂ = S / N_A with SE √(q(1 − q)/N_A)."""
    L = Harmonic(1)
    X0 = np.array([[0.0], [1.0]])  # E = 0 at the cold rung, 0.5 at the hot one: order A
    T = np.array([0.5, 1.0])
    q = exchange_probability(1 / T[0], 1 / T[1], 0.0, 0.5)
    assert q == pytest.approx(math.exp(-0.5))
    res = replica_exchange(L, X0, temperatures=T, n_sweeps=20000, moves_per_sweep=0, rng=0, record_every=1000)
    n_att, n_acc = int(res.exchange_attempts[0]), int(res.exchange_accepts[0])
    assert n_att == 10000  # the only pair (0, 1) is an even pair: attempted in even sweeps
    s = math.ceil(n_acc / 2)  # A→B successes (n_acc odd: the run ended in order B)
    n_a = n_att - (n_acc - s)
    q_hat = s / n_a
    assert abs(q_hat - q) < 4 * math.sqrt(q * (1 - q) / n_a), (q_hat, q)
    assert res.exchange_rates[0] == pytest.approx(n_acc / n_att)
    # long-run acceptance of the two-state chain: 2q / (1 + q)
    assert abs(res.exchange_rates[0] - 2 * q / (1 + q)) < 0.02
    # energies never change, only their places
    assert sorted(res.energies[-1].tolist()) == [0.0, 0.5]
    assert set(map(tuple, res.labels.tolist())) <= {(0, 1), (1, 0)}


def test_each_rung_samples_the_harmonic_mean_energy_d_kt_over_2():
    d = 3
    L = Harmonic(d)
    T = geometric_ladder(0.2, 1.6, 4)
    res = replica_exchange(L, np.zeros(d), temperatures=T, n_sweeps=24000, step_size=0.35, adapt_sweeps=2000,
                           rng=1, record_every=1)
    E = res.energies[4001:]  # after the adaptation (fixed steps from sweep 2000) and a burn-in
    n_batches = 40
    batches = E[: E.shape[0] // n_batches * n_batches].reshape(n_batches, -1, len(T)).mean(axis=1)
    mean, se = batches.mean(axis=0), batches.std(axis=0, ddof=1) / math.sqrt(n_batches)
    exact = d * T / 2
    iid_se = math.sqrt(d / 2) * T / math.sqrt(E.shape[0])  # SE if samples were independent: Var(E) = d kT²/2
    assert np.all(np.abs(mean - exact) < 4 * se), (mean, exact, se)
    assert np.all(se > 0.8 * iid_se)  # correlated samples cannot beat independent ones
    assert np.all(se < 0.02 * exact)  # and the test resolves 2 %
    assert np.all(res.exchange_rates > 0.2) and np.all(res.exchange_attempts > 11000)
    assert np.all(res.acceptance[-1] > 0.1)
    assert res.energies.shape == (24001, 4) and res.labels.shape == (24001, 4)
    # configurations travel along the ladder: every rung has seen every starting replica
    assert all(set(res.labels[:, i]) == {0, 1, 2, 3} for i in range(4))


def test_quenches_store_both_double_well_minima():
    L = DoubleWell()
    res = replica_exchange(L, np.array([1.0, 0.0]), temperatures=geometric_ladder(0.1, 1.0, 4), n_sweeps=400,
                           step_size=0.3, quench_every=100, rng=2)
    xs = sorted(float(m.x[0]) for m in res.sink.minima)
    assert xs == pytest.approx([-1.0, 1.0], abs=1e-5)
    assert res.best_energy == pytest.approx(0.0, abs=1e-10)
    assert len(res.quenches) == 4 * 4


def test_replica_exchange_finds_the_lj7_global_minimum():
    L = make_system("lj7")
    rng = np.random.default_rng(3)
    X0 = np.stack([L.random_point(rng) for _ in range(6)])
    res = replica_exchange(L, X0, t_min=0.05, t_max=0.35, n_sweeps=4000, step_size=0.08, adapt_sweeps=500,
                           container_radius=2.5, quench_every=500, record_every=100, rng=rng)
    assert res.best_energy == pytest.approx(-16.505384, abs=1e-6)
    assert res.sink.lowest(1)[0].energy == pytest.approx(-16.505384, abs=1e-6)
    assert res.counts.energy == 6 * (4000 + 1)  # one batched call per step counts each replica


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
    L = DoubleWell()
    kw = dict(temperatures=geometric_ladder(0.1, 1.0, 3), n_sweeps=300, moves_per_sweep=2, step_size=0.3,
              adapt_sweeps=100, adapt_every=20, record_every=7, quench_every=50, checkpoint_every=40)
    full = replica_exchange(L, np.array([1.0, 0.0]), rng=4, sink=InMemoryMinima(L), **kw)
    sink = InMemoryMinima(L)
    with pytest.raises(Killed):
        replica_exchange(KilledAfter(L, 500), np.array([1.0, 0.0]), rng=4, sink=sink, **kw)
    assert sink.load_checkpoint()["sweep"] == 240
    again = replica_exchange(L, np.array([1.0, 0.0]), rng=4, sink=sink, **kw)
    assert again.resumed_from == 240
    for name in ("x", "sweeps", "energies", "labels", "acceptance", "exchange_attempts", "exchange_accepts",
                 "step_sizes", "best_x"):
        assert np.array_equal(getattr(again, name), getattr(full, name)), name
    assert [q[:3] + q[4:] for q in again.quenches] == [q[:3] + q[4:] for q in full.quenches]


def test_bad_input_is_named():
    L = DoubleWell()
    with pytest.raises(ValueError, match="increasing"):
        replica_exchange(L, np.zeros(2), temperatures=[1.0, 0.5], n_sweeps=1)
    with pytest.raises(ValueError, match="n_replicas"):
        replica_exchange(L, np.zeros(2), t_min=0.1, t_max=1.0, n_sweeps=1)
    with pytest.raises(LandscapeError, match="starting points"):
        replica_exchange(L, np.zeros((2, 2)), temperatures=[0.1, 0.2, 0.3], n_sweeps=1)
