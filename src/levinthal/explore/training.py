"""Training on a landscape with curvature tracked along the way, and the edge-of-stability check.

:func:`train` runs full-batch gradient descent, minibatch SGD or Adam on any landscape (SGD
needs a network landscape's minibatches) and records, every ``track_every`` steps, the loss,
the accuracy, the largest Hessian eigenvalue λmax and the Hessian trace — the quantities
whose joint evolution shows *progressive sharpening* and the *edge of stability* (Cohen,
Kaur, Li, Kolter & Talwalkar 2021, "Gradient descent on neural networks typically occurs at
the edge of stability", ICLR): under full-batch GD with step size η, λmax grows until it
reaches 2/η — the largest curvature at which GD on a quadratic is stable — and then hovers
there while the loss keeps falling, non-monotonically.

Curvature checks are cheap by construction:

* λmax by Lanczos (:func:`~levinthal.curvature.lanczos_eigs`, k = 1) **warm-started** from
  the previous check's top eigenvector, which changes little over ``track_every`` steps, so a
  check takes a handful of HVPs instead of tens;
* trace by Hutch++ (:func:`~levinthal.curvature.hutchpp`; Meyer et al. 2021);
* both through one :class:`~levinthal.curvature.HessianOperator` per check, which builds a
  network's derivative graph once (``hvp_operator``) for all the products at that point.

The random probes of each check come from a generator seeded by (run seed, step), so a
record does not depend on whether the run was interrupted. With ``checkpoint_dir`` the
parameter vector, optimiser state, random-generator state and the record so far are saved
atomically every ``checkpoint_every`` steps; calling :func:`train` again with the same
directory resumes from the last checkpoint (a killed run continues where it stopped and
ends with the same parameters as an uninterrupted one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.curvature import HessianOperator, hutchpp, lanczos_eigs
from levinthal.landscape import Result, as_like, checked, native_point, to_numpy
from levinthal.landscape.arrays import Array
from levinthal.landscape.checks import Checked
from levinthal.landscape.counting import Counted
from levinthal.landscape.errors import LandscapeError, NonFiniteError, NotSupportedError

__all__ = ["EdgeOfStability", "TrainingRecord", "edge_of_stability_check", "train"]

OPTIMIZERS = ("gd", "sgd", "adam")
TRACKABLE = ("loss", "accuracy", "lambda_max", "trace")
CHECKPOINT = "checkpoint.npz"

Callback = Callable[[int, Array, Any], "dict[str, float] | None"]


@dataclass
class TrainingRecord(Result):
    """What :func:`train` saw.

    ``steps``: the tracked step numbers, shape ``(m,)`` (step s = parameters after s updates);
    ``metrics``: name -> values at those steps, each shape ``(m,)`` (NaN where unavailable);
    ``step_loss``: the loss each update was computed from, shape ``(steps,)`` (the full-batch
    loss for GD and Adam, the minibatch loss for SGD); ``x``: the final parameters;
    ``hvp_per_check``: HVPs used by the curvature checks at each tracked step;
    ``resumed_from``: the step a resumed run started from (``None`` if it started fresh).
    """

    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x: Array = None
    optimizer: str = "gd"
    lr: float = 0.0
    batch_size: int | None = None
    hvp_per_check: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    resumed_from: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"converged": self.converged, "message": self.message, "optimizer": self.optimizer,
                "lr": self.lr, "batch_size": self.batch_size, "steps": self.steps.tolist(),
                "metrics": {k: v.tolist() for k, v in self.metrics.items()},
                "hvp_per_check": self.hvp_per_check.tolist(), "counts": self.counts.as_dict(),
                "resumed_from": self.resumed_from}


def _own_method(landscape: Any, name: str) -> Any:
    """``name`` of the first layer below counting/checking wrappers, if its class defines it
    (a transforming wrapper forwards unknown attributes, which would silently drop its effect)."""
    layer = landscape
    while type(layer) in (Counted, Checked):
        layer = layer.inner
    return getattr(layer, name) if getattr(type(layer), name, None) is not None else None


class _State:
    """Everything a resumed run needs: parameters, optimiser moments, generator, record."""

    def __init__(self, x: Array, seed: int, rng: np.random.Generator):
        self.x = x
        self.step = 0
        self.m: Array | None = None
        self.v: Array | None = None
        self.top: Array | None = None
        self.seed = seed
        self.rng = rng
        self.steps: list[int] = []
        self.metrics: dict[str, list[float]] = {}
        self.step_loss: list[float] = []
        self.hvp_per_check: list[int] = []

    def save(self, path: Path, config: dict[str, Any]) -> None:
        meta = {"config": config, "step": self.step, "seed": self.seed,
                "rng": self.rng.bit_generator.state, "steps": self.steps, "metrics": self.metrics,
                "step_loss": self.step_loss, "hvp_per_check": self.hvp_per_check}
        arrays = {"x": to_numpy(self.x), "meta": np.array(json.dumps(meta))}
        for key in ("m", "v", "top"):
            val = getattr(self, key)
            if val is not None:
                arrays[key] = to_numpy(val)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)

    def load(self, path: Path, config: dict[str, Any], like: Array) -> None:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta["config"] != config:
                raise LandscapeError(
                    f"train: checkpoint {path} was written by a different run ({meta['config']}), "
                    f"not {config}; use another checkpoint_dir or delete it"
                )
            self.x = as_like(data["x"], like)
            for key in ("m", "v", "top"):
                setattr(self, key, as_like(data[key], like) if key in data else None)
        self.step = int(meta["step"])
        self.seed = int(meta["seed"])
        self.rng.bit_generator.state = meta["rng"]
        self.steps = [int(s) for s in meta["steps"]]
        self.metrics = {k: [float(v) for v in vals] for k, vals in meta["metrics"].items()}
        self.step_loss = [float(v) for v in meta["step_loss"]]
        self.hvp_per_check = [int(v) for v in meta["hvp_per_check"]]


def train(
    landscape: Any,
    x0: Array,
    *,
    optimizer: str = "gd",
    lr: float,
    steps: int,
    batch_size: int | None = None,
    track_every: int = 10,
    track: Sequence[str] = TRACKABLE,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    rng: np.random.Generator | int | None = None,
    callback: Callback | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    lanczos_tol: float = 1e-4,
    trace_matvec: int = 30,
) -> TrainingRecord:
    """Train from ``x0`` (shape ``(dim,)``) and track loss and curvature every ``track_every`` steps.

    Parameters
    ----------
    landscape : Landscape
        Any landscape; ``"sgd"`` needs a network landscape (``on_batch``), ``"accuracy"``
        one with ``accuracy(x)`` (NaN otherwise).
    optimizer : {"gd", "sgd", "adam"}
        Full-batch gradient descent x ← x − η∇E; minibatch SGD (batches of ``batch_size``
        drawn without replacement by ``rng``); or Adam (Kingma & Ba 2015) on the full batch,
        or on minibatches when ``batch_size`` is given.
    lr : float
        Step size η (loss units⁻¹ × parameter units², i.e. 1/curvature: GD on a quadratic is
        stable for λmax < 2/η).
    steps : int
        Number of updates.
    track_every : int
        Record the tracked metrics at steps 0, k, 2k, … and at the last step (default 10).
    track : sequence of {"loss", "accuracy", "lambda_max", "trace"}
        What to record. ``loss``: full-batch energy; ``lambda_max``: top Hessian eigenvalue
        (Lanczos, tolerance ``lanczos_tol``, warm-started); ``trace``: Hutch++ with
        ``trace_matvec`` products (default 30).
    checkpoint_dir : path, optional
        Save ``checkpoint.npz`` there every ``checkpoint_every`` steps (default
        ``track_every``) and at the end; resume from it if it exists and was written by a run
        with the same settings (otherwise a :class:`LandscapeError`).
    rng : numpy.random.Generator or int, optional
        Source of minibatches and of the probe vectors (default seed 0).
    callback : callable, optional
        ``callback(step, x, landscape) -> dict | None`` at every tracked step; the returned
        ``{name: float}`` values are recorded as extra metrics.

    Returns
    -------
    TrainingRecord
        ``converged`` is False (and ``message`` says where) if the loss became non-finite.
        ``counts`` are the evaluations of this call (curvature HVPs included).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"train: optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    unknown = [t for t in track if t not in TRACKABLE]
    if unknown:
        raise ValueError(f"train: cannot track {unknown}; choose from {TRACKABLE} (or add a callback)")
    if not (lr > 0 and np.isfinite(lr)):
        raise ValueError(f"train: lr must be a positive finite step size, got {lr}")
    if int(steps) < 0 or int(track_every) < 1:
        raise ValueError(f"train: need steps >= 0 and track_every >= 1, got {steps}, {track_every}")
    steps, track_every = int(steps), int(track_every)
    checkpoint_every = track_every if checkpoint_every is None else int(checkpoint_every)
    lc = checked(landscape, caller="train")
    start_counts = lc.counts.copy()
    on_batch = None
    if optimizer == "sgd" or (optimizer == "adam" and batch_size is not None):
        on_batch = _own_method(landscape, "on_batch")
        if on_batch is None:
            raise NotSupportedError(
                f"{lc.name}: minibatch training needs a network landscape with on_batch (a wrapper that "
                "changes the loss, such as L2Regularized, does not pass its change on to the batches); "
                "use optimizer='gd' or train the network landscape itself"
            )
        if batch_size is None:
            raise ValueError("train: optimizer='sgd' needs batch_size")
    accuracy = getattr(landscape, "accuracy", None)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)

    x = native_point(landscape, x0)
    x = x.clone() if hasattr(x, "clone") else np.array(x, dtype=np.float64, copy=True)
    state = _State(x, int(rng.integers(0, 2**62)), rng)
    config = {"landscape": lc.name, "dim": int(lc.dim), "optimizer": optimizer, "lr": float(lr),
              "batch_size": batch_size, "track_every": track_every, "track": list(track),
              "betas": list(betas), "eps": eps, "lanczos_tol": lanczos_tol, "trace_matvec": trace_matvec}
    path = None
    resumed_from = None
    if checkpoint_dir is not None:
        path = Path(checkpoint_dir) / CHECKPOINT
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            state.load(path, config, x)
            resumed_from = state.step
            if state.step > steps:
                raise LandscapeError(f"train: checkpoint {path} is at step {state.step}, "
                                     f"beyond steps={steps}")

    def record(step: int) -> None:
        values: dict[str, float] = {}
        hvps = 0
        if "loss" in track:
            values["loss"] = lc.energy(state.x)
        if "accuracy" in track:
            values["accuracy"] = float(accuracy(state.x)) if accuracy is not None else float("nan")
        if "lambda_max" in track or "trace" in track:
            probe_rng = np.random.default_rng([state.seed, step])
            op = HessianOperator(lc, state.x)
            if "lambda_max" in track:
                res = lanczos_eigs(op, k=1, which="largest", tol=lanczos_tol, rng=probe_rng, v0=state.top)
                values["lambda_max"] = float(res.eigenvalues[-1])
                state.top = res.eigenvectors[-1]
            if "trace" in track:
                values["trace"] = hutchpp(op, n_matvec=trace_matvec, rng=probe_rng).estimate
            hvps = op.n_matvec
        if callback is not None:
            values.update({k: float(v) for k, v in (callback(step, state.x, landscape) or {}).items()})
        names = set(state.metrics) | set(values)
        n_before = len(state.steps)
        for name in names:
            col = state.metrics.setdefault(name, [float("nan")] * n_before)
            col.append(values.get(name, float("nan")))
        state.steps.append(step)
        state.hvp_per_check.append(hvps)

    b1, b2 = betas
    message = f"{steps} {optimizer} steps at lr={lr:g}"
    converged = True
    step = state.step
    while True:
        if (step % track_every == 0 or step == steps) and (not state.steps or state.steps[-1] != step):
            try:
                record(step)
            except NonFiniteError as exc:
                converged, message = False, f"diverged: non-finite curvature at step {step} ({exc})"
                break
        if step == steps:
            break
        try:
            if on_batch is not None:
                e, g = checked(on_batch(state.rng, batch_size), caller="train").energy_gradient(state.x)
                lc.counts.gradient += 1
            else:
                e, g = lc.energy_gradient(state.x)
        except NonFiniteError as exc:
            converged, message = False, f"diverged at step {step}: {exc}"
            break
        state.step_loss.append(float(e))
        if optimizer == "adam":
            t = step + 1
            state.m = (1 - b1) * g if state.m is None else b1 * state.m + (1 - b1) * g
            state.v = (1 - b2) * g * g if state.v is None else b2 * state.v + (1 - b2) * g * g
            m_hat, v_hat = state.m / (1 - b1**t), state.v / (1 - b2**t)
            state.x = state.x - lr * m_hat / (v_hat**0.5 + eps)
        else:
            state.x = state.x - lr * g
        step += 1
        state.step = step
        if path is not None and step % checkpoint_every == 0:
            state.save(path, config)
    if path is not None and converged:
        state.save(path, config)
    return TrainingRecord(
        converged=converged,
        message=message,
        counts=lc.counts - start_counts,
        history={},
        steps=np.asarray(state.steps, dtype=int),
        metrics={k: np.asarray(v, dtype=float) for k, v in state.metrics.items()},
        step_loss=np.asarray(state.step_loss, dtype=float),
        x=state.x,
        optimizer=optimizer,
        lr=float(lr),
        batch_size=batch_size,
        hvp_per_check=np.asarray(state.hvp_per_check, dtype=int),
        resumed_from=resumed_from,
    )


