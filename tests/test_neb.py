"""Nudged elastic band: Müller–Brown saddles located by root finding, LJ7 rearrangement, bad input.

References are independent of the code under test: Müller–Brown saddles are roots of ∇E found
by ``scipy.optimize.root``; LJ7 energies are the Cambridge Cluster Database values; the
transition state's index and zero modes come from a dense ``numpy.linalg.eigh``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import root

from levinthal.minimize import minimize
from levinthal.paths import EndpointWarning, neb
from levinthal.systems import make_system

MB_A = np.array([-0.558224, 1.441726])
MB_C = np.array([-0.050011, 0.466694])
MB_B = np.array([0.623499, 0.028038])


@pytest.fixture(scope="module")
def mb():
    return make_system("muller-brown")


def _quench(land, x):
    return np.asarray(minimize(land, x, rms_tol=1e-10).x)


def _saddle(land, guess):
    sol = root(lambda x: land.energy_gradient(x)[1], guess, jac=land.hessian, tol=1e-12)
    assert np.linalg.norm(land.energy_gradient(sol.x)[1]) < 1e-9
    return sol.x


@pytest.fixture(scope="module")
def mb_points(mb):
    a, c, b = (_quench(mb, p) for p in (MB_A, MB_C, MB_B))
    s_ac = _saddle(mb, [-0.822, 0.624])
    s_cb = _saddle(mb, [0.212, 0.293])
    return {"A": a, "B": b, "C": c, "S_AC": s_ac, "S_CB": s_cb}


class CountingBatch:
    """Pass-through landscape counting calls to each method (independent of levinthal's counters)."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batched_calls = 0
        self.single_calls = 0
        self.batch_sizes = []

    def energy(self, x):
        return self.inner.energy(x)

    def energy_gradient(self, x):
        self.single_calls += 1
        return self.inner.energy_gradient(x)

    def hvp(self, x, v):
        return self.inner.hvp(x, v)

    def energy_gradients(self, X):
        self.batched_calls += 1
        self.batch_sizes.append(len(X))
        return self.inner.energy_gradients(X)


@pytest.mark.parametrize("pair", [("A", "C", "S_AC"), ("C", "B", "S_CB")])
def test_ci_neb_converges_to_muller_brown_saddle(mb, mb_points, pair):
    a, b, s = (mb_points[k] for k in pair)
    res = neb(mb, a, b, n_images=6, spring=100.0, rms_tol=0.05, refine=False)
    assert res.converged, res.message
    x_ci = res.images[res.highest_image]
    assert np.linalg.norm(x_ci - s) < 1e-3
    assert res.transition_state is None and res.barrier_source == "highest image"
    assert res.images.shape == (8, 2) and res.energies.shape == (8,)
    assert res.path_length[0] == 0 and np.all(np.diff(res.path_length) > 0)


@pytest.mark.parametrize("pair", [("A", "C", "S_AC"), ("C", "B", "S_CB")])
def test_refined_climbing_image_is_the_verified_saddle(mb, mb_points, pair):
    a, b, s = (mb_points[k] for k in pair)
    res = neb(mb, a, b, n_images=6, spring=100.0, rms_tol=0.05)
    assert res.converged, res.message
    ts = res.transition_state
    assert ts is not None, res.refine_message
    assert np.linalg.norm(np.asarray(ts.x) - s) < 1e-6
    assert ts.eigenvalue < 0 and np.linalg.eigvalsh(mb.hessian(s))[0] < 0
    assert res.barrier_source == "transition state"
    assert res.barrier_forward == pytest.approx(mb.energy(s) - mb.energy(a), abs=1e-8)
    assert res.barrier_backward == pytest.approx(mb.energy(s) - mb.energy(b), abs=1e-8)


def test_plain_neb_highest_image_lies_below_the_saddle(mb, mb_points):
    a, c, s = mb_points["A"], mb_points["C"], mb_points["S_AC"]
    res = neb(mb, a, c, n_images=6, spring=100.0, climbing=False, rms_tol=0.05, refine=False)
    assert res.converged, res.message
    x_hi = res.images[res.highest_image]
    assert res.energies[res.highest_image] < mb.energy(s) - 1e-3
    assert np.linalg.norm(x_hi - s) > 1e-3


@pytest.mark.parametrize("optimizer", ["lbfgs", "fire"])
def test_doubly_nudged_band_converges_to_saddle(mb, mb_points, optimizer):
    a, c, s = mb_points["A"], mb_points["C"], mb_points["S_AC"]
    res = neb(mb, a, c, n_images=6, spring=100.0, doubly_nudged=True, optimizer=optimizer,
              rms_tol=0.05, refine=False, max_iterations=3000)
    assert res.converged, res.message
    assert np.linalg.norm(res.images[res.highest_image] - s) < 1e-3


def test_doubly_nudged_spring_term_is_perpendicular_to_tangent_and_true_force():
    from levinthal.paths import band_forces

    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 4))
    E = np.array([0.0, 1.0, 2.0, 1.5, 0.3])
    G = rng.normal(size=(5, 4))
    F1, tau = band_forces(X, E, G, 2.0)
    F2, _ = band_forces(X, E, G, 2.0, doubly_nudged=True)
    extra = (F2 - F1)[1:-1]
    t = tau[1:-1]
    g_perp = G[1:-1] - np.einsum("ij,ij->i", G[1:-1], t)[:, None] * t
    np.testing.assert_allclose(np.einsum("ij,ij->i", extra, t), 0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ij,ij->i", extra, g_perp), 0, atol=1e-12)
    assert np.linalg.norm(extra) > 1e-3


def test_images_are_evaluated_in_one_batched_call_per_iteration(mb, mb_points):
    land = CountingBatch(mb)
    res = neb(land, mb_points["A"], mb_points["C"], n_images=6, spring=100.0, rms_tol=0.05, refine=False)
    assert res.converged
    # One batched call for the initial band plus one per step (accepted or rejected);
    # the two endpoints are evaluated singly once.
    assert land.batched_calls == 1 + len(res.history["max_force"])
    assert land.single_calls == 2
    # Every batched row is one counted force call; the initial call holds all six images, later
    # ones only the images that moved (images already below the tolerance are not re-evaluated).
    assert land.batch_sizes[0] == 6
    assert all(1 <= m <= 6 for m in land.batch_sizes)
    assert res.counts.gradient == 2 + sum(land.batch_sizes)


def test_image_insertion_puts_images_where_energy_changes_fastest(mb, mb_points):
    a, c = mb_points["A"], mb_points["C"]
    grown = neb(mb, a, c, n_images=7, spring=100.0, rms_tol=0.05, insert=True, n_start=2, refine=False)
    assert grown.converged, grown.message
    assert grown.images.shape == (9, 2)
    # The grown band ends with the same number of images as a band started uniformly; AutoNEB
    # placed the extra images into the steepest intervals, so the largest energy step along the
    # band is smaller than the largest step of the same band at its start (uniform in t).
    dE_grown = np.abs(np.diff(grown.energies)).max()
    t = np.linspace(0, 1, 9)[:, None]
    uniform = (1 - t) * a + t * c
    dE_uniform = np.abs(np.diff(mb.energies(uniform))).max()
    assert dE_grown < dE_uniform


def test_insertion_interval_is_largest_energy_gap():
    from levinthal.paths import insert_image, insertion_interval

    X = np.arange(5.0)[:, None] * np.ones((1, 2))
    E = np.array([0.0, 1.0, 5.0, 5.5, 4.0])
    assert insertion_interval(X, E) == 1
    Y = insert_image(X, 1)
    np.testing.assert_allclose(Y[2], [1.5, 1.5])
    assert Y.shape == (6, 2)


def test_identical_endpoints_are_refused(mb, mb_points):
    with pytest.raises(ValueError, match="same structure"):
        neb(mb, mb_points["A"], mb_points["A"].copy())


def test_non_minimum_endpoint_warns_by_default_and_says_so(mb, mb_points):
    off = mb_points["A"] + np.array([0.05, 0.0])
    with pytest.warns(EndpointWarning, match="endpoint A"):
        res = neb(mb, off, mb_points["C"], n_images=6, spring=100.0, rms_tol=0.05, refine=False)
    assert "not a minimum" in res.message
    assert res.endpoint_rms_gradient[0] > 1.0


def test_non_minimum_endpoint_raises_or_is_quenched_on_request(mb, mb_points):
    off = mb_points["A"] + np.array([0.05, 0.0])
    with pytest.raises(ValueError, match="not a minimum"):
        neb(mb, off, mb_points["C"], endpoints="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = neb(mb, off, mb_points["C"], n_images=6, spring=100.0, rms_tol=0.05, endpoints="quench",
                  refine=False)
    np.testing.assert_allclose(res.images[0], mb_points["A"], atol=1e-6)
    assert "quenched" in res.message


def test_too_small_budget_ends_unconverged_without_transition_state(mb, mb_points):
    res = neb(mb, mb_points["A"], mb_points["C"], n_images=6, spring=100.0, rms_tol=0.05, max_iterations=3)
    assert not res.converged
    assert "did NOT converge" in res.message and "budget" in res.message
    assert res.transition_state is None
    assert res.barrier_source == "highest image"


def test_bad_options_are_refused(mb, mb_points):
    with pytest.raises(ValueError, match="optimizer"):
        neb(mb, mb_points["A"], mb_points["C"], optimizer="bfgs")
    with pytest.raises(ValueError, match="n_images"):
        neb(mb, mb_points["A"], mb_points["C"], n_images=0)


# LJ7: pentagonal bipyramid (global minimum, Cambridge Cluster Database) and capped octahedron.
# The capped octahedron's energy -15.935043 is what SciPy's BFGS on a hand-written pairwise sum
# gives (checked in test_lj7_starting_structures_quench_to_literature_minima); the figure
# -15.935327 quoted in the task brief is 2.8e-4 lower and is not reproduced by any quench.
LJ7_GM = -16.505384
LJ7_CO = -15.935043


def _pentagonal_bipyramid():
    ang = 2 * np.pi * np.arange(5) / 5
    r = 1.12 / (2 * np.sin(np.pi / 5))
    ring = np.stack([r * np.cos(ang), r * np.sin(ang), np.zeros(5)], 1)
    return np.vstack([ring, [[0, 0, 0.6], [0, 0, -0.6]]]).ravel()


def _capped_octahedron():
    d = 1.12 / np.sqrt(2)
    octa = np.array([[d, 0, 0], [-d, 0, 0], [0, d, 0], [0, -d, 0], [0, 0, d], [0, 0, -d]])
    cap = np.array([[1, 1, 1]]) * (1.12 / np.sqrt(3) * 0.9 + d / 3)
    return np.vstack([octa, cap]).ravel()


@pytest.fixture(scope="module")
def lj7():
    land = make_system("lj7")
    gm = _quench(land, _pentagonal_bipyramid())
    co = _quench(land, _capped_octahedron())
    return land, gm, co


def test_lj7_starting_structures_quench_to_literature_minima(lj7):
    from scipy.optimize import minimize as scipy_minimize
    from scipy.spatial.distance import pdist

    def lj(x):
        r = pdist(x.reshape(-1, 3))
        return float(np.sum(4 * (r**-12 - r**-6)))

    land, gm, co = lj7
    assert land.energy(gm) == pytest.approx(LJ7_GM, abs=1e-6)
    assert land.energy(co) == pytest.approx(LJ7_CO, abs=1e-6)
    for start, e_ref in ((_pentagonal_bipyramid(), LJ7_GM), (_capped_octahedron(), LJ7_CO)):
        independent = scipy_minimize(lj, start, method="BFGS", options={"gtol": 1e-9}).fun
        assert independent == pytest.approx(e_ref, abs=1e-6)


def test_lj7_neb_refines_to_index_one_saddle_with_six_zero_modes(lj7):
    land, gm, co = lj7
    res = neb(land, gm, co, n_images=8, spring=1.0, rms_tol=0.01, rng=np.random.default_rng(0))
    assert res.converged, res.message
    ts = res.transition_state
    assert ts is not None, res.refine_message
    w = np.linalg.eigvalsh(land.hessian(np.asarray(ts.x)))
    scale = np.abs(w).max()
    assert np.sum(np.abs(w) < 1e-6 * scale) == 6
    assert np.sum(w < -1e-6 * scale) == 1
    assert LJ7_CO < ts.energy < 0
    assert res.barrier_forward == pytest.approx(ts.energy - LJ7_GM, abs=1e-5)
    assert res.barrier_backward > 0


def test_path_command_finds_the_muller_brown_saddle_from_saved_minima(capsys, tmp_path, mb_points):
    import json

    from levinthal.cli.main import main

    minima = tmp_path / "m.npz"
    np.savez(minima, minima=np.stack([mb_points["A"], mb_points["C"]]), energies=np.zeros(2))
    plot = tmp_path / "band.png"
    code = main(["path", "muller-brown", "--minima", str(minima), "--pair", "0", "1", "--images", "6",
                 "--spring", "100", "--rms-tol", "0.05", "--json", "--plot", str(plot)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["converged"]
    assert np.linalg.norm(np.array(out["transition_state"]["x"]) - mb_points["S_AC"]) < 1e-6
    assert plot.stat().st_size > 10_000


def test_path_command_refuses_identical_endpoint_files(tmp_path, mb_points):
    from levinthal.cli.main import main

    a = tmp_path / "a.npy"
    np.save(a, mb_points["A"])
    with pytest.raises(SystemExit, match="same structure"):
        main(["path", "muller-brown", str(a), str(a)])


def test_band_force_vanishes_on_an_evenly_spaced_band_along_a_constant_gradient():
    from levinthal.paths import band_forces, linear_band

    a, b = np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, -1.0])
    X = linear_band(a, b, 5)
    g = 3.0 * (b - a)  # energy rises linearly along the segment: no perpendicular force
    E = X @ g
    G = np.tile(g, (len(X), 1))
    F, tau = band_forces(X, E, G, spring=7.0)
    np.testing.assert_allclose(F, 0.0, atol=1e-12)
    np.testing.assert_allclose(tau[1:-1], np.tile((b - a) / np.linalg.norm(b - a), (5, 1)), atol=1e-12)
    # The climbing image alone feels the inverted force +g along the path.
    F_ci, _ = band_forces(X, E, G, spring=7.0, climbing=3)
    np.testing.assert_allclose(F_ci[3], g, atol=1e-12)


def test_lj7_band_images_keep_the_endpoints_centroid(lj7):
    land, gm, co = lj7
    res = neb(land, gm, co, n_images=6, spring=1.0, rms_tol=0.01, refine=False)
    centroids = res.images.reshape(len(res.images), -1, 3).mean(axis=1)
    np.testing.assert_allclose(centroids, np.tile(gm.reshape(-1, 3).mean(0), (len(res.images), 1)), atol=1e-9)


def test_default_options_converge_on_muller_brown_with_the_automatic_spring(mb, mb_points):
    res = neb(mb, mb_points["A"], mb_points["C"])
    assert res.converged, res.message
    e = [mb.energy(mb_points[k]) for k in ("A", "C")]
    # ΔE/L² of the straight initial band (energies evaluated independently here).
    t = np.linspace(0, 1, 10)[:, None]
    band = (1 - t) * mb_points["A"] + t * mb_points["C"]
    expected = (mb.energies(band).max() - min(e)) / np.sum((mb_points["C"] - mb_points["A"]) ** 2)
    assert res.spring == pytest.approx(expected, rel=1e-12)
    assert res.transition_state is not None
    assert np.linalg.norm(np.asarray(res.transition_state.x) - mb_points["S_AC"]) < 1e-6


def test_batched_rigid_body_projection_equals_cluster_zero_modes(lj7):
    from levinthal.paths.neb import _rigid_body_projection

    land, gm, co = lj7
    rng = np.random.default_rng(5)
    X = np.stack([gm, co, gm + 0.1 * rng.normal(size=21)])
    F = rng.normal(size=X.shape)
    got = _rigid_body_projection(X, F, land.symmetry.rtol)
    for x, f, g in zip(X, F, got, strict=True):
        Z = land.symmetry.zero_modes(x)
        np.testing.assert_allclose(g, f - Z.T @ (Z @ f), atol=1e-12)


@pytest.mark.parametrize("system", ["muller-brown", "lj7"])
def test_converged_band_force_is_below_tolerance_when_every_image_is_evaluated_afresh(mb, mb_points, lj7,
                                                                                      system):
    # Images below the tolerance are not re-evaluated while their neighbours move; the claim
    # "converged" must still hold for energies and gradients computed anew at the final images.
    from levinthal.paths.tangents import band_forces

    if system == "muller-brown":
        land, a, b, k, tol = mb, mb_points["A"], mb_points["C"], 100.0, 0.05
    else:
        (land, a, b), k, tol = lj7, 1.0, 0.01
    res = neb(land, a, b, n_images=7, spring=k, rms_tol=tol, refine=False, align=system == "lj7")
    assert res.converged
    X = res.images
    fresh = [land.energy_gradient(x) for x in X]
    E = np.array([float(e) for e, _ in fresh])
    G = np.stack([np.asarray(g, dtype=float) for _, g in fresh])
    np.testing.assert_allclose(E, res.energies, rtol=0, atol=1e-12 * max(1.0, np.abs(E).max()))
    F, _ = band_forces(X, E, G, res.spring, climbing=res.highest_image)
    if system == "lj7":  # rigid-body parts removed, as the band does for a cluster
        for i in range(1, len(X) - 1):
            Z = np.asarray(land.symmetry.zero_modes(X[i]))
            F[i] -= Z.T @ (Z @ F[i])
    assert np.linalg.norm(F[1:-1], axis=1).max() / np.sqrt(land.dim) <= tol


def test_fmax_criterion_bounds_every_atom_force_of_the_converged_band():
    """ASE's convergence criterion (largest per-atom NEB force ≤ fmax) on an LJ7 band; a
    non-atomic landscape is refused."""
    L = make_system("lj7")
    rng = np.random.default_rng(3)
    found = {}
    while len(found) < 2:
        r = minimize(L, L.random_point(rng), rms_tol=1e-8)
        found.setdefault(round(r.energy, 4), r.x)
    a, b = (found[k] for k in sorted(found))
    res = neb(L, a, b, n_images=5, fmax=0.05, refine=False)
    assert res.converged, res.message
    assert "max atom force below 0.05" in res.message
    assert res.history["max_force"][-1] <= 0.05  # the per-atom measure the band stopped on
    with pytest.raises(ValueError, match="per-atom"):
        neb(make_system("muller-brown"), np.array([-0.56, 1.44]), np.array([0.62, 0.03]), fmax=0.05)
