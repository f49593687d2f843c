"""Symmetrisation moves (core point group + orbit completion) and their use in GA and BH."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from levinthal.explore.basin_hopping import basin_hopping
from levinthal.explore.population import genetic_algorithm
from levinthal.explore.steps import ClusterStep
from levinthal.explore.symmetrisation import OrbitCompletion, SymmetricCore, SymmetrisingStep
from levinthal.minimize import minimize
from levinthal.symmetry.point_group import point_group_operations
from levinthal.systems.clusters import LennardJonesCluster, MorseCluster

LJ38_GLOBAL_MINIMUM = -173.928427


def truncated_octahedron_38() -> np.ndarray:
    """The LJ38 global minimum: fcc sites i + j + k odd around an octahedral hole (6 + 8 + 24)."""
    sites = [p for p in itertools.product(range(-2, 3), repeat=3)
             if sum(p) % 2 == 1 and sorted(map(abs, p)) in ([0, 0, 1], [1, 1, 1], [0, 1, 2])]
    assert len(sites) == 38
    x = np.array(sites, dtype=float) * (1.1 / np.sqrt(2.0))
    return minimize(LennardJonesCluster(38), x.reshape(-1)).x


@pytest.fixture(scope="module")
def lj38():
    return LennardJonesCluster(38)


@pytest.fixture(scope="module")
def to38(lj38):
    x = truncated_octahedron_38()
    assert lj38.energy(x) == pytest.approx(LJ38_GLOBAL_MINIMUM, abs=1e-6)
    return x


def test_pair_potentials_match_the_cluster_energy():
    lj, morse = LennardJonesCluster(2), MorseCluster(2, rho=6.0)
    for L, r_e in ((lj, 2 ** (1 / 6)), (morse, 1.0)):
        assert L.pair_potential(r_e) == pytest.approx(-1.0, abs=1e-12)
        for r in (0.9, 1.3, 2.0):
            dimer = np.array([0, 0, 0, r, 0, 0.0])
            assert L.pair_potential(np.array([r]))[0] == pytest.approx(L.energy(dimer), rel=1e-12)


def test_loose_point_group_counts_each_operation_once():
    """A distorted octahedron keeps O_h (48) at a loose tolerance, each operation counted once."""
    octa = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
    noisy = octa + np.random.default_rng(0).normal(scale=0.03, size=octa.shape)
    assert len(point_group_operations(octa.reshape(-1))) == 48
    assert len(point_group_operations(noisy.reshape(-1), tol=0.2)) == 48
    assert len(point_group_operations(noisy.reshape(-1), tol=1e-3)) == 1


def test_truncated_octahedron_has_an_octahedral_core(lj38, to38):
    cores = OrbitCompletion(lj38).cores(to38)
    sizes = {len(c.atoms): c.order for c in cores}
    assert sizes[6] == 48  # the central octahedron
    assert all(c.order >= 4 for c in cores)


def test_completing_a_symmetric_structure_reproduces_it(lj38, to38):
    oc = OrbitCompletion(lj38, noise=0.0)
    core = next(c for c in oc.cores(to38) if len(c.atoms) == 6)
    orbits = sorted(len(o) for o in oc.orbits(to38, core))
    assert orbits == [8, 24]  # the (111) face centres and the 24 other surface atoms
    y = oc.complete(to38, core, np.random.default_rng(0))
    assert lj38.energy(y) == pytest.approx(LJ38_GLOBAL_MINIMUM, abs=1e-6)


def test_orbit_completion_repairs_a_misplaced_atom(lj38, to38):
    """Move one (111)-face atom far onto the other side: the octahedral core's orbits put it back."""
    pos = to38.reshape(-1, 3).copy()
    r = np.linalg.norm(pos - pos.mean(0), axis=1)
    face = int(np.argsort(r)[6])  # an atom of the 8-orbit (the next shell after the core)
    pos[face] = -pos[face] * 1.6  # far outside, beyond the opposite face
    defect = pos.reshape(-1)
    assert lj38.energy(defect) > LJ38_GLOBAL_MINIMUM + 2.0
    oc = OrbitCompletion(lj38, noise=0.0)
    core = next(c for c in oc.cores(defect) if len(c.atoms) == 6)
    assert core.order == 48
    y = oc.complete(defect, core, np.random.default_rng(0))
    assert lj38.energy(y) == pytest.approx(LJ38_GLOBAL_MINIMUM, abs=1e-3)
    assert minimize(lj38, y).energy == pytest.approx(LJ38_GLOBAL_MINIMUM, abs=1e-6)


