"""A unit's notification channels and the log of what was sent to them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint, Date
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db

KINDS = ("wecom", "dingtalk")


class NotifyChannel(TenantMixin, db.Model):
    """A group robot webhook of a unit.  The secret is stored (it signs every
    message) and never shown back in full."""

    __tablename__ = "notify_channel"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    secret: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_notify_channel_root_id_id"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class NotifyDelivery(TenantMixin, db.Model):
    """One message to one channel: queued → sent | failed, with attempts.
    (channel, topic, day) is unique, so a digest goes out once a day."""

    __tablename__ = "notify_delivery"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    channel_id: Mapped[int] = mapped_column(IdType, nullable=False)
    topic: Mapped[str] = mapped_column(String(40), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("root_id", "channel_id", "topic", "day", name="uq_notify_delivery_root_id_channel_id_topic_day"),
        Index("ix_notify_delivery_root_status", "root_id", "status"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "channel_id"], ["notify_channel.root_id", "notify_channel.id"],
                             name="fk_notify_delivery_channel", ondelete="CASCADE"),
    )
