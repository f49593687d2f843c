"""Any ASE Atoms + calculator becomes a landscape; forces agree with independent sums."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron
from ase.constraints import FixAtoms

from levinthal.landscape import LandscapeError, checked
from levinthal.landscape.finite_difference import gradient_fd
from levinthal.systems.ase import AseLandscape


def lj_reference(pos: np.ndarray) -> float:
    """Plain double loop, reduced units: an independent Lennard-Jones sum."""
    e = 0.0
    for i in range(len(pos)):
        for j in range(i + 1, len(pos)):
            r = np.linalg.norm(pos[i] - pos[j])
            e += 4 * (r**-12 - r**-6)
    return e


def test_ase_lennard_jones_matches_an_independent_pair_sum(rng):
    pos = rng.uniform(-1.2, 1.2, size=(7, 3))
    atoms = Atoms("Ar7", positions=pos)
    land = AseLandscape(atoms, LennardJones(sigma=1.0, epsilon=1.0, rc=100.0))
    x = land.x0()
    assert land.energy(x) == pytest.approx(lj_reference(pos), rel=1e-10)
    _, g = land.energy_gradient(x)
    np.testing.assert_allclose(g, gradient_fd(land, x, h=1e-6), rtol=1e-5, atol=1e-5)


def test_ase_emt_hvp_is_a_consistent_finite_difference(rng):
    atoms = Icosahedron("Cu", noshells=2)
    land = checked(AseLandscape(atoms, EMT()), caller="test")
    x = land.x0() + 0.02 * rng.standard_normal(land.dim)
    v = rng.standard_normal(land.dim)
    H = land.hessian(x)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(land.hvp(x, v), H @ v, rtol=1e-3, atol=1e-3)
    assert land.counts.hessian == 1


def test_fixed_atoms_are_removed_from_x_and_isolated_clusters_carry_six_zero_modes():
    atoms = Icosahedron("Cu", noshells=2)
    fixed = atoms.copy()
    fixed.set_constraint(FixAtoms(indices=[0, 1]))
    assert AseLandscape(fixed, EMT()).dim == 3 * (len(atoms) - 2)
    assert AseLandscape(fixed, EMT()).symmetry is None


def test_missing_calculator_is_a_clear_error():
    with pytest.raises(LandscapeError, match="no calculator"):
        AseLandscape(Atoms("Ar2", positions=[[0, 0, 0], [1, 0, 0]]))
