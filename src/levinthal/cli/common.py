"""Shared CLI plumbing: JSON output, progress bars, loading points."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def add_common(parser: Any) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def emit_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if hasattr(o, "as_dict"):
        return o.as_dict()
    return str(o)


def progress(iterable: Any, quiet: bool, **kwargs: Any) -> Any:
    """A tqdm progress bar on stderr, unless quiet."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)


def load_point(path: str, landscape: Any) -> Any:
    """A point from ``.npy`` (a vector) or ``.npz`` (key ``x``, or the first of ``minima``)."""
    from levinthal.landscape import native_point

    p = Path(path)
    if not p.exists():
        raise SystemExit(f"levinthal: point file {path} does not exist")
    try:
        data = np.load(p)
    except Exception as exc:  # corrupt file: say which and why
        raise SystemExit(f"levinthal: cannot read point file {path}: {exc}") from exc
    if isinstance(data, np.lib.npyio.NpzFile):
        if "x" in data:
            x = data["x"]
        elif "minima" in data:
            x = data["minima"][0]
        else:
            raise SystemExit(f"levinthal: {path} has neither 'x' nor 'minima' (keys: {list(data)})")
    else:
        x = data
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != landscape.dim:
        raise SystemExit(
            f"levinthal: {path} holds {x.size} values but {landscape.name} has dim {landscape.dim}"
        )
    return native_point(landscape, x)
