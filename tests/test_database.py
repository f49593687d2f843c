"""The landscape database, on SQLite and on PostgreSQL (``db_url`` fixture, tests/conftest.py).

Claims tested: duplicates are merged by energy AND symmetry-aware geometry (a rotated, permuted,
translated LJ7 minimum merges; a different structure at nearly the same energy does not);
transition states keep their endpoints through merging; checkpoints round-trip; a writer killed
with SIGKILL leaves every committed row readable and a resumed run adds nothing twice; two
writers at once lose no rows and still merge duplicates; merge and export round-trip with ids
remapped; bad input (corrupt file, foreign or other-version schema, unreachable server,
non-finite or wrong-length points) is refused with a message naming the problem.
"""

import json
import math
import multiprocessing
import os
import signal
import socket
import sqlite3
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from levinthal.explore.sink import MinimaSink
from levinthal.landscape import NonFiniteError, ShapeError
from levinthal.minimize import minimize
from levinthal.network import Database, DatabaseError, SchemaVersionError
from levinthal.network.db_export import export_jsonl, export_pathsample, import_jsonl, principal_moments
from levinthal.symmetry.clusters import random_rotation
from levinthal.systems.registry import make_system

# LJ7 minima (Doye & Wales, Cambridge Cluster Database): pentagonal bipyramid and capped octahedron.
LJ7_GLOBAL = -16.50538417
LJ7_CAPPED_OCTAHEDRON = -15.93504306


@pytest.fixture(scope="module")
def lj7():
    return make_system("lj7")


@pytest.fixture(scope="module")
def lj7_minima(lj7):
    """The four LJ7 minima by energy, from quenches of seeded random starts: ``[(x, energy), ...]``."""
    rng = np.random.default_rng(0)
    found = {}
    for _ in range(40):
        r = minimize(lj7, lj7.random_point(rng))
        assert r.converged
        found.setdefault(round(r.energy, 6), (np.asarray(r.x, dtype=float), r.energy))
    minima = [found[k] for k in sorted(found)]
    assert len(minima) == 4
    assert minima[0][1] == pytest.approx(LJ7_GLOBAL, abs=1e-7)
    assert minima[1][1] == pytest.approx(LJ7_CAPPED_OCTAHEDRON, abs=1e-7)
    return minima


def rotated_permuted(x, rng):
    pos = x.reshape(-1, 3)
    pos = pos[rng.permutation(len(pos))] @ random_rotation(rng).T + rng.normal(size=3)
    return pos.reshape(-1)


@pytest.fixture
def db(db_url):
    with Database(db_url) as d:
        yield d


# ------------------------------------------------------------------------- duplicates


def test_rotated_permuted_translated_lj7_minimum_is_merged(db, lj7, lj7_minima, rng):
    x, e = lj7_minima[0]
    rec, new = db.add_minimum("lj7", x, e, landscape=lj7)
    assert new and rec.hits == 1
    y = rotated_permuted(x, rng)
    assert np.linalg.norm(y - x) > 1.0  # really a different frame
    e_y = lj7.energy(y)
    assert e_y != e and abs(e_y - e) < 1e-10  # same structure, rounding-level energy difference
    rec2, new2 = db.add_minimum("lj7", y, e_y, landscape=lj7)
    assert not new2 and rec2.id == rec.id and rec2.hits == 2
    np.testing.assert_array_equal(rec2.x, x)  # the stored frame is kept
    assert db.count_minima("lj7") == 1


def test_different_structure_at_nearly_the_same_energy_is_not_merged(db, lj7, lj7_minima):
    (xa, ea), (xb, _) = lj7_minima[0], lj7_minima[1]
    db.add_minimum("lj7", xa, ea, landscape=lj7)
    # The capped octahedron's coordinates reported with the bipyramid's energy + 1e-9: inside the
    # energy window, so only the geometric test can tell them apart.
    _, new = db.add_minimum("lj7", xb, ea + 1e-9, landscape=lj7)
    assert new
    # The same bipyramid with an energy outside the window is a different point too.
    _, new_far = db.add_minimum("lj7", xa, ea + 1e-3, landscape=lj7)
    assert new_far
    assert db.count_minima("lj7") == 3


