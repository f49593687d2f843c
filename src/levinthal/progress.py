"""Progress bars for long work, shared by every layer (not a layer itself)."""

from __future__ import annotations

import sys
from typing import Any


def progress(iterable: Any, quiet: bool, **kwargs: Any) -> Any:
    """A tqdm progress bar on stderr (stdout stays clean for ``--json``), unless ``quiet``."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)
