"""``levinthal db summary|export|merge`` on SQLite and PostgreSQL (``db_url_factory``, tests/conftest.py)."""

import json

import numpy as np
import pytest

from levinthal.cli.main import main
from levinthal.minimize import minimize
from levinthal.network import Database
from levinthal.symmetry.clusters import random_rotation
from levinthal.systems.registry import make_system

LJ7_GLOBAL = -16.50538417  # pentagonal bipyramid (Cambridge Cluster Database)


@pytest.fixture(scope="module")
def lj7_two_minima():
    """The LJ7 global minimum and the next distinct minimum found from seeded random starts."""
    lj7 = make_system("lj7")
    rng = np.random.default_rng(1)
    found = {}
    while len(found) < 2:
        r = minimize(lj7, lj7.random_point(rng))
        found.setdefault(round(r.energy, 6), (np.asarray(r.x, dtype=float), r.energy))
    while round(LJ7_GLOBAL, 6) not in found:
        r = minimize(lj7, lj7.random_point(rng))
        found.setdefault(round(r.energy, 6), (np.asarray(r.x, dtype=float), r.energy))
    return [found[k] for k in sorted(found)][:2]


def run_json(capsys, *argv):
    code = main(["db", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_summary_counts_and_lists_lowest_minima(db_url, lj7_two_minima, capsys):
    with Database(db_url) as db:
        run = db.start_run("lj7", "basin-hopping", {"T": 0.8}, seed=3)
        for x, e in reversed(lj7_two_minima):
            db.add_minimum("lj7", x, e, run=run)
        db.add_transition_state("lj7", lj7_two_minima[0][0] * 1.05, -10.0)
    got = run_json(capsys, "summary", "--db", db_url)
    (s,) = got["systems"]
    assert (s["name"], s["dim"], s["minima"], s["transition_states"]) == ("lj7", 21, 2, 1)
    assert [m["energy"] for m in s["lowest"]] == [e for _, e in lj7_two_minima]
    assert [(r["method"], r["seed"], r["status"]) for r in s["runs"]] == [("basin-hopping", 3, "running")]
    assert main(["db", "summary", "--db", db_url]) == 0
    text = capsys.readouterr().out
    assert "lj7 (dim 21): 2 minima, 1 transition states, 1 runs" in text
    assert f"E = {lj7_two_minima[0][1]:.10f}" in text


def test_summary_of_a_missing_file_fails_without_creating_it(tmp_path, capsys):
    path = tmp_path / "absent.db"
    assert main(["db", "summary", "--db", str(path)]) == 1
    assert "absent.db does not exist" in capsys.readouterr().err
    assert not path.exists()


def test_summary_of_an_unknown_system_is_named(db_url, capsys):
    Database(db_url).close()
    with pytest.raises(SystemExit, match="has no system 'lj99'"):
        main(["db", "summary", "--db", db_url, "--system", "lj99"])


def test_json_export_then_merge_into_a_new_database_round_trips(db_url_factory, lj7_two_minima, tmp_path,
                                                                capsys):
    src, dst = db_url_factory(), db_url_factory()
    with Database(src) as db:
        a, _ = db.add_minimum("lj7", *lj7_two_minima[0])
        b, _ = db.add_minimum("lj7", *lj7_two_minima[1])
        xt = 0.5 * (lj7_two_minima[0][0] + lj7_two_minima[1][0])
        db.add_transition_state("lj7", xt, -12.0, minimum1=a, minimum2=b, eigenvalue=-0.5)
    exported = run_json(capsys, "export", "--db", src, "--format", "json", "--out", str(tmp_path / "x"))
    assert exported["lines"] == 1 + 2 + 1
    merged = run_json(capsys, "merge", "--db", dst, "--from", exported["path"])
    assert (merged["minima_added"], merged["transition_states_added"], merged["minima_now"]) == (2, 1, 2)
    with Database(dst) as db:
        mins = db.minima("lj7")
        np.testing.assert_array_equal(mins[0].x, lj7_two_minima[0][0])
        (ts,) = db.transition_states("lj7")
        assert {ts.minimum1_id, ts.minimum2_id} == {m.id for m in mins}


def test_merge_from_another_database_uses_the_systems_symmetry(db_url_factory, lj7_two_minima, capsys):
    a_url, b_url = db_url_factory(), db_url_factory()
    (x0, e0), (x1, e1) = lj7_two_minima
    rng = np.random.default_rng(5)
    y0 = (x0.reshape(-1, 3)[rng.permutation(7)] @ random_rotation(rng).T).reshape(-1)
    with Database(a_url) as a, Database(b_url) as b:
        a.add_minimum("lj7", x0, e0)
        b.add_minimum("lj7", y0, e0)
        b.add_minimum("lj7", x1, e1)
    got = run_json(capsys, "merge", "--db", a_url, "--from", b_url)
    assert (got["minima_added"], got["minima_merged"], got["minima_now"]) == (1, 1, 2)
    # Without the symmetry the rotated copy is a new point.
    c_url = db_url_factory()
    with Database(c_url) as c:
        c.add_minimum("lj7", x0, e0)
    got = run_json(capsys, "merge", "--db", c_url, "--from", b_url, "--no-symmetry")
    assert (got["minima_added"], got["minima_merged"]) == (2, 0)


def test_pathsample_export_needs_hessian_data_unless_allowed(db_url, lj7_two_minima, tmp_path, capsys):
    with Database(db_url) as db:
        db.add_minimum("lj7", *lj7_two_minima[0])
    assert main(["db", "export", "--db", db_url, "--format", "pathsample", "--out", str(tmp_path)]) == 1
    assert "--allow-missing" in capsys.readouterr().err
    got = run_json(capsys, "export", "--db", db_url, "--format", "pathsample", "--out", str(tmp_path),
                   "--allow-missing")
    assert (got["n_minima"], got["n_transition_states"]) == (1, 0)
    (line,) = (tmp_path / "min.data").read_text().splitlines()
    energy, lpf, order = line.split()[:3]
    assert float(energy) == pytest.approx(lj7_two_minima[0][1], abs=1e-12)
    assert lpf == "nan" and order == "1"
