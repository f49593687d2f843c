"""``levinthal dgraph SYSTEM --db URL``: the disconnectivity graph of a stored network, with funnels.

Reads the minima and transition states of SYSTEM from the database, builds the Becker–Karplus
disconnectivity graph (only minima joined to the global minimum, unless ``--all``), draws it,
and reports the funnels (monotonic sequences, Berry & Kunz 1995): each bottom, its size and depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("dgraph", help="disconnectivity graph and funnels of a stored network")
    p.add_argument("system", help="system name as stored (e.g. lj13)")
    p.add_argument("--db", default="sqlite:///levinthal.db", help="database URL or SQLite path")
    p.add_argument("--levels", type=int, default=20, help="number of energy levels (default 20)")
    p.add_argument("--delta", type=float, default=None,
                   help="energy spacing of the levels (overrides --levels)")
    p.add_argument("--max-minima", type=int, default=None, help="show only the lowest N minima")
    p.add_argument("--all", action="store_true", help="also minima not joined to the global minimum")
    p.add_argument("--out", default="dgraph.png", help="figure file (default dgraph.png)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.network import Database, database_network, disconnectivity_graph, funnels
    from levinthal.plots.dgraph import plot_disconnectivity_graph

    with Database(args.db, create=False) as db:
        if db.count_minima(args.system) == 0:
            raise SystemExit(f"levinthal dgraph: {db.safe_url} holds no minima of {args.system!r}")
        net = database_network(db, args.system)
    if net.n_transition_states == 0:
        raise SystemExit(f"levinthal dgraph: {args.system!r} has {net.n_minima} minima but no transition "
                         "states; run 'levinthal explore SYSTEM --method grow' first")
    graph = disconnectivity_graph(net, n_levels=None if args.delta else args.levels, delta=args.delta,
                                  connected_to_global_minimum=not args.all, n_minima=args.max_minima)
    f = funnels(net)
    plot_disconnectivity_graph(graph, args.out, title=f"{args.system}: {net.n_minima} minima, "
                                                       f"{net.n_transition_states} transition states")
    shown = graph.shown
    report = {
        "system": args.system, "minima": net.n_minima, "transition_states": net.n_transition_states,
        "minima_shown": len(shown), "global_minimum": {"id": int(net.ids[net.global_minimum]),
                                                       "energy": float(net.energies[net.global_minimum])},
        "funnels": [{"bottom_id": int(net.ids[b]), "bottom_energy": float(net.energies[b]), "size": int(s),
                     "depth": float(d)} for b, s, d in zip(f.bottoms, f.sizes, f.depths, strict=True)],
        "fraction_in_global_funnel": float(f.fraction_global), "figure": args.out,
    }
    if args.json:
        emit_json(report)
        return 0
    print(f"{args.system}: {net.n_minima} minima, {net.n_transition_states} transition states; "
          f"{len(shown)} minima drawn in {args.out}")
    print(f"global minimum id {report['global_minimum']['id']} E = {report['global_minimum']['energy']:.8f}")
    print(f"{len(f.bottoms)} funnel(s); {100 * f.fraction_global:.1f}% of minima drain to the global minimum")
    print(f"{'bottom id':>10} {'energy':>16} {'size':>6} {'depth':>10}")
    for row in report["funnels"][:10]:
        print(f"{row['bottom_id']:>10} {row['bottom_energy']:>16.8f} {row['size']:>6} "
              f"{row['depth']:>10.4f}")
    if not np.isfinite(report["funnels"][0]["depth"]):
        print("(the global minimum's funnel has no rival: its depth is infinite)")
    return 0
