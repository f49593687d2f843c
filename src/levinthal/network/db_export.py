"""Export and import of the landscape database: JSON lines, and PATHSAMPLE's text + binary files.

JSON lines (``export_jsonl`` / ``import_jsonl``)
------------------------------------------------
One JSON object per line, each with a ``"kind"``:

* ``{"kind": "header", "format": "levinthal-db", "schema_version": 1}`` — the first line;
* ``{"kind": "run", "id", "system", "method", "params", "seed", "status", "started", "finished"}``;
* ``{"kind": "minimum", "id", "system", "energy", "x": [...], "log_product_frequencies",
  "n_zero_modes", "point_group_order", "hits", "first_run_id", "source"}``;
* ``{"kind": "transition_state", "id", "system", "energy", "x": [...], "eigenvalue",
  "log_product_frequencies", "n_zero_modes", "point_group_order", "minimum1_id", "minimum2_id",
  "run_id", "hits"}``.

Floats are written with Python's shortest round-tripping repr, so energies and coordinates come
back bit for bit. Ids are the exporting database's; :func:`import_jsonl` remaps them (and merges
duplicates) through :meth:`Database.merge_records`. Checkpoints are not exported.

PATHSAMPLE (``export_pathsample``; Wales, PATHSAMPLE manual / Wales 2002, *Mol. Phys.* 100, 3285)
-------------------------------------------------------------------------------------------------
For one system, in ``directory``:

* ``min.data`` — one line per minimum: ``energy  log_product_frequencies  point_group_order  Ix Iy Iz``;
* ``ts.data`` — one line per transition state whose two minima are known:
  ``energy  log_product_frequencies  point_group_order  min1  min2  Ix Iy Iz``, where ``min1`` and
  ``min2`` are 1-based line numbers in ``min.data``;
* ``points.min`` / ``points.ts`` — coordinates as PATHSAMPLE reads them: unformatted direct-access
  records of ``dim`` float64 values each (raw little-endian doubles, no record markers), in the
  order of the ``.data`` lines;
* ``levinthal_ids.json`` — which database id each line came from.

``log_product_frequencies`` is Σ ln λᵢ over non-zero Hessian eigenvalues (unit masses), as
stored. ``Ix ≤ Iy ≤ Iz`` are principal moments of inertia (unit masses) when ``dim`` is a multiple
of 3 (coordinates read as atoms), else 0. A point without Hessian data or point-group order is an
error unless ``missing="nan"`` (writes ``NaN`` and ``1``), since PATHSAMPLE would silently use
a wrong number for it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from levinthal.network.database import (
    Database,
    DatabaseError,
    MergeReport,
    MinimumRecord,
    RunRecord,
    TransitionStateRecord,
)
from levinthal.network.schema import SCHEMA_VERSION

__all__ = ["PathsampleExport", "export_jsonl", "export_pathsample", "import_jsonl", "principal_moments"]


def export_jsonl(db: Database, path: str | Path, system: str | None = None) -> int:
    """Write ``db`` (or one ``system`` of it) as JSON lines to ``path``; returns the number of lines."""
    path = Path(path)
    names = [s.name for s in db.systems() if system is None or s.name == system]
    if system is not None and not names:
        raise DatabaseError(f"{db.safe_url} has no system {system!r}")
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        def put(obj: dict) -> None:
            nonlocal n
            fh.write(json.dumps(obj, allow_nan=False) + "\n")
            n += 1

        put({"kind": "header", "format": "levinthal-db", "schema_version": SCHEMA_VERSION})
        for name in names:
            for r in db.runs(name):
                put({"kind": "run", **r.as_dict()})
            for m in db.minima(name):
                d = m.as_dict()
                d.pop("created")
                put({"kind": "minimum", **d})
            for t in db.transition_states(name):
                d = t.as_dict()
                d.pop("created")
                put({"kind": "transition_state", **d})
    return n


def _time(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def import_jsonl(db: Database, path: str | Path, *, landscapes: Any = None) -> MergeReport:
    """Merge a JSON-lines export into ``db`` (duplicates merged, ids remapped); see the module docstring."""
    path = Path(path)
    runs, minima, tss = [], [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                kind = d.pop("kind")
                if lineno == 1:
                    if kind != "header" or d.get("format") != "levinthal-db":
                        raise ValueError("first line is not a levinthal-db header")
                    if d.get("schema_version") != SCHEMA_VERSION:
                        raise ValueError(f"written with schema version {d.get('schema_version')}, "
                                         f"this levinthal reads {SCHEMA_VERSION}")
                elif kind == "run":
                    runs.append(RunRecord(id=d["id"], system=d["system"], method=d["method"],
                                          params=d["params"], seed=d["seed"], status=d["status"],
                                          started=_time(d["started"]), finished=_time(d["finished"])))
                elif kind == "minimum":
                    d["x"] = np.asarray(d["x"], dtype=np.float64)
                    minima.append(MinimumRecord(**d))
                elif kind == "transition_state":
                    d["x"] = np.asarray(d["x"], dtype=np.float64)
                    tss.append(TransitionStateRecord(**d))
                else:
                    raise ValueError(f"unknown kind {kind!r}")
            except (ValueError, KeyError, TypeError) as exc:
                raise DatabaseError(f"{path}:{lineno}: not a levinthal JSON-lines export ({exc})") from exc
    return db.merge_records(minima, tss, runs, landscapes=landscapes)


def principal_moments(x: np.ndarray) -> np.ndarray:
    """Principal moments of inertia ``(I1 <= I2 <= I3)`` of ``x`` read as ``(N, 3)`` unit-mass atoms."""
    pos = np.asarray(x, dtype=np.float64).reshape(-1, 3)
    rel = pos - pos.mean(axis=0)
    r2 = np.sum(rel * rel)
    tensor = r2 * np.eye(3) - rel.T @ rel
    return np.sort(np.linalg.eigvalsh(tensor))


@dataclass
class PathsampleExport:
    """What :func:`export_pathsample` wrote."""

    directory: Path
    n_minima: int
    n_transition_states: int
    skipped_transition_states: int  # those with an unknown endpoint (PATHSAMPLE needs both)

    def as_dict(self) -> dict:
        return {"directory": str(self.directory), "n_minima": self.n_minima,
                "n_transition_states": self.n_transition_states,
                "skipped_transition_states": self.skipped_transition_states}


def _fields(rec: Any, missing: str, what: str) -> tuple[float, int]:
    lpf, pgo = rec.log_product_frequencies, rec.point_group_order
    if (lpf is None or pgo is None) and missing != "nan":
        lacking = [n for n, v in (("log_product_frequencies", lpf), ("point_group_order", pgo)) if v is None]
        raise DatabaseError(f"export_pathsample: {what} {rec.id} of {rec.system!r} has no "
                            f"{' or '.join(lacking)}; compute Hessians first, or pass missing='nan' "
                            "(CLI: --allow-missing)")
    return (math.nan if lpf is None else lpf), (1 if pgo is None else pgo)


def export_pathsample(db: Database, directory: str | Path, system: str | None = None, *,
                      missing: str = "error") -> PathsampleExport:
    """Write ``min.data``, ``ts.data``, ``points.min``, ``points.ts`` for one system (the only one
    when ``system`` is None); see the module docstring for the format."""
    if missing not in ("error", "nan"):
        raise ValueError(f"export_pathsample: missing must be 'error' or 'nan', got {missing!r}")
    names = [s.name for s in db.systems()]
    if system is None:
        if len(names) != 1:
            raise DatabaseError(f"export_pathsample: {db.safe_url} holds systems {names}; name one")
        system = names[0]
    elif system not in names:
        raise DatabaseError(f"export_pathsample: {db.safe_url} has no system {system!r} (it has {names})")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    minima = sorted(db.minima(system), key=lambda m: m.id)
    line_of = {m.id: i + 1 for i, m in enumerate(minima)}
    tss = sorted(db.transition_states(system), key=lambda t: t.id)
    kept = [t for t in tss if t.minimum1_id in line_of and t.minimum2_id in line_of]

    def moments(x: np.ndarray) -> np.ndarray:
        return principal_moments(x) if x.size % 3 == 0 else np.zeros(3)

    with open(out / "min.data", "w") as fh, open(out / "points.min", "wb") as pts:
        for m in minima:
            lpf, pgo = _fields(m, missing, "minimum")
            ix, iy, iz = moments(m.x)
            fh.write(f"{m.energy:25.15f} {lpf:25.15f} {pgo:6d} {ix:20.10f} {iy:20.10f} {iz:20.10f}\n")
            pts.write(np.ascontiguousarray(m.x, dtype="<f8").tobytes())
    with open(out / "ts.data", "w") as fh, open(out / "points.ts", "wb") as pts:
        for t in kept:
            lpf, pgo = _fields(t, missing, "transition state")
            ix, iy, iz = moments(t.x)
            fh.write(f"{t.energy:25.15f} {lpf:25.15f} {pgo:6d} {line_of[t.minimum1_id]:8d} "
                     f"{line_of[t.minimum2_id]:8d} {ix:20.10f} {iy:20.10f} {iz:20.10f}\n")
            pts.write(np.ascontiguousarray(t.x, dtype="<f8").tobytes())
    ids = {"system": system, "minima": [m.id for m in minima], "transition_states": [t.id for t in kept]}
    (out / "levinthal_ids.json").write_text(json.dumps(ids, indent=1))
    return PathsampleExport(out, len(minima), len(kept), len(tss) - len(kept))
