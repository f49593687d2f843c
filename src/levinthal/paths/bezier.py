"""Curves of low energy between two points: quadratic Bézier curves and one-bend polygonal chains.

Garipov, Izmailov, Podoprikhin, Vetrov & Wilson (2018), "Loss surfaces, mode connectivity, and
fast ensembling of DNNs" (NeurIPS): two independently trained networks that a straight line
separates by a high barrier are joined by a simple curve along which the training loss stays
low. The curve has one free point θ (a "bend"):

* quadratic Bézier: ``φ_θ(t) = (1 − t)² a + 2t(1 − t) θ + t² b``;
* polygonal chain: ``φ_θ(t) = 2(t θ + (½ − t) a)`` for ``t ≤ ½`` and
  ``2((t − ½) b + (1 − t) θ)`` for ``t > ½``.

θ is trained by minimising the loss averaged over the curve, ``ℓ(θ) = E_{t∼U(0,1)} E(φ_θ(t))``,
by stochastic gradient steps on sampled ``t``. Because ``φ`` is linear in θ with weight
``w_θ(t)`` (``2t(1 − t)`` for Bézier), ``∇_θ E(φ_θ(t)) = w_θ(t) ∇E(φ_θ(t))``: only
``energy_gradient`` of the landscape is needed, so the same code joins two minima of a
Lennard-Jones cluster as well as two networks. Garipov et al. use a uniform measure in ``t``
(not arc length), as here.

The end points are fixed; for networks θ starts at the midpoint ``(a + b)/2`` (the straight
line, Garipov et al.), so any improvement is the optimiser's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape import (
    EvaluationCounts,
    LandscapeError,
    NotSupportedError,
    ShapeError,
    checked,
    native_point,
    supports,
)
from levinthal.landscape.arrays import array_namespace, is_torch_array
from levinthal.paths.network_barriers import PathProfile, _combine, _endpoints, profile_points

Array = Any

__all__ = ["CURVES", "BezierCurve", "curve_objective", "curve_points", "curve_weights", "fit_bezier"]

CURVES = ("bezier", "polychain")
"""Curve families: quadratic Bézier and polygonal chain with one bend (Garipov et al. 2018)."""


def curve_weights(kind: str, t: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights ``(w_a, w_θ, w_b)``, each of shape ``(n,)``, with ``φ(t) = w_a a + w_θ θ + w_b b``.

    They sum to one for every ``t``; ``t = 0`` gives ``(1, 0, 0)`` and ``t = 1`` gives
    ``(0, 0, 1)`` exactly, so the curve passes through ``a`` and ``b`` without round-off.
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if np.any((t < 0) | (t > 1)) or not np.all(np.isfinite(t)):
        raise ValueError(f"curve parameter t must lie in [0, 1], got {t}")
    if kind == "bezier":
        return (1.0 - t) ** 2, 2.0 * t * (1.0 - t), t**2
    if kind == "polychain":
        first = t <= 0.5
        w_a = np.where(first, 1.0 - 2.0 * t, 0.0)
        w_theta = np.where(first, 2.0 * t, 2.0 * (1.0 - t))
        w_b = np.where(first, 0.0, 2.0 * t - 1.0)
        return w_a, w_theta, w_b
    raise ValueError(f"unknown curve kind {kind!r}; choose one of {CURVES}")


def curve_points(kind: str, a: Array, theta: Array, b: Array, t: Any) -> Array:
    """Points ``φ_θ(t)`` for each ``t``: shape ``(n, dim)`` in ``a``'s array type."""
    w_a, w_theta, w_b = curve_weights(kind, t)
    return _combine(np.asarray(t), [(w_a, a), (w_theta, theta), (w_b, b)])


