"""Growing a kinetic transition network in the database: connect stored minima, store what is found.

A global search fills the database with minima; kinetics needs the transition states between
them. :func:`grow_network` repeats the cycle that PATHSAMPLE automates for OPTIM (Wales 2002,
"Discrete path sampling", Mol. Phys. 100, 3285; Wales 2004, Mol. Phys. 102, 891):

1. read the database as a :class:`~levinthal.network.graph.KineticNetwork` and find the
   minima not yet joined by transition states to the global minimum's component;
2. take the lowest of them that has not been tried with its partner, and choose as its
   partner the member of the global minimum's component closest to it after symmetry
   alignment, among the ``partners`` lowest members (closest pairs connect fastest: Carr,
   Trygubenko & Wales 2005);
3. run :func:`levinthal.paths.connect` between the two, and store every minimum and verified
   transition state it found, each with its Hessian data (log product of the non-zero
   eigenvalues, number of zero modes, point-group order), committed as it is stored.

Every result is in the database as soon as its connect returns, and the pairs already tried
are saved in the run's checkpoint, so a killed run loses at most the connect in flight and a
restart goes on with the next pair. :func:`store_connect_result` stores the result of any
connect (also one made elsewhere), and :func:`database_network` is the bridge from the stored
rows to the analyses (dgraph, rates, thermodynamics, funnels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape import LandscapeError, native_point
from levinthal.network.graph import KineticNetwork
from levinthal.network.hessian_data import DENSE_LIMIT, stationary_point_data

__all__ = ["DENSE_LIMIT", "GrowResult", "StoredConnect", "add_minimum_with_data", "database_network",
           "fill_hessian_data", "grow_network", "stationary_point_data", "store_connect_result"]

@dataclass
class StoredConnect:
    """Database ids of the minima (in the connect result's order) and transition states stored,
    with how many of each were new to the database."""

    minimum_ids: list[int]
    transition_state_ids: list[int]
    new_minima: int
    new_transition_states: int


def add_minimum_with_data(db: Any, landscape: Any, x: Any, energy: float, *, run: Any = None,
                          source: str | None = None, hits: int = 1) -> tuple[Any, bool]:
    """Store the minimum ``x`` of ``landscape`` with its Hessian data
    (:func:`~levinthal.network.hessian_data.stationary_point_data`) in one write; a duplicate
    gets the data it lacked. Returns the database's ``(record, is_new)``."""
    d = stationary_point_data(landscape, x, "minimum")
    return db.add_minimum(landscape, np.asarray(x, dtype=float), float(energy), landscape=landscape,
                          run=run, source=source, hits=hits,
                          log_product_frequencies=d["log_product_frequencies"],
                          point_group_order=d["point_group_order"], n_zero_modes=d["n_zero_modes"])


def store_connect_result(db: Any, landscape: Any, result: Any, *, run: Any = None,
                         hessian_data: bool = True) -> StoredConnect:
    """Store every minimum and verified transition state of a
    :class:`~levinthal.paths.connect.ConnectResult` in ``db`` (duplicates merged by the
    database), each transition state joined to the ids of the minima its descents reached."""
    ids, new_min = [], 0
    for x, e in result.minima:
        if hessian_data:
            rec, new = add_minimum_with_data(db, landscape, x, e, run=run, source="connect")
        else:
            rec, new = db.add_minimum(landscape, np.asarray(x, dtype=float), float(e), landscape=landscape,
                                      run=run, source="connect")
        ids.append(rec.id)
        new_min += bool(new)
    ts_ids, new_ts = [], 0
    for t in result.transition_states:
        data = stationary_point_data(landscape, t.x, "ts") if hessian_data else {}
        rec, new = db.add_transition_state(
            landscape, np.asarray(t.x, dtype=float), float(t.energy),
            minimum1=None if t.minus is None else ids[t.minus],
            minimum2=None if t.plus is None else ids[t.plus],
            eigenvalue=data.get("eigenvalue", t.eigenvalue), landscape=landscape, run=run,
            log_product_frequencies=data.get("log_product_frequencies"),
            point_group_order=data.get("point_group_order"), n_zero_modes=data.get("n_zero_modes", 0))
        ts_ids.append(rec.id)
        new_ts += bool(new)
    return StoredConnect(ids, ts_ids, new_min, new_ts)


def fill_hessian_data(db: Any, landscape: Any, *, max_energy: float | None = None) -> int:
    """Compute and store the Hessian data of every stored minimum of ``landscape`` that lacks
    them (minima stored by a global search have none); returns how many were filled. The
    minimum's hit count is left unchanged."""
    n = 0
    for m in db.minima(landscape, max_energy=max_energy):
        if m.log_product_frequencies is not None:
            continue
        add_minimum_with_data(db, landscape, m.x, m.energy, hits=0)
        n += 1
    return n


def database_network(db: Any, system: Any) -> KineticNetwork:
    """The stored minima and transition states of ``system`` as a
    :class:`~levinthal.network.graph.KineticNetwork` (ids = database ids; transition states
    whose minima are unknown are left out)."""
    return KineticNetwork.from_records(db.minima(system), db.transition_states(system), skip_unconnected=True)


@dataclass
class GrowResult:
    """What :func:`grow_network` did: connects tried and converged, the transition states and
    minima added, and whether every stored minimum now joins the global minimum."""

    attempts: int = 0
    converged: int = 0
    new_minima: int = 0
    new_transition_states: int = 0
    all_connected: bool = False
    message: str = ""
    pairs: list[tuple[int, int, bool]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "converged": self.converged, "new_minima": self.new_minima,
                "new_transition_states": self.new_transition_states, "all_connected": self.all_connected,
                "message": self.message, "pairs": [list(p) for p in self.pairs], "counts": self.counts,
                "failures": self.failures}


def _distance(landscape: Any, a: np.ndarray, b: np.ndarray) -> float:
    symmetry = getattr(landscape, "symmetry", None)
    if symmetry is not None and hasattr(symmetry, "distance"):
        return float(symmetry.distance(native_point(landscape, a), native_point(landscape, b)))
    return float(np.linalg.norm(a - b))


def grow_network(db: Any, landscape: Any, *, run: Any = None, n_connections: int = 10, partners: int = 5,
                 max_energy: float | None = None, connect_options: dict[str, Any] | None = None,
                 rng: np.random.Generator | int | None = None,
                 progress: Callable[[int, str], None] | None = None) -> GrowResult:
    """Join stored minima to the global minimum by up to ``n_connections`` connect runs.

    Parameters
    ----------
    db : Database
        Holds the minima (from any search) and receives what is found.
    landscape
        The system the minima belong to (its name is the database's system name).
    run : RunRecord, optional
        The run to credit and to keep the checkpoint (pairs tried) in; resuming with the same
        run skips the pairs already tried.
    n_connections : int
        Budget of connect attempts in this call (default 10).
    partners : int
        How many of the lowest minima of the global minimum's component are candidates for the
        partner (the closest after alignment is taken; default 5).
    max_energy : float, optional
        Only minima at or below this energy are targets.
    connect_options : dict
        Passed to :func:`levinthal.paths.connect` (``max_cycles``, ``n_images`` ...).
    """
    from levinthal.paths.connect import connect

    rng = np.random.default_rng(rng)
    options = {"record_profile": False, "max_cycles": 15, **(connect_options or {})}
    state = (db.load_checkpoint(run) if run is not None else None) or {}
    tried: set[tuple[int, int]] = {tuple(p) for p in state.get("tried", [])}
    out = GrowResult(counts={"gradient": 0, "hvp": 0})
    for attempt in range(int(n_connections)):
        records = db.minima(landscape)  # one read per cycle: the network is built from it too
        minima = {m.id: m for m in records}
        if len(minima) < 2:
            out.message = "fewer than two stored minima"
            break
        net = KineticNetwork.from_records(records, db.transition_states(landscape), skip_unconnected=True)
        in_gm = {int(i) for i in net.joined_to_global_minimum().ids}
        outside = [m for m in sorted(minima.values(), key=lambda m: m.energy) if m.id not in in_gm
                   and (max_energy is None or m.energy <= max_energy)]
        if not outside:
            out.all_connected = True
            out.message = f"every stored minimum{' below the cap' if max_energy is not None else ''} " \
                          "is connected to the global minimum"
            break
        members = sorted((minima[i] for i in in_gm), key=lambda m: m.energy)[: int(partners)]
        pair = None
        for target in outside:
            order = sorted(members, key=lambda m: _distance(landscape, m.x, target.x))
            cand = [(m.id, target.id) for m in order if (m.id, target.id) not in tried]
            if cand:
                pair = cand[0]
                break
        if pair is None:
            out.message = "every candidate pair has been tried"
            break
        a, b = minima[pair[0]], minima[pair[1]]
        tried.add(pair)
        try:
            res = connect(landscape, native_point(landscape, a.x), native_point(landscape, b.x), rng=rng,
                          **options)
            stored = store_connect_result(db, landscape, res, run=run)
        except (LandscapeError, ValueError) as exc:
            # A pair that cannot be connected (an endpoint that is no true minimum, identical
            # structures ...) is recorded as tried and the next pair is taken.
            out.attempts += 1
            out.pairs.append((pair[0], pair[1], False))
            out.failures.append(f"{pair[0]}->{pair[1]}: {exc}")
            if run is not None:
                db.save_checkpoint(run, {"tried": sorted(tried)})
            continue
        out.attempts += 1
        out.converged += bool(res.converged)
        out.new_minima += stored.new_minima
        out.new_transition_states += stored.new_transition_states
        out.pairs.append((pair[0], pair[1], bool(res.converged)))
        out.counts["gradient"] += int(res.counts.gradient)
        out.counts["hvp"] += int(res.counts.hvp)
        if run is not None:
            db.save_checkpoint(run, {"tried": sorted(tried)})
        if progress is not None:
            progress(attempt + 1, f"{pair[0]}->{pair[1]} {'joined' if res.converged else 'not joined'}, "
                                  f"+{stored.new_transition_states} TS")
    else:
        out.message = f"budget of {n_connections} connect attempts spent"
    if not out.all_connected and out.attempts and not out.message:
        out.message = "stopped"
    return out
