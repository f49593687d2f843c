"""Cluster symmetry: rigid-body zero modes, permutation-inversion alignment, identity of minima.

Reference values are independent of the code under test: SciPy's rotations and its own
Kabsch fit (``Rotation.align_vectors``), brute force over all permutations, a Lennard-Jones
energy written here in NumPy, finite differences, and the literature LJ13 global minimum
energy (−44.326801, Wales & Doye 1997).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from levinthal.landscape.errors import ShapeError
from levinthal.symmetry import Alignment, ClusterSymmetry, align, same
from levinthal.symmetry.clusters import radial_lower_bound

# --- independent helpers -------------------------------------------------------------------


def compact_cluster(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random points in a ball of radius ~ n^(1/3) with no two closer than 0.7, shape (n, 3)."""
    radius = 0.7 * n ** (1 / 3)
    pts: list[np.ndarray] = []
    while len(pts) < n:
        p = rng.uniform(-radius, radius, size=3)
        if np.linalg.norm(p) <= radius and all(np.linalg.norm(p - q) > 0.7 for q in pts):
            pts.append(p)
    return np.array(pts)


def scrambled_copy(pos: np.ndarray, rng: np.random.Generator, invert: bool = True) -> np.ndarray:
    """pos rotated (SciPy's uniform random rotation), inverted, translated and permuted."""
    rot = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
    moved = pos @ rot.T * (-1.0 if invert else 1.0) + rng.normal(scale=3.0, size=3)
    return moved[rng.permutation(len(pos))]


def icosahedron() -> np.ndarray:
    """Centred 13-atom icosahedron (centre + 12 vertices), nearest-neighbour distance ~1.05."""
    phi = (1 + 5**0.5) / 2
    verts = []
    for s1, s2 in itertools.product((1.0, -1.0), repeat=2):
        verts += [(0.0, s1, s2 * phi), (s1, s2 * phi, 0.0), (s2 * phi, 0.0, s1)]
    shell = np.array(verts) / np.linalg.norm(verts[0])
    return np.vstack([np.zeros(3), shell])


def cuboctahedron() -> np.ndarray:
    """Centred 13-atom cuboctahedron (centre + 12 vertices at unit distance)."""
    verts = []
    for i, j in itertools.combinations(range(3), 2):
        for s1, s2 in itertools.product((1.0, -1.0), repeat=2):
            v = np.zeros(3)
            v[i], v[j] = s1, s2
            verts.append(v / np.sqrt(2))
    return np.vstack([np.zeros(3), np.array(verts)])


def lj_energy_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Lennard-Jones energy Σ 4(r⁻¹² − r⁻⁶) and its gradient, flat coordinates, reduced units."""
    pos = x.reshape(-1, 3)
    diff = pos[:, None, :] - pos[None, :, :]
    r2 = np.einsum("ijk,ijk->ij", diff, diff)
    np.fill_diagonal(r2, 1.0)
    inv6 = r2**-3
    pair = 4.0 * (inv6 * inv6 - inv6)
    np.fill_diagonal(pair, 0.0)
    dedr_over_r = (-48.0 * inv6 * inv6 + 24.0 * inv6) / r2
    np.fill_diagonal(dedr_over_r, 0.0)
    grad = np.einsum("ij,ijk->ik", dedr_over_r, diff)
    return 0.5 * float(pair.sum()), grad.reshape(-1)


def quench_lj(x0: np.ndarray) -> np.ndarray:
    res = minimize(lj_energy_gradient, x0, jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 10000})
    return res.x


def brute_force_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Exact min over all permutations and inversion of the Kabsch-aligned distance (SciPy)."""
    a0 = a - a.mean(axis=0)
    best = np.inf
    for sign in (1.0, -1.0):
        b0 = sign * (b - b.mean(axis=0))
        for p in itertools.permutations(range(len(a))):
            bp = b0[list(p)]
            rot = Rotation.align_vectors(a0, bp)[0].as_matrix()
            best = min(best, float(np.linalg.norm(a0 - bp @ rot.T)))
    return best


# --- alignment -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_atoms", [13, 38])
def test_align_recovers_rotated_translated_permuted_inverted_copy(n_atoms):
    rng = np.random.default_rng(n_atoms)
    a = compact_cluster(n_atoms, rng)
    b = scrambled_copy(a, rng, invert=True)
    result = align(a.ravel(), b.ravel(), rng=np.random.default_rng(1))
    assert isinstance(result, Alignment)
    assert result.distance < 1e-8
    assert result.inverted
    assert same(a.ravel(), b.ravel())
    assert ClusterSymmetry(n_atoms).same(a.ravel(), b.ravel(), energy_a=-1.0, energy_b=-1.0)


