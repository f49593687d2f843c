"""Off-lattice bead models of proteins: the three-colour BLN chain.

The BLN model (Honeycutt & Thirumalai, PNAS 87, 3526 (1990); Biopolymers 32, 695 (1992)) is
a chain of N beads of three kinds: hydrophobic **B**, hydrophilic **L** and neutral **N**.
A flat coordinate vector ``x`` of shape ``(3N,)`` (bead ``i`` at ``x[3i:3i+3]``) is in
reduced units: lengths in σ (the bond length), energies in ε (the B–B well depth).

    V = Σ_bonds k_r/2 (r_{i,i+1} − r_e)² + Σ_angles k_θ/2 (θ_i − θ_e)²
        + Σ_dihedrals [A(1 + cos φ) + B(1 − cos φ) + C(1 + cos 3φ) + D(1 + cos(φ + π/4))]
        + 4 Σ_{j ≥ i + sep} [S12_ij (σ/r_ij)¹² + S6_ij (σ/r_ij)⁶].

The 46-bead sequence ``B9 N3 (LB)4 N3 B9 N3 (LB)5 L`` with the parameters of the Wales
group's GMIN/OPTIM potential ``P46MERDIFF`` (read from its source; the frustrated 46-mer of
Miller & Wales, J. Chem. Phys. 111, 6610 (1999); also studied by Neirotti, Calvo, Freeman &
Doll, J. Chem. Phys. 112, 10340 (2000)), converted to reduced units (GMIN works in Å with
σ = 3.4 Å and ε = 0.0100570):

* bonds: k_r = 231.2 ε σ⁻² (GMIN's 20 ε Å⁻² with σ = 3.4 Å), r_e = σ;
* angles: k_θ = 20 ε rad⁻², θ_e = 1.8326 rad (≈ 105°);
* dihedrals: A = C = 1.2 ε (B = D = 0) when the quartet holds at most one N bead, A = 0 and
  C = 0.2 ε when it holds two or more (flexible turns);
* non-bonded: B–B attractive Lennard-Jones (S12 = 1, S6 = −1); L–L and L–B repulsive
  (S12 = S6 = 2/3); any pair with an N purely repulsive (S12 = 1, S6 = 0);
* the non-bonded sum runs over pairs two or more apart along the chain (``sep = 2``), as in
  GMIN's code that produced the published minima. Honeycutt & Thirumalai's paper counts
  pairs three or more apart; pass ``min_separation=3`` for that variant.

The D(1 + cos(φ + π/4)) term belongs to the later BLN framework (Brown, Fawzi &
Head-Gordon, PNAS 100, 10712 (2003)) and is supported through ``dihedral_coefficients``.

**Chirality.** With D = 0 (the 46-bead model) every term depends on cos φ only, so the energy
is invariant under inversion r → −r (which flips the sign of every φ): mirror images are
the same minimum and :attr:`BLNProtein.symmetry` allows inversion. A nonzero D makes the
model chiral; the symmetry then refuses inversion. Beads are distinct, so there are no
permutations; reversing the chain is not a symmetry either (the sequence is not a
palindrome). This is checked in ``tests/test_bln.py``.

Derivatives: analytic gradient; exact Hessian-vector products and Hessians by the complex
step on the gradient (see :mod:`levinthal.systems._bln_kernels`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from levinthal.landscape import ShapeError
from levinthal.symmetry.clusters import ClusterSymmetry
from levinthal.systems import _bln_kernels as K

__all__ = [
    "BLN46_LOWEST_FOUND_ENERGY",
    "BLN46_SEQUENCE",
    "BLNProtein",
    "ChainSymmetry",
    "random_coil",
]

#: The frustrated 46-bead sequence of Honeycutt & Thirumalai (1990).
BLN46_SEQUENCE = "B" * 9 + "N" * 3 + "LB" * 4 + "N" * 3 + "B" * 9 + "N" * 3 + "LB" * 5 + "L"

#: Lowest energy (ε) of any BLN46 minimum found here, by basin-hopping (structure in
#: ``benchmarks/data/bln46_lowest_found.npy``). NOT a certified global minimum, and no
#: published value could be checked against it: the −44.80 ε sometimes quoted for this model
#: lies well above minima that these parameters (read from GMIN's P46 code) give, so either
#: that number belongs to a variant of the model or it is misremembered.
BLN46_LOWEST_FOUND_ENERGY = -53.2048274959784

#: (S12, S6) of a non-bonded pair, by the pair of bead kinds.
PAIR_COEFFICIENTS: dict[frozenset[str], tuple[float, float]] = {
    frozenset("B"): (1.0, -1.0),
    frozenset("L"): (2.0 / 3.0, 2.0 / 3.0),
    frozenset("LB"): (2.0 / 3.0, 2.0 / 3.0),
}
NEUTRAL_PAIR = (1.0, 0.0)

#: (A, B, C, D) of a dihedral quartet with at most one / two or more N beads.
DIHEDRAL_RIGID = (1.2, 0.0, 1.2, 0.0)
DIHEDRAL_FLEXIBLE = (0.0, 0.0, 0.2, 0.0)

BOND_CONSTANT = 231.2
BOND_LENGTH = 1.0
ANGLE_CONSTANT = 20.0
ANGLE_EQUILIBRIUM = 1.8326  # rad; GMIN's value for 105°

#: Random coils place beads no closer than this (σ) to earlier non-bonded beads.
COIL_MIN_DISTANCE = 1.0


def _pair_tables(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    n = len(sequence)
    s12 = np.zeros((n, n))
    s6 = np.zeros((n, n))
    for i, a in enumerate(sequence):
        for j, b in enumerate(sequence):
            if "N" in (a, b):
                s12[i, j], s6[i, j] = NEUTRAL_PAIR
            else:
                s12[i, j], s6[i, j] = PAIR_COEFFICIENTS[frozenset(a + b)]
    return s12, s6


def _default_dihedrals(sequence: str) -> np.ndarray:
    n = len(sequence)
    out = np.zeros((max(n - 3, 0), 4))
    for i in range(n - 3):
        out[i] = DIHEDRAL_FLEXIBLE if sequence[i:i + 4].count("N") >= 2 else DIHEDRAL_RIGID
    return out


class ChainSymmetry(ClusterSymmetry):
    """Symmetry of a chain of distinct beads: translations and rotations, inversion only if
    the energy is achiral, never permutations.

    Zero modes are the six rigid-body motions (:meth:`ClusterSymmetry.zero_modes`);
    :meth:`align` / :meth:`same` use a single Kabsch superposition (exact without
    permutations; Kabsch 1976), trying the mirror image as well when ``inversion`` is True.
    """

    def __init__(self, n_beads: int, *, inversion: bool, rtol: float = 1e-8) -> None:
        super().__init__(n_beads, rtol=rtol)
        self.inversion = bool(inversion)

    def __repr__(self) -> str:
        return f"ChainSymmetry(n_beads={self.n_atoms}, inversion={self.inversion})"

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        if options.get("permutations"):
            raise ValueError("ChainSymmetry: beads of a chain are distinct; permutations are not a symmetry")
        if options.get("inversion") and not self.inversion:
            raise ValueError("ChainSymmetry: this chain's energy is chiral; inversion is not a symmetry")
        options["permutations"] = False
        options.setdefault("inversion", self.inversion)
        return options

    def align(self, a: Any, b: Any, **options: Any) -> Any:
        return super().align(a, b, **self._options(options))

    def distance(self, a: Any, b: Any, **options: Any) -> float:
        return self.align(a, b, **options).distance

    def same(self, a: Any, b: Any, **options: Any) -> bool:
        return super().same(a, b, **self._options(options))


def random_coil(rng: np.random.Generator, n_beads: int, *, bond_length: float = BOND_LENGTH,
                bond_angle: float = ANGLE_EQUILIBRIUM, min_distance: float = COIL_MIN_DISTANCE,
                max_tries: int = 1000) -> np.ndarray:
    """A self-avoiding random coil, flat shape (3N,), centred at the origin.

    Beads are grown one at a time: every bond has ``bond_length``, every bond angle is
    ``bond_angle`` and each new dihedral is uniform in (−π, π]; a bead closer than
    ``min_distance`` to any bead two or more places back is redrawn (up to ``max_tries``
    times; then the whole chain restarts). Bonds and angles start at their equilibrium so
    a quench only has to fold the chain, not repair it.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if n_beads < 1:
        raise ValueError(f"random_coil: n_beads must be >= 1, got {n_beads}")
    for _restart in range(100):
        pos = np.zeros((n_beads, 3))
        if n_beads > 1:
            pos[1] = (bond_length, 0.0, 0.0)
        if n_beads > 2:
            pos[2] = pos[1] + bond_length * np.array([-np.cos(bond_angle), np.sin(bond_angle), 0.0])
        ok = True
        for i in range(3, n_beads):
            b2 = pos[i - 1] - pos[i - 2]
            b2 /= np.linalg.norm(b2)
            nrm = np.cross(pos[i - 2] - pos[i - 3], b2)
            nrm /= np.linalg.norm(nrm)
            m = np.cross(nrm, b2)
            for _ in range(max_tries):
                phi = rng.uniform(-np.pi, np.pi)
                # bond i-1 -> i makes angle (pi - bond_angle) with b2, dihedral phi about b2
                d = (np.cos(np.pi - bond_angle) * b2
                     + np.sin(np.pi - bond_angle) * (np.cos(phi) * m + np.sin(phi) * nrm))
                cand = pos[i - 1] + bond_length * d
                if np.all(np.sum((pos[: i - 1] - cand) ** 2, axis=1) >= min_distance ** 2):
                    pos[i] = cand
                    break
            else:
                ok = False
                break
        if ok:
            return (pos - pos.mean(axis=0)).reshape(-1)
    raise RuntimeError(f"random_coil: could not grow a self-avoiding chain of {n_beads} beads")


