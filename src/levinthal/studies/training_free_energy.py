"""Annealing, replicas and free energies in training.

Three measurements on a small L2-regularised MLP (so that minima are isolated and Hessians at
them positive definite), each against an independent reference:

1. **Search.** Simulated annealing (Kirkpatrick, Gelatt & Vecchi 1983) and replica exchange
   (Swendsen & Wang 1986; Geyer 1991) with Metropolis moves against minibatch SGD from the
   same initialisations; every run's end point is quenched (L-BFGS) and we compare the loss of
   the minimum reached, its test accuracy and the evaluations spent. Several seeds.
2. **Local entropy as a basin free energy.** Chaudhari et al. 2017 ("Entropy-SGD: biasing
   gradient descent into wide valleys", ICLR) define the local entropy of x as
   log ∫ exp(−f(x') − γ/2 |x − x'|²) dx'. At a temperature kT we compute the local free energy

       F_γ(x₀) = −kT ln ∫ exp(−[E(x') + γ/2 |x' − x₀|²]/kT) dx'

   by sampling only: a Gaussian reference at a stiff γ_max (Zwanzig 1954 free-energy
   perturbation from u ~ N(0, kT/γ_max)), then thermodynamic integration (Kirkwood 1935) down a
   geometric γ ladder with dF/dγ = ½⟨|x' − x₀|²⟩_γ, sampled by Metropolis-adjusted Langevin
   (:func:`levinthal.explore.langevin`, ``method="mala"``). We integrate the excess over the
   flat reference F_G(γ) = E(x₀) − (d/2) kT ln(2πkT/γ) so the integrand decays at large γ.
   For a quadratic basin E = E₀ + ½ uᵀHu the integral is Gaussian and exactly

       F_γ = E₀ − (d/2) kT ln(2πkT) + ½ kT Σᵢ ln(λᵢ + γ),

   the *harmonic* (Hessian) estimate compared with the sampled one, and with flatness
   measures (tr H, λ_max, log det(H + γ)) across minima.
3. **Free-energy perturbation between two loss landscapes** (Zwanzig 1954): two regularisation
   strengths λ_A < λ_B of the same network, both anchored at A's minimum x_A with the same γ
   (so both free energies are local and sampling mixes in ~1/γ time even along directions the
   loss leaves flat). ΔF = F_B − F_A = −kT ln⟨exp(−(E_B − E_A)/kT)⟩_A (forward) and
   +kT ln⟨exp((E_B − E_A)/kT)⟩_B (reverse), against the quadratic expansion of both landscapes
   at x_A: F = E₀ − ½ gᵀ(H + γ)⁻¹g − (d/2) kT ln(2πkT) + ½ kT ln det(H + γ).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.studies.base import Measurement, StudyResult, mean_interval

NAME = "training_free_energy"
TITLE = "Annealing, replicas and free energies in training: local entropy, FEP, SA/RE vs SGD"

__all__ = [
    "NAME",
    "TITLE",
    "Anchored",
    "Config",
    "Quadratic",
    "fep",
    "harmonic_anchored_free_energy",
    "harmonic_local_free_energy",
    "local_free_energy",
    "run",
]


def _host(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy().astype(float)
    return np.asarray(a, dtype=float)


class Quadratic:
    """E(x) = E₀ + ½ (x − c)ᵀ H (x − c), NumPy, any dim: the exactly solvable basin."""

    symmetry = None

    def __init__(self, hessian: Any, centre: Any = None, offset: float = 0.0):
        self.H = np.atleast_2d(np.asarray(hessian, dtype=float))
        self.dim = self.H.shape[0]
        self.c = np.zeros(self.dim) if centre is None else np.asarray(centre, dtype=float)
        self.e0 = float(offset)
        self.name = f"quadratic(d={self.dim})"

    def energies(self, X: Any) -> np.ndarray:
        U = np.asarray(X, dtype=float).reshape(-1, self.dim) - self.c
        return self.e0 + 0.5 * np.einsum("ni,ij,nj->n", U, self.H, U)

    def energy_gradients(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        U = np.asarray(X, dtype=float).reshape(-1, self.dim) - self.c
        return self.e0 + 0.5 * np.einsum("ni,ij,nj->n", U, self.H, U), U @ self.H

    def energy(self, x: Any) -> float:
        return float(self.energies(x)[0])

    def energy_gradient(self, x: Any) -> tuple[float, np.ndarray]:
        e, g = self.energy_gradients(x)
        return float(e[0]), g[0]

    def hessian(self, x: Any) -> np.ndarray:
        return self.H.copy()

    def hvp(self, x: Any, v: Any) -> np.ndarray:
        return self.H @ np.asarray(v, dtype=float)


class Anchored:
    """E(x') + γ/2 |x' − x₀|²: Chaudhari et al.'s coupled landscape around ``x0`` (native type of
    the inner landscape: NumPy or torch; batched methods when the inner one has them)."""

    symmetry = None

    def __init__(self, inner: Any, x0: Any, gamma: float):
        if not gamma > 0:
            raise ValueError(f"Anchored({inner.name}): γ must be > 0, got {gamma}")
        self.inner, self.x0, self.gamma = inner, x0, float(gamma)
        self.dim = int(inner.dim)
        self.name = f"{inner.name}+anchor(γ={gamma:g})"

    def native_point(self, x: Any) -> Any:
        """The inner landscape's native array type (torch for networks), else NumPy."""
        conv = getattr(self.inner, "native_point", None)
        return conv(x) if conv is not None else np.asarray(x, dtype=float)

    def energy(self, x: Any) -> float:
        u = x - self.x0
        return float(self.inner.energy(x)) + 0.5 * self.gamma * float((u * u).sum())

    def energy_gradient(self, x: Any) -> tuple[float, Any]:
        e, g = self.inner.energy_gradient(x)
        u = x - self.x0
        return float(e) + 0.5 * self.gamma * float((u * u).sum()), g + self.gamma * u

    def hvp(self, x: Any, v: Any) -> Any:
        return self.inner.hvp(x, v) + self.gamma * v

    def energies(self, X: Any) -> Any:
        U = X - self.x0
        return self.inner.energies(X) + 0.5 * self.gamma * (U * U).sum(1)

    def energy_gradients(self, X: Any) -> tuple[Any, Any]:
        E, G = self.inner.energy_gradients(X)
        U = X - self.x0
        return E + 0.5 * self.gamma * (U * U).sum(1), G + self.gamma * U


