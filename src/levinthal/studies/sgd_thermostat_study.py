"""SGD as a thermostat: stationary law, Kramers escape from sharp and flat minima, and where the
picture breaks (anisotropic, state-dependent minibatch noise).

**Double-well "minibatch" model.** One parameter x, N samples with per-sample losses
ℓ_i(x) = V(x) − c_i φ(x) and centred offsets c_i (Σ c_i = 0, population variance σ²), so the
mean loss is exactly V and a minibatch gradient is V'(x) − ξ_B φ'(x), ξ_B the mean of B
offsets drawn with replacement (Var ξ_B = σ²/B). V is a double well with minima of *equal
depth* and *different curvature*:

    V(x) = h (s(x)² − 1)²,   s(x) = x + κℓ ln cosh(x/ℓ),   s'(x) = 1 + κ tanh(x/ℓ) ∈ (1−κ, 1+κ),

so the minima sit where s = ±1 (V = 0 in both), V''(min) = 8h s'(min)² (flat on the left,
sharp on the right: ratio ≈ ((1+κ)/(1−κ))²) and the barrier V(0) = h has V''(0) = −4h.

* ``additive`` noise, φ(x) = x: SGD with step η is Euler–Maruyama of overdamped Langevin
  (unit friction, time t = η·steps) at kT_eff = η σ²/(2B) (Mandt, Hoffman & Blei 2017;
  Jastrzębski et al. 2017). Its stationary law should be Boltzmann exp(−V/kT_eff)/Z (up to
  O(η)), and escape from either minimum should follow overdamped Kramers (Kramers 1940;
  Hänggi, Talkner & Borkovec 1990, Rev. Mod. Phys. 62, 251):
  k = √(V''(min)|V''(top)|)/(2π) exp(−ΔV/kT), so at equal depth the sharp minimum is left
  faster by the prefactor ratio √(V''_sharp/V''_flat) only.
* ``hessian`` noise, φ = s: the gradient noise ξ_B s'(x) has variance ∝ s'² ∝ V''(min) at the
  minima, the covariance ∝ Hessian of minibatch noise near minima (Zhu, Wu, Yu, Wu & Ma 2019,
  ICML, "The anisotropic noise in SGD"; Xie, Sato & Sugiyama 2021, ICLR, "A diffusion theory
  for deep learning dynamics"). The diffusion D(x) = η σ² s'(x)²/(2B) is state-dependent: no
  single temperature exists, and escape from the sharp minimum is exponentially faster.

Independent references: the exact mean first-passage time of the 1-D Itô diffusion
dx = −V' dt + √(2D(x)) dW (Gardiner, *Handbook of Stochastic Methods*, §5.2.7),

    T(x₀ → b) = ∫_{x₀}^{b} e^{Φ(y)} ∫_{L}^{y} e^{−Φ(z)}/D(z) dz dy,   Φ' = V'/D,

(reflecting at L), and its stationary density p ∝ e^{−Φ}/D, both by quadrature.

**Small network.** An MLP on overlapping Gaussian blobs, trained by SGD: the per-sample
gradient covariance Σ (exact, ``torch.func``) against the Hessian: anisotropy λ_max(Σ)·d/tr Σ
(1 for an isotropic thermostat), |cos| between the top eigenvectors of Σ and H, the share of
tr Σ inside the top-k Hessian eigenspace, and kT_eff = η tr C_B/(2d) along the run
(:func:`levinthal.explore.sgd_thermostat.sgd_thermostat`): a thermostat whose "temperature"
changes by orders of magnitude with the state.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate, optimize

from levinthal.studies.base import Measurement, StudyResult, mean_interval

NAME = "sgd_thermostat_study"
TITLE = "SGD as a thermostat: Boltzmann, Kramers, and anisotropic state-dependent noise"

__all__ = [
    "NAME",
    "TITLE",
    "Config",
    "SkewedDoubleWell",
    "exact_mfpt",
    "kramers_rate",
    "run",
    "sgd_first_passage",
    "sgd_walkers",
    "stationary_density",
]


class SkewedDoubleWell:
    """V(x) = h (s(x)² − 1)², s(x) = x + κℓ ln cosh(x/ℓ): a 1-D double well whose two minima
    have equal depth (V = 0) and curvatures 8h s'(x_min)², barrier h at x = 0 with V''(0) = −4h.
    ``x`` has shape ``(1,)`` (protocol) or is a float array of walkers (helpers)."""

    dim = 1
    symmetry = None

    def __init__(self, height: float = 1.0, skew: float = 0.5, width: float = 0.3):
        if not (height > 0 and 0 <= skew < 1 and width > 0):
            raise ValueError(
                f"SkewedDoubleWell: need height > 0, 0 <= skew < 1, width > 0; got {height}, {skew}, {width}"
            )
        self.h, self.kappa, self.ell = float(height), float(skew), float(width)
        self.name = f"skewed-double-well(h={height:g},κ={skew:g})"

    # --- the map s and the potential, vectorised over a float array ---
    def s(self, x: np.ndarray) -> np.ndarray:
        u = np.asarray(x, dtype=float) / self.ell
        return self.ell * u + self.kappa * self.ell * (np.logaddexp(u, -u) - math.log(2.0))

    def ds(self, x: np.ndarray) -> np.ndarray:
        return 1.0 + self.kappa * np.tanh(np.asarray(x, dtype=float) / self.ell)

    def d2s(self, x: np.ndarray) -> np.ndarray:
        return self.kappa / self.ell / np.cosh(np.asarray(x, dtype=float) / self.ell) ** 2

    def V(self, x: np.ndarray) -> np.ndarray:
        s = self.s(x)
        return self.h * (s * s - 1.0) ** 2

    def dV(self, x: np.ndarray) -> np.ndarray:
        s = self.s(x)
        return 4.0 * self.h * s * (s * s - 1.0) * self.ds(x)

    def d2V(self, x: np.ndarray) -> np.ndarray:
        s, d1 = self.s(x), self.ds(x)
        return 4.0 * self.h * ((3 * s * s - 1.0) * d1 * d1 + s * (s * s - 1.0) * self.d2s(x))

    def minima(self) -> tuple[float, float]:
        """(flat, sharp) minimum positions: s(x) = −1 and s(x) = +1."""
        lo = optimize.brentq(lambda x: self.s(x) + 1.0, -10.0, 0.0, xtol=1e-14)
        hi = optimize.brentq(lambda x: self.s(x) - 1.0, 0.0, 10.0, xtol=1e-14)
        return float(lo), float(hi)

    # --- the landscape protocol (dim 1) ---
    def energy(self, x: Any) -> float:
        return float(self.V(np.asarray(x, dtype=float).reshape(1))[0])

    def energy_gradient(self, x: Any) -> tuple[float, np.ndarray]:
        x = np.asarray(x, dtype=float).reshape(1)
        return float(self.V(x)[0]), self.dV(x)

    def hessian(self, x: Any) -> np.ndarray:
        return self.d2V(np.asarray(x, dtype=float).reshape(1)).reshape(1, 1)

    def hvp(self, x: Any, v: Any) -> np.ndarray:
        return self.hessian(x) @ np.asarray(v, dtype=float).reshape(1)

    def energies(self, X: Any) -> np.ndarray:
        return self.V(np.asarray(X, dtype=float).reshape(-1))

    def energy_gradients(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(X, dtype=float).reshape(-1)
        return self.V(x), self.dV(x)[:, None]


def kramers_rate(curv_min: float, curv_top: float, barrier: float, kT: float, friction: float = 1.0) -> float:
    """Overdamped Kramers rate √(V''(min)|V''(top)|)/(2πγ) · exp(−ΔV/kT) (Kramers 1940)."""
    if not (curv_min > 0 and kT > 0 and friction > 0):
        raise ValueError(f"kramers_rate: need V''(min) > 0, kT > 0, γ > 0; got {curv_min}, {kT}, {friction}")
    return math.sqrt(curv_min * abs(curv_top)) / (2 * math.pi * friction) * math.exp(-barrier / kT)


def _grid(dw: SkewedDoubleWell, diffusion: Any, lo: float, hi: float, n: int) -> tuple[np.ndarray, ...]:
    x = np.linspace(lo, hi, n)
    D = np.asarray(diffusion(x), dtype=float) * np.ones_like(x)
    Phi = integrate.cumulative_trapezoid(dw.dV(x) / D, x, initial=0.0)
    return x, D, Phi


def exact_mfpt(
    dw: SkewedDoubleWell, diffusion: Any, x0: float, target: float, *, margin: float = 2.5, n: int = 40001
) -> float:
    """Mean first-passage time of dx = −V'(x) dt + √(2 D(x)) dW (Itô) from ``x0`` to ``target``,
    reflecting on the far side, by quadrature on ``n`` points (Gardiner §5.2.7). ``diffusion``
    maps an array of x to D(x) (a float is a constant D = kT). Time in units of η·steps."""
    if not callable(diffusion):
        kT = float(diffusion)
        diffusion = lambda x: np.full_like(x, kT)  # noqa: E731
    a, b = dw.minima()
    if target > x0:
        x, D, Phi = _grid(dw, diffusion, min(a, x0) - margin, target, n)
        Phi -= Phi.min()
        inner = integrate.cumulative_trapezoid(np.exp(-Phi) / D, x, initial=0.0)  # ∫_L^y
        i0 = int(np.searchsorted(x, x0))
        return float(integrate.trapezoid(np.exp(Phi[i0:]) * inner[i0:], x[i0:]))
    x, D, Phi = _grid(dw, diffusion, target, max(b, x0) + margin, n)
    Phi -= Phi.min()
    w = np.exp(-Phi) / D
    inner = integrate.trapezoid(w, x) - integrate.cumulative_trapezoid(w, x, initial=0.0)  # ∫_y^R
    i0 = int(np.searchsorted(x, x0))
    return float(integrate.trapezoid(np.exp(Phi[: i0 + 1]) * inner[: i0 + 1], x[: i0 + 1]))


def stationary_density(
    dw: SkewedDoubleWell, diffusion: Any, lo: float, hi: float, n: int = 20001
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised stationary density p ∝ e^{−Φ}/D of the Itô diffusion on [lo, hi] (grid, p)."""
    if not callable(diffusion):
        kT = float(diffusion)
        diffusion = lambda x: np.full_like(x, kT)  # noqa: E731
    x, D, Phi = _grid(dw, diffusion, lo, hi, n)
    p = np.exp(-(Phi - Phi.min())) / D
    return x, p / integrate.trapezoid(p, x)