class BLNProtein:
    """A BLN bead chain (Honeycutt & Thirumalai 1990) with the Wales-group parameters.

    Parameters
    ----------
    sequence : str
        Bead kinds, one letter each from ``"B"``, ``"L"``, ``"N"`` (default: the frustrated
        46-mer :data:`BLN46_SEQUENCE`).
    dihedral_coefficients : array (N − 3, 4), optional
        ``(A, B, C, D)`` in ε for each quartet ``(i, …, i+3)``; default from the N count
        (see module docstring). A nonzero D makes the model chiral.
    min_separation : int
        Smallest ``|i − j|`` of a non-bonded pair (default 2, as GMIN; 3 for the original paper).
    bond_constant, bond_length, angle_constant, angle_equilibrium : float
        k_r (ε σ⁻²), r_e (σ), k_θ (ε rad⁻²), θ_e (rad).

    ``kernel`` / ``kernel_params`` expose the compiled energy+gradient to the compiled L-BFGS.
    """

    #: L-BFGS memory 10 (per-bead step cap 0.1 σ as for clusters). Measured on 20 quenches from
    #: random coils (rms_tol default): mean gradient calls 1548 with memory 4, 1356 with 10,
    #: 1318 with 20; all converged.
    minimizer_defaults: ClassVar[dict[str, dict[str, float]]] = {"lbfgs": {"memory": 10}}

    kernel = staticmethod(K.bln_energy_gradient)

    def __init__(self, sequence: str = BLN46_SEQUENCE, *, dihedral_coefficients: Any = None,
                 min_separation: int = 2, bond_constant: float = BOND_CONSTANT,
                 bond_length: float = BOND_LENGTH, angle_constant: float = ANGLE_CONSTANT,
                 angle_equilibrium: float = ANGLE_EQUILIBRIUM):
        sequence = str(sequence).upper()
        if len(sequence) < 4 or set(sequence) - set("BLN"):
            raise ValueError(f"BLNProtein: sequence must be at least 4 letters from B, L, N; "
                             f"got {sequence!r}")
        if int(min_separation) != min_separation or min_separation < 2:
            raise ValueError(f"BLNProtein: min_separation must be an integer >= 2, got {min_separation!r}")
        if not (bond_constant > 0 and bond_length > 0 and angle_constant >= 0
                and 0 < angle_equilibrium < np.pi):
            raise ValueError("BLNProtein: need bond_constant > 0, bond_length > 0, angle_constant >= 0 and "
                             f"0 < angle_equilibrium < pi (got {bond_constant}, {bond_length}, "
                             f"{angle_constant}, {angle_equilibrium})")
        self.sequence = sequence
        self.n_beads = self.n_atoms = len(sequence)
        self.dim = 3 * self.n_beads
        if dihedral_coefficients is None:
            dih = _default_dihedrals(sequence)
        else:
            dih = np.asarray(dihedral_coefficients, dtype=np.float64)
            if dih.shape != (self.n_beads - 3, 4):
                raise ShapeError(f"BLNProtein: dihedral_coefficients has shape {dih.shape}, "
                                 f"expected ({self.n_beads - 3}, 4) = (A, B, C, D) per quartet")
        self.dihedral_coefficients = dih
        self.min_separation = int(min_separation)
        self.bond_constant = float(bond_constant)
        self.bond_length = float(bond_length)
        self.angle_constant = float(angle_constant)
        self.angle_equilibrium = float(angle_equilibrium)
        self.chiral = bool(np.any(dih[:, 3] != 0.0))
        s12, s6 = _pair_tables(sequence)
        header = [self.bond_constant, self.bond_length, self.angle_constant, self.angle_equilibrium,
                  float(self.min_separation)]
        self.kernel_params = np.ascontiguousarray(
            np.concatenate([header, dih.reshape(-1), s12.reshape(-1), s6.reshape(-1)]))
        self.name = "bln46" if (sequence == BLN46_SEQUENCE and dihedral_coefficients is None
                                and self.min_separation == 2) else f"bln{self.n_beads}"
        self._symmetry: ChainSymmetry | None = None

    def __repr__(self) -> str:
        return f"BLNProtein({self.sequence!r}, min_separation={self.min_separation})"

    # -- input handling ---------------------------------------------------------------
    def _x(self, x: Any, what: str = "x") -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ShapeError(f"{self.name}: {what} has shape {x.shape}, expected ({self.dim},) = 3 × "
                             f"{self.n_beads} beads; flatten positions with positions.reshape(-1)")
        return x

    def _X(self, X: Any) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ShapeError(f"{self.name}: batch has shape {X.shape}, expected (n, {self.dim})")
        return X

    # -- protocol -----------------------------------------------------------------------
    def energy(self, x: np.ndarray) -> float:
        """Potential energy (ε) of the chain ``x`` (3N,)."""
        return float(K.bln_energy(self._x(x), self.kernel_params))

    def energy_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Energy (ε) and gradient ∂V/∂x (ε σ⁻¹), shape (3N,)."""
        e, g = K.bln_energy_gradient(self._x(x), self.kernel_params)
        return float(e), g

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Hessian-vector product H(x) v, shape (3N,), exact to rounding (complex step)."""
        return K.hvp(self._x(x), self.kernel_params, self._x(v, "v"))

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Dense Hessian, shape (3N, 3N) (3N complex-step gradients, symmetrised)."""
        return K.hessian(self._x(x), self.kernel_params)

    def energies(self, X: np.ndarray) -> np.ndarray:
        """Energies of the rows of ``X`` (n, 3N) -> (n,)."""
        return K.batch_energies(self._X(X), self.kernel_params)

    def energy_gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energies (n,) and gradients (n, 3N) of the rows of ``X`` (n, 3N)."""
        return K.batch_energy_gradients(self._X(X), self.kernel_params)

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        """A self-avoiding random coil (:func:`random_coil`) with equilibrium bonds and angles."""
        return random_coil(rng, self.n_beads, bond_length=self.bond_length,
                           bond_angle=self.angle_equilibrium)

    def native_point(self, x: Any) -> np.ndarray:
        """``x`` as a contiguous float64 vector of shape (3N,)."""
        return self._x(x)

    def positions(self, x: np.ndarray) -> np.ndarray:
        """Bead positions, shape (N, 3)."""
        return self._x(x).reshape(self.n_beads, 3)

    def dihedrals(self, x: np.ndarray) -> np.ndarray:
        """Dihedral angles φ (rad, IUPAC sign, trans = ±π) of the N − 3 quartets."""
        p = self.positions(x)
        b1, b2, b3 = p[1:-2] - p[:-3], p[2:-1] - p[1:-2], p[3:] - p[2:-1]
        n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
        s = np.linalg.norm(b2, axis=1) * np.einsum("ij,ij->i", b1, n2)
        return np.arctan2(s, np.einsum("ij,ij->i", n1, n2))

    @property
    def symmetry(self) -> ChainSymmetry:
        """:class:`ChainSymmetry`: 3 translations + 3 rotations; inversion iff not chiral."""
        if self._symmetry is None:
            self._symmetry = ChainSymmetry(self.n_beads, inversion=not self.chiral)
        return self._symmetry