def harmonic_local_free_energy(energy0: float, eigenvalues: Any, gamma: float, kT: float) -> float:
    """F_γ = E₀ − (d/2) kT ln(2πkT) + ½ kT Σ ln(λᵢ + γ): the exact local free energy of a quadratic
    basin with Hessian eigenvalues λᵢ (needs λᵢ + γ > 0)."""
    lam = np.asarray(eigenvalues, dtype=float)
    if np.any(lam + gamma <= 0):
        raise ValueError(
            f"harmonic_local_free_energy: λ + γ must be > 0, min is {float((lam + gamma).min())}"
        )
    d = lam.size
    return float(energy0 - 0.5 * d * kT * math.log(2 * math.pi * kT) + 0.5 * kT * np.log(lam + gamma).sum())


def harmonic_anchored_free_energy(
    energy0: float, gradient: Any, hessian: Any, gamma: float, kT: float
) -> float:
    """−kT ln ∫ exp(−[E₀ + gᵀu + ½ uᵀHu + γ/2 |u|²]/kT) du
    = E₀ − ½ gᵀ(H + γ)⁻¹g − (d/2) kT ln(2πkT) + ½ kT ln det(H + γ): the exact anchored free energy
    of a quadratic landscape with gradient g and Hessian H at the anchor (needs H + γ > 0)."""
    A = np.asarray(hessian, dtype=float) + gamma * np.eye(len(gradient))
    sign, logdet = np.linalg.slogdet(A)
    if sign <= 0:
        raise ValueError("harmonic_anchored_free_energy: H + γ is not positive definite")
    g = np.asarray(gradient, dtype=float)
    d = g.size
    return float(
        energy0
        - 0.5 * g @ np.linalg.solve(A, g)
        - 0.5 * d * kT * math.log(2 * math.pi * kT)
        + 0.5 * kT * logdet
    )


