"""CNN against MLP at equal parameter counts: flat directions, permutation copies, barriers.

In a cluster the zero modes of the Hessian at a minimum are exactly the continuous symmetries
(3 translations + 3 rotations), and the permutation isomers of a minimum are separated by real
barriers. This study asks the same of two small ReLU networks with (nearly) the same number of
parameters on 8×8 digits — :func:`~levinthal.systems.networks.models.small_cnn` and a one-hidden
-layer MLP whose width is chosen to match it — trained to minima of the cross-entropy plus a
small weight decay (:class:`~levinthal.systems.regularized.L2Regularized`; without it there is no
finite minimum):

* dense Hessians at each minimum (:func:`~levinthal.curvature.dense_hessian`): the number of
  eigenvalues with ``|λ| < tol·λmax`` against the number of continuous symmetries (one channel or
  hidden-unit rescaling each, Dinh et al. 2017), and the curvature along those symmetry tangents;
* the permutation symmetry (hidden units: ``h!`` copies; channels: ``c₁! c₂!``): minima from
  independent seeds aligned by weight matching (Ainsworth, Hayase & Srinivasa 2022; channel
  matching from :mod:`levinthal.symmetry.cnn_channels`), counted as the same minimum when the
  aligned distance and the loss agree;
* linear barriers between the minima of seed pairs (Frankle et al. 2020) before and after the
  alignment (:mod:`levinthal.paths.network_barriers`), mean over pairs with t intervals.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.studies.base import Measurement, StudyResult, mean_interval

NAME = "cnn_vs_mlp"
TITLE = "CNN against MLP at equal parameter counts: zero modes, permutation copies, barriers"

__all__ = ["NAME", "TITLE", "Config", "matched_mlp_width", "near_zero_count", "run"]


@dataclass
class Config:
    """``channels``: the CNN's conv widths (the MLP width follows from equal parameter count);
    ``n_train``: training digits; ``l2``: weight decay λ; ``n_seeds``: independently initialised
    minima per architecture (seeds ``seed … seed + n_seeds − 1``; every pair is a barrier sample);
    ``rms_tol``/``max_iterations``: L-BFGS stopping rule; ``tols``: relative thresholds for
    "near-zero" eigenvalues ``|λ| < tol·λmax`` (the first is the headline); ``n_points``: points on
    each straight path; ``same_tol``: relative aligned distance below which two minima count as one.
    """

    channels: tuple[int, int] = (4, 8)
    n_train: int = 200
    l2: float = 1e-3
    n_seeds: int = 5
    rms_tol: float = 1e-5
    max_iterations: int = 3000
    tols: tuple[float, ...] = (1e-3, 1e-5)
    n_points: int = 15
    same_tol: float = 1e-3
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(channels=(2, 4), n_train=50, l2=1e-2, n_seeds=3, rms_tol=1e-5, max_iterations=250,
                   n_points=9)

    @classmethod
    def full(cls) -> Config:
        return cls()


def matched_mlp_width(n_params: int, n_in: int = 64, n_out: int = 10) -> int:
    """Hidden width h of an ``n_in → h → n_out`` MLP (with biases) whose parameter count
    ``h (n_in + 1) + (h + 1) n_out`` is closest to ``n_params``."""
    h = (n_params - n_out) / (n_in + 1 + n_out)
    def count(w: int) -> int:
        return w * (n_in + 1 + n_out) + n_out

    return max(1, min((math.floor(h), math.ceil(h)), key=lambda w: abs(count(w) - n_params)))


def near_zero_count(eigenvalues: Any, tol: float) -> int:
    """Number of eigenvalues with ``|λ| < tol · max|λ|``."""
    ev = np.asarray(eigenvalues, dtype=float)
    return int((np.abs(ev) < tol * np.abs(ev).max()).sum())


def _landscapes(arch: str, cfg: Config, seed: int, width: int) -> tuple[Any, Any]:
    from levinthal.systems.networks.presets import cnn_digits, mlp_digits
    from levinthal.systems.regularized import L2Regularized

    if arch == "cnn":
        inner = cnn_digits(seed=seed, channels=cfg.channels, n_train=cfg.n_train)
    else:
        inner = mlp_digits(seed=seed, hidden=(width,), activation="relu", n_train=cfg.n_train)
    return inner, L2Regularized(inner, cfg.l2)


def _tangents(arch: str, inner: Any, x: Any) -> Any:
    if arch == "cnn":
        from levinthal.symmetry.cnn_channels import rescaling_tangents

        return rescaling_tangents(x, inner.model)
    return inner.symmetry.zero_modes(x)


def _symmetry_count(arch: str, inner: Any) -> int:
    if arch == "cnn":
        from levinthal.symmetry.cnn_channels import rescaling_zero_mode_count

        return rescaling_zero_mode_count(inner.model)
    return sum(inner.symmetry.layout.hidden_sizes)


def _log10_permutations(arch: str, inner: Any) -> float:
    if arch == "cnn":
        from levinthal.symmetry.cnn_channels import cnn_layout

        sizes = cnn_layout(inner.model).channels
    else:
        sizes = inner.symmetry.layout.hidden_sizes
    return float(sum(math.lgamma(s + 1) for s in sizes) / math.log(10))


def _minimum(arch: str, cfg: Config, seed: int, width: int) -> dict[str, Any]:
    from levinthal.curvature import dense_hessian
    from levinthal.minimize import minimize

    inner, reg = _landscapes(arch, cfg, seed, width)
    r = minimize(reg, inner.initial_point(), rms_tol=cfg.rms_tol, max_iterations=cfg.max_iterations)
    H = dense_hessian(reg, r.x)
    ev, vecs = np.linalg.eigh(H)
    Q = _tangents(arch, inner, r.x).detach().cpu().numpy()
    # Curvature of the regularised loss along the symmetry tangents (eigenvalues of Q H Qᵀ):
    # without weight decay these directions would be exactly flat at a critical point of the data loss.
    sym_curv = np.linalg.eigvalsh(Q @ H @ Q.T) if Q.shape[0] else np.zeros(0)
    # Overlap of the near-zero eigenspace with the symmetry tangents: how many near-zero
    # directions the symmetries explain (squared norm of the projection, summed).
    # H = H_data + λ I: the data term's eigenvalues are ev − λ (same eigenvectors). Flatness is
    # counted on the data term, since the weight-decay floor λ would otherwise decide the count
    # through the ratio λ/λmax alone.
    ev_data = ev - cfg.l2
    tol = cfg.tols[0]
    soft = np.abs(ev_data) < tol * np.abs(ev_data).max()
    explained = float(np.sum((Q @ vecs[:, soft]) ** 2)) if Q.shape[0] and soft.any() else 0.0
    _, g = reg.energy_gradient(r.x)
    return {
        "arch": arch, "seed": seed, "x": r.x, "energy": float(r.energy), "converged": bool(r.converged),
        "rms_gradient": float(np.linalg.norm(g.detach().cpu().numpy()) / math.sqrt(reg.dim)),
        "data_loss": float(inner.energy(r.x)), "accuracy": float(inner.accuracy(r.x)),
        "test_accuracy": float(inner.test_accuracy(r.x)), "eigenvalues": ev, "dim": int(reg.dim),
        "symmetry_count": _symmetry_count(arch, inner), "n_tangents": int(Q.shape[0]),
        "symmetry_curvature": sym_curv, "explained": explained,
        "counts": {t: near_zero_count(ev_data, t) for t in cfg.tols},
        "counts_total": {t: near_zero_count(ev, t) for t in cfg.tols},
        "index": int((ev < -cfg.tols[-1] * np.abs(ev).max()).sum()),
        "log10_permutations": _log10_permutations(arch, inner), "inner": inner, "reg": reg,
    }


def _align(arch: str, inner: Any, xa: Any, xb: Any, seed: int) -> tuple[Any, float, float]:
    if arch == "cnn":
        from levinthal.symmetry.cnn_channels import channel_weight_matching

        m = channel_weight_matching(xa, xb, inner.model, rng=seed)
    else:
        from levinthal.symmetry.networks import weight_matching

        m = weight_matching(xa, xb, template=inner.model, rng=seed)
    return m.params_b_aligned, m.distance_before, m.distance_after


def _pairs(arch: str, minima: list[dict[str, Any]], cfg: Config) -> list[dict[str, Any]]:
    from levinthal.paths.network_barriers import linear_barrier

    out = []
    for i, j in itertools.combinations(range(len(minima)), 2):
        a, b = minima[i], minima[j]
        inner = a["inner"]
        b_al, d0, d1 = _align(arch, inner, a["x"], b["x"], cfg.seed + 1000 * i + j)
        before = linear_barrier(inner, a["x"], b["x"], n_points=cfg.n_points, held_out=False)
        after = linear_barrier(inner, a["x"], b_al, n_points=cfg.n_points, held_out=False)
        scale = float(np.linalg.norm(a["x"].detach().cpu().numpy()))
        same = d1 < cfg.same_tol * scale and abs(a["energy"] - b["energy"]) < 1e-6
        out.append({"pair": (a["seed"], b["seed"]), "distance_before": d0, "distance_after": d1,
                    "barrier_before": float(before.barrier), "barrier_after": float(after.barrier),
                    "profile_before": np.asarray(before.energies),
                    "profile_after": np.asarray(after.energies),
                    "t": np.asarray(before.t), "same": bool(same),
                    "loss_b_aligned": float(inner.energy(b_al)), "loss_b": float(inner.energy(b["x"]))})
    return out


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Train both architectures from ``n_seeds`` seeds, diagonalise their Hessians, align and
    measure barriers; see the module docstring."""
    from levinthal.systems.networks.presets import cnn_digits

    cfg = config or Config.full()
    t0 = time.perf_counter()
    n_cnn = cnn_digits(seed=0, channels=cfg.channels, n_train=8).dim
    width = matched_mlp_width(n_cnn)
    seeds = [cfg.seed + k for k in range(cfg.n_seeds)]
    res = StudyResult(NAME, TITLE, cfg)
    minima = {arch: [_minimum(arch, cfg, s, width) for s in seeds] for arch in ("cnn", "mlp")}
    pairs = {arch: _pairs(arch, minima[arch], cfg) for arch in ("cnn", "mlp")}
    tol = cfg.tols[0]

    rows = []
    for arch in ("cnn", "mlp"):
        ms, ps = minima[arch], pairs[arch]
        lam_max = [float(np.abs(m["eigenvalues"]).max()) for m in ms]
        res.numbers[f"{arch}_dim"] = Measurement(float(ms[0]["dim"]), note="parameters")
        res.numbers[f"{arch}_symmetry_zero_modes"] = Measurement(
            float(ms[0]["symmetry_count"]), note="continuous rescaling symmetries (channels / hidden units)")
        for t in cfg.tols:
            res.numbers[f"{arch}_near_zero_{t:g}"] = mean_interval([m["counts"][t] for m in ms])
            res.numbers[f"{arch}_near_zero_{t:g}"].note += (f"; eigenvalues of the data-loss Hessian "
                                                            f"with |λ| < {t:g}·λmax")
            res.numbers[f"{arch}_near_zero_total_{t:g}"] = mean_interval([m["counts_total"][t] for m in ms])
            res.numbers[f"{arch}_near_zero_total_{t:g}"].note += (f"; eigenvalues of the regularised "
                                                                  f"Hessian with |λ| < {t:g}·λmax")
        res.numbers[f"{arch}_near_zero_explained_by_symmetry"] = mean_interval([m["explained"] for m in ms])
        res.numbers[f"{arch}_symmetry_curvature_over_l2"] = mean_interval(
            [float(np.median(m["symmetry_curvature"])) / cfg.l2 for m in ms if m["symmetry_curvature"].size])
        res.numbers[f"{arch}_lambda_max"] = mean_interval(lam_max)
        res.numbers[f"{arch}_index"] = mean_interval([m["index"] for m in ms])
        res.numbers[f"{arch}_train_loss"] = mean_interval([m["data_loss"] for m in ms])
        res.numbers[f"{arch}_test_accuracy"] = mean_interval([m["test_accuracy"] for m in ms])
        res.numbers[f"{arch}_rms_gradient"] = mean_interval([m["rms_gradient"] for m in ms])
        res.numbers[f"{arch}_log10_permutation_copies"] = Measurement(
            ms[0]["log10_permutations"], note="log10 of the number of permuted copies of every minimum")
        res.numbers[f"{arch}_barrier_before"] = mean_interval([p["barrier_before"] for p in ps])
        res.numbers[f"{arch}_barrier_after"] = mean_interval([p["barrier_after"] for p in ps])
        res.numbers[f"{arch}_barrier_reduction"] = mean_interval(
            [p["barrier_before"] - p["barrier_after"] for p in ps])
        res.numbers[f"{arch}_distance_ratio"] = mean_interval(
            [p["distance_after"] / p["distance_before"] for p in ps])
        res.numbers[f"{arch}_same_minimum_pairs"] = Measurement(
            float(sum(p["same"] for p in ps)), note=f"of {len(ps)} seed pairs, equal after alignment")
        res.numbers[f"{arch}_permuted_loss_change"] = Measurement(
            float(max(abs(p["loss_b_aligned"] - p["loss_b"]) for p in ps)),
            note="max |E(π(b)) − E(b)|: a permutation must not change the loss")
        for m in ms:
            rows.append([arch, m["seed"], m["dim"], f"{m['data_loss']:.4g}", f"{m['test_accuracy']:.3f}",
                         f"{m['rms_gradient']:.2g}", m["converged"], m["index"],
                         *[m["counts"][t] for t in cfg.tols], m["symmetry_count"], f"{m['explained']:.2f}"])
    res.tables["minima"] = (["arch", "seed", "dim", "train loss", "test acc", "rms grad", "converged",
                             "index", *[f"|λ|<{t:g}λmax" for t in cfg.tols], "symmetries", "explained"], rows)
    res.tables["pairs"] = (
        ["arch", "pair", "d before", "d after", "barrier before", "barrier after", "same"],
        [[arch, str(p["pair"]), f"{p['distance_before']:.3g}", f"{p['distance_after']:.3g}",
          f"{p['barrier_before']:.3g}", f"{p['barrier_after']:.3g}", p["same"]]
         for arch in ("cnn", "mlp") for p in pairs[arch]])

    _verdicts(res, cfg, tol)
    if out is not None:
        res.figures += _figures(minima, pairs, cfg, Path(out))
    res.data = {"minima": {a: [{k: v for k, v in m.items() if k not in ("inner", "reg")} for m in ms]
                           for a, ms in minima.items()}, "pairs": pairs, "width": width,
                "landscapes": {a: (ms[0]["inner"], ms[0]["reg"]) for a, ms in minima.items()}}
    res.seconds = time.perf_counter() - t0
    return res


