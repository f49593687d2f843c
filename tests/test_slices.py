"""Slices: directions (filter normalisation of Li et al. 2018), grids, PCA of trajectories, storage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levinthal.landscape.errors import LandscapeError
from levinthal.slices import (
    filter_normalize,
    grid_1d,
    grid_2d,
    interpolation_direction,
    orthogonalize,
    parameter_blocks,
    plane_through,
    random_directions,
)
from levinthal.slices.io import load_grid, save_grid
from levinthal.slices.trajectory import pca_directions, train, trajectory_grid
from levinthal.systems.networks.presets import cnn_digits, mlp_digits


@pytest.fixture(scope="module")
def mlp():
    return mlp_digits(seed=1, n_train=150)


@pytest.fixture(scope="module")
def cnn():
    return cnn_digits(seed=2, n_train=60, batch_norm=True)


class Quadratic:
    """E(x) = ½ xᵀ A x + bᵀ x with batched energies; NaN where x[0] > nan_above."""

    def __init__(self, A, b, nan_above=np.inf):
        self.A, self.b, self.dim, self.name = A, b, len(b), "quadratic"
        self.nan_above = nan_above

    def energy(self, x):
        return np.nan if x[0] > self.nan_above else float(0.5 * x @ self.A @ x + self.b @ x)

    def energies(self, X):
        E = 0.5 * np.einsum("ni,ij,nj->n", X, self.A, X) + X @ self.b
        return np.where(X[:, 0] > self.nan_above, np.nan, E)


class NoBatch:
    """A plain landscape without batched energies (forces the per-point loop)."""

    def __init__(self, inner):
        self.inner, self.dim, self.name = inner, inner.dim, "nobatch"

    def energy(self, x):
        return self.inner.energy(x)


@pytest.mark.parametrize(("method", "per_call"), [
    ("loop", None), ("batch", 4), ("affine-first", 1), ("affine-first", 4), ("auto", None)])
def test_mlp_grid_equals_one_by_one_energies(mlp, method, per_call):
    x = mlp.initial_point()
    d = random_directions(mlp, x, 2, seed=3)
    g = grid_2d(mlp, x, d, resolution=5, range=(-0.7, 0.9), method=method, points_per_call=per_call)
    d1, d2 = d.vectors
    ref = np.array([[mlp.energy(x + a * d1 + b * d2) for b in g.betas] for a in g.alphas])
    np.testing.assert_allclose(g.energies, ref, rtol=1e-12, atol=0)
    assert g.energies.shape == (5, 5)


@pytest.mark.parametrize(("method", "per_call"), [("batch", 2), ("affine-first", 1), ("affine-first", 2)])
def test_cnn_grid_with_batchnorm_equals_one_by_one_energies_and_accuracies(cnn, method, per_call):
    x = cnn.initial_point()
    d = random_directions(cnn, x, 2, seed=4, biases="include")
    g = grid_2d(cnn, x, d, resolution=3, method=method, points_per_call=per_call, accuracy=True)
    d1, d2 = d.vectors
    pts = [[x + a * d1 + b * d2 for b in g.betas] for a in g.alphas]
    np.testing.assert_allclose(g.energies, [[cnn.energy(p) for p in row] for row in pts], rtol=1e-12)
    np.testing.assert_array_equal(g.accuracies, [[cnn.accuracy(p) for p in row] for row in pts])


def test_affine_first_data_chunking_is_exact(mlp):
    from levinthal.slices.grid import _AffineFirst, _stack

    x = mlp.initial_point()
    d = random_directions(mlp, x, 2, seed=5).vectors
    ev = _AffineFirst(mlp, x, _stack(d, x), accuracy=False, points_per_call=3, memory_budget=3 * 8 * 32 * 7)
    assert len(ev._chunks) > 10  # 7 samples per chunk
    C = np.array([[0.1, -0.2], [0.5, 0.5], [-1.0, 0.3], [0.0, 0.0]])
    E, _ = ev(C)
    np.testing.assert_allclose(E, [mlp.energy(x + a * d[0] + b * d[1]) for a, b in C], rtol=1e-12)


@pytest.mark.parametrize("model_fixture", ["mlp", "cnn"])
def test_filter_normalised_direction_has_parameter_filter_norms(model_fixture, request):
    land = request.getfixturevalue(model_fixture)
    x = land.initial_point()
    d = random_directions(land, x, 1, seed=0).vectors[0]
    blocks = parameter_blocks(land)
    weights = [b for b in blocks if len(b.shape) >= 2]
    assert weights and len(weights) < len(blocks)
    for b in blocks:
        db = d[b.start : b.start + b.numel].reshape(b.shape)
        xb = x[b.start : b.start + b.numel].reshape(b.shape)
        if len(b.shape) >= 2:
            for i in range(b.shape[0]):  # one filter = one output row / output channel
                assert float(db[i].norm()) == pytest.approx(float(xb[i].norm()), rel=1e-8)
        else:  # biases and BatchNorm scale/shift: zeroed by default
            assert torch.count_nonzero(db) == 0


def test_bias_options_include_and_filter(cnn):
    x = cnn.initial_point()
    blocks = parameter_blocks(cnn)
    raw = torch.as_tensor(np.random.default_rng(0).standard_normal(cnn.dim), dtype=x.dtype)
    inc = filter_normalize(raw, x, blocks, "filter", "include")
    per = filter_normalize(raw, x, blocks, "filter", "filter")
    lay = filter_normalize(raw, x, blocks, "layer", "zero")
    for b in blocks:
        sl = slice(b.start, b.start + b.numel)
        if len(b.shape) == 1:
            assert float(inc[sl].norm()) == pytest.approx(float(x[sl].norm()), rel=1e-8)
            np.testing.assert_allclose(per[sl].abs().numpy(), x[sl].abs().numpy(), rtol=1e-8, atol=1e-9)
            if float(x[sl].norm()) > 0:  # BatchNorm shifts start at zero: their direction is zero too
                np.testing.assert_array_equal(torch.sign(inc[sl]).numpy(), torch.sign(raw[sl]).numpy())
        else:
            assert float(lay[sl].norm()) == pytest.approx(float(x[sl].norm()), rel=1e-8)


def test_orthogonalized_directions_are_orthogonal_and_keep_the_second_norm(mlp):
    x = mlp.initial_point()
    d = random_directions(mlp, x, 2, seed=7, orthogonal=True)
    raw = random_directions(mlp, x, 2, seed=7, orthogonal=False)
    d1, d2 = d.vectors
    assert abs(float(d1 @ d2)) < 1e-12 * float(d1.norm() * d2.norm())
    assert float(d2.norm()) == pytest.approx(float(raw.vectors[1].norm()), rel=1e-12)
    assert torch.equal(d1, raw.vectors[0])
    a = np.array([1.0, 0.0, 0.0])
    with pytest.raises(LandscapeError, match="parallel"):
        orthogonalize(a, 2 * a)


def test_unit_directions_of_a_cluster_avoid_its_zero_modes():
    from levinthal.systems import make_system

    lj = make_system("lj7")
    x = lj.random_point(np.random.default_rng(0))
    d = random_directions(lj, x, 2, seed=1, orthogonal=True)
    modes = lj.symmetry.zero_modes(x)
    for v in d.vectors:
        assert np.linalg.norm(v) == pytest.approx(1.0)
        np.testing.assert_allclose(modes @ v, 0.0, atol=1e-12)
    assert abs(d.vectors[0] @ d.vectors[1]) < 1e-12


def test_grid_over_a_quadratic_equals_the_closed_form():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((6, 6))
    A, b = B @ B.T, rng.standard_normal(6)
    q = Quadratic(A, b)
    x, d1, d2 = rng.standard_normal((3, 6))
    g = grid_2d(q, x, [d1, d2], resolution=7, range=(-2.0, 1.0))
    al, be = np.meshgrid(g.alphas, g.betas, indexing="ij")
    gx = A @ x + b
    closed = (0.5 * x @ A @ x + b @ x + al * (gx @ d1) + be * (gx @ d2) + 0.5 * al**2 * (d1 @ A @ d1)
              + al * be * (d1 @ A @ d2) + 0.5 * be**2 * (d2 @ A @ d2))
    np.testing.assert_allclose(g.energies, closed, rtol=1e-12, atol=1e-12)
    line = grid_1d(NoBatch(q), x, d1, alphas=[-1.0, 0.0, 0.5])
    np.testing.assert_allclose(line.energies, closed[0, 0] * 0 + [q.energy(x + a * d1) for a in (-1, 0, 0.5)],
                               rtol=1e-14)
    assert line.metadata["evaluator"]["method"] == "loop"


@pytest.mark.parametrize("wrap", [False, True])
def test_nan_region_is_recorded_as_nan_not_an_error(wrap):
    q = Quadratic(np.eye(2), np.zeros(2), nan_above=0.25)
    land = NoBatch(q) if wrap else q
    g = grid_2d(land, np.zeros(2), [np.array([1.0, 0.0]), np.array([0.0, 1.0])], resolution=5)
    holes = np.isnan(g.energies)
    np.testing.assert_array_equal(holes, np.broadcast_to((g.alphas > 0.25)[:, None], (5, 5)))
    np.testing.assert_allclose(g.energies[~holes], 0.5 * np.add.outer(g.alphas**2, g.betas**2)[~holes])


def test_zero_norm_direction_is_refused(mlp):
    x = mlp.initial_point()
    with pytest.raises(LandscapeError, match="norm 0"):
        grid_1d(mlp, x, torch.zeros_like(x))
    with pytest.raises(LandscapeError, match="same point"):
        interpolation_direction(x, x.clone())
    q = Quadratic(np.eye(3), np.zeros(3))
    with pytest.raises(LandscapeError, match="norm"):
        grid_2d(q, np.ones(3), [np.ones(3), np.zeros(3)], resolution=3)


def test_save_load_round_trip_is_exact(mlp, tmp_path):
    x = mlp.initial_point()
    d = random_directions(mlp, x, 2, seed=11, biases="include", orthogonal=True)
    g = grid_2d(mlp, x, d, resolution=4, accuracy=True)
    save_grid(g, tmp_path / "slice")
    h = load_grid(tmp_path / "slice.npz")
    for name in ("alphas", "betas", "energies", "accuracies", "center"):
        np.testing.assert_array_equal(getattr(h, name), getattr(g, name))
    for a, b in zip(h.directions, g.directions, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h.metadata["directions"]["seed"] == 11 and h.metadata["directions"]["biases"] == "include"
    assert h.metadata["directions"]["orthogonal"] is True
    again = random_directions(mlp, torch.as_tensor(h.center), 2, seed=11, biases="include", orthogonal=True)
    for a, b in zip(again.vectors, h.directions, strict=True):
        np.testing.assert_array_equal(a.numpy(), b)
    redo = grid_2d(mlp, h.center, list(h.directions), alphas=h.alphas, betas=h.betas)
    np.testing.assert_allclose(redo.energies, g.energies, rtol=1e-12)


def test_pca_directions_match_numpy_svd_of_the_centred_trajectory():
    rng = np.random.default_rng(3)
    T = np.cumsum(rng.standard_normal((12, 40)) * np.linspace(3, 0.1, 40), axis=0)
    pca = pca_directions(torch.as_tensor(T))
    M = T[:-1] - T[-1]
    _, s, Vt = np.linalg.svd(M - M.mean(axis=0), full_matrices=False)
    for k in range(2):
        assert abs(pca.directions.vectors[k] @ Vt[k]) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pca.explained_variance_ratio, s[:2] ** 2 / (s**2).sum(), rtol=1e-12)
    np.testing.assert_allclose(pca.coordinates[-1], 0.0)
    np.testing.assert_allclose(np.abs(pca.coordinates), np.abs((T - T[-1]) @ Vt[:2].T), atol=1e-10)
    with pytest.raises(LandscapeError, match="fewer than two"):
        pca_directions(np.ones((5, 4)))


def test_line_and_plane_through_solutions_hit_the_solutions():
    rng = np.random.default_rng(4)
    B = rng.standard_normal((5, 5))
    q = Quadratic(B @ B.T, rng.standard_normal(5))
    a, b, c = rng.standard_normal((3, 5))
    line = grid_1d(q, a, interpolation_direction(a, b), alphas=[0.0, 1.0])
    np.testing.assert_allclose(line.energies, [q.energy(a), q.energy(b)], rtol=1e-12)
    plane = plane_through(a, b, c)
    t, s = plane.info["coordinates"][2]
    np.testing.assert_allclose(a + t * plane.vectors[0] + s * plane.vectors[1], c, atol=1e-12)
    assert abs(plane.vectors[0] @ plane.vectors[1]) < 1e-12
    with pytest.raises(LandscapeError, match="collinear"):
        plane_through(a, b, 2 * b - a)


def test_training_trajectory_on_its_pca_plane_ends_at_the_origin(mlp):
    traj = train(mlp, mlp.initial_point(), steps=30, every=5, method="adam", learning_rate=0.01)
    assert traj.points.shape == (7, mlp.dim) and list(traj.steps) == [0, 5, 10, 15, 20, 25, 30]
    assert traj.energies[-1] < traj.energies[0]
    grid, pca = trajectory_grid(mlp, traj, resolution=4)
    np.testing.assert_allclose(pca.coordinates[-1], 0.0)
    lo, hi = pca.coordinates.min(axis=0), pca.coordinates.max(axis=0)
    assert grid.alphas[0] < lo[0] and grid.alphas[-1] > hi[0]
    x_end = torch.as_tensor(traj.points[-1])
    p = x_end + grid.alphas[1] * pca.directions.vectors[0] + grid.betas[2] * pca.directions.vectors[1]
    assert grid.energies[1, 2] == pytest.approx(mlp.energy(p), rel=1e-12)


def test_contour_of_a_grid_with_holes_keeps_them_masked(tmp_path):
    from levinthal.plots import pyplot
    from levinthal.plots.slices import draw_contour, plot_contour, plot_surface

    q = Quadratic(np.eye(2), np.zeros(2), nan_above=0.25)
    g = grid_2d(q, np.zeros(2), [np.array([1.0, 0.0]), np.array([0.0, 1.0])], resolution=9)
    plt = pyplot()
    fig, ax = plt.subplots()
    cs = draw_contour(ax, g, log=True)  # α in {0.5, 0.75, 1} are NaN: 3 rows of 9
    assert np.all(np.diff(cs.levels) > 0) and cs.levels[0] == np.nanmin(g.energies)
    assert any("NaN (27 points)" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)
    plot_contour(g, str(tmp_path / "c.png"))
    plot_surface(g, str(tmp_path / "s.png"))
    assert (tmp_path / "c.png").stat().st_size > 1000 and (tmp_path / "s.png").stat().st_size > 1000


def test_cli_slice_writes_a_grid_that_reloads_to_the_landscape_values(tmp_path, capsys):
    import json

    from levinthal.cli.main import main
    from levinthal.systems import make_system

    out = tmp_path / "s"
    assert main(["slice", "mlp-digits", "--no-minimize", "--resolution", "4", "--out", str(out), "--json",
                 "--quiet", "--biases", "include", "--seed", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shape"] == [4, 4] and summary["nan_points"] == 0
    g = load_grid(out / "slice")
    assert g.metadata["directions"]["biases"] == "include" and g.metadata["directions"]["seed"] == 2
    land = make_system("mlp-digits", seed=2)
    x = torch.as_tensor(g.center)
    p = x + g.alphas[3] * torch.as_tensor(g.directions[0]) + g.betas[0] * torch.as_tensor(g.directions[1])
    assert g.energies[3, 0] == pytest.approx(land.energy(p), rel=1e-12)
    for name in ("slice_contour.png", "slice_surface.png"):
        assert (out / name).stat().st_size > 1000


def test_cli_trajectory_writes_path_grid_and_figure(tmp_path, capsys):
    import json

    from levinthal.cli.main import main

    out = tmp_path / "t"
    assert main(["trajectory", "mlp-digits", "--steps", "12", "--every", "3", "--resolution", "4",
                 "--out", str(out), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["checkpoints"] == 5 and summary["energy_end"] < summary["energy_start"]
    saved = np.load(out / "trajectory.npz")
    np.testing.assert_allclose(saved["coordinates"][-1], 0.0)
    assert sum(summary["explained_variance_ratio"]) <= 1.0 + 1e-12
    assert (out / "trajectory.png").stat().st_size > 1000


def test_wrapped_network_gets_filter_directions_and_a_matching_grid(mlp):
    from levinthal.systems.regularized import L2Regularized

    land = L2Regularized(mlp, 1e-3)
    x = mlp.initial_point()
    d = random_directions(land, x, 2, seed=9)
    bare = random_directions(mlp, x, 2, seed=9)
    np.testing.assert_array_equal(d.vectors[0].numpy(), bare.vectors[0].numpy())
    g = grid_2d(land, x, d, resolution=3)
    assert g.metadata["evaluator"]["method"] in ("loop", "batch")
    ref = [[land.energy(x + a * d.vectors[0] + b * d.vectors[1]) for b in g.betas] for a in g.alphas]
    np.testing.assert_allclose(g.energies, ref, rtol=1e-12)
    with pytest.raises(LandscapeError, match="2-D grid needs 2 directions"):
        grid_2d(land, x, d.vectors[:1], resolution=3)


@pytest.mark.parametrize("per_call", [1, 4])
def test_affine_first_after_a_leading_flatten_equals_one_by_one(per_call):
    """An MLP on images starts with nn.Flatten: affine-first still applies (the reshape runs
    once on the data) and gives the protocol's energies."""
    from torch import nn

    from levinthal.slices.grid import _affine_first_ok
    from levinthal.systems.networks.landscape import NetworkLandscape

    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 1, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    land = NetworkLandscape(model, X, y)
    assert _affine_first_ok(land)
    x = land.initial_point()
    d = random_directions(land, x, 2, seed=1)
    grid = grid_2d(land, x, d, resolution=4, method="affine-first", points_per_call=per_call)
    d1, d2 = d.vectors
    ref = [[land.energy(x + a * d1 + b * d2) for b in grid.betas] for a in grid.alphas]
    np.testing.assert_allclose(grid.energies, ref, rtol=1e-12)
    # A parameterised module before the first affine layer disables the shortcut.
    assert not _affine_first_ok(NetworkLandscape(nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 3)).double(),
                                                 X.reshape(40, 16), y))
