"""A small GAN on a ring of Gaussians: modes covered over training, and the curvature of the game.

A GAN is not an energy landscape: generator and discriminator follow the vector field
``v = (∇_θ V, −∇_φ V)`` of a two-player zero-sum game with value ``V(θ, φ)`` (the generator θ
minimises it, the discriminator φ maximises it), and ``v`` is in general not a gradient. Its
Jacobian (Mescheder, Nowozin & Geiger 2017, "The numerics of GANs")

    J = [[ ∇²_θθ V,  ∇_φ∇_θ V],
         [−∇_θ∇_φ V, −∇²_φφ V]]

is not symmetric, so its eigenvalues are complex: rotation that no potential can produce. This
study trains tiny tanh MLPs by simultaneous gradient descent-ascent on the ring of 8 Gaussians
of Metz, Poole, Pfau & Sohl-Dickstein (2017, "Unrolled GANs") with the original minimax value
of Goodfellow et al. (2014), ``V = E_x log σ(D(x)) + E_z log(1 − σ(D(G(z))))``, counts the modes
covered along training (a mode is covered when at least ``cover_fraction`` of the generated
samples lie within 3σ of its centre), and at checkpoints computes, densely with
:mod:`torch.func`: the eigenvalues of J, and those of each player's own Hessian (∇²_θθ V for
the generator, ∇²_φφ(−V) for the discriminator, each minimising its loss) — minimum, maximum,
the fraction of negative eigenvalues and the anisotropy ``max|λ| / min|λ|``. States in the
last ``1 − late_fraction`` of training are called collapsed (at most ``collapsed_max`` modes) or
healthy (at least ``healthy_min``) by the measured mode count, and the two groups are compared;
checkpoints of one run are not independent, so the intervals of the group means are optimistic.

All expectations at the checkpoints are taken over one fixed evaluation batch (``n_eval`` data
points and latent draws), so V, v and J are deterministic functions of the parameters.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.studies.base import Measurement, StudyResult, mean_interval

NAME = "gan_mode_collapse"
TITLE = "GAN mode collapse on a ring of Gaussians: modes covered and the eigenvalues of the game"

__all__ = ["NAME", "TITLE", "Config", "game_jacobian", "modes_covered", "player_hessians",
           "ring_of_gaussians", "run", "vector_field"]


@dataclass
class Config:
    """``n_modes`` Gaussians of standard deviation ``sigma`` on a circle of ``radius``;
    generator ``latent_dim → g_hidden → 2`` and discriminator ``2 → d_hidden → 1`` (tanh);
    ``step_sizes``: GDA learning rates (every rate runs ``n_seeds`` seeds ``seed …``);
    ``n_steps`` steps of ``batch_size`` fresh samples; ``checkpoints``: how many evenly spaced
    states per run get the dense curvature analysis (mode counts are recorded ``n_records``
    times); ``n_eval``: samples of the fixed batch behind V, v and J and of the mode count."""

    n_modes: int = 8
    radius: float = 2.0
    sigma: float = 0.05
    latent_dim: int = 2
    g_hidden: tuple[int, ...] = (16, 16)
    d_hidden: tuple[int, ...] = (16, 16)
    step_sizes: tuple[float, ...] = (0.05, 0.2)
    n_seeds: int = 3
    n_steps: int = 6000
    batch_size: int = 128
    n_records: int = 20
    checkpoints: int = 4
    n_eval: int = 500
    cover_fraction: float = 0.02
    collapsed_max: int = 2
    healthy_min: int = 6
    late_fraction: float = 0.5
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(g_hidden=(8,), d_hidden=(8,), step_sizes=(0.1,), n_seeds=2, n_steps=300, n_records=5,
                   checkpoints=2, n_eval=300)

    @classmethod
    def full(cls) -> Config:
        return cls()


def ring_of_gaussians(n: int, generator: Any, n_modes: int = 8, radius: float = 2.0,
                      sigma: float = 0.05) -> Any:
    """``n`` samples (torch float64, shape ``(n, 2)``) from equal-weight Gaussians of standard
    deviation ``sigma`` centred at ``radius·(cos 2πk/n_modes, sin 2πk/n_modes)``."""
    import torch

    k = torch.randint(0, n_modes, (n,), generator=generator)
    angle = 2 * math.pi * k.double() / n_modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)
    return centres + sigma * torch.randn(n, 2, generator=generator, dtype=torch.float64)


def _centres(cfg: Config) -> Any:
    import torch

    a = 2 * math.pi * torch.arange(cfg.n_modes, dtype=torch.float64) / cfg.n_modes
    return cfg.radius * torch.stack([torch.cos(a), torch.sin(a)], 1)


def vector_field(value: Callable[[Any, Any], Any], theta: Any, phi: Any) -> Any:
    """``v = (∇_θ V, −∇_φ V)`` at ``(θ, φ)``, flat torch tensor of length ``len(θ) + len(φ)``:
    simultaneous gradient descent-ascent moves by ``−η v`` (θ descends V, φ ascends it)."""
    import torch
    from torch.func import grad

    g_theta, g_phi = grad(value, argnums=(0, 1))(theta, phi)
    return torch.cat([g_theta, -g_phi])


def game_jacobian(value: Callable[[Any, Any], Any], theta: Any, phi: Any) -> Any:
    """Dense Jacobian of :func:`vector_field`, shape ``(n, n)`` with ``n = len(θ) + len(φ)``:
    ``[[∇²_θθ V, ∇_φ∇_θ V], [−∇_θ∇_φ V, −∇²_φφ V]]`` (Mescheder et al. 2017), by forward-mode
    differentiation of the reverse-mode field (``torch.func.jacfwd``). Row ``i`` is ``∂v_i/∂w``."""
    import torch
    from torch.func import jacfwd

    n_theta = theta.numel()
    w = torch.cat([theta.detach(), phi.detach()])
    with warnings.catch_warnings():  # torch's forward-mode decompositions warn about torch.jit.script
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        return jacfwd(lambda u: vector_field(value, u[:n_theta], u[n_theta:]))(w)


def player_hessians(jacobian: Any, n_theta: int) -> tuple[np.ndarray, np.ndarray]:
    """Each player's Hessian of its own loss from the game Jacobian: the generator's
    ``∇²_θθ V`` (upper-left block) and the discriminator's ``∇²_φφ (−V)`` (lower-right block of
    J, since J's lower rows are ``−∇_φ V``); both symmetrised, as float64 NumPy arrays."""
    J = jacobian.detach().cpu().numpy()
    hg, hd = J[:n_theta, :n_theta], J[n_theta:, n_theta:]
    return 0.5 * (hg + hg.T), 0.5 * (hd + hd.T)


