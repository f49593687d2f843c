"""Nudged elastic band: improved tangent, climbing image, doubly nudged, AutoNEB-style insertion.

The band's movable images are relaxed *together*, as one flat vector, by a force-based
optimiser (the NEB force is not the gradient of any function, so there is no line search):

* ``"lbfgs"``: L-BFGS two-loop recursion (Nocedal 1980) driven by the band force, with a cap on
  every image's displacement and a memory reset whenever the quasi-Newton direction points
  against the force, as in the band optimisers of pele and ASE; the improved-tangent paper
  and Trygubenko & Wales (2004) recommend quasi-Newton band relaxation.
* ``"fire"``: FIRE (Bitzek et al. 2006, Phys. Rev. Lett. 97, 170201) on the band force.

Images are evaluated in one batched call per iteration when the landscape offers
``energy_gradients(X)``. Rigid-body zero modes (the landscape's ``symmetry.zero_modes``) are
projected out of every image force, so a cluster band neither drifts nor rotates.

References: Henkelman & Jónsson (2000), J. Chem. Phys. 113, 9978 (improved tangent);
Henkelman, Uberuaga & Jónsson (2000), J. Chem. Phys. 113, 9901 (climbing image); Trygubenko &
Wales (2004), J. Chem. Phys. 120, 2082 (doubly nudged); Kolsbjerg, Groves & Hammer (2016),
J. Chem. Phys. 145, 094107 (AutoNEB image insertion).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape import (
    LandscapeError,
    as_like,
    checked,
    native_point,
    supports,
    symmetry_of,
    to_numpy,
)
from levinthal.paths.band import insert_image, insertion_interval, linear_band, path_length
from levinthal.paths.results import NebResult
from levinthal.paths.tangents import band_forces
from levinthal.symmetry import ClusterSymmetry

Array = Any

__all__ = ["EndpointWarning", "neb"]

OPTIMIZERS = ("lbfgs", "fire")
ENDPOINT_POLICIES = ("warn", "raise", "quench")
RISE = 4.0
"""An L-BFGS band step that raises the norm of the whole band force by more than this factor is
taken back and retried with half its length (the band force is not a gradient, so there is no
energy to line-search). Chosen on Müller–Brown and LJ7 bands: 1.5-2 rejects useful steps and
stalls, no rejection at all lets a climbing image run off on a rough band."""
RUNAWAY = 10.0
"""A band whose length grows beyond this multiple of the initial (straight) band is stopped as
run away (seen with springs far too soft: an image slides off and climbs without bound)."""
FREEZE = 1.0
"""An image whose NEB force is already at most ``FREEZE × tolerance`` stays where it is for the
step and is not evaluated again: its energy and gradient are unchanged, so its NEB force (which
moves with its neighbours' positions through the tangent and springs) is recomputed without a
force call, and a converged band still has every image force below the tolerance, evaluated at
the images' final positions. Measured with the ASE benchmark (fmax 0.05): LJ7, 7 images 100 → 72
force calls; Müller–Brown 5 and 8 images 162 → 133 and 434 → 409; 3 images unchanged.
0.5 and 0.8 saved less."""
CLIMB_FACTOR = 1.0
"""Climbing starts once the largest image force is below ``CLIMB_FACTOR × tolerance``; a value
<= 1 (default) climbs from the first step, which measured fastest here (the delayed start of
Henkelman, Uberuaga & Jónsson 2000 cost more steps than it saved on the test bands)."""


class EndpointWarning(UserWarning):
    """An endpoint of a band is not a minimum (its RMS gradient exceeds ``endpoint_rms_tol``)."""


@dataclass
class _Band:
    """Mutable state of a band during relaxation (all NumPy, float64)."""

    X: np.ndarray
    E: np.ndarray
    G: np.ndarray
    history: list[float] = field(default_factory=list)
    iterations: int = 0


def neb(
    landscape: Any,
    x_a: Array,
    x_b: Array,
    *,
    n_images: int = 8,
    spring: float | None = None,
    climbing: bool = True,
    doubly_nudged: bool = False,
    optimizer: str = "lbfgs",
    rms_tol: float = 1e-3,
    fmax: float | None = None,
    max_iterations: int = 1000,
    max_step: float = 0.1,
    memory: int = 10,
    insert: bool = False,
    n_start: int = 3,
    align: bool = True,
    refine: bool = True,
    endpoints: str = "warn",
    endpoint_rms_tol: float = 1e-3,
    identical_tol: float = 1e-6,
    project_zero_modes: bool = True,
    rng: np.random.Generator | int | None = None,
) -> NebResult:
    """Relax a nudged elastic band from ``x_a`` to ``x_b`` and locate the saddle between them.

    Parameters
    ----------
    landscape
        Any landscape; ``energy_gradients(X)`` is used for one batched call per iteration when
        present. Points are handled as float64 NumPy vectors inside the band and converted
        with :func:`~levinthal.landscape.native_point` for evaluation.
    x_a, x_b : array, shape ``(dim,)``
        Endpoints, normally two minima. For a landscape whose symmetry can ``align`` (atomic
        clusters) ``x_b`` is first superposed on ``x_a`` over translations, rotations,
        permutations and inversion (``align=True``), so the linear interpolation does not pass
        through a needlessly distorted or compressed geometry.
    n_images : int
        Movable images (default 8); the result holds ``n_images + 2`` rows with the endpoints.
    spring : float or None
        Spring constant k in energy/length² of the landscape. It sets how evenly the images are
        spaced; the converged climbing image does not depend on it, but the cost does: springs
        much softer than the landscape let images slide and the band kink (on Müller–Brown,
        k = 1 never converges). Default ``None``: k = ΔE/L², with ΔE the highest energy of the
        initial band above the lower endpoint and L the endpoint distance, i.e. a stiffness
        comparable to the curvature of the initial energy profile (≈ 120 for Müller–Brown
        A→C, ≈ 2 for LJ7); the value used is reported as ``result.spring``.
    climbing : bool
        Climbing image on the highest image (default True): a converged band has it on the
        saddle.
    doubly_nudged : bool
        Add the doubly nudged spring term of Trygubenko & Wales (2004) (default False).
    optimizer : ``"lbfgs"`` or ``"fire"``
        Band optimiser (default L-BFGS, ``memory`` pairs, no line search).
    rms_tol : float
        Converged when every image's NEB force (perpendicular true force plus spring force,
        the climbing image's full inverted force) has ‖F_i‖/√dim below this (default 1e-3).
    fmax : float, optional
        ASE's criterion instead of ``rms_tol`` (atomic systems, ``dim`` a multiple of 3):
        converged when the largest force on any atom of any image, ‖F_atom‖, is at most
        ``fmax``. Looser than ``rms_tol = fmax/√dim`` by up to √(number of atoms); use it to
        compare with ASE at its own tolerance.
    max_iterations : int
        Budget of band steps (each one evaluation of every movable image; default 1000). A
        band that has not converged within it is returned with ``converged=False``, a message,
        and no transition state.
    max_step : float
        Largest displacement of any single image per step, Euclidean norm (default 0.1).
    insert, n_start : bool, int
        AutoNEB-style growth (Kolsbjerg et al. 2016): start with ``n_start`` images, relax
        (without climbing, to 10× ``rms_tol``), insert an image in the interval with the
        largest energy difference, repeat until ``n_images``, then relax to ``rms_tol``.
    refine : bool
        Hand the highest image and its tangent to
        :func:`levinthal.saddles.refine_transition_state`; the verified transition state (or
        the reason there is none) is reported. Skipped with a message when the band did not
        converge or the saddles package is not installed.
    endpoints : ``"warn"``, ``"raise"`` or ``"quench"``
        What to do when an endpoint is not a minimum (RMS gradient above ``endpoint_rms_tol``,
        default 1e-3): ``"warn"`` (default) emits an :class:`EndpointWarning`, relaxes the band
        anyway and says so in the result's message (barriers are then measured from the given
        points); ``"raise"`` raises ``ValueError``; ``"quench"`` minimises the endpoint first
        with :func:`levinthal.minimize.minimize` (its force calls are counted).
    identical_tol : float
        Endpoints whose (aligned) RMS distance ‖a − b‖/√dim is below this are refused with a
        ``ValueError``: there is no path to relax between one point and itself.
    project_zero_modes : bool
        Remove the landscape's zero modes from every image force (default True).
    rng
        Generator or seed for the random starts of the cluster alignment.

    Returns
    -------
    NebResult
        Band, energies, path length, highest image, transition state, barriers and counts.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"neb: unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if endpoints not in ENDPOINT_POLICIES:
        raise ValueError(f"neb: endpoints must be one of {', '.join(ENDPOINT_POLICIES)}, got {endpoints!r}")
    if int(n_images) != n_images or n_images < 1:
        raise ValueError(f"neb: n_images must be a positive integer, got {n_images!r}")
    for name, value in (("spring", 1.0 if spring is None else spring), ("rms_tol", rms_tol),
                        ("max_step", max_step), ("fmax", 1.0 if fmax is None else fmax)):
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"neb: {name} must be positive and finite, got {value!r}")
    if int(max_iterations) != max_iterations or max_iterations < 0:
        raise ValueError(f"neb: max_iterations must be a non-negative integer, got {max_iterations!r}")

    lc = checked(landscape, caller="neb")
    start_counts = lc.counts.copy()
    dim = int(lc.dim)
    a = _as_vector(x_a, dim, lc.name, "x_a")
    b = _as_vector(x_b, dim, lc.name, "x_b")
    notes: list[str] = []

    # Endpoints: minima?
    ea, ga = _evaluate_one(lc, a)
    eb, gb = _evaluate_one(lc, b)
    rms = [float(np.linalg.norm(ga)) / math.sqrt(dim), float(np.linalg.norm(gb)) / math.sqrt(dim)]
    for k, label in enumerate("AB"):
        if rms[k] <= endpoint_rms_tol:
            continue
        text = (f"endpoint {label} of the band on {lc.name} is not a minimum "
                f"(RMS gradient {rms[k]:.3g} > endpoint_rms_tol {endpoint_rms_tol:g})")
        if endpoints == "raise":
            raise ValueError(f"neb: {text}; quench it first or pass endpoints='quench'")
        if endpoints == "warn":
            warnings.warn(text, EndpointWarning, stacklevel=2)
            notes.append(text + ": barriers are measured from it as given")
        else:
            from levinthal.minimize import minimize

            res = minimize(lc, a if k == 0 else b, rms_tol=min(endpoint_rms_tol, 1e-5) / 10)
            if not res.converged:
                raise ValueError(f"neb: quenching endpoint {label} failed: {res.message}")
            x = to_numpy(res.x).astype(np.float64).reshape(-1)
            e, g = _evaluate_one(lc, x)
            if k == 0:
                a, ea, ga = x, e, g
            else:
                b, eb, gb = x, e, g
            rms[k] = float(np.linalg.norm(g)) / math.sqrt(dim)
            notes.append(f"endpoint {label} was not a minimum and was quenched to E = {e:.8g}")

    # Endpoints: superpose b on a (clusters), refuse identical ones.
    sym = symmetry_of(lc)
    if align and isinstance(sym, ClusterSymmetry):
        rng_align = rng if rng is not None else np.random.default_rng(0)
        alignment = sym.align(a, b, rng=rng_align)
        b = np.asarray(alignment.b_aligned, dtype=np.float64).reshape(-1)
        gb = _rotate_gradient(gb, alignment)
        distance = float(alignment.distance)
    elif align and sym is not None and hasattr(sym, "align"):
        # Other symmetries (hidden-unit permutations of a network: weight matching) return
        # the aligned copy of b; its gradient is evaluated afresh (one force call).
        matching = sym.align(native_point(lc, a), native_point(lc, b))
        b = _as_vector(getattr(matching, "params_b_aligned", getattr(matching, "b_aligned", b)), dim,
                       lc.name, "aligned x_b")
        eb, gb = _evaluate_one(lc, b)
        distance = float(np.linalg.norm(b - a))
    else:
        distance = float(np.linalg.norm(b - a))
    if distance / math.sqrt(dim) < identical_tol:
        raise ValueError(
            f"neb: the endpoints on {lc.name} are the same structure (aligned distance {distance:.3g}, "
            f"RMS {distance / math.sqrt(dim):.3g} < identical_tol {identical_tol:g}); a band needs two "
            "different minima"
        )

    zero_modes = None
    if project_zero_modes and isinstance(sym, ClusterSymmetry):
        zero_modes = sym.zero_modes
    elif project_zero_modes and sym is not None and hasattr(sym, "zero_modes"):
        def zero_modes(x: np.ndarray) -> np.ndarray:
            return to_numpy(sym.zero_modes(native_point(lc, x))).reshape(-1, dim)

    batched = supports(lc, "energy_gradients")
    n0 = min(int(n_start), int(n_images)) if insert else int(n_images)
    n0 = max(n0, 1)
    X = linear_band(a, b, n0)
    E, G = np.empty(n0 + 2), np.empty_like(X)
    E[0], E[-1], G[0], G[-1] = ea, eb, ga, gb
    E[1:-1], G[1:-1] = _evaluate(lc, X[1:-1], batched)
    band = _Band(X, E, G)
    if spring is None:
        rise = float(E.max() - min(ea, eb))
        spring = rise / distance**2 if rise > 0 else 1.0
    initial_length = float(path_length(X)[-1])

    if fmax is not None and dim % 3:
        raise ValueError(f"neb: fmax is a per-atom criterion; {lc.name} has dim {dim}, not a multiple of 3")
    relax_options = dict(spring=float(spring), doubly_nudged=doubly_nudged, optimizer=optimizer,
                         max_step=float(max_step), memory=int(memory), zero_modes=zero_modes,
                         batched=batched, dim=dim, max_length=RUNAWAY * initial_length)
    budget = int(max_iterations)
    converged = False
    stopped = ""
    if insert:
        while band.X.shape[0] - 2 < n_images:
            ok, stopped = _relax(lc, band, climbing=False, rms_tol=10 * rms_tol,
                                 atom_tol=None if fmax is None else 10 * fmax,
                                 max_iterations=budget - band.iterations, **relax_options)
            if not ok:
                break
            i = insertion_interval(band.X, band.E)
            band.X = insert_image(band.X, i)
            e_new, g_new = _evaluate(lc, band.X[i + 1 : i + 2], batched)
            band.E = np.insert(band.E, i + 1, e_new[0])
            band.G = np.insert(band.G, i + 1, g_new[0], axis=0)
        else:
            converged, stopped = _relax(lc, band, climbing=climbing, rms_tol=rms_tol, atom_tol=fmax,
                                        max_iterations=budget - band.iterations, **relax_options)
    else:
        converged, stopped = _relax(lc, band, climbing=climbing, rms_tol=rms_tol, atom_tol=fmax,
                                    max_iterations=budget, **relax_options)

    X, E = band.X, band.E
    hi = 1 + int(np.argmax(E[1:-1]))
    _, tau = _forces(band, spring, climbing=hi if climbing else None, doubly_nudged=doubly_nudged,
                     zero_modes=zero_modes)
    result = NebResult(
        converged=converged,
        message="",
        images=X.copy(),
        energies=E.copy(),
        path_length=path_length(X),
        highest_image=hi,
        climbing=bool(climbing),
        barrier_forward=float(E[hi] - E[0]),
        barrier_backward=float(E[hi] - E[-1]),
        barrier_source="highest image",
        endpoint_rms_gradient=(rms[0], rms[1]),
        iterations=band.iterations,
        optimizer=optimizer,
        spring=float(spring),
        history={"max_force": list(band.history)},
    )
    if converged:
        criterion = (f"max image force RMS below {rms_tol:g}" if fmax is None
                     else f"max atom force below {fmax:g}")
        text = f"band of {X.shape[0] - 2} images converged in {band.iterations} steps ({criterion})"
    else:
        text = f"band did NOT converge: {stopped}"
    if refine and converged:
        _refine(lc, result, tau[hi])
    elif refine:
        result.refine_message = "not refined: the band did not converge"
    parts = [text, *notes]
    if result.refine_message:
        parts.append(result.refine_message)
    result.message = "; ".join(parts)
    result.counts = lc.counts - start_counts
    return result


