"""Genetic algorithm with Deaven–Ho cut-and-splice: crossover invariants, global minima, resume."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.explore.population import (
    cut_and_splice,
    genetic_algorithm,
    one_point_crossover,
    uniform_crossover,
)
from levinthal.explore.sink import InMemoryMinima
from levinthal.systems.registry import make_system

LJ13_GM = -44.326801
LJ19_GM = -72.659782


def _distances(p: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 20))
def test_cut_and_splice_keeps_atom_count_and_takes_rigid_pieces_of_both_parents(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 3)) + 5.0  # off-centre: the cut is through each centre of mass
    b = rng.normal(size=(n, 3)) - 3.0
    child, from_a = cut_and_splice(a.reshape(-1), b.reshape(-1), np.random.default_rng(seed + 1),
                                   return_origin=True)
    c = child.reshape(-1, 3)
    assert c.shape == (n, 3)
    assert 1 <= from_a.sum() <= n - 1  # atoms from both parents
    # each part is a rigidly moved subset of its parent: its distances appear among the parent's
    for part, parent in ((c[from_a], a), (c[~from_a], b)):
        d_parent = _distances(parent)
        d_part = _distances(part)
        for i in range(len(part)):
            for j in range(i + 1, len(part)):
                assert np.isclose(d_parent, d_part[i, j], atol=1e-9).any()


def test_cut_and_splice_of_two_centred_parents_keeps_atoms_at_their_distances_from_the_centre():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(13, 3))
    a -= a.mean(0)
    b = 2.0 * rng.normal(size=(13, 3))
    b -= b.mean(0)
    child, from_a = cut_and_splice(a.reshape(-1), b.reshape(-1), rng, return_origin=True)
    c = child.reshape(13, 3)
    ra, rb = np.sort(np.linalg.norm(a, axis=1)), np.sort(np.linalg.norm(b, axis=1))
    for r in np.linalg.norm(c[from_a], axis=1):
        assert np.isclose(ra, r, atol=1e-12).any()
    for r in np.linalg.norm(c[~from_a], axis=1):
        assert np.isclose(rb, r, atol=1e-12).any()


def test_flat_crossovers_take_every_coordinate_from_a_parent():
    rng = np.random.default_rng(0)
    a, b = np.zeros(50), np.ones(50)
    c1 = one_point_crossover(a, b, rng)
    cut = int(np.argmax(c1 == 1.0))
    assert 1 <= cut < 50 and np.all(c1[:cut] == 0) and np.all(c1[cut:] == 1)
    c2 = uniform_crossover(a, b, rng)
    assert set(np.unique(c2)) == {0.0, 1.0}
    with pytest.raises(ValueError, match="same length"):
        one_point_crossover(a, np.ones(3), rng)
    with pytest.raises(ValueError, match="same size"):
        cut_and_splice(np.zeros(9), np.zeros(12), rng)


def test_genetic_algorithm_finds_lj13_and_lj19_global_minima():
    for name, gm in (("lj13", LJ13_GM), ("lj19", LJ19_GM)):
        L = make_system(name)
        r = genetic_algorithm(L, population_size=8, n_offspring=6, n_generations=200, seed=0,
                              target_energy=gm, target_tol=1e-5)
        assert r.converged, r.message
        assert r.energy == pytest.approx(gm, abs=1e-5)
        assert r.population_energies[0] == pytest.approx(gm, abs=1e-5)
        assert np.all(np.diff(r.population_energies) >= 0)


def test_population_has_no_duplicate_structures_and_every_child_is_stored():
    L = make_system("lj7")
    sink = InMemoryMinima(L)
    r = genetic_algorithm(L, population_size=4, n_offspring=6, n_generations=10, seed=2, sink=sink)
    E = r.population_energies
    sym = L.symmetry
    for i in range(len(E)):
        for j in range(i + 1, len(E)):
            assert not (abs(E[i] - E[j]) < 1e-6 and sym.same(r.population[i], r.population[j]))
    assert sum(m.hits for m in sink.minima) == r.quenches  # LJ7 quenches all converge
    assert r.quenches == 4 + 10 * 6


def test_genetic_algorithm_on_a_flat_landscape_uses_flat_crossover():
    L = make_system("muller-brown")
    rng = np.random.default_rng(0)
    # start in the two higher minima of Müller–Brown only; the global one (−146.6995) must be found
    init = np.array([[0.62, 0.03], [-0.05, 0.47], [0.5, 0.1]]) + 0.02 * rng.normal(size=(3, 2))
    r = genetic_algorithm(L, population_size=3, n_offspring=4, n_generations=15, seed=0, initial=init,
                          mutation_rate=0.5)
    assert r.quenches == 3 + 15 * 4
    assert r.energy == pytest.approx(-146.69951720995402, abs=1e-6)


def test_genetic_algorithm_resumes_bit_for_bit_after_a_kill(tmp_path):
    L = make_system("lj13")

    class Killed(InMemoryMinima):
        left = 40

        def add_minimum(self, x, energy, *, source=None):
            if self.left <= 0:
                raise KeyboardInterrupt("killed")
            self.left -= 1
            return super().add_minimum(x, energy, source=source)

    kw = dict(population_size=6, n_offspring=5, n_generations=12, seed=5, checkpoint_every=2)
    full_sink = InMemoryMinima(L)
    full = genetic_algorithm(L, sink=full_sink, **kw)
    path = tmp_path / "ga.pkl"
    with pytest.raises(KeyboardInterrupt):
        genetic_algorithm(L, sink=Killed(L, checkpoint_path=path), **kw)
    sink = InMemoryMinima(L, checkpoint_path=path)
    resumed = genetic_algorithm(L, sink=sink, **kw)
    assert resumed.resumed_from is not None and 0 < resumed.resumed_from < 12
    np.testing.assert_array_equal(resumed.population, full.population)
    np.testing.assert_array_equal(resumed.population_energies, full.population_energies)
    assert resumed.history == full.history
    assert (resumed.quenches, resumed.counts, resumed.first_encounter) == (full.quenches, full.counts,
                                                                           full.first_encounter)
    assert [(m.energy, m.hits) for m in sink.minima] == [(m.energy, m.hits) for m in full_sink.minima]


def test_a_stagnant_population_is_reseeded_with_fresh_quenched_points():
    L = make_system("lj7")
    sink = InMemoryMinima(L)
    r = genetic_algorithm(L, population_size=4, n_offspring=3, n_generations=12, seed=0, sink=sink,
                          restart_after=2)
    # LJ7 reaches its global minimum (−16.505384) at once, so the lowest never improves afterwards
    assert r.energy == pytest.approx(-16.505384, abs=1e-6)
    assert r.restarts >= 3
    assert r.quenches == 4 + 12 * 3 + 3 * r.restarts  # each restart quenches population_size − 1 points
    assert sum(m.hits for m in sink.minima) == r.quenches
