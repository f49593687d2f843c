"""``levinthal path SYSTEM A B``: climbing-image nudged elastic band between two minima."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_endpoints


def add_parser(sub: Any) -> None:
    p = sub.add_parser("path", help="nudged elastic band (climbing image) between two minima")
    p.add_argument("system", help="system name, e.g. muller-brown, lj7")
    p.add_argument("endpoints", nargs="*", metavar="POINT",
                   help="the two endpoints A B as .npy vectors or .npz files (key 'x' or 'minima')")
    p.add_argument("--minima", help="an .npz written by 'levinthal minimize --save'")
    p.add_argument("--pair", type=int, nargs=2, metavar=("I", "J"), help="rows of --minima to connect")
    p.add_argument("--images", type=int, default=8, help="movable images (default 8)")
    p.add_argument("--spring", type=float, default=None,
                   help="spring constant, energy/length² (default: ΔE/L² of the initial band)")
    p.add_argument("--no-climb", action="store_true", help="plain NEB (no climbing image)")
    p.add_argument("--doubly-nudged", action="store_true", help="doubly nudged elastic band")
    p.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "fire"])
    p.add_argument("--insert", action="store_true", help="grow the band by AutoNEB image insertion")
    p.add_argument("--rms-tol", type=float, default=1e-3, help="largest image NEB force, RMS (default 1e-3)")
    p.add_argument("--max-iterations", type=int, default=1000)
    p.add_argument("--no-refine", action="store_true", help="do not refine the climbing image")
    p.add_argument("--endpoints", dest="endpoint_policy", default="warn", choices=["warn", "raise", "quench"],
                   help="what to do when an endpoint is not a minimum (default warn)")
    p.add_argument("--plot", help="write the energy profile (and, in 2-D, the band on the map) here")
    add_common(p)
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.landscape import to_numpy
    from levinthal.paths import neb
    from levinthal.systems import make_system

    land = make_system(args.system, seed=args.seed)
    a, b = load_endpoints(args, land, "path")
    try:
        res = neb(land, a, b, n_images=args.images, spring=args.spring, climbing=not args.no_climb,
                  doubly_nudged=args.doubly_nudged, optimizer=args.optimizer, rms_tol=args.rms_tol,
                  max_iterations=args.max_iterations, insert=args.insert, refine=not args.no_refine,
                  endpoints=args.endpoint_policy, rng=np.random.default_rng(args.seed))
    except ValueError as exc:
        raise SystemExit(f"levinthal path: {exc}") from None
    if args.plot:
        from levinthal.plots.paths import plot_band

        plot_band(res, args.plot, landscape=land, title=f"{land.name}: nudged elastic band")
    if args.json:
        out = {"system": land.name, "dim": land.dim, **res.as_dict()}
        out["images"] = to_numpy(res.images).tolist()
        emit_json(out)
        return 0 if res.converged else 1
    print(f"{land.name} (dim {land.dim}): {'climbing-image ' if res.climbing else ''}NEB, "
          f"{res.n_images - 2} images, {res.optimizer}")
    print(f"{'image':>5} {'path length':>12} {'energy':>16}")
    for i, (s, e) in enumerate(zip(res.path_length, res.energies, strict=True)):
        mark = "  <- highest" if i == res.highest_image else ""
        print(f"{i:>5} {s:>12.6f} {e:>16.8f}{mark}")
    print(f"barrier forward {res.barrier_forward:.8g}, backward {res.barrier_backward:.8g} "
          f"(from the {res.barrier_source})")
    print(f"spring {res.spring:.4g}; force calls {res.counts.gradient}, "
          f"Hessian-vector products {res.counts.hvp}")
    print(res.message)
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0 if res.converged else 1
