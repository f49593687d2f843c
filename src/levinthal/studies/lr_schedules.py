"""Learning-rate schedules at equal budgets: sharpness, test accuracy and basin of the end point.

The claim under test: *how* the step size is lowered during training decides which minimum
the run ends in. Cosine annealing (Loshchilov & Hutter 2017, "SGDR: stochastic gradient
descent with warm restarts", ICLR; here one cycle, no restart) lowers η smoothly from η₀ to
0; step decay (He, Zhang, Ren & Sun 2016, "Deep residual learning", CVPR: η divided by 10 at
fixed milestones) lowers it abruptly; a constant rate never lowers it. With the same number of
minibatch steps, the same initial point and the *same* minibatch sequence (common random
numbers: every difference is the schedule's) we measure at the end point

* sharpness: λmax (Lanczos), tr H (Hutch++), and the adaptive worst-case sharpness of
  Kwon et al. (2021, ASAM) / Andriushchenko et al. (2023), which a ReLU/tanh rescaling does
  not change (:mod:`levinthal.curvature.sharpness`);
* held-out accuracy and training loss;
* whether two runs end in the same basin: the linear barrier between the end points after
  permutation alignment of hidden units by weight matching (Ainsworth, Hayase & Srinivasa
  2022, "Git Re-Basin"; :func:`levinthal.paths.aligned_barrier`), between schedules from one
  seed and between seeds for one schedule.

``explore.training.train`` has a fixed step size, so :func:`sgd_with_schedule` is the minimal
minibatch SGD loop with a per-step η(t) that this study needs (with ``batch_size=None`` and a
constant schedule it takes exactly ``train(optimizer="gd")``'s steps).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.curvature import hessian_trace, lambda_max, worst_case_sharpness
from levinthal.paths.network_barriers import aligned_barrier
from levinthal.studies.base import Measurement, StudyResult, mean_interval
from levinthal.systems.networks.presets import mlp_digits

NAME = "lr_schedules"
TITLE = "Learning-rate schedules: cosine annealing vs step decay vs constant at equal budgets"

SCHEDULES = ("constant", "step", "cosine")
QUANTITIES = ("train_loss", "test_accuracy", "lambda_max", "trace", "adaptive_sharpness")

Schedule = Callable[[int], float]


def make_schedule(kind: str, lr0: float, steps: int, *, milestones: tuple[float, ...] = (0.5, 0.75),
                  factor: float = 0.1) -> Schedule:
    """η(t) for update t = 0 … steps−1 (units of ``lr0``: 1/curvature).

    ``"constant"``: η₀. ``"step"``: η₀·factor^k after k of the ``milestones`` (fractions of
    ``steps``) have passed (He et al. 2016 use factor 0.1). ``"cosine"``: η₀·½(1 + cos(π t / steps))
    (Loshchilov & Hutter 2017, one cycle, η_min = 0): η₀ at t = 0, η₀/2 at t = steps/2.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"make_schedule: kind must be one of {SCHEDULES}, got {kind!r}")
    if not (lr0 > 0 and steps > 0):
        raise ValueError(f"make_schedule: need lr0 > 0 and steps > 0, got {lr0}, {steps}")
    if kind == "constant":
        return lambda t: float(lr0)
    if kind == "step":
        bounds = sorted(round(m * steps) for m in milestones)
        return lambda t: float(lr0 * factor ** sum(t >= b for b in bounds))
    return lambda t: float(lr0 * 0.5 * (1.0 + math.cos(math.pi * t / steps)))


@dataclass
class ScheduledRun:
    """A run of :func:`sgd_with_schedule`: final parameters ``x`` (native array), the loss each
    update was computed from ``step_loss`` (shape ``(steps,)``), the step sizes used ``lrs``;
    ``converged`` False (with ``message``) if a loss or gradient became non-finite."""

    x: Any
    step_loss: np.ndarray
    lrs: np.ndarray
    converged: bool = True
    message: str = ""


