"""The kinetic transition network: the landscape database (SQLite / PostgreSQL) of minima,
transition states and runs, and (in sibling modules) graphs, disconnectivity, rates and funnels.

* :mod:`~levinthal.network.database` — :class:`Database`, :class:`DatabaseSink`, records;
* :mod:`~levinthal.network.db_export` — JSON lines and PATHSAMPLE ``min.data`` / ``ts.data``.

The database names are loaded on first use, so the analysis modules import without SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import Any

_DATABASE_NAMES = (
    "Database",
    "DatabaseError",
    "DatabaseSink",
    "MergeReport",
    "MinimumRecord",
    "RunRecord",
    "SchemaVersionError",
    "SystemRecord",
    "TransitionStateRecord",
)

__all__ = list(_DATABASE_NAMES)


def __getattr__(name: str) -> Any:
    if name in _DATABASE_NAMES:
        return getattr(importlib.import_module("levinthal.network.database"), name)
    raise AttributeError(f"module 'levinthal.network' has no attribute {name!r}")