def test_without_a_landscape_only_the_same_frame_is_a_duplicate(db, lj7_minima, rng):
    x, e = lj7_minima[0]
    db.add_minimum("lj7", x, e)
    _, new_same = db.add_minimum("lj7", x + 1e-5, e)  # ‖δ‖ = 1e-5·√21 < 1e-3
    _, new_rotated = db.add_minimum("lj7", rotated_permuted(x, rng), e)
    assert (new_same, new_rotated) == (False, True)


def test_landscape_passed_as_system_supplies_name_and_symmetry(db, lj7, lj7_minima, rng):
    x, e = lj7_minima[0]
    db.add_minimum(lj7, x, e)
    _, new = db.add_minimum(lj7, rotated_permuted(x, rng), e)
    assert not new
    assert [s.name for s in db.systems()] == [lj7.name]
    assert db.systems()[0].dim == 21


def test_minima_come_back_lowest_first_with_exact_coordinates(db, lj7, lj7_minima):
    for x, e in reversed(lj7_minima):
        db.add_minimum("lj7", x, e, landscape=lj7, log_product_frequencies=1.5, point_group_order=10)
    got = db.minima("lj7")
    assert [m.energy for m in got] == sorted(e for _, e in lj7_minima)
    for m, (x, e) in zip(got, lj7_minima, strict=True):
        np.testing.assert_array_equal(m.x, x)
        assert m.energy == e and m.log_product_frequencies == 1.5 and m.point_group_order == 10
    assert [m.energy for m in db.minima("lj7", limit=2)] == [lj7_minima[0][1], lj7_minima[1][1]]
    assert db.get_minimum(got[0].id).energy == lj7_minima[0][1]
    with pytest.raises(KeyError, match="no minimum with id 999"):
        db.get_minimum(999)


def test_duplicate_fills_in_hessian_data_it_lacked(db, lj7, lj7_minima):
    x, e = lj7_minima[0]
    db.add_minimum("lj7", x, e, landscape=lj7)
    rec, new = db.add_minimum("lj7", x, e, landscape=lj7, log_product_frequencies=-3.25, n_zero_modes=6,
                              point_group_order=10)
    assert not new
    assert (rec.log_product_frequencies, rec.n_zero_modes, rec.point_group_order) == (-3.25, 6, 10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=arrays(np.float64, st.integers(1, 12), elements=st.floats(allow_nan=False, allow_infinity=False)),
       e=st.floats(allow_nan=False, allow_infinity=False))
def test_coordinates_and_energy_round_trip_bit_for_bit(x, e):
    with Database("sqlite://") as mem:
        rec, _ = mem.add_minimum(f"toy{x.size}", x, e)
        back = mem.get_minimum(rec.id)
    assert back.x.tobytes() == np.ascontiguousarray(x, dtype="<f8").tobytes()
    assert back.energy == e


# ------------------------------------------------------------------- transition states


def test_transition_state_joins_its_two_minima_and_merges_by_symmetry(db, lj7, lj7_minima, rng):
    (xa, ea), (xb, eb) = lj7_minima[0], lj7_minima[1]
    a, _ = db.add_minimum("lj7", xa, ea, landscape=lj7)
    b, _ = db.add_minimum("lj7", xb, eb, landscape=lj7)
    xt = 0.5 * (xa + xb)  # any point stands in for the saddle geometry here
    et = lj7.energy(xt)
    ts, new = db.add_transition_state("lj7", xt, et, minimum1=a, minimum2=b.id, eigenvalue=-2.0,
                                      landscape=lj7)
    assert new and (ts.minimum1_id, ts.minimum2_id) == (a.id, b.id) and ts.eigenvalue == -2.0
    ts2, new2 = db.add_transition_state("lj7", rotated_permuted(xt, rng), et, landscape=lj7)
    assert not new2 and ts2.id == ts.id and ts2.hits == 2
    assert (ts2.minimum1_id, ts2.minimum2_id) == (a.id, b.id)
    assert db.count_transition_states("lj7") == 1
    assert db.get_transition_state(ts.id).minimum2_id == b.id


def test_transition_state_naming_a_foreign_minimum_is_refused(db, lj7_minima):
    x, e = lj7_minima[0]
    m, _ = db.add_minimum("lj7", x, e)
    other, _ = db.add_minimum("double-well", np.array([1.0]), -1.0)
    with pytest.raises(DatabaseError, match=f"minimum {other.id}, which is not a stored minimum of 'lj7'"):
        db.add_transition_state("lj7", x, e + 1, minimum1=m, minimum2=other)
    with pytest.raises(DatabaseError, match="minimum 4242"):
        db.add_transition_state("lj7", x, e + 1, minimum1=4242, minimum2=m)
    assert db.count_transition_states() == 0


