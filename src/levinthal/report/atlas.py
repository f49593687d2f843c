"""``levinthal atlas``: the same questions asked of a physical landscape and of a network's
loss landscape, answered side by side.

For each side the atlas draws random starting points, minimises them all, merges minima that
are the same structure up to symmetry (rigid motions, inversion and permutation of identical
atoms for clusters; permutation of hidden units, by weight matching, for networks), classifies
every distinct minimum by its Hessian with symmetry zero modes removed, and measures what the
physics/learning analogy predicts: isolated minima, a funnel to a global minimum, no flat
directions beyond symmetry, an energy that does not depend on data. The report states which of
these hold, with the numbers that say so.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LJ13_GLOBAL_MINIMUM = -44.326801  # Cambridge Cluster Database (Wales & Doye 1997)


@dataclass
class AtlasConfig:
    """Defaults chosen to finish in a few minutes on two CPU cores."""

    cluster: str = "lj13"
    network: str = "mlp-digits"
    cluster_starts: int = 200
    network_starts: int = 4
    network_l2: float = 1e-3
    cluster_rms_tol: float = 1e-6
    network_rms_tol: float = 1e-6
    network_max_iterations: int = 4000
    bezier_steps: int = 300
    connect_cycles: int = 10
    grow_connections: int = 8
    kinetics_temperature: float = 0.1
    studies: tuple[str, ...] = ("all",)
    study_size: str = "small"
    seed: int = 0
    quiet: bool = False


@dataclass
class MinimumRecord:
    energy: float
    hits: int
    kind: str
    index: int
    n_zero_modes: int
    smallest_nonzero: float
    largest: float
    n_flat: int
    reason: str
    test_energy: float | None = None
    test_accuracy: float | None = None
    train_accuracy: float | None = None


@dataclass
class SideResult:
    """Everything measured on one landscape."""

    system: str
    dim: int
    starts: int
    converged: int
    distinct: list[MinimumRecord]
    identity: str
    lowest_spectrum: list[float]
    lowest_zero_mode_curvatures: list[float]
    interpolation: dict[str, list[float]] = field(default_factory=dict)
    barriers: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    gradient_calls: int = 0
    saddle_escapes: int = 0
    histories: list[dict[str, list[float]]] = field(default_factory=list, repr=False)
    reference_energy: float | None = None
    kinetics: dict[str, Any] = field(default_factory=dict)
    minima_points: list[tuple[Any, float]] = field(default_factory=list, repr=False)


def _progress(items: Any, quiet: bool, desc: str) -> Any:
    from levinthal.progress import progress

    return progress(items, quiet, desc=desc)


@dataclass
class _Found:
    """One start's end point after minimisation (and any saddle escapes) with its spectrum."""

    result: Any
    summary: Any
    escapes: int


def descend_to_minimum(land: Any, x0: Any, minimise: Any, *, max_escapes: int = 3,
                       escape_step: float = 0.1) -> _Found:
    """Minimise from ``x0``; while the end point is a saddle (gradient below tolerance but a
    negative eigenvalue off the zero modes), step ``escape_step`` along ± its most negative
    eigenvector, minimise both and keep the lower end — up to ``max_escapes`` times.

    Gradient-based minimisers stop wherever the gradient is small, which on a network's loss
    includes saddles with tiny negative curvature; classifying by the Hessian and escaping along
    the unstable mode is what turns "converged" into "a minimum".
    """
    from levinthal.curvature.summary import spectrum_summary

    res = minimise(x0)
    summary = spectrum_summary(land, res.x)
    escapes = 0
    while (res.converged and summary.classification.kind == "saddle" and escapes < max_escapes):
        v = summary.classification.lowest_eigenvectors[0]
        trials = [minimise(res.x + sign * escape_step * v) for sign in (1.0, -1.0)]
        best = min((t for t in trials if t.converged), key=lambda t: t.energy, default=None)
        if best is None or best.energy >= res.energy:
            break
        escapes += 1
        res = best
        summary = spectrum_summary(land, res.x)
    return _Found(res, summary, escapes)


