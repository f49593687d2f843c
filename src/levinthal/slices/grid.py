"""1-D and 2-D grids of a landscape along given directions: ``E(x + α d1 + β d2)``.

The grid is the picture of Li, Xu, Taylor, Studer & Goldstein 2018 ("Visualizing the loss
landscape of neural nets"); its cost is one loss evaluation per grid point over the full
data, so evaluation speed is the whole matter. Three evaluators, chosen by measuring:

``"loop"``
    one ``landscape.energy`` call per point (any landscape).
``"batch"``
    ``landscape.energies(X)`` on ``points_per_call`` points at once (a network landscape
    vectorises with ``torch.vmap`` over ``functional_call``; analytic and cluster landscapes
    have compiled batches).
``"affine-first"``
    for a network that is an ``nn.Sequential`` starting with a ``Linear`` or ``Conv`` layer
    (after parameter-free reshapes such as ``nn.Flatten``; eval mode). That layer's output is
    *linear* in its parameters for fixed inputs, so over the plane ``θ = x + α d1 + β d2`` it is
    ``Z(x) + α Z(d1) + β Z(d2)``: three layer evaluations over the data replace one per grid
    point, and only the rest of the network runs per point (one point at a time as plain tensor
    calls, or ``points_per_call`` at a time under ``vmap``); a mean cross-entropy is computed as
    mean(logsumexp − target logit). For the digits MLP the first layer is 86 % of the
    multiply-adds, and a grid point was measured at 0.87–0.95 forward passes on one CPU thread
    (0.63 for the 28x28 CNN; see ``benchmarks/bench_slices_vs_loss_landscapes.py``). Data are
    processed in chunks sized so the stored responses fit a memory budget (mean losses are
    recombined with weights = chunk share, which is exact); with more than one chunk the
    responses are recomputed on each call (one first-layer pass over the data per call,
    amortised over its points).

``method="auto"`` (default) evaluates the first grid points with each candidate setting,
times them (the values are kept, nothing is wasted) and finishes the grid with the fastest.

Grid values are *not* checked for finiteness: a point where the loss is NaN or infinite is
recorded as such (a hole in the contour map) rather than aborting the grid.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape.arrays import as_like, is_torch_array, to_numpy, vnorm
from levinthal.landscape.errors import LandscapeError, ShapeError
from levinthal.slices.directions import Directions

__all__ = ["METHODS", "LossGrid", "evaluate_points", "grid_1d", "grid_2d", "linspace_range"]

Array = Any

METHODS = ("auto", "loop", "batch", "affine-first")
_MEMORY_BUDGET = 2**27  # bytes for the stored first-layer responses of one data chunk (128 MiB)


@dataclass
class LossGrid:
    """A 1-D or 2-D slice of a landscape, with everything needed to redraw or recompute it.

    Attributes
    ----------
    alphas : (n_a,) float64
        Coefficients along the first direction.
    betas : (n_b,) float64 or None
        Coefficients along the second direction (None for a 1-D slice).
    energies : (n_a,) or (n_a, n_b) float64
        ``E(center + α_i d1 [+ β_j d2])`` in the landscape's energy units; NaN where the
        landscape returned NaN.
    center : (dim,) float64
        The point the slice passes through (α = β = 0).
    directions : list of (dim,) float64
        The directions, on the host.
    accuracies : same shape as ``energies`` or None
        Classification accuracy at each point (network landscapes, on request).
    metadata : dict
        JSON-serialisable: landscape name, the directions' record (kind, normalisation,
        biases, orthogonalisation, seed), evaluator, timings.
    """

    alphas: np.ndarray
    betas: np.ndarray | None
    energies: np.ndarray
    center: np.ndarray
    directions: list[np.ndarray]
    accuracies: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def dims(self) -> int:
        """1 or 2."""
        return 1 if self.betas is None else 2

    @property
    def center_energy(self) -> float:
        """Energy at the grid point nearest to α = β = 0."""
        i = int(np.argmin(np.abs(self.alphas)))
        if self.betas is None:
            return float(self.energies[i])
        return float(self.energies[i, int(np.argmin(np.abs(self.betas)))])


def linspace_range(lo: float, hi: float, resolution: int) -> np.ndarray:
    """``resolution`` evenly spaced coefficients from ``lo`` to ``hi`` inclusive (float64)."""
    if int(resolution) < 2:
        raise LandscapeError(f"grid: resolution must be at least 2, got {resolution}")
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise LandscapeError(f"grid: range must be finite with lo < hi, got ({lo}, {hi})")
    return np.linspace(float(lo), float(hi), int(resolution))


# ---------------------------------------------------------------------- evaluators


def _points(x: Array, D: Array, C: np.ndarray) -> Array:
    """Points ``x + C @ D`` for coefficient rows ``C`` (m, k), directions ``D`` (k, dim)."""
    return x[None, :] + as_like(C, x) @ D


class _Loop:
    name = "loop"

    def __init__(self, landscape: Any, x: Array, D: Array, accuracy: bool):
        self.land, self.x, self.D, self.accuracy = landscape, x, D, accuracy
        self.points_per_call = 1

    def __call__(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        E = np.empty(len(C))
        A = np.empty(len(C)) if self.accuracy else None
        for i, c in enumerate(C):
            p = self.x + as_like(c, self.x) @ self.D
            E[i] = self.land.energy(p)
            if A is not None:
                A[i] = self.land.accuracy(p)
        return E, A


class _Batch:
    name = "batch"

    def __init__(self, landscape: Any, x: Array, D: Array, accuracy: bool, points_per_call: int):
        self.land, self.x, self.D, self.accuracy = landscape, x, D, accuracy
        self.points_per_call = int(points_per_call)

    def __call__(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        E = np.empty(len(C))
        for s in range(0, len(C), self.points_per_call):
            c = C[s : s + self.points_per_call]
            E[s : s + len(c)] = to_numpy(self.land.energies(_points(self.x, self.D, c))).reshape(-1)
        A = None
        if self.accuracy:
            A = np.array([self.land.accuracy(self.x + as_like(c, self.x) @ self.D) for c in C])
        return E, A


def _affine_first_ok(landscape: Any) -> bool:
    """Whether the affine-first evaluator applies: a bare NetworkLandscape (not a wrapper, not
    a subclass changing the energy) in eval mode whose model is an ``nn.Sequential`` starting
    with a Linear/Conv layer, possibly after parameter-free reshapes (``nn.Flatten``)."""
    try:
        from torch import nn
    except ImportError:  # pragma: no cover
        return False
    from levinthal.systems.networks.landscape import NetworkLandscape

    # Only the landscape itself: a wrapper (weight decay ...) forwards .model and the data
    # through attribute lookup but changes the energy, which this evaluator would miss.
    if not isinstance(landscape, NetworkLandscape) or type(landscape).energy is not NetworkLandscape.energy:
        return False
    model = landscape.model
    if not isinstance(model, nn.Sequential) or len(model) < 2:
        return False
    if getattr(landscape, "mode", "eval") != "eval" or getattr(landscape, "allow_stochastic", False):
        return False
    if not all(hasattr(landscape, a) for a in ("data_chunks", "loss_fn", "unflatten")):
        return False
    f = _first_affine_index(model)
    return f is not None and f < len(model) - 1


_AFFINE = ("Linear", "Conv1d", "Conv2d", "Conv3d")
_RESHAPES = ("Flatten", "Unflatten", "Identity")


def _first_affine_index(model: Any) -> int | None:
    """Index of the first Linear/Conv layer of a Sequential, if everything before it is a
    parameter-free reshape (``Flatten``, ``Unflatten``, ``Identity``), else None."""
    for i, m in enumerate(model):
        name = type(m).__name__
        if name in _AFFINE:
            return i
        if name not in _RESHAPES or any(True for _ in m.parameters()):
            return None
    return None


class _AffineFirst:
    """See the module docstring. Data chunks outer, point batches inner.

    One point at a time (``points_per_call=1``) the tail's parameters are formed block by
    block as ``θ0 + α θ1 + β θ2`` and the tail runs as plain tensor calls (no vmap, no flat
    vector, no ``functional_call`` for ``Linear`` layers): on tiny models per-call overhead,
    not arithmetic, decides the speed. More points per call run the same tail under
    ``vmap``.
    """

    name = "affine-first"

    def __init__(self, landscape: Any, x: Array, D: Array, accuracy: bool, points_per_call: int,
                 memory_budget: int = _MEMORY_BUDGET):
        import torch
        from torch.func import functional_call

        self.land, self.x, self.D, self.accuracy = landscape, x, D, accuracy
        self.points_per_call = int(points_per_call)
        model = landscape.model
        f = _first_affine_index(model)
        first = model[f]
        self._prefix = list(model)[:f]  # parameter-free reshapes (Flatten ...) before it
        self._first_index = f
        self._functional_call = functional_call
        self._first = (first, [n for n, _ in first.named_parameters()])
        vecs = [landscape.unflatten(v) for v in (x, *D)]
        # Tail modules with (local name, [centre block, direction blocks...]) per parameter.
        self._tail = []
        for i, m in enumerate(model):
            if i <= f:
                continue
            blocks = [(n, [u[f"{i}.{n}"] for u in vecs]) for n, _ in m.named_parameters()]
            self._tail.append((m, blocks, isinstance(m, torch.nn.Linear)))
        # Re-chunk the data so the k + 1 stored first-layer responses fit the budget.
        chunks = []
        for a, b, w in landscape.data_chunks:
            n = int(a.shape[0])
            with torch.no_grad():
                out1 = functional_call(first, self._first_params(x), (self._reshape(a[:1]),))
            per_sample = out1.numel() * out1.element_size() * (D.shape[0] + 1)
            step = max(1, min(n, memory_budget // max(1, per_sample)))
            for s in range(0, n, step):
                chunks.append((a[s : s + step], b[s : s + step], w * min(step, n - s) / n))
        self._chunks = chunks
        targets = landscape.data_chunks[0][1]
        self._lse = (landscape.loss_fn is torch.nn.functional.cross_entropy and targets.ndim == 1
                     and not targets.is_floating_point())
        self._Z = None if len(chunks) > 1 else self._responses(chunks[0][0])

    def _first_params(self, v: Array) -> dict[str, Array]:
        params = self.land.unflatten(v)
        return {n: params[f"{self._first_index}.{n}"] for n in self._first[1]}

    def _reshape(self, inputs: Array) -> Array:
        for m in self._prefix:
            inputs = m(inputs)
        return inputs

    def _responses(self, inputs: Array) -> list[Array]:
        """First-layer responses to the centre and to each direction, each (N, ...)."""
        import torch

        first = self._first[0]
        with torch.no_grad():
            h = self._reshape(inputs)
            return [self._functional_call(first, self._first_params(v), (h,)) for v in (self.x, *self.D)]

    def _run_tail(self, h: Array, params: list[dict[str, Array]], targets: Array) -> tuple[Array, Array]:
        import torch
        import torch.nn.functional as F

        for (m, _, linear), p in zip(self._tail, params, strict=True):
            if linear:
                h = F.linear(h, p["weight"], p.get("bias"))
            elif p:
                h = self._functional_call(m, p, (h,))
            else:
                h = m(h)
        if self._lse:
            # Mean cross-entropy as mean(logsumexp − logit of the target): the same function,
            # ~2x cheaper than F.cross_entropy's general path for a few classes.
            loss = (torch.logsumexp(h, dim=1) - h.gather(1, targets[:, None])[:, 0]).mean()
        else:
            loss = self.land.loss_fn(h, targets)
        correct = (h.argmax(dim=-1) == targets).sum() if self.accuracy else loss
        return loss, correct

    def _one(self, c: list[float], Z: list[Array], targets: Array) -> tuple[Array, Array]:
        """Loss and correct count at coefficients ``c`` (Python floats), no vmap."""
        import torch

        def combine(parts: list[Array]) -> Array:
            out = parts[0]
            for ck, pk in zip(c, parts[1:], strict=True):
                out = torch.add(out, pk, alpha=ck)
            return out

        params = [{n: combine(parts) for n, parts in blocks} for _, blocks, _ in self._tail]
        return self._run_tail(combine(Z), params, targets)

    def _batched(self, c: Array, Z: Array, targets: Array) -> tuple[Array, Array]:
        """Same as :meth:`_one` for a coefficient tensor ``c`` (k,), traceable by ``vmap``."""
        import torch

        def combine(parts: Any) -> Array:
            return parts[0] + torch.tensordot(c, torch.stack(parts[1:]), dims=1)

        params = [{n: combine(parts) for n, parts in blocks} for _, blocks, _ in self._tail]
        return self._run_tail(combine(Z), params, targets)

    def __call__(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import torch
        from torch.func import vmap

        E = np.zeros(len(C))
        A = np.zeros(len(C)) if self.accuracy else None
        n_total = self.land.n_samples
        batched = vmap(self._batched, in_dims=(0, None, None))
        Ct = as_like(C, self.x)
        with torch.no_grad():
            for inputs, targets, w in self._chunks:
                Z = self._Z if self._Z is not None else self._responses(inputs)
                if self.points_per_call == 1:
                    out = [self._one(c, Z, targets) for c in C.tolist()]
                    loss = torch.stack([o[0] for o in out])
                    correct = torch.stack([o[1] for o in out])
                else:
                    losses, corrects = [], []
                    for s in range(0, len(C), self.points_per_call):
                        lo, co = batched(Ct[s : s + self.points_per_call], Z, targets)
                        losses.append(lo)
                        corrects.append(co)
                    loss, correct = torch.cat(losses), torch.cat(corrects)
                E += w * to_numpy(loss)
                if A is not None:
                    A += to_numpy(correct) / n_total
        return E, A


def _device_budget(x: Array, cpu_budget: int) -> int:
    """Bytes a grid may hold at once: ``cpu_budget`` on the host; on a CUDA device a quarter of
    the memory free when the grid starts, capped at 16 GiB (a GPU only pays off when many
    points run per call, and its memory is sized for that)."""
    if is_torch_array(x) and x.device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(x.device)
        return int(max(cpu_budget, min(free // 4, 2**34)))
    return cpu_budget


def _point_batch_sizes(x: Array, n_max: int) -> list[int]:
    """Points per call to try: 1, 4, 16 on the host; up to 256 on a CUDA device, where a
    small model's per-point cost is kernel launches, not arithmetic."""
    on_gpu = is_torch_array(x) and x.device.type == "cuda"
    sizes = (1, 4, 16, 64, 256) if on_gpu else (1, 4, 16)
    return [s for s in sizes if s <= n_max] or [1]


