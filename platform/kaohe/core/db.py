"""The declarative base, the constraint naming convention and the tenant
mixin every tenant-scoped table uses."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (so it stays the rowid alias).
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    from . import clock

    return clock.utcnow()


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={dt.datetime: DateTime(timezone=True)})


class TenantMixin:
    """A row owned by an org node of one province.

    ``root_id`` is the province, ``org_id`` the owning node.  The composite
    foreign key (root_id, org_id) → org_node(root_id, id) means the database
    cannot hold a link across provinces.  Every class with this mixin gets the
    session criteria filter and, on PostgreSQL, a forced RLS policy."""

    __tenant__ = "org"

    @declared_attr
    def root_id(cls) -> Mapped[int]:
        return mapped_column(IdType, nullable=False, index=True)

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(IdType, nullable=False, index=True)


def upsert_insert(dialect_name: str, table):
    """``INSERT`` with ``ON CONFLICT`` support for the dialect (PostgreSQL in
    production, SQLite in the demo and tests)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def tenant_fk(*cols: str, ref: str = "org_node", ref_cols: tuple[str, ...] | None = None,
              ondelete: str | None = None) -> ForeignKeyConstraint:
    """Composite FK that always includes root_id: ``tenant_fk('org_id')``
    references org_node(root_id, id)."""
    ref_cols = ref_cols or ("root_id", "id")
    return ForeignKeyConstraint(["root_id", *cols], [f"{ref}.{c}" for c in ref_cols], ondelete=ondelete)


def tenant_tables(metadata: MetaData) -> list[str]:
    """Names of the tables that carry root_id: all get RLS on PostgreSQL."""
    return sorted(t.name for t in metadata.sorted_tables if "root_id" in t.c)


def allocate_ids(session, table: str, n: int) -> list[int]:
    """Reserve ``n`` primary keys before inserting, so rows whose path or
    root contains their own id are written once (and pass RLS checks)."""
    if n <= 0:
        return []
    from sqlalchemy import text

    bind = session.connection()
    if bind.dialect.name == "postgresql":
        rows = bind.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n},
        ).scalars().all()
        return [int(r) for r in rows]
    start = bind.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()  # noqa: S608 (fixed names)
    pending = session.info.setdefault("kaohe_allocated", {})
    start = max(start, pending.get(table, 0))
    pending[table] = start + n
    return list(range(start + 1, start + n + 1))
