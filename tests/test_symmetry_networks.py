"""Network symmetry: hidden-unit permutations, Git Re-Basin weight matching, rescaling zero modes.

Reference values are independent of the code under test: outputs of the original network on
random inputs, explicit index-based permutations, losses and gradients written here with
``torch.func``, and exact rescalings applied by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call, grad
from torch.nn.utils import parameters_to_vector

from levinthal.symmetry import NetworkSymmetry, permute_mlp, weight_matching
from levinthal.symmetry.networks import permute_parameters

WIDTHS = (6, 12, 9, 4)  # input, two hidden layers, output


def make_mlp(seed: int, activation: type[nn.Module] = nn.ReLU, widths=WIDTHS) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (inp, out) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(inp, out))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers).double()


def flat(model: nn.Module) -> torch.Tensor:
    return parameters_to_vector(model.parameters()).detach()


def random_permutations(rng: np.random.Generator, widths=WIDTHS) -> list[np.ndarray]:
    return [rng.permutation(h) for h in widths[1:-1]]


def inputs(seed: int = 0, n: int = 32, width: int = WIDTHS[0]) -> torch.Tensor:
    return torch.randn(n, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def mse_loss_of_vector(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """A loss of the flat parameter vector, written with torch.func for this test."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        params = {n: t.reshape(s) for n, t, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}
        return ((functional_call(model, params, (x,)) - y) ** 2).mean()

    return loss


# --- permutations --------------------------------------------------------------------------


def test_permuted_copy_computes_the_same_outputs():
    model = make_mlp(0)
    perms = random_permutations(np.random.default_rng(0))
    permuted = permute_mlp(model, perms)
    x = inputs()
    torch.testing.assert_close(permuted(x), model(x), rtol=0, atol=1e-12)
    assert not torch.allclose(flat(permuted), flat(model))  # it really moved the weights
    # the first layer's rows are the original rows in the permuted order, checked by index
    torch.testing.assert_close(permuted[0].weight, model[0].weight[torch.as_tensor(perms[0])])
    torch.testing.assert_close(flat(model), flat(make_mlp(0)))  # input left unchanged


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), act=st.sampled_from([nn.ReLU, nn.Tanh, nn.GELU, nn.LeakyReLU]))
def test_any_hidden_permutation_preserves_the_function(seed, act):
    model = make_mlp(seed % 1000, act)
    permuted = permute_mlp(model, random_permutations(np.random.default_rng(seed)))
    x = inputs(seed % 97)
    torch.testing.assert_close(permuted(x), model(x), rtol=0, atol=1e-12)


def test_weight_matching_recovers_the_inverse_permutation_exactly():
    model_a = make_mlp(1)
    perms = random_permutations(np.random.default_rng(1))
    model_b = permute_mlp(model_a, perms)
    result = weight_matching(model_a, model_b, rng=np.random.default_rng(0))
    for found, applied in zip(result.permutations, perms, strict=True):
        np.testing.assert_array_equal(found, np.argsort(applied))
    assert result.distance_before > 1.0
    assert result.distance_after < 1e-10
    assert result.converged


def test_weight_matching_of_independent_networks_reduces_distance_and_keeps_b_function():
    model_a, model_b = make_mlp(2), make_mlp(3)
    result = weight_matching(model_a, model_b, rng=np.random.default_rng(0))
    assert result.distance_after < result.distance_before
    assert result.distance_before == pytest.approx(float(torch.linalg.norm(flat(model_a) - flat(model_b))))
    aligned = permute_mlp(model_b, result.permutations)
    torch.testing.assert_close(flat(aligned), result.params_b_aligned, rtol=0, atol=0)
    assert result.distance_after == pytest.approx(float(torch.linalg.norm(flat(model_a) - flat(aligned))))
    x = inputs(1)
    torch.testing.assert_close(aligned(x), model_b(x), rtol=0, atol=1e-12)
    # coordinate descent: no single layer's assignment can be improved at the fixed point
    for layer, perm in enumerate(result.permutations):
        swapped = [p.copy() for p in result.permutations]
        swapped[layer][[0, 1]] = perm[[1, 0]]
        d_swapped = float(torch.linalg.norm(flat(model_a) - flat(permute_mlp(model_b, swapped))))
        assert d_swapped >= result.distance_after - 1e-12