@pytest.mark.parametrize("invert", [False, True])
def test_alignment_transform_reproduces_b_aligned(invert):
    rng = np.random.default_rng(7)
    a = compact_cluster(13, rng)
    b = scrambled_copy(a, rng, invert=invert) + rng.normal(scale=0.05, size=(13, 3))
    result = align(a.ravel(), b.ravel())
    rot = result.rotation
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.isclose(abs(np.linalg.det(rot)), 1.0)
    assert result.inverted == (np.linalg.det(rot) < 0) == invert
    assert sorted(result.permutation) == list(range(13))
    by_hand = b[result.permutation] @ rot.T + result.translation
    np.testing.assert_allclose(result.b_aligned, by_hand.ravel(), atol=1e-12)
    np.testing.assert_allclose(result.apply(b.ravel()), by_hand.ravel(), atol=1e-12)
    assert result.distance == pytest.approx(np.linalg.norm(a.ravel() - by_hand.ravel()), abs=1e-12)
    # noisy copy: the distance is that of the noise, at most its norm
    assert 0.0 < result.distance < 0.05 * np.sqrt(39) * 2


def test_align_without_permutations_matches_scipy_kabsch():
    rng = np.random.default_rng(3)
    a, b = compact_cluster(10, rng), compact_cluster(10, rng)
    a0, b0 = a - a.mean(axis=0), b - b.mean(axis=0)
    expected = np.linalg.norm(a0 - b0 @ Rotation.align_vectors(a0, b0)[0].as_matrix().T)
    result = align(a.ravel(), b.ravel(), permutations=False, inversion=False)
    assert result.distance == pytest.approx(expected, rel=1e-10)
    np.testing.assert_array_equal(result.permutation, np.arange(10))


@pytest.mark.parametrize("seed", range(6))
def test_align_finds_brute_force_minimum_for_small_clusters(seed):
    rng = np.random.default_rng(100 + seed)
    n = 5
    a, b = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    result = align(a.ravel(), b.ravel(), n_trials=100, rng=np.random.default_rng(seed))
    assert result.distance == pytest.approx(brute_force_distance(a, b), abs=1e-9)


def test_icosahedron_with_degenerate_inertia_is_recognised_after_scrambling():
    rng = np.random.default_rng(11)
    ico = icosahedron()
    for trial in range(5):
        b = scrambled_copy(ico, rng, invert=bool(trial % 2))
        assert align(ico.ravel(), b.ravel(), rng=np.random.default_rng(trial)).distance < 1e-8


def test_icosahedron_and_cuboctahedron_are_not_same():
    ico, cub = icosahedron(), cuboctahedron()
    result = align(ico.ravel(), cub.ravel())
    assert result.distance > 0.1
    assert not same(ico.ravel(), cub.ravel())


def test_two_random_configurations_are_not_same():
    rng = np.random.default_rng(5)
    a, b = compact_cluster(13, rng), compact_cluster(13, rng)
    assert not same(a.ravel(), b.ravel())


def test_equal_energies_with_different_geometry_are_not_same():
    ico, cub = icosahedron(), cuboctahedron()
    assert not same(ico.ravel(), cub.ravel(), energy_a=-44.0, energy_b=-44.0)


def test_same_geometry_with_different_energies_is_not_same():
    ico = icosahedron().ravel()
    assert same(ico, ico)
    assert not same(ico, ico, energy_a=-44.3, energy_b=-44.0)


def test_align_rejects_mismatched_or_bad_input():
    with pytest.raises(ShapeError, match="3N"):
        align(np.zeros(7), np.zeros(7))
    with pytest.raises(ShapeError, match="expected 9"):
        align(np.zeros(9), np.zeros(12))
    with pytest.raises(ShapeError, match="NaN"):
        align(np.full(9, np.nan), np.zeros(9))
    with pytest.raises(ValueError, match="both"):
        same(np.zeros(9), np.zeros(9), energy_a=1.0)


def test_species_restrict_permutations_to_equal_labels():
    rng = np.random.default_rng(9)
    a = compact_cluster(6, rng)
    species = np.array([0, 0, 0, 1, 1, 1])
    swap = np.array([3, 1, 2, 0, 4, 5])  # exchanges an A and a B atom
    b = a[swap]
    assert align(a.ravel(), b.ravel()).distance < 1e-10  # all identical: exchange is allowed
    labelled = ClusterSymmetry(6, species=species)
    assert labelled.distance(a.ravel(), b.ravel()) > 0.1  # different species: it is not


# --- zero modes ----------------------------------------------------------------------------


def test_zero_modes_are_six_orthonormal_rigid_motions_for_a_generic_cluster():
    rng = np.random.default_rng(0)
    x = compact_cluster(13, rng).ravel()
    z = ClusterSymmetry(13).zero_modes(x)
    assert z.shape == (6, 39)
    np.testing.assert_allclose(z @ z.T, np.eye(6), atol=1e-12)
    # an independent rigid motion (SciPy rotation + translation) lies in their span
    pos = x.reshape(-1, 3)
    centroid = pos.mean(axis=0)
    eps = 1e-4  # central difference of a finite rigid motion: tangent up to O(eps²)

    def moved(t):
        rot = Rotation.from_rotvec(t * np.array([0.3, -0.5, 0.8])).as_matrix()
        return ((pos - centroid) @ rot.T + centroid + t * np.array([1.0, 2.0, -1.0])).ravel()

    motion = (moved(eps) - moved(-eps)) / (2 * eps)
    residual = motion - z.T @ (z @ motion)
    assert np.linalg.norm(residual) < 1e-7 * np.linalg.norm(motion)