def test_symmetrising_step_is_seeded_and_falls_back(lj38, to38):
    step = SymmetrisingStep(OrbitCompletion(lj38), probability=1.0)
    a = step(to38, 0.4, np.random.default_rng(3))
    b = SymmetrisingStep(OrbitCompletion(lj38), probability=1.0)(to38, 0.4, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert step.attempts == step.applied == 1
    # no core reaches order 1000: the base step is taken instead, drawn from the same generator
    never = SymmetrisingStep(OrbitCompletion(lj38, min_order=1000), probability=1.0)
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    out = never(to38, 0.4, rng1)
    rng2.random()  # the probability draw
    np.testing.assert_array_equal(out, ClusterStep(38)(to38, 0.4, rng2))
    assert never.attempts == 1 and never.applied == 0


def test_bad_input_is_named(lj38, to38):
    class NoPairs:
        n_atoms, dim, name = 4, 12, "toy"

    with pytest.raises(ValueError, match="pair_potential"):
        OrbitCompletion(NoPairs())
    with pytest.raises(ValueError, match="min_core"):
        OrbitCompletion(lj38, min_core=30, max_core=20)
    with pytest.raises(ValueError, match="choose"):
        OrbitCompletion(lj38, choose="best")
    oc = OrbitCompletion(lj38)
    with pytest.raises(ValueError, match="shape"):
        oc(to38[:-3], np.random.default_rng(0))
    bad = to38.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        oc(bad, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        oc(to38, 0)
    with pytest.raises(ValueError, match="probability"):
        SymmetrisingStep(oc, probability=1.5)
    with pytest.raises(ValueError, match="symmetrise"):
        genetic_algorithm(lj38, symmetrise_rate=0.3, n_generations=1)


def test_ga_with_symmetrisation_finds_lj38_quickly(lj38):
    """Seed 2 of the benchmark: found in 25 quenches (the GA without symmetrisation needs far
    more on most seeds; the benchmark has the statistics)."""
    r = genetic_algorithm(lj38, population_size=20, n_offspring=16, mutation_rate=0.1,
                          symmetrise=OrbitCompletion(lj38), symmetrise_rate=0.3, n_generations=40,
                          target_energy=LJ38_GLOBAL_MINIMUM, target_tol=1e-5, seed=2)
    assert r.converged and r.energy == pytest.approx(LJ38_GLOBAL_MINIMUM, abs=1e-5)
    assert r.first_encounter <= 400


def test_basin_hopping_takes_symmetrising_steps(lj38):
    step = SymmetrisingStep(OrbitCompletion(lj38), probability=0.5)
    r = basin_hopping(lj38, n_steps=30, step=step, seed=0)
    assert r.steps == 30 and np.isfinite(r.energy)
    assert step.attempts > 0 and step.applied > 0


def test_twinning_an_icosahedron_across_a_five_fold_plane_gives_the_decahedron():
    """Reflecting one half of the LJ13 icosahedron across the plane perpendicular to a five-fold
    axis eclipses the two pentagons: the D5h decahedron (order 20), which stays D5h when quenched."""
    L = LennardJonesCluster(13)
    x = basin_hopping(L, n_steps=50, seed=0, target_energy=-44.326801, target_tol=1e-5).x
    ops = np.array(point_group_operations(x, tol=1e-3))
    assert len(ops) == 120
    core = SymmetricCore(atoms=np.arange(13), operations=ops, centre=x.reshape(-1, 3).mean(axis=0))
    y = OrbitCompletion(L, min_core=3, max_core=12).twin_across(x, core, np.random.default_rng(0))
    assert len(point_group_operations(y, tol=1e-2)) == 20
    q = minimize(L, y)
    assert len(point_group_operations(q.x, tol=1e-3)) == 20
    # a stationary point (the symmetric quench cannot leave D5h; the dense Hessian shows it is a
    # saddle, not a minimum, so nothing here claims an energy)
    assert np.linalg.norm(L.energy_gradient(q.x)[1]) < 1e-4
    assert np.sum(np.linalg.eigvalsh(L.hessian(q.x)) < -1e-3) >= 1


def test_ga_with_symmetrisation_resumes_bit_for_bit(lj38, tmp_path):
    """The move keeps no state that matters (its core cache is a pure function of the structure),
    so a killed run resumed with a fresh OrbitCompletion ends exactly where an unbroken one does."""
    from levinthal.explore.sink import InMemoryMinima

    class Killed(InMemoryMinima):
        left = 30

        def add_minimum(self, x, energy, *, source=None):
            if self.left <= 0:
                raise KeyboardInterrupt("killed")
            self.left -= 1
            return super().add_minimum(x, energy, source=source)

    kw = dict(population_size=6, n_offspring=5, n_generations=10, seed=4, checkpoint_every=1,
              symmetrise_rate=0.5)
    full = genetic_algorithm(lj38, sink=InMemoryMinima(lj38), symmetrise=OrbitCompletion(lj38), **kw)
    path = tmp_path / "ga.pkl"
    with pytest.raises(KeyboardInterrupt):
        genetic_algorithm(lj38, sink=Killed(lj38, checkpoint_path=path), symmetrise=OrbitCompletion(lj38),
                          **kw)
    resumed = genetic_algorithm(lj38, sink=InMemoryMinima(lj38, checkpoint_path=path),
                                symmetrise=OrbitCompletion(lj38), **kw)
    assert resumed.resumed_from is not None and 0 < resumed.resumed_from < 10
    np.testing.assert_array_equal(resumed.population, full.population)
    assert resumed.history == full.history and resumed.quenches == full.quenches
