"""The exploration commands end to end on LJ7: explore (search, then grow) into SQLite, the
disconnectivity graph and funnels, and rates, with the runs' resumption and bad input."""

import json

import pytest

from levinthal.cli.main import main


def _json(capsys, argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def lj7_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("explore") / "lj7.db"
    assert main(["explore", "lj7", "--method", "bh", "--steps", "60", "--db", str(path), "--quiet"]) == 0
    assert main(["explore", "lj7", "--method", "grow", "--steps", "8", "--db", str(path), "--quiet"]) == 0
    return path


def test_explore_stores_the_lj7_minima_and_grow_connects_them(lj7_db, capsys):
    out = _json(capsys, ["db", "summary", "--db", str(lj7_db), "--system", "lj7"])
    system = out["systems"][0] if isinstance(out.get("systems"), list) else out
    text = json.dumps(system)
    assert "-16.5053841" in text  # the global minimum is stored
    g = _json(capsys, ["dgraph", "lj7", "--db", str(lj7_db), "--out", str(lj7_db.parent / "dg.png")])
    assert g["global_minimum"]["energy"] == pytest.approx(-16.505384, abs=1e-6)
    assert g["transition_states"] >= 3 and g["minima_shown"] == g["minima"]
    assert g["funnels"][0]["bottom_energy"] == pytest.approx(-16.505384, abs=1e-6)
    assert (lj7_db.parent / "dg.png").stat().st_size > 1000


def test_rates_satisfy_detailed_balance_between_the_two_lowest_minima(lj7_db, capsys):
    r = _json(capsys, ["rates", "lj7", "--db", str(lj7_db), "--temperature", "0.1", "--committors",
                       "--heat-capacity", "0.02", "0.3"])
    # Steady-state rate constants obey p_A k_AB = p_B k_BA (Wales 2009).
    assert r["p_a"] * r["k_ss_ab"] == pytest.approx(r["p_b"] * r["k_ss_ba"], rel=1e-8)
    assert r["committors"][str(r["source_ids"][0])] == 0.0
    assert r["committors"][str(r["target_ids"][0])] == 1.0
    assert max(r["thermo"]["heat_capacity"]) > 15.0  # κ = 15 harmonic modes, plus the isomerisation peak


def test_explore_resumes_an_unfinished_run_and_refuses_bad_input(tmp_path, capsys):
    db = str(tmp_path / "r.db")
    first = _json(capsys, ["explore", "lj7", "--steps", "20", "--db", db, "--seed", "3"])
    assert first["minima_stored"] >= 1 and not first["resumed"]
    with pytest.raises(SystemExit, match="temperature must be positive"):
        main(["explore", "lj7", "--temperature", "-1", "--db", db])
    with pytest.raises(SystemExit, match="no minima"):
        main(["dgraph", "lj13", "--db", db])
    with pytest.raises(SystemExit, match="transition states"):
        main(["rates", "lj7", "--db", db, "--temperature", "0.1"])


def test_a_killed_explore_run_resumes_from_the_database(tmp_path):
    """SIGKILL an explore process mid-run: every minimum it committed is still there, and the
    same command resumes the unfinished run from its checkpoint instead of starting afresh."""
    import signal
    import subprocess
    import sys
    import time

    from levinthal.network import Database

    db = tmp_path / "killed.db"
    cmd = [sys.executable, "-m", "levinthal.cli.main", "explore", "lj13", "--steps", "100000",
           "--db", str(db), "--checkpoint-every", "5", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait for the first checkpoint to be committed
            time.sleep(0.5)
            if db.exists():
                with Database(db, create=False) as d:
                    runs = d.runs("lj13")
                    if runs and d.load_checkpoint(runs[0]) is not None and d.count_minima("lj13") > 0:
                        break
        else:
            pytest.fail("no checkpoint within 120 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with Database(db, create=False) as d:
        stored = [(m.id, m.energy) for m in d.minima("lj13")]
        run = d.runs("lj13")[0]
        assert run.status != "finished"
    # The same command again (a wall-clock budget is not a search parameter: the run resumes).
    out = subprocess.run([*cmd[:-1], "--json", "--max-seconds", "2"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["resumed"] and report["run"] == run.id
    with Database(db, create=False) as d:
        after = {(m.id, m.energy) for m in d.minima("lj13")}
    assert set(stored) <= after  # nothing committed before the kill was lost


def test_rates_use_the_global_minimums_component_only(lj7_db, tmp_path, capsys):
    """A point stored by a search but joined by no transition state (and without Hessian data)
    has no rates: the command works on the global minimum's component and says how many stored
    minima that leaves out."""
    import shutil

    import numpy as np

    from levinthal.network import Database
    from levinthal.systems import make_system

    path = tmp_path / "extra.db"
    shutil.copy(lj7_db, path)
    L = make_system("lj7")
    with Database(path) as db:
        x = db.minima(L)[-1].x.copy()
        x[:3] += 5.0  # a far, different structure: stored without Hessian data or transition states
        db.add_minimum(L, x, L.energy(x), landscape=L)
        n_all = db.count_minima(L)
    r = _json(capsys, ["rates", "lj7", "--db", str(path), "--temperature", "0.1"])
    assert r["p_a"] * r["k_ss_ab"] == pytest.approx(r["p_b"] * r["k_ss_ba"], rel=1e-8)
    assert main(["rates", "lj7", "--db", str(path), "--temperature", "0.1"]) == 0
    assert f"(of {n_all} stored)" in capsys.readouterr().out
    assert np.isfinite(r["mfpt_ab"])


def test_explore_with_symmetrisation_finds_lj38_and_refuses_misuse(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    out = _json(capsys, ["explore", "lj38", "--method", "ga", "--walkers", "20", "--symmetrise", "0.3",
                         "--steps", "40", "--target", "-173.928427", "--seed", "2", "--db", db])
    assert out["converged"] and out["lowest"][0]["energy"] == pytest.approx(-173.928427, abs=1e-5)
    with pytest.raises(SystemExit, match="--symmetrise needs --method bh or ga"):
        main(["explore", "lj13", "--method", "pt", "--symmetrise", "0.2", "--db", db])
    with pytest.raises(SystemExit, match="pair potential"):
        main(["explore", "bln46", "--method", "bh", "--symmetrise", "0.2", "--db", db])
