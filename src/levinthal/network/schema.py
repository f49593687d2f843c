"""Tables of the landscape database (SQLAlchemy 2.0 ORM): systems, runs, minima, transition states.

The layout follows what users of pele's ``Database`` and PATHSAMPLE's ``min.data`` / ``ts.data``
expect (Wales 2002, *Mol. Phys.* 100, 3285; Wales 2004, *Mol. Phys.* 102, 891): per stationary
point its energy, coordinates, ``log_product_frequencies`` (Σ ln λᵢ over the non-zero Hessian
eigenvalues λᵢ, i.e. the log of the product of squared normal-mode frequencies for unit masses),
the number of zero modes removed and the point-group order; per transition state the two minima
it joins.

Conventions
-----------
* Coordinates are stored as raw little-endian float64 bytes (``LargeBinary``), length
  ``8 * dim`` — never pickled, so any language can read them.
* Energies are double precision, in the system's own units.
* ``(system_id, energy)`` is indexed for minima and transition states: duplicate checks
  query an energy window, never scan a table.
* ``meta`` holds ``schema_version``; a database written by another version is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["SCHEMA_VERSION", "Base", "MetaRow", "MinimumRow", "RunRow", "SystemRow", "TransitionStateRow"]

#: Bumped whenever a table or column changes meaning; :class:`~levinthal.network.database.Database`
#: refuses a file whose ``meta.schema_version`` differs.
SCHEMA_VERSION = 1


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp column stores)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the levinthal tables."""


class MetaRow(Base):
    """Key/value facts about the database itself (``schema_version``, ``created``)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SystemRow(Base):
    """A landscape by name (``make_system`` spelling), with its dimension and free-form params.

    ``dim`` is null until the first point is stored (a run may be started before any find)."""

    __tablename__ = "systems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    dim: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class RunRow(Base):
    """One search (basin-hopping, connect, ...): what ran, with which parameters and seed, and
    its last checkpoint (a pickled dict, written in one transaction so it is never half-written)."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    method: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    params_key: Mapped[str] = mapped_column(Text)  # canonical JSON of params, for find_run
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="running")
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    checkpoint_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MinimumRow(Base):
    """A local minimum. ``hits``: how many times searches reached it (duplicates merged into it)."""

    __tablename__ = "minima"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    energy: Mapped[float] = mapped_column(Double)
    coords: Mapped[bytes] = mapped_column(LargeBinary)
    dim: Mapped[int] = mapped_column(Integer)
    log_product_frequencies: Mapped[float | None] = mapped_column(Double, nullable=True)
    n_zero_modes: Mapped[int] = mapped_column(Integer, default=0)
    point_group_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=1)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    source: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_minima_system_energy", "system_id", "energy"),)


class TransitionStateRow(Base):
    """A first-order saddle joining ``minimum1_id`` and ``minimum2_id`` (either may be unknown).

    ``eigenvalue``: the one negative Hessian eigenvalue (system units / length²).
    """

    __tablename__ = "transition_states"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    energy: Mapped[float] = mapped_column(Double)
    coords: Mapped[bytes] = mapped_column(LargeBinary)
    dim: Mapped[int] = mapped_column(Integer)
    eigenvalue: Mapped[float | None] = mapped_column(Double, nullable=True)
    log_product_frequencies: Mapped[float | None] = mapped_column(Double, nullable=True)
    n_zero_modes: Mapped[int] = mapped_column(Integer, default=0)
    point_group_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    minimum1_id: Mapped[int | None] = mapped_column(ForeignKey("minima.id"), nullable=True)
    minimum2_id: Mapped[int | None] = mapped_column(ForeignKey("minima.id"), nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_ts_system_energy", "system_id", "energy"),)
