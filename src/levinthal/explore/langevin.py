"""Langevin dynamics at a temperature: overdamped (Euler–Maruyama, or Metropolis-adjusted) and
underdamped (BAOAB), with periodic quenches of the walkers into a minima sink.

Conventions (unit mass; ``kT`` in the landscape's energy units; time in units where a
force ``−∇E`` changes a momentum by ``−∇E dt``):

* **overdamped** ``dx = −(1/γ) ∇E dt + √(2 kT/γ) dW``, integrated by Euler–Maruyama with
  the effective step ``τ = dt/γ``: ``x ← x − τ ∇E(x) + √(2 kT τ) ξ``, ξ ~ N(0, I). Its
  stationary law is Boltzmann only as τ → 0: on E = ½ k x² the chain is AR(1) with exact
  stationary variance ``kT / (k (1 − τk/2))`` (stable for τk < 2), biased by O(τ).
* **mala**: the same proposal accepted with the Metropolis–Hastings probability
  ``min(1, π(y) q(x|y) / (π(x) q(y|x)))``, ``q(y|x) ∝ exp(−|y − x + τ∇E(x)|² / (4 kT τ))``
  (Roberts & Tweedie 1996, Bernoulli 2, 341): exact Boltzmann sampling at any τ.
* **baoab** (underdamped) ``dx = p dt``, ``dp = −∇E dt − γ p dt + √(2 γ kT) dW``, split as
  B (half kick), A (half drift), O (exact Ornstein–Uhlenbeck ``p ← c p + √(kT(1 − c²)) ξ``,
  ``c = e^{−γ dt}``), A, B (Leimkuhler & Matthews 2013, Appl. Math. Res. Express 2013, 34).
  Its configurational marginal is exact on a harmonic well for every stable dt (dt·√k < 2)
  and has small O(dt²) error in general; the kinetic temperature ⟨p²⟩ is biased at large dt.
  Initial momenta are drawn from Maxwell–Boltzmann at kT.

Many walkers are advanced together: ``x0`` of shape ``(n, dim)`` is evaluated in one batched
``energy_gradients`` call per step when the landscape offers it. NumPy landscapes draw noise
from the ``numpy.random.Generator``; torch landscapes keep every vector on the model's device
and draw noise from a ``torch.Generator`` on that device seeded by one draw from the numpy
generator (so a seed fixes both); checkpoints store the states of both. Vectors never leave
the device inside the loop (MALA's accept tests and counts stay there too); per step only the
input checks' finiteness flags are read on the host, and positions and energies only when
recorded.

Every ``quench_every`` steps all walkers are quenched (L-BFGS, :func:`minimize_batch`) and the
converged minima offered to the sink; with ``checkpoint_every`` the sink stores positions,
momenta, generator states, step and records, and a rerun with the same sink and settings
continues from there and ends bit-for-bit where the uninterrupted run would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.explore import _walkers as W
from levinthal.explore.sink import InMemoryMinima
from levinthal.landscape import Result, as_like, checked, native_point
from levinthal.landscape.arrays import is_torch_array
from levinthal.progress import progress

__all__ = ["LANGEVIN_METHODS", "LangevinResult", "configurational_temperature", "langevin",
           "overdamped_stationary_variance"]

LANGEVIN_METHODS = ("overdamped", "mala", "baoab")

Array = Any


@dataclass
class LangevinResult(Result):
    """What :func:`langevin` produced.

    ``x``: final positions, shape ``(dim,)`` or ``(n, dim)`` like ``x0`` (native type);
    ``p``: final momenta (BAOAB) or ``None``; ``steps``: recorded step numbers ``(m,)``;
    ``energies``: ``(m, n)`` energies at those steps; ``trajectory``: ``(m, n, dim)`` host
    positions (``None`` if not recorded); ``kinetic_temperature``: ``(m,)`` mean p² per degree
    of freedom over walkers (BAOAB; NaN otherwise); ``acceptance``: per-walker MALA acceptance
    rates ``(n,)`` (ones otherwise); ``quenches``: ``(step, walker, minimum_id, is_new,
    energy)`` for every quench (``minimum_id`` None if it did not converge); ``sink``: where
    minima went; ``resumed_from``: the step a resumed run restarted at, else ``None``.
    """

    x: Array = None
    p: Array = None
    method: str = "baoab"
    kT: float = 0.0
    dt: float = 0.0
    friction: float = 1.0
    n_steps: int = 0
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    energies: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    trajectory: np.ndarray | None = None
    kinetic_temperature: np.ndarray = field(default_factory=lambda: np.zeros(0))
    acceptance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    quenches: list[tuple] = field(default_factory=list)
    sink: Any = None
    resumed_from: int | None = None


def overdamped_stationary_variance(k: float, kT: float, tau: float) -> float:
    """Exact stationary variance of Euler–Maruyama on E = ½ k x² with step τ:
    x' = (1 − τk) x + √(2kTτ) ξ is AR(1), so Var = 2kTτ / (1 − (1 − τk)²) = kT / (k (1 − τk/2)).
    Needs 0 < τk < 2 (otherwise the chain diverges)."""
    if not 0 < tau * k < 2:
        raise ValueError(f"overdamped_stationary_variance: need 0 < τk < 2, got τk = {tau * k}")
    return kT / (k * (1 - tau * k / 2))


def configurational_temperature(landscape: Any, X: Array) -> float:
    """kT_conf = ⟨|∇E|²⟩ / ⟨∇²E⟩ over the rows of ``X`` (shape ``(n, dim)``).

    Equals kT for Boltzmann samples of any smooth landscape (Rugh 1997, Phys. Rev. Lett. 78,
    772; Butler, Ayton, Jepps & Evans 1998): a check of configurational sampling that needs no
    momenta. The Laplacian is the trace of the dense Hessian (or of ``dim`` HVPs with unit
    vectors), so this is meant for small ``dim``.
    """
    lc = checked(landscape, caller="configurational_temperature")
    X = W.host(X).reshape(-1, lc.dim)
    grad2, lap = 0.0, 0.0
    eye = np.eye(lc.dim)
    for x in X:
        xn = native_point(lc, x)
        _, g = lc.energy_gradient(xn)
        grad2 += float((g * g).sum())
        if getattr(lc, "hessian", None) is not None:
            lap += float(np.trace(W.host(lc.hessian(xn))))
        else:
            lap += sum(float(lc.hvp(xn, native_point(lc, e))[i]) for i, e in enumerate(eye))
    return grad2 / lap


def langevin(
    landscape: Any,
    x0: Array,
    *,
    kT: float,
    dt: float,
    n_steps: int,
    method: str = "baoab",
    friction: float = 1.0,
    rng: np.random.Generator | int | None = None,
    record_every: int = 1,
    record_positions: bool = True,
    quench_every: int | None = None,
    sink: Any = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    minimize_options: dict | None = None,
    quiet: bool = True,
) -> LangevinResult:
    """Run Langevin dynamics from ``x0`` (shape ``(dim,)``, or ``(n_walkers, dim)`` for walkers
    advanced together) for ``n_steps`` steps at temperature ``kT`` (energy units).

    Parameters
    ----------
    method : {"baoab", "overdamped", "mala"}
        See the module docstring. ``"overdamped"`` is Euler–Maruyama (biased by O(dt/γ));
        ``"mala"`` adds the Metropolis test (exact); ``"baoab"`` is underdamped.
    dt, friction : float
        Time step and friction γ (> 0). Overdamped methods move by τ = dt/γ per step.
    rng : Generator or int
        The only source of randomness (default seed 0); torch landscapes seed a device
        generator from it.
    record_every : int
        Record energies (and positions if ``record_positions``) at steps 0, k, 2k, … and the last.
    quench_every : int, optional
        Quench all walkers every this many steps and at the end; minima go to ``sink`` (an
        :class:`InMemoryMinima` is made if none is given).
    sink : MinimaSink, optional
        Receives the minima and, with ``checkpoint_every``, the checkpoints. With ``resume``
        (default) a checkpoint of a Langevin run with the same settings is continued.
    minimize_options : dict, optional
        Options for :func:`levinthal.minimize.minimize_batch` (the quench).
    """
    if method not in LANGEVIN_METHODS:
        raise ValueError(f"langevin: method must be one of {LANGEVIN_METHODS}, got {method!r}")
    for name, val in (("kT", kT), ("dt", dt), ("friction", friction)):
        if not (math.isfinite(val) and val > 0):
            raise ValueError(f"langevin: {name} must be a positive finite number, got {val}")
    if int(n_steps) < 0 or int(record_every) < 1:
        raise ValueError(f"langevin: need n_steps >= 0 and record_every >= 1, got {n_steps}, {record_every}")
    for name, val in (("quench_every", quench_every), ("checkpoint_every", checkpoint_every)):
        if val is not None and int(val) < 1:
            raise ValueError(f"langevin: {name} must be a positive integer or None, got {val}")
    n_steps, record_every = int(n_steps), int(record_every)
    lc = checked(landscape, caller=f"langevin({method})")
    start_counts = lc.counts.copy()
    rng = W.as_generator(rng)
    X, single = W.walkers(lc, x0, "langevin")
    if sink is None and (quench_every is not None or checkpoint_every is not None):
        sink = InMemoryMinima(landscape)
    n = int(X.shape[0])
    gen = W.torch_generator(X, rng)
    torch_like = is_torch_array(X)
    config = {"landscape": lc.name, "dim": int(lc.dim), "n_walkers": n, "method": method, "kT": float(kT),
              "dt": float(dt), "friction": float(friction), "n_steps": n_steps, "record_every": record_every,
              "record_positions": bool(record_positions), "quench_every": quench_every,
              "checkpoint_every": checkpoint_every}
    tau = dt / friction
    c1 = math.exp(-friction * dt)
    o_scale = math.sqrt(kT * (1.0 - c1 * c1))

    P = None
    if method == "baoab":
        P = math.sqrt(kT) * W.standard_normal(rng, gen, X)
    rec: dict[str, list] = {"steps": [], "energies": [], "positions": [], "kinetic": []}
    quenches: list[tuple] = []
    accepted = as_like(np.zeros(n), X)  # accepted MALA proposals per walker, native
    step = 0
    resumed_from = None
    saved = W.load_state(sink, "langevin", config, resume)
    if saved is not None:
        X = as_like(saved["x"], X)
        P = None if saved["p"] is None else as_like(saved["p"], X)
        rng.bit_generator.state = saved["rng"]
        W.set_generator_state(gen, saved["torch_rng"])
        rec = {k: list(v) for k, v in saved["records"].items()}
        quenches = list(saved["quenches"])
        accepted = as_like(saved["accepted"], X)
        step = resumed_from = int(saved["step"])

    def save() -> None:
        sink.save_checkpoint({
            "search": "langevin", "config": config, "step": step, "x": W.host(X),
            "p": None if P is None else W.host(P), "rng": rng.bit_generator.state,
            "torch_rng": W.generator_state(gen), "records": rec, "quenches": quenches,
            "accepted": W.host(accepted)})

    E = G = None  # energy and gradient at the current X (None: not yet evaluated)

    def ensure() -> None:
        nonlocal E, G
        if E is None:
            E, G = W.energy_gradients(lc, X)

    def record() -> None:
        ensure()
        rec["steps"].append(step)
        rec["energies"].append(W.host(E))
        if record_positions:
            rec["positions"].append(W.host(X))
        rec["kinetic"].append(float("nan") if P is None else float((P * P).mean()))

    if step == 0 and not rec["steps"]:
        record()
    bar = progress(range(step, n_steps), quiet, desc=f"langevin {method}", total=n_steps, initial=step)
    for _ in bar:
        ensure()
        if method == "overdamped":
            X = X - tau * G + math.sqrt(2 * kT * tau) * W.standard_normal(rng, gen, X)
            E = G = None
        elif method == "mala":
            Y = X - tau * G + math.sqrt(2 * kT * tau) * W.standard_normal(rng, gen, X)
            EY, GY = W.energy_gradients(lc, Y)
            fwd = ((Y - X + tau * G) ** 2).sum(1)
            bwd = ((X - Y + tau * GY) ** 2).sum(1)
            log_alpha = -(EY - E) / kT - (bwd - fwd) / (4 * kT * tau)
            if torch_like:
                import torch

                u = torch.rand(n, generator=gen, dtype=X.dtype, device=X.device)
                acc = torch.log(u) < log_alpha
                X = torch.where(acc[:, None], Y, X)
                E, G = torch.where(acc, EY, E), torch.where(acc[:, None], GY, G)
                accepted = accepted + acc
            else:
                acc = np.log(rng.random(n)) < log_alpha
                X = np.where(acc[:, None], Y, X)
                E, G = np.where(acc, EY, E), np.where(acc[:, None], GY, G)
                accepted = accepted + acc
        else:  # BAOAB
            P = P - (0.5 * dt) * G
            X = X + (0.5 * dt) * P
            P = c1 * P + o_scale * W.standard_normal(rng, gen, P)
            X = X + (0.5 * dt) * P
            E, G = W.energy_gradients(lc, X)
            P = P - (0.5 * dt) * G
        step += 1
        if step % record_every == 0 or step == n_steps:
            record()
        if quench_every is not None and (step % quench_every == 0 or step == n_steps):
            for i, (mid, new, e) in enumerate(W.quench_into(sink, lc, X, "langevin", minimize_options)[0]):
                quenches.append((step, i, mid, new, e))
        if sink is not None and checkpoint_every is not None and (
                step % checkpoint_every == 0 or step == n_steps):
            save()

    traj = None
    if record_positions:
        traj = np.stack(rec["positions"]) if rec["positions"] else np.zeros((0, n, lc.dim))
    energies_arr = np.stack(rec["energies"]) if rec["energies"] else np.zeros((0, n))
    acceptance = W.host(accepted) / max(1, n_steps) if method == "mala" else np.ones(n)
    msg = f"{n_steps} {method} steps of {n} walker(s) at kT={kT:g}, dt={dt:g}, γ={friction:g}"
    if method == "mala":
        msg += f"; MALA acceptance {float(acceptance.mean()):.3f}"
    return LangevinResult(
        converged=True, message=msg, counts=lc.counts - start_counts,
        x=X[0] if single else X, p=None if P is None else (P[0] if single else P),
        method=method, kT=float(kT), dt=float(dt), friction=float(friction), n_steps=n_steps,
        steps=np.asarray(rec["steps"], dtype=int), energies=energies_arr, trajectory=traj,
        kinetic_temperature=np.asarray(rec["kinetic"], dtype=float), acceptance=acceptance,
        quenches=quenches, sink=sink, resumed_from=resumed_from)
