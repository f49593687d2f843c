"""``levinthal saddle SYSTEM``: a single-ended transition-state search, verified.

From a point (``--point FILE``) or from a random minimum displaced at random
(``--from-minimum``, the default), run the dimer method or hybrid eigenvector following,
verify the end point (index exactly 1 after zero modes removed) and, for a transition state,
descend to the two minima it connects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("saddle", help="find and verify a transition state (dimer or eigenvector following)")
    p.add_argument("system", help="system name, e.g. muller-brown, lj7, lj38")
    p.add_argument("--method", default="dimer", choices=["dimer", "ef"],
                   help="dimer (gradients only) or hybrid eigenvector following (Lanczos on HVPs)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--point", help="start from this .npy/.npz point")
    start.add_argument("--from-minimum", action="store_true",
                       help="start from a random minimum displaced at random (the default)")
    p.add_argument("--displacement", type=float, default=0.05,
                   help="std of the random displacement from the minimum (default 0.05)")
    p.add_argument("--rms-tol", type=float, default=1e-5, help="RMS-gradient tolerance (default 1e-5)")
    p.add_argument("--max-iterations", type=int, default=None, help="search budget (steps / cycles)")
    p.add_argument("--max-step", type=float, default=0.1)
    p.add_argument("--plot", help="2-D systems: write the contour map with the search path here")
    add_common(p)
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.landscape import to_numpy
    from levinthal.minimize import minimize
    from levinthal.saddles import descend_from_saddle, dimer, eigenvector_following
    from levinthal.systems import make_system

    land = make_system(args.system, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    if args.point:
        x0 = load_point(args.point, land)
        start = f"point {args.point}"
    else:
        if not hasattr(land, "random_point"):
            raise SystemExit(f"levinthal: {land.name} cannot draw random points; give --point FILE")
        m = minimize(land, land.random_point(rng), rms_tol=args.rms_tol)
        x0 = m.x + args.displacement * rng.standard_normal(land.dim)
        start = f"minimum E = {m.energy:.8g} displaced by σ = {args.displacement}"
    options: dict[str, Any] = {"rms_tol": args.rms_tol, "max_step": args.max_step, "rng": rng}
    if args.max_iterations is not None:
        options["max_iterations"] = args.max_iterations
    search = dimer if args.method == "dimer" else eigenvector_following
    res = search(land, x0, **options)
    out: dict[str, Any] = {
        "system": land.name, "dim": land.dim, "method": res.method, "start": start,
        "transition_state": res.transition_state is not None, "energy": res.energy,
        "eigenvalue": res.eigenvalue, "index": res.index, "rms_gradient": res.rms_gradient,
        "iterations": res.iterations, "force_calls": res.counts.gradient, "hvp": res.counts.hvp,
        "counts": res.counts.as_dict(), "message": res.message,
    }
    minus = plus = path = None
    if res.transition_state is not None:
        minus, plus, path = descend_from_saddle(land, res.transition_state, rms_tol=args.rms_tol,
                                                record_path=land.dim <= 3)
        out["minus"] = {"energy": minus.energy, "converged": minus.converged}
        out["plus"] = {"energy": plus.energy, "converged": plus.converged}
        out["barriers"] = [res.energy - minus.energy, res.energy - plus.energy]
    if args.plot:
        if land.dim != 2:
            raise SystemExit(f"levinthal: --plot draws 2-D systems only; {land.name} has dim {land.dim}")
        from levinthal.plots.saddles import plot_search_2d

        h = res.history
        plot_search_2d(land, args.plot, search=np.column_stack([h["x0"], h["x1"]]),
                       saddle=to_numpy(res.x) if res.transition_state is not None else None,
                       descent=None if path is None else path["points"],
                       minima=[] if minus is None else [to_numpy(minus.x), to_numpy(plus.x)],
                       title=f"{land.name}: {res.method}")
    if args.json:
        emit_json(out)
        return 0 if res.transition_state is not None else 1
    print(f"{land.name} (dim {land.dim}), {res.method}, from {start}")
    verdict = "TRANSITION STATE" if res.transition_state is not None else "no transition state"
    print(f"  {verdict}: E = {res.energy:.10g}, eigenvalue = {res.eigenvalue:.6g}, index = {res.index}, "
          f"RMS gradient = {res.rms_gradient:.2e}")
    print(f"  {res.iterations} iterations, {res.counts.gradient} force calls, {res.counts.hvp} HVPs")
    print(f"  why: {res.message}")
    if minus is not None:
        print(f"  connects minima E− = {minus.energy:.10g} and E+ = {plus.energy:.10g} "
              f"(barriers {out['barriers'][0]:.6g}, {out['barriers'][1]:.6g})")
    if args.plot:
        print(f"  plot written to {args.plot}")
    return 0 if res.transition_state is not None else 1
