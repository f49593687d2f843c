"""``levinthal slice SYSTEM``: a 1-D or 2-D slice through a point along random directions
(filter-normalised for networks, Li et al. 2018), saved as ``.npz`` + ``.json`` with
contour/surface (or curve) figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("slice", help="1-D/2-D slice along random (filter-normalised) directions")
    p.add_argument("system", help="system name, e.g. mlp-digits, lj13, muller-brown")
    p.add_argument("--point", help=".npy/.npz point (default: minimise from a random start)")
    p.add_argument("--no-minimize", action="store_true",
                   help="without --point, slice at the random start itself instead of a minimum")
    p.add_argument("--dims", type=int, default=2, choices=[1, 2])
    p.add_argument("--resolution", type=int, default=25, help="grid points per axis (default 25)")
    p.add_argument("--range", type=float, nargs=2, default=[-1.0, 1.0], metavar=("LO", "HI"),
                   help="coefficient range along each direction (default -1 1)")
    p.add_argument("--normalization", default=None,
                   choices=["filter", "layer", "model", "unit", "none"],
                   help="direction scaling (default: filter for networks, unit otherwise)")
    p.add_argument("--biases", default="zero", choices=["zero", "include", "filter"],
                   help="biases/BatchNorm parameters in filter normalisation (default zero)")
    p.add_argument("--orthogonal", action="store_true", help="Gram-Schmidt the second direction")
    p.add_argument("--accuracy", action="store_true", help="also record accuracy (classifiers)")
    p.add_argument("--log-levels", action="store_true", help="log-spaced contour levels")
    p.add_argument("--l2", type=float, default=0.0, help="add ½ λ‖x‖² (weight decay)")
    p.add_argument("--out", default="slice", help="output folder (default ./slice)")
    add_common(p)
    p.set_defaults(run=run)


def start_point(args: Any, land: Any, rng: np.random.Generator) -> Any:
    """The ``--point`` file, else a minimum from a random start (or the start itself)."""
    if args.point:
        return load_point(args.point, land)
    if not hasattr(land, "random_point"):
        raise SystemExit(f"levinthal: {land.name} cannot draw a random point; pass --point")
    x = land.random_point(rng)
    if args.no_minimize:
        return x
    from levinthal.minimize import minimize

    res = minimize(land, x, rms_tol=1e-5, max_iterations=2000)
    if not res.converged and not args.quiet:
        print(f"warning: minimisation did not converge ({res.message}); slicing at its end point")
    return res.x


def run(args: Any) -> int:
    from levinthal.cli.minimize_cmd import build_landscape
    from levinthal.landscape.errors import LandscapeError
    from levinthal.plots.slices import plot_contour, plot_curve, plot_surface
    from levinthal.slices import grid_1d, grid_2d, random_directions
    from levinthal.slices.io import save_grid

    land = build_landscape(args.system, args.seed, args.l2)
    rng = np.random.default_rng(args.seed)
    x = start_point(args, land, rng)
    try:
        d = random_directions(land, x, args.dims, seed=args.seed, normalization=args.normalization,
                              biases=args.biases, orthogonal=args.orthogonal)
        lo, hi = args.range
        grid_fn = grid_1d if args.dims == 1 else grid_2d
        grid = grid_fn(land, x, d, range=(lo, hi), resolution=args.resolution, accuracy=args.accuracy)
    except LandscapeError as exc:
        raise SystemExit(f"levinthal slice: {exc}") from exc
    out = Path(args.out)
    npz, js = save_grid(grid, out / "slice")
    figures = []
    if args.dims == 1:
        figures.append(out / "slice_curve.png")
        plot_curve(grid, str(figures[0]), log=args.log_levels)
    else:
        figures += [out / "slice_contour.png", out / "slice_surface.png"]
        plot_contour(grid, str(figures[0]), log=args.log_levels)
        plot_surface(grid, str(figures[1]))
    E = grid.energies
    summary = {
        "system": land.name, "dims": args.dims, "shape": list(E.shape),
        "center_energy": grid.center_energy,
        "min_energy": float(np.nanmin(E)) if np.isfinite(E).any() else None,
        "max_energy": float(np.nanmax(E)) if np.isfinite(E).any() else None,
        "nan_points": int((~np.isfinite(E)).sum()),
        "evaluator": grid.metadata["evaluator"], "seconds": grid.metadata["seconds"],
        "directions": grid.metadata["directions"],
        "files": [str(npz), str(js), *map(str, figures)],
    }
    if args.json:
        emit_json(summary)
        return 0
    print(f"{land.name}: {args.dims}-D slice {'x'.join(map(str, E.shape))} in {summary['seconds']:.2f} s "
          f"({summary['evaluator']['method']}); energy at centre {summary['center_energy']:.6g}, "
          f"range [{summary['min_energy']:.6g}, {summary['max_energy']:.6g}], {summary['nan_points']} NaN")
    for f in summary["files"]:
        print(f"  wrote {f}")
    return 0