# ------------------------------------------------------------------- runs, checkpoints


def test_checkpoint_round_trip_restores_the_random_stream(db):
    run = db.start_run("lj7", "basin-hopping", {"temperature": 0.8, "steps": 100}, seed=7)
    assert db.load_checkpoint(run) is None
    gen = np.random.default_rng(7)
    gen.normal(size=5)
    state = {"step": 42, "x": np.linspace(0, 1, 21), "rng": gen.bit_generator.state}
    db.save_checkpoint(run, state)
    expected = gen.normal(size=3)
    back = db.load_checkpoint(run.id)
    assert back["step"] == 42
    np.testing.assert_array_equal(back["x"], state["x"])
    gen2 = np.random.default_rng()
    gen2.bit_generator.state = back["rng"]
    np.testing.assert_array_equal(gen2.normal(size=3), expected)
    db.save_checkpoint(run, {"step": 43})
    assert db.load_checkpoint(run) == {"step": 43}


def test_find_run_matches_method_params_and_seed(db):
    params = {"temperature": 0.8, "steps": np.int64(100)}
    run = db.start_run("lj7", "basin-hopping", params, seed=3)
    assert run.params == {"temperature": 0.8, "steps": 100} and run.status == "running"
    assert db.find_run("lj7", "basin-hopping", {"steps": 100, "temperature": 0.8}).id == run.id
    assert db.find_run("lj7", "basin-hopping", {"steps": 101, "temperature": 0.8}) is None
    assert db.find_run("lj7", "basin-hopping", params, seed=4) is None
    assert db.find_run("lj13", "basin-hopping", params) is None
    again, resumed = db.resume_or_start_run("lj7", "basin-hopping", params, seed=3)
    assert resumed and again.id == run.id
    done = db.finish_run(run)
    assert done.status == "finished" and done.finished >= done.started
    fresh, resumed = db.resume_or_start_run("lj7", "basin-hopping", params, seed=3)
    assert not resumed and fresh.id != run.id
    assert [r.id for r in db.runs("lj7")] == [run.id, fresh.id]
    with pytest.raises(ValueError, match="fits in 64 bits"):
        db.start_run("lj7", "basin-hopping", params, seed=2**64)


def test_sink_is_a_minima_sink_that_commits_each_find(db_url, lj7, lj7_minima, rng):
    with Database(db_url) as db:
        run = db.start_run(lj7, "test", {})
        sink = db.sink(lj7, run)
        assert isinstance(sink, MinimaSink)
        x, e = lj7_minima[0]
        assert sink.add_minimum(x, e, source="bh") == (1, True)
        assert sink.add_minimum(rotated_permuted(x, rng), e) == (1, False)
        sink.save_checkpoint({"step": 5})
        with pytest.raises(DatabaseError, match="no run"):
            db.sink(lj7).save_checkpoint({})
    with Database(db_url) as again:  # a new connection sees it all
        assert again.load_checkpoint(run) == {"step": 5}
        (m,) = again.minima("lj7")
        assert (m.hits, m.source, m.first_run_id) == (2, "bh", run.id)
        assert len(again.sink(lj7)) == 1 and again.sink(lj7).lowest(1)[0].id == 1


# ------------------------------------------------------------------- killed / concurrent writers

def _write_points(url, n, pause, tag, barrier=None):
    """A search stand-in: adds ``n`` seeded random points of system "toy" (energy ``-i`` for point
    ``i``), checkpointing after each, resuming from its checkpoint when restarted. With a
    ``barrier`` shared by two writers, both offer point ``i`` at the same instant."""
    db = Database(url)
    run, _ = db.resume_or_start_run("toy", "writer", {"n": n, "tag": tag}, seed=1)
    state = db.load_checkpoint(run) or {"step": 0}
    points = np.random.default_rng(1).normal(size=(n, 6))
    for i in range(state["step"], n):
        if barrier is not None:
            barrier.wait(timeout=60)
        db.add_minimum("toy", points[i], -float(i), run=run, source=tag)
        db.save_checkpoint(run, {"step": i + 1})
        time.sleep(pause)
    db.finish_run(run)


