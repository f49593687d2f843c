"""Waddington's landscape of a cell-fate switch: quasi-potential, flux, noise-induced switching, tilt.

The circuit is the two-gene mutual-repression switch with self-activation of Huang, Guo, May &
Enver, Dev. Biol. 305, 695 (2007) (:class:`~levinthal.systems.circuits.ToggleSwitch`). Its
dynamics dx/dt = f(x) is not a gradient flow, so the "landscape" is the quasi-potential
U = −ln P_ss of the stationary density of dX = f dt + √(2D) dW, and the rest of the drift is the
probability flux J_ss/P_ss (Wang, Xu & Wang, PNAS 105, 12271 (2008)). The study measures

* the two attractors and the saddle on the diagonal (root finding + Jacobian eigenvalues), and
  whether the minima and the saddle of U sit on them (L-BFGS and eigenvector following on the
  spline of U);
* the share of the drift that no potential explains (flux fraction), against a gradient flow of
  the same tools (the double well, where it must be 0);
* the quasi-potential barrier ΔΦ ≈ D·[U(saddle) − U(node)] (Freidlin & Wentzell 1984: D ln P_ss
  tends to −Φ as D → 0) and the mean switching time τ(D) of Euler–Maruyama walkers. Kramers
  (1940) / Freidlin–Wentzell: ln τ = c + ΔΦ/D + o(1), so the slope of ln τ against 1/D must be
  ΔΦ. For the gradient reference (double well, ΔV = 1) τ is also compared with the exact 1-D mean
  first-passage time (Gardiner, Handbook of Stochastic Methods, §5.2.7) and the Eyring–Kramers
  formula τ = 2π/|λ_s| √(|det H_s| / det H_m) e^{ΔV/D};
* a signal s that tilts the landscape towards gene x until the low-x fate meets the saddle in a
  saddle-node bifurcation: the threshold by bisection on the number of stable nodes and by the fold
  conditions f = 0, det J = 0 (Strogatz §3.1, §8.1), the barrier of the disappearing fate, which
  the normal form of the fold says vanishes as (s_c − s)^{3/2}, and its stationary occupancy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.minimize import minimize
from levinthal.saddles import eigenvector_following
from levinthal.studies.base import Measurement, StudyResult, mean_interval
from levinthal.systems.analytic import DoubleWell
from levinthal.systems.circuits import (
    GradientDrift,
    Grid2D,
    QuasiPotentialLandscape,
    ToggleSwitch,
    first_passage_times,
    gradient_test,
    stationary_density,
)

NAME = "waddington"
TITLE = "Waddington landscape of a toggle switch: quasi-potential, flux, Kramers switching, tilt to a fold"

__all__ = ["NAME", "TITLE", "Config", "exact_mfpt_1d", "fit_arrhenius", "run"]


@dataclass
class Config:
    """What the study computes (noise D in the convention dX = f dt + √(2D) dW; time in 1/k).

    ``grid_cells``: cells a side of the Fokker–Planck grid over the toggle's default box;
    ``landscape_noise``: D of the U map and of the flux decomposition; ``barrier_noises``: the D at
    which D·ΔU is measured from P_ss (the smallest gives the reference ΔΦ); ``switch_noises``: the
    D of the switching-time runs, ``walkers`` walkers per D and seed, ``seeds`` independent seeds
    (so every D has ``walkers·seeds`` times), ``dt`` the Euler–Maruyama step (the double-well
    reference runs at the same D and dt); ``signals``: number of signal values in
    [0, 1.12 s_c] for the tilt; ``tilt_noise``: D of the occupancy under tilt; ``fold_noise``: D of
    the barrier under tilt (small, so D·ΔU is close to ΔΦ); ``fold_tol``: bisection tolerance on s_c.
    """

    a: float = 0.5
    b: float = 1.0
    k: float = 1.0
    S: float = 0.5
    n: float = 4.0
    grid_cells: int = 110
    landscape_noise: float = 0.02
    barrier_noises: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.05)
    switch_noises: tuple[float, ...] = (0.028, 0.032, 0.038, 0.045, 0.055)
    walkers: int = 80
    seeds: int = 4
    dt: float = 0.02
    max_steps: int = 400_000
    signals: int = 12
    tilt_noise: float = 0.02
    fold_noise: float = 0.005
    fold_tol: float = 1e-9
    seed: int = 0

    @classmethod
    def small(cls) -> Config:
        """The test configuration (about 10 s of CPU)."""
        return cls(grid_cells=60, barrier_noises=(0.01, 0.02, 0.05), switch_noises=(0.04, 0.05, 0.065),
                   walkers=50, seeds=2, dt=0.04, signals=4, fold_tol=1e-7)

    @classmethod
    def full(cls) -> Config:
        """The report configuration (a few minutes on one core)."""
        return cls()


# -----------------------------------------------------------------------------------------
# Independent references
# -----------------------------------------------------------------------------------------
def exact_mfpt_1d(potential: Any, a: float, b: float, noise: float, lower: float, n: int = 40001) -> float:
    """Exact mean first-passage time from ``a`` to ``b > a`` of dX = −V'(X) dt + √(2D) dW in 1-D.

    T = (1/D) ∫_a^b e^{V(y)/D} ∫_{lower}^y e^{−V(z)/D} dz dy (Gardiner §5.2.7, reflecting far
    to the left at ``lower``, where e^{−V/D} must be negligible), by the trapezoidal rule on
    ``n`` points (a is a grid point). ``potential`` maps an array of positions to V.
    """
    if not b > a > lower:
        raise ValueError(f"exact_mfpt_1d: need lower < a < b, got {lower}, {a}, {b}")
    n_left = max(3, int(n * (a - lower) / (b - lower)))
    z = np.concatenate([np.linspace(lower, a, n_left), np.linspace(a, b, n - n_left + 1)[1:]])
    v = np.asarray(potential(z), dtype=np.float64)
    v = v - v.min()
    w = np.exp(-v / noise)
    inner = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(z))])
    outer = np.exp(v / noise) * inner
    m = slice(n_left - 1, None)  # from z = a exactly
    return float(np.trapezoid(outer[m], z[m]) / noise)


def fit_arrhenius(noises: Any, mean_times: Any, rel_stderr: Any) -> tuple[float, float, float]:
    """Weighted least-squares fit ln τ = c + slope / D; returns (slope, its standard error, c).

    ``rel_stderr``: the standard error of each mean time divided by it (≈ the standard error of
    ln τ̄), used as the weights 1/σ².
    """
    D = np.asarray(noises, dtype=float)
    y = np.log(np.asarray(mean_times, dtype=float))
    s = np.asarray(rel_stderr, dtype=float)
    A = np.stack([np.ones_like(D), 1.0 / D], axis=1)
    W = 1.0 / s**2
    cov = np.linalg.inv(A.T @ (A * W[:, None]))
    beta = cov @ (A.T @ (W * y))
    return float(beta[1]), float(math.sqrt(cov[1, 1])), float(beta[0])


def _u_at(sd: Any, point: Any) -> float:
    """U = −ln P_ss at ``point`` by the bicubic spline of :class:`QuasiPotentialLandscape`."""
    return QuasiPotentialLandscape(sd).energy(np.asarray(point, dtype=float))


def _grid(box: Any, n: int) -> Grid2D:
    (x0, x1), (y0, y1) = box
    return Grid2D(x0, x1, y0, y1, n, n)


# -----------------------------------------------------------------------------------------
# The study
# -----------------------------------------------------------------------------------------
def run(config: Config | None = None, out: Path | None = None) -> StudyResult:
    """Run the study (default: :meth:`Config.full`); PNGs go to ``out`` when given."""
    cfg = config or Config.full()
    t_start = time.perf_counter()
    res = StudyResult(NAME, TITLE, cfg)
    num = res.numbers
    toggle = ToggleSwitch(a=cfg.a, b=cfg.b, k=cfg.k, S=cfg.S, n=cfg.n)
    grid = _grid(toggle.default_box(), cfg.grid_cells)

    # --- attractors and the saddle ------------------------------------------------------------
    fps = toggle.fixed_points()
    kinds = [p.kind for p in fps]
    stable = [p for p in fps if p.kind == "stable"]
    saddles = [p for p in fps if p.kind == "saddle"]
    res.tables["fixed points (s = 0)"] = (
        ["kind", "x", "y", "Jacobian eigenvalues"],
        [[p.kind, f"{p.x[0]:.5f}", f"{p.x[1]:.5f}", ", ".join(f"{e.real:.4f}" for e in p.eigenvalues)]
         for p in fps])
    num["stable nodes"] = Measurement(float(len(stable)), note=" ".join(kinds))
    num["saddles"] = Measurement(float(len(saddles)))
    if len(stable) != 2 or len(saddles) != 1:
        res.add_verdict("note", f"the circuit has {len(stable)} stable nodes and {len(saddles)} saddles "
                        f"({kinds}); the study needs a bistable switch, so it stops here")
        res.seconds = time.perf_counter() - t_start
        return res
    low, high = sorted(stable, key=lambda p: p.x[0])  # low-x fate first
    saddle = saddles[0]
    res.data.update(fixed_points=fps)

    # --- non-gradient part: curl and flux -----------------------------------------------------
    well_grid = Grid2D(-2.2, 2.2, -2.5, 2.5, cfg.grid_cells, cfg.grid_cells)
    gt_toggle = gradient_test(toggle, grid)
    gt_well = gradient_test(GradientDrift(DoubleWell()), well_grid)
    num["relative curl, toggle"] = Measurement(gt_toggle.relative,
                                              note="max |curl f| / max ‖J‖_F on the grid")
    num["relative curl, double well"] = Measurement(gt_well.relative, reference=0.0)

    sd_map = stationary_density(toggle, cfg.landscape_noise, grid)
    ff_toggle = sd_map.flux_fraction()
    ff_well = stationary_density(GradientDrift(DoubleWell()), cfg.landscape_noise * 10,
                                 well_grid).flux_fraction()
    num[f"flux fraction, toggle (D = {cfg.landscape_noise:g})"] = Measurement(
        ff_toggle, note="⟨|J/P|⟩/⟨|f|⟩ weighted by P_ss")
    num[f"flux fraction, double well (D = {cfg.landscape_noise * 10:g})"] = Measurement(
        ff_well, reference=0.0, note="gradient flow: P_ss = e^{−V/D}/Z, no flux")

    # --- U's minima and saddle against the attractors and the saddle ---------------------------
    L = QuasiPotentialLandscape(sd_map)
    min_shift = []
    for node in (low, high):
        r = minimize(L, node.x.copy())
        min_shift.append(float(np.linalg.norm(r.x - node.x)))
    ef = eigenvector_following(L, saddle.x + np.array([0.01, -0.004]), rng=cfg.seed, max_step=0.02,
                               verify=False)
    saddle_shift = float(np.linalg.norm(ef.x - saddle.x))
    h = math.hypot(grid.hx, grid.hy)
    num["distance: minimum of U to its attractor"] = Measurement(
        max(min_shift), note=f"largest of the two; grid diagonal {h:.3g}; D = {cfg.landscape_noise:g}")
    num["distance: saddle of U to the drift's saddle"] = Measurement(
        saddle_shift, note=f"eigenvector following on the spline of U (index {ef.index})")

    # --- quasi-potential barrier from P_ss ----------------------------------------------------
    rows = []
    d_barrier = []
    flux_by_d = []
    for D in cfg.barrier_noises:
        sd = sd_map if D == cfg.landscape_noise else stationary_density(toggle, D, grid)
        Q = QuasiPotentialLandscape(sd)
        dU = Q.energy(saddle.x) - 0.5 * (Q.energy(low.x) + Q.energy(high.x))
        d_barrier.append(D * dU)
        flux_by_d.append(sd.flux_fraction())
        rows.append([f"{D:g}", f"{dU:.4f}", f"{D * dU:.5f}", f"{flux_by_d[-1]:.4f}"])
    res.tables["quasi-potential barrier from P_ss"] = (
        ["D", "ΔU = U(saddle) − U(node)", "D·ΔU", "flux fraction"], rows)
    i_min = int(np.argmin(cfg.barrier_noises))
    dphi = float(d_barrier[i_min])
    _, intercept_d = np.polyfit(np.asarray(cfg.barrier_noises[:3]), np.asarray(d_barrier[:3]), 1)
    num["ΔΦ = D·ΔU at the smallest D (P_ss)"] = Measurement(
        dphi, note=f"D = {cfg.barrier_noises[i_min]:g}; linear extrapolation to D → 0 gives "
                   f"{intercept_d:.5f}")

    # --- switching times ----------------------------------------------------------------------
    sep = high.x[0] - high.x[1]
    def switch_times(system: Any, tag: int, start: Any, target: Any, noises: Any, dt: float) -> np.ndarray:
        # an independent stream per (system, D, seed): shared streams across D correlate the errors
        out_t = np.empty((len(noises), cfg.seeds, cfg.walkers))
        for i, D in enumerate(noises):
            for j in range(cfg.seeds):
                rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, tag, i, j]))
                fp = first_passage_times(system, start, D, dt, target, rng,
                                         n_walkers=cfg.walkers, max_steps=cfg.max_steps,
                                         reflect_at_zero=system is toggle)
                out_t[i, j] = fp.times
        return out_t

    T = switch_times(toggle, 0, low.x, lambda X: (X[:, 0] - X[:, 1]) >= 0.5 * sep, cfg.switch_noises, cfg.dt)
    censored = int(np.sum(~np.isfinite(T)))
    tau = np.array([np.mean(T[i][np.isfinite(T[i])]) for i in range(len(cfg.switch_noises))])
    rel_se = np.array([np.std(T[i][np.isfinite(T[i])], ddof=1) / math.sqrt(np.isfinite(T[i]).sum())
                       for i in range(len(cfg.switch_noises))]) / tau
    slope, slope_se, c0 = fit_arrhenius(cfg.switch_noises, tau, rel_se)
    per_seed = []
    if censored == 0:
        for j in range(cfg.seeds):
            m_j = T[:, j].mean(axis=1)
            per_seed.append(fit_arrhenius(cfg.switch_noises, m_j,
                                          np.std(T[:, j], axis=1, ddof=1) / math.sqrt(cfg.walkers) / m_j)[0])
    z = 1.959963984540054
    num["switching: slope of ln τ vs 1/D (toggle)"] = Measurement(
        slope, slope - z * slope_se, slope + z * slope_se, stderr=slope_se, reference=dphi,
        note=f"weighted fit over D = {list(cfg.switch_noises)}, {cfg.seeds * cfg.walkers} walkers per D; "
             f"{censored} censored; reference ΔΦ from P_ss")
    if len(per_seed) >= 2:
        m = mean_interval(per_seed)
        m.reference = dphi
        m.note = f"per-seed fits, {m.note}"
        num["switching: slope per seed (toggle)"] = m
    for i, D in enumerate(cfg.switch_noises):
        num[f"τ(D = {D:g}), toggle"] = mean_interval(T[i].ravel())
    res.data.update(switch_noises=cfg.switch_noises, tau=tau, rel_se=rel_se, fit=(slope, c0))

    # gradient reference: a double well with the toggle's barrier and time scale (curvature 8h at the
    # minima), at the same D, with exact and Eyring–Kramers times. Its exact slope over the same D
    # says how far from ΔV a finite-D Arrhenius fit lands when the prefactor is known to be constant.
    well_flow = GradientDrift(DoubleWell(h=dphi, k=1.0))
    hw = dphi
    Tw = switch_times(well_flow, 1, np.array([-1.0, 0.0]), lambda X: X[:, 0] >= 1.0, cfg.switch_noises,
                      cfg.dt)
    tau_w = np.array([np.mean(Tw[i][np.isfinite(Tw[i])]) for i in range(len(cfg.switch_noises))])
    rel_w = np.array([np.std(Tw[i][np.isfinite(Tw[i])], ddof=1) / math.sqrt(np.isfinite(Tw[i]).sum())
                      for i in range(len(cfg.switch_noises))]) / tau_w
    exact = np.array([exact_mfpt_1d(lambda x: hw * (x * x - 1.0) ** 2, -1.0, 1.0, D, -3.0)
                      for D in cfg.switch_noises])
    ek = 2 * math.pi / (4 * hw) * math.sqrt(4 * hw / (8 * hw)) * np.exp(hw / np.asarray(cfg.switch_noises))
    slope_w, slope_w_se, c_w = fit_arrhenius(cfg.switch_noises, tau_w, rel_w)
    slope_exact, _, _ = fit_arrhenius(cfg.switch_noises, exact, np.ones_like(exact))
    expected_ratio = slope_exact / hw
    num["double well: slope of ln τ vs 1/D"] = Measurement(
        slope_w, slope_w - z * slope_w_se, slope_w + z * slope_w_se, stderr=slope_w_se, reference=slope_exact,
        note=f"ΔV = {hw:.4f} (set to the toggle's ΔΦ); reference: the fit to the exact MFPTs at the same D")
    num["finite-D Arrhenius slope / barrier, exact gradient case"] = Measurement(
        expected_ratio, note="slope of the exact 1-D MFPTs over the switching D, divided by ΔV")
    num["toggle: slope / ΔΦ"] = Measurement(
        slope / dphi, slope / dphi - z * slope_se / dphi, slope / dphi + z * slope_se / dphi,
        stderr=slope_se / dphi, reference=expected_ratio,
        note="reference: the same ratio for the exact gradient double well at the same D/ΔV")
    ratio = tau_w / exact
    ratio_se = rel_w * ratio
    num["double well: τ_simulated / τ_exact (mean over D)"] = Measurement(
        float(np.mean(ratio)), stderr=float(np.sqrt(np.sum(ratio_se**2)) / len(ratio)), reference=1.0,
        note="exact 1-D MFPT, Gardiner §5.2.7; Euler–Maruyama and discrete monitoring bias it by O(dt)")
    res.tables["double-well reference: switching times"] = (
        ["D", "τ simulated", "± s.e.", "τ exact 1-D MFPT", "τ Eyring–Kramers"],
        [[f"{D:g}", f"{t:.2f}", f"{t * r:.2f}", f"{e:.2f}", f"{k_:.2f}"]
         for D, t, r, e, k_ in zip(cfg.switch_noises, tau_w, rel_w, exact, ek, strict=True)])
    well = DoubleWell()
    sd_w = stationary_density(GradientDrift(well), 0.3, well_grid)
    Qw = QuasiPotentialLandscape(sd_w)
    dU_w = 0.3 * (Qw.energy([0.0, 0.0]) - Qw.energy([-1.0, 0.0]))
    num["double well: D·ΔU from P_ss"] = Measurement(
        dU_w, reference=well.h, note="D = 0.3, ΔV = 1; exact for a gradient flow up to the grid")
    res.data.update(tau_well=tau_w, rel_well=rel_w, exact_well=exact, fit_well=(slope_w, c_w),
                    tau_ratio=ratio, tau_ratio_se=ratio_se, slope_exact=slope_exact, dphi=dphi)

    # --- tilt: the saddle-node that removes a fate -------------------------------------------
    sn = toggle.saddle_node(tol=cfg.fold_tol)
    sc = sn.signal_fold
    eig_fold = np.linalg.eigvals(toggle.with_signal(sc).jacobian(sn.x_fold))
    num["fold signal s_c (f = 0, det J = 0)"] = Measurement(
        sc, reference=sn.signal_bisection, note=f"reference: bisection on the number of stable nodes; "
                                                 f"residual {sn.residual:.2g}")
    num["smallest |eigenvalue| of J at the fold"] = Measurement(float(np.min(np.abs(eig_fold))),
                                                                reference=0.0)
    signals = np.linspace(0.0, 1.12 * sc, cfg.signals)  # never exactly at s_c (degenerate)
    t_rows, fold_pts = [], []
    occupancy, barrier_low = [], []
    prev: list[Any] = list(fps)
    for s in signals:
        ts = toggle.with_signal(s)
        # warm starts at the last signal's fixed points: near the fold the saddle and the node are
        # close and a grid of starts alone can miss one of them
        pts = ts.fixed_points(extra_starts=[p.x for p in prev])
        prev = pts
        st = sorted([p for p in pts if p.kind == "stable"], key=lambda p: p.x[0])
        sd_s = stationary_density(ts, cfg.tilt_noise, grid)
        P = sd_s.density * grid.hx * grid.hy
        X, Y = np.meshgrid(grid.x, grid.y, indexing="ij")
        diag = np.isclose(X, Y, rtol=0.0, atol=1e-12 * grid.hx)  # cells on x = y count half
        occ = float(P[(X < Y) & ~diag].sum() + 0.5 * P[diag].sum())
        occupancy.append(occ)
        b_low = math.nan
        sad = [p for p in pts if p.kind == "saddle"]
        if len(st) == 2 and sad:
            sd_f = stationary_density(ts, cfg.fold_noise, grid)
            Qf = QuasiPotentialLandscape(sd_f)
            b_low = cfg.fold_noise * (Qf.energy(sad[0].x) - Qf.energy(st[0].x))
            fold_pts.append((sc - s, b_low))
        barrier_low.append(b_low)
        t_rows.append([f"{s:.4f}", str(len(st)), f"{occ:.4g}", "—" if math.isnan(b_low) else f"{b_low:.5f}"])
    res.tables["tilt by the signal s"] = (["s", "stable nodes", "P(low-x fate)", "ΔΦ of low-x fate (D·ΔU)"],
                                          t_rows)
    fp_arr = np.array([q for q in fold_pts if q[1] > 0 and q[0] > 0])
    if len(fp_arr) >= 3:
        near = fp_arr[np.argsort(fp_arr[:, 0])[:3]]
        expo = float(np.polyfit(np.log(near[:, 0]), np.log(near[:, 1]), 1)[0])
        num["fold: exponent of ΔΦ_low ∝ (s_c − s)^p"] = Measurement(
            expo, reference=1.5, note="from the three bistable signals closest to s_c; normal form gives 3/2")
    after = [o for s, o in zip(signals, occupancy, strict=True) if s > sc]
    num["P(low-x fate) past the fold"] = Measurement(float(max(after)) if after else math.nan,
                                                     note=f"largest over s > s_c at D = {cfg.tilt_noise:g}")
    num["P(low-x fate) at s = 0"] = Measurement(occupancy[0], reference=0.5, note="symmetric switch")
    res.data.update(signals=signals, occupancy=occupancy, barrier_low=barrier_low, s_c=sc, saddle_node=sn,
                    flux_fraction_well=ff_well)

    # --- verdicts -----------------------------------------------------------------------------
    dev = slope / dphi - expected_ratio
    res.add_verdict("holds" if abs(dev) < max(2 * slope_se / dphi, 0.1) else "breaks",
                    f"Kramers/Freidlin–Wentzell with the quasi-potential as the landscape: ln τ against "
                    f"1/D has slope {slope:.4f} ± {slope_se:.4f} = {slope / dphi:.3f} ΔΦ, with ΔΦ = "
                    f"{dphi:.4f} from P_ss; a gradient double well of the same barrier gives "
                    f"{expected_ratio:.3f} ΔV exactly at these D "
                    f"(simulated {slope_w / hw:.3f} ± {slope_w_se / hw:.3f})")
    res.add_verdict("breaks" if ff_toggle > 0.05 else "holds",
                    f"the dynamics is not a gradient flow: {100 * ff_toggle:.1f} % of the drift "
                    f"(P_ss-weighted) is probability flux that U does not explain at "
                    f"D = {cfg.landscape_noise:g}, against "
                    f"{ff_well:.1e} for the gradient double well; relative curl {gt_toggle.relative:.2f}")
    fold_ok = abs(sn.signal_fold - sn.signal_bisection) < 10 * cfg.fold_tol and after and max(after) < 0.01
    res.add_verdict("holds" if fold_ok else "breaks",
                    f"tilting removes a fate in a saddle-node: det J = 0 at s_c = {sc:.6f} "
                    f"(bisection {sn.signal_bisection:.6f}); past it P(low-x fate) ≤ "
                    f"{max(after) if after else math.nan:.2g}")
    res.add_verdict("note",
                    f"U's minima lie within {max(min_shift):.3f} of the attractors and its saddle within "
                    f"{saddle_shift:.3f} of the drift's saddle (grid diagonal {h:.3f}): the landscape's "
                    f"critical points are close to the circuit's fixed points")
    res.reading = (
        f"The toggle switch has a Waddington landscape in the quasi-potential sense: the switching time "
        f"grows as exp(ΔΦ/D) with the barrier ΔΦ ≈ {dphi:.3f} read off −D ln P_ss, and a signal tilts it "
        f"until the fold at s_c = {sc:.4f} erases one valley. But the landscape is not the dynamics: "
        f"{100 * ff_toggle:.0f} % of the drift is stationary probability flux, which a potential, and "
        f"a loss surface under gradient descent, cannot have.")

    if out is not None:
        res.figures.extend(_figures(Path(out), res, sd_map, grid, low, high, saddle, cfg))
    res.seconds = time.perf_counter() - t_start
    return res


def _figures(out: Path, res: StudyResult, sd: Any, grid: Grid2D, low: Any, high: Any, saddle: Any,
             cfg: Config) -> list[tuple[Path, str]]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    # 1. the quasi-potential with the flux part of the drift
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    U = np.array(sd.quasi_potential)
    U = np.where(np.isfinite(U), U, np.nan)
    U = U - np.nanmin(U)
    cs = ax.contourf(grid.x, grid.y, np.minimum(U, 25).T, levels=25, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="U − U_min = −ln P_ss (capped at 25)")
    _, flux = sd.decomposition()
    step = max(1, grid.nx // 16)
    ok = sd.resolved() & (U < 25)
    fx = np.where(ok, flux[..., 0], np.nan)
    fy = np.where(ok, flux[..., 1], np.nan)
    ax.quiver(grid.x[::step], grid.y[::step], fx[::step, ::step].T, fy[::step, ::step].T,
              color="w", alpha=0.8)
    for p, mk in ((low, "o"), (high, "o"), (saddle, "x")):
        ax.plot(*p.x, mk, color="r", ms=8, mew=2)
    ax.set(xlabel="x (gene 1)", ylabel="y (gene 2)",
           title=f"quasi-potential, D = {sd.noise:g}; arrows: flux J/P")
    p1 = out / "waddington_quasi_potential.png"
    fig.tight_layout()
    fig.savefig(p1, dpi=100)
    plt.close(fig)
    figs.append((p1, "U = −ln P_ss of the toggle switch with its two fates (dots) and the saddle (cross); "
                     "arrows: the flux part J_ss/P_ss of the drift, which circulates along the contours."))
    # 2. Arrhenius plot
    d = res.data
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    inv = 1 / np.asarray(d["switch_noises"])
    ax.errorbar(inv, np.log(d["tau"]), yerr=d["rel_se"], fmt="o", label="toggle, simulated")
    s, c = d["fit"]
    ax.plot(inv, c + s * inv, "-", label=f"fit slope {s:.3f}")
    ax.errorbar(inv, np.log(d["tau_well"]), yerr=d["rel_well"], fmt="s",
                label="double well ΔV = ΔΦ, simulated")
    ax.plot(inv, np.log(d["exact_well"]), "k--", label="double well, exact 1-D MFPT")
    ax.set(xlabel="1/D", ylabel="ln τ", title="noise-induced switching times")
    ax.legend(fontsize=8)
    p2 = out / "waddington_arrhenius.png"
    fig.tight_layout()
    fig.savefig(p2, dpi=100)
    plt.close(fig)
    figs.append((p2, "ln of the mean switching time against 1/D; the slope is the barrier (Kramers). The "
                     "toggle's slope is compared with D·ΔU from P_ss, the double well (same barrier) with "
                     "its exact MFPT."))
    # 3. tilt
    fig, ax = plt.subplots(1, 2, figsize=(8.4, 3.6))
    sig = np.asarray(d["signals"])
    ax[0].plot(sig, d["barrier_low"], "o-")
    ax[0].axvline(d["s_c"], color="k", ls=":")
    ax[0].set(xlabel="signal s", ylabel="ΔΦ of the low-x fate", title=f"barrier (D = {cfg.fold_noise:g})")
    ax[1].semilogy(sig, np.maximum(d["occupancy"], 1e-300), "o-")
    ax[1].axvline(d["s_c"], color="k", ls=":")
    ax[1].set(xlabel="signal s", ylabel="P(x < y)",
              title=f"occupancy of the low-x fate (D = {cfg.tilt_noise:g})")
    p3 = out / "waddington_tilt.png"
    fig.tight_layout()
    fig.savefig(p3, dpi=100)
    plt.close(fig)
    figs.append((p3, "Tilting by the signal s: the barrier of the low-x fate shrinks to 0 at the fold s_c "
                     "(dotted) and its stationary occupancy collapses."))
    return figs
