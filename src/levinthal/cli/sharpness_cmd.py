"""``levinthal sharpness SYSTEM``: every sharpness / flatness measure at a minimum, in one table.

Minimises the system (or loads ``--point``), then reports λmax, tr H, Keskar et al.'s
ε-sharpness, worst-case (m-)sharpness over ℓ2 / ℓ∞ balls (plain and adaptive), average-case
sharpness and the PAC-Bayes σ / σ' of Jiang et al. (2019), each with the parameters that define
it (see :mod:`levinthal.curvature.sharpness`). Default radii follow the papers' defaults:
ρ = 0.05 for plain ℓ2 (SAM), 0.5 for adaptive ℓ2 (ASAM), 1e-3 / 1e-2 for plain / adaptive ℓ∞.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json, load_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sharpness", help="sharpness and flatness measures at a minimum")
    p.add_argument("system")
    p.add_argument("--point", help=".npy/.npz point (default: minimise from a random start)")
    p.add_argument("--l2", type=float, default=0.0, help="add ½ λ‖x‖² (weight decay)")
    p.add_argument("--activation", help="hidden activation of an MLP system (tanh, relu, gelu)")
    p.add_argument("--rho", type=float, nargs="+", default=[0.05], help="plain ℓ2 radii (default 0.05)")
    p.add_argument("--rho-adaptive", type=float, nargs="+", default=[0.5],
                   help="adaptive ℓ2 radii, relative to |x| (default 0.5)")
    p.add_argument("--rho-linf", type=float, nargs="+", default=[1e-3], help="plain ℓ∞ radii (default 1e-3)")
    p.add_argument("--rho-linf-adaptive", type=float, nargs="+", default=[1e-2],
                   help="adaptive ℓ∞ radii, relative to |x| (default 1e-2)")
    p.add_argument("--eta", type=float, default=0.0,
                   help="η of the adaptive scale |x| + η (default 0: exactly ReLU-rescaling invariant, "
                        "needs every coordinate non-zero)")
    p.add_argument("--sigma", type=float, default=0.01,
                   help="standard deviation of the Gaussian average-case perturbation (default 0.01; "
                        "adaptive: relative to |x|, 10x this)")
    p.add_argument("--m", nargs="+", default=["full"],
                   help="batch sizes for worst-case m-sharpness; 'full' = the whole set (default)")
    p.add_argument("--n-batches", type=int, default=None, help="use at most this many batches of m")
    p.add_argument("--epsilon", type=float, default=1e-3, help="Keskar et al.'s ε (default 1e-3)")
    p.add_argument("--subspace", type=int, default=100,
                   help="random-subspace dimension p of the second ε-sharpness row (default 100; 0: none)")
    p.add_argument("--steps", type=int, default=100, help="gradient budget per ascent (default 100)")
    p.add_argument("--samples", type=int, default=100, help="Monte-Carlo samples, average case (default 100)")
    p.add_argument("--pac-samples", type=int, default=10, help="Monte-Carlo samples, PAC-Bayes (default 10)")
    p.add_argument("--bound", type=float, default=0.1, help="PAC-Bayes deviation bound (default 0.1)")
    p.add_argument("--criterion", choices=["loss", "accuracy"], default="loss",
                   help="PAC-Bayes deviation of the loss (default) or of training accuracy (networks)")
    p.add_argument("--rms-tol", type=float, default=1e-6, help="RMS gradient for the minimisation")
    p.add_argument("--max-iterations", type=int, default=20000, help="L-BFGS iterations for the minimisation")
    add_common(p)
    p.set_defaults(run=run)


def _build(args: Any) -> Any:
    from levinthal.systems import make_system

    options = {} if args.activation is None else {"activation": args.activation}
    land = make_system(args.system, seed=args.seed, **options)
    if args.l2 > 0:
        from levinthal.systems.regularized import L2Regularized

        land = L2Regularized(land, args.l2)
    return land


def _batch_sizes(values: list[str]) -> list[int | None]:
    out: list[int | None] = []
    for v in values:
        if v.lower() in ("full", "none", "0"):
            out.append(None)
        else:
            try:
                out.append(int(v))
            except ValueError:
                raise SystemExit(f"levinthal sharpness: --m takes integers or 'full', got {v!r}") from None
    return out


def _jobs(args: Any, dim: int) -> list[tuple[str, Any]]:
    """(label, thunk(land, x, seed)) for every measure requested."""
    from levinthal.curvature import sharpness as S

    eps, steps = args.epsilon, args.steps
    pac = {"bound": args.bound, "criterion": args.criterion, "n_samples": args.pac_samples}
    jobs: list[tuple[str, Any]] = [
        ("lambda_max", lambda L, x, s: S.lambda_max(L, x, rng=s)),
        ("hessian_trace", lambda L, x, s: S.hessian_trace(L, x, rng=s)),
        ("epsilon_sharpness", lambda L, x, s: S.epsilon_sharpness(L, x, eps, steps=steps, rng=s)),
    ]
    if args.subspace and args.subspace < dim:
        jobs.append(("epsilon_sharpness", lambda L, x, s: S.epsilon_sharpness(
            L, x, eps, subspace_dim=args.subspace, steps=steps, rng=s)))
    for m in _batch_sizes(args.m):
        for norm, adaptive, radii in (("l2", False, args.rho), ("l2", True, args.rho_adaptive),
                                      ("linf", False, args.rho_linf), ("linf", True, args.rho_linf_adaptive)):
            for rho in radii:
                label = f"worst_{norm}" + ("_adaptive" if adaptive else "")
                jobs.append((label, lambda L, x, s, m=m, norm=norm, adaptive=adaptive, rho=rho:
                             S.worst_case_sharpness(L, x, rho, norm=norm, adaptive=adaptive, eta=args.eta,
                                                    m=m, n_batches=args.n_batches, steps=steps, rng=s)))
    jobs += [
        ("average_gaussian", lambda L, x, s: S.average_sharpness(
            L, x, args.sigma, n_samples=args.samples, rng=s)),
        ("average_gaussian_adaptive", lambda L, x, s: S.average_sharpness(
            L, x, 10 * args.sigma, adaptive=True, eta=args.eta, n_samples=args.samples, rng=s)),
        ("pac_bayes_sigma", lambda L, x, s: S.pac_bayes_sigma(L, x, rng=s, **pac)),
        ("pac_bayes_sigma_magnitude", lambda L, x, s: S.pac_bayes_sigma(L, x, magnitude_aware=True, rng=s,
                                                                         **pac)),
    ]
    return jobs


_SHOWN = ("rho", "norm", "m", "n_batches", "epsilon", "subspace_dim", "eta", "n_samples", "bound",
          "criterion", "magnitude_eps", "n_matvec", "steps")


def _params(r: Any) -> str:
    p = r.parameters
    items = [f"{k}={p[k]}" for k in _SHOWN if k in p and p[k] is not None and k != "norm"]
    return " ".join(items)


def _fmt(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def run(args: Any) -> int:
    from levinthal.landscape import LandscapeError, vnorm

    land = _build(args)
    rng = np.random.default_rng(args.seed)
    info: dict[str, Any] = {"system": land.name, "dim": land.dim, "l2": args.l2, "seed": args.seed}
    if args.point:
        x = load_point(args.point, land)
        info["point"] = args.point
    else:
        from levinthal.minimize import minimize

        res = minimize(land, land.random_point(rng), rms_tol=args.rms_tol,
                       max_iterations=args.max_iterations)
        info["minimisation"] = {"converged": res.converged, "message": res.message,
                                "iterations": res.iterations, "rms_gradient": res.rms_gradient}
        if not res.converged:
            print(f"warning: minimisation did not converge ({res.message}); measuring at its end point")
        x = res.x
    e, g = land.energy_gradient(x)
    info["energy"] = e
    info["rms_gradient"] = vnorm(g) / math.sqrt(land.dim)
    info["norm_x"] = vnorm(x)
    for what in ("accuracy", "test_accuracy", "test_energy"):
        f = getattr(land, what, None)
        if f is not None:
            try:
                info[what] = float(f(x))
            except LandscapeError:
                pass
    rows = []
    for label, job in _jobs(args, land.dim):
        try:
            r = job(land, x, args.seed)
        except (ValueError, LandscapeError) as exc:
            rows.append({"measure": label, "refused": str(exc)})
            continue
        rows.append(r)
    if args.json:
        emit_json({**info, "measures": [r if isinstance(r, dict) else r.as_dict() for r in rows]})
        return 0
    head = f"{land.name} (dim {land.dim})"
    if args.l2 > 0:
        head += f", L2 λ = {args.l2:g}"
    print(head)
    extras = "  ".join(f"{k} {info[k]:.6g}" for k in ("energy", "rms_gradient", "norm_x", "accuracy",
                                                       "test_accuracy") if k in info)
    print(f"point: {extras}")
    print(f"{'measure':<28} {'value':>13} {'s.e.':>10} {'work (E, E+g, Hv)':>20}  parameters / status")
    for r in rows:
        if isinstance(r, dict):
            print(f"{r['measure']:<28} {'-':>13} {'':>10} {'':>20}  refused: {r['refused']}")
            continue
        c = r.counts
        status = "" if r.converged else f"  [NOT converged: {r.message}]"
        se = _fmt(r.standard_error) if math.isfinite(r.standard_error) else ""
        print(f"{r.measure:<28} {_fmt(r.value):>13} {se:>10} {f'{c.energy}, {c.gradient}, {c.hvp}':>20}  "
              f"{_params(r)}{status}")
        if r.measure.startswith("pac_bayes"):
            print(f"{'  flatness 1/σ²':<28} {_fmt(r.details['flatness']):>13}")
    return 0
