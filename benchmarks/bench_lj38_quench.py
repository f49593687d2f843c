"""LJ38 quenches: levinthal's compiled L-BFGS against pele's C++ ``LJ`` + ``lbfgs_cpp``.

Both minimisers start from the same random configurations (levinthal's
``LennardJonesCluster(38).random_point``, one ``numpy.random.default_rng(seed)``) in the same
process, with the same parameters — pele's defaults: memory M = 4, maximum step 0.1 σ,
maximum energy rise 1e-4 ε, H0 = 0.1, the step cap on the largest single-atom displacement as
pele's C++ LBFGS applies it — and the same stopping rule, pele's convention
RMS gradient ‖g‖/√(3N) ≤ ``--tol`` (default 1e-5, pele's current default).

Reported per quench: wall time (each quench timed separately, Python call included; the codes
alternate start by start so both see the same machine load, and each quench's time is its
fastest of ``--repeats`` runs), energy+
gradient evaluations, fraction converged, mean final energy, the fraction of starts where the
two codes reach the same energy (within 1e-6 ε), and the ratios levinthal / pele. One
energy+gradient call of each code is timed from Python, and levinthal's kernel also inside a
compiled loop (its cost as seen by the minimiser). A batched, thread-parallel levinthal run is
reported for information.

Setup (pele is a benchmark peer only, never a levinthal dependency)::

    .bench-venv/bin/pip install pele      # pele 0.1.2 ships a manylinux wheel for CPython 3.11

Run::

    .bench-venv/bin/python benchmarks/bench_lj38_quench.py [--quenches 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numba
import numpy as np
from numba import njit

from levinthal.minimize.compiled_lbfgs import lbfgs_compiled, lbfgs_compiled_batch
from levinthal.systems.clusters import LennardJonesCluster

PARAMS = {"memory": 4, "max_step": 0.1, "max_energy_rise": 1e-4, "h0": 0.1, "max_iterations": 10000}


@njit(cache=True)
def _kernel_loop(kernel, x, params, repeats):
    s = 0.0
    for _ in range(repeats):
        e, g = kernel(x, params)
        s += e + g[0]
    return s


def _time_call(fn, repeats: int) -> float:
    """Best of 5 batches of ``repeats`` calls, seconds per call."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return best


def _levinthal_quench(L, tol: float, step_norm: str):
    def quench(x0):
        r = lbfgs_compiled(L, x0, rms_tol=tol, step_norm=step_norm, **PARAMS)
        return r.counts.gradient, r.energy, r.converged
    return quench


def _pele_quench(tol: float):
    from pele.optimize import lbfgs_cpp
    from pele.potentials import LJ

    pot = LJ(eps=1.0, sig=1.0)
    kw = {"tol": tol, "M": PARAMS["memory"], "maxstep": PARAMS["max_step"],
          "maxErise": PARAMS["max_energy_rise"], "H0": PARAMS["h0"], "nsteps": PARAMS["max_iterations"]}

    def quench(x0):
        r = lbfgs_cpp(x0, pot, **kw)
        return r.nfev, r.energy, bool(r.success)
    return quench, pot


def run_interleaved(quenches: dict, X0: np.ndarray, repeats: int) -> dict:
    """Run every code on every start, alternating the order start by start so that all codes
    see the same machine load; a quench's time is its fastest of ``repeats`` runs."""
    names = list(quenches)
    for q in quenches.values():
        q(X0[0].copy())  # load compiled code / warm caches
    res = {k: {"time": np.full(len(X0), np.inf), "nfev": np.zeros(len(X0), dtype=int),
               "energy": np.zeros(len(X0)), "converged": np.zeros(len(X0), dtype=bool)} for k in names}
    for rep in range(repeats):
        for i, x0 in enumerate(X0):
            order = names if (i + rep) % 2 == 0 else names[::-1]
            for k in order:
                t = time.perf_counter()
                nfev, e, ok = quenches[k](x0)
                dt = time.perf_counter() - t
                d = res[k]
                d["time"][i] = min(d["time"][i], dt)
                d["nfev"][i], d["energy"][i], d["converged"][i] = nfev, e, ok
    return res