def _verdicts(res: StudyResult, cfg: Config, tol: float) -> None:
    n = res.numbers
    for arch, label in (("cnn", "CNN"), ("mlp", "MLP")):
        near, sym = n[f"{arch}_near_zero_{tol:g}"], n[f"{arch}_symmetry_zero_modes"].value
        kind = "holds" if abs(near.value - sym) <= max(1.0, 0.25 * sym) else "breaks"
        res.add_verdict(kind, f"{label}: {near.value:.1f} data-loss Hessian eigenvalues with "
                              f"|λ| < {tol:g}·λmax per end point "
                              f"({near.text(3)}) against {sym:.0f} continuous symmetries; a cluster's flat "
                              f"directions are exactly its symmetries, here "
                              f"{n[f'{arch}_near_zero_explained_by_symmetry'].value:.1f} of them are spanned "
                              "by the rescaling tangents, whose curvature weight decay lifts to "
                              f"{n[f'{arch}_symmetry_curvature_over_l2'].value:.3g}·λ_L2 (2·λ_L2 expected "
                              "at an exact minimum).")
        idx, rms = n[f"{arch}_index"], n[f"{arch}_rms_gradient"]
        res.add_verdict("note", f"{label}: the L-BFGS end points have {idx.text(3)} eigenvalues below "
                                f"−{cfg.tols[-1]:g}·λmax (rms gradient {rms.value:.2g}); an end point with "
                                "index > 0 is not (yet) a minimum: unconverged, or stalled in a flat region.")
    for arch, label in (("cnn", "CNN"), ("mlp", "MLP")):
        red = n[f"{arch}_barrier_reduction"]
        lo = red.low if red.low is not None else red.value
        kind = "holds" if lo > 0 else "breaks"
        res.add_verdict(kind, f"{label}: aligning permutations lowers the linear barrier by {red.text(3)} "
                              f"(before {n[f'{arch}_barrier_before'].value:.3g}, after "
                              f"{n[f'{arch}_barrier_after'].value:.3g}); like permutation isomers of a "
                              "cluster, part of the separation between minima is relabelling.")
        same = n[f"{arch}_same_minimum_pairs"]
        copies = n[f"{arch}_log10_permutation_copies"].value
        res.add_verdict("note", f"{label}: {same.value:.0f} seed pairs ({same.note}) reached the same "
                                f"minimum up to permutation; every minimum has 10^{copies:.1f} permuted "
                                "copies with identical loss (largest change measured "
                                f"{n[f'{arch}_permuted_loss_change'].value:.1g}).")
    res.reading = (
        f"At {n['cnn_dim'].value:.0f} (CNN) and {n['mlp_dim'].value:.0f} (MLP) parameters the number of "
        f"near-flat Hessian directions is {n[f'cnn_near_zero_{tol:g}'].value:.1f} against "
        f"{n[f'mlp_near_zero_{tol:g}'].value:.1f}, compared with "
        f"{n['cnn_symmetry_zero_modes'].value:.0f} and "
        f"{n['mlp_symmetry_zero_modes'].value:.0f} continuous symmetries: the analogy with a cluster's "
        "symmetry zero modes holds only where these numbers agree. "
        f"Weight matching changes the linear barrier from {n['cnn_barrier_before'].value:.3g} to "
        f"{n['cnn_barrier_after'].value:.3g} (CNN) and {n['mlp_barrier_before'].value:.3g} to "
        f"{n['mlp_barrier_after'].value:.3g} (MLP), so the permutation copies play the part of permutation "
        "isomers only to the extent that the barrier falls.")


