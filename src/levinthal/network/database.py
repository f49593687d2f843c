"""The landscape database: minima, transition states and the runs that found them, in SQL.

``Database("sqlite:///runs.db")`` (the default backend; a bare path works too) or
``Database("postgresql+psycopg://user:pw@host/db")``. Every find is committed in its own
transaction the moment it is added, so a search killed at any instant leaves every earlier
find readable, and restarts from its last checkpoint (:meth:`Database.save_checkpoint`) with
nothing lost: finds made after that checkpoint are offered again and merged as duplicates.

Duplicates are decided by energy *and* geometry modulo the landscape's symmetry, never by energy
alone (DESIGN.md, Storage): a candidate is compared only with stored points of the same system
whose energy lies within ``energy_tol`` (an indexed range query), and is merged into the first one
that :func:`levinthal.explore.sink.same_structure` declares the same (``landscape.symmetry.same``:
for clusters, best alignment over translations, rotations, inversion and permutations). Without
a landscape the geometric test is the plain Euclidean distance. This is the scheme of pele's
``Database`` (Wales group, ``pele.storage``) and GMIN/OPTIM/PATHSAMPLE (Wales 2002,
*Mol. Phys.* 100, 3285; Wales 2004, *Mol. Phys.* 102, 891).

Concurrency: two processes may write to one database at once. Each ``add_*`` takes a per-system
write lock before its duplicate check and holds it until its insert commits — ``BEGIN IMMEDIATE``
on SQLite (in WAL mode with ``synchronous=NORMAL`` and a busy timeout, so readers never block),
``SELECT … FOR UPDATE`` on the system's row in PostgreSQL — so the check-then-insert race cannot
create two rows for one structure. Transactions that still lose a race (lock timeouts, deadlocks,
a unique-name collision when two writers create the same system) are retried with back-off.

Records come back as plain dataclasses (:class:`MinimumRecord`, :class:`TransitionStateRecord`,
:class:`RunRecord`, :class:`SystemRecord`) with coordinates as NumPy float64 arrays, never as
live ORM objects.
"""

from __future__ import annotations

import json
import math
import pickle
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from levinthal.explore.sink import DEFAULT_ENERGY_TOL, same_structure
from levinthal.landscape.arrays import to_numpy
from levinthal.landscape.errors import LandscapeError, NonFiniteError, ShapeError
from levinthal.network.schema import (
    SCHEMA_VERSION,
    Base,
    MetaRow,
    MinimumRow,
    RunRow,
    SystemRow,
    TransitionStateRow,
    utcnow,
)

__all__ = [
    "DEFAULT_DISTANCE_TOL",
    "Database",
    "DatabaseError",
    "DatabaseSink",
    "MergeReport",
    "MinimumRecord",
    "RunRecord",
    "SchemaVersionError",
    "SystemRecord",
    "TransitionStateRecord",
]

DEFAULT_DISTANCE_TOL = 1e-3
_T = TypeVar("_T")
_PG_INIT_LOCK = 0x6C6576  # advisory-lock key serialising schema creation on PostgreSQL ("lev")


class DatabaseError(LandscapeError):
    """The database cannot be opened, is not a levinthal database, or refused a write."""


class SchemaVersionError(DatabaseError):
    """The database was written by a levinthal with another schema version."""


# ----------------------------------------------------------------------------- records


@dataclass
class SystemRecord:
    """A system stored in the database; ``dim`` is None until its first point is stored."""

    id: int
    name: str
    dim: int | None
    description: str | None = None
    params: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunRecord:
    """A search run: ``status`` is ``"running"`` until :meth:`Database.finish_run`."""

    id: int
    system: str
    method: str
    params: dict | None
    seed: int | None
    status: str
    started: datetime
    finished: datetime | None = None
    checkpoint_time: datetime | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("started", "finished", "checkpoint_time"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return d


@dataclass
class MinimumRecord:
    """A stored minimum. ``x``: coordinates, shape ``(dim,)``, float64. ``log_product_frequencies``:
    Σ ln λᵢ over the non-zero Hessian eigenvalues (None if not computed). ``hits``: how many times
    searches reached it."""

    id: int
    system: str
    energy: float
    x: np.ndarray = field(repr=False)
    log_product_frequencies: float | None = None
    n_zero_modes: int = 0
    point_group_order: int | None = None
    hits: int = 1
    first_run_id: int | None = None
    source: str | None = None
    created: datetime | None = None

    @property
    def dim(self) -> int:
        return int(self.x.size)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["x"] = self.x.tolist()
        d["created"] = None if self.created is None else self.created.isoformat()
        return d


@dataclass
class TransitionStateRecord:
    """A stored transition state joining minima ``minimum1_id`` and ``minimum2_id`` (None if unknown).
    ``eigenvalue``: its negative Hessian eigenvalue."""

    id: int
    system: str
    energy: float
    x: np.ndarray = field(repr=False)
    eigenvalue: float | None = None
    log_product_frequencies: float | None = None
    n_zero_modes: int = 0
    point_group_order: int | None = None
    minimum1_id: int | None = None
    minimum2_id: int | None = None
    run_id: int | None = None
    hits: int = 1
    created: datetime | None = None

    @property
    def dim(self) -> int:
        return int(self.x.size)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["x"] = self.x.tolist()
        d["created"] = None if self.created is None else self.created.isoformat()
        return d


@dataclass
class MergeReport:
    """What :meth:`Database.merge_from` / :meth:`Database.merge_records` did."""

    minima_added: int = 0
    minima_merged: int = 0
    transition_states_added: int = 0
    transition_states_merged: int = 0
    runs_copied: int = 0
    minimum_ids: dict[int, int] = field(default_factory=dict, repr=False)  # source id -> our id

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("minimum_ids")
        return d


# ----------------------------------------------------------------------------- helpers


def _encode(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype="<f8").tobytes()


def _decode(blob: bytes, dim: int) -> np.ndarray:
    x = np.frombuffer(blob, dtype="<f8").astype(np.float64)
    if x.size != dim:
        raise DatabaseError(f"stored coordinates hold {x.size} values, the row says dim {dim}: corrupt row")
    return x


def _utc(t: datetime | None) -> datetime | None:
    """Timestamps are stored as UTC; SQLite hands them back naive, so say so."""
    if t is None or t.tzinfo is not None:
        return t
    return t.replace(tzinfo=UTC)


def _canonical_json(params: Mapping | None) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"run parameter {o!r} of type {type(o).__name__} is not JSON-serialisable")

    return json.dumps({} if params is None else dict(params), sort_keys=True, default=default)