@dataclass
class EdgeOfStability:
    """The edge-of-stability measure of a GD run (Cohen et al. 2021).

    ``threshold``: 2/η; ``ratios``: λmax·η/2 at the tracked steps of the window (1 = at the
    edge), with ``window_steps`` their steps; ``mean_ratio``, ``min_ratio``, ``max_ratio``
    over the window; ``first_step_at_edge``: first tracked step with ratio ≥ 1 − tolerance
    (None if never); ``at_edge``: |mean_ratio − 1| ≤ ``tolerance``.
    """

    threshold: float
    ratios: np.ndarray
    window_steps: np.ndarray
    mean_ratio: float
    min_ratio: float
    max_ratio: float
    first_step_at_edge: int | None
    tolerance: float
    at_edge: bool

    def text(self) -> str:
        return (f"2/η = {self.threshold:.4g}; λmax·η/2 over steps {self.window_steps[0]}–"
                f"{self.window_steps[-1]}: mean {self.mean_ratio:.3f}, range [{self.min_ratio:.3f}, "
                f"{self.max_ratio:.3f}]; first at edge (≥ {1 - self.tolerance:.2f}) at step "
                f"{self.first_step_at_edge}; {'AT' if self.at_edge else 'NOT at'} the edge of stability")


def edge_of_stability_check(record: TrainingRecord, lr: float | None = None, *,
                            last_fraction: float = 0.25, tolerance: float = 0.15) -> EdgeOfStability:
    """λmax·η/2 over the last ``last_fraction`` of the tracked steps of a run (default ¼).

    ``lr``: the step size η (default ``record.lr``). The record must track ``lambda_max``.
    Cohen et al. (2021) find, for full-batch GD, this ratio rising to ≈ 1 and hovering there;
    ``tolerance`` (default 0.15) sets how close the window's mean must be to call it "at the
    edge". The 2/η threshold is the GD stability limit on a quadratic, independent of the run.
    """
    eta = record.lr if lr is None else float(lr)
    if not eta > 0:
        raise ValueError(f"edge_of_stability_check: lr must be > 0, got {eta}")
    if "lambda_max" not in record.metrics:
        raise ValueError("edge_of_stability_check: the record has no 'lambda_max' (track it in train)")
    lam = record.metrics["lambda_max"]
    ok = np.isfinite(lam)
    steps, lam = record.steps[ok], lam[ok]
    if lam.size == 0:
        raise ValueError("edge_of_stability_check: no finite lambda_max values in the record")
    if not 0 < last_fraction <= 1:
        raise ValueError(f"edge_of_stability_check: last_fraction must lie in (0, 1], got {last_fraction}")
    ratios_all = lam * eta / 2.0
    n = max(1, int(np.ceil(last_fraction * lam.size)))
    ratios = ratios_all[-n:]
    hit = np.nonzero(ratios_all >= 1 - tolerance)[0]
    mean = float(ratios.mean())
    return EdgeOfStability(
        threshold=2.0 / eta, ratios=ratios, window_steps=steps[-n:], mean_ratio=mean,
        min_ratio=float(ratios.min()), max_ratio=float(ratios.max()),
        first_step_at_edge=int(steps[hit[0]]) if hit.size else None, tolerance=float(tolerance),
        at_edge=abs(mean - 1.0) <= tolerance,
    )

