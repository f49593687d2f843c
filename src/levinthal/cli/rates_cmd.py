"""``levinthal rates SYSTEM --db URL --temperature T``: kinetics and thermodynamics of a stored network.

Harmonic transition-state-theory rates (zero modes removed, point-group orders included when
stored) between a source set A and a target set B of minima: phenomenological rate constants
k^NSS (MFPT-based, local equilibrium in the source) and k^SS (steady-state flux), both
directions, mean first-passage times, equilibrium occupations and, with ``--committors``,
the committor of every minimum. By default A is the global minimum and B the bottom of the
next funnel (the second-lowest minimum when there is one funnel). ``--heat-capacity TMIN TMAX``
adds the harmonic-superposition F(T), U(T) and C_v(T).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.cli.common import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("rates",
                       help="HTST rates, first-passage times, committors and C_v(T) of a stored network")
    p.add_argument("system", help="system name as stored (e.g. lj13)")
    p.add_argument("--db", default="sqlite:///levinthal.db", help="database URL or SQLite path")
    p.add_argument("--temperature", type=float, required=True, help="kT in the system's energy units")
    p.add_argument("--source", type=int, nargs="+", help="database ids of the minima in A")
    p.add_argument("--target", type=int, nargs="+", help="database ids of the minima in B")
    p.add_argument("--method", choices=["gt", "linear"], default="gt",
                   help="graph transformation (default; exact at low T) or a sparse linear solve")
    p.add_argument("--unit-prefactors", action="store_true",
                   help="k = exp(-ΔE/kT) (no Hessian data needed) instead of harmonic prefactors")
    p.add_argument("--committors", action="store_true", help="print the committor of every minimum")
    p.add_argument("--heat-capacity", type=float, nargs=2, metavar=("TMIN", "TMAX"),
                   help="harmonic-superposition thermodynamics over this kT range (50 points)")
    p.add_argument("--plot", help="with --heat-capacity: write C_v(T) here")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.landscape import LandscapeError
    from levinthal.network import Database, database_network, first_passage, rate_constants
    from levinthal.network.funnels import rival_minimum

    if not args.temperature > 0:
        raise SystemExit(f"levinthal rates: --temperature must be positive, got {args.temperature}")
    with Database(args.db, create=False) as db:
        if db.count_minima(args.system) == 0:
            raise SystemExit(f"levinthal rates: {db.safe_url} holds no minima of {args.system!r}")
        full = database_network(db, args.system)
    # Kinetics lives on the global minimum's connected component: minima no transition state
    # joins to it (e.g. found by a search but not yet connected) have no rates.
    net = full.joined_to_global_minimum()
    if net.n_minima < 2 or net.n_transition_states == 0:
        raise SystemExit(f"levinthal rates: {args.system!r} has {net.n_minima} minima and "
                         f"{net.n_transition_states} transition states; run 'levinthal explore SYSTEM "
                         "--method grow' first")
    prefactors = "unit" if args.unit_prefactors else "harmonic"
    if prefactors == "harmonic" and (np.isnan(net.log_product_frequencies).any()
                                     or np.isnan(net.ts_log_product_frequencies).any()):
        raise SystemExit("levinthal rates: some stored minima or transition states have no Hessian data; "
                         "use --unit-prefactors, or store them with Hessian data (explore --method grow)")
    src, dst = [net.global_minimum], [rival_minimum(net)]
    try:
        if args.source:
            src = [net.index_of(i) for i in args.source]
        if args.target:
            dst = [net.index_of(i) for i in args.target]
    except LandscapeError as exc:
        raise SystemExit(f"levinthal rates: {exc} (only minima joined to the global minimum by "
                         "transition states have rates)") from None
    if set(src) & set(dst):
        raise SystemExit("levinthal rates: --source and --target share minima")
    T = args.temperature
    k = rate_constants(net, src, dst, T, method=args.method, prefactors=prefactors)
    fp = first_passage(net, src, dst, T, method=args.method, prefactors=prefactors)
    ids = [int(i) for i in net.ids]
    report: dict[str, Any] = {
        "system": args.system, "temperature": T, "prefactors": prefactors, "method": args.method,
        "source_ids": [ids[i] for i in src], "target_ids": [ids[i] for i in dst],
        "k_nss_ab": k.k_nss_ab, "k_nss_ba": k.k_nss_ba, "k_ss_ab": k.k_ss_ab, "k_ss_ba": k.k_ss_ba,
        "log_k_nss_ab": k.log_k_nss_ab, "log_k_nss_ba": k.log_k_nss_ba,
        "mfpt_ab": k.tau_ab, "mfpt_ba": k.tau_ba, "p_a": k.p_a, "p_b": k.p_b,
    }
    if args.committors:
        report["committors"] = {ids[i]: float(q) for i, q in enumerate(fp.committor_forward)}
    if args.heat_capacity:
        from levinthal.network import harmonic_superposition

        if np.isnan(net.log_product_frequencies).any():
            raise SystemExit("levinthal rates: --heat-capacity needs Hessian data of every minimum")
        temps = np.linspace(args.heat_capacity[0], args.heat_capacity[1], 50)
        th = harmonic_superposition(net, temps)
        report["thermo"] = {"temperature": temps, "free_energy": th.free_energy,
                            "heat_capacity": th.heat_capacity, "internal_energy": th.internal_energy}
        if args.plot:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.plot(temps, th.heat_capacity)
            ax.set_xlabel("kT")
            ax.set_ylabel("C_v / k_B")
            ax.set_title(f"{args.system}: harmonic superposition, {net.n_minima} minima")
            fig.tight_layout()
            fig.savefig(args.plot, dpi=150)
            plt.close(fig)
    if args.json:
        emit_json(report)
        return 0
    print(f"{args.system}: {net.n_minima} minima and {net.n_transition_states} transition states joined to "
          f"the global minimum (of {full.n_minima} stored)")
    print(f"{args.system} at kT = {T:g} ({prefactors} prefactors, {args.method}); "
          f"A = {report['source_ids']}, B = {report['target_ids']}")
    print(f"k_NSS A->B {k.k_nss_ab:.4e}  B->A {k.k_nss_ba:.4e}   "
          f"(ln: {k.log_k_nss_ab:.4f}, {k.log_k_nss_ba:.4f})")
    print(f"k_SS  A->B {k.k_ss_ab:.4e}  B->A {k.k_ss_ba:.4e}")
    print(f"MFPT  A->B {k.tau_ab:.4e}  B->A {k.tau_ba:.4e};  p_eq(A) {k.p_a:.4g}, p_eq(B) {k.p_b:.4g}")
    if args.committors:
        for i, q in report["committors"].items():
            print(f"  minimum {i:>6}: q+ = {q:.6g}")
    if args.heat_capacity:
        th_cv = report["thermo"]["heat_capacity"]
        j = int(np.argmax(th_cv))
        print(f"C_v peak {th_cv[j]:.4f} k_B at kT = {temps[j]:.4g}"
              + (f"; plot written to {args.plot}" if args.plot else ""))
    return 0