def _writer(url, n, pause, tag, barrier=None):
    # Forked, so the child starts at once without importing levinthal (torch) again.
    proc = multiprocessing.get_context("fork").Process(target=_write_points,
                                                       args=(url, n, pause, tag, barrier))
    proc.start()
    return proc


def test_writer_killed_mid_run_loses_nothing_and_resumes_without_duplicates(db_url, tmp_path):
    n = 24
    proc = _writer(db_url, n, 0.05, "a")
    db = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            db = db or Database(db_url, create=False)
            if db.count_minima() >= 6:
                break
        except DatabaseError:  # not created yet
            pass
        assert proc.is_alive(), "the writer ended before it was killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    stored = db.minima("toy")
    k = len(stored)
    assert 6 <= k < n  # killed mid-run
    points = np.random.default_rng(1).normal(size=(n, 6))
    for m in stored:  # every committed row is whole
        i = int(-m.energy)
        np.testing.assert_array_equal(m.x, points[i])
    assert sorted(int(-m.energy) for m in stored) == list(range(k))
    (run,) = db.runs("toy")
    assert run.status == "running"
    step = db.load_checkpoint(run)["step"]
    assert step in (k - 1, k)  # killed between an add and its checkpoint, or after both
    if db.backend == "sqlite":
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Resume: the same command continues from the checkpoint and finishes.
    proc = _writer(db_url, n, 0.0, "a")
    proc.join(timeout=120)
    assert proc.exitcode == 0
    final = db.minima("toy")
    assert len(final) == n
    assert sorted(int(-m.energy) for m in final) == list(range(n))
    assert sum(m.hits for m in final) == n + (k - step)  # only the un-checkpointed find was offered twice
    assert [r.status for r in db.runs("toy")] == ["finished"]
    db.close()


def test_two_writers_at_once_lose_no_rows_and_still_merge_duplicates(db_url, tmp_path):
    n = 12
    Database(db_url).close()  # schema created once; both writers then open it
    barrier = multiprocessing.get_context("fork").Barrier(2)
    procs = [_writer(db_url, n, 0.0, tag, barrier) for tag in ("a", "b")]
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with Database(db_url) as db:
        got = db.minima("toy")
        # Both offered the same n points (same seed) at the same instants: each stored once, found twice.
        assert len(got) == n
        assert sorted(int(-m.energy) for m in got) == list(range(n))
        assert all(m.hits == 2 for m in got)
        assert len(db.runs("toy")) == 2


# ------------------------------------------------------------------- merge and export


def _fill(db, lj7, minima, ts_pairs, run_tag):
    run = db.start_run("lj7", "fill", {"tag": run_tag})
    recs = [db.add_minimum("lj7", x, e, landscape=lj7, run=run, log_product_frequencies=float(i),
                           point_group_order=2 * i + 1)[0] for i, (x, e) in enumerate(minima)]
    for i, j in ts_pairs:
        xt = 0.5 * (minima[i][0] + minima[j][0])
        db.add_transition_state("lj7", xt, lj7.energy(xt), minimum1=recs[i], minimum2=recs[j],
                                eigenvalue=-1.0, landscape=lj7, run=run, log_product_frequencies=0.5,
                                point_group_order=1)
    return recs


def test_merge_two_databases_merges_duplicates_and_remaps_endpoints(db_url_factory, lj7, lj7_minima, rng):
    (x0, e0), (x1, e1), (x2, e2) = lj7_minima[:3]
    with Database(db_url_factory()) as a, Database(db_url_factory()) as b:
        _fill(a, lj7, [(x0, e0), (x1, e1)], [(0, 1)], "a")
        # b: x2 first (so ids differ), then a rotated, permuted copy of x0; a TS x2 -- x0'.
        y0 = rotated_permuted(x0, rng)
        _fill(b, lj7, [(x2, e2), (y0, lj7.energy(y0))], [(0, 1)], "b")
        report = a.merge_from(b, landscapes={"lj7": lj7})
        assert (report.minima_added, report.minima_merged) == (1, 1)
        assert report.transition_states_added == 1 and report.transition_states_merged == 0
        assert report.runs_copied == 1
        mins = {round(m.energy, 6): m for m in a.minima("lj7")}
        assert len(mins) == 3
        m0, m2 = mins[round(e0, 6)], mins[round(e2, 6)]
        assert m0.hits == 2 and m2.hits == 1
        np.testing.assert_array_equal(m2.x, x2)
        pairs = sorted((t.minimum1_id, t.minimum2_id) for t in a.transition_states("lj7"))
        assert (m2.id, m0.id) in pairs and len(pairs) == 2
        assert m2.first_run_id == a.runs("lj7")[-1].id  # remapped to the copied run
        with pytest.raises(DatabaseError, match="into itself"):
            a.merge_from(a.url)


