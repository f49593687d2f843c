"""Growing a kinetic transition network in the database: LJ7's minima joined by verified
transition states, with Hessian data stored, and a run that resumes without repeating pairs."""

import numpy as np
import pytest

from levinthal.curvature import dense_hessian, eigh_projected, zero_modes_of
from levinthal.landscape import LandscapeError
from levinthal.minimize import minimize
from levinthal.network import Database
from levinthal.network.grow import database_network, grow_network, stationary_point_data
from levinthal.systems import make_system

LJ7_LOWEST = [-16.505384, -15.935044]  # pentagonal bipyramid, capped octahedron (4 minima in all)


@pytest.fixture(scope="module")
def lj7_minima():
    L = make_system("lj7")
    rng = np.random.default_rng(1)
    found = {}
    for _ in range(200):
        r = minimize(L, L.random_point(rng), rms_tol=1e-8)
        found.setdefault(round(r.energy, 5), r.x)
        if len(found) == 4:
            break
    xs = [found[k] for k in sorted(found)]
    assert len(xs) == 4
    assert [L.energy(x) for x in xs[:2]] == pytest.approx(LJ7_LOWEST, abs=2e-6)
    return L, xs


def test_stationary_point_data_of_the_lj7_global_minimum(lj7_minima):
    L, xs = lj7_minima
    d = stationary_point_data(L, xs[0], "minimum")
    w, _ = eigh_projected(dense_hessian(L, xs[0]), zero_modes_of(L, xs[0]))
    assert d["n_zero_modes"] == 6 and d["point_group_order"] == 20
    assert d["log_product_frequencies"] == pytest.approx(np.log(w).sum(), rel=1e-12)
    with pytest.raises(LandscapeError, match="index 0"):
        stationary_point_data(L, xs[0], "ts")


def test_grow_joins_every_lj7_minimum_and_resumes(tmp_path, lj7_minima):
    L, xs = lj7_minima
    db = Database(tmp_path / "lj7.db")
    run = db.start_run(L, "grow", {"test": 1}, seed=0)
    for x in xs:
        db.add_minimum(L, x, L.energy(x), landscape=L)
    first = grow_network(db, L, run=run, n_connections=1, rng=0)
    assert first.attempts == 1
    assert [tuple(p) for p in db.load_checkpoint(run)["tried"]] == [first.pairs[0][:2]]
    again = grow_network(db, L, run=run, n_connections=10, rng=0)
    assert first.pairs[0][:2] not in [p[:2] for p in again.pairs]  # resumed: the tried pair is skipped
    assert again.all_connected, again.message
    net = database_network(db, L)
    assert net.n_minima >= 4 and net.n_transition_states >= 3
    labels = net.components()
    assert np.all(labels == labels[net.global_minimum])
    assert net.energies[net.global_minimum] == pytest.approx(-16.505384, abs=1e-6)
    for t in db.transition_states(L):  # every stored TS: index 1, data stored
        w, _ = eigh_projected(dense_hessian(L, t.x), zero_modes_of(L, t.x))
        assert np.sum(w < 0) == 1 and t.eigenvalue == pytest.approx(np.min(w), rel=1e-8)
        assert t.log_product_frequencies == pytest.approx(np.log(np.sort(w)[1:]).sum(), rel=1e-10)
        assert t.minimum1_id is not None and t.minimum2_id is not None
    assert all(m.log_product_frequencies is not None for m in db.minima(L))


def test_fill_hessian_data_completes_minima_stored_by_a_search(tmp_path, lj7_minima):
    from levinthal.network.grow import fill_hessian_data

    L, xs = lj7_minima
    db = Database(tmp_path / "fill.db")
    for x in xs:
        db.add_minimum(L, x, L.energy(x), landscape=L)
    assert fill_hessian_data(db, L) == 4 and fill_hessian_data(db, L) == 0
    gm = db.minima(L)[0]
    ref = stationary_point_data(L, xs[0], "minimum")
    assert gm.hits == 1 and gm.point_group_order == 20
    assert gm.log_product_frequencies == pytest.approx(ref["log_product_frequencies"], rel=1e-12)