def sgd_with_schedule(landscape: Any, x0: Any, schedule: Schedule, steps: int, *,
                      batch_size: int | None, rng: np.random.Generator | int | None = 0) -> ScheduledRun:
    """Minibatch SGD x ← x − η(t) ∇L_B(x) with batches of ``batch_size`` drawn without
    replacement by ``rng`` (``None``: full batch, i.e. gradient descent).

    ``landscape``: a network landscape (``minibatch(indices)``) when ``batch_size`` is given.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = x0.clone() if hasattr(x0, "clone") else np.array(x0, dtype=float, copy=True)
    losses, lrs = [], []
    n = getattr(landscape, "n_samples", None)
    for t in range(int(steps)):
        if batch_size is None:
            e, g = landscape.energy_gradient(x)
        else:
            e, g = landscape.minibatch(rng.choice(n, size=int(batch_size), replace=False)).energy_gradient(x)
        if not math.isfinite(float(e)):
            return ScheduledRun(x, np.asarray(losses), np.asarray(lrs), False, f"non-finite loss at step {t}")
        eta = schedule(t)
        x = x - eta * g
        losses.append(float(e))
        lrs.append(eta)
    return ScheduledRun(x, np.asarray(losses), np.asarray(lrs), True, f"{steps} steps")


@dataclass
class Config:
    """``hidden``: MLP widths on 8×8 digits (:func:`~levinthal.systems.networks.presets.mlp_digits`);
    ``n_train``: training images (None: all 1,438); ``seeds``: initialisations (and minibatch
    sequences) — every schedule runs from each; ``steps``: the common budget of updates;
    ``lr0s``: initial step sizes, each run by every schedule; ``rho``: radius of the adaptive
    worst-case sharpness (relative to |x_i|); ``trace_matvec``: Hutch++ products;
    ``barrier_points``: points on each linear path."""

    hidden: tuple[int, ...] = (16,)
    n_train: int | None = None
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    steps: int = 2000
    batch_size: int = 32
    lr0s: tuple[float, ...] = (0.2, 1.0)
    milestones: tuple[float, ...] = (0.5, 0.75)
    factor: float = 0.1
    rho: float = 0.05
    trace_matvec: int = 99
    barrier_points: int = 21
    same_basin_tol: float = 0.01
    seed: int = 0
    schedules: tuple[str, ...] = field(default=SCHEDULES)

    @classmethod
    def small(cls) -> Config:
        return cls(hidden=(6,), n_train=150, seeds=(0, 1), steps=80, batch_size=20, lr0s=(0.2,),
                   trace_matvec=99, barrier_points=9)

    @classmethod
    def full(cls) -> Config:
        return cls()


def _paired_difference(a: list[float], b: list[float]) -> Measurement:
    return mean_interval(np.asarray(a) - np.asarray(b))


def _decide(diff: Measurement, what: str, better: str, worse: str) -> tuple[str, str]:
    if diff.low is None or diff.high is None:
        return "note", f"{what}: {diff.text()} (too few finite seeds for an interval)"
    if diff.high < 0:
        return "holds", f"{what}: {diff.text()} — {better}"
    if diff.low > 0:
        return "breaks", f"{what}: {diff.text()} — {worse}"
    return "note", f"{what}: {diff.text()} — the 95% interval contains 0, no difference resolved"


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Train every schedule from every seed at every η₀, measure sharpness, accuracy and barriers."""
    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    res.data["by_lr0"] = {}
    readings = []
    for lr0 in cfg.lr0s:
        res.data["by_lr0"][lr0] = _at_rate(cfg, float(lr0), res)
        d = res.data["by_lr0"][lr0]
        readings.append(
            f"at η₀ = {lr0:g} the paired cosine − step difference in λmax is "
            f"{_text(res, f'lambda_max[cosine - step, η₀={lr0:g}]')} with train loss difference "
            f"{_text(res, f'train_loss[cosine - step, η₀={lr0:g}]')}, and {d['frac_sched']:.0%} of schedule "
            f"pairs / {d['frac_seed']:.0%} of seed pairs share a basin")
    res.reading = (
        f"At an equal budget of {cfg.steps} SGD steps from the same initial points and minibatches: "
        + "; ".join(readings) + ". Sharpness of a cross-entropy minimum falls with the training loss, "
        "so a schedule that ends at a lower loss also reads flatter; compare the train-loss differences "
        "before reading a sharpness difference as a property of the schedule.")
    if out is not None:
        res.figures += _figures(res, cfg, Path(out))
    res.seconds = time.perf_counter() - t0
    return res


