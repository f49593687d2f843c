"""SGD as a thermostat: minibatch gradient noise, its covariance and the effective temperature.

Minibatch SGD, x ← x − η ĝ_B(x), with ĝ_B the mean gradient over B samples, is gradient
descent plus a noise ξ = ĝ_B − ∇E of zero mean and covariance C_B. Matching the increments of
one SGD step to one Euler–Maruyama step of overdamped Langevin dynamics with unit friction and
the same step, x ← x − η∇E + √(2 η kT) ζ, gives the *effective temperature*
(Mandt, Hoffman & Blei 2017, "Stochastic gradient descent as approximate Bayesian inference",
JMLR 18, 1; Jastrzębski et al. 2017, "Three factors influencing minima in SGD", arXiv:1711.04623;
Smith & Le 2018, "A Bayesian perspective on generalization and stochastic gradient descent",
ICLR):

    η² C_B = 2 η kT  (as matrices)   ⇒   kT_eff = η tr(C_B) / (2 d)   per degree of freedom.

Conventions used here, exactly:

* g_i(x) = ∇ℓ_i(x) is the gradient of sample i's loss, E = (1/N) Σ ℓ_i (the landscape's mean
  loss); Σ = (1/N) Σ_i (g_i − ∇E)(g_i − ∇E)ᵀ is the per-sample gradient covariance
  (population normalisation 1/N).
* C_B = f Σ / B with f = (N − B)/(N − 1) for batches drawn **without** replacement (what
  :meth:`NetworkLandscape.on_batch` does), f = 1 with replacement. So
  kT_eff = η f tr(Σ) / (2 B d), the brief's η tr(C)/(2Bd) with C = f Σ. For a summed loss,
  Smith & Le's noise scale ε(N/B − 1) is the same factor: f/B = (1/B − 1/N)·N/(N − 1).
* Noise is anisotropic: along the eigenvector of Σ with eigenvalue λ the temperature is
  η f λ / (2B). ``kT_top`` is that for the largest λ, ``anisotropy`` = λ_max d / tr(Σ)
  (1 for isotropic noise, d for noise along one direction).

:func:`gradient_noise` measures Σ at a point from per-sample gradients computed with
``torch.func.vmap(grad(...))`` (trace exact; top eigenvalues from the singular values of the
centred N × d gradient matrix). :func:`sgd_thermostat` runs SGD on a network landscape,
measures the noise every ``measure_every`` steps and quenches into a sink. The stationary
variance of SGD on a quadratic E = ½ k x² with additive noise of variance σ_B² = f σ²/B is
exactly, for the AR(1) chain x' = (1 − ηk) x − η ξ,

    Var = η² σ_B² / (1 − (1 − ηk)²) = η σ_B² / (2k − ηk²)        (0 < ηk < 2),

:func:`sgd_stationary_variance` (see e.g. Liu, Ziyin & Ueda 2021, "Noise and fluctuation of
finite learning rate stochastic gradient descent", ICML; Mandt et al. 2017 give the small-η
limit η σ_B²/(2k) = kT_eff/k). :func:`compare_sgd_langevin` runs SGD with additive noise of
known covariance on an analytic landscape next to overdamped Langevin at the matching kT_eff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.explore import _walkers as W
from levinthal.explore.langevin import LangevinResult, langevin
from levinthal.explore.sink import InMemoryMinima
from levinthal.explore.training import _own_method
from levinthal.landscape import (
    NotSupportedError,
    Result,
    as_like,
    checked,
    native_point,
    unwrap,
)
from levinthal.progress import progress

__all__ = ["GradientNoise", "SGDLangevinComparison", "SGDThermostatResult", "compare_sgd_langevin",
           "gradient_noise", "per_sample_gradients", "sgd_stationary_variance", "sgd_thermostat"]

Array = Any


def sgd_stationary_variance(k: float, lr: float, noise_var: float, batch_size: int = 1,
                            replacement_factor: float = 1.0) -> float:
    """Exact stationary variance of SGD x' = x − η(k x + ξ) with Var ξ = f σ²/B:
    η f σ² / (B (2k − η k²)). ``noise_var`` is the per-sample σ², ``replacement_factor`` f
    ((N − B)/(N − 1) without replacement, 1 with). Needs 0 < ηk < 2."""
    if not 0 < lr * k < 2:
        raise ValueError(f"sgd_stationary_variance: need 0 < ηk < 2 for a stationary law, got ηk = {lr * k}")
    return lr * replacement_factor * noise_var / (batch_size * (2 * k - lr * k * k))


def replacement_factor(n_samples: int, batch_size: int, with_replacement: bool) -> float:
    """f = (N − B)/(N − 1) without replacement, 1 with (and 1 for N = 1)."""
    if with_replacement or n_samples == 1:
        return 1.0
    return (n_samples - batch_size) / (n_samples - 1)


@dataclass
class GradientNoise:
    """Minibatch gradient noise at one point (conventions in the module docstring).

    ``trace``: tr Σ (per-sample covariance); ``batch_trace``: tr C_B = f tr Σ / B;
    ``top_eigenvalues``: largest eigenvalues of Σ, descending; ``kT_eff``: η tr C_B / (2d);
    ``kT_top``: η f λ_max / (2B); ``anisotropy``: λ_max d / tr Σ; ``gradient_norm2``: |∇E|²;
    ``n_used``: samples the estimate used (N unless subsampled).
    """

    lr: float
    batch_size: int
    n_samples: int
    n_used: int
    dim: int
    with_replacement: bool
    replacement_factor: float
    trace: float
    batch_trace: float
    top_eigenvalues: np.ndarray
    kT_eff: float
    kT_top: float
    anisotropy: float
    gradient_norm2: float

    def text(self) -> str:
        return (f"η={self.lr:g}, B={self.batch_size}, N={self.n_samples}: tr Σ = {self.trace:.4g}, "
                f"kT_eff = {self.kT_eff:.4g} per dof (top direction {self.kT_top:.4g}, anisotropy "
                f"{self.anisotropy:.3g}), |∇E|² = {self.gradient_norm2:.4g}")


def _network(landscape: Any, caller: str) -> Any:
    net = unwrap(landscape)
    if _own_method(landscape, "on_batch") is None or not hasattr(net, "functional_loss"):
        raise NotSupportedError(
            f"{landscape.name}: {caller} needs a network landscape (per-sample losses and on_batch); a "
            "wrapper that changes the loss (e.g. L2Regularized) does not pass its change on to the samples"
        )
    if getattr(net, "mode", "eval") == "train" and any(
            "BatchNorm" in type(m).__name__ for m in net.model.modules()):
        raise NotSupportedError(f"{landscape.name}: {caller}: BatchNorm in train mode couples the samples of "
                                "a batch, so per-sample gradients are undefined; use mode='eval'")
    return net


def per_sample_gradients(landscape: Any, x: Array, indices: Any = None,
                         chunk_size: int | None = 256) -> Array:
    """Gradients of each sample's loss at ``x``, shape ``(m, dim)`` on the model's device:
    ``vmap`` over samples of ``grad`` of the loss on a batch of one (``indices``: which samples,
    default all; ``chunk_size`` samples per vectorised pass)."""
    import torch
    from torch.func import grad, vmap

    net = _network(landscape, "per_sample_gradients")
    x = net.native_point(x)
    inputs, targets = net.inputs, net.targets
    if indices is not None:
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.int64, device=inputs.device)
        inputs, targets = inputs[idx], targets[idx]

    def one(p: Any, a: Any, b: Any) -> Any:
        return net.functional_loss(p, a.unsqueeze(0), b.unsqueeze(0))

    return vmap(grad(one), in_dims=(None, 0, 0), chunk_size=chunk_size)(x, inputs, targets)


def gradient_noise(landscape: Any, x: Array, *, lr: float, batch_size: int, with_replacement: bool = False,
                   top_k: int = 5, n_samples: int | None = None, rng: np.random.Generator | int | None = None,
                   chunk_size: int | None = 256) -> GradientNoise:
    """Measure the minibatch gradient-noise covariance at ``x`` (shape ``(dim,)``) of a network landscape.

    ``n_samples``: estimate Σ from this many samples drawn without replacement by ``rng`` (default:
    all N, exact); the subsample estimate is (N − 1)/N times the sample covariance (1/(m − 1)),
    unbiased for Σ and equal to it when m = N. ``top_k`` eigenvalues come from the singular
    values of the centred gradient matrix (randomised, ``torch.svd_lowrank``, when min(m, d) > 4096).
    """
    import torch

    net = _network(landscape, "gradient_noise")
    N = int(net.n_samples)
    B = int(batch_size)
    if not 1 <= B <= N:
        raise ValueError(f"{landscape.name}: batch_size must lie in [1, {N}], got {batch_size}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"gradient_noise: lr must be positive and finite, got {lr}")
    idx = None
    m = N
    if n_samples is not None and int(n_samples) < N:
        m = int(n_samples)
        if m < 2:
            raise ValueError(f"gradient_noise: n_samples must be >= 2, got {n_samples}")
        idx = W.as_generator(rng).choice(N, size=m, replace=False)
    G = per_sample_gradients(landscape, x, idx, chunk_size).to(torch.float64)
    mean = G.mean(0)
    if idx is None:
        full_grad = mean
        Gc = (G - mean) / math.sqrt(N)
    else:
        _, full_grad = net.energy_gradient(x)
        full_grad = full_grad.to(torch.float64)
        Gc = (G - mean) * math.sqrt((N - 1) / (N * (m - 1)))
    trace = float((Gc * Gc).sum())
    k = min(int(top_k), *Gc.shape)
    if min(Gc.shape) <= 4096:
        sv = torch.linalg.svdvals(Gc)[:k]
    else:
        sv = torch.svd_lowrank(Gc, q=min(k + 10, *Gc.shape))[1][:k]
    top = (sv * sv).cpu().numpy()
    d = int(net.dim)
    f = replacement_factor(N, B, with_replacement)
    lam = float(top[0]) if top.size else 0.0
    return GradientNoise(
        lr=float(lr), batch_size=B, n_samples=N, n_used=m, dim=d, with_replacement=bool(with_replacement),
        replacement_factor=f, trace=trace, batch_trace=f * trace / B, top_eigenvalues=top,
        kT_eff=lr * f * trace / (2 * B * d), kT_top=lr * f * lam / (2 * B),
        anisotropy=lam * d / trace if trace > 0 else float("nan"),
        gradient_norm2=float((full_grad * full_grad).sum()))


@dataclass
class SGDThermostatResult(Result):
    """What :func:`sgd_thermostat` produced.

    ``x``: final parameters (native); ``batch_losses``: the minibatch loss of every step
    ``(n_steps,)``; ``steps`` / ``losses``: full-batch loss at the recorded steps;
    ``noise_steps`` / ``noise``: :class:`GradientNoise` at the measured steps, ``kT_eff`` their
    effective temperatures ``(k,)``; ``trajectory``: host parameters at the recorded steps
    ``(m, dim)`` if asked; ``quenches``: ``(step, 0, minimum_id, is_new, energy)``.
    """

    x: Array = None
    lr: float = 0.0
    batch_size: int = 0
    n_steps: int = 0
    batch_losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trajectory: np.ndarray | None = None
    noise_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    noise: list[GradientNoise] = field(default_factory=list)
    kT_eff: np.ndarray = field(default_factory=lambda: np.zeros(0))
    quenches: list[tuple] = field(default_factory=list)
    sink: Any = None
    resumed_from: int | None = None


def sgd_thermostat(
    landscape: Any,
    x0: Array,
    *,
    lr: float,
    batch_size: int,
    n_steps: int,
    rng: np.random.Generator | int | None = None,
    record_every: int = 100,
    record_positions: bool = False,
    measure_every: int | None = None,
    noise_options: dict | None = None,
    quench_every: int | None = None,
    sink: Any = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    minimize_options: dict | None = None,
    quiet: bool = True,
) -> SGDThermostatResult:
    """Plain minibatch SGD, x ← x − η ∇E_batch(x), on a network landscape, read as a thermostat.

    Batches of ``batch_size`` are drawn without replacement by ``rng`` through ``on_batch``
    (fresh and independent at every step). Every ``measure_every`` steps (and at step 0) the
    gradient noise is measured with :func:`gradient_noise` (``noise_options`` go there; a
    ``seed`` there seeds its subsamples together with the step) and its kT_eff recorded; every
    ``record_every`` steps the full-batch loss (and, with ``record_positions``, the parameters
    on the host). Quenches, sink and checkpoints work as in the other samplers of this package
    (bit-for-bit resume). Parameters stay on the model's device.
    """
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"sgd_thermostat: lr must be positive and finite, got {lr}")
    n_steps, record_every = int(n_steps), int(record_every)
    if n_steps < 0 or record_every < 1:
        raise ValueError(f"sgd_thermostat: need n_steps >= 0 and record_every >= 1, got {n_steps}, "
                         f"{record_every}")
    net = _network(landscape, "sgd_thermostat")
    on_batch = _own_method(landscape, "on_batch")
    lc = checked(landscape, caller="sgd_thermostat")
    start_counts = lc.counts.copy()
    rng = W.as_generator(rng)
    x = native_point(net, x0).clone()
    if tuple(x.shape) != (lc.dim,):
        raise ValueError(f"{lc.name}: sgd_thermostat needs x0 of shape ({lc.dim},), got {tuple(x.shape)}")
    if sink is None and (quench_every is not None or checkpoint_every is not None):
        sink = InMemoryMinima(landscape)
    noise_options = dict(noise_options or {})
    if "rng" in noise_options:
        raise ValueError("sgd_thermostat: noise_options take a 'seed' (subsample draws are seeded by "
                         "(seed, step) so that a resumed run measures the same noise), not an 'rng'")
    config = {"landscape": lc.name, "dim": int(lc.dim), "lr": float(lr), "batch_size": int(batch_size),
              "n_steps": n_steps, "record_every": record_every, "record_positions": bool(record_positions),
              "measure_every": measure_every, "noise_options": repr(sorted(noise_options.items())),
              "quench_every": quench_every, "checkpoint_every": checkpoint_every}
    st: dict[str, Any] = {"batch_losses": [], "steps": [], "losses": [], "positions": [], "noise_steps": [],
                          "noise": [], "quenches": []}
    step, resumed_from = 0, None
    saved = W.load_state(sink, "sgd_thermostat", config, resume)
    if saved is not None:
        x = as_like(saved["x"], x)
        rng.bit_generator.state = saved["rng"]
        st = {k: list(v) for k, v in saved["records"].items()}
        step = resumed_from = int(saved["step"])

    def observe() -> None:
        if step % record_every == 0 or step == n_steps:
            st["steps"].append(step)
            st["losses"].append(lc.energy(x))
            if record_positions:
                st["positions"].append(W.host(x))
        if measure_every is not None and (step % int(measure_every) == 0 or step == n_steps):
            opts = dict(noise_options)
            # subsamples come from a generator seeded by (seed, step), so the SGD stream is untouched
            opts["rng"] = np.random.default_rng([int(opts.pop("seed", 0)), step])
            st["noise_steps"].append(step)
            st["noise"].append(gradient_noise(lc, x, lr=lr, batch_size=batch_size, **opts))

    if step == 0 and not st["steps"]:
        observe()
    for _ in progress(range(step, n_steps), quiet, desc="sgd thermostat", total=n_steps, initial=step):
        e, g = checked(on_batch(rng, batch_size), caller="sgd_thermostat").energy_gradient(x)
        lc.counts.gradient += 1
        st["batch_losses"].append(float(e))
        x = x - lr * g
        step += 1
        observe()
        if quench_every is not None and (step % quench_every == 0 or step == n_steps):
            found, _ = W.quench_into(sink, lc, x[None, :], "sgd_thermostat", minimize_options)
            st["quenches"].extend((step, 0, mid, new, en) for mid, new, en in found)
        if checkpoint_every is not None and (step % checkpoint_every == 0 or step == n_steps):
            sink.save_checkpoint({"search": "sgd_thermostat", "config": config, "step": step, "x": W.host(x),
                                  "rng": rng.bit_generator.state, "records": st})
    noise = list(st["noise"])
    return SGDThermostatResult(
        converged=bool(np.all(np.isfinite(st["batch_losses"]))),
        message=f"{n_steps} SGD steps at η={lr:g}, B={batch_size}"
                + (f"; kT_eff at the end {noise[-1].kT_eff:.4g}" if noise else ""),
        counts=lc.counts - start_counts, x=x, lr=float(lr), batch_size=int(batch_size), n_steps=n_steps,
        batch_losses=np.asarray(st["batch_losses"], dtype=float), steps=np.asarray(st["steps"], dtype=int),
        losses=np.asarray(st["losses"], dtype=float),
        trajectory=np.stack(st["positions"]) if record_positions and st["positions"] else None,
        noise_steps=np.asarray(st["noise_steps"], dtype=int), noise=noise,
        kT_eff=np.asarray([n.kT_eff for n in noise], dtype=float), quenches=list(st["quenches"]),
        sink=sink, resumed_from=resumed_from)


@dataclass
class SGDLangevinComparison:
    """SGD with additive gradient noise vs overdamped Langevin at the matching temperature.

    ``kT_eff``: η tr(C_B) / (2d); ``sgd``, ``langevin``: final walker positions ``(n, dim)``
    of each; ``sgd_mean``/``sgd_var`` and ``langevin_mean``/``langevin_var``: per coordinate
    ``(dim,)``; ``noise_cov``: C_B ``(dim, dim)``; ``langevin_result``: the Langevin run.
    """

    lr: float
    batch_size: int
    kT_eff: float
    noise_cov: np.ndarray
    sgd: np.ndarray
    langevin: np.ndarray
    sgd_mean: np.ndarray
    sgd_var: np.ndarray
    langevin_mean: np.ndarray
    langevin_var: np.ndarray
    langevin_result: LangevinResult | None = None


def compare_sgd_langevin(
    landscape: Any,
    x0: Array,
    *,
    lr: float,
    batch_size: int,
    n_steps: int,
    noise_std: float | None = None,
    offsets: Any = None,
    n_walkers: int = 1000,
    langevin_method: str = "overdamped",
    rng: np.random.Generator | int | None = None,
) -> SGDLangevinComparison:
    """Run SGD with additive noise of known covariance on a NumPy landscape (e.g. an analytic
    1-D/2-D one) and overdamped Langevin at the matching kT_eff, ``n_walkers`` of each from ``x0``.

    Per-sample gradient g_i(x) = ∇E(x) + c_i. Either ``noise_std`` σ: c_i ~ N(0, σ² I) drawn
    afresh (batches "with replacement", C_B = σ² I / B); or ``offsets``: a fixed population
    ``(N, dim)`` of c_i (centred here), batches of B drawn without replacement, C_B = f Σ / B
    with Σ their population covariance and f = (N − B)/(N − 1) — real minibatch noise, not
    Gaussian. Langevin uses τ = η (unit friction) and kT_eff = η tr(C_B)/(2d), so on a quadratic
    both have the stationary variance η C_B/(2k − ηk²) per direction when C_B is isotropic,
    and any difference shows what the Gaussian, isotropic picture misses.
    """
    if (noise_std is None) == (offsets is None):
        raise ValueError("compare_sgd_langevin: give exactly one of noise_std and offsets")
    if not (math.isfinite(lr) and lr > 0) or int(batch_size) < 1 or int(n_walkers) < 1:
        raise ValueError(f"compare_sgd_langevin: need lr > 0, batch_size >= 1, n_walkers >= 1, got "
                         f"{lr}, {batch_size}, {n_walkers}")
    rng = W.as_generator(rng)
    lc = checked(landscape, caller="compare_sgd_langevin")
    d, B = int(lc.dim), int(batch_size)
    x0 = np.asarray(x0, dtype=np.float64)
    X = np.tile(x0.reshape(1, d), (int(n_walkers), 1)) if x0.ndim == 1 else x0.copy()
    if offsets is None:
        cov = (float(noise_std) ** 2 / B) * np.eye(d)
        c = None
    else:
        c = np.asarray(offsets, dtype=np.float64).reshape(-1, d)
        N = c.shape[0]
        if not 1 <= B <= N:
            raise ValueError(f"compare_sgd_langevin: batch_size must lie in [1, {N}] (rows of offsets)")
        c = c - c.mean(0)
        cov = replacement_factor(N, B, False) * (c.T @ c / N) / B
    kT = lr * float(np.trace(cov)) / (2 * d)
    Y = X.copy()
    n = Y.shape[0]
    for _ in range(int(n_steps)):
        _, G = W.energy_gradients(lc, Y)
        if c is None:
            xi = (float(noise_std) / math.sqrt(B)) * rng.standard_normal((n, d))
        else:
            idx = np.argsort(rng.random((n, c.shape[0])), axis=1)[:, :B]  # B distinct per walker
            xi = c[idx].mean(axis=1)
        Y = Y - lr * (G + xi)
    lres = langevin(landscape, X, kT=kT, dt=lr, friction=1.0, n_steps=int(n_steps), method=langevin_method,
                    rng=rng, record_every=max(1, int(n_steps)), record_positions=False)
    Z = lres.x
    return SGDLangevinComparison(
        lr=float(lr), batch_size=B, kT_eff=kT, noise_cov=cov, sgd=Y, langevin=Z,
        sgd_mean=Y.mean(0), sgd_var=Y.var(0), langevin_mean=Z.mean(0), langevin_var=Z.var(0),
        langevin_result=lres)