def test_zero_modes_of_a_linear_chain_are_five():
    x = (np.arange(5)[:, None] * np.array([0.2, -1.1, 0.7]) + np.array([1.0, 2.0, 3.0])).ravel()
    z = ClusterSymmetry(5).zero_modes(x)
    assert z.shape == (5, 15)
    np.testing.assert_allclose(z @ z.T, np.eye(5), atol=1e-12)


def test_zero_modes_of_a_single_atom_are_the_three_translations():
    z = ClusterSymmetry(1).zero_modes(np.array([0.5, -0.2, 1.0]))
    np.testing.assert_allclose(np.abs(z @ z.T), np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.det(z)), 1.0)


def test_zero_modes_reject_wrong_length():
    with pytest.raises(ShapeError, match="39"):
        ClusterSymmetry(13).zero_modes(np.zeros(36))


def test_lj_gradient_is_orthogonal_to_zero_modes_at_a_random_point():
    rng = np.random.default_rng(2)
    x = compact_cluster(13, rng).ravel() * 1.3
    _, g = lj_energy_gradient(x)
    z = ClusterSymmetry(13).zero_modes(x)
    assert np.abs(z @ g).max() < 1e-10 * np.linalg.norm(g)


@pytest.mark.parametrize("n_atoms, start, energy", [
    (7, None, -16.505384),  # pentagonal bipyramid (Wales & Doye 1997)
    (13, "ico", -44.326801),  # icosahedron
])
def test_finite_difference_hessian_annihilates_zero_modes_at_lj_minimum(n_atoms, start, energy):
    if start == "ico":
        x0 = icosahedron() * 1.1
    else:
        ang = 2 * np.pi * np.arange(5) / 5
        ring = np.c_[np.cos(ang), np.sin(ang), np.zeros(5)] * 0.95
        x0 = np.vstack([ring, [[0, 0, 0.55], [0, 0, -0.55]]]) * 1.1
    x = quench_lj(x0.ravel())
    e, g = lj_energy_gradient(x)
    assert e == pytest.approx(energy, abs=1e-5)
    assert np.linalg.norm(g) < 1e-6
    z = ClusterSymmetry(n_atoms).zero_modes(x)
    assert z.shape == (6, 3 * n_atoms)
    h = 1e-5
    for mode in z:
        hz = (lj_energy_gradient(x + h * mode)[1] - lj_energy_gradient(x - h * mode)[1]) / (2 * h)
        assert np.linalg.norm(hz) < 1e-5
    # the smallest non-zero-mode curvature is O(1): the test is not vacuous
    e1 = np.random.default_rng(0).normal(size=3 * n_atoms)
    e1 -= z.T @ (z @ e1)
    e1 /= np.linalg.norm(e1)
    he1 = (lj_energy_gradient(x + h * e1)[1] - lj_energy_gradient(x - h * e1)[1]) / (2 * h)
    assert np.linalg.norm(he1) > 1.0


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 20), invert=st.booleans())
def test_distance_to_a_rigidly_moved_permuted_copy_is_zero(seed, n, invert):
    rng = np.random.default_rng(seed)
    a = compact_cluster(n, rng)
    b = scrambled_copy(a, rng, invert=invert)
    assert ClusterSymmetry(n).distance(a.ravel(), b.ravel(), rng=np.random.default_rng(seed)) < 1e-8


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 15), noise=st.floats(0.01, 0.08))
def test_aligned_distance_is_symmetric(seed, n, noise):
    """For near-identical structures (noise ≲ 10% of the 0.7 minimum spacing, the regime in which
    minima are compared) the search finds the same optimum in both directions; for unrelated
    structures it is a heuristic, as minpermdist is."""
    rng = np.random.default_rng(seed)
    a = compact_cluster(n, rng)
    b = scrambled_copy(a, rng) + rng.normal(scale=noise, size=(n, 3))
    d_ab = align(a.ravel(), b.ravel()).distance
    d_ba = align(b.ravel(), a.ravel()).distance
    assert d_ab == pytest.approx(d_ba, rel=1e-8, abs=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 6))
def test_radial_lower_bound_never_exceeds_the_brute_force_distance(seed, n):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    assert radial_lower_bound(a.ravel(), b.ravel()) <= brute_force_distance(a, b) + 1e-12


def test_same_decides_identical_structures_without_aligning(monkeypatch):
    """A quench that revisits a stored minimum (same frame up to a translation) is recognised by
    the centred distance alone; the costly alignment is not run."""
    import levinthal.symmetry.clusters as sc

    rng = np.random.default_rng(0)
    x = rng.normal(size=21)
    monkeypatch.setattr(sc, "align", lambda *a, **k: (_ for _ in ()).throw(AssertionError("aligned")))
    shifted = (x.reshape(-1, 3) + 2.5).ravel()
    assert sc.same(x, shifted + 1e-5, energy_a=-1.0, energy_b=-1.0)