def _at_rate(cfg: Config, lr0: float, res: StudyResult) -> dict[str, Any]:
    """Every schedule from every seed at initial step size ``lr0``; fills ``res`` (keys tagged η₀)."""
    tag = f"η₀={lr0:g}"
    rng_master = np.random.default_rng(cfg.seed)
    batch_seeds = rng_master.integers(0, 2**31, size=len(cfg.seeds))
    per: dict[str, dict[str, list[float]]] = {s: {} for s in cfg.schedules}
    finals: dict[tuple[str, int], Any] = {}
    curves: dict[tuple[str, int], np.ndarray] = {}
    lrs: dict[str, np.ndarray] = {}
    L = None
    for i, seed in enumerate(cfg.seeds):
        L = mlp_digits(seed=int(seed), hidden=cfg.hidden, n_train=cfg.n_train)
        x0 = L.initial_point()
        for kind in cfg.schedules:
            sched = make_schedule(kind, lr0, cfg.steps, milestones=cfg.milestones, factor=cfg.factor)
            r = sgd_with_schedule(L, x0, sched, cfg.steps, batch_size=cfg.batch_size,
                                  rng=np.random.default_rng(int(batch_seeds[i])))
            finals[(kind, seed)] = r.x
            curves[(kind, seed)] = r.step_loss
            lrs[kind] = r.lrs
            m = per[kind]
            if not r.converged:
                for key in QUANTITIES:
                    m.setdefault(key, []).append(math.nan)
                continue
            m.setdefault("train_loss", []).append(L.energy(r.x))
            m.setdefault("test_accuracy", []).append(L.test_accuracy(r.x))
            m.setdefault("lambda_max", []).append(lambda_max(L, r.x, tol=1e-6, rng=int(seed)).value)
            m.setdefault("trace", []).append(hessian_trace(L, r.x, n_matvec=cfg.trace_matvec,
                                                           rng=int(seed)).value)
            m.setdefault("adaptive_sharpness", []).append(
                worst_case_sharpness(L, r.x, cfg.rho, adaptive=True, eta=0.0, rng=int(seed)).value)
    assert L is not None  # every seed's landscape is the same function (seed = initial point only)

    units = {"train_loss": "nats", "test_accuracy": "", "lambda_max": "loss/param²", "trace": "loss/param²",
             "adaptive_sharpness": "nats"}
    for kind in cfg.schedules:
        for key, vals in per[kind].items():
            meas = mean_interval(vals)
            meas.unit = units[key]
            res.numbers[f"{key}[{kind}, {tag}]"] = meas

    # Same basin? aligned barriers between schedules (same seed) and between seeds (same schedule).
    between_sched: dict[tuple[str, str], list[float]] = {}
    between_seeds: dict[str, list[float]] = {}
    pairs = [(a, b) for j, a in enumerate(cfg.schedules) for b in cfg.schedules[j + 1:]]
    for a, b in pairs:
        vals = [aligned_barrier(L, finals[(a, seed)], finals[(b, seed)], n_points=cfg.barrier_points,
                                held_out=False).after.barrier for seed in cfg.seeds]
        between_sched[(a, b)] = vals
        meas = mean_interval(vals)
        meas.unit = "nats"
        res.numbers[f"aligned_barrier[{a}-{b}, same seed, {tag}]"] = meas
    for kind in cfg.schedules:
        vals = [aligned_barrier(L, finals[(kind, s1)], finals[(kind, s2)], n_points=cfg.barrier_points,
                                held_out=False).after.barrier
                for s1, s2 in zip(cfg.seeds[:-1], cfg.seeds[1:], strict=True)]
        between_seeds[kind] = vals
        meas = mean_interval(vals)
        meas.unit = "nats"
        res.numbers[f"aligned_barrier[{kind}, between seeds, {tag}]"] = meas

    # Verdicts: the paired (same seed, same batches) differences cosine − step.
    if "cosine" in cfg.schedules and "step" in cfg.schedules:
        c, s = per["cosine"], per["step"]
        d_loss = _paired_difference(c["train_loss"], s["train_loss"])
        d_lam = _paired_difference(c["lambda_max"], s["lambda_max"])
        d_tr = _paired_difference(c["trace"], s["trace"])
        d_ad = _paired_difference(c["adaptive_sharpness"], s["adaptive_sharpness"])
        d_acc = _paired_difference(s["test_accuracy"], c["test_accuracy"])
        res.numbers[f"train_loss[cosine - step, {tag}]"] = d_loss
        res.numbers[f"lambda_max[cosine - step, {tag}]"] = d_lam
        res.numbers[f"trace[cosine - step, {tag}]"] = d_tr
        res.numbers[f"adaptive_sharpness[cosine - step, {tag}]"] = d_ad
        res.numbers[f"test_accuracy[step - cosine, {tag}]"] = d_acc
        res.add_verdict(*_decide(d_lam, f"{tag}: cosine ends flatter than step decay by λmax (paired "
                                 "difference)", "cosine's minima are flatter", "cosine's minima are sharper"))
        res.add_verdict(*_decide(d_tr, f"{tag}: cosine ends flatter than step decay by tr H (paired "
                                 "difference)", "cosine's minima are flatter", "cosine's minima are sharper"))
        res.add_verdict(*_decide(d_ad, f"{tag}: cosine ends flatter than step decay by adaptive worst-case "
                                 "sharpness", "flatter also by the rescaling-invariant measure",
                                 "sharper by the rescaling-invariant measure"))
        res.add_verdict(*_decide(d_acc, f"{tag}: cosine generalises better than step decay (step − cosine "
                                 "test accuracy)", "cosine's test accuracy is higher",
                                 "step decay's is higher"))
        res.add_verdict("note", f"{tag}: training loss cosine − step = {d_loss.text(3)} nats (sharpness of a "
                        "cross-entropy minimum falls with the loss)")
    if "constant" in cfg.schedules:
        lam_c = res.numbers[f"lambda_max[constant, {tag}]"]
        res.add_verdict("note", f"constant η₀ = {lr0:g} ends at λmax {lam_c.text()}, against the GD "
                        f"stability limit 2/η₀ = {2 / lr0:.3g}")
    all_sched = [v for vals in between_sched.values() for v in vals]
    all_seed = [v for vals in between_seeds.values() for v in vals]
    frac_sched = float(np.mean(np.asarray(all_sched) < cfg.same_basin_tol)) if all_sched else math.nan
    frac_seed = float(np.mean(np.asarray(all_seed) < cfg.same_basin_tol)) if all_seed else math.nan
    res.numbers[f"fraction same basin (schedules, same seed, {tag})"] = Measurement(
        frac_sched, note=f"aligned barrier < {cfg.same_basin_tol} nats; {len(all_sched)} pairs")
    res.numbers[f"fraction same basin (seeds, same schedule, {tag})"] = Measurement(
        frac_seed, note=f"aligned barrier < {cfg.same_basin_tol} nats; {len(all_seed)} pairs")
    res.add_verdict("holds" if frac_sched > 0.5 else "breaks",
                    f"{tag}: runs from one initial point and one batch sequence end in the same basin under "
                    f"different schedules in {frac_sched:.0%} of pairs (aligned barrier < "
                    f"{cfg.same_basin_tol} nats)")
    res.add_verdict("note", f"{tag}: runs from different seeds with one schedule end in the same basin "
                    f"(after alignment) in {frac_seed:.0%} of pairs")

    header = ["schedule", "train loss", "test acc", "λmax", "tr H", "adaptive sharpness"]
    res.tables[f"end points at {tag} (mean [95% CI] over seeds)"] = (header, [
        [k] + [res.numbers[f"{q}[{k}, {tag}]"].text(3) for q in QUANTITIES] for k in cfg.schedules])
    return {"finals": finals, "curves": curves, "lrs": lrs, "per": per, "between_schedules": between_sched,
            "between_seeds": between_seeds, "frac_sched": frac_sched, "frac_seed": frac_seed}


