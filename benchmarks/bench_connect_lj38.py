"""Connect the LJ38 global minimum to the bottom of the icosahedral funnel: levinthal's
``connect`` against pele's ``DoubleEndedConnect`` in the same run, every transition state on
each reported path verified by the same test (issue 3).

Endpoints: ``benchmarks/data/lj38_gm_oh.npy`` (Oh global minimum, E = −173.928427) and
``benchmarks/data/lj38_icosahedral.npy`` (lowest icosahedral minimum, −173.252378); see
``benchmarks/data/README.md``.

Costs. levinthal's counts come from its own evaluation counter: energy+gradient calls
(``counts.gradient``), Hessian-vector products (``counts.hvp``, exact analytic HVPs used by
the Lanczos lowest-mode search of eigenvector following), energy-only calls and dense
Hessians (one per candidate transition state, the index check of
``levinthal.saddles.verify``). pele's potential is wrapped in a counting Python potential, so
every call its NEB, transition-state refinement and quenches make is counted; pele finds the
lowest eigenvector from finite differences of gradients (Rayleigh–Ritz minimisation), so its
curvature work is already inside its gradient count.

OPTIM's reference figure (76,942, issue 3) counts energy+gradient calls; OPTIM's hybrid
eigenvector following obtains its curvature by a secant (finite-difference) Rayleigh–Ritz
minimisation, each step of which is one more gradient call (Munro & Wales 1999; Trygubenko &
Wales 2004). The like-for-like figure is therefore levinthal's *gradient + HVP* calls
(one HVP costs about one gradient here); both numbers are reported apart as well. Dense
Hessians of the index check are shown apart; OPTIM and pele check no Hessian index.

Verification: every transition state on a reported path is re-checked here with
``levinthal.saddles.check_transition_state`` (RMS gradient ≤ tol, dense Hessian projected off
the 6 rigid-body zero modes, exactly one negative eigenvalue), at levinthal's tolerance 1e-5
for levinthal and at pele's own tolerance (RMS 1e-4 by default) for pele. "highest barrier" is
the highest TS on the path minus E(global minimum).

OPTIM's count. OPTIM's documentation (BFGSTS, www-wales.ch.cam.ac.uk/OPTIM.doc/node54.html)
finds the smallest eigenvalue "by iteration if second derivatives are available, or a variational
method if not (NOHESS)"; the run behind the 76,942 figure is not at hand, so both readings are
given: with NOHESS its curvature work is inside its gradient count (compare levinthal's
gradient + HVP); with analytic Hessians it is not (compare levinthal's gradient count alone).
levinthal is below the figure either way.

Measured (shared 2-core machine, OMP_NUM_THREADS=1, pele 0.1.2; seeds 0–7;
``benchmarks/results/connect_lj38*.txt``)::

    per connect             grad+HVP (median, range)   /OPTIM   wall (CPU) s   TS on path, all verified
    levinthal (tol 1e-5)    10.6k  (8.4k–18.5k)        0.14     1.8 (1.3)      7–10
      of which gradients     8.0k  (6.7k–13.1k); dense Hessians (index checks) 24–40
    pele (its TS tol 1e-4)  103.4k (38.8k–150.4k)      1.34     6.3 (4.8)      6–13
    pele (TS tol 1e-5)      58.3k  (35.2k–147.2k)      0.76     6.6 (2.7)      6–14

Every transition state on every reported path passed the check (index 1 after the 6 zero
modes). Highest barrier on the reported path: levinthal 5.76–5.87 ε (the path is the minimax
one of the graph found, not the lowest known LJ38 path), pele 5.05–7.42 ε (pele reports its
fewest-edges path). levinthal runs with ``record_profile=False``: integrating the
steepest-descent path of every TS for a profile (the default) costs 149k–188k calls in all
(seeds 0–2). Before this benchmark connect ran 200-step bands with 8 images: a median
50.2k, up to 106.6k (seeds 0–5). pele's counts change by ~0.1 % between identical runs (its
seeding does not fix everything). Wall times on this loaded machine vary by ±50 %.

Run (pele is a benchmark peer in ``.bench-venv``, never a levinthal dependency)::

    OMP_NUM_THREADS=1 .bench-venv/bin/python benchmarks/bench_connect_lj38.py --seeds 0 1 2 \
        --json benchmarks/results/connect_lj38.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from levinthal.paths.connect import connect
from levinthal.saddles import check_transition_state
from levinthal.systems.clusters import LennardJonesCluster

DATA = Path(__file__).resolve().parent / "data"


def load_endpoints() -> tuple[np.ndarray, np.ndarray]:
    a = np.load(DATA / "lj38_gm_oh.npy")
    b = np.load(DATA / "lj38_icosahedral.npy")
    return a, b


def verify_path(lj: LennardJonesCluster, ts_coords: list[np.ndarray], tol: float) -> list[dict]:
    """``check_transition_state`` on every TS of a path: energy, eigenvalue, RMS gradient, verdict."""
    rows = []
    for x in ts_coords:
        ts, reason, c = check_transition_state(lj, np.asarray(x, dtype=np.float64), rms_tol=tol,
                                               frequencies=False)
        e, g = lj.energy_gradient(np.asarray(x, dtype=np.float64))
        rows.append({"energy": float(e), "rms_gradient": float(np.linalg.norm(g) / np.sqrt(g.size)),
                     "verified": ts is not None, "index": int(c.index), "kind": c.kind,
                     "eigenvalue": float(ts.eigenvalue) if ts is not None else float("nan"),
                     "reason": reason})
    return rows


def run_levinthal(a: np.ndarray, b: np.ndarray, seed: int, tol: float, options: dict) -> dict:
    lj = LennardJonesCluster(38)
    t, cpu = time.perf_counter(), time.process_time()
    r = connect(lj, a, b, rng=seed, rms_tol=tol, record_profile=False, **options)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    ts_on_path = [np.asarray(r.transition_states[k].x) for kind, k in r.path if kind == "ts"]
    checks = verify_path(lj, ts_on_path, tol)
    e_a = float(lj.energy(a))
    return {"code": "levinthal", "seed": seed, "converged": bool(r.converged), "wall_s": wall, "cpu_s": cpu,
            "gradient_calls": int(r.counts.gradient), "hvp": int(r.counts.hvp),
            "energy_calls": int(r.counts.energy), "dense_hessians": int(r.counts.hessian),
            "like_for_like_calls": int(r.counts.gradient + r.counts.hvp),
            "calls_if_hessians_by_finite_differences": int(r.counts.gradient + r.counts.hvp
                                                           + 2 * lj.dim * r.counts.hessian),
            "cycles": r.cycles, "minima_found": len(r.minima), "ts_found": len(r.transition_states),
            "ts_on_path": len(ts_on_path), "ts_verified": sum(c["verified"] for c in checks),
            "highest_barrier": max((c["energy"] for c in checks), default=float("nan")) - e_a,
            "path_energies": r.path_energies() if r.path else [], "ts_checks": checks,
            "message": r.message[:500]}


def run_pele(a: np.ndarray, b: np.ndarray, seed: int, tol: float | None) -> dict:
    """pele 0.1.2 ``DoubleEndedConnect`` with pele's defaults (``tol`` overrides its TS tolerance)."""
    import logging

    from pele.potentials import BasePotential
    from pele.systems import LJCluster

    logging.getLogger("pele").setLevel(logging.WARNING)

    class Counting(BasePotential):
        def __init__(self, pot):
            self.pot = pot
            self.calls = {"energy": 0, "energy_gradient": 0, "hessian": 0}

        def getEnergy(self, x):
            self.calls["energy"] += 1
            return self.pot.getEnergy(x)

        def getEnergyGradient(self, x):
            self.calls["energy_gradient"] += 1
            return self.pot.getEnergyGradient(x)

        def getHessian(self, x):  # pele's analytic LJ Hessian, not BasePotential's numerical one
            self.calls["hessian"] += 1
            return self.pot.getHessian(x)

        def getEnergyGradientHessian(self, x):
            self.calls["energy_gradient"] += 1
            self.calls["hessian"] += 1
            return self.pot.getEnergyGradientHessian(x)

    class CountingLJCluster(LJCluster):
        counter = None

        def get_potential(self):
            if CountingLJCluster.counter is None:
                CountingLJCluster.counter = Counting(super().get_potential())
            return CountingLJCluster.counter

    np.random.seed(seed)  # noqa: NPY002  (pele draws from NumPy's global state)
    system = CountingLJCluster(38)
    pot = system.get_potential()
    db = system.create_database()
    ea, eb = (float(pot.pot.getEnergy(x)) for x in (a, b))
    m1, m2 = db.addMinimum(ea, a.copy()), db.addMinimum(eb, b.copy())
    if tol is not None:  # set in place: every other default of pele's system parameters is kept
        system.params.double_ended_connect.local_connect_params.tsSearchParams["tol"] = tol
    pele_tol = tol if tol is not None else 1e-4
    pot.calls = {"energy": 0, "energy_gradient": 0, "hessian": 0}
    t, cpu = time.perf_counter(), time.process_time()
    dec = system.get_double_ended_connect(m1, m2, db)
    dec.connect()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    calls = dict(pot.calls)
    out = {"code": "pele", "seed": seed, "converged": bool(dec.success()), "wall_s": wall, "cpu_s": cpu,
           "gradient_calls": calls["energy_gradient"], "hvp": 0, "energy_calls": calls["energy"],
           "dense_hessians": calls["hessian"], "like_for_like_calls": calls["energy_gradient"],
           "calls_if_hessians_by_finite_differences": calls["energy_gradient"] + 228 * calls["hessian"],
           "minima_found": db.number_of_minima(), "ts_found": db.number_of_transition_states(),
           "ts_tolerance": pele_tol}
    if dec.success():
        mints, _s, energies = dec.returnPath()
        ts_coords = [np.asarray(m.coords) for m in mints[1::2]]
        lj = LennardJonesCluster(38)
        checks = verify_path(lj, ts_coords, pele_tol)
        out.update(ts_on_path=len(ts_coords), ts_verified=sum(c["verified"] for c in checks),
                   highest_barrier=max(c["energy"] for c in checks) - ea,
                   path_energies=[float(e) for e in energies], ts_checks=checks)
    else:
        out.update(ts_on_path=0, ts_verified=0, highest_barrier=float("nan"), path_energies=[], ts_checks=[])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--tol", type=float, default=1e-5, help="levinthal RMS gradient of minima and TS")
    ap.add_argument("--pele-tol", type=float, default=None, help="pele TS tolerance (default: pele's 1e-4)")
    ap.add_argument("--codes", nargs="+", default=["levinthal", "pele"])
    ap.add_argument("--json", help="write all runs and the summary to this file")
    args = ap.parse_args(argv)

    a, b = load_endpoints()
    runs = []
    for seed in args.seeds:
        for code in args.codes:
            r = run_levinthal(a, b, seed, args.tol, {}) if code == "levinthal" else run_pele(a, b, seed,
                                                                                          args.pele_tol)
            runs.append(r)
            print(f"{code:9} seed {seed}: converged {r['converged']}, {r['gradient_calls']} grad + "
                  f"{r['hvp']} HVP = {r['like_for_like_calls']}, {r['wall_s']:.1f} s, {r['ts_verified']}/"
                  f"{r['ts_on_path']} TS verified, barrier {r['highest_barrier']:.4f}",
                  file=sys.stderr, flush=True)
    summary = {}
    for code in args.codes:
        rs = [r for r in runs if r["code"] == code]
        ok = [r for r in rs if r["converged"] and r["ts_verified"] == r["ts_on_path"]]
        calls = [r["like_for_like_calls"] for r in rs]
        summary[code] = {"runs": len(rs), "connected_all_verified": len(ok),
                         "calls_median": float(np.median(calls)), "calls_min": min(calls),
                         "calls_max": max(calls),
                         "wall_s_median": float(np.median([r["wall_s"] for r in rs])),
                         "cpu_s_median": float(np.median([r["cpu_s"] for r in rs])),
                         "calls_if_hessians_by_fd_median": float(np.median(
                             [r["calls_if_hessians_by_finite_differences"] for r in rs])),
                         "ts_on_path": [r["ts_on_path"] for r in rs],
                         "highest_barrier": [round(r["highest_barrier"], 6) for r in rs]}
    print("\nLJ38 Oh global minimum -> lowest icosahedral minimum; OPTIM reference 76,942 calls")
    print(f"{'code':10} {'seed':>4} {'conn':>5} {'grad':>7} {'HVP':>6} {'grad+HVP':>8} {'/OPTIM':>6} "
          f"{'wall s':>7} {'cpu s':>6} {'Hess':>5} {'TS ok/path':>10} {'barrier':>8} {'cycles':>6}")
    for r in runs:
        ok = f"{r['ts_verified']}/{r['ts_on_path']}"
        print(f"{r['code']:10} {r['seed']:>4} {r['converged']!s:>5} {r['gradient_calls']:>7} {r['hvp']:>6} "
              f"{r['like_for_like_calls']:>8} {r['like_for_like_calls'] / 76942:>6.2f} {r['wall_s']:>7.1f} "
              f"{r['cpu_s']:>6.1f} {r['dense_hessians']:>5} {ok:>10} {r['highest_barrier']:>8.4f} "
              f"{r.get('cycles', '-'):>6}")
    for code, s in summary.items():
        print(f"{code}: median {s['calls_median']:.0f} calls (range {s['calls_min']}-{s['calls_max']}), "
              f"median wall {s['wall_s_median']:.1f} s (CPU {s['cpu_s_median']:.1f} s), "
              f"{s['calls_if_hessians_by_fd_median']:.0f} if each dense Hessian counted as 2*3N gradients, "
              f"{s['connected_all_verified']}/{s['runs']} connected "
              "with every path TS verified")
    if args.json:
        report = {"system": "LJ38", "optim_reference_calls": 76942, "tol": args.tol,
                  "pele_tol": args.pele_tol or 1e-4, "python": platform.python_version(),
                  "summary": summary, "runs": runs}
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
