"""Point-group orders of known clusters (Lennard-Jones minima with textbook symmetries), and
invariance of the order under rotation, translation and relabelling of the atoms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.minimize import minimize
from levinthal.symmetry.clusters import random_rotation
from levinthal.symmetry.point_group import point_group_operations, point_group_order
from levinthal.systems import make_system


def _icosahedron13():
    phi = (1 + 5**0.5) / 2
    v = [(0.0, 0.0, 0.0)]
    for a in (-1, 1):
        for b in (-1, 1):
            v += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    P = np.array(v, float)
    return P * 1.1 / np.linalg.norm(P[1])


def _bipyramid7():
    ang = np.arange(5) * 2 * np.pi / 5
    return np.array([(np.cos(a), np.sin(a), 0) for a in ang] + [(0, 0, 0.8), (0, 0, -0.8)]) * 1.1


STRUCTURES = {
    # name: (system, starting geometry, known minimum energy, point group, order)
    "LJ4 tetrahedron (Td)": ("lj4", np.array([(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]) * 0.4,
                             -6.0, 24),
    "LJ6 octahedron (Oh)": ("lj6", np.vstack([np.eye(3), -np.eye(3)]) * 0.8, -12.712062, 48),
    "LJ7 pentagonal bipyramid (D5h)": ("lj7", _bipyramid7(), -16.505384, 20),
    "LJ13 icosahedron (Ih)": ("lj13", _icosahedron13(), -44.326801, 120),
}


@pytest.fixture(scope="module")
def minima():
    out = {}
    for name, (system, start, energy, order) in STRUCTURES.items():
        res = minimize(make_system(system), np.asarray(start, float).ravel(), rms_tol=1e-8)
        assert res.energy == pytest.approx(energy, abs=1e-6)
        out[name] = (res.x, order)
    return out


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_known_point_group_orders(minima, name):
    x, order = minima[name]
    assert point_group_order(x) == order


def test_lj38_minima_from_the_benchmark_data():
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
    assert point_group_order(np.load(data / "lj38_gm_oh.npy")) == 48  # truncated octahedron, Oh
    assert point_group_order(np.load(data / "lj38_icosahedral.npy")) == 10  # C5v


def test_operations_form_a_group(minima):
    x, _ = minima["LJ7 pentagonal bipyramid (D5h)"]
    ops = point_group_operations(x)
    assert any(np.allclose(R, np.eye(3)) for R in ops)
    for R in ops:
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-10)
        for S in ops:  # closure
            assert any(np.allclose(R @ S, T, atol=1e-6) for T in ops)
    assert sum(np.linalg.det(R) < 0 for R in ops) == 10  # σh, 2 S5, 2 S5³, 5 σv


def test_no_symmetry_linear_and_species():
    rng = np.random.default_rng(0)
    assert point_group_order(rng.standard_normal(30)) == 1
    assert point_group_order(np.array([0, 0, 0, 0, 0, 1.0, 0, 0, 2.0])) is None
    # A square of two species alternating (D2h, order 8) vs one species (D4h, order 16).
    square = np.array([(1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, 0)], float).ravel()
    assert point_group_order(square) == 16
    assert point_group_order(square, species=["A", "B", "A", "B"]) == 8


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_order_is_invariant_under_rotation_translation_permutation(minima, seed):
    rng = np.random.default_rng(seed)
    name = list(STRUCTURES)[seed % len(STRUCTURES)]
    x, order = minima[name]
    P = x.reshape(-1, 3) @ random_rotation(rng).T + rng.normal(size=3)
    P = P[rng.permutation(len(P))]
    assert point_group_order(P.ravel()) == order


def test_cluster_symmetry_reports_the_order(minima):
    x, order = minima["LJ13 icosahedron (Ih)"]
    assert make_system("lj13").symmetry.point_group_order(x) == order