def _text(res: StudyResult, key: str) -> str:
    m = res.numbers.get(key)
    return m.text(3) if m is not None else "(not measured)"


def _figures(res: StudyResult, cfg: Config, out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    colors = {"constant": "tab:gray", "step": "tab:blue", "cosine": "tab:red"}
    n = len(cfg.lr0s)
    fig, axes = plt.subplots(n, 2, figsize=(9, 3.2 * n), squeeze=False)
    for row, lr0 in zip(axes, cfg.lr0s, strict=True):
        d = res.data["by_lr0"][lr0]
        a1, a2 = row
        for kind in cfg.schedules:
            a1.plot(d["lrs"][kind], color=colors.get(kind), label=kind)
            for j, seed in enumerate(cfg.seeds):
                c = d["curves"][(kind, seed)]
                w = max(1, len(c) // 50)
                sm = np.convolve(c, np.ones(w) / w, mode="valid")
                a2.plot(sm, color=colors.get(kind), alpha=0.6, lw=0.8, label=kind if j == 0 else None)
        a1.set_xlabel("step")
        a1.set_ylabel(f"η(t), η₀ = {lr0:g}")
        a1.legend(fontsize=7)
        a2.set_yscale("log")
        a2.set_xlabel("step")
        a2.set_ylabel("minibatch loss (running mean)")
        a2.legend(fontsize=7)
    fig.tight_layout()
    p = out / "lr_schedules_curves.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    figs.append((p, "Step-size schedules and minibatch losses (every seed), one row per η₀."))

    fig, axes = plt.subplots(n, len(QUANTITIES), figsize=(15, 3.0 * n), squeeze=False)
    for row, lr0 in zip(axes, cfg.lr0s, strict=True):
        per = res.data["by_lr0"][lr0]["per"]
        for ax, key in zip(row, QUANTITIES, strict=True):
            for i, kind in enumerate(cfg.schedules):
                v = np.asarray(per[kind][key])
                jitter = np.linspace(-0.1, 0.1, v.size)
                ax.scatter(np.full(v.size, i) + jitter, v, color=colors.get(kind), s=14)
                m = res.numbers[f"{key}[{kind}, η₀={lr0:g}]"]
                if m.low is not None:
                    ax.errorbar(i + 0.25, m.value, yerr=[[m.value - m.low], [m.high - m.value]], fmt="k_",
                                capsize=3)
            ax.set_xticks(range(len(cfg.schedules)), cfg.schedules)
            ax.set_title(f"{key} (η₀ = {lr0:g})", fontsize=9)
    fig.tight_layout()
    p = out / "lr_schedules_sharpness.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    figs.append((p, "End-point training loss, test accuracy and sharpness per schedule (dots: seeds; "
                    "bars: 95% CI), one row per η₀."))
    return figs