def _logmeanexp(a: np.ndarray) -> float:
    m = float(a.max())
    return m + math.log(float(np.mean(np.exp(a - m))))


def fep(delta_e: Any, kT: float) -> Measurement:
    """Zwanzig's ΔF = −kT ln⟨exp(−ΔE/kT)⟩ from samples of ΔE = E_B − E_A drawn in A.

    ``delta_e``: shape ``(m,)`` of independent samples (delta-method standard error), or
    ``(n_blocks, m)`` of correlated samples in blocks (e.g. one block per walker and half-run):
    the standard error is then that of the block estimates (batch means), which accounts for
    the correlation within a block."""
    de = np.asarray(delta_e, dtype=float)
    val = -kT * _logmeanexp(-de.ravel() / kT)
    if de.ndim == 2 and de.shape[0] > 1:
        blocks = np.array([-kT * _logmeanexp(-row / kT) for row in de])
        se = float(blocks.std(ddof=1) / math.sqrt(blocks.size))
        note = f"{de.size} samples in {de.shape[0]} blocks (batch-means error)"
    else:
        w = -de.ravel() / kT
        ww = np.exp(w - w.max())
        se = kT * float(ww.std(ddof=1) / math.sqrt(ww.size) / ww.mean()) if ww.size > 1 else math.nan
        note = f"{de.size} samples"
    return Measurement(val, val - 1.96 * se, val + 1.96 * se, stderr=se, note=note)


def _as_rows(like: Any, X: np.ndarray) -> Any:
    """Host array ``X`` → the native type of ``like`` (a torch tensor's dtype/device, or NumPy)."""
    if hasattr(like, "detach"):
        import torch

        return torch.as_tensor(X, dtype=like.dtype, device=like.device)
    return np.asarray(X, dtype=float)


