"""BLN 46-bead off-lattice protein: energy against an independent reference implementation
and closed forms, derivatives against finite differences, symmetry, and quenches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.curvature import classify
from levinthal.landscape import ShapeError, checked
from levinthal.minimize import minimize
from levinthal.symmetry.clusters import random_rotation
from levinthal.systems.proteins import (
    ANGLE_EQUILIBRIUM,
    BLN46_LOWEST_FOUND_ENERGY,
    BLN46_SEQUENCE,
    BLNProtein,
    random_coil,
)
from levinthal.systems.registry import make_system


def reference_energy(x, seq=BLN46_SEQUENCE, sep=2, dihedrals=None):
    """Independent, loop-by-loop BLN energy with arccos / atan2 (no shared code with the kernel)."""
    p = np.asarray(x).reshape(-1, 3)
    n = len(p)
    e = 0.0
    for i in range(n):
        for j in range(i + sep, n):
            r = np.linalg.norm(p[i] - p[j])
            a, b = seq[i], seq[j]
            if "N" in (a, b):
                e += 4 * r**-12
            elif a == b == "B":
                e += 4 * (r**-12 - r**-6)
            else:
                e += 4 * 2 / 3 * (r**-12 + r**-6)
    for i in range(n - 1):
        e += 0.5 * 231.2 * (np.linalg.norm(p[i + 1] - p[i]) - 1.0) ** 2
    for i in range(1, n - 1):
        u, w = p[i - 1] - p[i], p[i + 1] - p[i]
        th = np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w))
        e += 0.5 * 20.0 * (th - 1.8326) ** 2
    for i in range(n - 3):
        b1, b2, b3 = p[i + 1] - p[i], p[i + 2] - p[i + 1], p[i + 3] - p[i + 2]
        n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
        phi = np.arctan2(np.linalg.norm(b2) * (b1 @ n2), n1 @ n2)
        if dihedrals is not None:
            A, B, C, D = dihedrals[i]
        elif seq[i:i + 4].count("N") >= 2:
            A, B, C, D = 0.0, 0.0, 0.2, 0.0
        else:
            A, B, C, D = 1.2, 0.0, 1.2, 0.0
        e += A * (1 + np.cos(phi)) + B * (1 - np.cos(phi)) + C * (1 + np.cos(3 * phi)) \
            + D * (1 + np.cos(phi + np.pi / 4))
    return e


@pytest.fixture(scope="module")
def bln():
    return BLNProtein()


@pytest.fixture(scope="module")
def minimum(bln):
    r = minimize(bln, bln.random_point(np.random.default_rng(1)), rms_tol=1e-8)
    assert r.converged
    return r.x


def _fd_gradient(L, x, h=1e-6):
    g = np.empty_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        g[k] = (L.energy(x + e) - L.energy(x - e)) / (2 * h)
    return g


def _planar_chain(n, phi):
    """n beads, unit bonds, angles θ_e, every dihedral equal to phi."""
    t = np.pi - ANGLE_EQUILIBRIUM
    pos = [np.zeros(3), np.array([1.0, 0, 0])]
    pos.append(pos[1] + np.array([np.cos(t), np.sin(t), 0.0]))
    for i in range(3, n):
        b2 = (pos[i - 1] - pos[i - 2]) / np.linalg.norm(pos[i - 1] - pos[i - 2])
        nr = np.cross(pos[i - 2] - pos[i - 3], b2)
        nr /= np.linalg.norm(nr)
        m = np.cross(nr, b2)
        pos.append(pos[i - 1] + np.cos(t) * b2 + np.sin(t) * (np.cos(phi) * m + np.sin(phi) * nr))
    return np.array(pos).reshape(-1)


def test_energy_matches_an_independent_implementation(bln, minimum):
    rng = np.random.default_rng(0)
    for x in (bln.random_point(rng), bln.random_point(rng) + 0.05 * rng.normal(size=bln.dim), minimum):
        assert bln.energy(x) == pytest.approx(reference_energy(x), rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("seq, pair", [("BBBB", lambda r: 4 * (r**-12 - r**-6)),
                                       ("LBBL", lambda r: 4 * 2 / 3 * (r**-12 + r**-6)),
                                       ("NBBB", lambda r: 4 * r**-12)])
def test_four_bead_chain_is_one_pair_term_at_equilibrium_geometry(seq, pair):
    # bonds at r_e, angles at θ_e, trans dihedral (A(1+cos π) = C(1+cos 3π) = 0): only the 1-4 pair is left
    L = BLNProtein(seq, min_separation=3)
    x = _planar_chain(4, np.pi)
    r14 = np.linalg.norm(x[9:12] - x[0:3])
    assert L.energy(x) == pytest.approx(pair(r14), rel=1e-12)
    assert np.degrees(L.dihedrals(x)) == pytest.approx([180.0], abs=1e-9) or \
        np.degrees(L.dihedrals(x)) == pytest.approx([-180.0], abs=1e-9)
    # cis (φ = 0): the rigid dihedral adds A(1+1) + C(1+1) = 4.8 ε; one N is still "rigid"
    xc = _planar_chain(4, 0.0)
    r14c = np.linalg.norm(xc[9:12] - xc[0:3])
    assert L.energy(xc) == pytest.approx(4.8 + pair(r14c), rel=1e-12)


def test_neutral_turns_are_flexible_and_i_i2_pairs_count_by_default():
    L = BLNProtein("NBBN", min_separation=3)
    xc = _planar_chain(4, 0.0)
    r14 = np.linalg.norm(xc[9:12] - xc[0:3])
    assert L.energy(xc) == pytest.approx(0.2 * 2 + 4 * r14**-12, rel=1e-12)  # C(1 + cos 0), A = 0
    # GMIN's default also counts pairs two apart: (0,2) N-B and (1,3) B-N, both 4 r⁻¹² at r = 2 sin(θ_e/2)
    L2 = BLNProtein("NBBN")
    r13 = 2 * np.sin(ANGLE_EQUILIBRIUM / 2)
    assert L2.energy(xc) == pytest.approx(0.4 + 4 * r14**-12 + 2 * 4 * r13**-12, rel=1e-12)


def test_gradient_matches_finite_differences(bln, minimum):
    rng = np.random.default_rng(2)
    for x in (bln.random_point(rng), minimum + 0.02 * rng.normal(size=bln.dim)):
        e, g = bln.energy_gradient(x)
        assert e == pytest.approx(bln.energy(x), rel=1e-14)
        fd = _fd_gradient(bln, x)
        assert np.max(np.abs(g - fd)) < 2e-6 * max(1.0, np.max(np.abs(g)))


def test_chiral_variant_gradient_and_mirror_energy():
    rng = np.random.default_rng(5)
    dih = rng.uniform(0.0, 1.5, size=(3, 4))
    L = BLNProtein("BLNB" + "LB", dihedral_coefficients=dih)
    assert L.chiral and not L.symmetry.inversion
    x = L.random_point(rng) + 0.05 * rng.normal(size=L.dim)
    assert L.energy(x) == pytest.approx(reference_energy(x, seq=L.sequence, dihedrals=dih), rel=1e-12)
    _, g = L.energy_gradient(x)
    assert np.allclose(g, _fd_gradient(L, x), atol=2e-6 * max(1.0, np.abs(g).max()))
    # the D(1 + cos(φ + π/4)) term tells a chain from its mirror image; the 46-mer's terms do not
    assert abs(L.energy(-x) - L.energy(x)) > 1e-3
    B = BLNProtein()
    y = B.random_point(rng)
    assert B.energy(-y) == pytest.approx(B.energy(y), rel=1e-13)
    assert not B.chiral and B.symmetry.inversion


def test_hessian_matches_finite_differences_and_hvp(bln, minimum):
    rng = np.random.default_rng(3)
    for x in (bln.random_point(rng), minimum):
        H = bln.hessian(x)
        assert np.allclose(H, H.T, rtol=0, atol=1e-10 * np.abs(H).max())
        h = 1e-6
        cols = []
        for k in range(0, bln.dim, 7):
            e = np.zeros(bln.dim)
            e[k] = h
            cols.append((bln.energy_gradient(x + e)[1] - bln.energy_gradient(x - e)[1]) / (2 * h))
        fd = np.stack(cols, axis=1)
        assert np.max(np.abs(H[:, ::7] - fd)) < 1e-5 * np.abs(H).max()
        for _ in range(3):
            v = rng.normal(size=bln.dim)
            scale = np.abs(H).max() * np.abs(v).max()
            assert np.allclose(bln.hvp(x, v), H @ v, rtol=1e-10, atol=1e-10 * scale)
    assert np.all(bln.hvp(minimum, np.zeros(bln.dim)) == 0.0)


def test_minimum_has_six_zero_modes_and_index_zero(bln, minimum):
    w = np.linalg.eigvalsh(bln.hessian(minimum))
    assert np.all(np.abs(w[:6]) < 1e-6 * w[-1])
    assert w[6] > 1e-4
    zm = bln.symmetry.zero_modes(minimum)
    assert zm.shape == (6, bln.dim)
    assert np.allclose(zm @ zm.T, np.eye(6), atol=1e-12)
    assert np.max(np.abs(bln.hessian(minimum) @ zm.T)) < 1e-6 * w[-1]
    c = classify(bln, minimum)
    assert c.kind == "minimum" and c.index == 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shift=st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_energy_is_invariant_under_rotation_and_translation(seed, shift):
    L = BLNProtein()
    rng = np.random.default_rng(seed)
    x = L.random_point(rng)
    R = random_rotation(rng)
    y = (x.reshape(-1, 3) @ R.T + np.asarray(shift)).reshape(-1)
    assert L.energy(y) == pytest.approx(L.energy(x), rel=1e-10, abs=1e-10)
    assert L.symmetry.same(x, y)


def test_symmetry_identifies_copies_but_not_different_minima(bln, minimum):
    rng = np.random.default_rng(4)
    R = random_rotation(rng)
    copy = (minimum.reshape(-1, 3) @ R.T + 1.5).reshape(-1)
    assert bln.symmetry.same(minimum, copy, energy_a=bln.energy(minimum), energy_b=bln.energy(copy))
    assert bln.symmetry.same(minimum, -copy)  # achiral model: the mirror image is the same minimum
    other = minimize(bln, bln.random_point(np.random.default_rng(9))).x
    assert not bln.symmetry.same(minimum, other)
    with pytest.raises(ValueError):
        bln.symmetry.same(minimum, copy, permutations=True)
    chiral = BLNProtein("BBLBLB", dihedral_coefficients=np.tile([0.0, 0.0, 1.2, 1.2], (3, 1)))
    x = chiral.random_point(rng)
    assert chiral.symmetry.same(x, x + 1.0) and not chiral.symmetry.same(x, -x)


def test_random_coil_has_equilibrium_bonds_and_angles_and_no_overlaps():
    x = random_coil(np.random.default_rng(7), 46)
    assert np.array_equal(x, random_coil(np.random.default_rng(7), 46))
    p = x.reshape(-1, 3)
    assert np.allclose(np.linalg.norm(np.diff(p, axis=0), axis=1), 1.0, atol=1e-12)
    u, w = p[:-2] - p[1:-1], p[2:] - p[1:-1]
    cos = np.einsum("ij,ij->i", u, w) / (np.linalg.norm(u, axis=1) * np.linalg.norm(w, axis=1))
    assert np.allclose(np.arccos(cos), ANGLE_EQUILIBRIUM, atol=1e-10)
    d = np.linalg.norm(p[:, None] - p[None], axis=-1)
    far = np.abs(np.subtract.outer(np.arange(46), np.arange(46))) >= 2
    assert d[far].min() >= 1.0 - 1e-12
    assert np.allclose(p.mean(axis=0), 0.0, atol=1e-12)


def test_quench_from_random_coil_reaches_a_minimum(bln):
    rng = np.random.default_rng(11)
    for _ in range(3):
        x0 = bln.random_point(rng)
        r = minimize(checked(bln), x0)
        assert r.converged
        assert r.energy < bln.energy(x0)
        assert np.sqrt(np.mean(bln.energy_gradient(r.x)[1] ** 2)) <= 1e-3


def test_batched_evaluations_match_single(bln):
    rng = np.random.default_rng(12)
    X = np.stack([bln.random_point(rng) for _ in range(4)])
    E, G = bln.energy_gradients(X)
    assert np.allclose(bln.energies(X), E, rtol=1e-14)
    for k in range(4):
        e, g = bln.energy_gradient(X[k])
        assert E[k] == pytest.approx(e, rel=1e-14) and np.allclose(G[k], g, rtol=1e-14, atol=1e-14)


def test_registry_and_bad_input():
    L = make_system("bln46")
    assert isinstance(L, BLNProtein) and L.name == "bln46" and L.dim == 138
    assert L.sequence == "BBBBBBBBBNNNLBLBLBLBNNNBBBBBBBBBNNNLBLBLBLBLBL"
    with pytest.raises(ValueError):
        BLNProtein("BBXB")
    with pytest.raises(ValueError):
        BLNProtein(min_separation=1)
    with pytest.raises(ShapeError):
        L.energy(np.zeros(10))
    with pytest.raises(ShapeError):
        BLNProtein("BBBBB", dihedral_coefficients=np.zeros((3, 4)))


def test_stored_lowest_minimum_is_a_minimum_that_perturbed_copies_return_to(bln):
    x = np.load(Path(__file__).parents[1] / "benchmarks" / "data" / "bln46_lowest_found.npy")
    assert bln.energy(x) == pytest.approx(BLN46_LOWEST_FOUND_ENERGY, abs=1e-8)
    assert bln.energy(x) == pytest.approx(reference_energy(x), rel=1e-12)
    c = classify(bln, x)
    assert c.kind == "minimum" and c.index == 0
    rng = np.random.default_rng(13)
    y = minimize(bln, x + 0.03 * rng.normal(size=bln.dim), rms_tol=1e-8).x
    assert bln.symmetry.same(x, y, energy_a=bln.energy(x), energy_b=bln.energy(y))