def test_weight_matching_accepts_parameter_vectors_with_a_template():
    model_a = make_mlp(4)
    perms = random_permutations(np.random.default_rng(4))
    theta_b = permute_parameters(flat(model_a), perms, model_a)
    result = weight_matching(flat(model_a), theta_b, template=model_a)
    assert result.distance_after < 1e-10
    symmetry = NetworkSymmetry(model_a)
    assert symmetry.distance(flat(model_a), theta_b) < 1e-10
    assert symmetry.same(flat(model_a), theta_b, energy_a=0.5, energy_b=0.5)
    assert not symmetry.same(flat(model_a), flat(make_mlp(5)))
    with pytest.raises(ValueError, match="template"):
        weight_matching(flat(model_a), theta_b)


def test_permute_rejects_wrong_permutations():
    model = make_mlp(0)
    with pytest.raises(ValueError, match="one permutation per hidden layer"):
        permute_mlp(model, [np.arange(12)])
    with pytest.raises(ValueError, match="not a permutation"):
        permute_mlp(model, [np.zeros(12, dtype=int), np.arange(9)])


# --- rescaling zero modes ------------------------------------------------------------------


def test_relu_rescaling_modes_are_orthonormal_one_per_hidden_unit_and_leave_the_loss_flat():
    model = make_mlp(6)
    theta = flat(model)
    modes = NetworkSymmetry(model).zero_modes(theta)
    n_hidden = sum(WIDTHS[1:-1])
    assert modes.shape == (n_hidden, theta.numel())
    torch.testing.assert_close(modes @ modes.T, torch.eye(n_hidden, dtype=torch.float64), atol=1e-12, rtol=0)
    x = inputs(2)
    y = torch.randn(32, WIDTHS[-1], dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    loss = mse_loss_of_vector(model, x, y)
    g = grad(loss)(theta)
    assert float(g.norm()) > 1e-2  # a generic point, not a minimum
    assert float((modes @ g).abs().max()) < 1e-12 * max(1.0, float(g.norm())) * 100
    # H z ≈ 0 is not implied (away from a minimum the Hessian need not annihilate the modes),
    # but a generic direction has a non-zero directional derivative: the test is not vacuous
    other = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    other -= modes.T @ (modes @ other)
    assert abs(float(other @ g)) > 1e-6
    # the exact finite rescaling of one unit, applied by hand, leaves the function unchanged
    scaled = make_mlp(6)
    with torch.no_grad():
        scaled[0].weight[3] *= 2.5
        scaled[0].bias[3] *= 2.5
        scaled[2].weight[:, 3] /= 2.5
    torch.testing.assert_close(scaled(x), model(x), rtol=0, atol=1e-12)
    # and its tangent at α = 1, built here by hand from the named parameters, lies in their span
    tangent = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    tangent["0.weight"][3] = model[0].weight.detach()[3]
    tangent["0.bias"][3] = model[0].bias.detach()[3]
    tangent["2.weight"][:, 3] = -model[2].weight.detach()[:, 3]
    direction = torch.cat([tangent[name].reshape(-1) for name, _ in model.named_parameters()])
    residual = direction - modes.T @ (modes @ direction)
    assert float(residual.norm()) < 1e-10 * float(direction.norm())


def test_hessian_on_rescaling_tangent_obeys_the_invariance_identity():
    """Differentiating L(θ) = L(g_α θ) twice gives H (Dθ) = −D ∇L, with D = +1 on a unit's incoming
    weights and bias, −1 on its outgoing weights: so H z = 0 at every critical point."""
    model = make_mlp(7)
    theta = flat(model)
    x = inputs(5)
    y = torch.randn(32, WIDTHS[-1], dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    loss = mse_loss_of_vector(model, x, y)
    g = grad(loss)(theta)
    modes = NetworkSymmetry(model).zero_modes(theta)
    for layer_in, layer_out, unit in [("0", "2", 0), ("0", "2", 7), ("2", "4", 4)]:
        signs = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
        signs[f"{layer_in}.weight"][unit] = 1.0
        signs[f"{layer_in}.bias"][unit] = 1.0
        signs[f"{layer_out}.weight"][:, unit] = -1.0
        d = torch.cat([signs[name].reshape(-1) for name, _ in model.named_parameters()])
        tangent = d * theta
        h_tangent = grad(lambda t, v=tangent: grad(loss)(t) @ v)(theta)  # reverse-over-reverse HVP
        torch.testing.assert_close(h_tangent, -d * g, rtol=1e-9, atol=1e-12)
        assert float(h_tangent.norm()) > 1e-4  # not a critical point: the identity is not trivial
        residual = tangent - modes.T @ (modes @ tangent)
        assert float(residual.norm()) < 1e-10 * float(tangent.norm())


@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.GELU])
def test_smooth_activations_have_no_continuous_zero_modes(activation):
    model = make_mlp(8, activation)
    modes = NetworkSymmetry(model).zero_modes(flat(model))
    assert modes.shape == (0, flat(model).numel())
    assert "weight_matching" in NetworkSymmetry(model).notes


