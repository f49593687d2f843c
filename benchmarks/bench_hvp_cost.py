"""Cost of one Hessian-vector product relative to one gradient, for the network presets on CPU.

Reproduce (from the repository root; PyHessian lives only in the benchmark venv)::

    .bench-venv/bin/pip install pyhessian
    OMP_NUM_THREADS=1 .bench-venv/bin/python benchmarks/bench_hvp_cost.py [--json out.json]

What is timed (same model, parameters, data and loss for every variant, float64, full batch)
------------------------------------------------------------------------------------------
* ``gradient``: ``landscape.energy_gradient(x)`` (torch.func ``grad_and_value``) — the unit.
* ``hvp``: ``landscape.hvp(x, v)`` — forward-over-reverse (Pearlmutter 1994), re-traced at
  every call: what a tool pays per product when it does not know that x is fixed.
* ``hvp_operator[double-backward]``: ``landscape.hvp_operator(x)`` once, then ``op(v)`` per
  product — one ``create_graph`` gradient kept, one backward pass per product.
* ``hvp_operator[linearize]``: ``hvp_operator(x, method="linearize")`` — ``torch.func.linearize``
  traces the forward-over-reverse product once; each product replays the traced graph.
* ``pyhessian``: PyHessian (Yao, Gholami, Keutzer & Mahoney 2020): ``hessian(model,
  CrossEntropyLoss(), data=(X, y), cuda=False)`` builds ``gradsH`` by ``loss.backward(
  create_graph=True)``; each product is ``torch.autograd.grad(gradsH, params, grad_outputs=v,
  retain_graph=True)`` — the call of ``pyhessian.utils.hessian_vector_product`` minus the
  ``only_inputs`` argument that current torch no longer accepts (called here directly; no
  PyHessian code copied). Its own gradient (forward + ``backward``) is timed as its unit.

Per-product times are medians over ``--reps`` calls, the variants interleaved call by call so
that the shared machine's load hits all alike. ``--clock cpu`` (default) times the process's
CPU time (``time.process_time``; with one torch thread this is the work done, and it is not
inflated by waiting for a core on a loaded machine, which made wall times there vary 3x from
run to run); ``--clock wall`` times ``time.perf_counter``. One-off setup (graph building, tracing) is
reported separately, with the amortised cost of a 20-product Lanczos run
((setup + 20 products) / 20) — the regime of ``lanczos_eigs``/``classify``. For reference,
curvlinops (Dangel et al.) reports HVP/gradient ratios of 4.5–7.9x in eager mode.

Measured (2026-11-23, 2-core shared CPU, one torch thread, torch 2.13, float64, CPU-time medians
of 21 interleaved calls; ``OMP_NUM_THREADS=1 .bench-venv/bin/python benchmarks/bench_hvp_cost.py``)
--------------------------------------------------------------------------------------------------
HVP cost / gradient cost (setup excluded; in brackets (setup + 20 products) / 20 / gradient):

=============  ========  ======  ==================  ===========  =========
system         gradient  hvp     op double-backward  op linearize PyHessian
=============  ========  ======  ==================  ===========  =========
mlp-digits     2.05 ms   3.44    0.93 (1.01)         1.10 (50.5)  0.97
cnn-digits     50.9 ms   2.89    1.71 (1.76)         1.49 (2.00)  1.93
mlp-mnist      28.4 ms   3.13    1.11 (1.16)         1.14 (1.82)  1.03
=============  ========  ======  ==================  ===========  =========

Speed-up of the fixed-point operator (double-backward, the default) over ``hvp``: 3.7x, 1.7x,
2.8x; it is on par with PyHessian's product (same reverse-over-reverse call). ``linearize`` is
bitwise equal to ``hvp`` and the cheapest per product on the CNN, but its tracing (0.4–2 s)
only pays after hundreds of products. Re-traced ``hvp`` costs 2.9–3.4 gradients, below
curvlinops' 4.5–7.9x; the fixed-point products cost ~1–1.7 gradients because the forward pass
and the first backward are paid once, at setup.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import numpy as np
import torch

from levinthal.systems import make_system
from levinthal.systems.networks.data import digits, mnist5k

SYSTEMS = ("mlp-digits", "cnn-digits", "mlp-mnist")


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = time.process_time


def _timed(f):
    t = _clock()
    out = f()
    return out, _clock() - t


def _pyhessian(ls, x, name):
    """PyHessian's hessian object on the landscape's own model and data, checked to be the same loss."""
    import pyhessian  # noqa: F401

    ph = sys.modules["pyhessian.hessian"]
    data = (digits(seed=0, flatten=name != "cnn-digits", dtype=torch.float64) if "digits" in name
            else mnist5k(seed=0, flatten=True, dtype=torch.float64))
    X, y = data.train_inputs, data.train_targets
    model = ls.model
    torch.nn.utils.vector_to_parameters(x.detach().clone(), model.parameters())
    with torch.no_grad():
        loss = float(torch.nn.CrossEntropyLoss()(model(X), y))
    if abs(loss - ls.energy(x)) > 1e-10 * max(1.0, abs(loss)):
        raise RuntimeError(f"{name}: PyHessian's loss {loss} differs from the landscape's {ls.energy(x)}")

    def setup():
        model.zero_grad()
        return ph.hessian(model, torch.nn.CrossEntropyLoss(), data=(X, y), cuda=False)

    def grad_fn():
        model.zero_grad()
        torch.nn.CrossEntropyLoss()(model(X), y).backward()

    return setup, grad_fn, model


def bench(name: str, reps: int, seed: int) -> dict:
    ls = make_system(name)
    rng = np.random.default_rng(seed)
    x = ls.random_point(rng)
    v = torch.as_tensor(rng.standard_normal(ls.dim), dtype=ls.dtype)
    out: dict = {"system": name, "dim": ls.dim, "n_samples": ls.n_samples}

    op_db, t_db = _timed(lambda: ls.hvp_operator(x))
    op_lin, t_lin = _timed(lambda: ls.hvp_operator(x, method="linearize"))
    ph_setup, ph_grad, _ = _pyhessian(ls, x, name)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        h, t_ph = _timed(ph_setup)
        params = h.params
        sizes = [p.numel() for p in params]
        vs = [t.reshape(p.shape) for t, p in zip(torch.split(v, sizes), params, strict=True)]
        ref = ls.hvp(x, v)
        ph_hv = torch.cat([t.reshape(-1) for t in torch.autograd.grad(h.gradsH, params, grad_outputs=vs,
                                                                        retain_graph=True)])
        errs = {"hvp_operator[double-backward]": float((op_db(v) - ref).abs().max()),
                "hvp_operator[linearize]": float((op_lin(v) - ref).abs().max()),
                "pyhessian": float((ph_hv - ref).abs().max())}
        variants = {
            "gradient": lambda: ls.energy_gradient(x),
            "hvp": lambda: ls.hvp(x, v),
            "hvp_operator[double-backward]": lambda: op_db(v),
            "hvp_operator[linearize]": lambda: op_lin(v),
            "pyhessian_gradient": ph_grad,
            "pyhessian": lambda: torch.autograd.grad(h.gradsH, params, grad_outputs=vs, retain_graph=True),
        }
        for f in variants.values():  # warm-up
            f()
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(reps):
            for k, f in variants.items():
                times[k].append(_timed(f)[1])
    finally:
        torch.set_default_dtype(old)
    med = {k: statistics.median(t) for k, t in times.items()}
    setup = {"hvp_operator[double-backward]": t_db, "hvp_operator[linearize]": t_lin, "pyhessian": t_ph}
    g = med["gradient"]
    out["median_s"] = med
    out["setup_s"] = setup
    out["max_abs_diff_vs_hvp"] = errs
    out["ratio_to_gradient"] = {k: med[k] / g for k in ("hvp", "hvp_operator[double-backward]",
                                                        "hvp_operator[linearize]", "pyhessian")}
    out["pyhessian_ratio_to_own_gradient"] = med["pyhessian"] / med["pyhessian_gradient"]
    out["speedup_vs_hvp"] = {k: med["hvp"] / med[k] for k in setup}
    out["amortised_20_ratio_to_gradient"] = {k: (setup[k] + 20 * med[k]) / 20 / g for k in setup}
    return out


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS))
    ap.add_argument("--clock", choices=sorted(CLOCK), default="cpu", help="cpu (default) or wall time")
    args = ap.parse_args(argv)
    global _clock
    _clock = CLOCK[args.clock]
    torch.set_num_threads(args.threads)
    results = []
    for name in args.systems:
        r = bench(name, args.reps, args.seed)
        results.append(r)
        m = r["median_s"]
        print(f"\n{name}: dim {r['dim']}, {r['n_samples']} samples; gradient {m['gradient'] * 1e3:.2f} ms")
        print(f"  {'variant':32s} {'ms/product':>10s} {'HVP/grad':>9s} {'setup ms':>9s} "
              f"{'amortised/grad (20)':>20s} {'speedup vs hvp':>15s} {'max|Δ| vs hvp':>14s}")
        for k in ("hvp", "hvp_operator[double-backward]", "hvp_operator[linearize]", "pyhessian"):
            s = r["setup_s"].get(k)
            extra = ["", "", ""] if s is None else [f"{s * 1e3:.1f}",
                                                    f"{r['amortised_20_ratio_to_gradient'][k]:.2f}",
                                                    f"{r['speedup_vs_hvp'][k]:.2f}"]
            print(f"  {k:32s} {m[k] * 1e3:10.2f} {r['ratio_to_gradient'][k]:9.2f} {extra[0]:>9s} "
                  f"{extra[1]:>20s} {extra[2]:>15s} {r['max_abs_diff_vs_hvp'].get(k, 0.0):14.1e}")
        print(f"  PyHessian HVP / its own gradient: {r['pyhessian_ratio_to_own_gradient']:.2f}")
    meta = {"python": sys.version.split()[0], "torch": torch.__version__, "platform": platform.platform(),
            "threads": args.threads, "reps": args.reps, "clock": args.clock}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