def curve_objective(
    landscape: Any, kind: str, a: Array, theta: Array, b: Array, t: Any
) -> tuple[float, Array]:
    """Sampled curve loss ``(1/K) Σ_k E(φ_θ(t_k))`` and its gradient with respect to θ.

    ``t``: the ``K`` sampled parameters, shape ``(K,)``. The gradient is
    ``(1/K) Σ_k w_θ(t_k) ∇E(φ_θ(t_k))`` (chain rule through the linear map θ → φ_θ(t)),
    shape ``(dim,)`` in θ's array type. One batched ``energy_gradients`` call over the ``K``
    points where the landscape has it, else ``K`` ``energy_gradient`` calls.
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    X = curve_points(kind, a, theta, b, t)
    _, w_theta, _ = curve_weights(kind, t)
    if supports(landscape, "energy_gradients"):
        E, G = landscape.energy_gradients(X)
        energies = [float(e) for e in E]
        grads = [G[k] for k in range(len(t))]
    else:
        pairs = [landscape.energy_gradient(X[k]) for k in range(len(t))]
        energies = [float(e) for e, _ in pairs]
        grads = [g for _, g in pairs]
    g = None
    for w, gk in zip(w_theta, grads, strict=True):
        term = float(w) * gk
        g = term if g is None else g + term
    return float(np.mean(energies)), g / len(t)


@dataclass
class BezierCurve:
    """A trained curve ``φ_θ(t)`` between two fixed points (Garipov et al. 2018).

    Attributes
    ----------
    a, b : arrays ``(dim,)``
        End points (``φ(0) = a``, ``φ(1) = b`` exactly).
    control : array ``(dim,)``
        The trained bend θ.
    kind : "bezier" or "polychain"
    steps : int
        Optimiser steps taken.
    history : dict of lists
        Per step: ``"objective"`` (the sampled mean loss on the curve before the step),
        ``"grad_norm"`` (‖∇_θ‖ of that sample), ``"lr"``.
    counts : EvaluationCounts
        Gradient evaluations used in training (one per sampled point).
    landscape : the landscape trained on (used by :meth:`profile` by default).
    """

    a: Array
    b: Array
    control: Array
    kind: str = "bezier"
    steps: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    counts: EvaluationCounts = field(default_factory=EvaluationCounts)
    landscape: Any = field(default=None, repr=False, compare=False)

    def points(self, t: Any) -> Array:
        """Points on the curve, shape ``(n, dim)``."""
        return curve_points(self.kind, self.a, self.control, self.b, t)

    def point(self, t: float) -> Array:
        """One point on the curve, shape ``(dim,)``."""
        return self.points([t])[0]

    def profile(
        self,
        n_points: int = 25,
        landscape: Any = None,
        *,
        recompute_batchnorm: bool = True,
        held_out: bool = True,
    ) -> PathProfile:
        """Energies at ``n_points`` equally spaced ``t`` (ends included; default 25) on
        ``landscape`` (default: the one trained on; pass e.g. the eval-mode landscape of a
        BatchNorm network, whose statistics are then recomputed at each point, or the
        unregularised loss). ``max_energy`` of the result is the curve's maximum loss."""
        land = self.landscape if landscape is None else landscape
        if land is None:
            raise LandscapeError("BezierCurve.profile: no landscape (pass one)")
        if int(n_points) < 2:
            raise ValueError(f"BezierCurve.profile: n_points must be at least 2, got {n_points}")
        t = np.linspace(0.0, 1.0, int(n_points))
        return profile_points(land, self.points(t), t, kind=self.kind,
                              recompute_batchnorm=recompute_batchnorm, held_out=held_out)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "steps": self.steps, "counts": self.counts.as_dict(),
                "final_objective": self.history.get("objective", [float("nan")])[-1]}


def _on_batch(landscape: Any, rng: np.random.Generator, batch_size: int | None) -> Any:
    if batch_size is None:
        return landscape
    if not hasattr(type(landscape), "on_batch"):
        raise NotSupportedError(
            f"{landscape.name}: minibatches need a landscape that defines on_batch itself (a network "
            "landscape); a wrapper (e.g. weight decay) would forward it and lose its own term, so fit on "
            "the network landscape or pass batch_size=None"
        )
    return landscape.on_batch(rng, batch_size)