def test_leaky_relu_has_modes_and_mixed_activations_only_on_homogeneous_layers():
    leaky = make_mlp(9, nn.LeakyReLU)
    assert NetworkSymmetry(leaky).zero_modes(flat(leaky)).shape[0] == sum(WIDTHS[1:-1])
    torch.manual_seed(0)
    mixed = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 9), nn.Tanh(), nn.Linear(9, 4)).double()
    assert NetworkSymmetry(mixed).zero_modes(flat(mixed)).shape[0] == 12


def test_non_mlp_model_gets_no_zero_modes_and_a_note():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return self.lin(x)

    model = Custom().double()
    symmetry = NetworkSymmetry(model)
    assert symmetry.zero_modes(flat(model)).shape == (0, 8)
    assert "Sequential" in symmetry.notes
    conv = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2)).double()
    assert NetworkSymmetry(conv).zero_modes(flat(conv)).shape == (0, flat(conv).numel())
    assert "Conv1d" in NetworkSymmetry(conv).notes


def test_zero_modes_reject_a_vector_of_the_wrong_length():
    model = make_mlp(0)
    with pytest.raises(ValueError, match="length"):
        NetworkSymmetry(model).zero_modes(torch.zeros(5, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_dead_unit_contributes_no_rescaling_mode(dtype):
    model = make_mlp(10).to(dtype)
    with torch.no_grad():
        model[0].weight[5] = 0.0
        model[0].bias[5] = 0.0
        model[2].weight[:, 5] = 0.0
    modes = NetworkSymmetry(model).zero_modes(flat(model))
    assert modes.shape[0] == sum(WIDTHS[1:-1]) - 1
    assert modes.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(modes @ modes.T, torch.eye(modes.shape[0], dtype=dtype), atol=tol, rtol=0)


def test_zero_modes_span_exactly_the_hand_built_rescaling_tangents():
    model = make_mlp(11)
    theta = flat(model)
    names = [name for name, _ in model.named_parameters()]
    tangents = []
    for layer_in, layer_out, width in [("0", "2", WIDTHS[1]), ("2", "4", WIDTHS[2])]:
        for unit in range(width):
            t = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
            t[f"{layer_in}.weight"][unit] = model.get_parameter(f"{layer_in}.weight").detach()[unit]
            t[f"{layer_in}.bias"][unit] = model.get_parameter(f"{layer_in}.bias").detach()[unit]
            t[f"{layer_out}.weight"][:, unit] = -model.get_parameter(f"{layer_out}.weight").detach()[:, unit]
            tangents.append(torch.cat([t[name].reshape(-1) for name in names]))
    q, _ = torch.linalg.qr(torch.stack(tangents).T)
    modes = NetworkSymmetry(model).zero_modes(theta)
    torch.testing.assert_close(modes.T @ modes, q @ q.T, atol=1e-12, rtol=0)