def _figures(minima: dict[str, list[dict[str, Any]]], pairs: dict[str, list[dict[str, Any]]], cfg: Config,
             out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for arch, colour in (("cnn", "C0"), ("mlp", "C1")):
        for k, m in enumerate(minima[arch]):
            ev = np.abs(m["eigenvalues"])
            ax.semilogy(np.arange(ev.size) / ev.size, np.sort(ev)[::-1] / ev.max(), color=colour, lw=0.8,
                        alpha=0.7, label=f"{arch} (dim {m['dim']})" if k == 0 else None)
    for t in cfg.tols:
        ax.axhline(t, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("eigenvalue rank / dim")
    ax.set_ylabel("|λ| / λmax")
    ax.set_title("Hessian spectra at minima (all seeds)")
    ax.legend()
    fig.tight_layout()
    p = out / "cnn_vs_mlp_spectra.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Sorted |eigenvalues| of the regularised loss Hessian at every minimum, relative to "
                    "λmax; dotted lines: the near-zero thresholds."))
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.4), sharey=True)
    for ax, arch in zip(axes, ("cnn", "mlp"), strict=True):
        for k, p_ in enumerate(pairs[arch]):
            ax.plot(p_["t"], p_["profile_before"], color="C3", lw=0.8, label="before" if k == 0 else None)
            ax.plot(p_["t"], p_["profile_after"], color="C2", lw=0.8,
                    label="after alignment" if k == 0 else None)
        ax.set_title(arch.upper())
        ax.set_xlabel("t")
    axes[0].set_ylabel("training loss")
    axes[0].legend()
    fig.tight_layout()
    p = out / "cnn_vs_mlp_barriers.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Training loss on the straight line between minima of seed pairs, before (red) and "
                    "after (green) permutation alignment."))
    return figs
