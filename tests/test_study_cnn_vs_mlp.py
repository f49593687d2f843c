"""Study cnn_vs_mlp: Hessian spectra against finite differences, exact rescaling curvature,
permutations that leave function and loss unchanged, zero modes of a tiny ReLU net."""

import numpy as np
import pytest
import torch

from levinthal.studies import cnn_vs_mlp as study
from levinthal.symmetry.cnn_channels import channel_weight_matching, cnn_layout, permute_channels
from levinthal.symmetry.networks import permute_mlp


@pytest.fixture(scope="module")
def result():
    return study.run(study.Config.small())


def _fd_hessian(landscape, x, h=1e-5):
    n = x.numel()
    H = np.empty((n, n))
    e = torch.zeros_like(x)
    for i in range(n):
        e[i] = h
        gp = landscape.energy_gradient(x + e)[1].numpy()
        gm = landscape.energy_gradient(x - e)[1].numpy()
        e[i] = 0.0
        H[i] = (gp - gm) / (2 * h)
    return 0.5 * (H + H.T)


def test_result_structure(result):
    assert {k for k, _ in result.verdicts} <= {"holds", "breaks", "note"}
    assert len(result.verdicts) == 8 and result.reading
    for arch in ("cnn", "mlp"):
        for key in ("near_zero_0.001", "barrier_before", "barrier_after", "symmetry_zero_modes", "index"):
            assert f"{arch}_{key}" in result.numbers
    # equal parameter counts: the MLP width is the one closest to the CNN's count (75 params per unit)
    assert abs(result.numbers["cnn_dim"].value - result.numbers["mlp_dim"].value) <= 75 / 2
    # 2 + 4 channel rescalings; one per MLP hidden unit
    assert result.numbers["cnn_symmetry_zero_modes"].value == 6
    assert result.numbers["mlp_symmetry_zero_modes"].value == result.data["width"]


def test_mlp_spectrum_matches_finite_difference_hessian(result):
    m = result.data["minima"]["mlp"][0]
    _, reg = result.data["landscapes"]["mlp"]
    H = _fd_hessian(reg, m["x"])
    ev_fd = np.linalg.eigvalsh(H)
    # central differences: error ~ h² ‖∇³E‖ + ε‖∇E‖/h ≈ 1e-10 + 1e-11, far below 1e-6
    np.testing.assert_allclose(m["eigenvalues"], ev_fd, atol=1e-6)
    assert m["index"] == int((ev_fd < -1e-5 * np.abs(ev_fd).max()).sum())
    for t, count in m["counts"].items():
        # counts are on the data term H − λI; one eigenvalue may sit on the threshold
        assert abs(count - study.near_zero_count(ev_fd - result.config["l2"], t)) <= 1


def test_rescaling_curvature_is_the_analytic_value(result):
    """Along the rescaling orbit of hidden unit j the data loss is constant, so for E = data + ½λ|x|²:
    tᵀ H t = λ (A + 3B) − 2 g_outᵀ w_out, with A = |w_in|² + b², B = |w_out|² and |t|² = A + B
    (E''(α) minus the orbit's curvature term g·x''); at an exact minimum A = B and this is 2λ|t|²."""
    inner, reg = result.data["landscapes"]["mlp"]
    lam = result.config["l2"]
    layout = inner.symmetry.layout
    for m in result.data["minima"]["mlp"]:
        x = m["x"]
        _, g = reg.energy_gradient(x)
        for j in range(layout.hidden_sizes[0]):
            t = torch.zeros_like(x)
            layout.weight(t, 0)[j] = layout.weight(x, 0)[j]
            layout.bias(t, 0)[j] = layout.bias(x, 0)[j]
            layout.weight(t, 1)[:, j] = -layout.weight(x, 1)[:, j]
            a = float(layout.weight(x, 0)[j].square().sum() + layout.bias(x, 0)[j] ** 2)
            b = float(layout.weight(x, 1)[:, j].square().sum())
            g_out = layout.weight(g, 1)[:, j]
            expected = lam * (a + 3 * b) - 2 * float(g_out @ layout.weight(x, 1)[:, j])
            assert float(t @ reg.hvp(x, t)) == pytest.approx(expected, rel=1e-8, abs=1e-12)
    assert result.numbers["mlp_symmetry_curvature_over_l2"].value == pytest.approx(2.0, abs=0.05)