class _Game:
    """Generator and discriminator as functions of flat parameter vectors (float64)."""

    def __init__(self, cfg: Config, seed: int):
        import torch
        from torch.nn.utils import parameters_to_vector

        from levinthal.systems.networks.models import mlp, reset_parameters

        self.cfg = cfg
        self.G = reset_parameters(mlp([cfg.latent_dim, *cfg.g_hidden, 2], "tanh").double(), seed)
        self.D = reset_parameters(mlp([2, *cfg.d_hidden, 1], "tanh").double(), seed + 7919)
        self.theta = parameters_to_vector(self.G.parameters()).detach()
        self.phi = parameters_to_vector(self.D.parameters()).detach()
        self.n_theta = self.theta.numel()
        g = torch.Generator().manual_seed(10_000 + seed)
        self.x_eval = ring_of_gaussians(cfg.n_eval, g, cfg.n_modes, cfg.radius, cfg.sigma)
        self.z_eval = torch.randn(cfg.n_eval, cfg.latent_dim, generator=g, dtype=torch.float64)

    @staticmethod
    def _unflatten(model: Any, w: Any) -> dict[str, Any]:
        out, o = {}, 0
        for name, p in model.named_parameters():
            out[name] = w[o : o + p.numel()].reshape(p.shape)
            o += p.numel()
        return out

    def generate(self, theta: Any, z: Any) -> Any:
        from torch.func import functional_call

        return functional_call(self.G, self._unflatten(self.G, theta), (z,))

    def discriminate(self, phi: Any, x: Any) -> Any:
        from torch.func import functional_call

        return functional_call(self.D, self._unflatten(self.D, phi), (x,)).squeeze(-1)

    def value(self, theta: Any, phi: Any, x: Any, z: Any) -> Any:
        """Goodfellow et al. (2014): E log σ(D(x)) + E log(1 − σ(D(G(z)))) = −E softplus(−D(x)) −
        E softplus(D(G(z)))."""
        import torch.nn.functional as F

        return (-F.softplus(-self.discriminate(phi, x)).mean()
                - F.softplus(self.discriminate(phi, self.generate(theta, z))).mean())

    def eval_value(self, theta: Any, phi: Any) -> Any:
        return self.value(theta, phi, self.x_eval, self.z_eval)

    def modes(self, theta: Any) -> tuple[int, float]:
        """(modes covered, fraction of samples within 3σ of some centre) on the fixed latent batch."""
        import torch

        with torch.no_grad():
            s = self.generate(theta, self.z_eval)
        return modes_covered(s, self.cfg)