def test_jsonl_export_round_trips_exactly(db_url_factory, lj7, lj7_minima, tmp_path):
    with Database(db_url_factory()) as a, Database(db_url_factory()) as b:
        _fill(a, lj7, lj7_minima, [(0, 1), (1, 2), (2, 3)], "a")
        lines = export_jsonl(a, tmp_path / "a.jsonl")
        assert lines == 1 + 1 + 4 + 3
        report = import_jsonl(b, tmp_path / "a.jsonl", landscapes={"lj7": lj7})
        assert (report.minima_added, report.transition_states_added) == (4, 3)
        for ma, mb in zip(a.minima("lj7"), b.minima("lj7"), strict=True):
            assert (ma.energy, ma.log_product_frequencies, ma.point_group_order, ma.hits) == \
                   (mb.energy, mb.log_product_frequencies, mb.point_group_order, mb.hits)
            np.testing.assert_array_equal(ma.x, mb.x)
        ids_a = {m.id: m.energy for m in a.minima("lj7")}
        ids_b = {m.id: m.energy for m in b.minima("lj7")}

        def ends(db, ids):
            ts = db.transition_states("lj7")
            return sorted((ids[t.minimum1_id], ids[t.minimum2_id], t.energy) for t in ts)

        assert ends(a, ids_a) == ends(b, ids_b)
        # Importing the same file again adds no rows.
        again = import_jsonl(b, tmp_path / "a.jsonl", landscapes={"lj7": lj7})
        assert (again.minima_added, again.transition_states_added) == (0, 0)
        assert b.count_minima() == 4


def test_jsonl_import_refuses_a_foreign_file(db, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "minimum"}\n')
    with pytest.raises(DatabaseError, match=r"bad\.jsonl:1: not a levinthal JSON-lines export"):
        import_jsonl(db, bad)