def _name(system: Any) -> str:
    if isinstance(system, str):
        name = system
    elif isinstance(system, SystemRecord):
        name = system.name
    else:
        name = getattr(system, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"system must be a name or a landscape with .name, got {type(system).__name__}")
    if not name:
        raise ValueError("system name must not be empty")
    return name


def _run_id(run: RunRecord | int | None) -> int | None:
    if run is None:
        return None
    return int(run.id if isinstance(run, RunRecord) else run)


def _optional_finite(value: float | None, what: str, caller: str) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise NonFiniteError(f"Database.{caller}: {what} is {value}; store None when it is unknown")
    return value


def _point_group_order(value: int | None, caller: str) -> int | None:
    if value is None:
        return None
    if int(value) != value or value < 1:
        raise ValueError(f"Database.{caller}: point_group_order must be a positive integer, got {value!r}")
    return int(value)


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _normalise_url(url: str | Path) -> str:
    """A SQLAlchemy URL; a bare path (no ``://``) means a SQLite file, and ``postgresql://`` /
    ``postgres://`` mean the psycopg 3 driver (SQLAlchemy's default, psycopg2, is not a dependency)."""
    s = str(url)
    if "://" not in s:
        return f"sqlite:///{Path(s).expanduser()}"
    for scheme in ("postgresql://", "postgres://"):
        if s.startswith(scheme):
            return "postgresql+psycopg://" + s[len(scheme):]
    return s


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    msg = str(orig if orig is not None else exc).strip().splitlines()
    return msg[0] if msg else type(exc).__name__


# ----------------------------------------------------------------------------- database