def _rotate_gradient(g: np.ndarray, alignment: Any) -> np.ndarray:
    """The gradient at b carried along by the alignment (rotation and permutation, no shift)."""
    pos = np.asarray(g, dtype=np.float64).reshape(-1, 3)
    return (pos[alignment.permutation] @ alignment.rotation.T).reshape(-1)


def _as_vector(x: Array, dim: int, name: str, what: str) -> np.ndarray:
    v = to_numpy(x).astype(np.float64).reshape(-1)
    if v.size != dim:
        raise ValueError(f"neb: {what} has {v.size} values but {name} has dim {dim}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"neb: {what} has non-finite values")
    return v


def _evaluate_one(lc: Any, x: np.ndarray) -> tuple[float, np.ndarray]:
    e, g = lc.energy_gradient(native_point(lc, x))
    return float(e), to_numpy(g).astype(np.float64).reshape(-1)


def _evaluate(lc: Any, X: np.ndarray, batched: bool) -> tuple[np.ndarray, np.ndarray]:
    """Energies ``(m,)`` and gradients ``(m, dim)`` of the rows of ``X``: one batched call if possible."""
    if batched:
        like = native_point(lc, X[0])
        Xn = np.ascontiguousarray(X) if isinstance(like, np.ndarray) else as_like(X, like)
        E, G = lc.energy_gradients(Xn)
        return to_numpy(E).astype(np.float64).reshape(-1), to_numpy(G).astype(np.float64).reshape(X.shape)
    out = [_evaluate_one(lc, x) for x in X]
    return np.array([e for e, _ in out]), np.stack([g for _, g in out])


def _rigid_body_projection(X: np.ndarray, F: np.ndarray, rtol: float) -> np.ndarray:
    """``F`` with each row's rigid-body part removed, all images at once; shapes ``(m, 3N)``.

    The same modes as :meth:`ClusterSymmetry.zero_modes` (3 translations and 3 rotations about
    the centroid, orthonormalised by SVD with the rank decided by ``rtol``), but one batched
    SVD for the whole band instead of one call per image (it was 60% of a LJ7 band's time).
    """
    m = X.shape[0]
    pos = X.reshape(m, -1, 3)
    rel = pos - pos.mean(axis=1, keepdims=True)
    n_atoms = pos.shape[1]
    gens = np.zeros((m, 6, n_atoms, 3))
    for k in range(3):
        gens[:, k, :, k] = 1.0
    # e_k × r for k = x, y, z
    gens[:, 3, :, 1], gens[:, 3, :, 2] = -rel[:, :, 2], rel[:, :, 1]
    gens[:, 4, :, 0], gens[:, 4, :, 2] = rel[:, :, 2], -rel[:, :, 0]
    gens[:, 5, :, 0], gens[:, 5, :, 1] = -rel[:, :, 1], rel[:, :, 0]
    _, sv, vt = np.linalg.svd(gens.reshape(m, 6, -1), full_matrices=False)
    keep = sv > rtol * sv[:, :1]
    Z = vt * keep[:, :, None]
    return F - np.einsum("mkd,mk->md", Z, np.einsum("mkd,md->mk", Z, F))


def _forces(band: _Band, spring: float, *, climbing: int | None, doubly_nudged: bool,
            zero_modes: Any) -> tuple[np.ndarray, np.ndarray]:
    F, tau = band_forces(band.X, band.E, band.G, spring, climbing=climbing, doubly_nudged=doubly_nudged)
    owner = getattr(zero_modes, "__self__", None)
    if isinstance(owner, ClusterSymmetry) and owner.n_atoms > 2:
        F[1:-1] = _rigid_body_projection(band.X[1:-1], F[1:-1], owner.rtol)
    elif zero_modes is not None:
        for i in range(1, band.X.shape[0] - 1):
            Z = np.asarray(zero_modes(band.X[i]), dtype=np.float64)
            if Z.size:
                F[i] -= Z.T @ (Z @ F[i])
    return F, tau


def _relax(
    lc: Any,
    band: _Band,
    *,
    climbing: bool,
    rms_tol: float,
    max_iterations: int,
    spring: float,
    atom_tol: float | None = None,
    doubly_nudged: bool,
    optimizer: str,
    max_step: float,
    memory: int,
    zero_modes: Any,
    batched: bool,
    dim: int,
    climb_factor: float = CLIMB_FACTOR,
    max_length: float = math.inf,
) -> tuple[bool, str]:
    """Relax the movable images of ``band`` in place; returns ``(converged, reason if not)``."""
    sqrt_dim = math.sqrt(dim)

    climb_on = climbing and climb_factor <= 1.0

    def force() -> np.ndarray:
        hi = 1 + int(np.argmax(band.E[1:-1])) if climb_on else None
        F, _ = _forces(band, spring, climbing=hi, doubly_nudged=doubly_nudged, zero_modes=zero_modes)
        return F[1:-1]

    def image_norms(F: np.ndarray) -> np.ndarray:
        if atom_tol is not None:  # ASE's fmax: the largest per-atom force of each image
            return np.linalg.norm(F.reshape(F.shape[0], -1, 3), axis=2).max(axis=1)
        return np.linalg.norm(F, axis=1)

    def measure(F: np.ndarray) -> float:
        return float(image_norms(F).max())

    F = force()
    fmax = measure(F)
    tol = rms_tol * sqrt_dim if atom_tol is None else float(atom_tol)
    s_list: list[np.ndarray] = []
    y_list: list[np.ndarray] = []
    gamma = None
    velocity = np.zeros_like(F)
    dt, alpha, n_positive = 0.1, 0.1, 0
    dt_max = 1.0
    trust = max_step
    hi_last = int(np.argmax(band.E[1:-1]))
    for _ in range(max_iterations):
        if climbing and not climb_on and fmax <= climb_factor * tol:
            # Climb only once the band is roughly relaxed: a climbing image on a rough band
            # can climb the wrong way (Henkelman, Uberuaga & Jónsson 2000).
            climb_on = True
            F = force()
            fmax = measure(F)
            s_list.clear()
            y_list.clear()
        if fmax <= tol and (climb_on or not climbing):
            return True, ""
        if optimizer == "lbfgs":
            step = _lbfgs_direction(F, s_list, y_list, gamma, max_step)
            if float(np.vdot(step, F)) <= 0.0:  # uphill along the force: forget the curvature
                s_list.clear()
                y_list.clear()
                step = _lbfgs_direction(F, s_list, y_list, gamma, max_step)
        else:
            power = float(np.vdot(F, velocity))
            if power > 0.0:
                fn = np.linalg.norm(F)
                velocity = (1 - alpha) * velocity + alpha * np.linalg.norm(velocity) * F / fn
                n_positive += 1
                if n_positive > 5:
                    dt = min(dt * 1.1, dt_max)
                    alpha *= 0.99
            else:
                velocity[:] = 0.0
                dt *= 0.5
                alpha = 0.1
                n_positive = 0
            velocity = velocity + dt * F
            step = dt * velocity
        # Converged images sit still and are not re-evaluated (see FREEZE).
        moving = image_norms(F) > FREEZE * tol
        step[~moving] = 0.0
        if optimizer == "fire":
            velocity[~moving] = 0.0
        step = _cap(step, trust if optimizer == "lbfgs" else max_step)
        saved = (band.X[1:-1].copy(), band.E[1:-1].copy(), band.G[1:-1].copy())
        band.X[1:-1] += step
        band.iterations += 1
        rows = 1 + np.flatnonzero(moving)
        try:
            band.E[rows], band.G[rows] = _evaluate(lc, band.X[rows], batched)
        except LandscapeError as exc:  # e.g. an image ran into a non-finite region
            band.X[1:-1], band.E[1:-1], band.G[1:-1] = saved
            return False, f"an image evaluation failed after {band.iterations} steps: {exc}"
        F_new = force()
        if optimizer == "lbfgs" and np.linalg.norm(F_new) > RISE * np.linalg.norm(F):
            # The quasi-Newton model was wrong: take the step back and shrink the trust radius
            # (the curvature pairs are kept; forgetting them measured slower).
            band.X[1:-1], band.E[1:-1], band.G[1:-1] = saved
            trust = max(0.5 * float(np.linalg.norm(step, axis=1).max()), 1e-3 * max_step)
            band.history.append(fmax)
            continue
        if optimizer == "lbfgs":
            trust = min(max_step, 2.0 * trust)
            hi_now = int(np.argmax(band.E[1:-1]))
            if climb_on and hi_now != hi_last:  # the force field changed definition
                s_list.clear()
                y_list.clear()
            hi_last = hi_now
            s = step.ravel()
            y = -(F_new - F).ravel()
            sy = float(s @ y)
            if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
                s_list.append(s)
                y_list.append(y)
                if len(s_list) > memory:
                    s_list.pop(0)
                    y_list.pop(0)
                gamma = sy / float(y @ y)
        F = F_new
        fmax = measure(F)
        band.history.append(fmax)
        if not np.all(np.isfinite(band.X)):
            return False, "the band became non-finite"
        length = float(path_length(band.X)[-1])
        if length > max_length:
            return False, (f"the band ran away after {band.iterations} steps: its length {length:.3g} is "
                           f"more than {RUNAWAY:g} times the initial length (springs too soft?)")
    if fmax <= tol and (climb_on or not climbing):
        return True, ""
    if atom_tol is not None:
        return False, (f"budget of {max_iterations} band steps spent with the largest atom force "
                       f"{fmax:.3g} above fmax {atom_tol:g}")
    return False, (f"budget of {max_iterations} band steps spent with the largest image force "
                   f"{fmax / sqrt_dim:.3g} (RMS) above rms_tol {rms_tol:g}")


def _lbfgs_direction(F: np.ndarray, s_list: list, y_list: list, gamma: float | None,
                     max_step: float) -> np.ndarray:
    """Two-loop recursion H·F with the stored pairs (Nocedal 1980); shape of ``F``.

    Without curvature pairs the step is along F, scaled so the largest image moves ``max_step``
    at most (a force-based first step has no natural length).
    """
    q = F.ravel().copy()
    if not s_list and gamma is not None:
        return F * gamma
    if not s_list:
        fmax = float(np.linalg.norm(F, axis=1).max())
        scale = max_step / fmax if fmax > 0 else 0.0
        return (q * min(scale, 1.0)).reshape(F.shape)
    alphas = []
    for s, y in zip(reversed(s_list), reversed(y_list), strict=True):
        rho = 1.0 / float(y @ s)
        al = rho * float(s @ q)
        alphas.append((al, rho))
        q -= al * y
    q *= gamma
    for (al, rho), s, y in zip(reversed(alphas), s_list, y_list, strict=True):
        beta = rho * float(y @ q)
        q += (al - beta) * s
    return q.reshape(F.shape)


def _cap(step: np.ndarray, max_step: float) -> np.ndarray:
    """Scale the whole step so no image moves further than ``max_step`` (keeps its direction)."""
    largest = float(np.linalg.norm(step, axis=1).max())
    return step * (max_step / largest) if largest > max_step else step


def _refine(lc: Any, result: NebResult, tangent: np.ndarray) -> None:
    """Refine the highest image with :mod:`levinthal.saddles` and record the outcome in ``result``."""
    try:
        from levinthal.saddles import refine_transition_state
    except ImportError as exc:
        result.refine_message = f"not refined: levinthal.saddles is not available ({exc})"
        return
    x_ci = result.images[result.highest_image]
    try:
        res = refine_transition_state(lc, native_point(lc, x_ci), tangent=native_point(lc, tangent))
    except Exception as exc:  # any refinement failure is reported; the band stands
        result.refine_message = f"refinement failed: {type(exc).__name__}: {exc}"
        return
    result.refinement = res
    ts = getattr(res, "transition_state", None)
    if ts is None:
        result.refine_message = f"refinement found no verified transition state: {res.message}"
        return
    result.transition_state = ts
    result.barrier_forward = float(ts.energy - result.energies[0])
    result.barrier_backward = float(ts.energy - result.energies[-1])
    result.barrier_source = "transition state"
    moved = float(np.linalg.norm(to_numpy(ts.x).reshape(-1) - x_ci))
    spacing = float(np.max(np.diff(result.path_length)))
    result.refine_message = f"refined to a verified transition state at E = {ts.energy:.10g}"
    if moved > spacing:
        result.refine_message += (f" that lies {moved:.3g} from the highest image (more than the image "
                                  "spacing): it may not be the band's saddle")

