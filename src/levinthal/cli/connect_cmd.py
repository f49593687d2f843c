"""``levinthal connect SYSTEM A B``: a pathway of minima and verified transition states from A to B."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_endpoints, progress


def add_parser(sub: Any) -> None:
    p = sub.add_parser("connect", help="connected pathway of minima and transition states between two minima")
    p.add_argument("system", help="system name, e.g. muller-brown, lj7")
    p.add_argument("endpoints", nargs="*", metavar="POINT",
                   help="the two minima A B as .npy vectors or .npz files (key 'x' or 'minima')")
    p.add_argument("--minima", help="an .npz written by 'levinthal minimize --save' (key 'minima')")
    p.add_argument("--pair", type=int, nargs=2, metavar=("I", "J"), help="rows of --minima to connect")
    p.add_argument("--max-cycles", type=int, default=30, help="budget of NEB cycles (default 30)")
    p.add_argument("--images", type=int, default=6, help="NEB images of a first attempt (default 6)")
    p.add_argument("--rms-tol", type=float, default=1e-5,
                   help="RMS gradient of minima and transition states (default 1e-5)")
    p.add_argument("--no-profile", action="store_true",
                   help="do not integrate steepest-descent paths (profile through stationary points only)")
    p.add_argument("--plot", help="write the energy profile (and, in 2-D, the pathway on the map) here")
    add_common(p)
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.paths.connect import connect
    from levinthal.systems import make_system

    land = make_system(args.system, seed=args.seed)
    a, b = load_endpoints(args, land, "connect")
    bar = progress(None, args.quiet or args.json, total=args.max_cycles, desc="connect cycles", unit="cycle")

    def tick(cycle: int, text: str) -> None:
        bar.update(1)
        bar.set_postfix_str(text)

    try:
        res = connect(land, a, b, max_cycles=args.max_cycles, n_images=args.images, rms_tol=args.rms_tol,
                      rng=np.random.default_rng(args.seed), record_profile=not args.no_profile,
                      progress=tick)
    except ValueError as exc:
        raise SystemExit(f"levinthal connect: {exc}") from None
    finally:
        bar.close()
    if args.plot and res.converged:
        from levinthal.plots.connect import plot_connect

        plot_connect(res, args.plot, landscape=land, title=f"{land.name}: connected pathway A → B")
    if args.json:
        emit_json({"system": land.name, "dim": land.dim, **res.as_dict()})
        return 0 if res.converged else 1
    print(f"{land.name} (dim {land.dim}): connect, {res.cycles} cycles, {len(res.minima)} minima, "
          f"{len(res.transition_states)} transition states found")
    if res.converged:
        e0 = res.minima[0][1]
        print(f"{'step':>4} {'kind':>4} {'index':>5} {'energy':>16} {'E - E(A)':>12}")
        for n, ((kind, i), e) in enumerate(zip(res.path, res.path_energies(), strict=True)):
            print(f"{n:>4} {kind:>4} {i:>5} {e:>16.8f} {e - e0:>12.6f}")
        print(f"highest barrier from A {res.highest_barrier:.8g}")
    print(f"force calls {res.counts.gradient}, Hessian-vector products {res.counts.hvp}")
    print(res.message)
    if args.plot:
        print(f"plot written to {args.plot}" if res.converged else "no plot: A and B were not connected")
    return 0 if res.converged else 1