class Database:
    """Minima, transition states and runs of any number of systems, in SQLite or PostgreSQL.

    Parameters
    ----------
    url : str or Path
        ``sqlite:///path.db`` (the default backend; a bare path is taken as a SQLite file,
        ``sqlite://`` is an in-memory database for tests) or ``postgresql+psycopg://user:pw@host:port/db``.
    create : bool
        Create the tables when the database is empty (default True). With False a missing
        SQLite file or an empty database is an error — what read-only tools (``levinthal db
        summary``) want.
    energy_tol : float
        Two points are duplicate candidates when their energies differ by at most this
        (default 1e-6, system units — far above quench noise, ~1e-10 for LJ clusters).
    distance_tol : float
        ... and when their aligned geometries differ by at most this (default 1e-3, system
        length units, Euclidean over all coordinates).
    connect_timeout : float
        Seconds to wait for a PostgreSQL server before giving up (default 10).
    busy_timeout : float
        Seconds a SQLite writer waits for another writer's lock (default 60).
    max_retries : int
        How many times a transaction that lost a race (lock timeout, deadlock, unique-name
        collision) is retried before :class:`DatabaseError` (default 8).

    Errors: an unreachable server, a corrupt or foreign file, or a schema from another version
    raise :class:`DatabaseError` / :class:`SchemaVersionError` naming the URL (password hidden).
    Non-finite energies or coordinates raise :class:`~levinthal.landscape.NonFiniteError`;
    coordinates of the wrong length for the system raise :class:`~levinthal.landscape.ShapeError`.
    """

    def __init__(self, url: str | Path = "sqlite:///levinthal.db", *, create: bool = True,
                 energy_tol: float = DEFAULT_ENERGY_TOL, distance_tol: float = DEFAULT_DISTANCE_TOL,
                 connect_timeout: float = 10.0, busy_timeout: float = 60.0, max_retries: int = 8) -> None:
        self.url = _normalise_url(url)
        self.safe_url = _safe_url(self.url)
        if energy_tol < 0 or distance_tol < 0:
            raise ValueError(f"Database: tolerances must be >= 0, got energy_tol={energy_tol}, "
                             f"distance_tol={distance_tol}")
        self.energy_tol = float(energy_tol)
        self.distance_tol = float(distance_tol)
        self.max_retries = int(max_retries)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise DatabaseError(f"not a database URL: {self.safe_url} ({exc})") from exc
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite":
            self._engine = self._sqlite_engine(parsed, create, busy_timeout)
        elif self.backend == "postgresql":
            timeout = max(1, math.ceil(connect_timeout))
            try:
                self._engine = create_engine(self.url, pool_pre_ping=True,
                                             connect_args={"connect_timeout": timeout})
            except ImportError as exc:
                raise DatabaseError(f"{self.safe_url}: the driver is not installed ({exc}); "
                                    "use postgresql+psycopg://") from exc
        else:
            raise DatabaseError(f"{self.safe_url}: unsupported backend {self.backend!r} "
                                "(use sqlite:///file.db or postgresql+psycopg://...)")
        self._write_engine = self._engine.execution_options(levinthal_write=True)
        self._system_cache: dict[str, tuple[int, int]] = {}
        try:
            self._open(create)
        except BaseException:
            self._engine.dispose()
            raise

    # -- connection and schema ------------------------------------------------------------

    def _sqlite_engine(self, parsed: Any, create: bool, busy_timeout: float) -> Any:
        path = parsed.database
        memory = path in (None, "", ":memory:")
        if not memory:
            p = Path(path)
            if not p.parent.exists():
                raise DatabaseError(f"{self.safe_url}: directory {p.parent} does not exist")
            if not create and not p.exists():
                raise DatabaseError(f"{self.safe_url}: file {p} does not exist")
            if p.exists() and p.is_dir():
                raise DatabaseError(f"{self.safe_url}: {p} is a directory, not a database file")
        engine = create_engine(self.url, connect_args={"timeout": float(busy_timeout)},
                               **({"poolclass": StaticPool} if memory else {}))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's implicit
            # transactions defer locking to the first write, which reopens the merge race).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cur.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL: a commit survives any kill of the process (the WAL is in the OS's
                # hands); only a power cut may roll back the last commits, never corrupt the file.
                cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get("levinthal_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _open(self, create: bool) -> None:
        try:
            with self._engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            pg = self.backend == "postgresql"
            what = "cannot connect to the database server at" if pg else "cannot read"
            raise DatabaseError(f"{what} {self.safe_url}: {_reason(exc)}") from exc
        except Exception as exc:  # sqlite3.DatabaseError raised from the connect hook: a corrupt file
            raise DatabaseError(f"cannot read {self.safe_url}: {exc} "
                                "(corrupt or not a SQLite file?)") from exc
        if "meta" not in tables:
            if tables:
                raise DatabaseError(f"{self.safe_url} is not a levinthal database: it holds tables "
                                    f"{sorted(tables)} but no 'meta' table")
            if not create:
                raise DatabaseError(f"{self.safe_url} is empty, not a levinthal database")
            self._transact(self._create_schema)
        version = self._transact(self._read_version, write=False)
        if version is None:
            raise DatabaseError(f"{self.safe_url}: 'meta' table has no schema_version; "
                                "not a levinthal database")
        if version != str(SCHEMA_VERSION):
            raise SchemaVersionError(f"{self.safe_url} has schema version {version}, this levinthal reads "
                                     f"schema version {SCHEMA_VERSION}; export it with the levinthal that "
                                     "wrote it (levinthal db export --format json) and import the JSON here")

    def _create_schema(self, s: Session) -> None:
        conn = s.connection()
        if self.backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_INIT_LOCK})
        Base.metadata.create_all(conn)  # checkfirst: a concurrent creator may have won
        if s.get(MetaRow, "schema_version") is None:
            s.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
            s.add(MetaRow(key="created", value=utcnow().isoformat()))

    @staticmethod
    def _read_version(s: Session) -> str | None:
        row = s.get(MetaRow, "schema_version")
        return None if row is None else row.value

    def _transact(self, fn: Callable[[Session], _T], *, write: bool = True) -> _T:
        """Run ``fn(session)`` in one transaction (committed on return), retrying lost races."""
        engine = self._write_engine if write else self._engine
        last: Exception | None = None
        for attempt in range(self.max_retries):
            try:
                with Session(engine, expire_on_commit=False) as s, s.begin():
                    return fn(s)
            except (OperationalError, IntegrityError) as exc:
                last = exc
                time.sleep(min(0.02 * 2 ** attempt, 1.0))
            except SQLAlchemyError as exc:
                raise DatabaseError(f"{self.safe_url}: {_reason(exc)}") from exc
        raise DatabaseError(f"{self.safe_url}: transaction failed {self.max_retries} times; "
                            f"last error: {_reason(last)}") from last

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    # -- systems --------------------------------------------------------------------------

    def _system_row(self, s: Session, name: str, dim: int | None, *, lock: bool,
                    create: bool = True) -> SystemRow | None:
        q = select(SystemRow).where(SystemRow.name == name)
        if lock:
            q = q.with_for_update()
        row = s.scalars(q).first()
        if row is None:
            if not create:
                return None
            row = SystemRow(name=name, dim=dim)
            s.add(row)
            s.flush()
        elif dim is not None:
            if row.dim is None:
                row.dim = dim
            elif row.dim != dim:
                raise ShapeError(f"{self.safe_url}: system {name!r} has dim {row.dim}, got coordinates "
                                 f"of length {dim}")
        return row

    def _lock_system(self, s: Session, name: str, dim: int) -> int:
        """The id of system ``name`` (created if new), holding its write lock for this transaction.

        Ids of systems that existed, with their dim, before this transaction are cached (systems are
        never deleted or re-dimensioned), which saves a query per find; one created here is not
        cached until a later call finds it committed."""
        cached = self._system_cache.get(name)
        if cached is None:
            row = self._system_row(s, name, None, lock=True)
            if row.dim is not None:
                self._system_cache[name] = (row.id, row.dim)  # committed before this transaction
            elif dim is not None:
                row.dim = dim
            cached = (row.id, row.dim)
        elif self.backend == "postgresql":  # SQLite's BEGIN IMMEDIATE already holds the lock
            s.execute(select(SystemRow.id).where(SystemRow.id == cached[0]).with_for_update())
        sid, sdim = cached
        if sdim != dim:
            raise ShapeError(f"{self.safe_url}: system {name!r} has dim {sdim}, got coordinates of "
                             f"length {dim}")
        return sid

    def systems(self) -> list[SystemRecord]:
        """Every stored system, by name."""
        def work(s: Session) -> list[SystemRecord]:
            rows = s.scalars(select(SystemRow).order_by(SystemRow.name)).all()
            return [SystemRecord(r.id, r.name, r.dim, r.description, r.params) for r in rows]
        return self._transact(work, write=False)

    def _system_id(self, s: Session, system: Any) -> int | None:
        row = self._system_row(s, _name(system), None, lock=False, create=False)
        return None if row is None else row.id

    # -- input checks ---------------------------------------------------------------------

    def _check_point(self, name: str, x: Any, energy: float, landscape: Any, caller: str
                     ) -> tuple[np.ndarray, float]:
        x = np.array(to_numpy(x), dtype=np.float64).reshape(-1) if x is not None else None
        if x is None or x.size == 0:
            raise ShapeError(f"Database.{caller}({name!r}): empty coordinates")
        energy = float(energy)
        if not math.isfinite(energy):
            raise NonFiniteError(f"Database.{caller}({name!r}): energy is {energy}; a non-finite point "
                                 "is never stored")
        if not np.all(np.isfinite(x)):
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise NonFiniteError(f"Database.{caller}({name!r}): {bad} of {x.size} coordinates are "
                                 "NaN or infinite; a non-finite point is never stored")
        if landscape is not None and getattr(landscape, "dim", x.size) != x.size:
            raise ShapeError(f"Database.{caller}({name!r}): {x.size} coordinates but landscape "
                             f"{getattr(landscape, 'name', '?')} has dim {landscape.dim}")
        return x, energy

    def _check_run(self, s: Session, run_id: int | None, sid: int, name: str, caller: str) -> None:
        if run_id is None:
            return
        run = s.get(RunRow, run_id)
        if run is None or run.system_id != sid:
            raise DatabaseError(f"Database.{caller}({name!r}): run {run_id} is not a run of "
                                f"{name!r} in {self.safe_url}")

    def _find_duplicate(self, s: Session, table: Any, system_id: int, x: np.ndarray, energy: float,
                        landscape: Any) -> Any:
        tol = self.energy_tol
        rows = s.scalars(select(table).where(table.system_id == system_id,
                                             table.energy >= energy - tol, table.energy <= energy + tol)
                         .order_by(func.abs(table.energy - energy), table.id)).all()
        for row in rows:
            y = _decode(row.coords, row.dim)
            # same_structure hands the symmetry the landscape's native arrays itself.
            if same_structure(landscape, y, x, row.energy, energy, tol, self.distance_tol):
                return row
        return None

    # -- minima ---------------------------------------------------------------------------

    def add_minimum(self, system: Any, x: Any, energy: float, *, landscape: Any = None,
                    run: RunRecord | int | None = None, log_product_frequencies: float | None = None,
                    point_group_order: int | None = None, n_zero_modes: int = 0,
                    source: str | None = None, hits: int = 1) -> tuple[MinimumRecord, bool]:
        """Store a minimum, or merge it into the stored one it duplicates; committed on return.

        ``system``: a name (or a landscape, which then also serves as ``landscape``). ``x``: shape
        ``(dim,)`` (NumPy or torch). ``landscape`` supplies ``symmetry.same`` for the duplicate test;
        without it geometry is compared by plain Euclidean distance. A merged duplicate adds
        ``hits`` to the stored one and fills in Hessian data the stored one lacked.

        Returns ``(record, is_new)``.
        """
        name = _name(system)
        if landscape is None and not isinstance(system, str | SystemRecord):
            landscape = system
        x, energy = self._check_point(name, x, energy, landscape, "add_minimum")
        lpf = _optional_finite(log_product_frequencies, "log_product_frequencies", "add_minimum")
        pgo = _point_group_order(point_group_order, "add_minimum")
        if int(n_zero_modes) < 0 or int(hits) < 0:
            # hits=0: add Hessian data to a stored minimum without counting a new visit.
            raise ValueError(f"Database.add_minimum: n_zero_modes and hits must be >= 0, got "
                             f"{n_zero_modes}, {hits}")
        run_id = _run_id(run)

        def work(s: Session) -> tuple[MinimumRecord, bool]:
            sid = self._lock_system(s, name, x.size)
            self._check_run(s, run_id, sid, name, "add_minimum")
            row = self._find_duplicate(s, MinimumRow, sid, x, energy, landscape)
            if row is not None:
                row.hits += int(hits)
                if row.log_product_frequencies is None and lpf is not None:
                    row.log_product_frequencies = lpf
                    row.n_zero_modes = int(n_zero_modes)
                if row.point_group_order is None and pgo is not None:
                    row.point_group_order = pgo
                s.flush()
                return self._minimum_record(row, name), False
            row = MinimumRow(system_id=sid, energy=energy, coords=_encode(x), dim=x.size,
                             log_product_frequencies=lpf, n_zero_modes=int(n_zero_modes),
                             point_group_order=pgo, hits=int(hits), first_run_id=run_id, source=source,
                             created=utcnow())
            s.add(row)
            s.flush()
            return self._minimum_record(row, name), True

        return self._transact(work)

    @staticmethod
    def _minimum_record(row: MinimumRow, name: str) -> MinimumRecord:
        return MinimumRecord(id=row.id, system=name, energy=row.energy, x=_decode(row.coords, row.dim),
                             log_product_frequencies=row.log_product_frequencies,
                             n_zero_modes=row.n_zero_modes, point_group_order=row.point_group_order,
                             hits=row.hits, first_run_id=row.first_run_id, source=row.source,
                             created=_utc(row.created))

    def minima(self, system: Any, *, limit: int | None = None,
               max_energy: float | None = None) -> list[MinimumRecord]:
        """The minima of ``system``, lowest energy first (at most ``limit``, at most ``max_energy``)."""
        name = _name(system)

        def work(s: Session) -> list[MinimumRecord]:
            sid = self._system_id(s, name)
            if sid is None:
                return []
            q = select(MinimumRow).where(MinimumRow.system_id == sid)
            if max_energy is not None:
                q = q.where(MinimumRow.energy <= float(max_energy))
            q = q.order_by(MinimumRow.energy, MinimumRow.id)
            if limit is not None:
                q = q.limit(int(limit))
            return [self._minimum_record(r, name) for r in s.scalars(q)]

        return self._transact(work, write=False)

    def get_minimum(self, minimum_id: int) -> MinimumRecord:
        """The minimum with this id; KeyError if there is none."""
        def work(s: Session) -> MinimumRecord:
            row = s.get(MinimumRow, int(minimum_id))
            if row is None:
                raise KeyError(f"{self.safe_url}: no minimum with id {minimum_id}")
            return self._minimum_record(row, s.get(SystemRow, row.system_id).name)
        return self._transact(work, write=False)

    def count_minima(self, system: Any = None) -> int:
        """Number of distinct minima of ``system`` (of every system when None)."""
        return self._count(MinimumRow, system)

    def count_transition_states(self, system: Any = None) -> int:
        """Number of distinct transition states of ``system`` (of every system when None)."""
        return self._count(TransitionStateRow, system)

    def _count(self, table: Any, system: Any) -> int:
        def work(s: Session) -> int:
            q = select(func.count()).select_from(table)
            if system is not None:
                sid = self._system_id(s, system)
                if sid is None:
                    return 0
                q = q.where(table.system_id == sid)
            return int(s.scalar(q))
        return self._transact(work, write=False)

    # -- transition states ----------------------------------------------------------------

    def add_transition_state(self, system: Any, x: Any, energy: float, *,
                             minimum1: MinimumRecord | int | None = None,
                             minimum2: MinimumRecord | int | None = None, eigenvalue: float | None = None,
                             landscape: Any = None, run: RunRecord | int | None = None,
                             log_product_frequencies: float | None = None,
                             point_group_order: int | None = None, n_zero_modes: int = 0,
                             hits: int = 1) -> tuple[TransitionStateRecord, bool]:
        """Store a transition state joining ``minimum1`` and ``minimum2`` (ids or records of minima of
        the same system; None when unknown), or merge it into the stored duplicate, whose unknown
        endpoints and Hessian data are then filled in. Committed on return; ``(record, is_new)``."""
        name = _name(system)
        if landscape is None and not isinstance(system, str | SystemRecord):
            landscape = system
        x, energy = self._check_point(name, x, energy, landscape, "add_transition_state")
        lpf = _optional_finite(log_product_frequencies, "log_product_frequencies", "add_transition_state")
        ev = _optional_finite(eigenvalue, "eigenvalue", "add_transition_state")
        pgo = _point_group_order(point_group_order, "add_transition_state")
        m1 = None if minimum1 is None else int(getattr(minimum1, "id", minimum1))
        m2 = None if minimum2 is None else int(getattr(minimum2, "id", minimum2))
        run_id = _run_id(run)

        def work(s: Session) -> tuple[TransitionStateRecord, bool]:
            sid = self._lock_system(s, name, x.size)
            self._check_run(s, run_id, sid, name, "add_transition_state")
            for m in (m1, m2):
                if m is None:
                    continue
                mrow = s.get(MinimumRow, m)
                if mrow is None or mrow.system_id != sid:
                    raise DatabaseError(f"{self.safe_url}: transition state of {name!r} names minimum {m}, "
                                        f"which is not a stored minimum of {name!r}")
            row = self._find_duplicate(s, TransitionStateRow, sid, x, energy, landscape)
            if row is not None:
                row.hits += int(hits)
                if row.minimum1_id is None and row.minimum2_id is None:
                    row.minimum1_id, row.minimum2_id = m1, m2
                if row.eigenvalue is None:
                    row.eigenvalue = ev
                if row.log_product_frequencies is None and lpf is not None:
                    row.log_product_frequencies = lpf
                    row.n_zero_modes = int(n_zero_modes)
                if row.point_group_order is None:
                    row.point_group_order = pgo
                s.flush()
                return self._ts_record(row, name), False
            row = TransitionStateRow(system_id=sid, energy=energy, coords=_encode(x), dim=x.size,
                                     eigenvalue=ev, log_product_frequencies=lpf,
                                     n_zero_modes=int(n_zero_modes), point_group_order=pgo,
                                     minimum1_id=m1, minimum2_id=m2, run_id=run_id, hits=int(hits),
                                     created=utcnow())
            s.add(row)
            s.flush()
            return self._ts_record(row, name), True

        return self._transact(work)

    @staticmethod
    def _ts_record(row: TransitionStateRow, name: str) -> TransitionStateRecord:
        return TransitionStateRecord(id=row.id, system=name, energy=row.energy,
                                     x=_decode(row.coords, row.dim),
                                     eigenvalue=row.eigenvalue,
                                     log_product_frequencies=row.log_product_frequencies,
                                     n_zero_modes=row.n_zero_modes, point_group_order=row.point_group_order,
                                     minimum1_id=row.minimum1_id, minimum2_id=row.minimum2_id,
                                     run_id=row.run_id, hits=row.hits, created=_utc(row.created))

    def transition_states(self, system: Any, *, limit: int | None = None) -> list[TransitionStateRecord]:
        """The transition states of ``system``, lowest energy first."""
        name = _name(system)

        def work(s: Session) -> list[TransitionStateRecord]:
            sid = self._system_id(s, name)
            if sid is None:
                return []
            q = (select(TransitionStateRow).where(TransitionStateRow.system_id == sid)
                 .order_by(TransitionStateRow.energy, TransitionStateRow.id))
            if limit is not None:
                q = q.limit(int(limit))
            return [self._ts_record(r, name) for r in s.scalars(q)]

        return self._transact(work, write=False)

    def get_transition_state(self, ts_id: int) -> TransitionStateRecord:
        """The transition state with this id; KeyError if there is none."""
        def work(s: Session) -> TransitionStateRecord:
            row = s.get(TransitionStateRow, int(ts_id))
            if row is None:
                raise KeyError(f"{self.safe_url}: no transition state with id {ts_id}")
            return self._ts_record(row, s.get(SystemRow, row.system_id).name)
        return self._transact(work, write=False)

    # -- runs and checkpoints -------------------------------------------------------------

    @staticmethod
    def _run_record(row: RunRow, name: str) -> RunRecord:
        return RunRecord(id=row.id, system=name, method=row.method, params=row.params, seed=row.seed,
                         status=row.status, started=_utc(row.started), finished=_utc(row.finished),
                         checkpoint_time=_utc(row.checkpoint_time))

    def start_run(self, system: Any, method: str, params: Mapping | None = None,
                  seed: int | None = None) -> RunRecord:
        """Record the start of a search (status ``"running"``); committed on return."""
        name = _name(system)
        key = _canonical_json(params)
        dim = getattr(system, "dim", None) if not isinstance(system, str | SystemRecord) else None
        if seed is not None and (int(seed) != seed or not -(2**63) <= int(seed) < 2**63):
            raise ValueError(f"Database.start_run: seed must be an integer that fits in 64 bits, got "
                             f"{seed!r}; store larger entropy in params")

        def work(s: Session) -> RunRecord:
            sysrow = self._system_row(s, name, dim, lock=False)
            row = RunRow(system_id=sysrow.id, method=str(method), params=json.loads(key), params_key=key,
                         seed=None if seed is None else int(seed), status="running", started=utcnow())
            s.add(row)
            s.flush()
            return self._run_record(row, name)

        return self._transact(work)

    def finish_run(self, run: RunRecord | int, status: str = "finished") -> RunRecord:
        """Mark a run finished (or ``"failed"``, ``"stopped"``...), with the time."""
        rid = _run_id(run)

        def work(s: Session) -> RunRecord:
            row = self._run_row(s, rid)
            row.status, row.finished = str(status), utcnow()
            s.flush()
            return self._run_record(row, s.get(SystemRow, row.system_id).name)

        return self._transact(work)

    def _run_row(self, s: Session, rid: int | None) -> RunRow:
        row = None if rid is None else s.get(RunRow, rid)
        if row is None:
            raise KeyError(f"{self.safe_url}: no run with id {rid}")
        return row

    def find_run(self, system: Any, method: str, params: Mapping | None = None, *, seed: int | None = None,
                 unfinished_only: bool = False) -> RunRecord | None:
        """The latest run of ``method`` on ``system`` with exactly these ``params`` (and ``seed``, when
        given), or None: what a restarted search resumes."""
        name = _name(system)
        key = _canonical_json(params)

        def work(s: Session) -> RunRecord | None:
            sid = self._system_id(s, name)
            if sid is None:
                return None
            q = select(RunRow).where(RunRow.system_id == sid, RunRow.method == str(method),
                                     RunRow.params_key == key)
            if seed is not None:
                q = q.where(RunRow.seed == int(seed))
            if unfinished_only:
                q = q.where(RunRow.status == "running")
            row = s.scalars(q.order_by(RunRow.id.desc())).first()
            return None if row is None else self._run_record(row, name)

        return self._transact(work, write=False)

    def resume_or_start_run(self, system: Any, method: str, params: Mapping | None = None,
                            seed: int | None = None) -> tuple[RunRecord, bool]:
        """The unfinished run with these arguments if there is one (``resumed=True``), else a new one."""
        run = self.find_run(system, method, params, seed=seed, unfinished_only=True)
        if run is not None:
            return run, True
        return self.start_run(system, method, params, seed), False

    def runs(self, system: Any = None) -> list[RunRecord]:
        """Every run (of ``system`` when given), oldest first."""
        def work(s: Session) -> list[RunRecord]:
            q = select(RunRow, SystemRow.name).join(SystemRow, RunRow.system_id == SystemRow.id)
            if system is not None:
                q = q.where(SystemRow.name == _name(system))
            return [self._run_record(r, n) for r, n in s.execute(q.order_by(RunRow.id)).all()]
        return self._transact(work, write=False)

    def save_checkpoint(self, run: RunRecord | int, state: dict) -> None:
        """Store ``state`` (any picklable dict) as the run's checkpoint, replacing the last one in a
        single transaction: a kill mid-write leaves the previous checkpoint intact."""
        rid = _run_id(run)
        blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

        def work(s: Session) -> None:
            row = self._run_row(s, rid)
            row.checkpoint, row.checkpoint_time = blob, utcnow()

        self._transact(work)

    def load_checkpoint(self, run: RunRecord | int) -> dict | None:
        """The run's last checkpoint, or None if it never saved one."""
        rid = _run_id(run)

        def work(s: Session) -> bytes | None:
            return self._run_row(s, rid).checkpoint

        blob = self._transact(work, write=False)
        if blob is None:
            return None
        try:
            return pickle.loads(blob)
        except Exception as exc:  # unpickling can fail in many ways; all mean the same here
            raise DatabaseError(f"{self.safe_url}: checkpoint of run {rid} cannot be read ({exc})") from exc

    def sink(self, landscape: Any, run: RunRecord | int | None = None, *,
             system: str | None = None) -> DatabaseSink:
        """A :class:`~levinthal.explore.sink.MinimaSink` storing ``landscape``'s minima here (system
        name ``landscape.name`` unless ``system`` is given) and ``run``'s checkpoints."""
        return DatabaseSink(self, landscape, run, system or _name(landscape))

    # -- summaries and merging ------------------------------------------------------------

    def summary(self, system: Any = None, *, lowest: int = 5) -> dict:
        """Counts, the ``lowest`` lowest minimum energies and the runs, per system (JSON-ready)."""
        out = {"url": self.safe_url, "schema_version": SCHEMA_VERSION, "systems": []}
        for rec in self.systems():
            if system is not None and rec.name != _name(system):
                continue
            mins = self.minima(rec.name, limit=lowest)
            out["systems"].append({
                "name": rec.name, "dim": rec.dim,
                "minima": self.count_minima(rec.name),
                "transition_states": self.count_transition_states(rec.name),
                "lowest": [{"id": m.id, "energy": m.energy, "hits": m.hits} for m in mins],
                "runs": [r.as_dict() for r in self.runs(rec.name)],
            })
        return out

    def merge_records(self, minima: Iterable[MinimumRecord],
                      transition_states: Iterable[TransitionStateRecord] = (),
                      runs: Iterable[RunRecord] = (), *,
                      landscapes: Mapping[str, Any] | Callable[[str], Any] | None = None) -> MergeReport:
        """Add records from elsewhere (another database, a JSON-lines export): runs are copied,
        minima added with duplicate merging (their ``hits`` carried over), transition states added
        with their endpoints remapped to this database's ids. ``landscapes``: name → landscape (or
        a function of the name) giving the symmetry for each system; None compares plain geometry.

        Merging the same source twice merges every point as a duplicate (no new rows) but adds
        its hits and copies its runs again."""
        report = MergeReport()

        def land(name: str) -> Any:
            if landscapes is None:
                return None
            return landscapes(name) if callable(landscapes) else landscapes.get(name)

        run_ids: dict[int, int] = {}
        for r in runs:
            new = self.start_run(r.system, r.method, r.params, r.seed)
            self._copy_run_times(new.id, r)
            run_ids[r.id] = new.id
            report.runs_copied += 1
        for m in minima:
            rec, is_new = self.add_minimum(m.system, m.x, m.energy, landscape=land(m.system),
                                           run=run_ids.get(m.first_run_id),
                                           log_product_frequencies=m.log_product_frequencies,
                                           point_group_order=m.point_group_order, n_zero_modes=m.n_zero_modes,
                                           source=m.source, hits=m.hits)
            report.minimum_ids[m.id] = rec.id
            report.minima_added += is_new
            report.minima_merged += not is_new
        for t in transition_states:
            ends = []
            for old in (t.minimum1_id, t.minimum2_id):
                if old is not None and old not in report.minimum_ids:
                    raise DatabaseError(f"merge: transition state {t.id} of {t.system!r} joins minimum "
                                        f"{old}, which is not among the merged minima")
                ends.append(None if old is None else report.minimum_ids[old])
            _, is_new = self.add_transition_state(t.system, t.x, t.energy, minimum1=ends[0], minimum2=ends[1],
                                                  eigenvalue=t.eigenvalue, landscape=land(t.system),
                                                  run=run_ids.get(t.run_id),
                                                  log_product_frequencies=t.log_product_frequencies,
                                                  point_group_order=t.point_group_order,
                                                  n_zero_modes=t.n_zero_modes, hits=t.hits)
            report.transition_states_added += is_new
            report.transition_states_merged += not is_new
        return report

    def _copy_run_times(self, rid: int, source: RunRecord) -> None:
        def work(s: Session) -> None:
            row = self._run_row(s, rid)
            row.status, row.started, row.finished = source.status, source.started, source.finished
        self._transact(work)

    def merge_from(self, other: Database | str | Path, *,
                   landscapes: Mapping[str, Any] | Callable[[str], Any] | None = None) -> MergeReport:
        """Merge every system of another levinthal database (a :class:`Database` or a URL) into this
        one; see :meth:`merge_records`."""
        src = other if isinstance(other, Database) else Database(other, create=False)
        try:
            if src.url == self.url:
                raise DatabaseError(f"merge: {self.safe_url} cannot be merged into itself")
            report = MergeReport()
            for sysrec in src.systems():
                part = self.merge_records(src.minima(sysrec.name), src.transition_states(sysrec.name),
                                          src.runs(sysrec.name), landscapes=landscapes)
                for k in ("minima_added", "minima_merged", "transition_states_added",
                          "transition_states_merged", "runs_copied"):
                    setattr(report, k, getattr(report, k) + getattr(part, k))
                report.minimum_ids.update(part.minimum_ids)
            return report
        finally:
            if src is not other:
                src.close()


