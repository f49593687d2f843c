"""2-D filter-normalised loss grids: levinthal.slices vs loss-landscapes vs a plain loop.

Peer: ``loss-landscapes`` 3.0.6 (Marcello De Bernardi), installed only in the benchmark venv:

    .bench-venv/bin/pip install loss-landscapes==3.0.6

Run (one thread, as the peers would on a shared CPU):

    OMP_NUM_THREADS=1 .bench-venv/bin/python benchmarks/bench_slices_vs_loss_landscapes.py [--json out.json]

Cases: the digits MLP (``make_system("mlp-digits")``: 64-32-10 tanh, 1,438 training images,
float64) and a small CNN (``small_cnn(image_size=28)``: 9,098 parameters, float32) on the
5,000 MNIST digits (``data.mnist5k``; ``--cnn-samples`` of the 4,000 training images, default
500 so the run fits a loaded 2-core machine; ``--cnn-samples 4000`` for all of them).
Each case is a ``R × R`` grid (``--resolutions``, default 25 and 51 for the MLP, 25 for the
CNN unless ``--cnn-resolutions``), filter-normalised random directions, the same model,
data and loss (mean cross-entropy) for all three:

* **levinthal**: ``random_directions`` + ``grid_2d`` (evaluator measured and chosen
  automatically; the choice is reported);
* **loss-landscapes**: ``loss_landscapes.random_plane(model, Loss(cross_entropy, X, y),
  distance=1, steps=R, normalization="filter", deepcopy_model=True)``, its per-point loop
  of in-place parameter updates and a forward pass (with autograd recording, as it does);
* **loop**: a plain per-point loop, ``vector_to_parameters`` + ``model(X)`` under
  ``torch.no_grad()``.

Reported (CPU seconds of the process by default, see ``--clock``): seconds per grid,
seconds per grid point, the ratio of time per point to one forward pass + loss over the
same data (no_grad, median of several), and levinthal / fastest peer (< 1: levinthal
faster). The three (and the forward-pass timing) are interleaved ``--repeats`` times
(default 3; once for grids over a minute) in one process so the machine's load affects
them alike, and the best of the repeats is reported. The values of levinthal's grid are
checked against ``landscape.energy`` at a few points (the peer draws its own directions, so
its values differ by construction).

Measured here (2026-11-23, 2-core machine shared with ~6 jobs, load 5-7, one thread, CPU
seconds; levinthal chose ``affine-first`` with one point per call in every case)::

    case                         grid   levinthal         loss-landscapes   loop              lev/fastest
    mlp-digits (1438 images)     25x25  0.49 s (0.87 fwd)  0.62 s (1.10)    0.65 s (1.15)     0.79
    mlp-digits (1438 images)     51x51  1.84 s (0.95 fwd)  2.47 s (1.27)    2.64 s (1.36)     0.75
    small_cnn 28x28 (4000 MNIST) 25x25  223 s (0.69 fwd)   354 s (1.09)     315 s (0.97)      0.71

(``fwd``: time per grid point / one forward pass + loss over the same data.) Commands:
``--systems mlp`` (best of 3) and ``--systems cnn --cnn-samples 4000 --repeats 1``. The
51x51 CNN grid (about 25 CPU minutes for the three) was not run on this machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from levinthal.slices import grid_2d, random_directions
from levinthal.systems import make_system
from levinthal.systems.networks.data import mnist5k
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import reset_parameters, small_cnn

CLOCK = time.process_time
"""The clock: CPU seconds of this process by default (``--clock cpu``). With one thread it
is the work done, not the wait for a core on a shared machine, whose load varied 3x during
a run here; ``--clock wall`` for wall-clock seconds."""


def forward_seconds(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, repeats: int = 7) -> float:
    """Median seconds of one forward pass + mean cross-entropy over (X, y), no autograd."""
    times = []
    with torch.no_grad():
        F.cross_entropy(model(X), y)
        for _ in range(repeats):
            t0 = CLOCK()
            F.cross_entropy(model(X), y)
            times.append(CLOCK() - t0)
    return statistics.median(times)


def run_levinthal(land: NetworkLandscape, res: int, seed: int) -> tuple[float, dict]:
    x = land.initial_point()
    t0 = CLOCK()
    d = random_directions(land, x, 2, seed=seed)
    g = grid_2d(land, x, d, resolution=res, range=(-1.0, 1.0))
    dt = CLOCK() - t0
    # Spot check against the protocol's energy (independent evaluation path).
    rng = np.random.default_rng(seed)
    for _ in range(3):
        i, j = rng.integers(0, res, size=2)
        ref = land.energy(x + g.alphas[i] * d.vectors[0] + g.betas[j] * d.vectors[1])
        assert abs(g.energies[i, j] - ref) <= 1e-5 * max(1.0, abs(ref)), (g.energies[i, j], ref)
    return dt, g.metadata["evaluator"]


def run_loss_landscapes(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, res: int) -> float:
    import loss_landscapes
    import loss_landscapes.metrics

    metric = loss_landscapes.metrics.Loss(F.cross_entropy, X, y)
    t0 = CLOCK()
    out = loss_landscapes.random_plane(model, metric, distance=1, steps=res, normalization="filter",
                                       deepcopy_model=True)
    dt = CLOCK() - t0
    assert out.shape == (res, res)
    return dt


def run_loop(land: NetworkLandscape, model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, res: int,
             seed: int) -> float:
    model = copy.deepcopy(model)
    x = land.initial_point()
    t0 = CLOCK()
    d1, d2 = random_directions(land, x, 2, seed=seed).vectors
    coords = np.linspace(-1.0, 1.0, res)
    E = np.empty((res, res))
    params = list(model.parameters())
    with torch.no_grad():
        for i, a in enumerate(coords):
            for j, b in enumerate(coords):
                torch.nn.utils.vector_to_parameters(x + a * d1 + b * d2, params)
                E[i, j] = float(F.cross_entropy(model(X), y))
    return CLOCK() - t0


def cases(args: argparse.Namespace) -> list[tuple[str, NetworkLandscape, list[int]]]:
    out = []
    if "mlp" in args.systems:
        out.append(("mlp-digits (float64, 1438 images)", make_system("mlp-digits", seed=0), args.resolutions))
    if "cnn" in args.systems:
        data = mnist5k(seed=0, flatten=False, dtype=torch.float32)
        n = min(args.cnn_samples, len(data.train_targets))
        model = reset_parameters(small_cnn(1, 28, 10), 0)
        land = NetworkLandscape(model, data.train_inputs[:n], data.train_targets[:n], name="cnn-mnist5k")
        out.append((f"small_cnn 28x28 (float32, {n} MNIST images)", land, args.cnn_resolutions))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--systems", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    ap.add_argument("--resolutions", nargs="+", type=int, default=[25, 51])
    ap.add_argument("--cnn-resolutions", nargs="+", type=int, default=[25])
    ap.add_argument("--cnn-samples", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (best of); 1 for long grids")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                    help="cpu: process CPU seconds (default; robust to a loaded machine); wall: wall clock")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--only", nargs="+", default=["lev", "ll", "loop"], choices=["lev", "ll", "loop"],
                    help="evaluators to run (default all three, interleaved); one each in separate "
                         "processes splits a long grid over cores, timed in CPU seconds all the same")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    results = []
    for label, land, resolutions in cases(args):
        model = copy.deepcopy(land.model)
        X, y = land._inputs, land._targets  # the landscape's own training data: equal data for all
        fwd = forward_seconds(model, X, y)
        print(f"\n{label}: dim {land.dim}, one forward pass + loss {fwd * 1e3:.2f} ms", flush=True)
        for res in resolutions:
            n = res * res
            times: dict[str, list[float]] = {"fwd": [], "lev": [], "ll": [], "loop": []}
            repeats = args.repeats if res * res * fwd < 60 else 1
            info = {"method": "not run", "points_per_call": 0}
            for _ in range(repeats):  # interleaved, so the machine's load hits all alike
                times["fwd"].append(forward_seconds(model, X, y))
                if "lev" in args.only:
                    t_lev, info = run_levinthal(land, res, args.seed)
                    times["lev"].append(t_lev)
                if "ll" in args.only:
                    times["ll"].append(run_loss_landscapes(model, X, y, res))
                if "loop" in args.only:
                    times["loop"].append(run_loop(land, model, X, y, res, args.seed))
            f, t_lev, t_ll, t_loop = (min(times[k], default=math.nan) for k in ("fwd", "lev", "ll", "loop"))
            fastest = min(t_ll, t_loop) if len(args.only) == 3 else math.nan
            row = {
                "case": label, "clock": args.clock, "resolution": res, "points": n, "repeats": repeats,
                "forward_seconds": f,
                "levinthal_seconds": t_lev, "loss_landscapes_seconds": t_ll, "loop_seconds": t_loop,
                "levinthal_per_point_over_forward": t_lev / n / f,
                "loss_landscapes_per_point_over_forward": t_ll / n / f,
                "loop_per_point_over_forward": t_loop / n / f,
                "levinthal_over_fastest_peer": t_lev / fastest,
                "levinthal_evaluator": f"{info['method']}:{info['points_per_call']}",
                "all_seconds": times,
            }
            results.append(row)
            print(f"  {res}x{res} (best of {repeats}; forward {f * 1e3:.2f} ms): levinthal {t_lev:7.2f} s "
                  f"({row['levinthal_evaluator']}, "
                  f"{row['levinthal_per_point_over_forward']:.2f} fwd/point) | "
                  f"loss-landscapes {t_ll:7.2f} s ({row['loss_landscapes_per_point_over_forward']:.2f}) | "
                  f"loop {t_loop:7.2f} s ({row['loop_per_point_over_forward']:.2f}) | levinthal/fastest peer "
                  f"{row['levinthal_over_fastest_peer']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
