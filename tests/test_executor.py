"""The executor interface: serial and process executors give the same results, in item order."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from levinthal.explore.basin_hopping import basin_hopping
from levinthal.explore.executor import Executor, ProcessExecutor, Quench, SerialExecutor
from levinthal.minimize import minimize
from levinthal.systems.registry import make_system


def test_both_executors_satisfy_the_protocol():
    assert isinstance(SerialExecutor(), Executor)
    assert isinstance(ProcessExecutor(max_workers=1), Executor)
    with pytest.raises(ValueError, match="max_workers"):
        ProcessExecutor(max_workers=0)


def test_quench_by_registry_name_equals_a_direct_minimisation():
    L = make_system("lj7")
    x0 = L.random_point(np.random.default_rng(0))
    direct = minimize(L, x0)
    by_name = Quench("lj7")(x0)
    np.testing.assert_array_equal(by_name.x, direct.x)
    assert by_name.energy == direct.energy and by_name.converged
    assert by_name.gradient_calls == direct.counts.gradient
    restored = pickle.loads(pickle.dumps(Quench(L, {"rms_tol": 1e-6})))
    assert restored(x0).energy == pytest.approx(direct.energy, abs=1e-9)


def test_process_executor_gives_the_serial_result_for_quenches_and_basin_hopping():
    L = make_system("lj7")
    rng = np.random.default_rng(1)
    X = [L.random_point(rng) for _ in range(6)]
    serial = SerialExecutor().map(Quench("lj7"), X)
    with ProcessExecutor(max_workers=2) as ex:
        parallel = ex.map(Quench("lj7"), X)  # rebuilt from the registry name in each worker
        pickled = ex.map(Quench(L), X)  # the landscape itself pickled to the workers
        bh_parallel = basin_hopping(L, n_steps=6, n_walkers=3, seed=4, executor=ex)
    for a, b, c in zip(serial, parallel, pickled, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.x, c.x)
        assert a.energy == b.energy == c.energy
    bh_serial = basin_hopping(L, n_steps=6, n_walkers=3, seed=4, executor=SerialExecutor())
    np.testing.assert_array_equal(bh_parallel.walkers.X, bh_serial.walkers.X)
    assert bh_parallel.history == bh_serial.history
    assert bh_parallel.energy == bh_serial.energy
