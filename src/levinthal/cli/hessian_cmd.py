"""``levinthal hessian SYSTEM``: spectrum summary and Hessian index at a point."""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("hessian", help="Hessian spectrum and index at a point (a minimum by default)")
    p.add_argument("system")
    p.add_argument("--point", help=".npy/.npz point (default: minimise from a random start)")
    p.add_argument("--k", type=int, default=6, help="extreme eigenvalues to report at each end")
    p.add_argument("--rms-tol", type=float, default=1e-4,
                   help="RMS gradient below which the point counts as stationary")
    p.add_argument("--l2", type=float, default=0.0, help="add ½ λ‖x‖² (weight decay)")
    p.add_argument("--plot", help="write the spectrum to this image file")
    add_common(p)
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.cli.minimize_cmd import build_landscape
    from levinthal.curvature.summary import spectrum_summary

    land = build_landscape(args.system, args.seed, args.l2)
    rng = np.random.default_rng(args.seed)
    if args.point:
        x = load_point(args.point, land)
    else:
        from levinthal.minimize import minimize

        res = minimize(land, land.random_point(rng), rms_tol=min(args.rms_tol, 1e-6) / 10)
        if not res.converged:
            print(f"warning: minimisation did not converge ({res.message}); analysing its end point")
        x = res.x
    summary = spectrum_summary(land, x, k=args.k, rms_tol=args.rms_tol, rng=rng)
    if args.plot:
        from levinthal.plots.spectra import plot_spectrum

        plot_spectrum(summary, args.plot, title=land.name)
    if args.json:
        emit_json(summary.as_dict())
        return 0
    print(summary.text())
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