def summary(d: dict) -> dict:
    return {
        "ms_per_quench_mean": 1e3 * float(d["time"].mean()),
        "ms_per_quench_median": 1e3 * float(np.median(d["time"])),
        "grad_evals_per_quench": float(d["nfev"].mean()),
        "us_per_grad_eval_in_quench": 1e6 * float(d["time"].sum() / d["nfev"].sum()),
        "fraction_converged": float(d["converged"].mean()),
        "mean_final_energy": float(d["energy"].mean()),
        "lowest_energy": float(d["energy"].min()),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quenches", type=int, default=200, help="number of random starts (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    ap.add_argument("--tol", type=float, default=1e-5, help="RMS-gradient tolerance (default 1e-5)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each quench; its fastest is reported (default 3)")
    ap.add_argument("--json", type=str, default=None, help="write the figures to this JSON file")
    args = ap.parse_args(argv)

    L = LennardJonesCluster(38)
    rng = np.random.default_rng(args.seed)
    X0 = np.array([L.random_point(rng) for _ in range(args.quenches)])

    try:
        pele_quench, pot = _pele_quench(args.tol)
    except ImportError as exc:
        sys.exit(f"pele is not importable ({exc}); install it with: .bench-venv/bin/pip install pele")
    runs = run_interleaved({
        "levinthal": _levinthal_quench(L, args.tol, "atom"),  # per-atom step cap, as pele's C++ LBFGS
        "pele": pele_quench,
        "levinthal_total": _levinthal_quench(L, args.tol, "total"),  # whole-step cap (information)
    }, X0, args.repeats)
    lev, pel = runs["levinthal"], runs["pele"]

    # one energy+gradient call
    x = X0[0]
    p = L.kernel_params
    _kernel_loop(L.kernel, x, p, 1)
    lev_inner = _time_call(lambda: _kernel_loop(L.kernel, x, p, 2000), 5) / 2000
    lev_py = _time_call(lambda: L.energy_gradient(x), 2000)
    pele_py = _time_call(lambda: pot.getEnergyGradient(x), 2000)
    e_l, g_l = L.energy_gradient(x)
    e_p, g_p = pot.getEnergyGradient(x)

    # information only: the whole-step cap, and the batched thread-parallel quench
    lev_total = summary(runs["levinthal_total"])
    lbfgs_compiled_batch(L, X0[:2], rms_tol=args.tol, **PARAMS)
    t = time.perf_counter()
    b = lbfgs_compiled_batch(L, X0, rms_tol=args.tol, **PARAMS)
    batch_ms = 1e3 * (time.perf_counter() - t) / args.quenches

    sl, sp = summary(lev), summary(pel)
    out = {
        "system": "LJ38, reduced units",
        "quenches": args.quenches,
        "seed": args.seed,
        "repeats": args.repeats,
        "rms_tol": args.tol,
        "parameters": PARAMS,
        "levinthal": sl,
        "pele": sp,
        "ratio_levinthal_over_pele": {
            "time_per_quench_mean": sl["ms_per_quench_mean"] / sp["ms_per_quench_mean"],
            "time_per_quench_median": sl["ms_per_quench_median"] / sp["ms_per_quench_median"],
            "grad_evals_per_quench": sl["grad_evals_per_quench"] / sp["grad_evals_per_quench"],
        },
        "same_final_energy_fraction": float(np.mean(np.abs(lev["energy"] - pel["energy"]) < 1e-6)),
        "energy_gradient_call_us": {
            "levinthal_kernel_in_compiled_loop": 1e6 * lev_inner,
            "levinthal_energy_gradient_from_python": 1e6 * lev_py,
            "pele_getEnergyGradient_from_python": 1e6 * pele_py,
            "agree_energy": abs(e_l - e_p) <= 1e-9 * max(1.0, abs(e_p)),
            "grad_rel_diff": float(np.abs(g_l - np.asarray(g_p)).max() / np.abs(g_p).max()),
        },
        "levinthal_step_norm_total": lev_total,
        "levinthal_batch_parallel_ms_per_quench": batch_ms,
        "levinthal_batch_threads": numba.get_num_threads(),
        "levinthal_batch_converged_fraction": float(b.each_converged.mean()),
        "platform": {"python": platform.python_version(), "numpy": np.__version__,
                     "numba": numba.__version__, "machine": platform.machine(),
                     "processor": platform.processor()},
    }
    _print(out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


def _print(out: dict) -> None:
    sl, sp, r = out["levinthal"], out["pele"], out["ratio_levinthal_over_pele"]
    print(f"LJ38: {out['quenches']} quenches from random starts (seed {out['seed']}), "
          f"RMS tol {out['rms_tol']:g}")
    print(f"{'':32s}{'levinthal':>14s}{'pele':>14s}{'ratio':>10s}")
    rows = [("ms / quench (mean)", "ms_per_quench_mean", "time_per_quench_mean"),
            ("ms / quench (median)", "ms_per_quench_median", "time_per_quench_median"),
            ("grad evals / quench", "grad_evals_per_quench", "grad_evals_per_quench"),
            ("µs / grad eval in quench", "us_per_grad_eval_in_quench", None),
            ("fraction converged", "fraction_converged", None),
            ("mean final energy", "mean_final_energy", None),
            ("lowest energy", "lowest_energy", None)]
    for label, key, rkey in rows:
        ratio = f"{r[rkey]:10.3f}" if rkey else ""
        print(f"{label:32s}{sl[key]:14.4f}{sp[key]:14.4f}{ratio}")
    print(f"same final energy (1e-6): {out['same_final_energy_fraction']:.3f}")
    c = out["energy_gradient_call_us"]
    print("one energy+gradient call: levinthal kernel in compiled loop "
          f"{c['levinthal_kernel_in_compiled_loop']:.2f} µs, "
          f"from Python {c['levinthal_energy_gradient_from_python']:.2f} µs; "
          f"pele from Python {c['pele_getEnergyGradient_from_python']:.2f} µs "
          f"(energies agree: {c['agree_energy']}, max |Δg|/max |g| {c['grad_rel_diff']:.1e})")
    t = out["levinthal_step_norm_total"]
    print(f"levinthal capping the whole-step norm instead: {t['ms_per_quench_mean']:.3f} ms, "
          f"{t['grad_evals_per_quench']:.1f} grad evals / quench")
    print(f"levinthal batch ({out['levinthal_batch_threads']} threads): "
          f"{out['levinthal_batch_parallel_ms_per_quench']:.3f} ms / quench")


if __name__ == "__main__":
    main()
