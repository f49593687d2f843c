"""Knowledge distillation at temperature T: the student's Hessian at its minimum, its speed, its accuracy.

Hinton, Vinyals & Dean (2015), "Distilling the knowledge in a neural network": a student with
logits z_s is trained to match the softened outputs p = softmax(z_t/T) of a teacher with
logits z_t, by the loss

    L_T(x) = T² · (1/N) Σ_n KL( softmax(z_t,n / T) ‖ softmax(z_s,n(x) / T) ),

**with the T² scaling** Hinton et al. prescribe so that gradient magnitudes stay comparable
across T. Per sample, the gradient with respect to the student's logits is T (q − p) and the
Hessian is exactly diag(q) − q qᵀ with q = softmax(z_s/T) — the T² and the 1/T² of the
softened softmax cancel — so the logit-space curvature is bounded (eigenvalues ≤ ½) for every
T. For T → ∞, with C classes and P = I − 11ᵀ/C the centring projector, p ≈ (1 + P z/T)/C and

    L_T → L_∞ = (1/N) Σ_n ‖P (z_s,n − z_t,n)‖² / (2C),

logit matching of the centred logits (Hinton et al. 2015, section 2.1; the error is O(1/T)),
whose logit-space Hessian is P/C. ``T = inf`` in the grid means this limit.

Teacher: a tanh MLP trained on digits (cross-entropy + weight decay, L-BFGS). Students: a
smaller tanh MLP, trained from the same initial point (per seed) at every T on the teacher's
logits over a transfer set (the first ``n_transfer`` training images, no labels used), by
L-BFGS (:func:`levinthal.minimize.minimize`) to a minimum. Measured per (T, seed):

* at the end point: the dense Hessian of L_T (top eigenvalues, trace, smallest eigenvalue to
  check it is a minimum) — the landscape-shape question;
* speed: gradient evaluations L-BFGS needs to close 90 % of the gap L_T(x₀) − L_T(x_end), a
  measure that does not depend on the loss units (a common GD step would: its stability limit
  2/λmax changes with T);
* test accuracy on the true labels and top-1 agreement with the teacher on the test split; as a
  reference, the same student trained on the hard labels (cross-entropy) with the same budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from levinthal.landscape import checked
from levinthal.minimize import minimize
from levinthal.studies.base import Measurement, StudyResult, mean_interval
from levinthal.systems.networks.data import digits
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import mlp, reset_parameters
from levinthal.systems.regularized import L2Regularized

__all__ = ["Config", "DistillationLoss", "distillation_loss", "logit_matching_limit", "run"]

NAME = "distillation_temperature"
TITLE = "Distillation temperature T: the student's Hessian, optimisation speed and test accuracy"


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """T²·mean_n KL(softmax(z_t/T) ‖ softmax(z_s/T)) in nats (Hinton et al. 2015, with the T²
    scaling); logits of shape ``(N, C)``. ``temperature = inf`` gives :func:`logit_matching_limit`."""
    T = float(temperature)
    if not T > 0:
        raise ValueError(f"distillation_loss: temperature must be > 0, got {temperature}")
    if student_logits.shape != teacher_logits.shape or student_logits.ndim != 2:
        raise ValueError(f"distillation_loss: need logits of one shape (N, C), got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    if math.isinf(T):
        return logit_matching_limit(student_logits, teacher_logits)
    log_p = torch.log_softmax(teacher_logits / T, dim=-1)
    log_q = torch.log_softmax(student_logits / T, dim=-1)
    return T * T * (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def logit_matching_limit(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """lim_{T→∞} of :func:`distillation_loss`: mean_n ‖P(z_s − z_t)‖² / (2C), P the centring
    projector (the logits' common offset is invisible to a softmax)."""
    d = student_logits - teacher_logits
    d = d - d.mean(-1, keepdim=True)
    return 0.5 * (d * d).sum(-1).mean() / d.shape[-1]


class DistillationLoss:
    """``loss(student_logits, teacher_logits)`` at a fixed temperature, for
    :class:`~levinthal.systems.networks.landscape.NetworkLandscape` (a mean over samples, so
    chunked evaluation is exact)."""

    def __init__(self, temperature: float):
        self.temperature = float(temperature)
        self.__name__ = f"distillation(T={self.temperature:g})"

    def __call__(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        return distillation_loss(student_logits, teacher_logits, self.temperature)


@dataclass
class Config:
    """``teacher_hidden``/``student_hidden``: tanh MLP widths (64 → h → 10); ``n_teacher``: training
    images for the teacher (None: all 1,438); ``teacher_weight_decay``: its L2 strength;
    ``n_transfer``: images the students see (teacher logits only); ``temperatures``: the grid
    (``inf``: the logit-matching limit); ``seeds``: student initialisations (one initial point per
    seed, shared by every T); ``rms_tol``/``max_iterations``: the students' L-BFGS;
    ``gap_fraction``: speed = gradient evaluations until L − L_end ≤ (1 − fraction)·(L₀ − L_end)."""

    teacher_hidden: int = 32
    student_hidden: int = 8
    n_teacher: int | None = None
    teacher_weight_decay: float = 1e-3
    n_transfer: int = 500
    temperatures: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, math.inf)
    seeds: tuple[int, ...] = (0, 1, 2)
    rms_tol: float = 1e-5
    max_iterations: int = 2500
    gap_fraction: float = 0.9
    hard_label_baseline: bool = True
    data_seed: int = 0
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(teacher_hidden=16, student_hidden=3, n_teacher=300, n_transfer=100,
                   temperatures=(1.0, 4.0, math.inf), seeds=(0, 1), max_iterations=150)

    @classmethod
    def full(cls) -> Config:
        return cls()


def _logits(L: NetworkLandscape, x: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call

    with torch.no_grad():
        return functional_call(L.model, L.unflatten(x), (inputs,))


def _tlabel(T: float) -> str:
    return "∞" if math.isinf(T) else f"{T:g}"


def _train_student(L: NetworkLandscape, x0: torch.Tensor, cfg: Config) -> dict[str, Any]:
    """L-BFGS from x0 with a record of (gradient evaluations, energy) after each accepted step."""
    lc = checked(L, caller=NAME)
    e0 = lc.energy(x0)
    trace: list[tuple[int, float]] = [(0, e0)]

    def cb(x: Any, e: float, g: Any) -> None:
        trace.append((int(lc.counts.gradient), float(e)))

    r = minimize(lc, x0, rms_tol=cfg.rms_tol, max_iterations=cfg.max_iterations, callback=cb)
    evals = np.array([t[0] for t in trace])
    ener = np.array([t[1] for t in trace])
    target = r.energy + (1.0 - cfg.gap_fraction) * (e0 - r.energy)
    hit = np.nonzero(ener <= target)[0]
    return dict(x=r.x, energy=float(r.energy), converged=bool(r.converged), e0=e0, evals=evals,
                rms_gradient=float(r.rms_gradient),
                energies=ener, evals_to_gap=float(evals[hit[0]]) if hit.size else math.nan)


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Train the teacher once, then a student per (T, seed); measure Hessian, speed and accuracy."""
    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    ds = digits(seed=cfg.data_seed)
    Xtr, ytr = ds.train_inputs, ds.train_targets
    Xte, yte = ds.test_inputs, ds.test_targets.numpy()
    nt = Xtr.shape[0] if cfg.n_teacher is None else int(cfg.n_teacher)
    teacher_model = reset_parameters(mlp([64, cfg.teacher_hidden, 10], "tanh").to(torch.float64), cfg.seed)
    LT = NetworkLandscape(teacher_model, Xtr[:nt], ytr[:nt], "cross_entropy", name="teacher")
    rt = minimize(L2Regularized(LT, cfg.teacher_weight_decay), LT.initial_point(), rms_tol=1e-4,
                  max_iterations=3000)
    zt_train = _logits(LT, rt.x, Xtr[:cfg.n_transfer])
    zt_test = _logits(LT, rt.x, Xte)
    teacher_acc = float(np.mean(zt_test.argmax(1).numpy() == yte))
    res.numbers["teacher test accuracy"] = Measurement(teacher_acc, note=f"{cfg.teacher_hidden} hidden, "
                                                       f"{nt} training images, L-BFGS {rt.message}")
    res.numbers["teacher logit spread (std of centred train logits)"] = Measurement(
        float((zt_train - zt_train.mean(1, keepdim=True)).std()))

    per: dict[float, dict[str, list[float]]] = {T: {} for T in cfg.temperatures}
    curves: dict[tuple[float, int], tuple[np.ndarray, np.ndarray]] = {}
    spectra: dict[tuple[float, int], np.ndarray] = {}
    kept: dict[str, Any] = {}
    baseline_acc: list[float] = []
    student = mlp([64, cfg.student_hidden, 10], "tanh").to(torch.float64)
    for seed in cfg.seeds:
        model = reset_parameters(student, int(seed) + 1000 * cfg.seed)
        for T in cfg.temperatures:
            LS = NetworkLandscape(model, Xtr[:cfg.n_transfer], zt_train, DistillationLoss(T),
                                  name=f"student(T={_tlabel(T)})")
            tr = _train_student(LS, LS.initial_point(), cfg)
            H = LS.hessian(tr["x"])
            ev = torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy()
            zs_test = _logits(LS, tr["x"], Xte)
            m = per[T]
            for key, val in (("lambda_max", ev[-1]), ("trace", ev.sum()), ("lambda_min", ev[0]),
                             ("evals_to_gap", tr["evals_to_gap"]), ("final_loss", tr["energy"]),
                             ("converged", float(tr["converged"])), ("rms_gradient", tr["rms_gradient"]),
                             ("test_accuracy", float(np.mean(zs_test.argmax(1).numpy() == yte))),
                             ("teacher_agreement", float(np.mean((zs_test.argmax(1) == zt_test.argmax(1))
                                                                 .numpy())))):
                m.setdefault(key, []).append(float(val))
            if not math.isinf(T) and T == max(t for t in cfg.temperatures if not math.isinf(t)):
                with torch.no_grad():
                    zs = _logits(LS, tr["x"], Xtr[:cfg.n_transfer])
                    lim = float(logit_matching_limit(zs, zt_train))
                m.setdefault("limit_rel_diff", []).append(abs(tr["energy"] - lim) / lim)
            curves[(T, int(seed))] = (tr["evals"], tr["energies"])
            spectra[(T, int(seed))] = ev
            if not kept:
                kept = dict(x=tr["x"].numpy().copy(), temperature=T, seed=int(seed), eigenvalues=ev,
                            teacher_logits=zt_train.numpy(), inputs=Xtr[:cfg.n_transfer].numpy(),
                            test_accuracy=m["test_accuracy"][-1])
        if cfg.hard_label_baseline:
            LH = NetworkLandscape(model, Xtr[:cfg.n_transfer], ytr[:cfg.n_transfer], "cross_entropy",
                                  name="student(hard labels)")
            rh = minimize(LH, LH.initial_point(), rms_tol=cfg.rms_tol, max_iterations=cfg.max_iterations)
            baseline_acc.append(float(np.mean(_logits(LH, rh.x, Xte).argmax(1).numpy() == yte)))

    units = {"lambda_max": "nats/param²", "trace": "nats/param²", "lambda_min": "nats/param²",
             "evals_to_gap": "gradients", "final_loss": "nats", "converged": "", "test_accuracy": "",
             "teacher_agreement": "", "limit_rel_diff": "", "rms_gradient": "nats/param"}
    for T in cfg.temperatures:
        for key, vals in per[T].items():
            mm = mean_interval(vals)
            mm.unit = units[key]
            res.numbers[f"{key}[T={_tlabel(T)}]"] = mm
    if baseline_acc:
        res.numbers["test_accuracy[hard labels]"] = mean_interval(baseline_acc)

    Ts = list(cfg.temperatures)
    lo_T, hi_T = Ts[0], Ts[-1]

    def paired(key: str, a: float, b: float) -> Measurement:
        d = mean_interval(np.asarray(per[a][key]) - np.asarray(per[b][key]))
        d.note = f"paired over seeds (same initial point); {d.note}"
        return d

    def decide(d: Measurement, claim: str, sign_holds: int) -> tuple[str, str]:
        if d.low is None or d.high is None:
            return "note", f"{claim}: {d.text(3)} (no interval)"
        if (d.low > 0 and sign_holds > 0) or (d.high < 0 and sign_holds < 0):
            return "holds", f"{claim}: {d.text(3)}"
        if (d.low > 0 and sign_holds < 0) or (d.high < 0 and sign_holds > 0):
            return "breaks", f"{claim}: {d.text(3)}, the opposite sign"
        return "note", f"{claim}: {d.text(3)}, the interval contains 0"

    a, b = _tlabel(hi_T), _tlabel(lo_T)
    d_lam = paired("lambda_max", hi_T, lo_T)
    d_tr = paired("trace", hi_T, lo_T)
    d_sp = paired("evals_to_gap", hi_T, lo_T)
    d_acc = paired("test_accuracy", hi_T, lo_T)
    res.numbers[f"lambda_max[T={a}] - lambda_max[T={b}]"] = d_lam
    res.numbers[f"trace[T={a}] - trace[T={b}]"] = d_tr
    res.numbers[f"evals_to_gap[T={a}] - evals_to_gap[T={b}]"] = d_sp
    res.numbers[f"test_accuracy[T={a}] - test_accuracy[T={b}]"] = d_acc
    res.add_verdict(*decide(d_lam, f"soft targets give a flatter student minimum: λmax at T={a} minus at "
                            f"T={b}", -1))
    res.add_verdict(*decide(d_tr, f"… and by the trace: tr H at T={a} minus at T={b}", -1))
    res.add_verdict(*decide(d_sp, f"soft targets are faster to fit: L-BFGS gradients to close "
                            f"{cfg.gap_fraction:.0%} of the loss gap, T={a} minus T={b}", -1))
    res.add_verdict(*decide(d_acc, f"soft targets give a better student (Hinton et al. 2015): test "
                            f"accuracy T={a} minus T={b}", +1))
    best = max(Ts, key=lambda t: float(np.mean(per[t]["test_accuracy"])))
    if baseline_acc:
        d_base = mean_interval(np.asarray(per[best]["test_accuracy"]) - np.asarray(baseline_acc))
        res.numbers[f"test_accuracy[T={_tlabel(best)}] - test_accuracy[hard labels]"] = d_base
        res.add_verdict(*decide(d_base, f"the best temperature (T={_tlabel(best)}) beats training on hard "
                                "labels (test accuracy difference, paired)", +1))
    finite = [t for t in Ts if not math.isinf(t)]
    if finite and "limit_rel_diff" in per[max(finite)]:
        lim = res.numbers[f"limit_rel_diff[T={_tlabel(max(finite))}]"]
        res.add_verdict("note", f"at T={max(finite):g} the distillation loss at the student's end point "
                        f"differs from the logit-matching limit L_∞ by a relative {lim.text(3)} "
                        f"(O(1/T) expected)")
    neg = min(float(np.min(per[t]["lambda_min"])) for t in Ts)
    conv = float(np.mean([np.mean(per[t]["converged"]) for t in Ts]))
    worst = max(float(np.max(per[t]["rms_gradient"])) for t in Ts)
    res.add_verdict("note", f"the loss carries the T² factor (Hinton et al. 2015), so the logit-space "
                    f"Hessian diag(q) − qqᵀ is bounded by ½ at every T; {conv:.0%} of the L-BFGS runs "
                    f"reached rms gradient {cfg.rms_tol:g} within {cfg.max_iterations} iterations (largest "
                    f"final rms gradient {worst:.2g}), and the smallest Hessian eigenvalue over all end "
                    f"points is {neg:.3g}: the end points are near-minima, not all converged minima")

    header = ["T", "λmax", "tr H", "λmin", "gradients to gap", "test acc", "agreement", "final loss",
              "rms gradient"]
    res.tables["students: mean [95% CI] over seeds"] = (header, [
        [_tlabel(T)] + [res.numbers[f"{k}[T={_tlabel(T)}]"].text(3) for k in
                        ("lambda_max", "trace", "lambda_min", "evals_to_gap", "test_accuracy",
                         "teacher_agreement", "final_loss", "rms_gradient")] for T in Ts])
    lam_b, lam_a = res.numbers[f"lambda_max[T={b}]"], res.numbers[f"lambda_max[T={a}]"]
    if d_lam.low is not None and d_lam.low > 0:
        second = (f"so the softer the targets, the *sharper* the student's minimum: the temperature changes "
                  f"which function the student must fit (near-one-hot probabilities at T={b}, the spread "
                  f"of the teacher's logits at T={a}), and the curvature follows what must be "
                  f"matched, not the bounded logit-space Hessian.")
    elif d_lam.high is not None and d_lam.high < 0:
        second = ("so softer targets put the student in a flatter minimum, as the soft-target picture "
                  "suggests.")
    else:
        second = "and at this number of seeds the change of curvature with T is not resolved."
    res.reading = (
        f"With the T² scaling the student's λmax at its end point goes from {lam_b.text(3)} at T={b} to "
        f"{lam_a.text(3)} at T={a} (paired difference {d_lam.text(3)}), and its test accuracy from "
        f"{res.numbers[f'test_accuracy[T={b}]'].text(3)} to {res.numbers[f'test_accuracy[T={a}]'].text(3)} "
        f"(teacher {teacher_acc:.3f}), {second}")
    res.data.update(per=per, curves=curves, spectra=spectra, kept=kept, baseline_acc=baseline_acc,
                    teacher_x=rt.x.numpy().copy())
    if out is not None:
        res.figures += _figures(res, cfg, Path(out))
    res.seconds = time.perf_counter() - t0
    return res


def _figures(res: StudyResult, cfg: Config, out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    per = res.data["per"]
    Ts = list(cfg.temperatures)
    finite = [t for t in Ts if not math.isinf(t)]
    xpos = {t: (t if not math.isinf(t) else (max(finite) * 4 if finite else 1.0)) for t in Ts}
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for ax, key, lab in zip(axes, ("lambda_max", "evals_to_gap", "test_accuracy"),
                            ("λmax at the end point", f"L-BFGS gradients to {cfg.gap_fraction:.0%} of gap",
                             "test accuracy"), strict=True):
        xs = [xpos[t] for t in Ts]
        ms = [mean_interval(per[t][key]) for t in Ts]
        ys = [m.value for m in ms]
        lo = [m.value - (m.low if m.low is not None else m.value) for m in ms]
        hi = [(m.high if m.high is not None else m.value) - m.value for m in ms]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3)
        for t in Ts:
            ax.scatter([xpos[t]] * len(per[t][key]), per[t][key], s=8, color="0.6", zorder=1)
        if key == "test_accuracy" and res.data["baseline_acc"]:
            ax.axhline(float(np.mean(res.data["baseline_acc"])), color="tab:red", ls="--", lw=1,
                       label="hard labels")
            ax.legend(fontsize=7)
        ax.set_xscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([_tlabel(t) for t in Ts])
        ax.set_xlabel("temperature T")
        ax.set_ylabel(lab)
    fig.tight_layout()
    p1 = out / "distillation_vs_temperature.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.4))
    cmap = plt.get_cmap("viridis")
    seed0 = cfg.seeds[0]
    for i, t in enumerate(Ts):
        ev = np.sort(res.data["spectra"][(t, int(seed0))])[::-1]
        ax.plot(np.arange(1, ev.size + 1), np.clip(ev, 1e-8, None), color=cmap(i / max(1, len(Ts) - 1)),
                label=f"T={_tlabel(t)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue rank")
    ax.set_ylabel("Hessian eigenvalue (clipped at 1e-8)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p2 = out / "student_spectra.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [(p1, "Student λmax, optimisation cost and test accuracy against T (∞: logit matching), mean and "
                 "95% CI over seeds (grey: single seeds; red dashed: trained on hard labels)."),
            (p2, f"Dense Hessian spectrum of the student at its end point, seed {seed0}, for each T.")]