def local_free_energy(
    landscape: Any,
    x0: Any,
    *,
    gamma: float,
    kT: float,
    gamma_max: float,
    n_gamma: int,
    n_steps: int,
    n_walkers: int,
    dt_scale: float,
    curvature_max: float,
    n_reference: int,
    rng: np.random.Generator,
    burn_in: float = 0.25,
) -> dict[str, Any]:
    """Sampled local free energy F_γ(x₀) (module docstring): Zwanzig from the Gaussian at
    ``gamma_max`` (``n_reference`` samples), then TI over ``n_gamma`` geometric γ down to ``gamma``
    with MALA (``n_walkers`` walkers, ``n_steps`` steps per γ, step τ = dt_scale/(curvature_max + γ),
    the first ``burn_in`` fraction discarded). Returns value, stderr, per-γ ⟨|u|²⟩, acceptance."""
    from levinthal.explore import langevin

    x0h = _host(x0)
    d = x0h.size
    e0 = float(landscape.energy(x0))
    # Zwanzig at γ_max from N(0, kT/γ_max)
    U = rng.standard_normal((n_reference, d)) * math.sqrt(kT / gamma_max)
    E = _host(landscape.energies(_as_rows(x0, x0h + U)))
    zw = fep(E - e0, kT)  # excess of F(γ_max) over the flat reference F_G(γ_max)
    gammas = np.geomspace(gamma_max, gamma, n_gamma)
    X = _as_rows(x0, x0h + U[:n_walkers] if n_reference >= n_walkers else np.tile(x0h, (n_walkers, 1)))
    msd = np.zeros((n_gamma, n_walkers))
    acc = np.zeros(n_gamma)
    for k, g in enumerate(gammas):
        A = Anchored(landscape, _as_rows(x0, x0h[None])[0], g)
        r = langevin(
            A,
            X,
            kT=kT,
            dt=dt_scale / (curvature_max + g),
            n_steps=n_steps,
            method="mala",
            rng=rng,
            record_every=max(1, n_steps // 40),
            record_positions=True,
        )
        traj = r.trajectory[int(burn_in * r.trajectory.shape[0]) :]  # (m, n, d)
        msd[k] = ((traj - x0h) ** 2).sum(-1).mean(0)
        acc[k] = float(np.mean(r.acceptance))
        X = r.x
    # excess integrand in ln γ: γ [½⟨|u|²⟩ − d kT/(2γ)], integrated from γ_max down to γ
    lg = np.log(gammas)
    integrand = gammas[:, None] * (0.5 * msd - 0.5 * d * kT / gammas[:, None])  # (n_gamma, walkers)
    per_walker = np.trapezoid(integrand, lg, axis=0)  # = −∫_γ^{γmax} (lg decreases)
    ti = float(per_walker.mean())
    ti_se = float(per_walker.std(ddof=1) / math.sqrt(n_walkers)) if n_walkers > 1 else math.nan
    flat = e0 - 0.5 * d * kT * math.log(2 * math.pi * kT / gamma)
    value = flat + zw.value + ti
    return {
        "value": value,
        "stderr": math.hypot(zw.stderr or 0.0, ti_se),
        "zwanzig": zw.value,
        "ti": ti,
        "gammas": gammas,
        "msd": msd.mean(1),
        "acceptance": acc,
        "energy0": e0,
    }


@dataclass
class Config:
    hidden: int = 8
    n_samples: int = 200
    weight_decay: float = 1e-3  # λ_A of the L2 penalty
    weight_decay_b: float = 3e-3  # λ_B for the FEP between landscapes
    n_seeds: int = 3
    sgd_lr: float = 0.1
    sgd_batch: int = 16
    sgd_steps: int = 1500
    sa_steps: int = 3000
    sa_t_start: float = 0.05
    sa_t_end: float = 1e-4
    re_sweeps: int = 750
    re_replicas: int = 4
    step_size: float = 0.02
    kT: float = 0.005  # sampling temperature for F_γ and FEP
    gamma: float = 0.1  # Chaudhari coupling
    n_gamma: int = 10
    gamma_max_factor: float = 50.0  # γ_max = factor × (λ_max + γ)
    le_steps: int = 300
    le_walkers: int = 4
    n_reference: int = 200
    dt_scale: float = 0.5
    fep_steps: int = 1000
    fep_walkers: int = 4
    max_minima: int = 4
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(
            hidden=4,
            n_samples=90,
            n_seeds=2,
            sgd_steps=300,
            sa_steps=400,
            re_sweeps=100,
            n_gamma=6,
            le_steps=120,
            le_walkers=2,
            n_reference=64,
            fep_steps=300,
            max_minima=2,
        )

    @classmethod
    def full(cls) -> Config:
        return cls()


def _network(cfg: Config) -> Any:
    import torch

    from levinthal.systems.networks import NetworkLandscape
    from levinthal.systems.networks.data import synthetic
    from levinthal.systems.networks.models import mlp

    data = synthetic(
        "spirals",
        seed=2000 + cfg.seed,
        n_samples=cfg.n_samples,
        n_classes=2,
        n_features=2,
        noise=1.0,
        test_fraction=0.25,
    )
    with torch.random.fork_rng(devices=[]):
        model = mlp([2, cfg.hidden, 2], "tanh").to(torch.float64)
    return NetworkLandscape(
        model,
        data.train_inputs,
        data.train_targets,
        "cross_entropy",
        name=f"mlp-blobs(h={cfg.hidden})",
        test_data=(data.test_inputs, data.test_targets),
    )


def _start(net: Any, seed: int) -> Any:
    import copy

    import torch

    from levinthal.systems.networks.models import reset_parameters

    m = reset_parameters(copy.deepcopy(net.model), seed)
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()]).clone()


