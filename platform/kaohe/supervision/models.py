"""Reminders a supervisor sends to a lagging unit's admin.  The row belongs
to the target unit (``org_id``), so the unit and everyone above it sees it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db

# What a reminder is about (the dashboard column the supervisor clicked from).
TOPICS = ("general", "work_records", "ratings", "computation", "publicity", "finalise", "appeals", "talks",
          "roster")


class Reminder(TenantMixin, db.Model):
    __tablename__ = "supervision_reminder"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # The supervising node the reminder was sent from (an ancestor of org_id).
    from_org_id: Mapped[int] = mapped_column(IdType, nullable=False)
    sender_id: Mapped[int | None] = mapped_column(IdType)
    sender_name: Mapped[str] = mapped_column(String(120), nullable=False)
    topic: Mapped[str] = mapped_column(String(24), nullable=False, default="general")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    # Figures the supervisor saw when sending (so the unit sees the same).
    snapshot: Mapped[dict | None] = mapped_column(db.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column()
    acknowledged_by: Mapped[int | None] = mapped_column(IdType)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_supervision_reminder_root_id_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "from_org_id"], ["org_node.root_id", "org_node.id"],
                             name="fk_supervision_reminder_from_org"),
        Index("ix_supervision_reminder_org_created", "org_id", "created_at"),
    )


class _Snapshot(TenantMixin):
    """Figures of an org node for a year and routine period (``period_key``
    '' when none), as JSON, with the time they were computed."""

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(db.Integer, nullable=False)
    period_key: Mapped[str] = mapped_column(String(24), nullable=False, default="")
    data: Mapped[dict] = mapped_column(db.JSON, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnitStat(_Snapshot, db.Model):
    """A snapshot of one assessment unit's dashboard figures for a year and
    routine period (``period_key`` '' when none): what large subtrees read
    instead of scanning every result.  Refreshed by the
    ``supervision.refresh_stats`` job (and `kaohe supervision refresh`)."""

    __tablename__ = "supervision_unit_stat"

    __table_args__ = (
        UniqueConstraint("root_id", "org_id", "year", "period_key",
                         name="uq_supervision_unit_stat_root_id_org_id_year_period_key"),
        Index("ix_supervision_unit_stat_root_year_key", "root_id", "year", "period_key"),
        tenant_fk("org_id"),
    )


class BoardStat(_Snapshot, db.Model):
    """The assembled dashboard of a large subtree's own node (children rows,
    totals, flags, charts) for a year and period, written by the same
    refresh job as the unit snapshots.  The page of that node then reads one
    row instead of every unit's (a province of a million people: 26,670), and
    adds the live reminders on top."""

    __tablename__ = "supervision_board"

    __table_args__ = (
        UniqueConstraint("root_id", "org_id", "year", "period_key",
                         name="uq_supervision_board_root_id_org_id_year_period_key"),
        tenant_fk("org_id"),
    )