def fit_bezier(
    landscape: Any,
    x_a: Array,
    x_b: Array,
    *,
    kind: str = "bezier",
    steps: int = 300,
    lr: float = 0.01,
    optimizer: str = "adam",
    samples_per_step: int = 8,
    stratified: bool = True,
    schedule: str = "cosine",
    momentum: float = 0.9,
    batch_size: int | None = None,
    init: Array | None = None,
    rng: np.random.Generator | int | None = None,
) -> BezierCurve:
    """Train the bend θ of a curve from ``x_a`` to ``x_b`` to minimise the mean loss on it.

    Garipov et al. (2018): minimise ``ℓ(θ) = E_{t∼U(0,1)} E(φ_θ(t))`` by stochastic gradient
    steps; each step draws ``samples_per_step`` values of ``t`` (``stratified=True``: one in
    each of ``K`` equal sub-intervals, an unbiased estimate of the same integral with lower
    variance than i.i.d. draws; ``False``: i.i.d. uniform as in the paper) and optionally a
    minibatch of the data (``batch_size``, network landscapes only), then updates θ with the
    gradient of :func:`curve_objective`.

    Parameters
    ----------
    landscape : any landscape (NumPy or torch points); only ``energy_gradient`` (or batched
        ``energy_gradients``) is used.
    x_a, x_b : arrays ``(dim,)``, the fixed ends (align them first if the landscape has a
        symmetry: the curve joins the given coordinates, not their symmetry classes).
    kind : "bezier" (default) or "polychain"
    steps : int
        Optimiser steps (default 300).
    lr : float
        Step size in units of x (default 0.01; for Adam roughly the largest per-coordinate
        move per step, Kingma & Ba 2015, so it suits both networks and clusters in reduced
        units).
    optimizer : "adam" (default; Kingma & Ba 2015, β = (0.9, 0.999)) or "sgd" (with
        ``momentum``, default 0.9, as Garipov et al.)
    schedule : "cosine" (default: lr · ½(1 + cos πk/steps), which lets the stochastic
        iterates settle) or "constant"
    init : array ``(dim,)`` or None
        Starting bend; default the midpoint ``(a + b)/2``, i.e. the straight line.
    rng : numpy Generator or seed (default seed 0) for ``t`` and minibatches.

    Returns
    -------
    BezierCurve, with the training history and the evaluations used.
    """
    curve_weights(kind, [0.5])
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"fit_bezier: optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"fit_bezier: schedule must be 'cosine' or 'constant', got {schedule!r}")
    if int(steps) < 0 or int(samples_per_step) < 1 or not lr > 0:
        raise ValueError(f"fit_bezier: need steps >= 0, samples_per_step >= 1 and lr > 0; got "
                         f"{steps}, {samples_per_step}, {lr}")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    a, b = _endpoints(landscape, x_a, x_b)
    theta = 0.5 * (a + b) if init is None else native_point(landscape, init)
    if tuple(theta.shape) != (landscape.dim,):
        raise ShapeError(
            f"{landscape.name}: init has shape {tuple(theta.shape)}, expected ({landscape.dim},)")
    theta = theta.clone() if is_torch_array(theta) else np.array(theta, dtype=np.float64)
    xp = array_namespace(theta)
    lc = checked(landscape, caller=f"fit_bezier({kind})")
    start = lc.counts.copy()

    K = int(samples_per_step)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = theta * 0.0
    v = theta * 0.0
    history: dict[str, list[float]] = {"objective": [], "grad_norm": [], "lr": []}
    for k in range(int(steps)):
        t = (np.arange(K) + rng.random(K)) / K if stratified else rng.random(K)
        batch = _on_batch(landscape, rng, batch_size)
        target = lc if batch is landscape else checked(batch, caller=f"fit_bezier({kind})")
        value, g = curve_objective(target, kind, a, theta, b, t)
        if target is not lc:
            lc.counts.gradient += target.counts.gradient
        step_lr = lr * (0.5 * (1.0 + math.cos(math.pi * k / steps)) if schedule == "cosine" else 1.0)
        if optimizer == "adam":
            m = beta1 * m + (1.0 - beta1) * g
            v = beta2 * v + (1.0 - beta2) * g * g
            m_hat = m / (1.0 - beta1 ** (k + 1))
            v_hat = v / (1.0 - beta2 ** (k + 1))
            theta = theta - step_lr * m_hat / (xp.sqrt(v_hat) + eps)
        else:
            m = momentum * m + g
            theta = theta - step_lr * m
        history["objective"].append(value)
        history["grad_norm"].append(float(xp.sqrt(xp.sum(g * g))))
        history["lr"].append(step_lr)
    return BezierCurve(a=a, b=b, control=theta, kind=kind, steps=int(steps), history=history,
                       counts=lc.counts - start, landscape=landscape)

