"""Disconnectivity graphs (Becker & Karplus 1997) and minimax barriers, checked on a network built by hand.

The hand-built network (energies and transition states below) has a tree worked out on paper
in the comments; the LJ7 check builds a real network with ``connect`` between the two lowest
minima (reference energies −16.50538417 and −15.93504306, Wales & Doye 1997).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.landscape.errors import LandscapeError
from levinthal.network.barriers import minimax_energies, minimax_path, minimum_spanning_tree
from levinthal.network.dgraph import disconnectivity_graph, energy_levels
from levinthal.network.graph import KineticNetwork

# minima 0..6; 6 is disconnected. TS 5 is a self-loop, TS 6 a higher parallel channel 1–2.
E = [0.0, 0.3, 1.2, 0.6, 1.8, 0.9, 2.5]
PAIRS = [(0, 1), (1, 2), (0, 3), (3, 5), (3, 4), (5, 5), (2, 1)]
TS = [2.0, 3.0, 5.0, 2.4, 4.0, 3.5, 3.6]
LEVELS = [5.5, 4.5, 3.5, 2.5, 1.5, 0.5]


@pytest.fixture(scope="module")
def net():
    return KineticNetwork.from_arrays(E, TS, PAIRS)


def _node_of(g, minima):
    hits = [nd for nd in g.nodes if sorted(nd.minima.tolist()) == sorted(minima)]
    assert len(hits) == 1, (minima, hits)
    return hits[0]


def test_hand_built_tree_has_the_superbasins_worked_out_by_hand(net):
    g = disconnectivity_graph(net, levels=LEVELS)
    # 5.5: {0,1,2,3,4,5}; 4.5: {0,1,2} {3,4,5}; 3.5: {0,1,2} {3,5} 4; 2.5: {0,1} 2 {3,5}; 1.5: all apart
    root = _node_of(g, [0, 1, 2, 3, 4, 5])
    assert g.roots == [root.id] and root.parent is None and (root.top, root.bottom) == (5.5, 5.5)
    x, y = _node_of(g, [0, 1, 2]), _node_of(g, [3, 4, 5])
    assert root.children == [x.id, y.id]  # lowest basin first
    assert (x.top, x.bottom) == (4.5, 3.5) and (y.top, y.bottom) == (4.5, 4.5)
    a, b = _node_of(g, [0, 1]), _node_of(g, [3, 5])
    assert x.children == [a.id, g.leaf_of[2]] and y.children == [b.id, g.leaf_of[4]]
    assert (a.top, a.bottom) == (2.5, 2.5) and (b.top, b.bottom) == (3.5, 2.5)
    assert a.children == [g.leaf_of[0], g.leaf_of[1]] and b.children == [g.leaf_of[3], g.leaf_of[5]]
    tops = {i: g.nodes[g.leaf_of[i]].top for i in range(6)}
    assert tops == {0: 1.5, 1: 1.5, 2: 2.5, 3: 1.5, 4: 3.5, 5: 1.5}
    assert all(g.nodes[g.leaf_of[i]].bottom == E[i] for i in range(6))
    # layout: leaves left to right 0 1 2 3 5 4, internal nodes at the mean of their children
    assert g.shown.tolist() == [0, 1, 2, 3, 5, 4]
    assert [g.x_of_minimum(i) for i in (0, 1, 2, 3, 5, 4)] == [0, 1, 2, 3, 4, 5]
    assert (a.x, x.x, b.x, y.x, root.x) == (0.5, 1.25, 3.5, 4.25, 2.75)
    assert ((root.x, 5.5), (x.x, 4.5)) in g.segments()
    assert ((x.x, 4.5), (x.x, 3.5)) in g.segments()
    n_vertical = sum(nd.top != nd.bottom for nd in g.nodes)
    assert len(g.segments()) == n_vertical + len(g.nodes) - 1


def test_merge_levels_are_the_lowest_levels_above_the_minimax_barriers(net):
    g = disconnectivity_graph(net, levels=LEVELS)
    assert g.merge_energy(0, 1) == 2.5  # minimax 2.0
    assert g.merge_energy(0, 2) == 3.5  # minimax 3.0 (the parallel 3.6 channel is not the lowest)
    assert g.merge_energy(3, 4) == 4.5
    assert g.merge_energy(2, 5) == 5.5
    p = minimax_path(net, 2, 5)
    assert p.minima == [2, 1, 0, 3, 5] and p.transition_states == [1, 0, 2, 3]
    assert p.highest_energy == 5.0 and p.highest_ts == 2
    assert p.barrier_forward == pytest.approx(5.0 - 1.2) and p.barrier_backward == pytest.approx(5.0 - 0.9)
    assert minimax_energies(net, 0).tolist() == [0.0, 2.0, 3.0, 5.0, 5.0, 5.0, np.inf]
    assert not minimax_path(net, 0, 6).connected
    sets = minimax_path(net, [2, 4], [0, 5])  # 2 joins 0 at 3.0 before anything joins at 5.0
    assert sets.minima == [2, 1, 0] and sets.highest_energy == 3.0
    assert sorted(minimum_spanning_tree(net).tolist()) == [0, 1, 2, 3, 4]


def test_disconnected_minima_are_pruned_unless_asked_for(net):
    assert 6 not in disconnectivity_graph(net, levels=LEVELS).leaf_of
    g = disconnectivity_graph(net, levels=LEVELS, connected_to_global_minimum=False)
    assert len(g.roots) == 2 and g.nodes[g.roots[1]].minimum == 6 and g.x_of_minimum(6) == 6
    assert g.merge_energy(0, 6) == np.inf


def test_hidden_minima_still_join_the_basins_they_lie_between(net):
    g = disconnectivity_graph(net, levels=LEVELS, minima=[0, 5])  # 5 reaches 0 only through hidden 3
    root = g.nodes[g.roots[0]]
    assert root.minima.tolist() == [0, 5] and root.bottom == 5.5
    assert [g.nodes[c].minimum for c in root.children] == [0, 5]
    lowest3 = disconnectivity_graph(net, levels=LEVELS, n_minima=3)
    assert sorted(lowest3.leaf_of) == [0, 1, 3]
    assert lowest3.merge_energy(1, 3) == 5.5


def test_energy_levels_steps_and_energy_cut(net):
    assert np.allclose(energy_levels(net, delta=1.0, top=5.5), LEVELS)
    assert np.allclose(energy_levels(net, n_levels=10), np.arange(10, 0, -1) * 0.5)  # top: highest TS 5.0
    cut = disconnectivity_graph(net, energy_max=4.2, n_levels=4)
    assert sorted(cut.leaf_of) == [0, 1, 2] and cut.levels[0] == 4.2
    with pytest.raises(LandscapeError, match="delta"):
        energy_levels(net, delta=0.0)


def test_center_global_minimum_puts_it_in_the_middle_of_its_siblings():
    star = KineticNetwork.from_arrays([0.3, 0.1, 0.0, 0.2, 0.4], [1.0] * 4, [(2, 0), (2, 1), (2, 3), (2, 4)])
    g = disconnectivity_graph(star, levels=[1.5, 0.5])
    assert g.shown.tolist() == [2, 1, 3, 0, 4]
    c = disconnectivity_graph(star, levels=[1.5, 0.5], center_global_minimum=True)
    assert c.shown.tolist() == [1, 3, 2, 0, 4] and c.x_of_minimum(2) == 2.0


def test_plot_draws_every_segment_and_colours_minima(net, tmp_path):
    from matplotlib.collections import LineCollection

    from levinthal.plots.dgraph import plot_disconnectivity_graph

    g = disconnectivity_graph(net, levels=LEVELS)
    out = tmp_path / "dgraph.png"
    _, ax = plot_disconnectivity_graph(g, str(out), color_by=np.array(E), color_label="E", label_minima=True)
    assert out.stat().st_size > 1000
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(collections[0].get_segments()) == len(g.segments()) + 1  # and the root's trunk
    assert len(collections[1].get_segments()) == 6  # one coloured line per shown minimum
    with pytest.raises(ValueError, match="color_by"):
        plot_disconnectivity_graph(g, color_by=np.zeros(3))


@st.composite
def random_networks(draw):
    n = draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    E = np.round(rng.uniform(0, 3, n), 3)
    m = draw(st.integers(0, 12))
    pairs = rng.integers(0, n, (m, 2))
    ts = np.maximum(E[pairs[:, 0]], E[pairs[:, 1]]) + np.round(rng.uniform(0.01, 2, m), 3)
    return KineticNetwork.from_arrays(E, ts, pairs), draw(st.integers(1, 12))


@settings(max_examples=60, deadline=None)
@given(random_networks())
def test_tree_contains_every_shown_minimum_exactly_once_and_children_partition_parents(case):
    net, n_levels = case
    g = disconnectivity_graph(net, n_levels=n_levels, connected_to_global_minimum=False)
    leaves = [nd.minimum for nd in g.nodes if nd.is_leaf]
    assert sorted(leaves) == list(range(net.n_minima))
    assert sorted(g.x_of_minimum(i) for i in range(net.n_minima)) == list(range(net.n_minima))
    for nd in g.nodes:
        if not nd.is_leaf:
            kids = np.concatenate([g.nodes[c].minima for c in nd.children])
            assert sorted(kids.tolist()) == nd.minima.tolist()
            assert all(g.nodes[c].top <= nd.bottom for c in nd.children)
            assert len(nd.children) >= 2
    # merging in the tree happens at the first level at or above the minimax barrier
    for i in range(net.n_minima):
        mm = minimax_energies(net, i)
        for j in range(i + 1, net.n_minima):
            above = g.levels[g.levels >= mm[j]]
            expect = float(above.min()) if above.size else np.inf
            assert g.merge_energy(i, j) == expect


@settings(max_examples=60, deadline=None)
@given(random_networks())
def test_minimax_path_is_a_real_path_whose_top_is_the_minimax_energy(case):
    net, _ = case
    mm = minimax_energies(net, 0)
    for j in range(1, net.n_minima):
        p = minimax_path(net, 0, j)
        assert p.connected == np.isfinite(mm[j])
        if p.connected:
            assert p.minima[0] == 0 and p.minima[-1] == j
            for k, t in enumerate(p.transition_states):
                assert set(net.ts_minima[t].tolist()) == {p.minima[k], p.minima[k + 1]}
            assert p.highest_energy == mm[j]


@pytest.mark.slow
def test_lj7_connect_network_dgraph_has_the_global_minimum_at_the_bottom(tmp_path):
    from levinthal.minimize import minimize
    from levinthal.network.graph import from_connect
    from levinthal.paths.connect import connect
    from levinthal.plots.dgraph import plot_disconnectivity_graph
    from levinthal.systems import make_system

    lj = make_system("lj7")
    d = 2 ** (1 / 6)  # pentagonal bipyramid and capped octahedron, nearest-neighbour distance d
    r = d / (2 * np.sin(np.pi / 5))
    h = np.sqrt(d * d - r * r)
    pbp = [[r * np.cos(2 * np.pi * k / 5), r * np.sin(2 * np.pi * k / 5), 0] for k in range(5)]
    pbp += [[0, 0, h], [0, 0, -h]]
    a = d / np.sqrt(2)
    octa = [[a, 0, 0], [-a, 0, 0], [0, a, 0], [0, -a, 0], [0, 0, a], [0, 0, -a]]
    cap = np.full(3, a / 3) + np.sqrt(d * d - 2 * a * a / 3) * np.ones(3) / np.sqrt(3)
    qa = minimize(lj, np.array(pbp, dtype=float).ravel(), rms_tol=1e-7)
    qb = minimize(lj, np.array([*octa, list(cap)]).ravel(), rms_tol=1e-7)
    r = connect(lj, qa.x, qb.x, rng=1)
    assert r.converged, r.message
    net = from_connect(r, lj)
    assert np.all(net.n_zero_modes == 6) and np.all(np.isfinite(net.log_product_frequencies))
    assert net.energies[0] == pytest.approx(-16.50538417, abs=1e-6)
    g = disconnectivity_graph(net, n_levels=8)
    gm = g.nodes[g.leaf_of[net.global_minimum]]
    assert net.global_minimum == 0 and gm.bottom == pytest.approx(-16.50538417, abs=1e-6)
    assert gm.bottom == min(nd.bottom for nd in g.nodes)
    assert g.shown[0] == 0 and g.nodes[g.roots[0]].minima.tolist() == list(range(net.n_minima))
    assert g.merge_energy(0, 1) >= r.highest_barrier + net.energies[0] - 1e-9
    plot_disconnectivity_graph(g, str(tmp_path / "lj7.png"))
    assert (tmp_path / "lj7.png").stat().st_size > 1000


def test_from_records_reads_landscape_results_and_database_style_records():
    from types import SimpleNamespace

    from levinthal.landscape.results import Minimum, TransitionState

    x = np.zeros(6)
    mins = [Minimum(x=x, energy=-1.0, n_zero_modes=3, log_product_frequencies=0.5, point_group_order=2),
            Minimum(x=x, energy=-0.5, n_zero_modes=3, log_product_frequencies=0.1)]
    ts = [TransitionState(x=x, energy=0.2, eigenvalue=-1.0, unstable_mode=x, minus=1, plus=0,
                          log_product_frequencies=0.3)]
    net = KineticNetwork.from_records(mins, ts)
    assert net.dim == 6 and net.kappa().tolist() == [3, 3]
    assert net.ts_minima.tolist() == [[1, 0]] and net.point_group_orders.tolist() == [2, 1]
    assert net.log_product_frequencies.tolist() == [0.5, 0.1]
    assert net.ts_log_product_frequencies.tolist() == [0.3]
    # database-style records: own ids, minimum1/minimum2
    rows = [SimpleNamespace(id=i, energy=e) for i, e in ((10, 0.0), (42, 0.4), (7, 0.1))]
    trs = [SimpleNamespace(id=3, energy=1.0, minimum1=42, minimum2=7),
           SimpleNamespace(energy=2.0, minimum1=7, minimum2=10)]
    net = KineticNetwork.from_records(rows, trs)
    assert net.ids.tolist() == [10, 42, 7] and net.ts_minima.tolist() == [[1, 2], [2, 0]]
    assert net.index_of(42) == 1 and net.components().tolist() == [0, 0, 0]
    sub = net.subnetwork([0, 2])
    assert sub.ids.tolist() == [10, 7] and sub.ts_minima.tolist() == [[1, 0]]
    assert sub.ts_energies.tolist() == [2.0]
    with pytest.raises(LandscapeError, match="not among the minima"):
        KineticNetwork.from_records(rows, [SimpleNamespace(energy=1.0, minimum1=42, minimum2=99)])
    with pytest.raises(LandscapeError, match="both minima"):
        KineticNetwork.from_records(rows, [SimpleNamespace(energy=1.0, minimum1=42, minimum2=None)])
    open_end = [SimpleNamespace(id=1, energy=1.0, minimum1_id=42, minimum2_id=10),
                SimpleNamespace(id=2, energy=1.5, minimum1_id=42, minimum2_id=None)]
    net = KineticNetwork.from_records(iter(rows), iter(open_end), skip_unconnected=True)
    assert net.ts_minima.tolist() == [[1, 0]] and net.ts_ids.tolist() == [1]


def test_inconsistent_arrays_are_refused_with_a_reason():
    with pytest.raises(LandscapeError, match="lies below"):
        KineticNetwork.from_arrays([0.0, 1.0], [0.5], [[0, 1]])
    with pytest.raises(LandscapeError, match="indices"):
        KineticNetwork.from_arrays([0.0, 1.0], [2.0], [[0, 2]])
    with pytest.raises(LandscapeError, match="non-finite"):
        KineticNetwork.from_arrays([0.0, np.nan], [2.0], [[0, 1]])
    with pytest.raises(LandscapeError, match="point_group_orders"):
        KineticNetwork.from_arrays([0.0, 1.0], [2.0], [[0, 1]], point_group_orders=[0, 1])
    with pytest.raises(LandscapeError, match="shape"):
        KineticNetwork.from_arrays([0.0, 1.0], [2.0], [[0, 1]], log_product_frequencies=[1.0])
    with pytest.raises(LandscapeError, match="no minima"):
        KineticNetwork.from_arrays([], [], np.zeros((0, 2)))


def test_network_from_the_database_records(tmp_path):
    pytest.importorskip("sqlalchemy")
    from levinthal.network.database import Database

    db = Database(f"sqlite:///{tmp_path / 'net.db'}")
    recs = [db.add_minimum("toy", np.array([float(k), 0.0]), e, log_product_frequencies=0.1 * k)[0]
            for k, e in enumerate([0.0, 0.7, 0.4])]
    db.add_transition_state("toy", np.array([0.5, 0.1]), 1.0, minimum1=recs[0], minimum2=recs[1])
    db.add_transition_state("toy", np.array([1.5, 0.1]), 1.3, minimum1=recs[1], minimum2=recs[2])
    db.add_transition_state("toy", np.array([9.0, 9.0]), 2.0)  # endpoints not yet known
    net = KineticNetwork.from_records(db.minima("toy"), db.transition_states("toy"), skip_unconnected=True)
    by_id = {r.id: k for k, r in enumerate(db.minima("toy"))}
    assert net.dim == 2 and net.n_minima == 3 and net.n_transition_states == 2
    pairs = {tuple(sorted(net.ids[p].tolist())) for p in net.ts_minima}
    assert pairs == {tuple(sorted((recs[0].id, recs[1].id))), tuple(sorted((recs[1].id, recs[2].id)))}
    assert net.energies[by_id[recs[1].id]] == 0.7
    g = disconnectivity_graph(net, levels=[1.5, 1.1, 0.5])
    assert g.merge_energy(by_id[recs[0].id], by_id[recs[2].id]) == 1.5
