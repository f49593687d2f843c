"""``levinthal explore SYSTEM --method M --db URL``: a global search whose finds go to the database.

Every minimum is committed to the database as it is found, and the search's state is saved as
the run's checkpoint every ``--checkpoint-every`` steps. Running the same command again (same
system, method, parameters and seed) resumes the unfinished run from its checkpoint: nothing
stored is lost and nothing is counted twice. ``--method grow`` joins the stored minima to the
global minimum with connect runs and stores the transition states (the kinetic network that
``levinthal dgraph`` and ``levinthal rates`` read).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import add_common, emit_json

METHODS = ("bh", "bhpt", "ga", "anneal", "pt", "langevin", "grow")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("explore", help="global search (basin-hopping, annealing, replicas, GA ...) into a "
                                       "database, resumable; 'grow' adds transition states")
    p.add_argument("system", help="system name, e.g. lj13, lj38, mlp-digits")
    p.add_argument("--method", choices=METHODS, default="bh",
                   help="bh: basin-hopping; bhpt: BH with parallel tempering; ga: genetic algorithm "
                        "(cut-and-splice for clusters); anneal: simulated annealing; pt: replica-exchange "
                        "Monte Carlo; langevin: underdamped Langevin (BAOAB) with quenches; grow: connect "
                        "stored minima (default bh)")
    p.add_argument("--db", default="sqlite:///levinthal.db",
                   help="database URL or SQLite path (default sqlite:///levinthal.db)")
    p.add_argument("--steps", type=int, default=500,
                   help="steps (bh, bhpt, anneal, langevin), sweeps (pt), generations (ga) or connect "
                        "attempts (grow); default 500")
    p.add_argument("--walkers", type=int, default=None,
                   help="walkers (bh, anneal, langevin), replicas (bhpt, pt) or population (ga)")
    p.add_argument("--temperature", type=float, default=None,
                   help="kT: Metropolis temperature (bh, default 1.0 or the system's), Langevin kT, or the "
                        "lowest temperature of a ladder (bhpt, pt) / final temperature (anneal)")
    p.add_argument("--t-max", type=float, default=None,
                   help="highest temperature (bhpt, pt) / start (anneal)")
    p.add_argument("--stepsize", type=float, default=None, help="initial step size (adapted)")
    p.add_argument("--target", type=float, default=None,
                   help="stop when this energy is reached (bh, bhpt, ga)")
    p.add_argument("--symmetrise", type=float, default=None, metavar="RATE",
                   help="atomic clusters, bh and ga: symmetrisation moves (core point group + orbit "
                        "completion, Oakley, Johnston & Wales 2013) as this fraction of BH steps or GA "
                        "children (0.1 for bh and 0.3 for ga were best on LJ38)")
    p.add_argument("--checkpoint-every", type=int, default=10, help="steps between checkpoints (default 10)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock budget (bh, bhpt, ga)")
    p.add_argument("--lowest", type=int, default=5, help="how many lowest minima to print (default 5)")
    add_common(p)
    p.set_defaults(run=run)


def _params(args: Any) -> dict:
    keys = ("steps", "walkers", "temperature", "t_max", "stepsize", "target", "symmetrise")
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def _start(land: Any, n: int, rng: np.random.Generator) -> Any:
    """``n`` quenched random points, stacked in the landscape's array type: samplers start in
    basins, not from random coordinates (a random cluster can quench to separated fragments)."""
    from levinthal.minimize import minimize

    xs = [minimize(land, land.random_point(rng)).x for _ in range(n)]
    if hasattr(xs[0], "detach"):
        import torch

        return torch.stack(xs)
    return np.stack([np.asarray(x, dtype=float) for x in xs])


def _search(args: Any, land: Any, sink: Any, db: Any, run_record: Any) -> dict:
    from levinthal import explore

    rng = np.random.default_rng(args.seed)
    quiet = args.quiet or args.json
    every = args.checkpoint_every
    m = args.method
    symmetrise = None
    if args.symmetrise is not None:
        from levinthal.explore.symmetrisation import OrbitCompletion

        symmetrise = OrbitCompletion(land)
    if m == "bh":
        opts = {"temperature": args.temperature} if args.temperature is not None else {}
        if args.stepsize is not None:
            opts["stepsize"] = args.stepsize
        if symmetrise is not None:
            from levinthal.explore.basin_hopping import default_step
            from levinthal.explore.symmetrisation import SymmetrisingStep

            opts["step"] = SymmetrisingStep(symmetrise, probability=args.symmetrise, base=default_step(land))
        res = explore.basin_hopping(land, n_steps=args.steps, n_walkers=args.walkers, sink=sink,
                                    checkpoint_every=every, target_energy=args.target, seed=args.seed,
                                    max_seconds=args.max_seconds, quiet=quiet, **opts)
    elif m == "bhpt":
        opts = {k: v for k, v in (("t_min", args.temperature), ("t_max", args.t_max)) if v is not None}
        res = explore.parallel_tempering_basin_hopping(
            land, n_replicas=args.walkers or 8, n_steps=args.steps, sink=sink, checkpoint_every=every,
            target_energy=args.target, seed=args.seed, max_seconds=args.max_seconds, quiet=quiet, **opts)
    elif m == "ga":
        res = explore.genetic_algorithm(land, population_size=args.walkers or 10, n_generations=args.steps,
                                        sink=sink, checkpoint_every=max(1, every // 10),
                                        symmetrise=symmetrise, symmetrise_rate=args.symmetrise or 0.0,
                                        target_energy=args.target, seed=args.seed,
                                        max_seconds=args.max_seconds, quiet=quiet)
    elif m == "anneal":
        res = explore.anneal(land, _start(land, args.walkers or 4, rng), n_steps=args.steps,
                             t_start=args.t_max or 1.0, t_end=args.temperature or 0.01,
                             step_size=args.stepsize or 0.1,
                             rng=rng, quench_every=max(1, args.steps // 20), sink=sink,
                             checkpoint_every=every, quiet=quiet)
    elif m == "pt":
        res = explore.replica_exchange(land, _start(land, args.walkers or 8, rng), n_sweeps=args.steps,
                                       t_min=args.temperature or 0.05, t_max=args.t_max or 1.0,
                                       step_size=args.stepsize or 0.1, adapt_sweeps=args.steps // 5, rng=rng,
                                       quench_every=max(1, args.steps // 50), sink=sink,
                                       checkpoint_every=every, quiet=quiet)
    elif m == "langevin":
        res = explore.langevin(land, _start(land, args.walkers or 4, rng), kT=args.temperature or 0.1,
                               dt=args.stepsize or 0.005, n_steps=args.steps, rng=rng, record_positions=False,
                               quench_every=max(1, args.steps // 20), sink=sink, checkpoint_every=every,
                               quiet=quiet)
    else:  # grow
        from levinthal.network.grow import grow_network

        res = grow_network(db, land, run=run_record, n_connections=args.steps, rng=rng)
        return {"converged": res.all_connected, "message": res.message, **res.as_dict()}
    out = {"converged": bool(getattr(res, "converged", True)), "message": getattr(res, "message", "")}
    counts = getattr(res, "counts", None)
    if counts is not None and hasattr(counts, "as_dict"):
        out["counts"] = counts.as_dict()
    return out


def run(args: Any) -> int:
    from levinthal.network.database import Database
    from levinthal.systems import make_system

    if args.steps < 1:
        raise SystemExit("levinthal explore: --steps must be at least 1")
    if args.temperature is not None and not args.temperature > 0:
        raise SystemExit(f"levinthal explore: --temperature must be positive, got {args.temperature}")
    if args.symmetrise is not None and (args.method not in ("bh", "ga") or not 0 < args.symmetrise <= 1):
        raise SystemExit(f"levinthal explore: --symmetrise needs --method bh or ga and a rate in (0, 1], got "
                         f"--method {args.method} --symmetrise {args.symmetrise}")
    land = make_system(args.system, seed=args.seed)
    if args.symmetrise is not None and not callable(getattr(land, "pair_potential", None)):
        raise SystemExit(f"levinthal explore: --symmetrise needs an atomic cluster with a pair potential; "
                         f"{land.name} has none")
    with Database(args.db) as db:
        run_record, resumed = db.resume_or_start_run(land, args.method, _params(args), args.seed)
        before = db.count_minima(land)
        sink = db.sink(land, run_record)
        try:
            info = _search(args, land, sink, db, run_record)
        except KeyboardInterrupt:
            db.finish_run(run_record, status="interrupted")
            raise
        db.finish_run(run_record, status="finished")
        lowest = db.minima(land, limit=args.lowest)
        report = {"system": land.name, "method": args.method, "db": db.safe_url, "run": run_record.id,
                  "resumed": resumed, "minima_stored": db.count_minima(land),
                  "new_minima": db.count_minima(land) - before,
                  "transition_states_stored": db.count_transition_states(land),
                  "lowest": [{"id": m.id, "energy": m.energy, "hits": m.hits} for m in lowest], **info}
    if args.json:
        emit_json(report)
        return 0
    resumed_text = " (resumed)" if resumed else ""
    print(f"{land.name}: {args.method} run {report['run']}{resumed_text} in {report['db']}")
    print(f"minima stored {report['minima_stored']} (+{report['new_minima']}), "
          f"transition states {report['transition_states_stored']}")
    print(f"{'id':>6} {'energy':>16} {'hits':>6}")
    for m in report["lowest"]:
        print(f"{m['id']:>6} {m['energy']:>16.8f} {m['hits']:>6}")
    if report.get("message"):
        print(report["message"])
    return 0