def modes_covered(samples: Any, cfg: Config) -> tuple[int, float]:
    """``(modes covered, high-quality fraction)`` of ``samples`` (torch, shape ``(n, 2)``): a mode
    is covered when at least ``cfg.cover_fraction·n`` samples lie within ``3·cfg.sigma`` of its
    centre; the fraction is that of samples within 3σ of any centre (Metz et al. 2017)."""
    import torch

    d = torch.cdist(samples.double(), _centres(cfg))
    near = d.min(1).values < 3 * cfg.sigma
    counts = torch.bincount(d.argmin(1)[near], minlength=cfg.n_modes)
    return int((counts >= cfg.cover_fraction * samples.shape[0]).sum()), float(near.double().mean())


def _analyse(game: _Game, theta: Any, phi: Any) -> dict[str, Any]:
    J = game_jacobian(game.eval_value, theta, phi)
    ev = np.linalg.eigvals(J.detach().cpu().numpy())
    hg, hd = player_hessians(J, game.n_theta)
    out: dict[str, Any] = {"jacobian_eigenvalues": ev}
    scale = np.abs(ev).max()
    out["complex_fraction"] = float(np.mean(np.abs(ev.imag) > 1e-9 * scale))
    out["min_real"] = float(ev.real.min())
    out["unstable_fraction"] = float(np.mean(ev.real < -1e-9 * scale))
    out["rotation"] = float(np.max(np.abs(ev.imag)) / np.max(np.abs(ev.real)))
    for who, H in (("g", hg), ("d", hd)):
        lam = np.linalg.eigvalsh(H)
        a = np.abs(lam)
        out[f"{who}_eigenvalues"] = lam
        out[f"{who}_min"], out[f"{who}_max"] = float(lam[0]), float(lam[-1])
        out[f"{who}_negative_fraction"] = float(np.mean(lam < -1e-9 * a.max()))
        out[f"{who}_log10_anisotropy"] = float(np.log10(a.max() / max(a.min(), 1e-300)))
    return out


def _train(cfg: Config, lr: float, seed: int) -> dict[str, Any]:
    import torch

    game = _Game(cfg, seed)
    g = torch.Generator().manual_seed(seed)
    theta = game.theta.clone().requires_grad_(True)
    phi = game.phi.clone().requires_grad_(True)
    record_at = set(np.linspace(0, cfg.n_steps, cfg.n_records + 1).round().astype(int).tolist())
    analyse_at = set(np.linspace(0, cfg.n_steps, cfg.checkpoints + 1)[1:].round().astype(int).tolist())
    history, states = [], []
    for step in range(cfg.n_steps + 1):
        if step in record_at or step in analyse_at:
            modes, quality = game.modes(theta.detach())
            if step in record_at:
                history.append((step, modes, quality))
            if step in analyse_at:
                state = _analyse(game, theta.detach(), phi.detach())
                state.update(step=step, modes=modes, quality=quality, lr=lr, seed=seed,
                             theta=theta.detach().clone(), phi=phi.detach().clone(),
                             value=float(game.eval_value(theta.detach(), phi.detach())))
                states.append(state)
        if step == cfg.n_steps:
            break
        x = ring_of_gaussians(cfg.batch_size, g, cfg.n_modes, cfg.radius, cfg.sigma)
        z = torch.randn(cfg.batch_size, cfg.latent_dim, generator=g, dtype=torch.float64)
        g_theta, g_phi = torch.autograd.grad(game.value(theta, phi, x, z), (theta, phi))
        with torch.no_grad():  # simultaneous GDA: both players move from the same point
            theta -= lr * g_theta
            phi += lr * g_phi
    with torch.no_grad():
        samples = game.generate(theta, game.z_eval).numpy()
    return {"lr": lr, "seed": seed, "history": history, "states": states, "samples": samples, "game": game,
            "final_modes": history[-1][1]}


