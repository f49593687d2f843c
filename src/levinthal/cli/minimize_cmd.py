"""``levinthal minimize SYSTEM``: local minimisation from one or several random starts."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, progress


def add_parser(sub: Any) -> None:
    p = sub.add_parser("minimize", help="minimise a system from random starts")
    p.add_argument("system", help="system name, e.g. lj13, muller-brown, mlp-digits")
    p.add_argument("--method", default="lbfgs", choices=["lbfgs", "fire", "gradient-flow"])
    p.add_argument("--starts", type=int, default=1, help="number of random starting points")
    p.add_argument("--rms-tol", type=float, default=1e-5, help="RMS-gradient tolerance")
    p.add_argument("--max-iterations", type=int, default=10000)
    p.add_argument("--l2", type=float, default=0.0, help="add ½ λ‖x‖² (weight decay)")
    p.add_argument("--save", help="write the minima to this .npz file")
    p.add_argument("--plot", help="write the convergence histories to this image file")
    add_common(p)
    p.set_defaults(run=run)


def build_landscape(name: str, seed: int, l2: float = 0.0) -> Any:
    from levinthal.systems import make_system

    land = make_system(name, seed=seed)
    if l2 > 0:
        from levinthal.systems.regularized import L2Regularized

        land = L2Regularized(land, l2)
    return land


def run(args: Any) -> int:
    from levinthal.landscape import to_numpy
    from levinthal.minimize import minimize

    land = build_landscape(args.system, args.seed, args.l2)
    rng = np.random.default_rng(args.seed)
    if not hasattr(land, "random_point"):
        raise SystemExit(f"levinthal: {land.name} cannot draw random starting points")
    starts = [land.random_point(rng) for _ in range(args.starts)]
    options = {"rms_tol": args.rms_tol, "max_iterations": args.max_iterations}
    if args.method == "gradient-flow":
        options = {"rms_tol": args.rms_tol}
    results = []
    for x0 in progress(starts, args.quiet or args.starts == 1, desc=f"{args.method} {land.name}"):
        results.append(minimize(land, x0, method=args.method, **options))
    rows = [
        {
            "start": i,
            "energy": r.energy,
            "rms_gradient": r.rms_gradient,
            "iterations": r.iterations,
            "converged": r.converged,
            "message": r.message,
            "counts": r.counts.as_dict(),
        }
        for i, r in enumerate(results)
    ]
    if args.save:
        np.savez(args.save, minima=np.stack([to_numpy(r.x) for r in results]),
                 energies=np.array([r.energy for r in results]), system=args.system)
    if args.plot:
        from levinthal.plots.minima import plot_histories

        plot_histories([r.history for r in results], args.plot, title=f"{land.name}: {args.method}")
    if args.json:
        emit_json({"system": land.name, "dim": land.dim, "method": args.method, "results": rows})
        return 0 if all(r.converged for r in results) else 1
    print(f"{land.name} (dim {land.dim}), {args.method}, {len(results)} start(s)")
    print(f"{'start':>5} {'energy':>16} {'rms grad':>10} {'iters':>6} {'E+g calls':>9}  status")
    for row in sorted(rows, key=lambda r: r["energy"]):
        status = "converged" if row["converged"] else f"NOT converged: {row['message']}"
        print(f"{row['start']:>5} {row['energy']:>16.8f} {row['rms_gradient']:>10.2e} "
              f"{row['iterations']:>6} {row['counts']['gradient']:>9}  {status}")
    if args.save:
        print(f"minima written to {args.save}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0 if all(r.converged for r in results) else 1
