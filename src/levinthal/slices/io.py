"""Save and load a :class:`~levinthal.slices.grid.LossGrid`: arrays in ``.npz``, metadata
in a JSON file beside it, so a figure can be redrawn — or the grid recomputed — exactly.

``save_grid(grid, "out/slice")`` writes ``out/slice.npz`` (alphas, betas, energies,
accuracies, center, directions; float64, bit-exact) and ``out/slice.json`` (landscape name,
directions' kind/normalisation/biases/orthogonalisation/seed, evaluator and timings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.landscape.errors import LandscapeError
from levinthal.slices.grid import LossGrid

__all__ = ["load_grid", "save_grid"]

FORMAT = "levinthal.slices.LossGrid/1"


def _stem(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"save_grid: metadata value of type {type(o).__name__} is not JSON-serialisable")


def save_grid(grid: LossGrid, path: str | Path) -> tuple[Path, Path]:
    """Write ``grid`` to ``<path>.npz`` and ``<path>.json`` (a ``.npz``/``.json`` suffix on
    ``path`` is dropped); creates the parent folder. Returns the two paths."""
    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "alphas": np.asarray(grid.alphas, dtype=np.float64),
        "energies": np.asarray(grid.energies, dtype=np.float64),
        "center": np.asarray(grid.center, dtype=np.float64),
        "directions": np.stack([np.asarray(d, dtype=np.float64) for d in grid.directions]),
    }
    if grid.betas is not None:
        arrays["betas"] = np.asarray(grid.betas, dtype=np.float64)
    if grid.accuracies is not None:
        arrays["accuracies"] = np.asarray(grid.accuracies, dtype=np.float64)
    npz, js = stem.with_suffix(".npz"), stem.with_suffix(".json")
    np.savez(npz, **arrays)
    meta = {"format": FORMAT, "dims": grid.dims, "shape": list(grid.energies.shape), **grid.metadata}
    js.write_text(json.dumps(meta, indent=2, default=_jsonable))
    return npz, js


def load_grid(path: str | Path) -> LossGrid:
    """Read a grid written by :func:`save_grid` (``path`` with or without the suffix)."""
    stem = _stem(path)
    npz, js = stem.with_suffix(".npz"), stem.with_suffix(".json")
    for p in (npz, js):
        if not p.exists():
            raise LandscapeError(f"load_grid: {p} does not exist (a grid is a .npz and a .json file)")
    meta = json.loads(js.read_text())
    if meta.pop("format", None) != FORMAT:
        raise LandscapeError(f"load_grid: {js} is not a levinthal LossGrid (format {FORMAT!r} expected)")
    meta.pop("dims", None)
    shape = tuple(meta.pop("shape", ()))
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    if arrays["energies"].shape != shape:
        raise LandscapeError(f"load_grid: {npz} holds energies of shape {arrays['energies'].shape} but "
                             f"{js} says {shape}; the two files do not belong together")
    return LossGrid(
        alphas=arrays["alphas"],
        betas=arrays.get("betas"),
        energies=arrays["energies"],
        center=arrays["center"],
        directions=list(arrays["directions"]),
        accuracies=arrays.get("accuracies"),
        metadata=meta,
    )
