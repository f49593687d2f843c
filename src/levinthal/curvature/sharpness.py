"""Sharpness and flatness of a landscape at a point (a trained network's minimum, in particular).

Every measure is a function ``measure(landscape, x, ...) -> SharpnessResult`` that works on any
landscape of the protocol (NumPy or torch points; vectors stay in the landscape's array type
and on its device), draws randomness only from an explicit seed / ``numpy.random.Generator``,
and reports its value, its parameters, the evaluations it used and, where it iterates,
whether it converged.

Measures (definitions in each docstring):

* :func:`lambda_max` — top Hessian eigenvalue (Lanczos);
* :func:`hessian_trace` — tr H (Hutch++);
* :func:`epsilon_sharpness` — Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (2017);
* :func:`worst_case_sharpness` — m-sharpness, worst case over an ℓ2 / ℓ∞ ball, plain or
  adaptive (Foret et al. 2021 "SAM"; Kwon et al. 2021 "ASAM"; Andriushchenko et al. 2023);
* :func:`average_sharpness` — average-case sharpness (Gaussian or uniform perturbations);
* :func:`pac_bayes_sigma` — PAC-Bayes flatness σ and its magnitude-aware σ' (Jiang, Neyshabur,
  Mobahi, Krishnan & Bengio 2019, "Fantastic generalization measures").

Reparametrisation (Dinh, Pascanu, Bengio & Bengio 2017): for a ReLU network the rescaling
x ↦ D ⊙ x (:mod:`levinthal.symmetry.rescaling`) leaves the loss unchanged but changes λmax and
tr H; the *adaptive* measures (perturbation δ = (|x| + η) ⊙ u, with η = 0) and the
magnitude-aware σ' (with ε = 0) are exactly invariant, because x + δ ↦ D ⊙ (x + δ) then.

Worst-case measures are maximisations of a non-concave function: the value returned is the
best local maximum found (a lower bound on the true maximum, as in every paper cited here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.curvature.lanczos import lanczos_eigs
from levinthal.curvature.operators import HessianOperator
from levinthal.curvature.trace import hutchpp
from levinthal.landscape import (
    Counted,
    EvaluationCounts,
    NotSupportedError,
    Result,
    array_namespace,
    as_like,
    checked,
    to_numpy,
    vnorm,
)
from levinthal.landscape.arrays import Array, is_torch_array

__all__ = [
    "SharpnessResult",
    "average_sharpness",
    "epsilon_sharpness",
    "hessian_trace",
    "lambda_max",
    "pac_bayes_sigma",
    "worst_case_sharpness",
]

NORMS = ("l2", "linf")
DISTRIBUTIONS = ("gaussian", "l2-ball", "linf-ball")


@dataclass
class SharpnessResult(Result):
    """One sharpness / flatness measure at a point.

    ``measure``: its name; ``value``: the number (units in the measure's docstring);
    ``standard_error``: Monte-Carlo or across-batch standard error (NaN where not a mean);
    ``energy``: E(x) of the landscape at the point; ``parameters``: every setting that defines
    the value (radius, norm, m, seed ...); ``details``: diagnostics (per-batch values, the
    stationarity reached, 1/σ² ...); ``perturbation``: the maximising perturbation δ (shape
    ``(dim,)``, worst-case measures on the full set only) in the landscape's array type.
    ``converged`` / ``message`` / ``counts`` as for every :class:`~levinthal.landscape.Result`.
    """

    measure: str = ""
    value: float = float("nan")
    standard_error: float = float("nan")
    energy: float = float("nan")
    parameters: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    perturbation: Array = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no vectors)."""
        return {
            "measure": self.measure,
            "value": self.value,
            "standard_error": self.standard_error,
            "energy": self.energy,
            "converged": self.converged,
            "message": self.message,
            "parameters": dict(self.parameters),
            "details": {k: v for k, v in self.details.items()
                        if k != "batch_indices" and (np.ndim(v) == 0 or len(v) <= 64)},
            "counts": self.counts.as_dict(),
        }


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


def _seed_of(rng: Any) -> Any:
    return "generator" if isinstance(rng, np.random.Generator) else (0 if rng is None else int(rng))


def _counts(L: Counted) -> EvaluationCounts:
    return L.counts.copy()


# --------------------------------------------------------------------------- Hessian-based


def lambda_max(
    landscape: Any,
    x: Array,
    *,
    tol: float = 1e-6,
    max_iterations: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """Largest Hessian eigenvalue λmax(∇²E(x)), by thick-restart Lanczos on HVPs.

    The classical curvature notion of sharpness (e.g. Keskar et al. 2017 relate it to their
    ε-sharpness: for small ε it is ½ε²λmax-like). Not invariant under ReLU rescaling:
    H ↦ D⁻¹HD⁻¹ (Dinh et al. 2017). Units: energy / x². ``tol``: Lanczos relative residual
    (default 1e-6); ``rng``: start vector seed (default 0). No zero modes are projected out:
    at a minimum they carry eigenvalue 0 and cannot be the largest.
    """
    L = checked(landscape, caller="lambda_max")
    c0 = _counts(L)
    e = L.energy(x)
    op = HessianOperator(L, x)
    res = lanczos_eigs(op, k=1, which="largest", tol=tol, max_iterations=max_iterations, rng=_rng(rng))
    return SharpnessResult(
        converged=res.converged, message=res.message, counts=_counts(L) - c0,
        measure="lambda_max", value=float(res.eigenvalues[-1]), energy=e,
        parameters={"tol": tol, "seed": _seed_of(rng)},
        details={"residual": float(res.residual_norms[-1]), "n_matvec": res.n_matvec},
    )


def hessian_trace(
    landscape: Any,
    x: Array,
    *,
    n_matvec: int = 99,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """tr ∇²E(x) by Hutch++ (Meyer, Musco, Musco & Woodruff 2021) with ``n_matvec`` HVPs.

    Equals d × (mean curvature); ½ρ² tr H is the second-order average-case sharpness under
    δ ∼ N(0, ρ²I). Not rescaling invariant (Dinh et al. 2017). Exact (standard error 0) when
    ``n_matvec // 3 >= dim``. Default 99 products.
    """
    L = checked(landscape, caller="hessian_trace")
    c0 = _counts(L)
    e = L.energy(x)
    est = hutchpp(HessianOperator(L, x), n_matvec=n_matvec, rng=_rng(rng))
    return SharpnessResult(
        converged=True, message=f"Hutch++ with {est.n_matvec} Hessian-vector products",
        counts=_counts(L) - c0, measure="hessian_trace", value=est.estimate,
        standard_error=est.standard_error, energy=e,
        parameters={"n_matvec": n_matvec, "seed": _seed_of(rng)},
    )


# --------------------------------------------------------------------------- projected ascent


class _Ball:
    """ℓ2 ball ‖u‖ ≤ ρ: steepest ascent direction ρ g/‖g‖; Euclidean projection."""

    def __init__(self, rho: float):
        self.rho = float(rho)

    def project(self, u: Array) -> Array:
        n = vnorm(u)
        return u if n <= self.rho else u * (self.rho / n)

    def direction(self, g: Array) -> Array:
        return g * (self.rho / vnorm(g))

    def stationarity(self, u: Array, g: Array) -> float:
        """‖P(u + ρ ĝ) − u‖ / ρ (gradient mapping, ĝ = g/‖g‖): 0 at a KKT point; on the sphere
        about the angle between g and the outward normal."""
        ng = vnorm(g)
        if ng == 0.0:
            return 0.0
        return vnorm(self.project(u + g * (self.rho / ng)) - u) / self.rho

    def start(self, rng: np.random.Generator, like: Array) -> Array:
        """A uniformly random point of the sphere ‖u‖ = ρ."""
        r = as_like(rng.standard_normal(int(like.shape[0])), like)
        return r * (self.rho / vnorm(r))


class _Box:
    """Box |u_i| ≤ r_i (ℓ∞ ball for r_i = ρ): sign-gradient ascent r ⊙ sign(g); clipping."""

    def __init__(self, r: Array):
        self.r = r
        self.xp = array_namespace(r)

    def project(self, u: Array) -> Array:
        return self.xp.minimum(self.xp.maximum(u, -self.r), self.r)

    def direction(self, g: Array) -> Array:
        return self.r * self.xp.sign(g)

    def stationarity(self, u: Array, g: Array) -> float:
        """max_i |P(u + r ⊙ g/‖g‖∞) − u|_i / r_i: 0 at a KKT point (every coordinate at the
        bound its gradient points to, or with zero gradient)."""
        gmax = float(self.xp.max(self.xp.abs(g)))
        if gmax == 0.0:
            return 0.0
        step = self.project(u + self.r * (g / gmax)) - u
        return float(self.xp.max(self.xp.abs(step) / self.r))

    def start(self, rng: np.random.Generator, like: Array) -> Array:
        """A uniformly random point of the box."""
        return self.r * as_like(rng.uniform(-1.0, 1.0, int(like.shape[0])), like)


def _ascend(fg: Any, geom: Any, u0: Array, max_evals: int, tol: float) -> dict[str, Any]:
    """Monotone projected gradient ascent of f(u) over ``geom``, from ``u0``.

    Each step tries u' = P(u + t d) with d the geometry's steepest-ascent direction (scaled to
    the radius, so t is a fraction of it) and accepts it only if f increases: then t doubles
    (at most 2, a diameter), else t halves. Stops when the gradient mapping
    ``geom.stationarity`` is ≤ ``tol`` (converged), after ``max_evals`` evaluations of (f, ∇f)
    or when t underflows (no ascent step found; not converged).
    """
    u = geom.project(u0)
    f, g = fg(u)
    n = 1
    t = 1.0
    history: dict[str, list[float]] = {"value": [f], "stationarity": []}
    while True:
        stat = geom.stationarity(u, g)
        history["stationarity"].append(stat)
        if not math.isfinite(stat):
            return dict(u=u, f=f, n=n, converged=False, stationarity=stat, history=history,
                        message="non-finite gradient during the ascent")
        if stat <= tol:
            return dict(u=u, f=f, n=n, converged=True, stationarity=stat, history=history,
                        message=f"stationary (gradient mapping {stat:.1e} <= {tol:g}) after {n} gradients")
        if n >= max_evals:
            return dict(u=u, f=f, n=n, converged=False, stationarity=stat, history=history,
                        message=f"budget of {max_evals} gradients spent; gradient mapping "
                                f"{stat:.1e} > {tol:g}")
        trial = geom.project(u + geom.direction(g) * t)
        ft, gt = fg(trial)
        n += 1
        if ft > f:
            u, f, g = trial, ft, gt
            t = min(2.0 * t, 2.0)
            history["value"].append(f)
        else:
            t *= 0.5
            if t < 1e-12:
                return dict(u=u, f=f, n=n, converged=False, stationarity=stat, history=history,
                            message=f"no ascent step found (step underflow) at gradient mapping {stat:.1e} "
                                    f"> {tol:g} (a kink of the function, e.g. ReLU, or rounding)")


def _maximise(fg: Any, geom: Any, like: Array, rng: np.random.Generator, restarts: int,
              max_evals: int, tol: float) -> tuple[dict[str, Any], list[float]]:
    """Best of ``restarts`` ascents from random starts; returns (best run, all maxima)."""
    best = None
    values = []
    for _ in range(int(restarts)):
        run = _ascend(fg, geom, geom.start(rng, like), max_evals, tol)
        values.append(run["f"])
        if best is None or run["f"] > best["f"]:
            best = run
    return best, values


def _scale(x: Array, adaptive: bool, eta: float) -> Array | None:
    """T_x = |x| + η (ASAM's element-wise normalisation, Kwon et al. 2021), or None (plain)."""
    if not adaptive:
        return None
    if eta < 0:
        raise ValueError(f"adaptive sharpness: eta must be >= 0, got {eta}")
    xp = array_namespace(x)
    s = xp.abs(x) + eta
    if float(xp.min(s)) == 0.0:
        raise ValueError("adaptive sharpness with eta = 0 at a point with zero coordinates: those "
                         "coordinates could not move at all; pass eta > 0")
    return s


# --------------------------------------------------------------------------- batches


def _batch_landscape(landscape: Any, indices: np.ndarray) -> Any:
    """The landscape restricted to the samples ``indices`` (m-sharpness).

    Follows counting/checking wrappers to the landscape below them. A transforming wrapper must
    restrict itself (``L2Regularized.minibatch`` keeps its penalty on the subset); one that only
    forwards ``minibatch`` by attribute lookup is refused, since the transform would be silently
    dropped.
    """
    from levinthal.landscape.checks import Checked

    if isinstance(landscape, Counted | Checked):
        return _batch_landscape(landscape.inner, indices)
    own = "minibatch" in vars(landscape) or "minibatch" in type(landscape).__dict__
    if getattr(landscape, "inner", None) is not None and not own:
        raise NotSupportedError(f"{landscape.name}: m-sharpness cannot restrict the wrapper "
                                f"{type(landscape).__name__} to a minibatch; use m=None (full set)")
    if not hasattr(landscape, "minibatch"):
        raise NotSupportedError(f"{landscape.name}: m-sharpness needs a data set (landscape.minibatch); "
                                "use m=None for a landscape without samples")
    return landscape.minibatch(indices)


def _n_samples(landscape: Any) -> int:
    n = getattr(landscape, "n_samples", None)
    if n is None:
        raise NotSupportedError(f"{landscape.name}: m-sharpness needs landscape.n_samples; use m=None")
    return int(n)


# --------------------------------------------------------------------------- worst case


def worst_case_sharpness(
    landscape: Any,
    x: Array,
    rho: float,
    *,
    norm: str = "l2",
    adaptive: bool = False,
    eta: float = 0.0,
    m: int | None = None,
    n_batches: int | None = None,
    steps: int = 50,
    restarts: int = 1,
    tol: float = 1e-4,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """Worst-case (m-)sharpness: mean over batches S of max_{δ ∈ B} L_S(x + δ) − L_S(x).

    Foret, Kleiner, Mobahi & Neyshabur (2021), "Sharpness-aware minimization" (SAM; m-sharpness
    is their per-batch-of-m definition); Kwon, Kim, Park & Choi (2021), "ASAM" (adaptive
    sharpness); Andriushchenko, Croce, Müller, Hein & Flammarion (2023), "A modern look at the
    relationship between sharpness and generalization" (worst/average, ℓ2/ℓ∞, adaptive,
    m-sharpness, several ascent steps rather than SAM's one).

    The ball: plain, B = {‖δ‖_p ≤ ρ}; adaptive, B = {δ = T_x u, ‖u‖_p ≤ ρ} with
    T_x = diag(|x| + η) (ASAM's element-wise T_w). With η = 0 the adaptive value is exactly
    invariant under x ↦ D ⊙ x for any positive diagonal D that leaves L invariant (ReLU
    rescaling, Dinh et al. 2017), since then x + T_x u ↦ D ⊙ (x + T_x u) for the same u.

    Maximisation: monotone projected gradient ascent in u (ℓ2: steps along g/‖g‖, ℓ∞: sign
    steps, as in Andriushchenko et al.'s PGD) from a random start on the sphere / in the box,
    ``restarts`` times per batch, each with at most ``steps`` gradient evaluations, stopping at
    a gradient mapping ≤ ``tol``. The maximum found is a lower bound on the true maximum.

    Parameters
    ----------
    landscape, x : the landscape and the point (shape ``(dim,)``, native array type).
    rho : float
        Radius (in x units for plain; relative, in units of |x_i| + η, for adaptive).
    norm : "l2" or "linf".
    adaptive : bool
        ASAM-style scale-invariant ball (default False).
    eta : float
        η of T_x (default 0: exact rescaling invariance; needs every x_i ≠ 0).
    m : int or None
        Batch size for m-sharpness: the data are permuted by ``rng`` and cut into batches of m
        (the remainder dropped); ``None`` (default) uses the whole set (the only choice for a
        landscape without samples).
    n_batches : int or None
        Use only the first ``n_batches`` batches (default: all).
    steps, restarts, tol : ascent budget per start, number of random starts, stopping tolerance.
    rng : seed or Generator (default seed 0): batches and starts.

    Returns
    -------
    SharpnessResult
        ``value``: mean over batches (energy units); ``standard_error``: over batches (NaN for
        one batch); ``details["batch_values"]`` and ``details["batch_indices"]`` (the samples of each batch);
        ``perturbation``: the maximiser δ (full set).
        ``converged`` only if every batch's best ascent reached ``tol``.
    """
    if norm not in NORMS:
        raise ValueError(f"worst_case_sharpness: norm must be one of {NORMS}, got {norm!r}")
    if not rho > 0:
        raise ValueError(f"worst_case_sharpness: rho must be > 0, got {rho}")
    seed = _seed_of(rng)
    rng = _rng(rng)
    s = _scale(x, adaptive, eta)
    like = x
    if norm == "l2":
        geom: Any = _Ball(rho)
    else:
        geom = _Box(as_like(np.full(int(x.shape[0]), float(rho)), x))
    batch_indices: list[np.ndarray] = []
    if m is None:
        batches = [landscape]
    else:
        n = _n_samples(landscape)
        if not 1 <= int(m) <= n:
            raise ValueError(f"{landscape.name}: m must lie in [1, {n}], got {m}")
        order = rng.permutation(n)
        k = n // int(m)
        if n_batches is not None:
            k = min(k, int(n_batches))
        batch_indices = [order[i * int(m):(i + 1) * int(m)] for i in range(k)]
        batches = [_batch_landscape(landscape, idx) for idx in batch_indices]
    total = EvaluationCounts()
    values: list[float] = []
    messages: list[str] = []
    stats: list[float] = []
    converged = True
    delta = None
    energy = float("nan")
    for B in batches:
        LB = checked(B, caller="worst_case_sharpness")
        c0 = _counts(LB)
        e0 = LB.energy(x)

        def fg(u: Array, LB: Any = LB) -> tuple[float, Array]:
            d = u if s is None else s * u
            e, g = LB.energy_gradient(x + d)
            return e, (g if s is None else s * g)

        best, _ = _maximise(fg, geom, like, rng, restarts, steps, tol)
        values.append(best["f"] - e0)
        stats.append(best["stationarity"])
        converged = converged and best["converged"]
        messages.append(best["message"])
        total = total + (_counts(LB) - c0)
        if m is None:
            energy = e0
            delta = best["u"] if s is None else s * best["u"]
    vals = np.asarray(values)
    se = float(vals.std(ddof=1) / np.sqrt(vals.size)) if vals.size > 1 else float("nan")
    n_conv = sum(msg.startswith("stationary") for msg in messages)
    message = messages[0] if len(messages) == 1 else (
        f"{n_conv} of {len(messages)} batches stationary; first failure: "
        + next((msg for msg in messages if not msg.startswith("stationary")), "none"))
    name = f"worst_{norm}" + ("_adaptive" if adaptive else "")
    return SharpnessResult(
        converged=converged, message=message, counts=total, measure=name,
        value=float(vals.mean()), standard_error=se, energy=energy,
        parameters={"rho": rho, "norm": norm, "adaptive": adaptive, "eta": eta if adaptive else None,
                    "m": m, "n_batches": len(batches), "steps": steps, "restarts": restarts, "tol": tol,
                    "seed": seed},
        details={"batch_values": vals, "max_stationarity": float(max(stats)),
                 "batch_indices": batch_indices},
        perturbation=delta,
    )


# --------------------------------------------------------------------------- average case


def _perturbations(rng: np.random.Generator, n: int, dim: int, distribution: str) -> np.ndarray:
    """``(n, dim)`` unit-radius draws: N(0, I), uniform in the unit ℓ2 ball, or in [-1, 1]^dim."""
    if distribution == "gaussian":
        return rng.standard_normal((n, dim))
    if distribution == "l2-ball":
        g = rng.standard_normal((n, dim))
        r = rng.uniform(size=(n, 1)) ** (1.0 / dim)
        return g * (r / np.linalg.norm(g, axis=1, keepdims=True))
    return rng.uniform(-1.0, 1.0, (n, dim))


def _energies(L: Any, X: Array) -> np.ndarray:
    """Energies of the rows of X, batched where the landscape can."""
    if getattr(L, "energies", None) is not None:
        return to_numpy(L.energies(X)).reshape(-1)
    return np.array([L.energy(X[i]) for i in range(int(X.shape[0]))])


def average_sharpness(
    landscape: Any,
    x: Array,
    rho: float,
    *,
    distribution: str = "gaussian",
    adaptive: bool = False,
    eta: float = 0.0,
    n_samples: int = 100,
    chunk: int = 25,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """Average-case sharpness E_δ[L(x + δ)] − L(x) by Monte Carlo (Andriushchenko et al. 2023).

    δ = ρ ξ (plain) or δ = ρ T_x ξ with T_x = diag(|x| + η) (adaptive, Kwon et al. 2021), ξ drawn
    from ``distribution``: "gaussian" N(0, I) (so δ ∼ N(0, ρ²I): the random-perturbation
    sharpness), "l2-ball" uniform in the unit ℓ2 ball, or "linf-ball" uniform in [-1, 1]^dim.
    For E = ½xᵀAx at x = 0 the exact values are ½ρ² tr A, ½ρ² tr A/(d + 2) and ½ρ² tr A/3.

    Average-case m-sharpness needs no ``m``: the mean over a partition into batches of
    E_δ L_S(x + δ) − L_S(x) is the full-set value (the loss is an average over samples).

    ``n_samples`` draws (default 100) evaluated ``chunk`` at a time with batched ``energies``
    where available; ``standard_error`` = sample std / √n_samples. Energy units.
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"average_sharpness: distribution must be one of {DISTRIBUTIONS}, "
                         f"got {distribution!r}")
    if not rho > 0:
        raise ValueError(f"average_sharpness: rho must be > 0, got {rho}")
    if n_samples < 2:
        raise ValueError(f"average_sharpness: n_samples must be >= 2, got {n_samples}")
    seed = _seed_of(rng)
    rng = _rng(rng)
    L = checked(landscape, caller="average_sharpness")
    c0 = _counts(L)
    e0 = L.energy(x)
    s = _scale(x, adaptive, eta)
    dim = int(x.shape[0])
    diffs = np.empty(n_samples)
    for i in range(0, n_samples, chunk):
        k = min(chunk, n_samples - i)
        xi = as_like(_perturbations(rng, k, dim, distribution), x)
        D = xi * rho if s is None else (xi * s) * rho
        diffs[i:i + k] = _energies(L, x + D) - e0
    name = f"average_{distribution}" + ("_adaptive" if adaptive else "")
    return SharpnessResult(
        converged=True, message=f"Monte Carlo over {n_samples} perturbations", counts=_counts(L) - c0,
        measure=name, value=float(diffs.mean()),
        standard_error=float(diffs.std(ddof=1) / np.sqrt(n_samples)), energy=e0,
        parameters={"rho": rho, "distribution": distribution, "adaptive": adaptive,
                    "eta": eta if adaptive else None, "n_samples": n_samples, "seed": seed},
        details={"samples": diffs},
    )


# --------------------------------------------------------------------------- ε-sharpness


def epsilon_sharpness(
    landscape: Any,
    x: Array,
    epsilon: float = 1e-3,
    *,
    subspace_dim: int | None = None,
    method: str = "pga",
    steps: int = 100,
    restarts: int = 1,
    tol: float = 1e-6,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """ε-sharpness of Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (2017), "On large-batch
    training for deep learning: generalization gap and sharp minima", Metric 2.1:

        φ_{x,f}(ε, A) = (max_{y ∈ C_ε} f(x + A y) − f(x)) / (1 + f(x)) × 100,
        C_ε = {y : |y_i| ≤ ε (|(A⁺x)_i| + 1)}.

    Full space (``subspace_dim=None``): A = I, so C_ε is the box |z_i| ≤ ε(|x_i| + 1).
    Random subspace (``subspace_dim=p``): A is a ``(dim, p)`` matrix with orthonormal columns
    (a QR-orthonormalised Gaussian matrix drawn from ``rng``, so A⁺ = Aᵀ; Keskar et al. use a
    random A with p = 100). Dimensionless (percent of 1 + f(x)).

    ``method``: "pga" (default) — sign-gradient projected ascent as in
    :func:`worst_case_sharpness`, ``restarts`` random starts in the box, at most ``steps``
    gradients each, stopping at a gradient mapping ≤ ``tol``; "l-bfgs-b" — SciPy's L-BFGS-B
    (the paper's choice) on the host, at most ``steps`` iterations per start: for small dims
    (every iterate crosses to the host). Either returns a lower bound on the maximum.
    """
    if method not in ("pga", "l-bfgs-b"):
        raise ValueError(f"epsilon_sharpness: method must be 'pga' or 'l-bfgs-b', got {method!r}")
    if not epsilon > 0:
        raise ValueError(f"epsilon_sharpness: epsilon must be > 0, got {epsilon}")
    seed = _seed_of(rng)
    rng = _rng(rng)
    L = checked(landscape, caller="epsilon_sharpness")
    c0 = _counts(L)
    e0 = L.energy(x)
    xp = array_namespace(x)
    dim = int(x.shape[0])
    if subspace_dim is None:
        A = None
        r = (xp.abs(x) + 1.0) * epsilon
        like = x
    else:
        p = int(subspace_dim)
        if not 1 <= p <= dim:
            raise ValueError(f"{L.name}: subspace_dim must lie in [1, {dim}], got {subspace_dim}")
        G = as_like(rng.standard_normal((dim, p)), x)
        A = xp.linalg.qr(G)[0] if not is_torch_array(x) else _torch_qr(G)
        r = (xp.abs(x @ A) + 1.0) * epsilon
        like = r

    def fg(y: Array) -> tuple[float, Array]:
        e, g = L.energy_gradient(x + (y if A is None else A @ y))
        return e, (g if A is None else g @ A)

    geom = _Box(r)
    if method == "pga":
        best, values = _maximise(fg, geom, like, rng, restarts, steps, tol)
        f_max, y_best, converged, message = best["f"], best["u"], best["converged"], best["message"]
        stat = best["stationarity"]
    else:
        from scipy.optimize import minimize as scipy_minimize

        bounds = np.stack([-to_numpy(r), to_numpy(r)], axis=1)
        f_max, y_best, converged, message, values, stat = -math.inf, None, False, "", [], float("nan")
        for _ in range(int(restarts)):
            y0 = to_numpy(geom.start(rng, like))
            out = scipy_minimize(lambda y: _negated(fg, y, like), y0, jac=True, method="L-BFGS-B",
                                 bounds=bounds, options={"maxiter": int(steps)})
            f = -float(out.fun)
            values.append(f)
            if f > f_max:
                f_max, y_best = f, as_like(out.x, like)
                converged, message = bool(out.success), f"L-BFGS-B: {out.message}"
                _, g = fg(y_best)
                stat = geom.stationarity(y_best, g)
    value = 100.0 * (f_max - e0) / (1.0 + e0)
    return SharpnessResult(
        converged=converged, message=message, counts=_counts(L) - c0, measure="epsilon_sharpness",
        value=float(value), energy=e0,
        parameters={"epsilon": epsilon, "subspace_dim": subspace_dim, "method": method, "steps": steps,
                    "restarts": restarts, "tol": tol, "seed": seed},
        details={"max_energy": float(f_max), "restart_maxima": np.asarray(values), "stationarity": stat},
        perturbation=y_best if A is None else A @ y_best,
    )


def _torch_qr(G: Array) -> Array:
    import torch

    return torch.linalg.qr(G, mode="reduced")[0]


def _negated(fg: Any, y: np.ndarray, like: Array) -> tuple[float, np.ndarray]:
    f, g = fg(as_like(y, like))
    return -f, -to_numpy(g)


# --------------------------------------------------------------------------- PAC-Bayes


def _accuracy_of(L: Any) -> Any:
    acc = getattr(L, "accuracy", None)
    if acc is None:
        raise NotSupportedError(f"{L.name}: criterion='accuracy' needs landscape.accuracy(x) (a classifier); "
                                "use criterion='loss'")
    return acc


def pac_bayes_sigma(
    landscape: Any,
    x: Array,
    *,
    bound: float = 0.1,
    criterion: str = "loss",
    magnitude_aware: bool = False,
    magnitude_eps: float = 1e-3,
    n_samples: int = 10,
    sigma_max: float = 2.0,
    rtol: float = 1e-3,
    max_bisections: int = 60,
    chunk: int = 25,
    rng: np.random.Generator | int | None = None,
) -> SharpnessResult:
    """PAC-Bayes flatness: the largest σ with E_u[L(x + u)] − L(x) ≤ ``bound`` (Jiang, Neyshabur,
    Mobahi, Krishnan & Bengio 2019, "Fantastic generalization measures and where to find them",
    measures "pacbayes.flatness" = 1/σ² and, magnitude-aware, "pacbayes.mag.flatness" = 1/σ'²).

    Perturbations: u ∼ N(0, σ²I); magnitude-aware, u_i ∼ N(0, σ'² x_i² + ε²) with
    ε = ``magnitude_eps`` (the paper's 1e-3; ε = 0 makes σ' exactly invariant under ReLU
    rescaling). The deviation is estimated with ``n_samples`` Monte-Carlo draws (default 10,
    as the reference code) that are *common to every σ* (u = σ ξ with ξ fixed, ε-term likewise),
    so the estimate is a smooth deterministic function of σ and the bisection is well posed.

    ``criterion``: "loss" (default; any landscape) — the deviation is the mean increase of the
    energy L, in energy units; "accuracy" — the mean drop of training accuracy (networks with
    ``accuracy(x)``), Jiang et al.'s choice (their code: target 0.1, i.e. 10 points of
    accuracy). ``bound`` defaults to 0.1 in either case.

    Search: the bracket [0, ``sigma_max``] (default 2, as in the reference code) is doubled while
    the deviation at its upper end stays ≤ bound (up to 2⁴⁰ × sigma_max), then bisected until
    its width is ≤ ``rtol`` × σ (default 1e-3). The value is the lower end (deviation ≤ bound).
    For E = ½ xᵀAx at x = 0 and criterion "loss", σ² = 2 bound / tr A in expectation.
    """
    if criterion not in ("loss", "accuracy"):
        raise ValueError(f"pac_bayes_sigma: criterion must be 'loss' or 'accuracy', got {criterion!r}")
    if not bound > 0:
        raise ValueError(f"pac_bayes_sigma: bound must be > 0, got {bound}")
    if n_samples < 1:
        raise ValueError(f"pac_bayes_sigma: n_samples must be >= 1, got {n_samples}")
    if magnitude_eps < 0:
        raise ValueError(f"pac_bayes_sigma: magnitude_eps must be >= 0, got {magnitude_eps}")
    seed = _seed_of(rng)
    rng = _rng(rng)
    L = checked(landscape, caller="pac_bayes_sigma")
    c0 = _counts(L)
    e0 = L.energy(x)
    dim = int(x.shape[0])
    xi = as_like(rng.standard_normal((n_samples, dim)), x)
    xp = array_namespace(x)
    ax = xp.abs(x)
    acc0 = None
    if criterion == "accuracy":
        accuracy = _accuracy_of(landscape)
        acc0 = float(accuracy(x))

    def deviation(sigma: float) -> float:
        if magnitude_aware:
            # u_i = sqrt(σ² x_i² + ε²) ξ_i: the law N(0, σ²x_i² + ε²) with common ξ.
            std = xp.sqrt((ax * sigma) ** 2 + magnitude_eps**2)
            U = xi * std if magnitude_eps > 0 else xi * (ax * sigma)
        else:
            U = xi * sigma
        if criterion == "loss":
            E = np.concatenate([_energies(L, x + U[i:i + chunk]) for i in range(0, n_samples, chunk)])
            return float(E.mean() - e0)
        return acc0 - float(np.mean([accuracy(x + U[i]) for i in range(n_samples)]))

    lo, hi = 0.0, float(sigma_max)
    history: dict[str, list[float]] = {"sigma": [], "deviation": []}

    def record(sig: float) -> float:
        d = deviation(sig)
        history["sigma"].append(sig)
        history["deviation"].append(d)
        return d

    d_hi = record(hi)
    expansions = 0
    while d_hi <= bound and expansions < 40:
        lo, hi = hi, 2.0 * hi
        d_hi = record(hi)
        expansions += 1
    if d_hi <= bound:
        converged, message = False, (f"deviation stays <= {bound:g} up to sigma = {hi:.3g}: flat to "
                                     "the resolution of the search")
    else:
        converged, message = False, ""
        for _ in range(int(max_bisections)):
            if hi - lo <= rtol * hi:
                converged = True
                break
            mid = 0.5 * (lo + hi)
            if record(mid) <= bound:
                lo = mid
            else:
                hi = mid
        message = (f"bracket [{lo:.6g}, {hi:.6g}] after {len(history['sigma'])} deviation estimates"
                   if converged else f"{max_bisections} bisections did not reach rtol {rtol:g}")
    name = "pac_bayes_sigma_magnitude" if magnitude_aware else "pac_bayes_sigma"
    return SharpnessResult(
        converged=converged, message=message, counts=_counts(L) - c0, history=history, measure=name,
        value=lo, energy=e0,
        parameters={"bound": bound, "criterion": criterion, "magnitude_aware": magnitude_aware,
                    "magnitude_eps": magnitude_eps if magnitude_aware else None, "n_samples": n_samples,
                    "rtol": rtol, "seed": seed},
        details={"flatness": (1.0 / lo**2) if lo > 0 else float("inf"), "sigma_upper": hi,
                 "accuracy": acc0},
    )
