"""Energy profiles along paths between two points, barriers, and BatchNorm statistics on a path.

* :func:`linear_barrier` — the loss along the straight line ``x(t) = (1 − t) a + t b`` and its
  barrier in the sense of *linear mode connectivity* (Frankle, Dziugaite, Roy & Carbin 2020,
  "Linear mode connectivity and the lottery ticket hypothesis", ICML):
  ``max_t [E(x(t)) − ((1 − t) E(a) + t E(b))]``, the largest rise above the chord between the
  end energies. Also reported: the rise above the higher end, ``max_t E − max(E_a, E_b)``.
* :func:`aligned_barrier` — the same before and after removing the permutation symmetry: the
  hidden units of network B are permuted onto A by weight matching (Ainsworth, Hayase &
  Srinivasa 2022, "Git Re-Basin"), atoms of cluster B onto A by :func:`levinthal.symmetry.align`.
  A permuted network computes the same function, so any barrier it removes was an artefact of
  the labelling of hidden units (Entezari, Sedghi, Saukh & Neyshabur 2022 conjecture that
  after alignment SGD solutions are linearly connected).
* BatchNorm on a path. A network with BatchNorm evaluated in eval mode normalises with
  *running statistics* held as buffers, not parameters. At an interpolated parameter vector
  neither end's statistics describe the activations (their variance collapses, Jordan, Sedghi,
  Saukh, Entezari & Neyshabur 2022, "REPAIR"), so the naive loss overstates the barrier.
  Garipov et al. (2018) recompute them at every point of the curve; so does
  :func:`recompute_batchnorm_statistics` (reset, one pass over the training data in train
  mode with ``momentum=None`` — a cumulative average — under ``no_grad``), and
  :func:`batchnorm_statistics` evaluates the landscape with those buffers.

Points are the landscape's native arrays (NumPy for physical systems, a torch tensor on the
model's device for networks). Profiles are small host arrays for reports and plots.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
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
    to_numpy,
    unwrap,
)
from levinthal.landscape.arrays import is_torch_array

Array = Any

__all__ = [
    "AlignedBarrier",
    "PathProfile",
    "align_endpoint",
    "aligned_barrier",
    "barrier_heights",
    "batchnorm_buffer_names",
    "batchnorm_statistics",
    "linear_barrier",
    "linear_points",
    "profile_points",
    "recompute_batchnorm_statistics",
]


@dataclass
class PathProfile:
    """Energies along a path ``x(t)``, ``t ∈ [0, 1]``, from ``a = x(0)`` to ``b = x(1)``.

    Attributes
    ----------
    t : ndarray, shape ``(n,)``
        Path parameter of each evaluated point (``t[0] = 0``, ``t[-1] = 1``).
    energies : ndarray, shape ``(n,)``
        E(x(t)) in the landscape's units (the training loss for a network).
    barrier : float
        ``max_t [E(t) − ((1 − t) E(0) + t E(1))]``, the rise above the chord between the end
        energies (Frankle et al. 2020); ≥ 0 because the ends are on the grid.
    barrier_over_endpoints : float
        ``max_t E(t) − max(E(0), E(1))``: the rise above the higher end (the usual barrier of
        a physical path; ≥ 0).
    max_energy : float
        ``max_t E(t)`` (the "maximum loss along the curve" of Garipov et al. 2018).
    test_energies, test_barrier : ndarray ``(n,)`` and float, or None
        The same on held-out data, where the landscape has ``test_energy``.
    accuracies, test_accuracies : ndarray ``(n,)`` or None
        Training / held-out classification accuracy, where the landscape has them.
    kind : str
        Which path ("linear", "bezier", "polychain", ...).
    batchnorm_recomputed : bool
        True if BatchNorm running statistics were recomputed from the training data at every
        point (:func:`recompute_batchnorm_statistics`); False if the model has no BatchNorm in
        eval mode or recomputation was switched off.
    counts : EvaluationCounts
        Evaluations of the landscape made for the profile (energies only; the BatchNorm passes
        and accuracies are extra forward passes not counted there).
    """

    t: np.ndarray
    energies: np.ndarray
    barrier: float
    barrier_over_endpoints: float
    max_energy: float
    test_energies: np.ndarray | None = None
    test_barrier: float | None = None
    accuracies: np.ndarray | None = None
    test_accuracies: np.ndarray | None = None
    kind: str = "linear"
    batchnorm_recomputed: bool = False
    counts: EvaluationCounts = field(default_factory=EvaluationCounts)

    @property
    def energy_a(self) -> float:
        """E at t = 0."""
        return float(self.energies[0])

    @property
    def energy_b(self) -> float:
        """E at t = 1."""
        return float(self.energies[-1])

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "t": self.t.tolist(),
            "energies": self.energies.tolist(),
            "barrier": self.barrier,
            "barrier_over_endpoints": self.barrier_over_endpoints,
            "max_energy": self.max_energy,
            "batchnorm_recomputed": self.batchnorm_recomputed,
            "counts": self.counts.as_dict(),
        }
        for key in ("test_energies", "accuracies", "test_accuracies"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.tolist()
        if self.test_barrier is not None:
            out["test_barrier"] = self.test_barrier
        return out


def barrier_heights(t: Any, energies: Any) -> tuple[float, float]:
    """``(barrier above the chord, barrier above the higher end)`` of a profile.

    ``t``: shape ``(n,)``, increasing from 0 to 1; ``energies``: shape ``(n,)``. The chord is
    ``(1 − t) E[0] + t E[-1]`` (Frankle et al. 2020).
    """
    t = np.asarray(t, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64)
    if t.ndim != 1 or t.shape != e.shape or t.size < 2:
        raise ShapeError(f"barrier_heights: t {t.shape} and energies {e.shape} must be equal 1-D shapes, "
                         "n >= 2")
    if t[0] != 0.0 or t[-1] != 1.0 or np.any(np.diff(t) <= 0):
        raise ValueError("barrier_heights: t must increase strictly from 0 to 1")
    chord = (1.0 - t) * e[0] + t * e[-1]
    return float(np.max(e - chord)), float(np.max(e) - max(e[0], e[-1]))


# ---------------------------------------------------------------------------- BatchNorm


def _network(landscape: Any) -> Any | None:
    """The innermost landscape if it is a :class:`NetworkLandscape`, else None."""
    from levinthal.systems.networks.landscape import NetworkLandscape

    inner = unwrap(landscape)
    return inner if isinstance(inner, NetworkLandscape) else None


def _batchnorms(model: Any) -> list[tuple[str, Any]]:
    from torch import nn

    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def batchnorm_buffer_names(landscape: Any) -> list[str]:
    """Names (as in ``model.named_buffers()``) of the BatchNorm running statistics of the
    landscape's network that its eval-mode loss depends on; ``[]`` if there are none (no
    network, no BatchNorm, or a landscape in train mode, which normalises by batch statistics)."""
    net = _network(landscape)
    if net is None or net.mode != "eval":
        return []
    names = []
    for prefix, m in _batchnorms(net.model):
        if m.track_running_stats and m.running_mean is not None:
            names += [f"{prefix}.{b}" if prefix else b for b, _ in m.named_buffers(recurse=False)]
    return names


def _training_inputs(net: Any) -> Any:
    # NetworkLandscape keeps its data private (``_inputs``); the statistics need the inputs.
    inputs = getattr(net, "inputs", None)
    return net._inputs if inputs is None else inputs


class _StatisticsPass:
    """A private working copy of the network used to recompute BatchNorm statistics."""

    def __init__(self, net: Any, batch_size: int | None):
        import torch

        self.model = copy.deepcopy(net.model)
        self.model.eval()
        # Only layers that keep running statistics; one with track_running_stats=False normalises
        # by the statistics of whatever batch it sees, in eval mode too, and has nothing to reset.
        self.bns = [(n, m) for n, m in _batchnorms(self.model)
                    if m.track_running_stats and m.running_mean is not None]
        self.params = list(self.model.parameters())
        self.inputs = _training_inputs(net)
        n = int(self.inputs.shape[0])
        size = n if batch_size is None else int(batch_size)
        if not 0 < size <= n:
            raise LandscapeError(f"{net.name}: BatchNorm batch_size must lie in [1, {n}], got {batch_size}")
        self.chunks = torch.split(self.inputs, size)
        self.names = batchnorm_buffer_names(net)

    def __call__(self, x: Any) -> dict[str, Any]:
        import torch
        from torch.nn.utils import vector_to_parameters

        with torch.no_grad():
            vector_to_parameters(x.detach().to(self.params[0].dtype), self.params)
            for _, m in self.bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative moving average over the pass
                m.train()
            try:
                for chunk in self.chunks:
                    self.model(chunk)
            finally:
                for _, m in self.bns:
                    m.eval()
        buffers = dict(self.model.named_buffers())
        return {n: buffers[n].detach().clone() for n in self.names}


def recompute_batchnorm_statistics(
    landscape: Any, x: Any, *, batch_size: int | None = None
) -> dict[str, Any]:
    """BatchNorm running statistics of the network at parameters ``x``, from the training data.

    Garipov, Izmailov, Podoprikhin, Vetrov & Wilson (2018) and Jordan et al. (2022, "REPAIR"):
    the statistics stored with a network belong to its parameters, so at any other point they
    are recomputed. Here every BatchNorm layer of a working copy of the model is reset
    (mean 0, variance 1, count 0), set to train mode with ``momentum=None`` (PyTorch's
    cumulative average over batches) while all other modules stay in eval mode (dropout off),
    and the training inputs are forwarded once under ``no_grad`` in batches of ``batch_size``
    (default None: one full batch, so the mean is the data mean and the variance the unbiased
    data variance of each channel — what eval mode at the end of training approximates).

    Parameters
    ----------
    landscape : a network landscape (possibly wrapped), in eval mode
    x : torch.Tensor, shape ``(dim,)``
    batch_size : int or None

    Returns
    -------
    dict ``{buffer name: tensor}``: ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` of every BatchNorm layer, for :func:`batchnorm_statistics`.
    """
    net = _network(landscape)
    if net is None:
        raise NotSupportedError(f"{landscape.name}: BatchNorm statistics need a network landscape")
    if not batchnorm_buffer_names(net):
        raise NotSupportedError(
            f"{net.name}: no BatchNorm running statistics to recompute (no BatchNorm layer, or the "
            f"landscape is in {net.mode!r} mode, where BatchNorm uses batch statistics)")
    return _StatisticsPass(net, batch_size)(native_point(net, x))


@contextlib.contextmanager
def batchnorm_statistics(landscape: Any, buffers: dict[str, Any]) -> Iterator[Any]:
    """Evaluate ``landscape`` with the BatchNorm buffers ``buffers`` inside the ``with`` block.

    The network landscape evaluates its model with ``functional_call`` on the parameters
    only, so the buffers come from its (private) model: they are copied in on entry and the
    original values are restored on exit, also on error. Everything evaluated through the
    landscape or its wrappers (energy, gradients, ``test_energy``, ``accuracy``) then uses
    them. Not safe if another thread evaluates the same landscape meanwhile. Yields the
    landscape.
    """
    import torch

    net = _network(landscape)
    if net is None:
        raise NotSupportedError(f"{landscape.name}: BatchNorm statistics need a network landscape")
    own = dict(net.model.named_buffers())
    unknown = sorted(set(buffers) - set(own))
    if unknown:
        raise LandscapeError(f"{net.name}: the model has no buffers {unknown}")
    saved = {n: own[n].detach().clone() for n in buffers}
    try:
        with torch.no_grad():
            for n, value in buffers.items():
                own[n].copy_(value)
        yield landscape
    finally:
        with torch.no_grad():
            for n, value in saved.items():
                own[n].copy_(value)


# ---------------------------------------------------------------------------- profiles


def linear_points(x_a: Array, x_b: Array, t: Any) -> Array:
    """Points ``(1 − t) a + t b`` for each ``t``: shape ``(n, dim)``, in ``a``'s array type.
    ``t = 0`` and ``t = 1`` give ``a`` and ``b`` exactly."""
    return _combine(np.asarray(t, dtype=np.float64), [(1.0 - np.asarray(t, dtype=np.float64), x_a),
                                                      (np.asarray(t, dtype=np.float64), x_b)])


def _combine(t: np.ndarray, terms: list[tuple[np.ndarray, Array]]) -> Array:
    """``Σ_k w_k[:, None] * v_k[None, :]`` for weights ``w_k`` of shape ``(n,)``."""
    out = None
    for w, v in terms:
        if is_torch_array(v):
            import torch

            wt = torch.as_tensor(w, dtype=v.dtype, device=v.device)
        else:
            wt = np.asarray(w, dtype=np.asarray(v).dtype)
        term = wt[:, None] * v[None, :]
        out = term if out is None else out + term
    return out


def _maybe(f: Any, x: Array) -> float | None:
    try:
        return float(f(x))
    except NotSupportedError:
        return None


def profile_points(
    landscape: Any,
    X: Array,
    t: Any,
    *,
    kind: str = "path",
    recompute_batchnorm: bool = True,
    batchnorm_batch_size: int | None = None,
    held_out: bool = True,
) -> PathProfile:
    """Evaluate the points ``X`` (shape ``(n, dim)``) of a path at parameters ``t`` (``(n,)``).

    Without BatchNorm statistics to recompute, the energies are one batched call
    ``landscape.energies(X)`` where the landscape has it (else one ``energy`` per point). With
    them (a network in eval mode with BatchNorm, ``recompute_batchnorm=True``), each point gets
    its own statistics (:func:`recompute_batchnorm_statistics`) and is evaluated under
    :func:`batchnorm_statistics`. ``held_out``: also evaluate ``test_energy``, ``accuracy`` and
    ``test_accuracy`` where the landscape has them (one extra forward pass each per point).
    """
    t = np.asarray(t, dtype=np.float64)
    n = int(X.shape[0])
    if t.shape != (n,):
        raise ShapeError(f"{landscape.name}: {n} points but t has shape {t.shape}")
    lc = checked(landscape, caller=f"{kind} profile")
    start = lc.counts.copy()
    recompute = bool(recompute_batchnorm) and bool(batchnorm_buffer_names(landscape))
    extras = {name: getattr(landscape, name, None) for name in ("test_energy", "accuracy", "test_accuracy")}
    if not held_out:
        extras = dict.fromkeys(extras)
    values: dict[str, list[float | None]] = {name: [] for name in extras}

    def held_out_values(x: Array) -> None:
        for name, f in extras.items():
            values[name].append(None if f is None else _maybe(f, x))

    if recompute:
        stats = _StatisticsPass(_network(landscape), batchnorm_batch_size)
        energies = []
        for i in range(n):
            with batchnorm_statistics(landscape, stats(X[i])):
                energies.append(lc.energy(X[i]))
                held_out_values(X[i])
        E = np.asarray(energies, dtype=np.float64)
    else:
        if supports(lc, "energies"):
            E = to_numpy(lc.energies(X)).astype(np.float64)
        else:
            E = np.asarray([lc.energy(X[i]) for i in range(n)], dtype=np.float64)
        for i in range(n):
            held_out_values(X[i])

    def column(name: str) -> np.ndarray | None:
        col = values[name]
        return None if not col or any(v is None for v in col) else np.asarray(col, dtype=np.float64)

    barrier, over = barrier_heights(t, E)
    test = column("test_energy")
    return PathProfile(
        t=t,
        energies=E,
        barrier=barrier,
        barrier_over_endpoints=over,
        max_energy=float(E.max()),
        test_energies=test,
        test_barrier=None if test is None else barrier_heights(t, test)[0],
        accuracies=column("accuracy"),
        test_accuracies=column("test_accuracy"),
        kind=kind,
        batchnorm_recomputed=recompute,
        counts=lc.counts - start,
    )


def _endpoints(landscape: Any, x_a: Array, x_b: Array) -> tuple[Array, Array]:
    a, b = native_point(landscape, x_a), native_point(landscape, x_b)
    for what, v in (("x_a", a), ("x_b", b)):
        if tuple(v.shape) != (landscape.dim,):
            raise ShapeError(
                f"{landscape.name}: {what} has shape {tuple(v.shape)}, expected ({landscape.dim},)")
    return a, b


def linear_barrier(
    landscape: Any,
    x_a: Array,
    x_b: Array,
    *,
    n_points: int = 25,
    recompute_batchnorm: bool = True,
    batchnorm_batch_size: int | None = None,
    held_out: bool = True,
) -> PathProfile:
    """Energy profile and barrier along the straight line from ``x_a`` to ``x_b``.

    Frankle et al. (2020): the barrier is ``max_t [E((1 − t) a + t b) − ((1 − t) E(a) + t E(b))]``
    on ``n_points`` equally spaced ``t`` in [0, 1] (default 25, ends included, so the ends of
    the profile are exactly E(a) and E(b)). Evaluated as one batched call where the landscape
    supports ``energies``, except that a network with BatchNorm gets its running statistics
    recomputed at every point (``recompute_batchnorm=True``, Garipov et al. 2018; see
    :func:`profile_points`). Works on any landscape.

    Parameters
    ----------
    x_a, x_b : arrays of shape ``(dim,)`` (NumPy or the landscape's native type)
    n_points : int, at least 2
    recompute_batchnorm : bool
    batchnorm_batch_size : int or None
        Batch size of the statistics pass (default: one full batch).
    held_out : bool
        Also evaluate test loss and accuracies where available (default True).
    """
    if int(n_points) < 2:
        raise ValueError(f"linear_barrier: n_points must be at least 2, got {n_points}")
    a, b = _endpoints(landscape, x_a, x_b)
    t = np.linspace(0.0, 1.0, int(n_points))
    return profile_points(landscape, linear_points(a, b, t), t, kind="linear",
                          recompute_batchnorm=recompute_batchnorm,
                          batchnorm_batch_size=batchnorm_batch_size, held_out=held_out)


@dataclass
class AlignedBarrier:
    """Linear barrier between ``a`` and ``b`` before and after aligning ``b`` to ``a``.

    Attributes
    ----------
    before, after : PathProfile
        Straight line from ``a`` to ``b``, and from ``a`` to the aligned ``b``.
    distance_before, distance_after : float
        ``‖a − b‖`` and ``‖a − π(b)‖`` (Euclidean, parameter / length units).
    b_aligned : array ``(dim,)``
        ``π(b)``: the same function (network) or structure (cluster) as ``b``.
    alignment : WeightMatching or Alignment
        What the symmetry layer returned (permutations, iterations, ...).
    """

    before: PathProfile
    after: PathProfile
    distance_before: float
    distance_after: float
    b_aligned: Array
    alignment: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "barrier_before": self.before.barrier,
            "barrier_after": self.after.barrier,
            "distance_before": self.distance_before,
            "distance_after": self.distance_after,
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


def align_endpoint(landscape: Any, x_a: Array, x_b: Array, **options: Any) -> tuple[Array, Any, float]:
    """``(π(b), alignment, ‖a − b‖)``: ``b`` brought onto ``a`` by the landscape's symmetry.

    Networks (MLPs): :func:`levinthal.symmetry.weight_matching` with the network as template
    (Ainsworth et al. 2022). Clusters: the symmetry object's ``align`` (translation, rotation,
    inversion, permutation of identical atoms). The symmetry of the *innermost* landscape is
    used, since permutations leave wrappers such as weight decay invariant (which drops the
    rescaling zero modes but not the permutations). ``options`` go to the alignment.
    """
    from levinthal.landscape import vnorm

    a, b = _endpoints(landscape, x_a, x_b)
    inner = unwrap(landscape)
    net = _network(landscape)
    if net is not None:
        from levinthal.symmetry.networks import weight_matching

        try:
            matching = weight_matching(a, b, template=net.model, **options)
        except ValueError as exc:
            raise NotSupportedError(f"{net.name}: weight matching needs a plain MLP ({exc})") from exc
        return native_point(landscape, matching.params_b_aligned), matching, matching.distance_before
    symmetry = getattr(inner, "symmetry", None)
    if symmetry is None or not hasattr(symmetry, "align"):
        raise NotSupportedError(
            f"{landscape.name}: no symmetry with an align() method to align the end points")
    alignment = symmetry.align(to_numpy(a), to_numpy(b), **options)
    return native_point(landscape, alignment.b_aligned), alignment, vnorm(a - b)


def aligned_barrier(
    landscape: Any,
    x_a: Array,
    x_b: Array,
    *,
    n_points: int = 25,
    recompute_batchnorm: bool = True,
    held_out: bool = True,
    **align_options: Any,
) -> AlignedBarrier:
    """Linear barrier before and after permutation alignment of ``x_b`` onto ``x_a``.

    Ainsworth, Hayase & Srinivasa (2022), "Git Re-Basin": the barrier between independently
    trained networks is largely an artefact of how their hidden units are labelled; weight
    matching permutes B's units to bring its weights closest to A's, then the straight line
    is evaluated again (:func:`linear_barrier`). Works for clusters too (atoms aligned by
    :func:`levinthal.symmetry.align`). ``align_options`` go to the alignment (``rng`` ...).
    """
    from levinthal.landscape import vnorm

    a, b = _endpoints(landscape, x_a, x_b)
    b_aligned, alignment, before_distance = align_endpoint(landscape, a, b, **align_options)
    options = {"n_points": n_points, "recompute_batchnorm": recompute_batchnorm, "held_out": held_out}
    return AlignedBarrier(
        before=linear_barrier(landscape, a, b, **options),
        after=linear_barrier(landscape, a, b_aligned, **options),
        distance_before=before_distance,
        distance_after=vnorm(a - b_aligned),
        b_aligned=b_aligned,
        alignment=alignment,
    )