def test_pathsample_export_lines_match_the_database(db, lj7, lj7_minima, tmp_path):
    _fill(db, lj7, lj7_minima, [(0, 1), (3, 2)], "a")
    db.add_transition_state("lj7", lj7_minima[0][0] * 1.1, -3.0, landscape=lj7)  # endpoints unknown
    out = export_pathsample(db, tmp_path / "ps", missing="nan")
    assert (out.n_minima, out.n_transition_states, out.skipped_transition_states) == (4, 2, 1)
    mins = sorted(db.minima("lj7"), key=lambda m: m.id)
    rows = np.loadtxt(tmp_path / "ps" / "min.data")
    np.testing.assert_allclose(rows[:, 0], [m.energy for m in mins], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(rows[:, 1], [m.log_product_frequencies for m in mins])
    np.testing.assert_array_equal(rows[:, 2], [m.point_group_order for m in mins])
    # Moments of inertia: I1 + I2 + I3 = 2 Σ|r_i - r̄|² for unit masses.
    for row, m in zip(rows, mins, strict=True):
        rel = m.x.reshape(-1, 3) - m.x.reshape(-1, 3).mean(axis=0)
        assert row[3:].sum() == pytest.approx(2 * np.sum(rel**2), rel=1e-9)
    points = np.fromfile(tmp_path / "ps" / "points.min", dtype="<f8").reshape(4, 21)
    np.testing.assert_array_equal(points, np.stack([m.x for m in mins]))
    ts = np.loadtxt(tmp_path / "ps" / "ts.data", ndmin=2)
    line_of = {m.id: i + 1 for i, m in enumerate(mins)}
    energies = {m.energy: m.id for m in mins}
    expected = sorted((line_of[energies[lj7_minima[i][1]]], line_of[energies[lj7_minima[j][1]]])
                      for i, j in [(0, 1), (3, 2)])
    assert sorted((int(a), int(b)) for a, b in ts[:, 3:5]) == expected
    ids = json.loads((tmp_path / "ps" / "levinthal_ids.json").read_text())
    assert ids["minima"] == [m.id for m in mins]


def test_pathsample_export_refuses_points_without_hessian_data(db, lj7_minima, tmp_path):
    x, e = lj7_minima[0]
    db.add_minimum("lj7", x, e)
    with pytest.raises(DatabaseError, match="has no log_product_frequencies or point_group_order"):
        export_pathsample(db, tmp_path / "ps")


def test_principal_moments_of_a_unit_square():
    # Four unit masses at (±½, ±½, 0): I = 1 about x and y, 2 about z.
    x = np.array([[0.5, 0.5, 0], [-0.5, 0.5, 0], [0.5, -0.5, 0], [-0.5, -0.5, 0]]).reshape(-1)
    np.testing.assert_allclose(principal_moments(x), [1.0, 1.0, 2.0], atol=1e-14)


# ------------------------------------------------------------------- bad input


def test_non_finite_points_are_refused_and_nothing_is_stored(db):
    with pytest.raises(NonFiniteError, match="energy is nan"):
        db.add_minimum("toy", np.zeros(3), math.nan)
    with pytest.raises(NonFiniteError, match="1 of 3 coordinates"):
        db.add_minimum("toy", np.array([0.0, np.inf, 1.0]), -1.0)
    with pytest.raises(NonFiniteError, match="log_product_frequencies is inf"):
        db.add_minimum("toy", np.zeros(3), -1.0, log_product_frequencies=math.inf)
    with pytest.raises(NonFiniteError, match="energy is inf"):
        db.add_transition_state("toy", np.zeros(3), math.inf)
    assert db.count_minima() == 0 and db.count_transition_states() == 0


def test_a_run_of_another_system_or_no_run_is_refused(db):
    run = db.start_run("lj7", "bh")
    with pytest.raises(DatabaseError, match=f"run {run.id} is not a run of 'toy'"):
        db.add_minimum("toy", np.zeros(3), -1.0, run=run)
    with pytest.raises(DatabaseError, match="run 77 is not a run of 'toy'"):
        db.add_transition_state("toy", np.zeros(3), -1.0, run=77)
    assert db.count_minima() == 0 and db.count_transition_states() == 0


def test_wrong_length_for_the_system_is_a_shape_error(db, lj7):
    db.add_minimum("toy", np.zeros(3), -1.0)
    with pytest.raises(ShapeError, match="system 'toy' has dim 3, got coordinates of length 4"):
        db.add_minimum("toy", np.zeros(4), -2.0)
    with pytest.raises(ShapeError, match="20 coordinates but landscape lj7 has dim 21"):
        db.add_minimum("lj7", np.zeros(20), -2.0, landscape=lj7)
    assert db.count_minima() == 1


def test_corrupt_sqlite_file_is_named(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(DatabaseError, match=r"corrupt\.db.*(not a database|corrupt)"):
        Database(bad)


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE stuff (a INTEGER)")
    with pytest.raises(DatabaseError,
                       match=r"other\.db is not a levinthal database: it holds tables \['stuff'\]"):
        Database(path)


def test_missing_file_without_create_is_an_error(tmp_path):
    with pytest.raises(DatabaseError, match=r"nope\.db does not exist"):
        Database(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_schema_from_another_version_is_refused_naming_both(db_url):
    Database(db_url).close()
    import sqlalchemy as sa

    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    eng.dispose()
    with pytest.raises(SchemaVersionError, match="schema version 99, this levinthal reads schema version 1"):
        Database(db_url)


def test_unreachable_server_is_named_without_its_password():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://alice:s3cret@127.0.0.1:{port}/landscapes"
    with pytest.raises(DatabaseError, match="cannot connect to the database server at") as info:
        Database(url, connect_timeout=2, max_retries=1)
    assert f"127.0.0.1:{port}/landscapes" in str(info.value)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_plain_postgresql_url_means_psycopg_3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatabaseError, match=rf"postgresql\+psycopg://bob:\*\*\*@127\.0\.0\.1:{port}/x"):
        Database(f"postgres://bob:pw@127.0.0.1:{port}/x", connect_timeout=1)


def test_unsupported_backend_is_refused():
    with pytest.raises(DatabaseError, match="unsupported backend 'mysql'"):
        Database("mysql://u@localhost/db")


@pytest.mark.skipif(os.name != "posix", reason="permissions")
def test_database_in_a_missing_directory_is_named(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist"):
        Database(tmp_path / "no" / "such" / "dir.db")