def survey(land: Any, starts: list[Any], minimise: Any, same: Any, quiet: bool,
           describe: Any = None) -> tuple[list[tuple[_Found, int]], list[_Found]]:
    """Minimise every start to a classified end point; merge those ``same`` calls identical.

    Returns the distinct end points, lowest first, with how many starts reached each, and every
    start's end point.
    """
    found = [descend_to_minimum(land, x0, minimise)
             for x0 in _progress(starts, quiet, f"minimise {land.name}")]
    groups: list[list[_Found]] = []
    for f in sorted((f for f in found if f.result.converged), key=lambda f: f.result.energy):
        for g in groups:
            if same(g[0].result, f.result):
                g.append(f)
                break
        else:
            groups.append([f])
    return [(g[0], len(g)) for g in groups], found


def _side(land: Any, cfg: AtlasConfig, distinct: list[tuple[_Found, int]], found: list[_Found],
          identity: str, seconds: float, extra: Any = None) -> SideResult:
    records = []
    for f, hits in distinct:
        rec = _record(f.result, hits, f.summary)
        if extra is not None:
            extra(rec, f.result.x)
        records.append(rec)
    lowest = distinct[0][0].summary if distinct else None
    return SideResult(
        system=land.name, dim=land.dim, starts=len(found),
        converged=sum(f.result.converged for f in found), distinct=records, identity=identity,
        lowest_spectrum=list(lowest.eigenvalues) if lowest is not None and lowest.eigenvalues
        is not None else [],
        lowest_zero_mode_curvatures=list(lowest.zero_mode_curvatures) if lowest else [],
        gradient_calls=sum(f.result.counts.gradient for f in found),
        saddle_escapes=sum(f.escapes for f in found),
        histories=[f.result.history for f in found], seconds=seconds,
    )


