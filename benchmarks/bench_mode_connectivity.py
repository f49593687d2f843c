"""Barriers after permutation alignment and BatchNorm statistics on a path: levinthal vs rebasin.

Peer: ``rebasin`` 0.0.47 (Sebastian Müller; an implementation of Ainsworth, Hayase &
Srinivasa 2022, "Git Re-Basin"), installed only in the benchmark venv:

    .bench-venv/bin/pip install rebasin==0.0.47

Run (one thread; the peers would run the same way on a shared CPU):

    OMP_NUM_THREADS=1 .bench-venv/bin/python benchmarks/bench_mode_connectivity.py [--json out.json]

Case 1, weight matching. Two tanh MLPs 64-32-10 (``make_system("mlp-digits")``, 1,438 training
digits, float64) trained from seeds 0 and 1 by L-BFGS on the loss + ½·10⁻³‖x‖² (as
``levinthal mode-connect``). Both libraries permute B's hidden units onto A:

* **levinthal**: :func:`levinthal.paths.network_barriers.align_endpoint` (weight matching,
  :func:`levinthal.symmetry.weight_matching`);
* **rebasin**: ``PermutationCoordinateDescent(model_a, model_b, input_data_b=X[:16]).rebasin()``
  (its weight matching; it traces the model with torchview to find the permutable axes).

The permuted B of each is then scored by the *same* evaluator: the Euclidean distance to A
and the Frankle et al. (2020) barrier of the straight line (``linear_barrier``, 25 points);
that the permuted B still computes B's function is checked (equal loss). Reported: seconds of
the alignment (median of ``--repeats``), distance and barrier after alignment, ratios.

Case 2, BatchNorm statistics at the midpoint of two networks with BatchNorm (MLP 64-12-10
with ``BatchNorm1d``, trained in train mode from seeds 1 and 2 on 1,438 digits). The exact
eval-mode statistics of a point are the per-channel mean and unbiased variance of the
BatchNorm input over the training data, computed here directly in NumPy (``X W₁ᵀ + b₁``).

* **levinthal**: :func:`levinthal.paths.network_barriers.recompute_batchnorm_statistics`
  (reset, one full-batch pass in train mode with ``momentum=None``);
* **rebasin**: ``rebasin.utils.recalculate_batch_norms(model, loader, 0, "cpu", False)``, what
  its ``LerpSimple`` interpolation calls at every point, with a shuffled ``DataLoader`` of
  batch 64 over the same data (the usual training loader) and its default of
  ``len(loader)`` batches.

Reported: the largest error of the running mean in units of the exact standard deviation and
the largest relative error of the running variance (max over channels), the eval-mode loss at
the midpoint with each set of statistics against the loss with the exact ones, and seconds
(median of ``--repeats``).

Measured (2-core shared CPU, one thread; ``--repeats 5``)
---------------------------------------------------------
Case 1: both find the same permutation (distance 13.237 → 8.167, barrier 0.237 → 0.035, the
permuted B's loss equal to B's within 2e-18); over three runs levinthal 0.8-3.2 ms, rebasin
26-50 ms (levinthal / rebasin = 0.02-0.13; the machine's load moves the small figure most).
rebasin's time includes tracing the model with torchview to find the permutable axes, which
levinthal reads off the ``nn.Sequential`` layout instead.

Case 2: levinthal's statistics equal the exact moments to round-off (Δμ/σ 4e-17, Δσ²/σ² 4e-16;
midpoint loss 0.486209 = exact); rebasin's are off by Δμ/σ 0.036 and Δσ²/σ² 73, midpoint loss
1.156 (2.4x the exact 0.486). The cause: ``recalculate_batch_norms`` resets the statistics
(mean 0, variance 1) but keeps PyTorch's default ``momentum=0.1``, so after 23 batches the
reset variance 1 still carries weight 0.9²³ = 0.09, far above the true variances (~1e-3) of
the trained network's channels; levinthal uses ``momentum=None`` (cumulative average), which
forgets the reset values. Time: levinthal 1.1-1.7 ms (one full batch), rebasin 32-99 ms (23
batches through a DataLoader); ratio 0.01-0.05.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import vector_to_parameters

from levinthal.minimize import minimize
from levinthal.paths.network_barriers import (
    align_endpoint,
    batchnorm_statistics,
    linear_barrier,
    recompute_batchnorm_statistics,
)
from levinthal.systems import make_system
from levinthal.systems.networks import NetworkLandscape, digits, reset_parameters
from levinthal.systems.regularized import L2Regularized


def _train(land, x0, l2=1e-3):
    r = minimize(L2Regularized(land, l2), x0, memory=20, max_step=1.0, rms_tol=1e-5, max_iterations=5000)
    if not r.converged:
        raise SystemExit(f"training did not converge: {r.message}")
    return r.x


def _median_seconds(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def weight_matching_case(repeats: int) -> dict:
    from rebasin import PermutationCoordinateDescent

    land = make_system("mlp-digits", seed=0)
    other = make_system("mlp-digits", seed=1)
    a, b = _train(land, land.initial_point()), _train(land, other.initial_point())
    X = digits(flatten=True, dtype=torch.float64).train_inputs  # rebasin traces the model on X[:16]

    def levinthal_align():
        return align_endpoint(land, a, b)[0]

    def rebasin_align():
        model_a, model_b = copy.deepcopy(land.model), copy.deepcopy(land.model)
        vector_to_parameters(a, model_a.parameters())
        vector_to_parameters(b, model_b.parameters())
        pcd = PermutationCoordinateDescent(model_a, model_b, input_data_b=X[:16])
        pcd.rebasin()
        # rebasin leaves permuted weights non-contiguous; parameters_to_vector needs views
        return torch.cat([p.detach().reshape(-1) for p in model_b.parameters()])

    rows = {}
    for name, fn in (("levinthal", levinthal_align), ("rebasin", rebasin_align)):
        seconds, b_aligned = _median_seconds(fn, repeats)
        profile = linear_barrier(land, a, b_aligned, held_out=False)
        rows[name] = {
            "seconds": seconds,
            "distance_after": float(torch.linalg.vector_norm(a - b_aligned)),
            "barrier_after": profile.barrier,
            "same_function_loss_error": abs(land.energy(b_aligned) - land.energy(b)),
        }
    raw = linear_barrier(land, a, b, held_out=False)
    return {"distance_before": float(torch.linalg.vector_norm(a - b)), "barrier_before": raw.barrier,
            **rows, "time_ratio": rows["levinthal"]["seconds"] / rows["rebasin"]["seconds"]}


def _bn_model(seed):
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(64, 12), nn.BatchNorm1d(12), nn.Tanh(), nn.Linear(12, 10)).double()
    return reset_parameters(model, seed)


def batchnorm_case(repeats: int) -> dict:
    from rebasin.utils import recalculate_batch_norms

    data = digits(flatten=True, dtype=torch.float64)
    X, y = data.train_inputs, data.train_targets
    train_mode = NetworkLandscape(_bn_model(1), X, y, mode="train")
    land = NetworkLandscape(_bn_model(1), X, y, mode="eval")
    ends = [_train(train_mode, NetworkLandscape(_bn_model(s), X, y, mode="train").initial_point())
            for s in (1, 2)]
    mid = 0.5 * (ends[0] + ends[1])
    w, b1 = mid[: 12 * 64].reshape(12, 64).numpy(), mid[12 * 64 : 12 * 65].numpy()
    z = X.numpy() @ w.T + b1
    exact = {"1.running_mean": z.mean(0), "1.running_var": z.var(0, ddof=1)}
    exact_stats = {"1.running_mean": torch.as_tensor(exact["1.running_mean"]),
                   "1.running_var": torch.as_tensor(exact["1.running_var"])}
    with batchnorm_statistics(land, exact_stats):
        exact_loss = land.energy(mid)

    def levinthal_stats():
        return recompute_batchnorm_statistics(land, mid)

    def rebasin_stats():
        torch.manual_seed(0)
        model = _bn_model(1)
        vector_to_parameters(mid, model.parameters())
        dataset = torch.utils.data.TensorDataset(X, y)
        loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
        recalculate_batch_norms(model, loader, 0, "cpu", False)
        model.eval()
        with torch.no_grad():
            loss = float(F.cross_entropy(model(X), y))
        return {n: t.detach().clone() for n, t in model.state_dict().items() if "running" in n}, loss

    out = {"exact_midpoint_loss": exact_loss}
    seconds, stats = _median_seconds(levinthal_stats, repeats)
    with batchnorm_statistics(land, stats):
        loss = land.energy(mid)
    results = {"levinthal": (seconds, stats, loss)}
    seconds, (stats, loss) = _median_seconds(rebasin_stats, repeats)
    results["rebasin"] = (seconds, stats, loss)
    for name, (sec, st, loss) in results.items():
        out[name] = {
            "seconds": sec,
            "mean_error_in_sd": float(np.max(np.abs(st["1.running_mean"].numpy() - exact["1.running_mean"])
                                             / np.sqrt(exact["1.running_var"]))),
            "var_rel_error": float(np.max(np.abs(st["1.running_var"].numpy() - exact["1.running_var"])
                                          / exact["1.running_var"])),
            "midpoint_loss": loss,
        }
    out["time_ratio"] = out["levinthal"]["seconds"] / out["rebasin"]["seconds"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    wm = weight_matching_case(args.repeats)
    print("Case 1: weight matching of two digits MLPs (64-32-10 tanh, 2,410 parameters)")
    print(f"  before alignment: distance {wm['distance_before']:.4f}, barrier {wm['barrier_before']:.4f}")
    print(f"  {'':10} {'seconds':>9} {'distance':>9} {'barrier':>9} {'|ΔE(b)|':>9}")
    for name in ("levinthal", "rebasin"):
        r = wm[name]
        print(f"  {name:10} {r['seconds']:>9.4f} {r['distance_after']:>9.4f} {r['barrier_after']:>9.4f} "
              f"{r['same_function_loss_error']:>9.1e}")
    print(f"  time levinthal / rebasin = {wm['time_ratio']:.3f}")
    bn = batchnorm_case(args.repeats)
    print("Case 2: BatchNorm statistics at the midpoint of two BN-MLPs (exact: data mean, unbiased variance)")
    print(f"  eval loss with exact statistics {bn['exact_midpoint_loss']:.6f}")
    print(f"  {'':10} {'seconds':>9} {'Δμ/σ':>9} {'Δσ²/σ²':>9} {'loss':>9}")
    for name in ("levinthal", "rebasin"):
        r = bn[name]
        print(f"  {name:10} {r['seconds']:>9.4f} {r['mean_error_in_sd']:>9.1e} {r['var_rel_error']:>9.1e} "
              f"{r['midpoint_loss']:>9.6f}")
    print(f"  time levinthal / rebasin = {bn['time_ratio']:.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"weight_matching": wm, "batchnorm": bn}, fh, indent=1)


if __name__ == "__main__":
    main()