def _offsets(n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    c = rng.standard_normal(n)
    c -= c.mean()
    return c * (sigma / c.std())  # population variance exactly σ²


def _sgd_step(
    dw: SkewedDoubleWell,
    x: np.ndarray,
    c: np.ndarray,
    lr: float,
    B: int,
    noise: str,
    rng: np.random.Generator,
) -> np.ndarray:
    xi = c[rng.integers(0, c.size, size=(x.size, B))].mean(axis=1)
    phi1 = 1.0 if noise == "additive" else dw.ds(x)
    return x - lr * (dw.dV(x) - xi * phi1)


def sgd_walkers(
    dw: SkewedDoubleWell,
    x0: np.ndarray,
    offsets: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    n_steps: int,
    noise: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Minibatch SGD of many independent walkers (array ``x0``) on ℓ_i = V − c_i φ for
    ``n_steps``; batches of ``batch_size`` offsets drawn with replacement. Returns positions."""
    x = np.array(x0, dtype=float)
    for _ in range(int(n_steps)):
        x = _sgd_step(dw, x, offsets, lr, batch_size, noise, rng)
    return x


def sgd_first_passage(
    dw: SkewedDoubleWell,
    x0: float,
    target: float,
    offsets: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    n_walkers: int,
    max_steps: int,
    noise: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """First step at which each of ``n_walkers`` SGD walkers from ``x0`` reaches ``target``
    (NaN: not within ``max_steps``)."""
    x = np.full(int(n_walkers), float(x0))
    hit = np.full(int(n_walkers), np.nan)
    alive = np.arange(int(n_walkers))
    sign = 1.0 if target > x0 else -1.0
    for step in range(1, int(max_steps) + 1):
        x = _sgd_step(dw, x, offsets, lr, batch_size, noise, rng)
        done = sign * (x - target) >= 0
        if done.any():
            hit[alive[done]] = step
            alive, x = alive[~done], x[~done]
            if alive.size == 0:
                break
    return hit


def _mfpt_estimate(steps: np.ndarray, max_steps: int, lr: float) -> Measurement:
    """Exponential MLE of the mean first-passage time (time units η·steps) with censoring at
    ``max_steps``: total time / events, 95 % interval from the χ² law of the event count."""
    from scipy import stats

    t = np.where(np.isfinite(steps), steps, max_steps) * lr
    k = int(np.isfinite(steps).sum())
    if k == 0:
        return Measurement(math.inf, note=f"no escapes in {max_steps} steps")
    total = float(t.sum())
    lo = 2 * total / stats.chi2.ppf(0.975, 2 * k)
    hi = 2 * total / stats.chi2.ppf(0.025, 2 * k)
    return Measurement(
        total / k, lo, hi, stderr=total / k / math.sqrt(k), note=f"{k}/{steps.size} escaped, censored MLE"
    )


@dataclass
class Config:
    height: float = 1.0
    skew: float = 0.5
    width: float = 0.3
    n_data: int = 1000  # samples (offsets c_i) of the double-well model
    lr: float = 0.005  # SGD step η (= Langevin time step, unit friction)
    batch_size: int = 4
    kT_stationary: float = 0.4  # kT_eff of the stationary-law run (fast mixing)
    kT_escape: float = 0.2  # kT_eff of the escape runs (ΔV/kT = 5)
    n_walkers: int = 2000
    stationary_steps: int = 6000
    escape_max_steps: int = 200000
    kT_hessian: float = 0.7  # noise scale of the Hessian-shaped run: kT at s' = 1 (the barrier)
    n_seeds: int = 3  # network seeds
    net_hidden: int = 16
    net_samples: int = 300
    net_lr: float = 0.1
    net_batch: int = 8
    net_steps: int = 3000
    net_measure_every: int = 500
    top_k: int = 5
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        return cls(
            lr=0.01,
            n_walkers=400,
            stationary_steps=1500,
            escape_max_steps=20000,
            kT_escape=0.3,
            kT_hessian=1.0,
            n_seeds=2,
            net_hidden=8,
            net_samples=120,
            net_steps=600,
            net_measure_every=200,
        )

    @classmethod
    def full(cls) -> Config:
        return cls()


def _network(cfg: Config, seed: int) -> Any:
    import torch

    from levinthal.systems.networks import NetworkLandscape
    from levinthal.systems.networks.data import synthetic
    from levinthal.systems.networks.models import mlp, reset_parameters

    data = synthetic(
        "blobs",
        seed=1000 + cfg.seed,
        n_samples=cfg.net_samples,
        n_classes=3,
        n_features=2,
        noise=1.5,
        test_fraction=0.2,
    )
    with torch.random.fork_rng(devices=[]):
        model = mlp([2, cfg.net_hidden, 3], "tanh").to(torch.float64)
    reset_parameters(model, seed)
    return NetworkLandscape(
        model, data.train_inputs, data.train_targets, "cross_entropy", name=f"mlp-blobs(h={cfg.net_hidden})"
    )


def _network_noise(cfg: Config, seed: int) -> dict[str, Any]:
    """SGD run on the blob MLP; Σ vs H at its end; kT_eff along the run."""
    import torch

    from levinthal.curvature import dense_hessian
    from levinthal.explore.sgd_thermostat import per_sample_gradients, sgd_thermostat

    L = _network(cfg, seed)
    res = sgd_thermostat(
        L,
        L.initial_point(),
        lr=cfg.net_lr,
        batch_size=cfg.net_batch,
        n_steps=cfg.net_steps,
        rng=np.random.default_rng([cfg.seed, seed]),
        record_every=cfg.net_measure_every,
        measure_every=cfg.net_measure_every,
    )
    x = res.x
    G = per_sample_gradients(L, x).to(torch.float64).cpu().numpy()
    Gc = (G - G.mean(0)) / math.sqrt(G.shape[0])
    _, sv, vt = np.linalg.svd(Gc, full_matrices=False)
    sig_vals, sig_top = sv**2, vt[0]
    H = dense_hessian(L, x)
    h_vals, h_vecs = np.linalg.eigh(H)
    order = np.argsort(h_vals)[::-1]
    h_vals, h_vecs = h_vals[order], h_vecs[:, order]
    d = L.dim
    trS = float(sig_vals.sum())
    P = h_vecs[:, : cfg.top_k]
    Sigma = Gc.T @ Gc
    share = float(np.trace(P.T @ Sigma @ P) / trS)
    noise = res.noise
    return {
        "anisotropy": float(sig_vals[0] * d / trS),
        "cos_top": float(abs(sig_top @ h_vecs[:, 0])),
        "share_topk": share,
        "random_share": cfg.top_k / d,
        "trS_over_trH": trS / float(np.trace(H)),
        "kT_steps": np.asarray(res.noise_steps),
        "kT_eff": np.asarray(res.kT_eff),
        "kT_top": np.asarray([n.kT_top for n in noise]),
        "kT_ratio": float(res.kT_eff.max() / res.kT_eff.min()),
        "loss": float(res.losses[-1]),
        "dim": d,
        "sigma_spectrum": sig_vals[:20],
        "hessian_spectrum": h_vals[:20],
    }


def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    cfg = config or Config.full()
    t0 = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    rng = np.random.default_rng(cfg.seed)
    dw = SkewedDoubleWell(cfg.height, cfg.skew, cfg.width)
    a, b = dw.minima()
    ca, cb, ctop = (
        float(dw.d2V(np.array([a]))[0]),
        float(dw.d2V(np.array([b]))[0]),
        float(dw.d2V(np.zeros(1))[0]),
    )
    lr, B = cfg.lr, cfg.batch_size
    res.data.update(a=a, b=b, curv_flat=ca, curv_sharp=cb, curv_top=ctop)
    res.numbers["curvature ratio sharp/flat"] = Measurement(
        cb / ca, note=f"V''={cb:.3g} at x={b:.3f} vs {ca:.3g} at x={a:.3f}; V=0 in both"
    )

    # --- 1. stationary law of additive-noise SGD vs Boltzmann at kT_eff ---
    kT = cfg.kT_stationary
    sigma = math.sqrt(2 * B * kT / lr)  # kT_eff = η σ²/(2B)
    c = _offsets(cfg.n_data, sigma, rng)
    x0 = np.where(rng.random(cfg.n_walkers) < 0.5, a, b)
    xs = sgd_walkers(dw, x0, c, lr=lr, batch_size=B, n_steps=cfg.stationary_steps, noise="additive", rng=rng)
    grid, p = stationary_density(dw, kT, a - 3.0, b + 3.0)
    p_sharp = float(integrate.trapezoid(np.where(grid > 0, p, 0.0), grid))
    occ = float((xs > 0).mean())
    se = math.sqrt(occ * (1 - occ) / xs.size)
    res.numbers["stationary P(sharp well), additive SGD"] = Measurement(
        occ,
        occ - 1.96 * se,
        occ + 1.96 * se,
        stderr=se,
        reference=p_sharp,
        note=f"Boltzmann quadrature at kT_eff = {kT:g}; {xs.size} walkers after {cfg.stationary_steps} steps",
    )
    edges = np.linspace(a - 1.5, b + 1.2, 41)
    hist, _ = np.histogram(xs, edges)
    cdf = integrate.cumulative_trapezoid(p, grid, initial=0.0)
    expect = np.diff(np.interp(edges, grid, cdf)) * xs.size
    ok = expect > 5
    chi2 = float(((hist[ok] - expect[ok]) ** 2 / expect[ok]).sum())
    res.numbers["χ² of the SGD histogram vs Boltzmann"] = Measurement(
        chi2, reference=float(ok.sum() - 1), note=f"{int(ok.sum())} bins (reference: degrees of freedom)"
    )
    res.data.update(stat_x=xs, stat_edges=edges, stat_grid=grid, stat_p=p)

    # --- 2. escape from flat and sharp minima vs Kramers and the exact MFPT ---
    rows = []
    escape: dict[str, dict[str, Any]] = {}
    for noise, kTn in (("additive", cfg.kT_escape), ("hessian", cfg.kT_hessian)):
        sigma = math.sqrt(2 * B * kTn / lr)
        c = _offsets(cfg.n_data, sigma, rng)
        if noise == "additive":
            D = kTn
        else:
            D = lambda x, k=kTn: k * dw.ds(x) ** 2  # noqa: E731
        for label, start, target, curv in (("flat", a, b, ca), ("sharp", b, a, cb)):
            hits = sgd_first_passage(
                dw,
                start,
                target,
                c,
                lr=lr,
                batch_size=B,
                n_walkers=cfg.n_walkers,
                max_steps=cfg.escape_max_steps,
                noise=noise,
                rng=rng,
            )
            m = _mfpt_estimate(hits, cfg.escape_max_steps, lr)
            exact = exact_mfpt(dw, D, start, target)
            kT_local = kTn if noise == "additive" else kTn * float(dw.ds(np.array([start]))[0]) ** 2
            kr = 1.0 / kramers_rate(curv, ctop, cfg.height, kTn)
            m.reference = exact
            res.numbers[f"MFPT {label} → other well, {noise} noise"] = m
            escape.setdefault(noise, {})[label] = (m, exact, kr)
            rows.append(
                [
                    noise,
                    label,
                    f"{kT_local:.3g}",
                    m.text(4),
                    f"{exact:.4g}",
                    f"{kr:.4g}",
                    f"{m.value / kr:.3g}",
                ]
            )
    res.tables["Escape times (time = η × steps, unit friction)"] = (
        [
            "noise",
            "from",
            "local kT at the minimum",
            "SGD MFPT [95% CI]",
            "exact MFPT (quadrature)",
            "1/k Kramers at kT_eff",
            "SGD / Kramers",
        ],
        rows,
    )
    add = escape["additive"]
    ratio_add = add["flat"][0].value / add["sharp"][0].value
    res.numbers["τ_flat/τ_sharp, additive"] = Measurement(
        ratio_add,
        reference=math.sqrt(cb / ca),
        note="reference: Kramers prefactor ratio √(V''_sharp/V''_flat)",
    )
    hes = escape["hessian"]
    ratio_hes = hes["flat"][0].value / hes["sharp"][0].value
    res.numbers["τ_flat/τ_sharp, Hessian-shaped noise"] = Measurement(
        ratio_hes, reference=hes["flat"][1] / hes["sharp"][1], note="reference: exact MFPT ratio"
    )
    # occupation of the sharp well under Hessian-shaped noise (exact Fokker–Planck) vs Boltzmann at barrier kT
    Dh = lambda x: cfg.kT_hessian * dw.ds(x) ** 2  # noqa: E731
    g2, p2 = stationary_density(dw, Dh, a - 3.0, b + 3.0)
    occ_h = float(integrate.trapezoid(np.where(g2 > 0, p2, 0.0), g2))
    g3, p3 = stationary_density(dw, cfg.kT_hessian, a - 3.0, b + 3.0)
    occ_b = float(integrate.trapezoid(np.where(g3 > 0, p3, 0.0), g3))
    res.numbers["P(sharp well), Hessian-shaped noise (Fokker–Planck)"] = Measurement(
        occ_h, reference=occ_b, note=f"reference: Boltzmann at the barrier's kT = {cfg.kT_hessian:g}"
    )
    res.data.update(hess_grid=g2, hess_p=p2, boltz_p=p3)

    # --- 3. small network: anisotropy and state dependence ---
    nets = [_network_noise(cfg, s) for s in range(cfg.n_seeds)]
    d = nets[0]["dim"]
    res.numbers["network noise anisotropy λmax(Σ)·d/trΣ"] = mean_interval([n["anisotropy"] for n in nets])
    res.numbers["network noise anisotropy λmax(Σ)·d/trΣ"].note += f"; 1 = isotropic thermostat, d = {d}"
    res.numbers["|cos| top eigvec Σ vs top eigvec H"] = mean_interval([n["cos_top"] for n in nets])
    m = mean_interval([n["share_topk"] for n in nets])
    m.reference, m.note = cfg.top_k / d, m.note + f"; reference: share of a random {cfg.top_k}-dim subspace"
    res.numbers[f"share of trΣ in the top-{cfg.top_k} Hessian eigenspace"] = m
    res.numbers["trΣ / trH at the end of SGD"] = mean_interval([n["trS_over_trH"] for n in nets])
    res.numbers["max/min kT_eff along SGD"] = mean_interval([n["kT_ratio"] for n in nets])
    res.data["networks"] = nets

    # --- verdicts ---
    m_occ = res.numbers["stationary P(sharp well), additive SGD"]
    z = abs(m_occ.value - p_sharp) / max(m_occ.stderr or 0.0, 1e-12)
    res.add_verdict(
        "holds" if z < 3 else "breaks",
        f"Additive-noise SGD samples Boltzmann at kT_eff = ησ²/(2B) = {kT:g}: P(sharp well) = "
        f"{m_occ.value:.3f} ± {m_occ.stderr:.3f} vs {p_sharp:.3f} by quadrature ({z:.1f} σ).",
    )
    within = all(add[k][0].low * 0.95 <= add[k][1] <= add[k][0].high * 1.05 for k in ("flat", "sharp"))
    res.add_verdict(
        "holds" if within else "breaks",
        f"Additive noise: SGD escape times equal those of Langevin at kT_eff — flat "
        f"{add['flat'][0].text(3)} vs exact {add['flat'][1]:.4g}, sharp {add['sharp'][0].text(3)} vs "
        f"{add['sharp'][1]:.4g} (95% CI, 5% allowance for the O(η) step bias).",
    )
    res.add_verdict(
        "note",
        f"Kramers' asymptotic rate at ΔV/kT = {cfg.height / cfg.kT_escape:.3g} underestimates the "
        f"times by {add['flat'][1] * kramers_rate(ca, ctop, cfg.height, cfg.kT_escape):.3g}× (flat) "
        f"and {add['sharp'][1] * kramers_rate(cb, ctop, cfg.height, cfg.kT_escape):.3g}× (sharp) — "
        f"the O(kT/ΔV) correction; at equal depth the sharp minimum is left {ratio_add:.2f}× faster "
        f"than the flat one (Kramers prefactor ratio {math.sqrt(cb / ca):.2f}).",
    )
    res.add_verdict(
        "breaks",
        f"Hessian-shaped minibatch noise has no single temperature: τ_flat/τ_sharp = {ratio_hes:.3g} "
        f"(exact {hes['flat'][1] / hes['sharp'][1]:.3g}) against {ratio_add:.2f} for a thermostat, and "
        f"the sharp well holds {occ_h:.3g} of the stationary mass against Boltzmann's {occ_b:.3g}.",
    )
    an = res.numbers["network noise anisotropy λmax(Σ)·d/trΣ"].value
    kr = res.numbers["max/min kT_eff along SGD"].value
    res.add_verdict(
        "breaks" if an > 3 or kr > 3 else "holds",
        f"On the MLP (d = {d}) the noise is anisotropic (λmax·d/trΣ = {an:.3g}, isotropic = 1; "
        f"{res.numbers[f'share of trΣ in the top-{cfg.top_k} Hessian eigenspace'].value:.2f} of trΣ lies in "
        f"the top-{cfg.top_k} Hessian directions vs {cfg.top_k / d:.2f} at random) and state-dependent "
        f"(kT_eff varies by a factor {kr:.3g} along the run).",
    )
    res.reading = (
        f"With state-independent minibatch noise SGD is a thermostat: its stationary law and its escape "
        f"times match Boltzmann and Kramers at kT_eff = ησ²/(2B), and equal-depth minima differ only by the "
        f"curvature prefactor ({ratio_add:.2f}×). Real minibatch noise follows the curvature and the state, "
        f"so 'temperature' is local: the flat minimum is held {ratio_hes:.3g}× longer than the sharp one and "
        f"on a network the noise lives in a few Hessian directions with a kT_eff that drifts by {kr:.3g}×."
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
    ax[0].hist(D["stat_x"], D["stat_edges"], density=True, alpha=0.5, label="SGD walkers")
    ax[0].plot(D["stat_grid"], D["stat_p"], "k-", lw=1, label=f"Boltzmann kT={cfg.kT_stationary:g}")
    ax[0].set_xlim(D["stat_edges"][0], D["stat_edges"][-1])
    ax[0].set_xlabel("x")
    ax[0].set_ylabel("density")
    ax[0].legend(fontsize=7)
    ax[0].set_title("additive minibatch noise", fontsize=9)
    ax[1].plot(D["hess_grid"], D["hess_p"], "r-", lw=1, label="Hessian-shaped noise (Fokker–Planck)")
    ax[1].plot(D["hess_grid"], D["boltz_p"], "k--", lw=1, label=f"Boltzmann kT={cfg.kT_hessian:g}")
    ax[1].set_xlim(D["stat_edges"][0], D["stat_edges"][-1])
    ax[1].set_xlabel("x")
    ax[1].legend(fontsize=7)
    ax[1].set_title("state-dependent noise: no single T", fontsize=9)
    fig.tight_layout()
    p = out / "stationary.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append(
        (
            p,
            "Stationary law of SGD on the skewed double well (flat minimum left, sharp right, equal "
            "depth): additive noise vs Boltzmann at kT_eff, and the exact law under Hessian-shaped noise.",
        )
    )
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, n in enumerate(D["networks"]):
        ax[0].semilogy(n["kT_steps"], n["kT_eff"], "o-", ms=3, label=f"seed {i}: tr")
        ax[0].semilogy(n["kT_steps"], n["kT_top"], "x--", ms=3, label=f"seed {i}: top direction")
        ax[1].semilogy(
            np.arange(1, len(n["sigma_spectrum"]) + 1), n["sigma_spectrum"], "o-", ms=3, label=f"Σ seed {i}"
        )
        ax[1].semilogy(
            np.arange(1, len(n["hessian_spectrum"]) + 1),
            np.abs(n["hessian_spectrum"]),
            "x--",
            ms=3,
            label=f"|H| seed {i}",
        )
    ax[0].set_xlabel("SGD step")
    ax[0].set_ylabel("kT_eff")
    ax[0].legend(fontsize=6)
    ax[1].set_xlabel("eigenvalue index")
    ax[1].legend(fontsize=6)
    fig.tight_layout()
    p = out / "network_noise.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    figs.append(
        (
            p,
            "Small MLP: kT_eff per degree of freedom and along the top noise direction during SGD "
            "(left); leading eigenvalues of the noise covariance Σ and of the Hessian at the end (right).",
        )
    )
    return figs