def _search(cfg: Config, L: Any, net: Any, seed: int) -> dict[str, dict[str, Any]]:
    """SGD, SA and RE from the initialisation of ``seed``; each end point quenched by L-BFGS."""
    from levinthal.explore import anneal, replica_exchange
    from levinthal.minimize import minimize

    x0 = _start(net, seed)
    rng = np.random.default_rng([cfg.seed, seed])
    out: dict[str, dict[str, Any]] = {}
    # plain minibatch SGD on loss + ½λ|x|²: L2Regularized.on_batch keeps the penalty on every batch
    x = x0.clone()
    for _ in range(cfg.sgd_steps):
        _, grad = L.on_batch(rng, cfg.sgd_batch).energy_gradient(x)
        x = x - cfg.sgd_lr * grad
    out["SGD"] = {"x": x, "evals": f"{cfg.sgd_steps} minibatch gradients (B={cfg.sgd_batch})"}
    a = anneal(
        L,
        x0,
        n_steps=cfg.sa_steps,
        t_start=cfg.sa_t_start,
        t_end=cfg.sa_t_end,
        step_size=cfg.step_size,
        rng=rng,
        record_every=cfg.sa_steps,
    )
    out["SA"] = {"x": a.x, "evals": f"{cfg.sa_steps} full-batch energies"}
    re = replica_exchange(
        L,
        x0,
        n_sweeps=cfg.re_sweeps,
        t_min=cfg.sa_t_end,
        t_max=cfg.sa_t_start,
        n_replicas=cfg.re_replicas,
        step_size=cfg.step_size,
        adapt_sweeps=cfg.re_sweeps // 4,
        rng=rng,
        record_every=cfg.re_sweeps,
    )
    out["RE"] = {"x": re.x[0], "evals": f"{cfg.re_sweeps * cfg.re_replicas} full-batch energies"}
    for v in out.values():
        v["loss_end"] = float(L.energy(v["x"]))
        q = minimize(L, v["x"])
        v["minimum"], v["loss_min"], v["quench_converged"] = q.x, float(q.energy), bool(q.converged)
        v["test_acc"] = float(net.test_accuracy(q.x))
    return out


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    from levinthal.curvature import dense_hessian
    from levinthal.explore import langevin
    from levinthal.systems.regularized import L2Regularized

    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    rng = np.random.default_rng(cfg.seed)
    net = _network(cfg)
    L = L2Regularized(net, cfg.weight_decay)
    d = net.dim

    # --- 1. SA and RE against SGD ---
    runs = [_search(cfg, L, net, s) for s in range(cfg.n_seeds)]
    res.data["runs"] = [
        {m: {"loss_end": r[m]["loss_end"], "loss_min": r[m]["loss_min"]} for m in r} for r in runs
    ]
    rows = []
    for method in ("SGD", "SA", "RE"):
        lm = mean_interval([r[method]["loss_min"] for r in runs])
        le = mean_interval([r[method]["loss_end"] for r in runs])
        ta = mean_interval([r[method]["test_acc"] for r in runs])
        res.numbers[f"{method}: loss of the quenched minimum"] = lm
        res.numbers[f"{method}: test accuracy"] = ta
        rows.append(
            [
                method,
                runs[0][method]["evals"],
                le.text(4),
                lm.text(4),
                ta.text(3),
                sum(r[method]["quench_converged"] for r in runs),
            ]
        )
    res.tables["Search from the same initialisations (mean [95% CI] over seeds)"] = (
        [
            "method",
            "budget per run",
            "loss at the end of the run",
            "loss of the quenched minimum",
            "test accuracy",
            "quenches converged",
        ],
        rows,
    )

    # --- 2. local free energy of each distinct minimum: sampled vs harmonic vs flatness ---
    minima: list[tuple[str, Any, float]] = []
    for s, r in enumerate(runs):
        for method in ("SGD", "SA", "RE"):
            if r[method]["quench_converged"]:
                minima.append((f"{method} seed {s}", r[method]["minimum"], r[method]["loss_min"]))
    distinct: list[tuple[str, Any, float]] = []
    for lab, x, e in minima:
        if len(distinct) >= cfg.max_minima:
            break
        # equal loss to 1e-4 (the quench tolerance): the same minimum up to the tanh network's
        # permutation/sign symmetry
        if all(abs(e - e2) > 1e-4 for _, _, e2 in distinct):
            distinct.append((lab, x, e))
    le_rows, sampled, harmonic, diffs = [], [], [], []
    flat_tr, flat_max, flat_logdet = [], [], []
    kT, g = cfg.kT, cfg.gamma
    for lab, x, e in distinct:
        H = dense_hessian(L, x)
        lam = np.linalg.eigvalsh(H)
        lf = local_free_energy(
            L,
            x,
            gamma=g,
            kT=kT,
            gamma_max=cfg.gamma_max_factor * (lam.max() + g),
            n_gamma=cfg.n_gamma,
            n_steps=cfg.le_steps,
            n_walkers=cfg.le_walkers,
            dt_scale=cfg.dt_scale,
            curvature_max=float(lam.max()),
            n_reference=cfg.n_reference,
            rng=rng,
        )
        fh = harmonic_local_free_energy(e, lam, g, kT)
        sampled.append(lf["value"] - e)
        harmonic.append(fh - e)
        diffs.append(lf["value"] - fh)
        flat_tr.append(float(lam.sum()))
        flat_max.append(float(lam.max()))
        flat_logdet.append(float(np.log(lam + g).sum()))
        le_rows.append(
            [
                lab,
                f"{e:.5g}",
                f"{lam.min():.3g}",
                f"{lam.max():.3g}",
                f"{lam.sum():.4g}",
                f"{lf['value'] - e:.5g} ± {lf['stderr']:.2g}",
                f"{fh - e:.5g}",
                f"{lf['acceptance'].min():.2f}",
            ]
        )
        res.data.setdefault("local", []).append(lf)
    res.tables[f"Local free energy F_γ − E(x₀) at γ = {g:g}, kT = {kT:g} (d = {d})"] = (
        [
            "minimum",
            "loss E(x₀)",
            "λ_min",
            "λ_max",
            "tr H",
            "sampled (MALA + TI)",
            "harmonic ½kTΣln(λ+γ) − …",
            "min MALA acceptance",
        ],
        le_rows,
    )
    dm = mean_interval(diffs)
    dm.reference, dm.unit = 0.0, "loss units"
    dm.note += f"; harmonic − sampled over {len(diffs)} minima, reference 0 for a quadratic basin"
    res.numbers["sampled − harmonic local free energy"] = dm
    rel = [abs(a - b) / abs(b) for a, b in zip(sampled, harmonic, strict=True)]
    res.numbers["max |sampled − harmonic| / |harmonic F_γ − E|"] = Measurement(
        float(max(rel)),
        note="largest relative anharmonic correction over the minima; the ± of each "
        "sampled value is the walker-to-walker spread only (no TI-grid or mixing error)",
    )
    if len(sampled) >= 3:
        from scipy import stats

        rho = stats.spearmanr(sampled, flat_logdet).statistic
        rho_tr = stats.spearmanr(sampled, flat_tr).statistic
        rho_max = stats.spearmanr(sampled, flat_max).statistic
        res.numbers["Spearman ρ(sampled F_γ, log det(H+γ))"] = Measurement(
            float(rho), note=f"{len(sampled)} minima"
        )
        res.numbers["Spearman ρ(sampled F_γ, tr H)"] = Measurement(
            float(rho_tr), note=f"{len(sampled)} minima"
        )
        res.numbers["Spearman ρ(sampled F_γ, λ_max)"] = Measurement(
            float(rho_max), note=f"{len(sampled)} minima"
        )
    res.data.update(sampled=sampled, harmonic=harmonic, flat_tr=flat_tr, flat_max=flat_max)

    # --- 3. FEP between two regularisation strengths, both anchored at the same minimum ---
    LB = L2Regularized(net, cfg.weight_decay_b)
    xA = distinct[0][1]
    HA = dense_hessian(L, xA)
    HB = dense_hessian(LB, xA)
    eA, gA = L.energy_gradient(xA)
    eB, gB = LB.energy_gradient(xA)
    harm = harmonic_anchored_free_energy(float(eB), _host(gB), HB, g, kT) - harmonic_anchored_free_energy(
        float(eA), _host(gA), HA, g, kT
    )
    lam_max = float(np.linalg.eigvalsh(HB).max())

    def samples(Lx: Any) -> np.ndarray:
        X = _as_rows(xA, np.tile(_host(xA), (cfg.fep_walkers, 1)))
        r = langevin(
            Anchored(Lx, xA, g),
            X,
            kT=kT,
            dt=cfg.dt_scale / (lam_max + g),
            n_steps=cfg.fep_steps,
            method="mala",
            rng=rng,
            record_every=max(1, cfg.fep_steps // 100),
            record_positions=True,
        )
        tr = r.trajectory[r.trajectory.shape[0] // 4 :]  # (m, walkers, d) after burn-in
        half = tr.shape[0] // 2
        return np.concatenate([tr[:half].transpose(1, 0, 2), tr[half : 2 * half].transpose(1, 0, 2)])

    SA_, SB_ = samples(L), samples(LB)  # (blocks, m, d): walker × half-run

    def delta(S: np.ndarray) -> np.ndarray:
        X = _as_rows(xA, S.reshape(-1, d))
        return (_host(LB.energies(X)) - _host(L.energies(X))).reshape(S.shape[:2])

    dEA, dEB = delta(SA_), delta(SB_)
    fwd = fep(dEA, kT)
    rev = fep(-dEB, kT)
    rev = Measurement(-rev.value, -rev.high, -rev.low, stderr=rev.stderr, note=rev.note)
    fwd.reference = rev.reference = harm
    res.numbers[f"ΔF forward FEP (λ {cfg.weight_decay:g} → {cfg.weight_decay_b:g})"] = fwd
    res.numbers["ΔF reverse FEP"] = rev
    res.numbers["ΔF harmonic"] = Measurement(
        harm, note=f"quadratic expansion of both landscapes at the anchor, γ = {g:g}"
    )
    res.data.update(dEA=dEA, dEB=dEB)

    # --- verdicts ---
    best = min(("SGD", "SA", "RE"), key=lambda m: res.numbers[f"{m}: loss of the quenched minimum"].value)
    sgd_l = res.numbers["SGD: loss of the quenched minimum"]
    sa_l = res.numbers["SA: loss of the quenched minimum"]
    re_l = res.numbers["RE: loss of the quenched minimum"]
    res.add_verdict(
        "note",
        f"Lowest quenched loss on average: {best} (SGD {sgd_l.value:.4g}, SA {sa_l.value:.4g}, "
        f"RE {re_l.value:.4g}; test accuracy SGD {res.numbers['SGD: test accuracy'].value:.3f}, SA "
        f"{res.numbers['SA: test accuracy'].value:.3f}, RE {res.numbers['RE: test accuracy'].value:.3f}).",
    )
    tol = 3 * (dm.stderr or 0.0) + 1e-3 * abs(kT) * d
    res.add_verdict(
        "holds" if abs(dm.value) <= max(tol, 0.1 * kT * d) else "breaks",
        f"The sampled local free energy (Entropy-SGD's local entropy × −kT) equals the Hessian estimate "
        f"½kTΣln(λ+γ) up to {dm.value:.3g} ± {dm.stderr or math.nan:.2g} (kT·d = {kT * d:.3g}): the basin "
        f"is harmonic on the scale kT/γ = {kT / g:.3g}.",
    )
    if "Spearman ρ(sampled F_γ, log det(H+γ))" in res.numbers:
        rho = res.numbers["Spearman ρ(sampled F_γ, log det(H+γ))"].value
        res.add_verdict(
            "holds" if rho > 0.5 else "breaks",
            f"Flatness ranks minima like the sampled free energy: Spearman ρ = {rho:.2f} with log det(H+γ), "
            f"{res.numbers['Spearman ρ(sampled F_γ, tr H)'].value:.2f} with tr H, "
            f"{res.numbers['Spearman ρ(sampled F_γ, λ_max)'].value:.2f} with λ_max.",
        )
    agree = abs(fwd.value - rev.value) <= 3 * math.hypot(fwd.stderr or 0, rev.stderr or 0) + 1e-9
    res.add_verdict(
        "holds" if agree else "breaks",
        f"Zwanzig FEP between λ = {cfg.weight_decay:g} and {cfg.weight_decay_b:g}: forward "
        f"{fwd.value:.5g} ± {fwd.stderr:.2g}, reverse {rev.value:.5g} ± {rev.stderr:.2g}, harmonic "
        f"{harm:.5g}.",
    )
    res.reading = (
        f"Treating the loss as an energy at kT = {kT:g}, a trained minimum's local entropy (its basin free "
        f"energy) is sampled as well as predicted by its Hessian (difference {dm.value:.2g}), so at this "
        f"temperature 'wide valley' and 'small log det(H+γ)' are the same statement. Thermal search (SA, RE) "
        f"with Metropolis moves reaches quenched losses {sa_l.value:.3g}/{re_l.value:.3g} against SGD's "
        f"{sgd_l.value:.3g} from the same initialisations, and FEP moves between two regularised landscapes "
        f"with ΔF = {fwd.value:.4g} (harmonic {harm:.4g})."
    )
    if out is not None:
        res.figures.extend(_figures(res, cfg, Path(out)))
    res.seconds = time.perf_counter() - t0
    return res


def _figures(res: StudyResult, cfg: Config, out: Path) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    D = res.data
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for lf in D.get("local", []):
        ax[0].loglog(lf["gammas"], lf["msd"], "o-", ms=3)
    ax[0].set_xlabel("γ")
    ax[0].set_ylabel("⟨|x' − x₀|²⟩_γ (MALA)")
    ax[0].set_title("TI integrand per minimum", fontsize=9)
    ax[1].plot(D["harmonic"], D["sampled"], "o")
    lo, hi = min(D["harmonic"] + D["sampled"]), max(D["harmonic"] + D["sampled"])
    ax[1].plot([lo, hi], [lo, hi], "k--", lw=1)
    ax[1].set_xlabel("harmonic F_γ − E(x₀)")
    ax[1].set_ylabel("sampled F_γ − E(x₀)")
    ax[1].set_title(f"local free energy, γ={cfg.gamma:g}, kT={cfg.kT:g}", fontsize=9)
    fig.tight_layout()
    p = out / "local_entropy.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append(
        (
            p,
            "Local free energy (−kT × Chaudhari's local entropy) of the trained minima: the TI "
            "integrand ⟨|u|²⟩ along the γ ladder (left) and sampled vs harmonic values (right).",
        )
    )
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.hist(D["dEA"], 40, alpha=0.5, density=True, label="E_B − E_A in A")
    ax.hist(D["dEB"], 40, alpha=0.5, density=True, label="E_B − E_A in B")
    ax.set_xlabel("ΔE")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / "fep.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append((p, "Energy differences between the two regularised landscapes sampled in each basin (FEP)."))
    return figs
