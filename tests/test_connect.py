"""connect: pathways of minima and verified transition states (Trygubenko & Wales 2004 strategy).

References are independent of the code under test: Müller–Brown stationary points from
``scipy.optimize.root`` on the analytic gradient, LJ7 energies from the standard list of its four
minima (−16.50538417 pentagonal bipyramid, −15.93504306 capped octahedron, −15.59321094,
−15.53306005), transition-state indices from a dense ``eigh`` of the Hessian.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root

from levinthal.minimize import minimize
from levinthal.paths.connect import connect
from levinthal.systems import make_system

MB_A = (-0.558224, 1.441726)
MB_B = (0.623499, 0.028038)
MB_C = (-0.050011, 0.466694)
MB_TS = ((-0.822, 0.624), (0.212, 0.293))


@pytest.fixture(scope="module")
def mb():
    return make_system("muller-brown")


def _stationary(mb, guess):
    sol = root(lambda x: mb.energy_gradient(x)[1], np.array(guess, dtype=float), jac=mb.hessian, tol=1e-13)
    assert sol.success
    return sol.x


@pytest.fixture(scope="module")
def mb_connect(mb):
    return connect(mb, np.array(MB_A), np.array(MB_B), rng=0)


def test_muller_brown_connect_goes_a_ts1_c_ts2_b_through_the_true_saddles(mb, mb_connect):
    r = mb_connect
    assert r.converged, r.message
    # the endpoints given to 6 digits are not stationary to 1e-5: minimised first, and said so
    assert "endpoint A was not a minimum" in r.message and "endpoint B was not a minimum" in r.message
    kinds = [k for k, _ in r.path]
    assert kinds == ["min", "ts", "min", "ts", "min"]
    a, c, b = (r.minima[i][0] for _, i in r.path[::2])
    np.testing.assert_allclose(a, _stationary(mb, MB_A), atol=1e-5)
    np.testing.assert_allclose(c, _stationary(mb, MB_C), atol=1e-5)
    np.testing.assert_allclose(b, _stationary(mb, MB_B), atol=1e-5)
    for (_, k), guess in zip(r.path[1::2], MB_TS, strict=True):
        ts = r.transition_states[k]
        ref = _stationary(mb, guess)
        np.testing.assert_allclose(np.asarray(ts.x), ref, atol=1e-5)
        w = np.linalg.eigvalsh(mb.hessian(ref))
        assert w[0] < 0 < w[1]  # the reference is an index-1 saddle
        assert ts.eigenvalue == pytest.approx(w[0], rel=1e-4)


def test_muller_brown_highest_barrier_is_the_highest_reference_saddle_above_a(mb, mb_connect):
    e_ts = max(mb.energy(_stationary(mb, g)) for g in MB_TS)
    assert mb_connect.highest_barrier == pytest.approx(e_ts - mb.energy(_stationary(mb, MB_A)), abs=1e-6)
    assert mb_connect.counts.gradient > 0


def test_profile_runs_from_a_to_b_and_peaks_at_the_transition_states(mb_connect):
    p = mb_connect.profile
    assert np.all(np.diff(p["s"]) >= 0)
    assert p["stationary_kind"] == ["min", "ts", "min", "ts", "min"]
    np.testing.assert_allclose(p["stationary_energy"], mb_connect.path_energies(), atol=1e-9)
    assert p["energy"].max() == pytest.approx(max(mb_connect.path_energies()), abs=1e-9)
    assert p["energy"][0] == pytest.approx(mb_connect.path_energies()[0], abs=1e-2)
    assert p["energy"][-1] == pytest.approx(mb_connect.path_energies()[-1], abs=1e-2)


def test_identical_endpoints_are_refused(mb):
    with pytest.raises(ValueError, match="same minimum"):
        connect(mb, np.array(MB_A), np.array(MB_A) + 1e-4)


def test_a_spent_budget_returns_not_converged_with_the_partial_graph(mb):
    r = connect(mb, np.array(MB_A), np.array(MB_B), max_cycles=0)
    assert not r.converged
    assert "NOT connected" in r.message and "budget" in r.message
    assert r.path == [] and len(r.minima) == 2


def _lj7_minima(lj):
    d = 2 ** (1 / 6)
    r = d / (2 * np.sin(np.pi / 5))
    h = np.sqrt(d * d - r * r)
    pbp = [[r * np.cos(2 * np.pi * k / 5), r * np.sin(2 * np.pi * k / 5), 0] for k in range(5)]
    pbp += [[0, 0, h], [0, 0, -h]]
    a = d / np.sqrt(2)
    octa = [[a, 0, 0], [-a, 0, 0], [0, a, 0], [0, -a, 0], [0, 0, a], [0, 0, -a]]
    cap = np.full(3, a / 3) + np.sqrt(d * d - 2 * a * a / 3) * np.ones(3) / np.sqrt(3)
    return (minimize(lj, np.array(pbp, dtype=float).ravel(), rms_tol=1e-7),
            minimize(lj, np.array([*octa, list(cap)]).ravel(), rms_tol=1e-7))


def test_lj7_connect_global_minimum_to_capped_octahedron_through_verified_saddles():
    lj = make_system("lj7")
    qa, qb = _lj7_minima(lj)
    assert qa.energy == pytest.approx(-16.505384, abs=1e-6)
    assert qb.energy == pytest.approx(-15.935043, abs=1e-6)
    r = connect(lj, qa.x, qb.x, rng=1)
    assert r.converged, r.message
    sym = lj.symmetry
    assert sym.same(r.minima[r.path[0][1]][0], qa.x) and sym.same(r.minima[r.path[-1][1]][0], qb.x)
    for n in range(1, len(r.path), 2):
        ts = r.transition_states[r.path[n][1]]
        x = np.asarray(ts.x)
        w, v = np.linalg.eigh(lj.hessian(x))
        assert w[0] < -1e-3, w[:8]
        assert np.all(np.abs(w[1:7]) < 1e-4) and w[7] > 1e-3, w[:8]  # 6 zero modes, rest positive
        # independent descent along the dense unstable eigenvector
        ends = [minimize(lj, x + s * 0.05 * v[:, 0], rms_tol=1e-6) for s in (-1, 1)]
        neighbours = [r.minima[r.path[n - 1][1]], r.minima[r.path[n + 1][1]]]
        for end in ends:
            assert end.energy < ts.energy
        matches = [[sym.same(e.x, m[0], energy_a=e.energy, energy_b=m[1], energy_tol=1e-5, distance_tol=1e-2)
                    for m in neighbours] for e in ends]
        assert (matches[0][0] and matches[1][1]) or (matches[0][1] and matches[1][0]), matches
    assert r.highest_barrier == pytest.approx(max(r.path_energies()) - qa.energy, abs=1e-9)


def test_lj7_permuted_copy_of_an_endpoint_is_the_same_minimum():
    lj = make_system("lj7")
    qa, _ = _lj7_minima(lj)
    pos = np.asarray(qa.x).reshape(-1, 3)[::-1] + 0.3
    with pytest.raises(ValueError, match="same minimum"):
        connect(lj, qa.x, pos.ravel(), rng=0)


def test_short_bands_need_several_cycles_and_still_join_a_to_b_through_c(mb):
    # one movable image finds one saddle per band: the graph must grow A–C, then join C to B
    r = connect(mb, np.array(MB_A), np.array(MB_B), n_images=1, rng=0, record_profile=False)
    assert r.converged, r.message
    assert r.cycles >= 2
    c = r.minima[r.path[2][1]][0]
    np.testing.assert_allclose(c, _stationary(mb, MB_C), atol=1e-5)
    assert [k for k, _ in r.path] == ["min", "ts", "min", "ts", "min"]
    assert len(r.history["force_calls"]) == r.cycles
    # the profile without recorded descents goes straight through the stationary points
    np.testing.assert_allclose(r.profile["energy"][[0, 1, 2, 4, 5]], r.path_energies(), atol=1e-12)


def test_cli_connect_reads_minima_file_and_prints_json(tmp_path, capsys, mb):
    import json

    from levinthal.cli.main import main

    f = tmp_path / "minima.npz"
    np.savez(f, minima=np.array([MB_A, MB_C, MB_B]))
    plot = tmp_path / "connect.png"
    rc = main(["connect", "muller-brown", "--minima", str(f), "--pair", "0", "2", "--json",
               "--plot", str(plot)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["converged"]
    e_ts = max(mb.energy(_stationary(mb, g)) for g in MB_TS)
    assert out["highest_barrier"] == pytest.approx(e_ts - mb.energy(_stationary(mb, MB_A)), abs=1e-6)
    assert plot.stat().st_size > 0


def test_bands_stopped_far_from_convergence_still_yield_the_true_saddles(mb):
    # connect uses the band only for guesses: with 5 NEB steps no band converges, yet every
    # interior maximum refined by eigenvector following lands on the two reference saddles
    r = connect(mb, np.array(MB_A), np.array(MB_B), neb_options={"max_iterations": 5}, rng=0,
                record_profile=False)
    assert r.converged, r.message
    assert not any(r.history["neb_converged"])
    assert [k for k, _ in r.path] == ["min", "ts", "min", "ts", "min"]
    for (_, k), guess in zip(r.path[1::2], MB_TS, strict=True):
        np.testing.assert_allclose(np.asarray(r.transition_states[k].x), _stationary(mb, guess), atol=1e-5)



def test_lj7_profile_without_descents_uses_each_segments_aligned_length():
    # straight segments are measured in the TS's own frame (no alignment); they must agree with
    # the symmetry-aware distance between the TS and the stored minimum on each side
    lj = make_system("lj7")
    qa, qb = _lj7_minima(lj)
    r = connect(lj, qa.x, qb.x, rng=1, record_profile=False)
    assert r.converged, r.message
    p = r.profile
    st = p["stationary_s"]
    for n in range(1, len(r.path), 2):
        x_ts = np.asarray(r.transition_states[r.path[n][1]].x)
        before, after = r.minima[r.path[n - 1][1]][0], r.minima[r.path[n + 1][1]][0]
        assert st[n] - st[n - 1] == pytest.approx(lj.symmetry.distance(before, x_ts, rng=0), rel=1e-3)
        assert st[n + 1] - st[n] == pytest.approx(lj.symmetry.distance(x_ts, after, rng=0), rel=1e-3)
