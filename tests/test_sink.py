"""The in-memory MinimaSink: duplicates merged by energy AND symmetry-aware geometry, for
clusters (rotated, permuted copies) and networks (tensors); checkpoints survive a restart."""

import numpy as np
import pytest

from levinthal.explore.sink import InMemoryMinima, MinimaSink
from levinthal.minimize import minimize
from levinthal.symmetry.clusters import random_rotation
from levinthal.systems import make_system


def test_cluster_copies_merge_and_distinct_minima_do_not():
    L = make_system("lj7")
    rng = np.random.default_rng(0)
    found = {}
    while len(found) < 2:
        r = minimize(L, L.random_point(rng))
        found.setdefault(round(r.energy, 4), r.x)
    (_, x1), (_, x2) = sorted(found.items())
    sink = InMemoryMinima(L)
    assert isinstance(sink, MinimaSink)
    assert sink.add_minimum(x1, L.energy(x1)) == (0, True)
    P = x1.reshape(-1, 3) @ random_rotation(rng).T + 3.0
    copy = P[rng.permutation(7)].ravel()
    assert sink.add_minimum(copy, L.energy(copy)) == (0, False)
    # A different structure offered with the first one's energy is still a new minimum.
    assert sink.add_minimum(x2, L.energy(x1)) == (1, True)
    assert sink.minima[0].hits == 2 and len(sink) == 2


def test_network_minima_are_compared_as_tensors():
    L = make_system("mlp-digits")
    x = L.initial_point()
    sink = InMemoryMinima(L)
    assert sink.add_minimum(x, 1.0) == (0, True)
    assert sink.add_minimum(x.clone(), 1.0) == (0, False)
    assert sink.add_minimum(1.01 * x, 1.0) == (1, True)


def test_checkpoint_file_round_trip_and_corruption(tmp_path):
    path = tmp_path / "run.ckpt"
    sink = InMemoryMinima(checkpoint_path=path)
    sink.add_minimum(np.zeros(3), -1.0)
    sink.save_checkpoint({"step": 7, "x": np.arange(3.0)})
    again = InMemoryMinima(checkpoint_path=path)
    state = again.load_checkpoint()
    assert state["step"] == 7 and np.array_equal(state["x"], np.arange(3.0))
    assert len(again) == 1 and again.minima[0].energy == -1.0
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="corrupt"):
        InMemoryMinima(checkpoint_path=path).load_checkpoint()
    with pytest.raises(ValueError, match="non-finite"):
        sink.add_minimum(np.zeros(3), float("nan"))


def test_energy_index_finds_the_same_duplicates_as_a_full_scan():
    """Points on a line with energies drawn from a few levels: the sorted-energy window must merge
    exactly the pairs a brute-force scan over every stored minimum would merge."""
    rng = np.random.default_rng(7)
    sink = InMemoryMinima(None, energy_tol=1e-6, distance_tol=1e-3)
    kept: list[tuple[float, np.ndarray]] = []
    for _ in range(400):
        e = float(rng.integers(0, 25)) + rng.choice([0.0, 5e-7, 3e-6])
        x = np.array([float(rng.integers(0, 3)), 0.0])
        match = next((k for k, (ek, xk) in enumerate(kept)
                      if abs(ek - e) <= 1e-6 and np.linalg.norm(xk - x) <= 1e-3), None)
        mid, new = sink.add_minimum(x, e)
        assert new == (match is None)
        if match is None:
            kept.append((e, x))
            assert mid == len(kept) - 1
        else:
            assert mid == match
    assert len(sink) == len(kept)
    assert [m.energy for m in sink.lowest(5)] == sorted(e for e, _ in kept)[:5]
