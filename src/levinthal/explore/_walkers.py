"""Plumbing shared by the samplers of :mod:`levinthal.explore` (annealing, replica exchange,
Langevin, SGD thermostat): batched evaluation of many walkers, quenches into a
:class:`~levinthal.explore.sink.MinimaSink`, and checkpoints that a resumed run can trust.

Private: the public entry points are the samplers themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levinthal.landscape import LandscapeError, ShapeError, as_like, native_point, supports, to_numpy
from levinthal.landscape.arrays import is_torch_array

Array = Any


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself if it is a Generator (it is advanced in place), else ``default_rng(rng or 0)``."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def walkers(landscape: Any, x0: Array, caller: str) -> tuple[Array, bool]:
    """``x0`` of shape ``(dim,)`` or ``(n, dim)`` as a native ``(n, dim)`` copy; the flag says it was 1-D."""
    shape = tuple(getattr(x0, "shape", np.shape(x0)))
    if len(shape) not in (1, 2) or shape[-1] != landscape.dim or (len(shape) == 2 and shape[0] < 1):
        raise ShapeError(f"{landscape.name}: {caller} needs x0 of shape ({landscape.dim},) or "
                         f"(n_walkers, {landscape.dim}), got {shape}")
    single = len(shape) == 1
    if single:
        X = native_point(landscape, x0)[None, :]
    else:
        rows = [native_point(landscape, x0[i]) for i in range(shape[0])]
        X = _stack(rows)
    X = X.clone() if is_torch_array(X) else np.array(X, dtype=np.float64, copy=True)
    return X, single


def _stack(rows: list[Array]) -> Array:
    if is_torch_array(rows[0]):
        import torch

        return torch.stack(rows)
    return np.stack(rows)


def energies(landscape: Any, X: Array) -> Array:
    """Energies of the rows of ``X`` (shape ``(n, dim)``), shape ``(n,)`` in X's array type:
    one batched ``energies(X)`` call when the landscape offers it, else a loop."""
    if supports(landscape, "energies"):
        return landscape.energies(X)
    vals = [landscape.energy(X[i]) for i in range(X.shape[0])]
    return _like_vector(vals, X)


def energy_gradients(landscape: Any, X: Array) -> tuple[Array, Array]:
    """``(E (n,), G (n, dim))`` for the rows of ``X``, batched when the landscape can."""
    if supports(landscape, "energy_gradients"):
        return landscape.energy_gradients(X)
    pairs = [landscape.energy_gradient(X[i]) for i in range(X.shape[0])]
    return _like_vector([e for e, _ in pairs], X), _stack([g for _, g in pairs])


def _like_vector(values: list[float], X: Array) -> Array:
    if is_torch_array(X):
        import torch

        return torch.as_tensor(values, dtype=X.dtype, device=X.device)
    return np.asarray(values, dtype=np.float64)


def metropolis_move(landscape: Any, Xh: np.ndarray, E: np.ndarray, step_sizes: np.ndarray, kT: Any,
                    rng: np.random.Generator, like: Array, container_radius: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Metropolis step (Metropolis et al. 1953) of every walker.

    ``Xh``: host positions ``(n, dim)``; ``E``: their energies ``(n,)``; ``step_sizes``: ``(n,)``
    half-widths of the uniform displacement per coordinate; ``kT``: scalar or ``(n,)``. The
    proposals are evaluated in one batched call (as ``like``'s array type); a non-finite
    proposal energy, or an atom beyond ``container_radius`` from the centroid (clusters), is a
    rejection. Returns the new ``(Xh, E, accepted)``.
    """
    n, dim = Xh.shape
    Y = Xh + step_sizes[:, None] * rng.uniform(-1.0, 1.0, size=(n, dim))
    EY = np.asarray(to_numpy(energies(landscape, as_like(Y, like))), dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        ok = np.isfinite(EY) & (np.log(rng.random(n)) < -(EY - E) / kT)
    if container_radius is not None:
        atoms = Y.reshape(n, -1, 3)
        radius = np.linalg.norm(atoms - atoms.mean(axis=1, keepdims=True), axis=2).max(axis=1)
        ok &= radius <= container_radius
    return np.where(ok[:, None], Y, Xh), np.where(ok, EY, E), ok


def quench_into(sink: Any, landscape: Any, X: Array, source: str, options: dict | None
                ) -> tuple[list[tuple], Any]:
    """Minimise every row of ``X`` and offer each converged minimum to ``sink``.

    Returns one ``(minimum_id, is_new, energy)`` per row, ``(None, False, energy)`` for a
    quench that did not converge (it is not stored: an unconverged point is no minimum), and
    the :class:`~levinthal.landscape.BatchMinimizeResult`.
    """
    from levinthal.minimize import minimize_batch

    res = minimize_batch(landscape, X, **(options or {}))
    out = []
    for i in range(X.shape[0]):
        energy = float(res.energy[i])
        if not bool(res.each_converged[i]) or sink is None:
            out.append((None, False, energy))
            continue
        mid, new = sink.add_minimum(res.x[i], energy, source=source)
        out.append((int(mid), bool(new), energy))
    return out, res


def load_state(sink: Any, search: str, config: dict, resume: bool) -> dict | None:
    """The sink's checkpoint if it was written by ``search`` with the same ``config``.

    ``None`` when there is no sink, no checkpoint, ``resume`` is False, or the checkpoint
    belongs to another search (it will be overwritten). A checkpoint of the same search
    written with other settings is refused: resuming it would silently mix two runs.
    """
    if sink is None or not resume:
        return None
    state = sink.load_checkpoint()
    if not state or state.get("search") != search:
        return None
    if state.get("config") != config:
        raise LandscapeError(
            f"{search}: the sink holds a checkpoint of a {search} run with other settings "
            f"({state.get('config')}), not {config}; pass resume=False to start afresh or use another sink"
        )
    return state


def host(X: Array) -> np.ndarray:
    """A float64 host copy of ``X`` (for records and checkpoints only, never per step)."""
    return np.array(to_numpy(X), dtype=np.float64, copy=True)


def torch_generator(X: Array, rng: np.random.Generator) -> Any:
    """A ``torch.Generator`` on ``X``'s device seeded by one draw from ``rng`` (None for NumPy ``X``)."""
    if not is_torch_array(X):
        return None
    import torch

    gen = torch.Generator(device=X.device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen


def standard_normal(rng: np.random.Generator, gen: Any, like: Array) -> Array:
    """Standard normal noise shaped like ``like``: from ``gen`` (torch, on ``like``'s device)
    or from ``rng`` (NumPy)."""
    if gen is not None:
        import torch

        return torch.randn(like.shape, generator=gen, dtype=like.dtype, device=like.device)
    return rng.standard_normal(like.shape)


def generator_state(gen: Any) -> Any:
    return None if gen is None else gen.get_state().cpu().numpy().copy()


def set_generator_state(gen: Any, state: Any) -> None:
    if gen is not None and state is not None:
        import torch

        gen.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8).copy()))
