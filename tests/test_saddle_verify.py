"""verify_transition_state and descend_from_saddle against independent references.

Müller–Brown stationary points are solved here with ``scipy.optimize.root``; the minima a
saddle connects are the literature minima (Müller & Brown 1979).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import root
from scipy.spatial.transform import Rotation

from levinthal.landscape import TransitionState
from levinthal.saddles import descend_from_saddle, dimer, verify_transition_state
from levinthal.systems import make_system

MB = make_system("muller-brown")
MB_MINIMA = {"A": (-0.558224, 1.441726), "B": (0.623499, 0.028038), "C": (-0.050011, 0.466694)}


def stationary(guess, land=MB):
    sol = root(lambda x: land.energy_gradient(x)[1], np.array(guess), jac=land.hessian, tol=1e-12)
    assert np.abs(land.energy_gradient(sol.x)[1]).max() < 1e-8, sol.message
    return sol.x


@pytest.mark.parametrize("guess", [(-0.822, 0.624), (0.212, 0.293)])
def test_muller_brown_saddles_verify_as_transition_states_with_eigh_eigenpair(guess):
    x = stationary(guess)
    ts, reason = verify_transition_state(MB, x)
    assert isinstance(ts, TransitionState), reason
    w, U = np.linalg.eigh(MB.hessian(x))
    assert ts.eigenvalue == pytest.approx(w[0], rel=1e-10)
    assert abs(ts.unstable_mode @ U[:, 0]) == pytest.approx(1.0, abs=1e-10)
    assert ts.log_product_frequencies == pytest.approx(np.log(w[1]), rel=1e-10)
    assert ts.n_zero_modes == 0


@pytest.mark.parametrize("name", list(MB_MINIMA))
def test_muller_brown_minima_are_not_transition_states(name):
    ts, reason = verify_transition_state(MB, stationary(MB_MINIMA[name]))
    assert ts is None and "minimum" in reason


def test_non_stationary_point_and_index_two_point_are_not_transition_states():
    ts, reason = verify_transition_state(MB, np.array([-0.5, 0.5]))
    assert ts is None and "not stationary" in reason

    class Index2:
        name, dim = "x2-y2-z2", 3

        def energy_gradient(self, x):
            return float(x[0] ** 2 - x[1] ** 2 - x[2] ** 2), np.array([2 * x[0], -2 * x[1], -2 * x[2]])

        def energy(self, x):
            return self.energy_gradient(x)[0]

        def hvp(self, x, v):
            return np.array([2 * v[0], -2 * v[1], -2 * v[2]])

    ts, reason = verify_transition_state(Index2(), np.zeros(3))
    assert ts is None and "index 2" in reason


@pytest.mark.parametrize("guess, ends", [((-0.822, 0.624), {"A", "C"}), ((0.212, 0.293), {"B", "C"})])
def test_muller_brown_saddle_steepest_descent_ends_in_its_two_minima(guess, ends):
    ts, _ = verify_transition_state(MB, stationary(guess))
    minus, plus, path = descend_from_saddle(MB, ts, record_path=True)
    found = set()
    for m in (minus, plus):
        assert m.converged
        dist = {k: np.linalg.norm(m.x - np.array(v)) for k, v in MB_MINIMA.items()}
        k = min(dist, key=dist.get)
        assert dist[k] < 1e-4
        found.add(k)
    assert found == ends
    # the profile peaks at the saddle and falls monotonically along each side
    s, e = path["arc_length"], path["energy"]
    i0 = int(np.argmin(np.abs(s)))
    assert s[i0] == 0.0 and e[i0] == pytest.approx(ts.energy)
    assert np.all(np.diff(e[i0:]) <= 1e-9) and np.all(np.diff(e[: i0 + 1]) >= -1e-9)


def test_descend_refuses_a_point_that_is_not_a_saddle_along_its_mode():
    x = stationary(MB_MINIMA["C"])
    fake = TransitionState(x=x, energy=MB.energy(x), eigenvalue=-1.0, unstable_mode=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="does not drop"):
        descend_from_saddle(MB, fake)


@pytest.fixture(scope="module")
def lj7_ts():
    lj = make_system("lj7")
    from levinthal.minimize import minimize

    r = np.random.default_rng(0)
    best = min((minimize(lj, lj.random_point(r)) for _ in range(8)), key=lambda m: m.energy)
    res = dimer(lj, best.x + 0.05 * r.standard_normal(lj.dim), mode0=r.standard_normal(lj.dim))
    assert res.converged, res.message
    return lj, res.transition_state


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_lj7_transition_state_verifies_the_same_after_any_rotation_and_translation(lj7_ts, seed):
    lj, ts = lj7_ts
    r = np.random.default_rng(seed)
    R = Rotation.random(random_state=seed).as_matrix()
    y = (ts.x.reshape(-1, 3) @ R.T + r.normal(size=3)).ravel()
    ts2, reason = verify_transition_state(lj, y)
    assert ts2 is not None, reason
    assert ts2.eigenvalue == pytest.approx(ts.eigenvalue, rel=1e-6)
    assert ts2.n_zero_modes == 6


def test_saddle_cli_from_a_point_reports_the_muller_brown_saddle_and_its_minima(capsys, tmp_path):
    import json

    from levinthal.cli.main import main

    ref = stationary((0.212, 0.293))
    start = tmp_path / "start.npy"
    np.save(start, ref + np.array([0.05, -0.04]))
    png = tmp_path / "search.png"
    for method in ("dimer", "ef"):
        code = main(["saddle", "muller-brown", "--method", method, "--point", str(start), "--json",
                     "--plot", str(png)])
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["transition_state"], out["message"]
        assert out["index"] == 1
        assert out["energy"] == pytest.approx(MB.energy(ref), abs=1e-8)
        ends = sorted([out["minus"]["energy"], out["plus"]["energy"]])
        assert ends == pytest.approx(sorted([MB.energy(stationary(MB_MINIMA[k])) for k in "BC"]), abs=1e-6)
        assert png.stat().st_size > 0


def test_saddle_cli_exits_nonzero_when_no_transition_state_is_found(capsys, tmp_path):
    from levinthal.cli.main import main

    start = tmp_path / "min.npy"
    np.save(start, stationary(MB_MINIMA["A"]))
    code = main(["saddle", "muller-brown", "--method", "dimer", "--point", str(start),
                 "--max-iterations", "20"])
    out = capsys.readouterr().out
    assert code == 1 and "no transition state" in out


def test_searches_run_on_torch_tensors_and_return_tensors():
    torch = pytest.importorskip("torch")
    from levinthal.saddles import eigenvector_following

    class TorchQuartic:
        """E = (x₀² − 1)² + Σ_{i>0} (i+1) x_i²: saddle of index 1 at 0 (curvature −4), minima at x₀ = ±1."""

        name, dim = "torch-quartic", 4
        c = torch.tensor([0.0, 2.0, 3.0, 4.0], dtype=torch.float64)

        def energy_gradient(self, x):
            e = (x[0] ** 2 - 1) ** 2 + (self.c * x * x).sum()
            g = 2 * self.c * x
            g[0] = 4 * x[0] * (x[0] ** 2 - 1)
            return float(e), g

        def energy(self, x):
            return self.energy_gradient(x)[0]

        def hvp(self, x, v):
            h = 2 * self.c * v
            h[0] = (12 * x[0] ** 2 - 4) * v[0]
            return h

    land = TorchQuartic()
    x0 = torch.tensor([0.2, 0.1, -0.1, 0.05], dtype=torch.float64)
    for search in (dimer, eigenvector_following):
        res = search(land, x0, mode0=torch.tensor([1.0, 0.2, 0.0, 0.0], dtype=torch.float64))
        assert res.converged, res.message
        assert isinstance(res.x, torch.Tensor)
        assert float(res.x.abs().max()) < 1e-5
        assert res.transition_state.eigenvalue == pytest.approx(-4.0, rel=1e-6)
        minus, plus, _ = descend_from_saddle(land, res.transition_state)
        assert sorted(float(m.x[0]) for m in (minus, plus)) == pytest.approx([-1.0, 1.0], abs=1e-4)