_MEASURES = ("quality", "complex_fraction", "rotation", "min_real", "unstable_fraction", "g_min", "g_max",
             "g_negative_fraction", "g_log10_anisotropy", "d_min", "d_max", "d_negative_fraction",
             "d_log10_anisotropy")


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Train, record modes, analyse checkpoints, compare collapsed and healthy states."""
    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    runs = [_train(cfg, lr, cfg.seed + k) for lr in cfg.step_sizes for k in range(cfg.n_seeds)]
    states = [s for r in runs for s in r["states"]]
    # Only states after ``late_fraction`` of training are grouped: an early state with no mode
    # covered has not learned yet, which is not mode collapse.
    late = [s for s in states if s["step"] >= cfg.late_fraction * cfg.n_steps]
    groups = {"collapsed": [s for s in late if s["modes"] <= cfg.collapsed_max],
              "healthy": [s for s in late if s["modes"] >= cfg.healthy_min]}
    res.numbers["states_analysed"] = Measurement(float(len(states)))
    for name, members in groups.items():
        n_runs = len({(s["lr"], s["seed"]) for s in members})
        res.numbers[f"{name}_states"] = Measurement(
            float(len(members)), note=f"of {len(late)} checkpoints in the last {1 - cfg.late_fraction:.0%} "
                                      f"of training, from {n_runs} runs")
    for lr in cfg.step_sizes:
        finals = [r["final_modes"] for r in runs if r["lr"] == lr]
        res.numbers[f"final_modes_lr{lr:g}"] = mean_interval(finals)
        res.numbers[f"final_modes_lr{lr:g}"].note += f"; modes covered after {cfg.n_steps} steps"
    for lr in cfg.step_sizes:
        # Largest loss of coverage after a run's best record: GDA does not settle on covered modes.
        drops = []
        for r in (x for x in runs if x["lr"] == lr):
            modes = [h[1] for h in r["history"]]
            k = int(np.argmax(modes))
            drops.append(modes[k] - min(modes[k:]))
        res.numbers[f"coverage_drop_lr{lr:g}"] = mean_interval(drops)
        res.numbers[f"coverage_drop_lr{lr:g}"].note += "; modes lost after the run's best record"
    for m in _MEASURES:
        res.numbers[f"all_{m}"] = mean_interval([s[m] for s in states])
        for name, members in groups.items():
            if members:
                res.numbers[f"{name}_{m}"] = mean_interval([s[m] for s in members])
    res.tables["runs"] = (["lr", "seed", *[f"modes@{h[0]}" for h in runs[0]["history"]]],
                          [[r["lr"], r["seed"], *[h[1] for h in r["history"]]] for r in runs])
    res.tables["checkpoints"] = (
        ["lr", "seed", "step", "modes", "Im≠0 frac", "min Re λ(J)", "G λmin", "G λmax", "G neg frac",
         "D λmin", "D λmax", "D neg frac"],
        [[s["lr"], s["seed"], s["step"], s["modes"], f"{s['complex_fraction']:.2f}", f"{s['min_real']:.3g}",
          f"{s['g_min']:.3g}", f"{s['g_max']:.3g}", f"{s['g_negative_fraction']:.2f}", f"{s['d_min']:.3g}",
          f"{s['d_max']:.3g}", f"{s['d_negative_fraction']:.2f}"] for s in states])
    _verdicts(res, cfg, groups)
    if out is not None:
        res.figures += _figures(runs, states, groups, cfg, Path(out))
    res.data = {"runs": runs, "states": states, "groups": groups}
    res.seconds = time.perf_counter() - t0
    return res


def _verdicts(res: StudyResult, cfg: Config, groups: dict[str, list[dict[str, Any]]]) -> None:
    n = res.numbers
    cf = n["all_complex_fraction"]
    res.add_verdict("breaks" if cf.value > 0 else "holds",
                    "The game Jacobian has complex eigenvalues at the trained states "
                    f"(fraction {cf.text(3)}): "
                    "the GDA field rotates, which the Jacobian of a gradient (a symmetric Hessian) cannot.")
    for who, label in (("g", "generator"), ("d", "discriminator")):
        neg = n[f"all_{who}_negative_fraction"]
        res.add_verdict("breaks" if neg.value > 0 else "holds",
                        f"The {label}'s own Hessian has a fraction {neg.text(3)} of negative eigenvalues and "
                        f"anisotropy 10^{n[f'all_{who}_log10_anisotropy'].value:.1f}: the states GDA reaches "
                        "are not minima of that player's loss.")
    col, hea = groups["collapsed"], groups["healthy"]
    if col and hea:
        a, b = n["collapsed_g_negative_fraction"], n["healthy_g_negative_fraction"]
        ra, rb = n["collapsed_rotation"], n["healthy_rotation"]
        q = n["collapsed_quality"]
        res.add_verdict("note", f"Collapsed ({len(col)}) against healthy ({len(hea)}) late states (of the "
                                f"collapsed ones' samples a fraction {q.text(3)} lies within 3σ of a mode; "
                                "near 0 means the generator left the ring, as at the larger step size, "
                                "rather than sitting on few modes): generator "
                                f"negative fraction {a.text(3)} vs {b.text(3)}; rotation max|Im|/max|Re| "
                                f"{ra.text(3)} vs {rb.text(3)}; complex fraction of J "
                                f"{n['collapsed_complex_fraction'].text(3)} vs "
                                f"{n['healthy_complex_fraction'].text(3)}; discriminator λmax "
                                f"{n['collapsed_d_max'].text(3)} vs {n['healthy_d_max'].text(3)}.")
    else:
        res.add_verdict("note", f"Only {len(col)} collapsed and {len(hea)} healthy states among the late "
                                "checkpoints: the two cannot be compared in this configuration.")
    lr0 = cfg.step_sizes[0]
    drop = n[f"coverage_drop_lr{lr0:g}"]
    res.add_verdict("note", f"Coverage is not kept: at step size {lr0:g} a run loses {drop.text(3)} modes "
                            "after its best record (mode hopping of the rotating field, Metz et al. 2017).")
    res.reading = (
        f"A fraction {cf.value:.2f} of the game Jacobian's eigenvalues is complex and both players' Hessians "
        f"have negative directions (generator {n['all_g_negative_fraction'].value:.2f}, discriminator "
        f"{n['all_d_negative_fraction'].value:.2f}), so the GAN's states are neither minima nor points of a "
        "potential landscape. "
        f"Mode coverage ({', '.join(f'{n[k].value:.1f}' for k in n if k.startswith('final_modes'))} modes "
        "at the end, per step size) is a property of the dynamics of this non-gradient field, not of "
        "basins, so the energy-landscape analogy applies to each player's slice at best.")


def _figures(runs: list[dict[str, Any]], states: list[dict[str, Any]],
             groups: dict[str, list[dict[str, Any]]], cfg: Config, out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for k, lr in enumerate(cfg.step_sizes):
        for j, r in enumerate(x for x in runs if x["lr"] == lr):
            h = np.array(r["history"])
            ax.plot(h[:, 0], h[:, 1], color=f"C{k}", alpha=0.7, lw=1,
                    label=f"lr {lr:g}" if j == 0 else None)
    ax.set_xlabel("GDA step")
    ax.set_ylabel(f"modes covered (of {cfg.n_modes})")
    ax.legend()
    fig.tight_layout()
    p = out / "gan_modes.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Modes covered against training time, every run (colour: step size)."))
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.6))
    for name, colour in (("collapsed", "C3"), ("healthy", "C2")):
        members = groups[name]
        if not members:
            continue
        ev = np.concatenate([s["jacobian_eigenvalues"] for s in members])
        axes[0].scatter(ev.real, ev.imag, s=3, color=colour, alpha=0.5, label=f"{name} ({len(members)})")
        g = np.concatenate([s["g_eigenvalues"] for s in members])
        axes[1].hist(g, bins=60, color=colour, alpha=0.5, label=name)
    axes[0].set_xlabel("Re λ(J)")
    axes[0].set_ylabel("Im λ(J)")
    axes[0].set_title("game Jacobian")
    axes[1].set_xlabel("λ(∇²_θθ V)")
    axes[1].set_yscale("log")
    axes[1].set_title("generator Hessian")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    p = out / "gan_spectra.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Eigenvalues of the game Jacobian (complex plane) and of the generator's Hessian at "
                    "collapsed (red) and healthy (green) checkpoints."))
    r = max(runs, key=lambda x: x["final_modes"]), min(runs, key=lambda x: x["final_modes"])
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.5))
    c = _centres(cfg).numpy()
    for ax, run_ in zip(axes, r, strict=True):
        ax.scatter(run_["samples"][:, 0], run_["samples"][:, 1], s=2, alpha=0.4)
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="k")
        ax.set_title(f"lr {run_['lr']:g}, seed {run_['seed']}: {run_['final_modes']} modes")
        ax.set_aspect("equal")
    fig.tight_layout()
    p = out / "gan_samples.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Generated samples at the end of the best and the worst run; crosses: mode centres."))
    return figs
