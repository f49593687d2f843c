"""The kinetic transition network: the landscape database (SQLite / PostgreSQL) of minima,
transition states and runs, and (in sibling modules) graphs, disconnectivity, rates and funnels.

* :mod:`~levinthal.network.database` — :class:`Database`, :class:`DatabaseSink`, records;
* :mod:`~levinthal.network.db_export` — JSON lines and PATHSAMPLE ``min.data`` / ``ts.data``;
* :mod:`~levinthal.network.graph` — :class:`KineticNetwork`, the in-memory network of arrays;
* :mod:`~levinthal.network.grow` — connect stored minima and store the transition states;
* :mod:`~levinthal.network.dgraph` — disconnectivity graphs (Becker & Karplus 1997);
* :mod:`~levinthal.network.barriers` — minimax paths and lowest barriers;
* :mod:`~levinthal.network.kinetics` — HTST rates, MFPTs, committors, graph transformation;
* :mod:`~levinthal.network.thermo` — harmonic superposition F(T), U(T), C_v(T);
* :mod:`~levinthal.network.funnels` — monotonic sequences and funnel measures.

The database names are loaded on first use, so the analysis modules import without SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import Any

from levinthal.network.barriers import MinimaxPath, minimax_energies, minimax_path, minimum_spanning_tree
from levinthal.network.dgraph import DGraphNode, DisconnectivityGraph, disconnectivity_graph, energy_levels
from levinthal.network.funnels import Funnels, funnels, monotonic_successors, rival_minimum
from levinthal.network.graph import KineticNetwork, from_connect
from levinthal.network.grow import GrowResult, database_network, grow_network, store_connect_result
from levinthal.network.kinetics import (
    RateConstants,
    TransitionKinetics,
    equilibrium_log_occupations,
    first_passage,
    htst_log_rates,
    log_rate_matrix,
    rate_constants,
    rate_matrix,
)
from levinthal.network.thermo import (
    HarmonicThermo,
    group_free_energy,
    harmonic_superposition,
    log_partition_functions,
)

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

__all__ = [*_DATABASE_NAMES, "DGraphNode", "DisconnectivityGraph", "Funnels", "GrowResult", "HarmonicThermo",
           "KineticNetwork", "MinimaxPath", "RateConstants", "TransitionKinetics", "database_network",
           "disconnectivity_graph", "energy_levels", "equilibrium_log_occupations", "first_passage",
           "from_connect", "funnels", "group_free_energy", "grow_network", "harmonic_superposition",
           "htst_log_rates", "log_partition_functions", "log_rate_matrix", "minimax_energies",
           "minimax_path", "minimum_spanning_tree", "monotonic_successors", "rate_constants", "rate_matrix",
           "rival_minimum", "store_connect_result"]


def __getattr__(name: str) -> Any:
    if name in _DATABASE_NAMES:
        return getattr(importlib.import_module("levinthal.network.database"), name)
    raise AttributeError(f"module 'levinthal.network' has no attribute {name!r}")
