"""Tables of the anonymous democratic evaluation (民主测评).

The link between a voter and a ballot is never stored: codes are made in a
batch and kept only as salted hashes with a ``used`` flag (no time of use);
a ballot row carries the session and the choices, no code, no time, and a
random id, and the ballots are rewritten in random order when the session
closes, so neither ids nor insertion order tell who voted what."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db

GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")
STATUSES = ("open", "closed")


class BallotSession(TenantMixin, db.Model):
    """One evaluation of a unit's people for a year.  ``key`` is the public
    part of the phone page's address (it says which session, not who)."""

    __tablename__ = "ballot_session"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    key: Mapped[str] = mapped_column(String(32), nullable=False)
    salt: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    closes_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    candidate_ids: Mapped[list] = mapped_column(JSON, nullable=False)
    codes_issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ballots_cast: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)        # {person_id: {grade: n}} once closed
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_ballot_session_root_id_id"),
        UniqueConstraint("root_id", "key", name="uq_ballot_session_root_id_key"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class BallotCode(TenantMixin, db.Model):
    """A one-time code, stored only as its salted hash."""

    __tablename__ = "ballot_code"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    session_id: Mapped[int] = mapped_column(IdType, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        UniqueConstraint("root_id", "session_id", "code_hash", name="uq_ballot_code_root_id_session_id_code_hash"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "session_id"], ["ballot_session.root_id", "ballot_session.id"],
                             name="fk_ballot_code_session", ondelete="CASCADE"),
    )


class Ballot(TenantMixin, db.Model):
    """One cast ballot: {person_id: grade}.  No code, no time; random id."""

    __tablename__ = "ballot"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    choices: Mapped[dict] = mapped_column(JSON, nullable=False)

    __table_args__ = (
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "session_id"], ["ballot_session.root_id", "ballot_session.id"],
                             name="fk_ballot_session", ondelete="CASCADE"),
    )


class BallotThrottle(db.Model):
    """Failed code entries per (session key, hashed client address): holds no
    tenant data and no address in clear."""

    __tablename__ = "ballot_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_failure_at: Mapped[dt.datetime | None] = mapped_column()
