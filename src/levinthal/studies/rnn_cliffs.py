"""Recurrent networks: a plateau, then a cliff, as the recurrent spectral radius crosses 1; and
what gradient clipping does to training there.

Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks"
(ICML): the gradient of an RNN's loss contains products of T recurrent Jacobians, so it
*vanishes* when the spectral radius ρ of the recurrent matrix is below 1 (a long-memory task
then sees a flat plateau: the output cannot depend on early inputs) and can *explode* when ρ
exceeds 1, where the loss surface has "cliffs" — walls so steep that one gradient step throws
the parameters far away. Their remedy is to clip the gradient by norm,
g ← g · min(1, c/‖g‖).

Measured here on an Elman tanh RNN (:func:`~levinthal.systems.networks.models.small_rnn`)
trained on a synthetic long-memory task (:func:`memory_task`: the label is the sign of the
*first* of T Gaussian inputs; the other T − 1 are distractors, so the Bayes loss of any
predictor blind to the first input is ln 2):

* the 1-D slice (:func:`levinthal.slices.grid_1d`) of the loss along the direction that scales
  the recurrent matrix, W_hh = ρ · Ŵ with Ŵ = W/ρ(W) (so the spectral radius *is* the slice
  coordinate), through the initial point and through a trained point; with the directional
  derivative dL/dρ = ∇L · d (autodiff) at each point;
* SGD with and without clipping at several step sizes and seeds: divergences (non-finite or a
  final loss above the initial one) with Wilson intervals, final training loss and test
  accuracy, the largest gradient norm met and the number of "explosions" (steps whose gradient
  norm exceeds 10× the run's median).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from levinthal.slices import grid_1d
from levinthal.studies.base import Measurement, StudyResult, mean_interval
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import reset_parameters, small_rnn

NAME = "rnn_cliffs"
TITLE = "RNN plateaus and cliffs along the recurrent spectral radius; SGD with and without clipping"

W_HH = "layers.0.weight_hh"


def memory_task(n: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of ``length`` standard-normal inputs, shape ``(n, length)``; label 1 if the
    first input is positive, else 0 (int64, shape ``(n,)``). Drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, length))
    y = (X[:, 0] > 0).astype(np.int64)
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)


def clip_by_norm(g: torch.Tensor, threshold: float) -> torch.Tensor:
    """g · min(1, c/‖g‖) (Pascanu et al. 2013): the direction kept, the norm at most c."""
    n = float(g.norm())
    return g * (threshold / n) if n > threshold else g


def spectral_radius(W: Any) -> float:
    """max |eigenvalue| of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=float)))))


def wilson_interval(k: int, n: int, level: float = 0.95) -> Measurement:
    """Fraction k/n with the Wilson score interval (Wilson 1927)."""
    from scipy import stats

    if n == 0:
        return Measurement(math.nan, note="no runs")
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Measurement(p, low, high, level=level, note=f"{k}/{n} runs")


def make_landscape(hidden: int, length: int, n_train: int, n_test: int, seed: int,
                   data_seed: int = 0) -> NetworkLandscape:
    """Elman RNN (1 input, ``hidden`` tanh units, 2 logits) on :func:`memory_task`; ``seed`` fixes
    the initial point only."""
    X, y = memory_task(n_train + n_test, length, data_seed)
    with torch.random.fork_rng(devices=[]):
        model = small_rnn(1, hidden, 2, "rnn").to(torch.float64)
    reset_parameters(model, seed)
    return NetworkLandscape(model, X[:n_train], y[:n_train], "cross_entropy",
                            test_data=(X[n_train:], y[n_train:]), name=f"rnn{hidden}-memory{length}")