def _max_points(landscape: Any, budget: int = 2**28) -> int:
    """Most parameter sets per vectorised call whose activations (4 copies per value, as the
    landscape's own sizing assumes) fit ``budget`` bytes; at least 1."""
    act = getattr(landscape, "activations_per_sample", None)
    n = getattr(landscape, "n_samples", None)
    x_bytes = 8 if getattr(landscape, "dtype", None) is None else landscape.dtype.itemsize
    if act is None or n is None:
        return 16
    return max(1, budget // max(1, 4 * int(act) * int(n) * x_bytes))


def _candidates(landscape: Any, x: Array, D: Array, accuracy: bool, method: str,
                points_per_call: int | None) -> list[Any]:
    has_batch = getattr(landscape, "energies", None) is not None
    if method == "loop":
        return [_Loop(landscape, x, D, accuracy)]
    if method == "batch":
        if not has_batch:
            raise LandscapeError(f"{landscape.name}: method='batch' needs a batched energies(X)")
        return [_Batch(landscape, x, D, accuracy, points_per_call or 64)]
    if method == "affine-first":
        if not _affine_first_ok(landscape):
            raise LandscapeError(f"{landscape.name}: method='affine-first' needs a network landscape in eval "
                                 "mode whose model is an nn.Sequential starting with a Linear/Conv layer")
        return [_AffineFirst(landscape, x, D, accuracy, points_per_call or 8,
                             _device_budget(x, _MEMORY_BUDGET))]
    if method != "auto":
        raise LandscapeError(f"grid: method must be one of {METHODS}, got {method!r}")
    if not is_torch_array(x):
        # NumPy landscapes: compiled batches beat a Python loop whenever they exist.
        return [_Batch(landscape, x, D, accuracy, points_per_call or 4096)] if has_batch else \
            [_Loop(landscape, x, D, accuracy)]
    budget = _device_budget(x, 2**28)
    sizes = [points_per_call] if points_per_call else _point_batch_sizes(x, _max_points(landscape, budget))
    if _affine_first_ok(landscape):
        # It does strictly less work than a full forward pass at the same batching, so the
        # loop and the vmapped landscape need not be tried.
        return [_AffineFirst(landscape, x, D, accuracy, s, _device_budget(x, _MEMORY_BUDGET)) for s in sizes]
    cands: list[Any] = [_Loop(landscape, x, D, accuracy)]
    if has_batch:
        cands += [_Batch(landscape, x, D, accuracy, s) for s in sizes if s > 1]
    return cands


def evaluate_points(landscape: Any, x: Array, directions: list[Array], coefficients: np.ndarray, *,
                    method: str = "auto", points_per_call: int | None = None, accuracy: bool = False,
                    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Energies at ``x + Σ_k c_k d_k`` for each row ``c`` of ``coefficients`` (m, k).

    Returns ``(energies (m,), accuracies (m,) or None, info)``; ``info`` names the evaluator
    chosen, its points per call and the measured seconds per point of every candidate tried.
    """
    C = np.asarray(coefficients, dtype=np.float64)
    if C.ndim != 2 or C.shape[1] != len(directions):
        raise ShapeError(f"grid: coefficients must have shape (m, {len(directions)}), got {C.shape}")
    for i, d in enumerate(directions):
        if tuple(d.shape) != (landscape.dim,):
            raise ShapeError(f"{landscape.name}: direction {i} has shape {tuple(d.shape)}, "
                             f"expected ({landscape.dim},)")
        n = vnorm(d)
        if not n > 0.0 or not math.isfinite(n):
            raise LandscapeError(f"{landscape.name}: direction {i} has norm {n}; a slice needs nonzero, "
                                 "finite directions")
    if tuple(x.shape) != (landscape.dim,):
        raise ShapeError(f"{landscape.name}: centre has shape {tuple(x.shape)}, expected ({landscape.dim},)")
    D = _stack(directions, x)
    cands = _candidates(landscape, x, D, accuracy, method, points_per_call)
    E = np.empty(len(C))
    A = np.empty(len(C)) if accuracy else None
    timings: dict[str, float] = {}
    pos = 0
    if len(cands) > 1:
        for ev in cands:
            # A warm-up call (vmap tracing, caches), then at least 16 points timed.
            calls, timed, spent = 0, 0, 0.0
            while pos < len(C) and (calls == 0 or timed < max(16, ev.points_per_call)):
                m = min(ev.points_per_call if calls == 0 else max(16, ev.points_per_call), len(C) - pos)
                t0 = time.perf_counter()
                e, a = ev(C[pos : pos + m])
                dt = time.perf_counter() - t0
                E[pos : pos + m] = e
                if A is not None:
                    A[pos : pos + m] = a
                pos += m
                if calls > 0:
                    timed, spent = timed + m, spent + dt
                calls += 1
            if timed:
                timings[f"{ev.name}:{ev.points_per_call}"] = spent / timed
        best = min(cands, key=lambda ev: timings.get(f"{ev.name}:{ev.points_per_call}", math.inf))
    else:
        best = cands[0]
    if pos < len(C):
        e, a = best(C[pos:])
        E[pos:] = e
        if A is not None:
            A[pos:] = a
    info = {"method": best.name, "points_per_call": best.points_per_call, "seconds_per_point_tried": timings}
    return E, A, info


def _stack(directions: list[Array], x: Array) -> Array:
    if is_torch_array(x):
        import torch

        return torch.stack([d.to(dtype=x.dtype, device=x.device) for d in directions])
    return np.stack([np.asarray(d, dtype=np.float64) for d in directions])


def _vectors(directions: Directions | list[Array] | Array) -> tuple[list[Array], dict[str, Any]]:
    if isinstance(directions, Directions):
        return list(directions.vectors), directions.metadata()
    if isinstance(directions, (list, tuple)):
        return list(directions), {"kind": "given"}
    return [directions], {"kind": "given"}


def _grid(landscape: Any, x: Array, directions: Any, axes: list[np.ndarray], method: str,
          points_per_call: int | None, accuracy: bool) -> LossGrid:
    vectors, meta = _vectors(directions)
    if len(vectors) != len(axes):
        raise LandscapeError(f"grid: a {len(axes)}-D grid needs {len(axes)} directions, got {len(vectors)}")
    x = _native(landscape, x)
    vectors = [_native(landscape, d) for d in vectors]
    mesh = np.meshgrid(*axes, indexing="ij")
    C = np.stack([m.reshape(-1) for m in mesh], axis=1)
    t0 = time.perf_counter()
    E, A, info = evaluate_points(landscape, x, vectors, C, method=method, points_per_call=points_per_call,
                                 accuracy=accuracy)
    seconds = time.perf_counter() - t0
    shape = tuple(len(a) for a in axes)
    metadata = {"landscape": landscape.name, "dim": int(landscape.dim), "directions": meta,
                "evaluator": info, "seconds": seconds, "n_points": len(C)}
    return LossGrid(
        alphas=np.asarray(axes[0], dtype=np.float64),
        betas=np.asarray(axes[1], dtype=np.float64) if len(axes) == 2 else None,
        energies=E.reshape(shape),
        center=to_numpy(x),
        directions=[to_numpy(v) for v in vectors],
        accuracies=None if A is None else A.reshape(shape),
        metadata=metadata,
    )


def _native(landscape: Any, v: Array) -> Array:
    from levinthal.landscape import native_point

    return native_point(landscape, v)


def _axis(values: Any, rng: tuple[float, float], resolution: int) -> np.ndarray:
    if values is not None:
        a = np.asarray(values, dtype=np.float64).reshape(-1)
        if a.size < 1 or not np.all(np.isfinite(a)):
            raise LandscapeError("grid: coefficients must be a non-empty list of finite numbers")
        return a
    return linspace_range(rng[0], rng[1], resolution)


def grid_1d(landscape: Any, x: Array, directions: Directions | Array, *, alphas: Any = None,
            range: tuple[float, float] = (-1.0, 1.0), resolution: int = 25, method: str = "auto",
            points_per_call: int | None = None, accuracy: bool = False) -> LossGrid:
    """``E(x + α d)`` for ``resolution`` values of α in ``range`` (or the given ``alphas``).

    ``directions``: a :class:`Directions` with one vector, or a vector of shape ``(dim,)``.
    ``method``/``points_per_call``: the evaluator (see the module docstring; default: measured).
    ``accuracy=True`` also records classification accuracy (network landscapes).
    """
    return _grid(landscape, x, directions, [_axis(alphas, range, resolution)], method, points_per_call,
                 accuracy)


def grid_2d(landscape: Any, x: Array, directions: Directions | list[Array], *, alphas: Any = None,
            betas: Any = None, range: tuple[float, float] = (-1.0, 1.0), resolution: int = 25,
            method: str = "auto", points_per_call: int | None = None, accuracy: bool = False) -> LossGrid:
    """``E(x + α d1 + β d2)`` on a ``resolution × resolution`` grid over ``range²`` (or the
    given ``alphas``, ``betas``); ``energies[i, j]`` is at ``(alphas[i], betas[j])``.

    ``directions``: a :class:`Directions` with two vectors, or a list of two ``(dim,)`` vectors.
    The cost is one loss evaluation per point, batched as described in the module docstring.
    """
    axes = [_axis(alphas, range, resolution), _axis(betas, range, resolution)]
    return _grid(landscape, x, directions, axes, method, points_per_call, accuracy)
