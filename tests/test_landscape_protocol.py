"""The protocol layer: checks name the landscape and the value; counting counts."""

import numpy as np
import pytest

from levinthal.landscape import (
    NonFiniteError,
    ShapeError,
    checked,
    supports,
)
from levinthal.landscape.finite_difference import gradient_fd, hessian_fd
from levinthal.systems import make_system
from levinthal.systems.analytic import DoubleWell, MullerBrown, TiltedDoubleWell


class NaNAt:
    """A landscape that returns NaN beyond x[0] > 1: a broken system."""

    name = "nan-beyond-one"
    dim = 2

    def energy(self, x):
        return float("nan") if x[0] > 1 else float(x @ x)

    def energy_gradient(self, x):
        return self.energy(x), 2 * x

    def hvp(self, x, v):
        return 2 * v


def test_nonfinite_energy_names_landscape_value_and_caller():
    c = checked(NaNAt(), caller="lbfgs")
    with pytest.raises(NonFiniteError, match=r"nan-beyond-one: energy_gradient returned energy nan"
                       r".*called by lbfgs"):
        c.energy_gradient(np.array([2.0, 0.0]))


def test_wrong_shape_and_dtype_are_refused():
    c = checked(MullerBrown(), caller="test")
    with pytest.raises(ShapeError, match=r"muller-brown: x .* shape \(3,\), expected \(2,\)"):
        c.energy(np.zeros(3))
    with pytest.raises(ShapeError, match="dtype"):
        c.energy(np.zeros(2, dtype=np.int64))
    with pytest.raises(NonFiniteError, match="NaN or infinity"):
        c.energy(np.array([np.inf, 0.0]))


def test_counting_counts_single_and_batched_calls():
    c = checked(MullerBrown())
    c.energy(np.zeros(2))
    c.energy_gradient(np.zeros(2))
    c.hvp(np.zeros(2), np.ones(2))
    c.energies(np.zeros((5, 2)))
    assert c.counts.as_dict() == {"energy": 6, "gradient": 1, "hvp": 1, "hessian": 0}
    assert supports(c, "hessian") and supports(c, "energy_gradients")


@pytest.mark.parametrize("system", [MullerBrown(), DoubleWell(), TiltedDoubleWell(tilt=0.4)])
def test_analytic_gradients_and_hessians_match_finite_differences(system, rng):
    for _ in range(5):
        x = system.random_point(rng)
        _, g = system.energy_gradient(x)
        np.testing.assert_allclose(g, gradient_fd(system, x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(system.hessian(x), hessian_fd(system, x), rtol=1e-5, atol=1e-4)


def test_muller_brown_reference_values():
    # Müller & Brown (1979): minimum A near (-0.558, 1.442) with E = -146.70
    mb = make_system("muller-brown")
    assert mb.energy(np.array([-0.558224, 1.441726])) == pytest.approx(-146.6995, abs=1e-3)


def test_tilted_double_well_stationary_points_are_exact():
    t = TiltedDoubleWell(tilt=0.3)
    for x in t.stationary_x():
        _, g = t.energy_gradient(np.array([x, 0.0]))
        assert np.abs(g).max() < 1e-12


def test_l2_regularization_adds_the_exact_penalty_terms(rng):
    from levinthal.systems.regularized import L2Regularized

    base = MullerBrown()
    reg = L2Regularized(base, 0.7)
    x = base.random_point(rng)
    v = rng.standard_normal(2)
    assert reg.energy(x) == pytest.approx(base.energy(x) + 0.35 * x @ x)
    np.testing.assert_allclose(reg.energy_gradient(x)[1], base.energy_gradient(x)[1] + 0.7 * x)
    np.testing.assert_allclose(reg.hvp(x, v), base.hessian(x) @ v + 0.7 * v)
    np.testing.assert_allclose(reg.hessian(x), hessian_fd(reg, x), rtol=1e-5, atol=1e-4)
    X = np.stack([base.random_point(rng) for _ in range(4)])
    np.testing.assert_allclose(reg.energies(X), [reg.energy(xi) for xi in X])


def test_a_wrapper_that_breaks_a_symmetry_is_believed():
    from levinthal.landscape import checked, symmetry_of
    from levinthal.systems.regularized import L2Regularized

    class WithModes(MullerBrown):
        symmetry = "declared"

    assert symmetry_of(checked(WithModes())) == "declared"
    assert symmetry_of(checked(L2Regularized(WithModes(), 0.1))) is None
    assert symmetry_of(L2Regularized(WithModes(), 0.1, keep_symmetry=True)) == "declared"


def test_l2_regularized_fixed_point_operator_adds_the_penalty(rng):
    from levinthal.landscape.checks import hvp_operator_of
    from levinthal.systems.regularized import L2Regularized

    class WithOperator(MullerBrown):
        def hvp_operator(self, x):
            H = self.hessian(x)
            return lambda v: H @ v

    x, v = np.array([0.1, 0.4]), rng.standard_normal(2)
    reg = checked(L2Regularized(WithOperator(), 0.3))
    op = hvp_operator_of(reg, x)
    np.testing.assert_allclose(op(v), MullerBrown().hessian(x) @ v + 0.3 * v)
    assert hvp_operator_of(checked(MullerBrown()), x) is None


def test_l2_regularized_minibatches_keep_the_penalty():
    from levinthal.systems import make_system
    from levinthal.systems.regularized import L2Regularized

    net = make_system("mlp-digits", n_train=60, hidden=(4,))
    reg = L2Regularized(net, 0.5)
    x = net.initial_point()
    sub = reg.minibatch(np.arange(10))
    assert sub.energy(x) == pytest.approx(net.minibatch(np.arange(10)).energy(x) + 0.25 * float(x @ x))
    for b in reg.batches(np.random.default_rng(0), batch_size=30):
        assert isinstance(b, L2Regularized) and b.strength == 0.5
    assert reg.minimizer_defaults["lbfgs"]["memory"] == 20