def radius_direction(L: NetworkLandscape, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(base, d, ρ₀)``: base = x with W_hh = 0, d = Ŵ = W_hh/ρ(W_hh) in the W_hh slot (0 elsewhere),
    so base + ρ d has recurrent spectral radius exactly ρ and base + ρ₀ d = x."""
    W = L.unflatten(x)[W_HH].detach()
    rho0 = spectral_radius(W.numpy())
    d = torch.zeros_like(x)
    L.unflatten(d)[W_HH].copy_(W / rho0)
    base = x - rho0 * d
    return base, d, rho0


def sgd(L: NetworkLandscape, x0: torch.Tensor, lr: float, steps: int, batch_size: int,
        clip: float | None, rng: np.random.Generator) -> dict[str, Any]:
    """Minibatch SGD, gradients clipped by norm to ``clip`` (None: no clipping). Stops at the first
    non-finite loss or gradient. Returns final ``x``, ``finite``, per-step ``grad_norms``, ``losses``."""
    x = x0.clone()
    norms, losses = [], []
    finite = True
    for _ in range(steps):
        idx = rng.choice(L.n_samples, size=batch_size, replace=False)
        e, g = L.minibatch(idx).energy_gradient(x)
        gn = float(g.norm())
        if not (math.isfinite(e) and math.isfinite(gn)):
            finite = False
            break
        norms.append(gn)
        losses.append(float(e))
        x = x - lr * (clip_by_norm(g, clip) if clip is not None else g)
    return {"x": x, "finite": finite, "grad_norms": np.asarray(norms), "losses": np.asarray(losses)}


@dataclass
class Config:
    """Task: ``length`` steps, ``n_train``/``n_test`` sequences; RNN with ``hidden`` units.
    ``init_rho``: the initial W_hh is rescaled to this spectral radius (None: PyTorch's uniform
    initialisation, ρ ≈ 0.5 for 8 units), 1.0 by default — the border between vanishing and
    exploding gradients, where Pascanu et al. start. Slice: ``rhos`` (spectral radii) through the
    initial point of seed 0 and through the point
    reached by clipped SGD (``slice_train_steps`` at ``slice_lr``). Training: every step size in
    ``lrs`` with and without clipping at ``clip``, for every seed in ``seeds``, ``steps`` updates
    with batches of ``batch_size``."""

    length: int = 20
    hidden: int = 8
    init_rho: float | None = 1.0
    n_train: int = 512
    n_test: int = 512
    rhos: tuple[float, ...] = tuple(float(r) for r in np.round(np.linspace(0.0, 2.5, 51), 4))
    slice_lr: float = 0.1
    slice_train_steps: int = 1500
    lrs: tuple[float, ...] = (0.1, 0.3, 1.0)
    clip: float = 1.0
    seeds: tuple[int, ...] = tuple(range(6))
    steps: int = 800
    batch_size: int = 32
    explosion_factor: float = 10.0
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(length=10, hidden=4, n_train=128, n_test=128,
                   rhos=tuple(float(r) for r in np.linspace(0.0, 2.0, 11)), slice_train_steps=150,
                   lrs=(0.3,), seeds=(0, 1, 2), steps=80, batch_size=16)

    @classmethod
    def full(cls) -> Config:
        return cls()


def _initial(L: NetworkLandscape, cfg: Config) -> torch.Tensor:
    x = L.initial_point()
    if cfg.init_rho is None:
        return x
    base, d, _ = radius_direction(L, x)
    return base + float(cfg.init_rho) * d


def _explosions(norms: np.ndarray, factor: float) -> float:
    """Steps whose gradient norm exceeds ``factor`` × the run's median (0 for an empty run)."""
    return float((norms > factor * np.median(norms)).sum()) if norms.size else 0.0


def _slice(L: NetworkLandscape, x: torch.Tensor, rhos: np.ndarray) -> dict[str, Any]:
    base, d, rho0 = radius_direction(L, x)
    grid = grid_1d(L, base, d, alphas=rhos)
    dd = []
    for r in rhos:
        _, g = L.energy_gradient(base + float(r) * d)
        dd.append(float(g @ d))
    return {"rho": np.asarray(rhos, dtype=float), "loss": np.asarray(grid.energies, dtype=float),
            "dloss_drho": np.asarray(dd), "rho0": rho0, "base": base, "d": d}


def _plateau_cliff(s: dict[str, Any]) -> dict[str, float]:
    rho, loss, dd = s["rho"], s["loss"], s["dloss_drho"]
    below = rho <= 0.8
    above = rho >= 1.0
    return {
        "plateau_range": float(np.ptp(loss[below])) if below.any() else math.nan,
        "max_slope_below": float(np.max(np.abs(dd[below]))) if below.any() else math.nan,
        "max_slope_above": float(np.max(np.abs(dd[above]))) if above.any() else math.nan,
        "rho_steepest": float(rho[int(np.argmax(np.abs(dd)))]),
    }


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Slices along the spectral radius, then clipped vs unclipped SGD over step sizes and seeds."""
    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    rhos = np.asarray(cfg.rhos, dtype=float)

    # ------------------------------------------------------------------ slices
    L = make_landscape(cfg.hidden, cfg.length, cfg.n_train, cfg.n_test, seed=cfg.seed)
    x_init = _initial(L, cfg)
    trained = sgd(L, x_init, cfg.slice_lr, cfg.slice_train_steps, cfg.batch_size, cfg.clip,
                  np.random.default_rng([cfg.seed, 12345]))
    slices = {"initial": _slice(L, x_init, rhos), "trained": _slice(L, trained["x"], rhos)}
    res.numbers["trained point: training loss"] = Measurement(L.energy(trained["x"]), unit="nats",
                                                              reference=math.log(2), note="ln 2: blind to x₀")
    res.numbers["trained point: test accuracy"] = Measurement(L.test_accuracy(trained["x"]))
    for name, s in slices.items():
        pc = _plateau_cliff(s)
        s.update(pc)
        res.numbers[f"{name}: spectral radius ρ₀"] = Measurement(s["rho0"])
        res.numbers[f"{name}: loss range over ρ ≤ 0.8 (plateau)"] = Measurement(pc["plateau_range"],
                                                                                 unit="nats")
        res.numbers[f"{name}: max |dL/dρ| for ρ ≤ 0.8"] = Measurement(pc["max_slope_below"])
        res.numbers[f"{name}: max |dL/dρ| for ρ ≥ 1"] = Measurement(pc["max_slope_above"])
        res.numbers[f"{name}: ρ of the steepest slice point"] = Measurement(pc["rho_steepest"])
        ratio = pc["max_slope_above"] / max(pc["max_slope_below"], 1e-300)
        res.numbers[f"{name}: slope ratio (ρ ≥ 1)/(ρ ≤ 0.8)"] = Measurement(ratio)
        res.add_verdict("holds" if ratio > 10 and pc["rho_steepest"] >= 0.9 else "breaks",
                        f"{name} point: the loss varies by {pc['plateau_range']:.3g} nats for ρ ≤ 0.8 and "
                        f"its steepest slope ({max(pc['max_slope_above'], pc['max_slope_below']):.3g} nats "
                        f"per unit ρ) is at ρ = {pc['rho_steepest']:.2f}, {ratio:.3g}× the largest slope "
                        "below 0.8 (plateau then cliff if > 10 at ρ ≥ 0.9)")

    # ------------------------------------------------------------------ clipped vs unclipped SGD
    rows = []
    runs: dict[tuple[float, bool], list[dict[str, Any]]] = {}
    for lr in cfg.lrs:
        for clipped in (False, True):
            outs = []
            for seed in cfg.seeds:
                Ls = make_landscape(cfg.hidden, cfg.length, cfg.n_train, cfg.n_test, seed=int(seed))
                x0 = _initial(Ls, cfg)
                e0 = Ls.energy(x0)
                r = sgd(Ls, x0, lr, cfg.steps, cfg.batch_size, cfg.clip if clipped else None,
                        np.random.default_rng([cfg.seed, int(seed)]))
                ef = Ls.energy(r["x"]) if r["finite"] else math.nan
                ok = r["finite"] and math.isfinite(ef)
                outs.append({"initial_loss": e0, "final_loss": ef, "finite": ok,
                             "diverged": (not ok) or ef > e0,
                             "test_accuracy": Ls.test_accuracy(r["x"]) if ok else math.nan,
                             "max_grad": float(r["grad_norms"].max()) if r["grad_norms"].size else math.nan,
                             "explosions": _explosions(r["grad_norms"], cfg.explosion_factor),
                             "losses": r["losses"], "grad_norms": r["grad_norms"]})
            runs[(lr, clipped)] = outs
            tag = f"lr={lr:g}, {'clipped' if clipped else 'unclipped'}"
            k = sum(o["diverged"] for o in outs)
            frac = wilson_interval(k, len(outs))
            fl = mean_interval([o["final_loss"] for o in outs])
            fl.unit = "nats"
            acc = mean_interval([o["test_accuracy"] for o in outs])
            mg = float(np.nanmax([o["max_grad"] for o in outs]))
            ex = mean_interval([o["explosions"] for o in outs])
            res.numbers[f"gradient explosions per run [{tag}]"] = ex
            res.numbers[f"divergence fraction [{tag}]"] = frac
            res.numbers[f"final training loss [{tag}]"] = fl
            res.numbers[f"test accuracy [{tag}]"] = acc
            res.numbers[f"largest gradient norm [{tag}]"] = Measurement(mg)
            rows.append([f"{lr:g}", "yes" if clipped else "no", f"{k}/{len(outs)}", frac.text(2), fl.text(3),
                         acc.text(3), f"{mg:.3g}", ex.text(3)])
    res.tables["SGD with and without gradient clipping (over seeds)"] = (
        ["lr", "clipped", "diverged", "fraction [95% Wilson]", "final loss", "test accuracy", "max ‖g‖",
         f"steps with ‖g‖ > {cfg.explosion_factor:g}× median"], rows)
    k_un = sum(o["diverged"] for lr in cfg.lrs for o in runs[(lr, False)])
    k_cl = sum(o["diverged"] for lr in cfg.lrs for o in runs[(lr, True)])
    n_tot = len(cfg.lrs) * len(cfg.seeds)
    res.numbers["divergences, all step sizes [unclipped]"] = wilson_interval(k_un, n_tot)
    res.numbers["divergences, all step sizes [clipped]"] = wilson_interval(k_cl, n_tot)
    d_loss = mean_interval([a["final_loss"] - b["final_loss"] for lr in cfg.lrs
                            for a, b in zip(runs[(lr, False)], runs[(lr, True)], strict=True)])
    res.numbers["final loss unclipped − clipped (paired)"] = d_loss
    from scipy.stats import fisher_exact

    table = [[k_un, n_tot - k_un], [k_cl, n_tot - k_cl]]
    p_more = float(fisher_exact(table, alternative="greater")[1])  # unclipped diverge more often
    p_less = float(fisher_exact(table, alternative="less")[1])
    res.numbers["Fisher exact p (unclipped diverge more often)"] = Measurement(p_more)
    if p_more < 0.05:
        kind = "holds"
    elif p_less < 0.05:
        kind = "breaks"
    else:
        kind = "note"
    res.add_verdict(kind, f"clipping prevents divergence: {k_un}/{n_tot} unclipped runs diverged (ended "
                    f"above their initial loss or non-finite) against {k_cl}/{n_tot} clipped, same seeds and "
                    f"minibatches; one-sided Fisher exact p = {p_more:.3g}")
    if d_loss.low is not None and d_loss.low > 0:
        kind = "holds"
    elif d_loss.high is not None and d_loss.high < 0:
        kind = "breaks"
    else:
        kind = "note"
    res.add_verdict(kind, f"clipping lowers the final training loss: unclipped − clipped = "
                    f"{d_loss.text(3)} nats (finite pairs)")
    tr = slices["trained"]
    ratio_tr = tr["max_slope_above"] / max(tr["max_slope_below"], 1e-300)
    res.reading = (
        f"Along the recurrent spectral radius the trained network's loss varies by "
        f"{tr['plateau_range']:.2g} nats below ρ = 0.8 and is steepest at ρ = {tr['rho_steepest']:.2f} "
        f"(trained ρ₀ = {tr['rho0']:.2f}; slope ratio above/below {ratio_tr:.3g}). "
        f"Without clipping {k_un}/{n_tot} SGD runs diverged, with clipping {k_cl}/{n_tot}; the paired "
        f"final-loss difference (unclipped − clipped) is {d_loss.text(3)} nats.")
    res.data.update({"slices": slices, "runs": runs, "trained": trained, "rhos": rhos})
    if out is not None:
        res.figures += _figures(res, cfg, Path(out))
    res.seconds = time.perf_counter() - t0
    return res


def _figures(res: StudyResult, cfg: Config, out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, color in (("initial", "tab:gray"), ("trained", "tab:red")):
        s = res.data["slices"][name]
        a1.plot(s["rho"], s["loss"], "-o", ms=3, color=color, label=f"{name} (ρ₀ = {s['rho0']:.2f})")
        a2.semilogy(s["rho"], np.abs(s["dloss_drho"]) + 1e-16, "-o", ms=3, color=color, label=name)
    a1.axhline(math.log(2), ls=":", color="k", lw=0.8)
    for a in (a1, a2):
        a.axvline(1.0, ls="--", color="k", lw=0.6)
        a.set_xlabel("spectral radius ρ of W_hh")
        a.legend(fontsize=7)
    a1.set_ylabel("training loss (nats)")
    a2.set_ylabel("|dL/dρ|")
    fig.tight_layout()
    p = out / "rnn_cliffs_slice.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Loss and its slope along the direction that scales W_hh (ρ = spectral radius); "
                    "dotted: ln 2."))

    fig, axes = plt.subplots(1, len(cfg.lrs), figsize=(4 * len(cfg.lrs), 3.2), squeeze=False)
    for ax, lr in zip(axes[0], cfg.lrs, strict=True):
        for clipped, color in ((False, "tab:orange"), (True, "tab:blue")):
            for j, o in enumerate(res.data["runs"][(lr, clipped)]):
                ax.semilogy(o["grad_norms"], color=color, lw=0.5, alpha=0.6,
                            label=("clipped" if clipped else "unclipped") if j == 0 else None)
        ax.set_title(f"lr = {lr:g}")
        ax.set_xlabel("step")
        ax.set_ylabel("minibatch ‖∇L‖")
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / "rnn_cliffs_gradnorms.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, f"Gradient norms during SGD with and without clipping at c = {cfg.clip:g} (every seed)."))
    return figs