# ----------------------------------------------------------------------------- sink


@dataclass
class DatabaseSink:
    """A :class:`~levinthal.explore.sink.MinimaSink` backed by a :class:`Database`: every
    ``add_minimum`` is committed at once; checkpoints go to ``run`` (required for them)."""

    database: Database
    landscape: Any
    run: RunRecord | int | None
    system: str

    def add_minimum(self, x: Any, energy: float, *, source: str | None = None) -> tuple[int, bool]:
        rec, is_new = self.database.add_minimum(self.system, x, energy, landscape=self.landscape,
                                                run=self.run, source=source)
        return rec.id, is_new

    def save_checkpoint(self, state: dict) -> None:
        self.database.save_checkpoint(self._need_run("save_checkpoint"), state)

    def load_checkpoint(self) -> dict | None:
        return self.database.load_checkpoint(self._need_run("load_checkpoint"))

    def _need_run(self, what: str) -> RunRecord | int:
        if self.run is None:
            raise DatabaseError(f"DatabaseSink.{what}: this sink has no run; create it with "
                                "database.sink(landscape, database.start_run(...))")
        return self.run

    def lowest(self, k: int = 1) -> list[MinimumRecord]:
        """The ``k`` lowest minima of this sink's system, lowest first."""
        return self.database.minima(self.system, limit=k)

    def __len__(self) -> int:
        return self.database.count_minima(self.system)
