"""``levinthal spectrum SYSTEM``: extreme eigenvalues, trace and spectral density of the Hessian
or the Gauss–Newton matrix, on the full data set or a subset, with the bulk-and-outliers plot.

Sagun, Evci, Güney, Dauphin & Bottou (2017) and Papyan (2019, 2020) found that the Hessian of a
C-class cross-entropy loss has a bulk near zero and about C outliers, carried by the
Gauss–Newton term. This command measures: the ``k`` largest and ``k`` smallest eigenvalues
(Lanczos), the trace (Hutch++), the SLQ density, and the number of outliers read off the
largest relative gap λᵢ/λᵢ₊₁ among the top ``k`` — a measurement, compared with the number of
classes in the output, not an assumption.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("spectrum", help="Hessian or Gauss–Newton spectrum: extremes, trace, SLQ density")
    p.add_argument("system")
    p.add_argument("--operator", choices=("hessian", "ggn"), default="hessian",
                   help="curvature matrix (ggn: networks only; default hessian)")
    p.add_argument("--subset", type=int, help="use N training samples drawn with --seed (networks)")
    p.add_argument("--k", type=int, default=12,
                   help="eigenvalues at each end (default 12: more than 10 classes, so that a gap after "
                        "the C-th outlier can show)")
    p.add_argument("--point", help=".npy/.npz point (default: the initial point, after --train-steps)")
    p.add_argument("--train-steps", type=int, default=0,
                   help="full-batch Adam steps (lr --lr) from the initial point first (default 0)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam step size for --train-steps")
    p.add_argument("--probes", type=int, default=10, help="SLQ probe vectors (default 10)")
    p.add_argument("--slq-steps", type=int, default=80, help="Lanczos steps per SLQ probe (default 80)")
    p.add_argument("--trace-matvec", type=int, default=99, help="Hutch++ products (default 99)")
    p.add_argument("--tol", type=float, default=1e-6, help="Lanczos relative residual tolerance")
    p.add_argument("--max-matvec", type=int, default=300,
                   help="product budget of each Lanczos run (default 300; the smallest eigenvalues of a "
                        "Gauss–Newton matrix sit in a near-null cluster and rarely converge)")
    p.add_argument("--plot", help="write the bulk-and-outliers density figure to this file")
    add_common(p)
    p.set_defaults(run=run)


def count_outliers(top: np.ndarray) -> tuple[int, float]:
    """Outliers among the eigenvalues ``top``: the position of the largest ratio λᵢ/λᵢ₊₁ of
    consecutive positive eigenvalues sorted descending, and that ratio. ``(0, nan)`` when
    fewer than two are positive."""
    t = np.sort(np.asarray(top, dtype=float))[::-1]
    t = t[t > 0]
    if t.size < 2:
        return 0, float("nan")
    ratios = t[:-1] / t[1:]
    i = int(np.argmax(ratios))
    return i + 1, float(ratios[i])


def measure(op: Any, k: int, rng: np.random.Generator, *, probes: int = 10, slq_steps: int = 80,
            trace_matvec: int = 99, tol: float = 1e-6, max_matvec: int = 300) -> dict[str, Any]:
    """Top-k and bottom-k eigenvalues (Lanczos), Hutch++ trace and SLQ density of ``op``.

    ``max_matvec`` is the budget of each Lanczos run; an unconverged end is reported as such
    (``top_converged`` / ``bottom_converged`` and the message). Returns a JSON-ready dict;
    ``n_matvec`` counts every product (HVPs or GGN products).
    """
    from levinthal.curvature import hutchpp, lanczos_eigs, spectral_density

    top = lanczos_eigs(op, k=k, which="largest", tol=tol, rng=rng, max_iterations=max_matvec)
    bottom = lanczos_eigs(op, k=k, which="smallest", tol=tol, rng=rng, max_iterations=max_matvec)
    trace = hutchpp(op, n_matvec=trace_matvec, rng=rng)
    dens = spectral_density(op, n_probes=probes, n_steps=slq_steps, rng=rng)
    n_out, gap = count_outliers(top.eigenvalues)
    return {
        "dim": op.dim, "n_zero_modes": op.n_zero_modes,
        "top": top.eigenvalues[::-1], "top_converged": top.converged, "top_message": top.message,
        "bottom": bottom.eigenvalues, "bottom_converged": bottom.converged,
        "bottom_message": bottom.message,
        "trace": trace.estimate, "trace_standard_error": trace.standard_error,
        "n_outliers": n_out, "outlier_gap_ratio": gap,
        "density_grid": dens.grid, "density": dens.density, "density_sigma": dens.sigma,
        "slq_mean_times_dim": dens.mean() * (op.dim - op.n_zero_modes),
        "n_matvec": {"top": top.n_matvec, "bottom": bottom.n_matvec, "trace": trace.n_matvec,
                     "density": dens.n_matvec},
    }


def _n_classes(land: Any) -> int | None:
    t = getattr(land, "_targets", None)
    if t is None or t.is_floating_point() or t.ndim != 1:
        return None
    return int(t.max()) + 1


def run(args: Any) -> int:
    from levinthal.cli.minimize_cmd import build_landscape
    from levinthal.curvature import HessianOperator, zero_modes_of
    from levinthal.landscape import native_point

    land = build_landscape(args.system, args.seed)
    rng = np.random.default_rng(args.seed)
    is_network = hasattr(land, "minibatch") and hasattr(land, "model")
    if args.operator == "ggn" and not is_network:
        raise SystemExit(f"levinthal: --operator ggn needs a network system; {land.name} is not one")
    if args.subset is not None:
        if not is_network:
            raise SystemExit(f"levinthal: --subset needs a network system; {land.name} is not one")
        if not 0 < args.subset <= land.n_samples:
            raise SystemExit(f"levinthal: --subset must lie in [1, {land.n_samples}], got {args.subset}")
        land = land.minibatch(np.sort(rng.choice(land.n_samples, size=args.subset, replace=False)))
    if args.point:
        x = load_point(args.point, land)
    elif hasattr(land, "initial_point"):
        x = land.initial_point()
    else:
        x = native_point(land, land.random_point(rng))
    if args.train_steps > 0:
        from levinthal.explore import train

        x = train(land, x, optimizer="adam", lr=args.lr, steps=args.train_steps, track=(), rng=rng).x
    Z = zero_modes_of(land, x)
    if args.operator == "ggn":
        from levinthal.curvature.ggn import GGNOperator

        op = GGNOperator(land, x, zero_modes=Z)
    else:
        op = HessianOperator(land, x, zero_modes=Z)
    result = {"system": land.name, "operator": args.operator, "energy": land.energy(x),
              "n_samples": getattr(land, "n_samples", None), "n_classes": _n_classes(land),
              "train_steps": args.train_steps}
    result.update(measure(op, args.k, rng, probes=args.probes, slq_steps=args.slq_steps,
                          trace_matvec=args.trace_matvec, tol=args.tol, max_matvec=args.max_matvec))
    if args.plot:
        from levinthal.plots.spectra_density import plot_spectral_density

        plot_spectral_density(result, args.plot, title=f"{land.name}: {args.operator}, "
                                                        f"{result['n_outliers']} outliers measured")
    if args.json:
        emit_json(result)
        return 0
    print(f"{land.name} ({args.operator}), dim {result['dim']}, loss {result['energy']:.4g}, "
          f"{result['n_samples']} samples, {result['n_classes']} classes")
    print("top:    " + " ".join(f"{v:.4g}" for v in result["top"])
          + ("" if result["top_converged"] else f"  [NOT converged: {result['top_message']}]"))
    print("bottom: " + " ".join(f"{v:.4g}" for v in result["bottom"])
          + ("" if result["bottom_converged"] else f"  [NOT converged: {result['bottom_message']}]"))
    print(f"trace: {result['trace']:.5g} ± {result['trace_standard_error']:.2g} (Hutch++)")
    print(f"outliers (largest gap λ_i/λ_i+1 = {result['outlier_gap_ratio']:.3g} among the top {args.k}): "
          f"{result['n_outliers']}")
    print(f"products: {result['n_matvec']}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
