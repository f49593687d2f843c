"""Harmonic-superposition thermodynamics (Wales 1993; Strodel & Wales 2008) against closed forms.

References: a single harmonic well (C_v = κ, U = E + κkT exactly); the two-level Schottky
anomaly; finite differences of U(T) and F(T); and, for the tilted double well, the exact
configurational integral over each well by quadrature at low temperature.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from levinthal.landscape.errors import LandscapeError
from levinthal.network.graph import KineticNetwork
from levinthal.network.thermo import group_free_energy, harmonic_superposition, log_partition_functions
from levinthal.systems.analytic import TiltedDoubleWell


def test_single_well_is_an_ideal_harmonic_solid():
    net = KineticNetwork.from_arrays([-2.0], [], np.zeros((0, 2)), log_product_frequencies=[1.3], dim=9,
                                     n_zero_modes=[6])
    T = np.array([0.01, 0.3, 2.0])
    th = harmonic_superposition(net, T)
    assert np.allclose(th.heat_capacity, 3.0, rtol=0, atol=1e-12)
    assert np.allclose(th.internal_energy, -2.0 + 3 * T, rtol=1e-14)
    assert np.allclose(th.free_energy, -2.0 - 3 * T * np.log(T) + 0.5 * T * 1.3, rtol=1e-13)
    assert np.allclose(th.occupations, 1.0)


@pytest.mark.parametrize("kT", [0.05, 0.3, 1.7])
def test_two_minima_give_the_schottky_anomaly(kT):
    delta, lp1, lp2 = 0.4, 0.7, -0.5
    net = KineticNetwork.from_arrays([0.0, delta], [1.0], [[0, 1]], log_product_frequencies=[lp1, lp2], dim=3)
    r = math.exp(-delta / kT - 0.5 * (lp2 - lp1))  # Z_2 / Z_1
    p1, p2 = 1 / (1 + r), r / (1 + r)
    th = harmonic_superposition(net, kT)
    assert th.occupations[0] == pytest.approx([p1, p2], rel=1e-13)
    assert th.heat_capacity[0] == pytest.approx(3 + (delta / kT) ** 2 * p1 * p2, rel=1e-13)
    assert th.internal_energy[0] == pytest.approx(3 * kT + delta * p2, rel=1e-13)


def test_point_group_orders_divide_the_partition_functions():
    net = KineticNetwork.from_arrays([0.0, 0.0], [1.0], [[0, 1]], log_product_frequencies=[0.0, 0.0],
                                     point_group_orders=[10, 2], dim=3)
    th = harmonic_superposition(net, 0.5)
    assert th.occupations[0] == pytest.approx([1 / 6, 5 / 6], rel=1e-14)


@st.composite
def networks(draw):
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return KineticNetwork.from_arrays(
        rng.uniform(0, 2, n), [], np.zeros((0, 2)), log_product_frequencies=rng.uniform(-2, 2, n),
        point_group_orders=rng.integers(1, 5, n), n_zero_modes=rng.integers(0, 3, n), dim=6)


@settings(max_examples=40, deadline=None)
@given(networks(), st.sampled_from([0.07, 0.3, 1.0, 4.0]))
def test_heat_capacity_and_entropy_are_the_temperature_derivatives(net, kT):
    h = 1e-4 * kT
    th = harmonic_superposition(net, [kT - h, kT, kT + h])
    dU = (th.internal_energy[2] - th.internal_energy[0]) / (2 * h)
    dF = (th.free_energy[2] - th.free_energy[0]) / (2 * h)
    assert th.heat_capacity[1] == pytest.approx(dU, rel=1e-6, abs=1e-6)
    assert th.entropy[1] == pytest.approx(-dF, rel=1e-6, abs=1e-6)
    assert th.heat_capacity[1] >= net.kappa().min() - 1e-12
    assert np.isclose(th.occupations[1].sum(), 1.0)
    # group free energies: the whole network is F, singletons are −kT ln Z_i
    assert group_free_energy(net, [np.arange(net.n_minima)], kT)[0] == pytest.approx(th.free_energy[1])
    lz = log_partition_functions(net, kT)
    assert np.allclose(group_free_energy(net, np.arange(net.n_minima), kT), -kT * lz)


def test_low_temperature_puts_everything_in_the_global_minimum_without_overflow():
    net = KineticNetwork.from_arrays([0.0, 0.1, 5.0], [], np.zeros((0, 2)),
                                     log_product_frequencies=[3.0, -3.0, 0.0], dim=4)
    th = harmonic_superposition(net, [1e-4, 1e4])
    assert th.occupations[0, 0] == 1.0 and th.occupations[0, 1] == 0.0
    assert np.all(np.isfinite(th.free_energy)) and th.heat_capacity[0] == pytest.approx(4.0, abs=1e-9)


@pytest.mark.parametrize("kT", [0.02, 0.01, 0.005])
def test_tilted_double_well_free_energy_difference_matches_the_exact_integral_at_low_temperature(kT):
    L = TiltedDoubleWell(tilt=0.4, h=1.0, k=0.6)
    xl, xs, xr = L.stationary_x()

    def f(x):
        return L.h * (x * x - 1) ** 2 + L.tilt * x

    zl = quad(lambda x: math.exp(-(f(x) - f(xl)) / kT), -3, xs, points=[xl])[0]
    zr = quad(lambda x: math.exp(-(f(x) - f(xl)) / kT), xs, 3, points=[xr])[0]  # the y integrals cancel
    log_exact = math.log(zl / zr)
    net = KineticNetwork.from_arrays(
        [f(xl), f(xr)], [f(xs)], [[0, 1]], dim=2,
        log_product_frequencies=[math.log((12 * xl * xl - 4) * L.k), math.log((12 * xr * xr - 4) * L.k)])
    F = group_free_energy(net, [[0], [1]], kT)
    # harmonic wells: exact up to anharmonic corrections of relative order kT (measured < 0.4 %)
    assert -(F[0] - F[1]) / kT == pytest.approx(log_exact, abs=5e-3)


def test_missing_inputs_are_named():
    with pytest.raises(LandscapeError, match="log_product_frequencies"):
        harmonic_superposition(KineticNetwork.from_arrays([0.0], [], np.zeros((0, 2)), dim=2), 1.0)
    with pytest.raises(LandscapeError, match="dim"):
        harmonic_superposition(KineticNetwork.from_arrays([0.0], [], np.zeros((0, 2)),
                                                          log_product_frequencies=[0.0]), 1.0)
    with pytest.raises(LandscapeError, match="temperatures"):
        harmonic_superposition(KineticNetwork.from_arrays([0.0], [], np.zeros((0, 2)),
                                                          log_product_frequencies=[0.0], dim=2), [1.0, -1.0])
