"""Single-ended transition-state searches on LJ38: levinthal's dimer and hybrid eigenvector
following against ASE's dimer (``ase.mep.dimer``: ``DimerControl``, ``MinModeAtoms``,
``MinModeTranslate``), on the same starts, every end point verified by the same test.

Starts: ``--starts`` random LJ38 configurations (``LennardJonesCluster(38).random_point``,
``numpy.random.default_rng(--seed)``) quenched by levinthal's L-BFGS, then every coordinate
displaced by N(0, ``--displacement``²) and a random normal initial mode drawn. All three
searches start from that point and mode.

ASE runs the Lennard-Jones calculator ``LennardJones(epsilon=1, sigma=1, rc=1000)``: with that
cut-off the shift u(rc) ≈ −4e−18 per pair, so its energies equal levinthal's (checked at every
start, |ΔE| < 1e−9). ASE's force calls are counted in the calculator (one per ``calculate``).

Convergence: levinthal stops at RMS gradient ‖g‖/√(3N) ≤ ``--tol`` (default 1e−5) with
negative curvature along its mode; ASE at max per-atom force ≤ √3·tol, which implies the
same RMS bound. Each method's "converged" is its own claim; a *verified* transition state is
an end point where ``levinthal.saddles.verify_transition_state`` (dense eigh of the projected
Hessian, 6 zero modes removed) finds RMS gradient ≤ tol and exactly one negative eigenvalue.

Reported per method: searches, claimed converged, verified transition states, the fraction of
claims that are true index-1 saddles, force calls per verified TS (all force calls of all
searches, failures included, divided by the number of verified TSs; for eigenvector following
Hessian-vector products count as force calls, and are also shown apart), median force calls
of a successful search, and how the other searches ended. levinthal's searches run with
``verify=False`` so that the verification's own evaluations are not charged to them.

Measured (2-core shared machine, ASE 3.29.0, ``--starts 20 --seed 0``; force calls per
verified TS, all searches' calls included; every claim of every method was a true index-1
saddle in these runs)::

    LJ38                          verified  calls/TS  median/search   ratio to ASE dimer
    levinthal dimer                 20/20      698        616              0.25
    levinthal EF (Lanczos)          20/20      506        464              0.18  (5593 of 10118 are HVPs)
    levinthal EF (dimer rotation)   20/20      403        349              0.15
    ASE dimer (defaults)            17/20     2759       1704              1
    ASE dimer (max_num_rot=4)       18/20     2532       1752              0.92
    (ASE's 5 failures: an atom evaporated, not converged in 1000 steps)

    LJ7 (``--atoms 7``)           verified  calls/TS  median/search   ratio to ASE dimer
    levinthal dimer                 20/20      172        138              0.23
    levinthal EF (Lanczos)          20/20      121        110              0.16
    levinthal EF (dimer rotation)   20/20      104         91              0.14
    ASE dimer (defaults)            18/20      742        408              1

Before ``MinModeAtoms`` was seeded, ASE drew its random state from the clock: one such LJ38
run verified 0/20 (all not converged in 1000 steps), one LJ7 run claimed convergence at a
degenerate point (zero curvature, index 0) — the failure the issue reports.

Setup (ASE is a benchmark peer here, never a levinthal dependency)::

    .bench-venv/bin/pip install ase

Run::

    .bench-venv/bin/python benchmarks/bench_single_ended_lj38.py [--starts 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections import Counter

import numpy as np

from levinthal.minimize import minimize
from levinthal.saddles import dimer, eigenvector_following
from levinthal.saddles.verify import check_transition_state
from levinthal.systems.clusters import LennardJonesCluster


def ase_setup():
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    class CountingLJ(LennardJones):
        calls = 0

        def calculate(self, *args, **kwargs):
            CountingLJ.calls += 1
            return super().calculate(*args, **kwargs)

    return Atoms, CountingLJ


def ase_dimer(x0: np.ndarray, mode0: np.ndarray, tol: float, max_steps: int, seed: int, **control_options):
    """ASE's dimer from x0 with initial mode ``mode0``; returns (x, claimed, force calls, message).

    ``control_options`` go to ``DimerControl`` (ASE's defaults otherwise: one rotation per
    translation step, ``max_num_rot=1``). ``seed`` fixes ``MinModeAtoms``' random state,
    which ASE otherwise draws from the clock (its runs were then not reproducible).
    """
    import io

    from ase.mep.dimer import DimerControl, MinModeAtoms, MinModeTranslate

    Atoms, CountingLJ = ase_setup()
    n = x0.size // 3
    atoms = Atoms(f"Ar{n}", positions=x0.reshape(n, 3))
    atoms.calc = CountingLJ(epsilon=1.0, sigma=1.0, rc=1000.0, smooth=False)
    CountingLJ.calls = 0
    control = DimerControl(logfile=None, eigenmode_logfile=None, **control_options)
    datoms = MinModeAtoms(atoms, control, eigenmodes=[mode0.reshape(n, 3) / np.linalg.norm(mode0)],
                          random_seed=seed)
    opt = MinModeTranslate(datoms, logfile=io.StringIO(), trajectory=None)
    try:
        claimed = bool(opt.run(fmax=math.sqrt(3) * tol, steps=max_steps))
        msg = "converged" if claimed else f"not converged in {max_steps} steps"
    except Exception as exc:  # ASE raising is an outcome to report, not to hide
        claimed, msg = False, f"raised {type(exc).__name__}: {exc}"
    return atoms.get_positions().ravel().copy(), claimed, CountingLJ.calls, msg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atoms", type=int, default=38)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--displacement", type=float, default=0.05)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--max-steps", type=int, default=1000, help="translation steps / cycles per search")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)

    lj = LennardJonesCluster(args.atoms)
    rng = np.random.default_rng(args.seed)
    Atoms, CountingLJ = ase_setup()
    starts = []
    for _ in range(args.starts):
        m = minimize(lj, lj.random_point(rng))
        x0 = m.x + args.displacement * rng.standard_normal(lj.dim)
        mode = rng.standard_normal(lj.dim)
        a = Atoms(f"Ar{args.atoms}", positions=x0.reshape(-1, 3))
        a.calc = CountingLJ(epsilon=1.0, sigma=1.0, rc=1000.0, smooth=False)
        de = abs(a.get_potential_energy() - lj.energy(x0))
        if de > 1e-9:
            raise SystemExit(f"ASE and levinthal LJ energies differ by {de:.3e} at a start")
        starts.append((x0, mode))

    methods = {
        "levinthal dimer": lambda x0, m: dimer(lj, x0, mode0=m, rms_tol=args.tol,
                                               max_iterations=args.max_steps, verify=False),
        "levinthal EF (Lanczos)": lambda x0, m: eigenvector_following(
            lj, x0, mode0=m, rms_tol=args.tol, max_iterations=args.max_steps, verify=False),
        "levinthal EF (dimer rotation)": lambda x0, m: eigenvector_following(
            lj, x0, mode0=m, rms_tol=args.tol, max_iterations=args.max_steps, verify=False,
            mode_method="dimer"),
    }
    ase_variants = {"ASE dimer": {}, "ASE dimer (max_num_rot=4)": {"max_num_rot": 4}}
    rows: dict[str, list[dict]] = {k: [] for k in [*methods, *ase_variants]}
    for i, (x0, mode) in enumerate(starts):
        for name, run in methods.items():
            t = time.perf_counter()
            res = run(x0, mode)
            wall = time.perf_counter() - t
            claimed = res.rms_gradient <= args.tol and res.eigenvalue < 0
            rows[name].append({"x": res.x, "claimed": bool(claimed), "gradient": res.counts.gradient,
                               "hvp": res.counts.hvp, "wall_s": wall,
                               "message": "converged" if claimed else res.message})
        for name, options in ase_variants.items():
            t = time.perf_counter()
            x, claimed, calls, msg = ase_dimer(x0, mode, args.tol, args.max_steps, args.seed + i, **options)
            rows[name].append({"x": x, "claimed": claimed, "gradient": calls, "hvp": 0,
                               "wall_s": time.perf_counter() - t, "message": msg})
        print(f"start {i + 1}/{len(starts)} done", file=sys.stderr)

    report = {"system": lj.name, "starts": args.starts, "seed": args.seed, "tol": args.tol,
              "displacement": args.displacement, "python": platform.python_version(), "methods": {}}
    for name, rs in rows.items():
        outcomes: Counter = Counter()
        verified, energies = 0, []
        for r in rs:
            ts, _reason, c = check_transition_state(lj, r["x"], rms_tol=args.tol, frequencies=False)
            r["verified"] = ts is not None
            if ts is not None:
                verified += 1
                energies.append(ts.energy)
                outcomes["verified index-1 TS"] += 1
            else:
                pos = r["x"].reshape(-1, 3)
                spread = float(np.linalg.norm(pos - pos.mean(0), axis=1).max())
                why = r["message"] if r["claimed"] else r["message"].split(":")[0]
                outcomes[f"{'claimed' if r['claimed'] else 'unclaimed'} ({why}): {c.kind}"
                         f"{' index ' + str(c.index) if c.kind == 'saddle' else ''}"
                         f"{', an atom evaporated' if spread > 5.0 else ''}"] += 1
        claimed = sum(r["claimed"] for r in rs)
        true_claims = sum(r["claimed"] and r["verified"] for r in rs)
        calls = sum(r["gradient"] + r["hvp"] for r in rs)
        ok_calls = [r["gradient"] + r["hvp"] for r in rs if r["verified"]]
        report["methods"][name] = {
            "searches": len(rs), "claimed_converged": claimed, "verified_ts": verified,
            "fraction_of_claims_true_index1": true_claims / claimed if claimed else float("nan"),
            "force_calls_per_verified_ts": calls / verified if verified else float("inf"),
            "median_force_calls_successful": float(np.median(ok_calls)) if ok_calls else float("nan"),
            "gradient_calls": sum(r["gradient"] for r in rs), "hvp": sum(r["hvp"] for r in rs),
            "wall_s": sum(r["wall_s"] for r in rs),
            "distinct_ts_energies": len(np.unique(np.round(energies, 6))),
            "outcomes": dict(outcomes),
        }
    print(f"{lj.name}: {args.starts} starts (quenched random minima displaced by σ = {args.displacement}), "
          f"tol {args.tol}")
    print(f"{'method':32} {'claimed':>7} {'verified':>8} {'true/claim':>10} {'calls/TS':>9} {'median':>7} "
          f"{'wall s':>7}")
    for name, m in report["methods"].items():
        print(f"{name:32} {m['claimed_converged']:>7} {m['verified_ts']:>8} "
              f"{m['fraction_of_claims_true_index1']:>10.2f} {m['force_calls_per_verified_ts']:>9.0f} "
              f"{m['median_force_calls_successful']:>7.0f} {m['wall_s']:>7.1f}")
        print(f"{'':32} outcomes: {m['outcomes']}; HVPs {m['hvp']}")
    for ase_name in ase_variants:
        ase_cost = report["methods"][ase_name]["force_calls_per_verified_ts"]
        for name in methods:
            mine = report["methods"][name]["force_calls_per_verified_ts"]
            r = mine / ase_cost if math.isfinite(ase_cost) else 0.0
            report["methods"][name][f"calls_per_ts_ratio_to_{ase_name}"] = r
            if math.isfinite(ase_cost):
                print(f"force calls per verified TS, {name} / {ase_name}: {r:.2f}")
            else:
                print(f"force calls per verified TS, {name} / {ase_name}: {ase_name} verified no TS")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
