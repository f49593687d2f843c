"""Shared CLI plumbing: JSON output, progress bars, loading points."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.progress import progress  # noqa: F401  (re-exported for the commands)


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


def load_endpoints(args: Any, landscape: Any, command: str) -> tuple[Any, Any]:
    """Two endpoints for a double-ended command: ``args.endpoints`` (two .npy/.npz files) or
    rows ``args.pair`` of the ``minima`` array in ``args.minima`` (``levinthal minimize --save``).
    Every mistake is a SystemExit naming the file, the key or the index."""
    from levinthal.landscape import native_point

    if args.minima is not None:
        if args.endpoints:
            raise SystemExit(f"levinthal {command}: give either two point files or --minima with --pair, "
                             "not both")
        if args.pair is None:
            raise SystemExit(f"levinthal {command}: --minima needs --pair I J")
        path = Path(args.minima)
        if not path.exists():
            raise SystemExit(f"levinthal {command}: {path} does not exist")
        try:
            data = np.load(path)
        except Exception as exc:  # corrupt file: say which and why
            raise SystemExit(f"levinthal {command}: cannot read {path}: {exc}") from exc
        if "minima" not in data:
            raise SystemExit(f"levinthal {command}: {path} has no 'minima' array (keys: {list(data)})")
        minima = np.asarray(data["minima"], dtype=np.float64)
        if minima.ndim != 2 or minima.shape[1] != landscape.dim:
            raise SystemExit(f"levinthal {command}: minima in {path} have shape {minima.shape}, "
                             f"{landscape.name} has dim {landscape.dim}")
        for i in args.pair:
            if not 0 <= i < len(minima):
                raise SystemExit(f"levinthal {command}: --pair index {i} out of range: "
                                 f"{path} holds {len(minima)} minima")
        return (native_point(landscape, minima[args.pair[0]]),
                native_point(landscape, minima[args.pair[1]]))
    if len(args.endpoints) != 2:
        raise SystemExit(f"levinthal {command}: give two endpoint files A B, or --minima FILE --pair I J")
    return load_point(args.endpoints[0], landscape), load_point(args.endpoints[1], landscape)
