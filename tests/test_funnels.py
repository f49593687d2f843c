"""Monotonic-sequence funnels (Berry & Kunz 1995) on a network whose funnels are known by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levinthal.landscape.errors import LandscapeError
from levinthal.network.funnels import funnels, monotonic_successors
from levinthal.network.graph import KineticNetwork
from levinthal.network.thermo import group_free_energy

# Two funnels, bottoms 0 (global) and 3, joined through 2–5–4 (highest TS 2.2) and 2–4 (2.6).
# Minimum 5 has a lower barrier to 2 (1.7) but a lower neighbour in 4 (0.8 < 1.0): the rule decides.
# Minimum 7 is disconnected.
E = [0.0, 0.5, 1.0, 0.3, 0.8, 1.5, 2.0, 0.1]
PAIRS = [(0, 1), (1, 2), (3, 4), (2, 4), (5, 2), (5, 4), (6, 5)]
TS = [1.2, 1.6, 1.1, 2.6, 1.7, 2.2, 2.5]


@pytest.fixture(scope="module")
def net():
    return KineticNetwork.from_arrays(E, TS, PAIRS, log_product_frequencies=np.zeros(8), dim=3)


def test_lowest_barrier_sequences_drain_to_the_bottoms_found_by_hand(net):
    f = funnels(net)
    assert f.successor.tolist() == [0, 0, 1, 3, 3, 2, 5, 7]
    assert f.bottom_of.tolist() == [0, 0, 0, 3, 3, 0, 0, 7]
    assert f.bottoms.tolist() == [0, 7, 3] and f.sizes.tolist() == [5, 1, 2]
    assert f.members(0).tolist() == [0, 1, 2, 5, 6] and f.members(2).tolist() == [3, 4]
    assert f.gaps == pytest.approx([0.0, 0.1, 0.3])
    # depth: minimax barrier to the global minimum (via 2–5–4, top 2.2), from each bottom
    assert f.depths[2] == pytest.approx(2.2 - 0.3)
    assert f.depths[1] == np.inf  # disconnected
    assert f.depths[0] == pytest.approx(2.2)  # the global funnel seen from inside: lowest way out
    assert f.fraction_global == pytest.approx(5 / 8)


def test_lowest_minimum_rule_sends_minimum_5_to_the_other_funnel(net):
    f = funnels(net, rule="lowest_minimum")
    assert f.bottom_of.tolist() == [0, 0, 0, 3, 3, 3, 3, 7]
    assert f.sizes.tolist() == [3, 1, 4] and f.fraction_global == pytest.approx(3 / 8)
    with pytest.raises(LandscapeError, match="rule"):
        monotonic_successors(net, rule="steepest")


def test_funnel_free_energies_come_from_the_labels(net):
    f = funnels(net)
    kT = 0.25
    F = group_free_energy(net, f.label, kT)
    # equal frequencies and orders: Z_i ∝ e^{−E_i/kT}, so F_funnel = −kT ln Σ e^{−E_i/kT} + const
    const = -kT * (3 * np.log(kT))
    ref = [-kT * np.log(np.exp(-np.asarray(E)[f.members(k)] / kT).sum()) + const for k in range(3)]
    assert F == pytest.approx(ref, rel=1e-12)


@st.composite
def random_networks(draw):
    n = draw(st.integers(1, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    E = rng.uniform(0, 3, n)
    m = draw(st.integers(0, 15))
    pairs = rng.integers(0, n, (m, 2))
    ts = np.maximum(E[pairs[:, 0]], E[pairs[:, 1]]) + rng.uniform(0.01, 2, m)
    return KineticNetwork.from_arrays(E, ts, pairs)


@settings(max_examples=60, deadline=None)
@given(random_networks(), st.sampled_from(["lowest_barrier", "lowest_minimum"]))
def test_sequences_descend_and_bottoms_have_no_lower_neighbour(net, rule):
    f = funnels(net, rule=rule)
    e = net.energies
    moved = f.successor != np.arange(net.n_minima)
    assert np.all(e[f.successor[moved]] < e[moved])
    assert np.all(e[f.bottom_of] <= e)
    for b in f.bottoms:
        nbrs = [j for k in net.edges() for i, j in (net.ts_minima[k], net.ts_minima[k][::-1]) if i == b]
        assert all(e[j] >= e[b] for j in nbrs)
    assert f.sizes.sum() == net.n_minima and f.bottoms[0] == net.global_minimum
    assert np.all(f.bottoms[f.label] == f.bottom_of)
    assert np.all(np.diff(e[f.bottoms]) >= 0) and np.all(f.depths[1:] >= 0)