def survey_cluster(cfg: AtlasConfig) -> SideResult:
    """Minima of the cluster from random starts; identity by symmetry-aware alignment."""
    from levinthal.minimize import minimize
    from levinthal.symmetry.clusters import align, same
    from levinthal.systems import make_system

    t0 = time.perf_counter()
    land = make_system(cfg.cluster, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    starts = [land.random_point(rng) for _ in range(cfg.cluster_starts)]

    def minimise(x0: Any) -> Any:
        return minimize(land, x0, rms_tol=cfg.cluster_rms_tol, max_iterations=20000)

    def same_minimum(a: Any, b: Any) -> bool:
        return same(a.x, b.x, energy_a=a.energy, energy_b=b.energy, energy_tol=1e-5,
                    distance_tol=1e-2)

    distinct, found = survey(land, starts, minimise, same_minimum, cfg.quiet)
    side = _side(land, cfg, distinct, found,
                 "same energy (1e-5) and aligned distance < 0.01 over rotations, inversion, "
                 "translations and permutations", 0.0)
    side.reference_energy = LJ13_GLOBAL_MINIMUM if cfg.cluster == "lj13" else None
    side.minima_points = [(f.result.x, float(f.result.energy)) for f, _ in distinct]
    if len(distinct) >= 2:
        a, b = distinct[0][0].result.x, distinct[1][0].result.x
        b_aligned = align(a, b, rng=np.random.default_rng(0)).b_aligned
        side.interpolation = _interpolate(land, a, b_aligned)
        side.barriers = _barriers(land, a, b_aligned, cfg, connect_them=True)
        side.interpolation["bezier"] = side.barriers.pop("bezier_profile")
    side.seconds = time.perf_counter() - t0
    return side


def survey_network(cfg: AtlasConfig) -> SideResult:
    """Minima of the regularised training loss from random initialisations; identity up to
    hidden-unit permutation by weight matching."""
    from levinthal.landscape import to_numpy
    from levinthal.minimize import minimize
    from levinthal.systems import make_system
    from levinthal.systems.regularized import L2Regularized

    t0 = time.perf_counter()
    net = make_system(cfg.network, seed=cfg.seed)
    land = L2Regularized(net, cfg.network_l2) if cfg.network_l2 > 0 else net
    rng = np.random.default_rng(cfg.seed)
    starts = [net.random_point(rng) for _ in range(cfg.network_starts)]
    matcher = _weight_matcher(net)

    def minimise(x0: Any) -> Any:
        # A longer memory and a step cap on the scale of the weights suit parameter vectors.
        return minimize(land, x0, rms_tol=cfg.network_rms_tol, memory=20, max_step=1.0,
                        max_iterations=cfg.network_max_iterations)

    def same_minimum(a: Any, b: Any) -> bool:
        if abs(a.energy - b.energy) > 1e-6 * max(1.0, abs(a.energy)):
            return False
        return matcher(a.x, b.x)[1] < 1e-3 * float(np.linalg.norm(to_numpy(a.x)))

    def held_out(rec: MinimumRecord, x: Any) -> None:
        if hasattr(net, "test_energy"):
            rec.test_energy = float(net.test_energy(x))
            rec.test_accuracy = float(net.test_accuracy(x))
        if hasattr(net, "accuracy"):
            rec.train_accuracy = float(net.accuracy(x))

    distinct, found = survey(land, starts, minimise, same_minimum, cfg.quiet)
    side = _side(land, cfg, distinct, found,
                 "same loss (1e-6 relative) and distance after hidden-unit permutation "
                 "(weight matching) < 1e-3 of the parameter norm", 0.0, extra=held_out)
    if len(distinct) >= 2:
        a, b = distinct[0][0].result.x, distinct[1][0].result.x
        b_aligned, d_after, d_before = matcher(a, b)
        side.interpolation = _interpolate(land, a, b_aligned)
        side.interpolation["unaligned"] = _interpolate(land, a, b)["energy"]
        side.interpolation["distance_before"] = [d_before]
        side.interpolation["distance_after"] = [d_after]
        side.barriers = _barriers(land, a, b_aligned, cfg, connect_them=False)
        side.interpolation["bezier"] = side.barriers.pop("bezier_profile")
    side.seconds = time.perf_counter() - t0
    return side


def _weight_matcher(net: Any) -> Any:
    """(x_a, x_b) -> (x_b aligned to x_a, distance after, distance before)."""
    from levinthal.symmetry.networks import weight_matching

    def match(xa: Any, xb: Any) -> tuple[Any, float, float]:
        wm = weight_matching(xa, xb, template=net.model, rng=np.random.default_rng(0))
        return wm.params_b_aligned, float(wm.distance_after), float(wm.distance_before)

    return match


def _barriers(land: Any, a: Any, b: Any, cfg: AtlasConfig, connect_them: bool) -> dict[str, Any]:
    """Barriers between two aligned minima measured three ways, all relative to the higher end:
    the straight line (an upper bound), a trained quadratic Bézier curve (Garipov et al. 2018;
    also an upper bound, usually far lower), and — for physical systems — the highest verified
    transition state of a :func:`~levinthal.paths.connect` pathway (the true minimax barrier
    along the path it found)."""
    from levinthal.paths.bezier import fit_bezier

    e_hi = max(float(land.energy(a)), float(land.energy(b)))
    curve = fit_bezier(land, a, b, steps=cfg.bezier_steps, rng=np.random.default_rng(cfg.seed))
    ts = np.linspace(0.0, 1.0, 41)
    bez = [float(land.energy(p)) for p in curve.points(ts)]
    out: dict[str, Any] = {"bezier": max(bez) - e_hi, "bezier_profile": bez,
                           "bezier_gradient_calls": curve.counts.gradient}
    line = _interpolate(land, a, b)["energy"]
    out["straight_line"] = max(line) - e_hi
    if connect_them:
        from levinthal.paths.connect import connect

        res = connect(land, a, b, max_cycles=cfg.connect_cycles, record_profile=False,
                      rng=np.random.default_rng(cfg.seed))
        out["connected"] = bool(res.converged)
        out["connect_message"] = res.message
        out["connect_force_calls"] = res.counts.gradient
        if res.converged:
            energies = res.path_energies()
            out["transition_states_on_path"] = sum(1 for k, _ in res.path if k == "ts")
            out["connect"] = max(energies) - e_hi
    return out


def _interpolate(land: Any, a: Any, b: Any, n: int = 41) -> dict[str, list[float]]:
    """Energy along the straight line (1 − t) a + t b, t ∈ [0, 1]."""
    ts = np.linspace(0.0, 1.0, n)
    energies = [float(land.energy(a + float(t) * (b - a))) for t in ts]
    return {"t": ts.tolist(), "energy": energies}


def _record(r: Any, hits: int, s: Any) -> MinimumRecord:
    c = s.classification
    return MinimumRecord(
        energy=float(r.energy), hits=hits, kind=c.kind, index=int(c.index),
        n_zero_modes=int(c.n_zero_modes), smallest_nonzero=float(s.smallest_nonflat),
        largest=float(s.largest), n_flat=int(s.n_flat), reason=c.reason,
    )


def analogy_findings(cluster: SideResult, network: SideResult) -> list[tuple[str, str]]:
    """Statements of where the physics/learning analogy holds or breaks, each decided by a
    measured number. Returns (css class "holds"/"breaks"/"note", sentence)."""
    out: list[tuple[str, str]] = []

    def flat(side: SideResult) -> int:
        return max((m.n_flat for m in side.distinct), default=0)

    fc, fn = flat(cluster), flat(network)
    out.append((
        "holds" if fn == 0 else "breaks",
        f"Isolated minima: {cluster.system} has {fc} flat direction(s) beyond its "
        f"{cluster.distinct[0].n_zero_modes if cluster.distinct else 0} symmetry zero modes at any "
        f"minimum found; {network.system} has up to {fn} eigenvalue(s) below the flatness threshold "
        "that no declared symmetry explains.",
    ))

    if cluster.distinct and network.distinct:
        kc = cluster.distinct[0].largest / cluster.distinct[0].smallest_nonzero
        kn = network.distinct[0].largest / network.distinct[0].smallest_nonzero
        out.append((
            "breaks" if kn > 10 * kc else "holds",
            f"Conditioning at the lowest minimum (λmax / smallest non-flat λ, zero modes removed): "
            f"{cluster.system} {kc:.3g}, {network.system} {kn:.3g}. "
            + ("The network's minimum is far more anisotropic: a basin of nearly flat directions, "
               "not an isolated well." if kn > 10 * kc else "Comparable anisotropy on both sides."),
        ))

    def funnel(side: SideResult) -> float:
        return side.distinct[0].hits / max(side.converged, 1) if side.distinct else float("nan")

    pc, pn = funnel(cluster), funnel(network)
    out.append((
        "note",
        f"Funnel: {pc:.0%} of converged quenches of {cluster.system} reach its lowest minimum; "
        f"{pn:.0%} of the {network.system} trainings reach theirs "
        f"({len(cluster.distinct)} vs {len(network.distinct)} distinct minima).",
    ))
    out.append((
        "breaks" if network.saddle_escapes > cluster.saddle_escapes else "holds",
        f"Where descent stops: {cluster.saddle_escapes} of {cluster.starts} {cluster.system} quenches "
        f"and {network.saddle_escapes} of {network.starts} {network.system} trainings first stopped "
        "at a saddle (gradient below tolerance, a negative eigenvalue off the zero modes) and had "
        "to be pushed along the unstable mode to reach a minimum.",
    ))
    idx_ok = all(m.index == 0 for s in (cluster, network) for m in s.distinct)
    if not idx_ok:
        out.append(("breaks", "Some distinct end points are still not minima (index > 0) after "
                    "three escapes along the unstable mode: see the minima tables."))
    gaps = [m.test_energy - m.energy for m in network.distinct if m.test_energy is not None]
    if gaps:
        out.append((
            "breaks",
            f"Data dependence: the network's 'energy' is a sample average; on held-out data the "
            f"lowest minimum's loss is higher by {gaps[0]:.4g} (mean over minima {np.mean(gaps):.4g}). "
            f"A cluster's energy has no such second surface.",
        ))
    for side in (cluster, network):
        bar = side.barriers
        if not bar:
            continue
        text = (f"Barrier between the two lowest distinct minima of {side.system} (aligned), above "
                f"the higher end: straight line {bar['straight_line']:.4g}, trained Bézier curve "
                f"{bar['bezier']:.4g}")
        if bar.get("connected"):
            text += (f", verified transition states {bar['connect']:.4g} "
                     f"({bar['transition_states_on_path']} TS on the connect pathway)")
        elif "connected" in bar:
            text += f"; connect found no pathway ({bar['connect_message']})"
        out.append(("note", text + "."))
    bc, bn = cluster.barriers, network.barriers
    if bc.get("connected") and bn:
        def scales(side: SideResult, barrier: float) -> str:
            spread = side.distinct[-1].energy - side.distinct[0].energy
            return (f"{barrier / abs(side.distinct[0].energy):.2%} of |E| at the lowest minimum, "
                    f"{barrier / spread:.3g}× the energy spread of its {len(side.distinct)} distinct minima")

        out.append((
            "note",
            f"How high are barriers? {cluster.system}: the verified barrier is "
            f"{scales(cluster, bc['connect'])}. {network.system}: the best curve found (Bézier, an "
            f"upper bound) is {scales(network, bn['bezier'])}. No verdict: which scale makes two "
            "landscapes comparable is itself the open question.",
        ))
    return out


def _figures(cluster: SideResult, network: SideResult, out: Path) -> dict[str, Path]:
    from levinthal.plots import pyplot
    from levinthal.plots.minima import plot_energy_levels, plot_histories
    from levinthal.plots.spectra import draw_spectrum

    plt = pyplot()
    paths: dict[str, Path] = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, side, ylab in zip(axes, (cluster, network), ("energy (ε)", "training loss + L2"),
                              strict=True):
        plot_energy_levels(ax, [m.energy for m in side.distinct], [m.hits for m in side.distinct],
                           f"{side.system}: {len(side.distinct)} distinct minima",
                           reference=side.reference_energy, ylabel=ylab)
    fig.tight_layout()
    paths["levels"] = out / "minima_levels.png"
    fig.savefig(paths["levels"], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, side in zip(axes, (cluster, network), strict=True):
        if side.lowest_spectrum:
            draw_spectrum(ax, np.asarray(side.lowest_spectrum),
                          np.asarray(side.lowest_zero_mode_curvatures), f"{side.system}: lowest minimum")
    fig.tight_layout()
    paths["spectra"] = out / "hessian_spectra.png"
    fig.savefig(paths["spectra"], dpi=120)
    plt.close(fig)

    if cluster.interpolation or network.interpolation:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, side in zip(axes, (cluster, network), strict=True):
            it = side.interpolation
            if it.get("energy"):
                ax.plot(it["t"], it["energy"], "o-", ms=2, label="aligned")
                if it.get("unaligned"):
                    ax.plot(it["t"], it["unaligned"], "--", color="C1", label="not aligned")
                if it.get("bezier"):
                    ax.plot(it["t"], it["bezier"], "-", color="C2", label="trained Bézier curve")
                ax.legend(fontsize=8)
            ax.set(xlabel="t  (x = (1−t) a + t b)", ylabel="energy", title=side.system)
        fig.tight_layout()
        paths["interpolation"] = out / "interpolation.png"
        fig.savefig(paths["interpolation"], dpi=120)
        plt.close(fig)

    for key, side in (("cluster_histories", cluster), ("network_histories", network)):
        paths[key] = out / f"{key}.png"
        plot_histories(side.histories, str(paths[key]), title=f"{side.system}: L-BFGS from each start")
    return paths


def write_report(cluster: SideResult, network: SideResult, cfg: AtlasConfig, out: Path,
                 studies: list[Any] | None = None) -> Path:
    """Write ``index.html``, ``atlas.json`` and the PNG figures into ``out``; one section per
    case-study result in ``studies``."""
    from levinthal.report.html import HtmlReport

    out.mkdir(parents=True, exist_ok=True)
    figs = _figures(cluster, network, out)
    rep = HtmlReport("levinthal atlas: a cluster and a network, side by side")
    rep.paragraph(
        f"{cluster.system} ({cluster.starts} random starts) and {network.system} "
        f"({network.starts} random initialisations), seed {cfg.seed}. Every number below was "
        "measured in this run; nothing is asserted."
    )
    rep.heading("Where the analogy holds and where it breaks")
    rep.bullets(analogy_findings(cluster, network))

    rep.heading("Side by side")

    def row(label: str, f: Any) -> list[Any]:
        return [label, f(cluster), f(network)]

    def lowest(side: SideResult) -> Any:
        return side.distinct[0] if side.distinct else None

    rows = [
        row("dimension of x", lambda s: s.dim),
        row("random starts / converged", lambda s: f"{s.starts} / {s.converged}"),
        row("distinct minima (up to symmetry)", lambda s: len(s.distinct)),
        row("lowest energy found", lambda s: lowest(s).energy if lowest(s) else float("nan")),
        row("reference global minimum", lambda s: s.reference_energy if s.reference_energy
            is not None else "unknown"),
        row("starts reaching the lowest minimum", lambda s: lowest(s).hits if lowest(s) else 0),
        row("symmetry zero modes removed", lambda s: lowest(s).n_zero_modes if lowest(s) else 0),
        row("Hessian index of every minimum", lambda s: ", ".join(
            sorted({str(m.index) for m in s.distinct}))),
        row("flat eigenvalues (|λ| ≤ 1e-6·max|λ|) beyond symmetry, lowest minimum",
            lambda s: lowest(s).n_flat if lowest(s) else 0),
        row("largest eigenvalue λmax", lambda s: lowest(s).largest if lowest(s) else float("nan")),
        row("smallest non-flat eigenvalue", lambda s: lowest(s).smallest_nonzero if lowest(s)
            else float("nan")),
        row("held-out energy at lowest minimum", lambda s: lowest(s).test_energy
            if lowest(s) and lowest(s).test_energy is not None else "no data: not applicable"),
        row("converged points that were saddles (escaped along the unstable mode)",
            lambda s: s.saddle_escapes),
        row("gradient evaluations (all starts)", lambda s: s.gradient_calls),
        row("wall time (s)", lambda s: round(s.seconds, 1)),
        row("identity criterion", lambda s: s.identity),
    ]
    rep.table(["", cluster.system, network.system], rows)
    rep.figure(figs["levels"], "Distinct minima; line length ∝ number of starts that reached each")
    rep.figure(figs["spectra"], "Hessian spectrum at the lowest minimum (symmetric-log axis); red "
               "lines: curvature along the symmetry zero modes, removed before classification")
    if "interpolation" in figs:
        rep.figure(figs["interpolation"], "Energy on the straight line and on a trained quadratic "
                   "Bézier curve between the two lowest minima after symmetry alignment (network: "
                   "also the straight line without alignment)")
    kin = cluster.kinetics
    if kin:
        rep.heading(f"{cluster.system}: the kinetic transition network")
        text = (f"The {kin['minima']} distinct minima were stored in {kin['database']} with their "
                f"Hessian data; {kin['connect_attempts']} connect runs ({kin['connect_converged']} joined "
                f"their pair, {kin['gradient_calls']} gradients, {kin['hvps']} HVPs) found "
                f"{kin['transition_states']} verified transition states, joining "
                f"{kin['joined_to_global_minimum']} minima to the global minimum.")
        if "funnels" in kin:
            f0 = kin["funnels"]
            r = kin["rates"]
            text += (f" Monotonic sequences drain them into {len(f0)} funnel(s); "
                     f"{kin['fraction_in_global_funnel']:.0%} reach the global minimum's. HTST at "
                     f"kT = {r['temperature']:g}: k(global minimum → {r['to_energy']:.4f}) = "
                     f"{r['k_ab']:.3g}, back {r['k_ba']:.3g}; equilibrium occupation {r['p_a']:.3g} vs "
                     f"{r['p_b']:.3g}. Harmonic-superposition heat capacity peaks at kT = "
                     f"{kin['heat_capacity_peak']['temperature']:.3g} "
                     f"({kin['heat_capacity_peak']['cv']:.4g} k_B).")
        rep.paragraph(text)
        if "dgraph_figure" in kin:
            rep.figure(out / kin["dgraph_figure"], "Disconnectivity graph (Becker & Karplus 1997) of the "
                       "stored minima joined to the global minimum")
            rep.figure(out / kin["heat_capacity_figure"], "Heat capacity from the harmonic superposition "
                       "of the stored minima (zero modes removed, point-group orders included)")
        rep.paragraph(f"{network.system}: its minima are compared by barriers along curves above; no "
                      "transition-state network was built for it in this run (connect on the network's "
                      f"{network.dim} parameters is left to 'levinthal explore {network.system} "
                      "--method grow').", css="note")
    for side, key in ((cluster, "cluster_histories"), (network, "network_histories")):
        rep.heading(f"{side.system}: minima")
        rep.table(
            ["energy", "hits", "kind", "index", "zero modes", "flat", "λmax", "smallest non-flat",
             "held-out energy", "why"],
            [[m.energy, m.hits, m.kind, m.index, m.n_zero_modes, m.n_flat, m.largest,
              m.smallest_nonzero, m.test_energy if m.test_energy is not None else "—", m.reason]
             for m in side.distinct],
        )
        rep.figure(figs[key], "convergence of every start")
    if studies:
        from levinthal.report.studies import add_study_section

        rep.heading("Case studies", level=1)
        rep.paragraph(f"{len(studies)} studies in their {cfg.study_size} configuration; each reports what it "
                      "measured, also where that contradicts the claim it tests.", css="note")
        for result in studies:
            add_study_section(rep, result)
    rep.paragraph("Reproduce: levinthal atlas --seed "
                  f"{cfg.seed} --cluster-starts {cfg.cluster_starts} --network-starts "
                  f"{cfg.network_starts}", css="note")
    path = rep.write(out / "index.html")
    data = {"config": asdict(cfg), "cluster": _side_json(cluster), "network": _side_json(network),
            "findings": analogy_findings(cluster, network),
            "studies": [r.as_dict() for r in studies or []]}
    (out / "atlas.json").write_text(json.dumps(data, indent=2, default=float))
    return path


def _side_json(side: SideResult) -> dict[str, Any]:
    d = asdict(side)
    d.pop("histories")
    d.pop("minima_points")
    return d


def kinetic_network(side: SideResult, cfg: AtlasConfig, out: Path) -> dict[str, Any]:
    """Store the cluster's distinct minima (with Hessian data) in ``out/atlas.db`` (SQLite), join
    them to the global minimum with up to ``cfg.grow_connections`` connect runs, and measure the
    resulting network: disconnectivity graph, funnels, HTST rate constants between the global
    minimum and the next funnel bottom (or the second-lowest minimum) at
    ``cfg.kinetics_temperature``, and the harmonic-superposition heat capacity."""
    from levinthal.network import (
        Database,
        database_network,
        disconnectivity_graph,
        funnels,
        grow_network,
        harmonic_superposition,
        rate_constants,
    )
    from levinthal.network.funnels import rival_minimum
    from levinthal.network.grow import add_minimum_with_data
    from levinthal.plots import pyplot
    from levinthal.plots.dgraph import plot_disconnectivity_graph
    from levinthal.systems import make_system

    land = make_system(side.system, seed=cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Database(out / "atlas.db") as db:
        run = db.start_run(land, "atlas", {"starts": cfg.cluster_starts, "grow": cfg.grow_connections},
                           seed=cfg.seed)
        for x, e in side.minima_points:
            add_minimum_with_data(db, land, x, e, run=run, source="atlas")
        grown = grow_network(db, land, run=run, n_connections=cfg.grow_connections, rng=cfg.seed,
                             connect_options={"max_cycles": cfg.connect_cycles})
        db.finish_run(run)
        net = database_network(db, land)
        url = db.safe_url
    sub = net.joined_to_global_minimum()
    info: dict[str, Any] = {
        "database": url, "minima": net.n_minima, "transition_states": net.n_transition_states,
        "joined_to_global_minimum": sub.n_minima, "connect_attempts": grown.attempts,
        "connect_converged": grown.converged, "grow_message": grown.message,
        "gradient_calls": grown.counts.get("gradient", 0), "hvps": grown.counts.get("hvp", 0),
    }
    if sub.n_minima >= 2 and sub.n_transition_states >= 1:
        fun = funnels(sub)
        info["funnels"] = [{"bottom_energy": float(sub.energies[b]), "size": int(n), "depth": float(dep)}
                           for b, n, dep in zip(fun.bottoms, fun.sizes, fun.depths, strict=True)]
        info["fraction_in_global_funnel"] = float(fun.fraction_global)
        gm = sub.global_minimum
        other = rival_minimum(sub, fun)
        T = cfg.kinetics_temperature
        k = rate_constants(sub, [gm], [other], T)
        info["rates"] = {"temperature": T, "from_energy": float(sub.energies[gm]),
                         "to_energy": float(sub.energies[other]), "k_ab": k.k_nss_ab, "k_ba": k.k_nss_ba,
                         "mfpt_ab": k.tau_ab, "p_a": k.p_a, "p_b": k.p_b}
        temps = np.linspace(0.02, 0.5, 49)
        th = harmonic_superposition(sub, temps)
        j = int(np.argmax(th.heat_capacity))
        info["heat_capacity_peak"] = {"temperature": float(temps[j]), "cv": float(th.heat_capacity[j])}
        graph = disconnectivity_graph(sub, n_levels=20)
        fig_path = out / "dgraph_cluster.png"
        plot_disconnectivity_graph(graph, str(fig_path), title=f"{side.system}: {sub.n_minima} minima "
                                   f"joined by {sub.n_transition_states} transition states")
        info["dgraph_figure"] = fig_path.name
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(temps, th.heat_capacity)
        ax.set(xlabel="kT (ε)", ylabel="C_v / k_B", title=f"{side.system}: harmonic superposition")
        fig.tight_layout()
        fig.savefig(out / "heat_capacity_cluster.png", dpi=120)
        plt.close(fig)
        info["heat_capacity_figure"] = "heat_capacity_cluster.png"
    info["seconds"] = time.perf_counter() - t0
    return info


def run_atlas(cfg: AtlasConfig, out: Path) -> Path:
    """Survey both landscapes, build the cluster's kinetic network in ``out/atlas.db`` and write
    the report; returns the path of ``index.html``."""
    cluster = survey_cluster(cfg)
    if cfg.grow_connections > 0 and len(cluster.minima_points) >= 2:
        cluster.kinetics = kinetic_network(cluster, cfg, Path(out))
    network = survey_network(cfg)
    studies = run_studies(cfg, Path(out))
    return write_report(cluster, network, cfg, Path(out), studies=studies)


def run_studies(cfg: AtlasConfig, out: Path) -> list[Any]:
    """Run the case studies named in ``cfg.studies`` (``"all"``: every one) in ``cfg.study_size``
    configuration, each writing its figures into ``out/studies/NAME``."""
    from levinthal.studies import get_study, study_names

    names = study_names() if "all" in cfg.studies else list(cfg.studies)
    results = []
    for name in _progress(names, cfg.quiet or not names, "case studies"):
        study = get_study(name)
        config = study.Config.small() if cfg.study_size == "small" else study.Config.full()
        if hasattr(config, "seed"):
            config.seed = cfg.seed
        folder = out / "studies" / study.NAME
        folder.mkdir(parents=True, exist_ok=True)
        results.append(study.run(config, folder))
    return results
