"""Thermodynamics from the database of minima: the harmonic superposition approximation.

The canonical partition function is a sum over minima (Wales 1993, Mol. Phys. 78, 151;
Strodel & Wales 2008, Chem. Phys. Lett. 466, 105), each treated as a classical harmonic well::

    Z(T) = Σ_i Z_i,   Z_i = n_i · e^{−E_i/kT} · ∏_{a=1}^{κ_i} (kT / ħω_a^i)

with κ_i = dim − n_zero_modes_i vibrational modes of angular frequencies ω_a (ω² the Hessian
eigenvalues for unit masses; the stored ``log_product_frequencies`` is Σ log ω²) and
n_i = 2N!/o_i permutation–inversion isomers of minimum i. Here n_i = 1/o_i (the 2N! common to
every minimum of a cluster, and for networks meaningless, is left out; ``log_isomer_factor``
adds it back), ħ = 1 in the landscape's units and k_B = 1 (temperature is kT in energy units).
With a common κ these constants only shift F by a term linear in T and cancel from every
occupation probability, from U(T) − κkT and from C_v.

From ln Z_i = −ln o_i − E_i/kT + κ_i ln kT − ½ Σ ln ω²:

* occupation probabilities p_i = Z_i / Z (computed with log-sum-exp, so any T works);
* free energy F = −kT ln Z, and of a group G of minima F_G = −kT ln Σ_{i∈G} Z_i;
* internal energy U = Σ p_i (E_i + κ_i kT);
* heat capacity C_v = ⟨κ⟩ k_B + (⟨U_i²⟩ − ⟨U_i⟩²)/(k_B T²) with U_i = E_i + κ_i kT, which for a
  common κ is κ k_B + (⟨E²⟩ − ⟨E⟩²)/(k_B T²).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from levinthal.landscape.errors import LandscapeError
from levinthal.network.graph import KineticNetwork

__all__ = ["HarmonicThermo", "group_free_energy", "harmonic_superposition", "log_partition_functions"]


def _temperatures(temperature: float | Sequence[float]) -> np.ndarray:
    T = np.atleast_1d(np.asarray(temperature, dtype=float))
    if T.ndim != 1 or not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise LandscapeError(f"thermo: temperatures kT must be finite and > 0, got {temperature!r}")
    return T


def _check_frequencies(net: KineticNetwork) -> None:
    bad = np.flatnonzero(~np.isfinite(net.log_product_frequencies))
    if bad.size:
        raise LandscapeError(f"thermo: log_product_frequencies missing for minima {bad.tolist()[:10]}; "
                             "the harmonic superposition needs every minimum's Hessian")


def log_partition_functions(net: KineticNetwork, temperature: float, *,
                            log_isomer_factor: float = 0.0) -> np.ndarray:
    """ln Z_i of every minimum at one kT, shape ``(n,)`` (see the module docstring)."""
    kT = float(_temperatures(temperature)[0])
    _check_frequencies(net)
    kappa = net.kappa()
    return (log_isomer_factor - np.log(net.point_group_orders) - net.energies / kT + kappa * np.log(kT)
            - 0.5 * net.log_product_frequencies)


@dataclass
class HarmonicThermo:
    """Harmonic-superposition thermodynamics at the temperatures ``temperatures`` (``(t,)``, kT).

    ``free_energy`` F ``(t,)``; ``internal_energy`` U ``(t,)``; ``heat_capacity`` C_v ``(t,)``
    (units of k_B); ``entropy`` S = (U − F)/T ``(t,)``; ``occupations`` p_i ``(t, n)``.
    """

    temperatures: np.ndarray
    free_energy: np.ndarray
    internal_energy: np.ndarray
    heat_capacity: np.ndarray
    entropy: np.ndarray
    occupations: np.ndarray


def harmonic_superposition(net: KineticNetwork, temperatures: float | Sequence[float], *,
                           log_isomer_factor: float = 0.0) -> HarmonicThermo:
    """F(T), U(T), C_v(T), S(T) and the occupation of every minimum at each kT in ``temperatures``."""
    T = _temperatures(temperatures)
    kappa = net.kappa().astype(float)
    F, U, C = np.empty(T.size), np.empty(T.size), np.empty(T.size)
    P = np.empty((T.size, net.n_minima))
    for k, kT in enumerate(T):
        lz = log_partition_functions(net, kT, log_isomer_factor=log_isomer_factor)
        lZ = float(logsumexp(lz))
        p = np.exp(lz - lZ)
        Ui = net.energies + kappa * kT
        F[k] = -kT * lZ
        U[k] = float(p @ Ui)
        C[k] = float(p @ kappa) + float(p @ (Ui - U[k]) ** 2) / kT**2
        P[k] = p
    return HarmonicThermo(temperatures=T, free_energy=F, internal_energy=U, heat_capacity=C,
                          entropy=(U - F) / T, occupations=P)


def group_free_energy(net: KineticNetwork, groups: Sequence[Sequence[int]] | np.ndarray,
                      temperature: float, *, log_isomer_factor: float = 0.0) -> np.ndarray:
    """F_G = −kT ln Σ_{i∈G} Z_i for each group G of minimum indices, shape ``(len(groups),)``.

    ``groups`` is a list of index lists, or an integer label per minimum (``(n,)``), in which
    case the groups are the labels in ascending order (e.g. the funnel of each minimum).
    Free-energy *differences* between groups are free of the ħ and 2N! conventions.
    """
    kT = float(_temperatures(temperature)[0])
    lz = log_partition_functions(net, kT, log_isomer_factor=log_isomer_factor)
    if isinstance(groups, np.ndarray) and groups.ndim == 1 and groups.size == net.n_minima \
            and np.issubdtype(groups.dtype, np.integer):
        groups = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    out = []
    for g in groups:
        idx = np.asarray(g, dtype=int)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= net.n_minima:
            raise LandscapeError(f"group_free_energy: group {g!r} must be non-empty minimum indices")
        out.append(-kT * float(logsumexp(lz[idx])))
    return np.asarray(out)
