"""The append-only audit log.  Each province's entries form hash chains, one
per *lane*: the lane is the entry's owning org (``org_id``), lane 0 the
province itself (entries owned by the province root, lane-opening records,
and every entry written before lanes existed).  Within a lane the entries
are linked (seq, prev_hash, hash), so a changed or removed row is detectable
by ``kaohe audit verify``; writers of different lanes do not wait for each
other.  On PostgreSQL the app role may only SELECT and INSERT here, and a
trigger refuses UPDATE and DELETE for everyone."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db


class AuditEntry(TenantMixin, db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # 0 = the province lane; otherwise the org id that owns the entry.  Not in
    # the hash (it follows from org_id, which is); verify checks the two agree.
    lane: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(IdType)
    actor_name: Mapped[str] = mapped_column(String(120), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(String(64), nullable=False)
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # HMAC-SHA256 of ``hash`` under the audit key (config, never in the
    # database): SQL alone cannot write an entry that verifies.
    mac: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        tenant_fk("org_id"),
        UniqueConstraint("root_id", "lane", "seq", name="uq_audit_log_root_id_lane_seq"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )


class AuditHead(db.Model):
    """The last link of each lane's chain; locked while appending so that
    concurrent writers serialise per (province, lane)."""

    __tablename__ = "audit_head"
    __tenant__ = "root"

    root_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    lane: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0, server_default="0",
                                      autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
