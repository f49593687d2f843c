"""``levinthal trajectory SYSTEM``: train with full-batch Adam or gradient descent, record
checkpoints, and draw the path over the loss on its PCA plane (Li et al. 2018, §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("trajectory", help="train, then plot the path on its PCA plane over the loss contours")
    p.add_argument("system", help="system name, e.g. mlp-digits")
    p.add_argument("--point", help=".npy/.npz start point (default: a random point / initialisation)")
    p.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    p.add_argument("--every", type=int, default=10, help="checkpoint every k steps (default 10)")
    p.add_argument("--method", default="adam", choices=["adam", "gd"])
    p.add_argument("--lr", type=float, default=1e-2, help="learning rate (default 0.01)")
    p.add_argument("--resolution", type=int, default=25, help="grid points per axis (default 25)")
    p.add_argument("--margin", type=float, default=0.2, help="grid margin around the path (fraction)")
    p.add_argument("--l2", type=float, default=0.0, help="add ½ λ‖x‖² (weight decay)")
    p.add_argument("--out", default="trajectory", help="output folder (default ./trajectory)")
    add_common(p)
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.cli.minimize_cmd import build_landscape
    from levinthal.landscape.errors import LandscapeError
    from levinthal.plots.slices import plot_trajectory
    from levinthal.slices.io import save_grid
    from levinthal.slices.trajectory import train, trajectory_grid

    land = build_landscape(args.system, args.seed, args.l2)
    rng = np.random.default_rng(args.seed)
    if args.point:
        x0 = load_point(args.point, land)
    elif hasattr(land, "initial_point"):
        x0 = land.initial_point()
    elif hasattr(land, "random_point"):
        x0 = land.random_point(rng)
    else:
        raise SystemExit(f"levinthal: {land.name} has no starting point; pass --point")
    try:
        traj = train(land, x0, steps=args.steps, every=args.every, method=args.method, learning_rate=args.lr)
        grid, pca = trajectory_grid(land, traj, resolution=args.resolution, margin=args.margin)
    except LandscapeError as exc:
        raise SystemExit(f"levinthal trajectory: {exc}") from exc
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "trajectory.npz", points=traj.points, steps=traj.steps, energies=traj.energies,
             coordinates=pca.coordinates)
    npz, js = save_grid(grid, out / "trajectory_grid")
    fig = out / "trajectory.png"
    plot_trajectory(grid, pca.coordinates, str(fig), title=f"{land.name}: {args.method} path",
                    steps=traj.steps)
    summary = {
        "system": land.name, "method": args.method, "steps": args.steps, "every": args.every,
        "checkpoints": len(traj.steps), "energy_start": float(traj.energies[0]),
        "energy_end": float(traj.energies[-1]),
        "explained_variance_ratio": pca.explained_variance_ratio.tolist(),
        "grid_seconds": grid.metadata["seconds"],
        "files": [str(out / "trajectory.npz"), str(npz), str(js), str(fig)],
    }
    if args.json:
        emit_json(summary)
        return 0
    ev = summary["explained_variance_ratio"]
    print(f"{land.name}: {args.method} {args.steps} steps, loss {summary['energy_start']:.4g} -> "
          f"{summary['energy_end']:.4g}; PCA plane shows {100 * ev[0]:.1f} % + {100 * ev[1]:.1f} % "
          "of the path's variance")
    for f in summary["files"]:
        print(f"  wrote {f}")
    return 0