def test_permuted_networks_compute_the_same_function_and_loss(result):
    rng = np.random.default_rng(3)  # a permutation composed with a cyclic shift: never the identity
    for arch in ("cnn", "mlp"):
        inner, _ = result.data["landscapes"][arch]
        x = result.data["minima"][arch][0]["x"]
        if arch == "cnn":
            perms = [np.roll(rng.permutation(c), 1) for c in cnn_layout(inner.model).channels]
            y = permute_channels(x, perms, inner.model)
        else:
            perms = [np.roll(np.arange(h), 1) for h in inner.symmetry.layout.hidden_sizes]
            y = torch.nn.utils.parameters_to_vector(
                permute_mlp(x, perms, template=inner.model).parameters()).detach()
        assert not torch.equal(x, y)
        out_x = torch.func.functional_call(inner.model, inner.unflatten(x), (inner.inputs,))
        out_y = torch.func.functional_call(inner.model, inner.unflatten(y), (inner.inputs,))
        assert torch.allclose(out_x, out_y, rtol=0, atol=1e-13)
        assert inner.energy(y) == pytest.approx(inner.energy(x), rel=1e-13)
        assert result.numbers[f"{arch}_permuted_loss_change"].value < 1e-13


def test_channel_matching_recovers_a_known_permutation(result):
    inner, _ = result.data["landscapes"]["cnn"]
    x = result.data["minima"]["cnn"][1]["x"]
    perms = [np.roll(np.arange(c), 1) for c in cnn_layout(inner.model).channels]
    m = channel_weight_matching(x, permute_channels(x, perms, inner.model), inner.model)
    assert m.distance_after == 0.0 and m.distance_before > 0.0


def test_barrier_profiles_end_at_the_minima(result):
    for arch in ("cnn", "mlp"):
        ms = {m["seed"]: m for m in result.data["minima"][arch]}
        for p in result.data["pairs"][arch]:
            a, b = (ms[s] for s in p["pair"])
            assert p["profile_before"][0] == pytest.approx(a["data_loss"], rel=1e-12)
            assert p["profile_before"][-1] == pytest.approx(b["data_loss"], rel=1e-12)
            # the aligned end is b permuted: same loss
            assert p["profile_after"][-1] == pytest.approx(b["data_loss"], rel=1e-12)
            assert p["distance_after"] <= p["distance_before"] + 1e-12
            assert p["barrier_before"] >= 0.0 and p["barrier_after"] >= 0.0


def test_zero_modes_of_a_tiny_relu_net_are_its_rescalings():
    """At a critical point of the data loss (no weight decay) each ReLU hidden unit gives one exact
    zero eigenvalue of the dense Hessian (Dinh et al. 2017), and nothing else is flat here: a
    student 2-3-1 ReLU net at the parameters of the teacher that made its 40 regression targets
    has zero loss and zero gradient, so H = 2/N JᵀJ, whose null space is exactly the 3 rescalings
    when every unit is active on enough samples (checked below; a seed violating it gave 4 or 5)."""
    from levinthal.curvature import dense_hessian
    from levinthal.systems.networks.landscape import NetworkLandscape
    from levinthal.systems.networks.models import mlp, reset_parameters

    g = torch.Generator().manual_seed(0)
    X = torch.rand(40, 2, generator=g, dtype=torch.float64) * 2 - 1
    teacher = reset_parameters(mlp([2, 3, 1], "relu").double(), 1)
    with torch.no_grad():
        Y = teacher(X)
    L = NetworkLandscape(teacher, X, Y, "mse")
    x = L.initial_point()
    e, grad = L.energy_gradient(x)
    assert e == 0.0 and float(grad.abs().max()) == 0.0
    with torch.no_grad():
        pre = X @ L.unflatten(x)["0.weight"].T + L.unflatten(x)["0.bias"]
    # Every unit is active on at least n_in + 1 = 3 samples and off on some: a unit active on fewer
    # (or dead) adds flat directions of the data, one always active merges its bias with the output's.
    assert bool(((pre > 0).sum(0) >= 3).all()) and bool((pre < 0).any(0).all())
    assert float(pre.abs().min()) > 1e-6  # no sample on a kink: the Hessian exists
    H = dense_hessian(L, x)
    ev = np.linalg.eigvalsh(H)
    assert study.near_zero_count(ev, 1e-10) == 3 == sum(L.symmetry.layout.hidden_sizes)
    # a gap of ten orders: three zeros at round-off, the other ten well above it (the smallest ~4e-7 λmax)
    assert np.abs(ev[:3]).max() < 1e-15 * ev.max() and ev[3] > 1e-8 * ev.max()
    Q = L.symmetry.zero_modes(x).numpy()
    assert np.abs(Q @ H @ Q.T).max() < 1e-12 * ev.max()
