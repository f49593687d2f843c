"""``levinthal mode-connect SYSTEM``: two minima, the barrier on the straight line between them
(before and after symmetry alignment), and a trained Bézier curve (Garipov et al. 2018).

For a network (``mlp-digits`` ...) the two minima are two trainings from different
initialisations (seeds ``--seed`` and ``--seed + 1``, same data) of the loss with weight decay
``--l2``, by L-BFGS (memory 20, step cap 1.0); the paths are evaluated on the training loss
without the penalty. For any other system they are the two lowest distinct minima quenched
from random starts. The Bézier curve joins the raw end points for a network (the
mode-connectivity experiment of Garipov et al.) and the aligned ones for a cluster (whose
raw straight line pushes atoms through each other).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("mode-connect", help="barriers between two minima: straight line, aligned, Bézier")
    p.add_argument("system", help="system name, e.g. mlp-digits, lj7")
    p.add_argument("--steps", type=int, default=300, help="Bézier training steps (default 300)")
    p.add_argument("--lr", type=float, default=0.01, help="Bézier Adam step size (default 0.01)")
    p.add_argument("--samples", type=int, default=8, help="t samples per Bézier step (default 8)")
    p.add_argument("--points", type=int, default=25, help="points per profile (default 25)")
    p.add_argument("--l2", type=float, default=1e-3,
                   help="weight decay ½λ‖x‖² for training networks (default 1e-3; ignored otherwise)")
    p.add_argument("--rms-tol", type=float, default=1e-5, help="RMS-gradient tolerance of the minima")
    p.add_argument("--max-iterations", type=int, default=5000, help="minimiser steps per minimum")
    p.add_argument("--n-train", type=int, default=None, help="networks: use only this many training samples")
    p.add_argument("--starts", type=int, default=40, help="non-networks: random starts to find two minima")
    p.add_argument("--plot", help="write the three profiles to this image file")
    add_common(p)
    p.set_defaults(run=run)


def _options(args: Any) -> dict[str, Any]:
    return {} if args.n_train is None else {"n_train": args.n_train}


def _is_network(land: Any) -> bool:
    from levinthal.landscape import unwrap
    from levinthal.systems.networks.landscape import NetworkLandscape

    return isinstance(unwrap(land), NetworkLandscape)


def _two_networks(args: Any, land: Any) -> tuple[Any, Any, Any, list[dict[str, Any]]]:
    from levinthal.minimize import minimize
    from levinthal.systems import make_system
    from levinthal.systems.regularized import L2Regularized

    runs, rows = [], []
    for seed in (args.seed, args.seed + 1):
        net = land if seed == args.seed else make_system(args.system, seed=seed, **_options(args))
        target = L2Regularized(net, args.l2) if args.l2 > 0 else net
        r = minimize(target, net.initial_point(), memory=20, max_step=1.0, rms_tol=args.rms_tol,
                     max_iterations=args.max_iterations)
        runs.append(r)
        rows.append({"seed": seed, "objective": r.energy, "loss": land.energy(r.x), "converged": r.converged,
                     "iterations": r.iterations, "message": r.message})
    return land, runs[0].x, runs[1].x, rows


def _two_minima(args: Any, land: Any) -> tuple[Any, Any, list[dict[str, Any]]]:
    from levinthal.minimize import minimize

    if not hasattr(land, "random_point"):
        raise SystemExit(f"levinthal: {land.name} cannot draw random starting points")
    rng = np.random.default_rng(args.seed)
    found: list[Any] = []
    for _ in range(args.starts):
        r = minimize(land, land.random_point(rng), rms_tol=args.rms_tol, max_iterations=args.max_iterations)
        if r.converged and all(abs(r.energy - f.energy) > 1e-6 for f in found):
            found.append(r)
    if len(found) < 2:
        raise SystemExit(
            f"levinthal: {args.starts} starts on {land.name} found fewer than two distinct minima")
    found.sort(key=lambda r: r.energy)
    rows = [{"energy": r.energy, "converged": r.converged, "iterations": r.iterations} for r in found[:2]]
    return found[0].x, found[1].x, rows


def run(args: Any) -> int:
    from levinthal.paths.bezier import fit_bezier
    from levinthal.paths.network_barriers import aligned_barrier
    from levinthal.systems import make_system

    try:
        land = make_system(args.system, seed=args.seed, **_options(args))
    except TypeError as exc:
        raise SystemExit(f"levinthal: {args.system} does not take --n-train ({exc})") from exc
    network = _is_network(land)
    if network:
        land, a, b, minima = _two_networks(args, land)
    else:
        a, b, minima = _two_minima(args, land)
    aligned = aligned_barrier(land, a, b, n_points=args.points)
    ends = (a, b) if network else (a, aligned.b_aligned)
    curve = fit_bezier(land, *ends, steps=args.steps, lr=args.lr, samples_per_step=args.samples,
                       rng=np.random.default_rng(args.seed))
    bezier = curve.profile(args.points)
    profiles = {"straight line": aligned.before, "straight line, aligned": aligned.after,
                f"Bézier ({'raw' if network else 'aligned'} ends)": bezier}
    summary = {
        "system": land.name,
        "dim": land.dim,
        "minima": minima,
        "linear_barrier": aligned.before.barrier,
        "aligned_barrier": aligned.after.barrier,
        "linear_max": aligned.before.max_energy,
        "aligned_max": aligned.after.max_energy,
        "bezier_max": bezier.max_energy,
        "bezier_barrier": bezier.barrier,
        "bezier_ends": "raw" if network else "aligned",
        "distance_before": aligned.distance_before,
        "distance_after": aligned.distance_after,
        "bezier": curve.as_dict(),
        "profiles": {k: p.as_dict() for k, p in profiles.items()},
    }
    if args.plot:
        from levinthal.plots.network_paths import plot_path_profiles

        plot_path_profiles(profiles, args.plot, title=f"{land.name}: paths between two minima",
                           ylabel="training loss" if network else "energy")
    if args.json:
        emit_json(summary)
        return 0
    print(f"{land.name} (dim {land.dim})")
    for row in minima:
        print("  minimum: " + ", ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in row.items()))
    print(f"  distance ‖a − b‖ {aligned.distance_before:.4g}, after alignment {aligned.distance_after:.4g}")
    print(f"  {'path':<28} {'barrier':>10} {'max E':>12}")
    for label, p in profiles.items():
        print(f"  {label:<28} {p.barrier:>10.4g} {p.max_energy:>12.6g}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
