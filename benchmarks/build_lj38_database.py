"""Build an LJ38 database whose disconnectivity graph shows the two funnels, and measure it.

Issue 4 asks for "an LJ38 database large enough that its disconnectivity graph shows the two
funnels (truncated octahedron vs icosahedral)", with its size, the time it took and the
heat-capacity curve. LJ38 is the classic double funnel (Doye, Miller & Wales 1999, J. Chem.
Phys. 110, 6896): the fcc truncated octahedron (−173.928427) sits at the bottom of a narrow
funnel, the icosahedral minima (lowest −173.252378) fill a broad one, and the harmonic
superposition's heat capacity shows a solid–solid peak at low temperature.

Steps (all through the public API; the database is SQLite by default, any URL with --db):

1. basin-hopping from both funnel bottoms (``benchmarks/data/lj38_*.npy``) and random starts,
   every quench's minimum committed to the database;
2. the Hessian data of the low minima (``fill_hessian_data``);
3. ``grow_network``: connect runs join the lowest minima not yet joined to the global minimum,
   every verified transition state stored;
4. the network: disconnectivity graph coloured by funnel (monotonic sequences), funnel sizes
   and depths, HTST rates between the two funnel bottoms, C_v(T).

Run (about 10–20 minutes on one core)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/build_lj38_database.py \\
        --db sqlite:////tmp/lj38.db --out benchmarks/results/lj38_network

Rerunning resumes: minima and transition states already stored are kept, pairs already tried
are skipped. Measured results are recorded in ``benchmarks/results/lj38_network/summary.json``.

Measured (2026-11-23, shared 2-core machine, one thread; first the defaults with ``--window 2.5
--connections 200``, then ``--bh-steps 0`` with the window 3.0 on the same database)::

    basin-hopping: 8 walkers (3 at each funnel bottom, kT 0.5) x 1000 steps, 68 s -> 2,387 minima
    grow: 27 + 73 connect runs (99 joined their pair), 188 + 543 s, 194k gradients + 62k HVPs
    database: 2,456 minima, 294 verified transition states; 233 minima joined to the global minimum
    funnels (monotonic sequences): fcc bottom -173.928427 (16 minima), icosahedral bottom
        -173.252378 (128 minima), and small side funnels
    lowest barrier found between them (minimax over the database): 5.874 from the fcc side,
        5.198 from the icosahedral side (discrete path sampling refines such paths further;
        this database was not refined)
    HTST at kT = 0.1: k(fcc -> ico) = 1.4e-20, k(ico -> fcc) = 6.1e-20 (time unit of the
        reduced LJ frequencies); occupations 0.81 (fcc) vs 0.038 (icosahedral bottom)
    harmonic-superposition C_v(T): peak 128.9 k_B at kT = 0.21 (lj38_heat_capacity.png)

The disconnectivity graph (lj38_dgraph.png) shows the two funnels: the narrow fcc one on the
left and the broad icosahedral one, joined near -168.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from levinthal.explore import basin_hopping
from levinthal.network import (
    Database,
    database_network,
    disconnectivity_graph,
    funnels,
    grow_network,
    harmonic_superposition,
    rate_constants,
)
from levinthal.network.grow import fill_hessian_data
from levinthal.plots import pyplot
from levinthal.plots.dgraph import plot_disconnectivity_graph
from levinthal.systems import make_system

DATA = Path(__file__).resolve().parent / "data"
GM, ICO = -173.928427, -173.252378


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="sqlite:////tmp/lj38.db")
    ap.add_argument("--out", default="benchmarks/results/lj38_network")
    ap.add_argument("--bh-steps", type=int, default=1000, help="basin-hopping steps per walker")
    ap.add_argument("--walkers", type=int, default=8)
    ap.add_argument("--bh-temperature", type=float, default=0.5,
                    help="basin-hopping kT (ε); low enough to stay in each funnel's bottom")
    ap.add_argument("--window", type=float, default=3.0,
                    help="minima up to this far above the global minimum are connected (ε)")
    ap.add_argument("--connections", type=int, default=200, help="budget of connect runs")
    ap.add_argument("--temperature", type=float, default=0.1, help="kT for the rates (ε)")
    ap.add_argument("--show", type=int, default=60, help="lowest minima drawn in the dgraph")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    L = make_system("lj38")
    rng = np.random.default_rng(args.seed)
    # Three walkers in each funnel's bottom, the rest from random coordinates.
    starts = [np.load(DATA / "lj38_gm_oh.npy")] * 3 + [np.load(DATA / "lj38_icosahedral.npy")] * 3
    starts += [np.asarray(L.random_point(rng)) for _ in range(max(0, args.walkers - 6))]
    timings = {}
    with Database(args.db) as db:
        t0 = time.perf_counter()
        bh_message = "basin-hopping skipped (--bh-steps 0)"
        if args.bh_steps > 0:
            run, _ = db.resume_or_start_run(L, "basin_hopping", {"steps": args.bh_steps,
                                                                 "walkers": len(starts),
                                                                 "kT": args.bh_temperature}, args.seed)
            bh = basin_hopping(L, np.stack(starts), n_steps=args.bh_steps, temperature=args.bh_temperature,
                               sink=db.sink(L, run), checkpoint_every=20, seed=args.seed, quiet=False)
            db.finish_run(run)
            bh_message = bh.message
        timings["basin_hopping_s"] = time.perf_counter() - t0
        print(bh_message, flush=True)

        t0 = time.perf_counter()
        cap = GM + args.window
        filled = fill_hessian_data(db, L, max_energy=cap)
        timings["hessian_data_s"] = time.perf_counter() - t0
        print(f"Hessian data for {filled} minima below {cap:.3f}", flush=True)

        t0 = time.perf_counter()
        grow_run, _ = db.resume_or_start_run(L, "grow", {"window": args.window}, args.seed)
        grown = grow_network(db, L, run=grow_run, n_connections=args.connections, max_energy=cap,
                             partners=5, rng=args.seed,
                             progress=lambda i, text: print(f"  connect {i}: {text}", flush=True))
        db.finish_run(grow_run)
        timings["grow_s"] = time.perf_counter() - t0
        print(grown.message, flush=True)
        fill_hessian_data(db, L)  # minima added by connect runs above the window
        net = database_network(db, L)
        n_minima_db, n_ts_db = db.count_minima(L), db.count_transition_states(L)

    sub = net.joined_to_global_minimum()
    fun = funnels(sub)
    # Levels up to the highest transition state on the lowest path between the two funnels.
    graph = disconnectivity_graph(sub, n_levels=30, n_minima=args.show)
    plot_disconnectivity_graph(graph, str(out / "lj38_dgraph.png"), color_by=fun.label.astype(float),
                               color_label="funnel (monotonic sequences)",
                               title=f"LJ38: {sub.n_minima} minima, "
                                     f"{sub.n_transition_states} transition states")
    ico = int(np.argmin(np.abs(sub.energies - ICO)))
    gm = sub.global_minimum
    report: dict = {
        "database_minima": n_minima_db, "database_transition_states": n_ts_db,
        "network_minima_joined_to_gm": int(sub.n_minima),
        "network_transition_states": int(sub.n_transition_states),
        "basin_hopping": bh_message,
        "grow": grown.as_dict(), "timings": timings,
        "funnels": [{"bottom_energy": float(sub.energies[b]), "size": int(n), "depth": float(d)}
                    for b, n, d in zip(fun.bottoms, fun.sizes, fun.depths, strict=True)][:10],
        "icosahedral_minimum_joined": bool(abs(sub.energies[ico] - ICO) < 1e-5),
    }
    if report["icosahedral_minimum_joined"]:
        from levinthal.network import minimax_path

        path = minimax_path(sub, gm, ico)
        report["gm_to_ico_barrier"] = {"from_gm": float(path.barrier_forward),
                                       "from_ico": float(path.barrier_backward)}
        k = rate_constants(sub, [gm], [ico], args.temperature)
        report["rates"] = {"temperature": args.temperature, "k_oh_to_ico": k.k_nss_ab,
                           "k_ico_to_oh": k.k_nss_ba, "p_oh": k.p_a, "p_ico": k.p_b}
    if not np.isnan(sub.log_product_frequencies).any():
        temps = np.linspace(0.01, 0.35, 69)
        th = harmonic_superposition(sub, temps)
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(temps, th.heat_capacity)
        ax.set(xlabel="kT (ε)", ylabel="C_v / k_B",
               title=f"LJ38 harmonic superposition ({sub.n_minima} minima)")
        fig.tight_layout()
        fig.savefig(out / "lj38_heat_capacity.png", dpi=130)
        plt.close(fig)
        j = int(np.argmax(th.heat_capacity))
        report["heat_capacity"] = {"temperatures": temps.tolist(), "cv": th.heat_capacity.tolist(),
                                   "peak_temperature": float(temps[j]),
                                   "peak_cv": float(th.heat_capacity[j])}
    (out / "summary.json").write_text(json.dumps(report, indent=2, default=float))
    print(json.dumps({k: v for k, v in report.items() if k not in ("heat_capacity", "grow")}, indent=2,
                     default=float))
    return report


if __name__ == "__main__":
    main()
