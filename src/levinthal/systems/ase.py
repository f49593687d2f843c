"""Any ASE ``Atoms`` + calculator as a landscape.

x is the flat Cartesian positions of the *free* atoms (those not held by ``FixAtoms``),
shape ``(3 N_free,)``, in the calculator's units (usually Å and eV: levinthal itself assumes
no units). Energies and forces come from the calculator; the gradient is −forces.

ASE calculators give no second derivatives, so ``hvp`` is a central difference of forces
along v, and ``hessian`` is built from 2·dim force calls (the finite-displacement approach of
``ase.vibrations``). Both are labelled by ``hvp_method = "finite-difference"`` and use the
step ``fd_step`` (default 1e-4 in the calculator's length unit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape import LandscapeError, ShapeError


class AseLandscape:
    """Adapter from an ASE ``Atoms`` object with an attached (or given) calculator.

    The ``Atoms`` object is copied; its positions are set from x on every evaluation and the
    last evaluated point is cached so an energy followed by a gradient costs one call.
    """

    hvp_method = "finite-difference"

    def __init__(self, atoms: Any, calculator: Any = None, *, fd_step: float = 1e-4,
                 name: str | None = None):
        from ase.constraints import FixAtoms

        self.atoms = atoms.copy()
        calc = calculator if calculator is not None else atoms.calc
        if calc is None:
            raise LandscapeError(
                f"AseLandscape: atoms {atoms.get_chemical_formula()} have no calculator; "
                "attach one (atoms.calc = ...) or pass calculator="
            )
        self.atoms.calc = calc
        fixed = np.zeros(len(atoms), dtype=bool)
        for c in atoms.constraints:
            if isinstance(c, FixAtoms):
                fixed[c.get_indices()] = True
            else:
                raise LandscapeError(
                    f"AseLandscape: constraint {type(c).__name__} is not supported; "
                    "only FixAtoms is (fixed atoms are removed from x)"
                )
        self.atoms.set_constraint()
        self.free = ~fixed
        self.n_free = int(self.free.sum())
        self.dim = 3 * self.n_free
        self.fd_step = float(fd_step)
        self.name = name or f"ase:{atoms.get_chemical_formula()}:{type(calc).__name__}"
        self._cache_x: np.ndarray | None = None
        self._cache: tuple[float, np.ndarray] | None = None

    @property
    def symmetry(self) -> Any:
        """Rigid-body zero modes for an isolated, unconstrained system; None otherwise."""
        if self.n_free == len(self.atoms) and not self.atoms.pbc.any():
            from levinthal.symmetry.clusters import ClusterSymmetry

            return ClusterSymmetry(len(self.atoms))
        return None

    def x0(self) -> np.ndarray:
        """The current positions of the free atoms as a flat vector."""
        return self.atoms.positions[self.free].reshape(-1).copy()

    def positions(self, x: np.ndarray) -> np.ndarray:
        """All positions (N, 3) with the free atoms set from x."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ShapeError(f"{self.name}: x has shape {x.shape}, expected ({self.dim},)")
        pos = self.atoms.positions.copy()
        pos[self.free] = x.reshape(-1, 3)
        return pos

    def _evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        if self._cache_x is not None and np.array_equal(x, self._cache_x):
            return self._cache
        self.atoms.positions = self.positions(x)
        e = float(self.atoms.get_potential_energy())
        g = -self.atoms.get_forces()[self.free].reshape(-1)
        self._cache_x, self._cache = x.copy(), (e, g)
        return e, g

    def energy(self, x: np.ndarray) -> float:
        return self._evaluate(x)[0]

    def energy_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        e, g = self._evaluate(x)
        return e, g.copy()

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        h = self.fd_step
        v = np.asarray(v, dtype=np.float64)
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return np.zeros_like(v)
        u = v / nv
        gp = self._evaluate(np.asarray(x) + h * u)[1]
        gm = self._evaluate(np.asarray(x) - h * u)[1]
        return (gp - gm) / (2 * h) * nv

    def hessian(self, x: np.ndarray) -> np.ndarray:
        H = np.empty((self.dim, self.dim))
        for i in range(self.dim):
            e = np.zeros(self.dim)
            e[i] = 1.0
            H[i] = self.hvp(x, e)
        return 0.5 * (H + H.T)

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        """The current positions displaced by Gaussian noise of 0.1 length units per coordinate."""
        return self.x0() + 0.1 * rng.standard_normal(self.dim)

    def __repr__(self) -> str:
        return f"AseLandscape({self.name!r}, dim={self.dim})"
