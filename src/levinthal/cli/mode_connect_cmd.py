"""``levinthal mode-connect SYSTEM``: two minima, the barrier on the straight line between them
(before and after symmetry alignment), and a trained Bézier curve (Garipov et al. 2018).

For a network (``mlp-digits`` ...) the two minima are two trainings from different
initialisations (seeds ``--seed`` and ``--seed + 1``, same data) of the loss with weight decay
``--l2``, by L-BFGS (memory 20, step cap 1.0); the paths are evaluated on the training loss
without the penalty. For any other system they are the two lowest distinct minima quenched
from random starts. The Bézier curve joins the raw end points for a network (the
mode-connectivity experiment of Garipov et al.) and the aligned ones for a cluster (whose
raw straight line pushes atoms through each other).

``--batch-norm`` (``cnn-digits``): the networks get BatchNorm layers, are trained with batch
statistics (``mode="train"``, full batch) and the Bézier curve too; every profile is then
evaluated in eval mode with the running statistics recomputed from the training data at each
point (Garipov et al. 2018). A network that weight matching cannot parse (a CNN) gets no
aligned profile; the other two are still reported.
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
    p.add_argument("--batch-norm", action="store_true",
                   help="networks with BatchNorm (cnn-digits): train with batch statistics, evaluate with "
                        "statistics recomputed at every point")
    p.add_argument("--starts", type=int, default=40, help="non-networks: random starts to find two minima")
    p.add_argument("--plot", help="write the three profiles to this image file")
    add_common(p)
    p.set_defaults(run=run)


def _options(args: Any, mode: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {} if args.n_train is None else {"n_train": args.n_train}
    if args.batch_norm:
        options["batch_norm"] = True
    if mode is not None:
        options["mode"] = mode
    return options


def _is_network(land: Any) -> bool:
    from levinthal.landscape import unwrap
    from levinthal.systems.networks.landscape import NetworkLandscape

    return isinstance(unwrap(land), NetworkLandscape)


def _two_networks(args: Any, land: Any, train_land: Any) -> tuple[Any, Any, list[dict[str, Any]]]:
    from levinthal.minimize import minimize
    from levinthal.systems import make_system
    from levinthal.systems.regularized import L2Regularized

    runs, rows = [], []
    for seed in (args.seed, args.seed + 1):
        net = land if seed == args.seed else make_system(args.system, seed=seed, **_options(args))
        target = L2Regularized(train_land, args.l2) if args.l2 > 0 else train_land
        r = minimize(target, net.initial_point(), memory=20, max_step=1.0, rms_tol=args.rms_tol,
                     max_iterations=args.max_iterations)
        runs.append(r)
        rows.append({"seed": seed, "objective": r.energy, "loss": train_land.energy(r.x),
                     "converged": r.converged, "iterations": r.iterations, "message": r.message})
    return runs[0].x, runs[1].x, rows


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
    from levinthal.landscape import NotSupportedError, vnorm
    from levinthal.paths.bezier import fit_bezier
    from levinthal.paths.network_barriers import aligned_barrier, linear_barrier
    from levinthal.systems import make_system

    try:
        land = make_system(args.system, seed=args.seed, **_options(args))
    except TypeError as exc:
        raise SystemExit(f"levinthal: {args.system} does not take --n-train / --batch-norm ({exc})") from exc
    network = _is_network(land)
    train_land = land
    if network and args.batch_norm:
        train_land = make_system(args.system, seed=args.seed, **_options(args, mode="train"))
    if network:
        a, b, minima = _two_networks(args, land, train_land)
    else:
        a, b, minima = _two_minima(args, land)
    try:
        aligned = aligned_barrier(land, a, b, n_points=args.points)
        before, after, b_aligned = aligned.before, aligned.after, aligned.b_aligned
        distances = (aligned.distance_before, aligned.distance_after)
        not_aligned = None
    except NotSupportedError as exc:
        if not network:
            raise
        before, after, b_aligned = linear_barrier(land, a, b, n_points=args.points), None, None
        distances = (vnorm(a - b), None)
        not_aligned = str(exc)
    ends = (a, b) if network else (a, b_aligned)
    curve = fit_bezier(train_land, *ends, steps=args.steps, lr=args.lr, samples_per_step=args.samples,
                       rng=np.random.default_rng(args.seed))
    bezier = curve.profile(args.points, landscape=land)
    profiles = {"straight line": before, "straight line, aligned": after,
                f"Bézier ({'raw' if network else 'aligned'} ends)": bezier}
    profiles = {k: p for k, p in profiles.items() if p is not None}
    summary = {
        "system": land.name,
        "dim": land.dim,
        "minima": minima,
        "linear_barrier": before.barrier,
        "aligned_barrier": None if after is None else after.barrier,
        "linear_max": before.max_energy,
        "aligned_max": None if after is None else after.max_energy,
        "bezier_max": bezier.max_energy,
        "bezier_barrier": bezier.barrier,
        "bezier_ends": "raw" if network else "aligned",
        "distance_before": distances[0],
        "distance_after": distances[1],
        "not_aligned": not_aligned,
        "batchnorm_recomputed": before.batchnorm_recomputed,
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
    if not_aligned:
        print(f"  distance ‖a − b‖ {distances[0]:.4g}; not aligned: {not_aligned}")
    else:
        print(f"  distance ‖a − b‖ {distances[0]:.4g}, after alignment {distances[1]:.4g}")
    if before.batchnorm_recomputed:
        print("  BatchNorm statistics recomputed from the training data at every point")
    print(f"  {'path':<28} {'barrier':>10} {'max E':>12}")
    for label, p in profiles.items():
        print(f"  {label:<28} {p.barrier:>10.4g} {p.max_energy:>12.6g}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
