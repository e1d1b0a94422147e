"""Policy tables.

- ``policy_setting``: one row per (node, key, year) — year 0 means "all
  years", a year-specific row wins field by field over the all-years row of
  the same node.  A row may carry a value, a lock and bounds, each optional.
- ``policy_version``: one row per province with a token that changes on every
  policy write; it keys the resolution cache.
- ``org_performance_grade``: a supervisor's 组织绩效 grade of a unit for a year.
- ``quota_approval``: an approved (or refused) rate above the
  no-approval ceiling, decided by the level above.
- ``quota_pool`` / ``quota_allocation``: counts a parent hands down to its
  children for a year; the pool row is locked while allocating.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, CheckConstraint, Index, Integer, Numeric, String, Text, UniqueConstraint,
                        and_, or_)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db
from ..tenancy.scope import Scope, org_filter

ALL_YEARS = 0


class PolicySetting(TenantMixin, db.Model):
    __tablename__ = "policy_setting"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False, default=ALL_YEARS)
    has_value: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    value: Mapped[object | None] = mapped_column(JSON)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    min_value: Mapped[float | None] = mapped_column(Numeric(14, 4, asdecimal=False))
    max_value: Mapped[float | None] = mapped_column(Numeric(14, 4, asdecimal=False))
    allowed: Mapped[list | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    updated_by: Mapped[int | None] = mapped_column(IdType)
    updated_by_name: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_policy_setting_root_id_id"),
        UniqueConstraint("root_id", "org_id", "key", "year", name="uq_policy_setting_node_key_year"),
        tenant_fk("org_id", ondelete="CASCADE"),
        Index("ix_policy_setting_root_org", "root_id", "org_id"),
        CheckConstraint("year >= 0", name="year"),
    )
    __mapper_args__ = {"version_id_col": version}

    # Settings of ancestors are the sources of inherited policy: visible to
    # everyone below them (reading), while writing needs the subtree.
    @staticmethod
    def __scope_criteria__(scope: Scope):
        from sqlalchemy import false

        if scope.root_id is None:
            return false()
        ancestors = PolicySetting.org_id.in_(scope.ancestor_ids) if scope.ancestor_ids else false()
        return and_(PolicySetting.root_id == scope.root_id,
                    or_(org_filter(PolicySetting.org_id, scope), ancestors))

    @property
    def bounds(self) -> dict | None:
        if self.min_value is None and self.max_value is None and self.allowed is None:
            return None
        return {"min": self.min_value, "max": self.max_value, "allowed": self.allowed}


class PolicyVersion(db.Model):
    __tablename__ = "policy_version"
    __tenant__ = "root"

    root_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token: Mapped[int] = mapped_column(IdType, nullable=False, default=1)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrgPerformanceGrade(TenantMixin, db.Model):
    """组织绩效: ``org_id`` is the graded assessment unit."""

    __tablename__ = "org_performance_grade"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    grade: Mapped[str] = mapped_column(String(16), nullable=False)
    major_contribution: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    comment: Mapped[str | None] = mapped_column(String(500))
    graded_by: Mapped[int | None] = mapped_column(IdType)
    graded_by_name: Mapped[str | None] = mapped_column(String(120))
    graded_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_org_performance_grade_root_id_id"),
        UniqueConstraint("root_id", "org_id", "year", name="uq_org_performance_grade_org_year"),
        tenant_fk("org_id", ondelete="CASCADE"),
        CheckConstraint("grade in ('youxiu','lianghao','yiban','jiaocha')", name="grade"),
    )
    __mapper_args__ = {"version_id_col": version}


class QuotaApproval(TenantMixin, db.Model):
    """A rate above ``quota.max_rate_without_approval`` for one unit and year,
    decided by someone at the level above.  ``status``: approved | refused |
    revoked.  ``approver_org_id`` is the node the decider acted from."""

    __tablename__ = "quota_approval"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    rate: Mapped[float] = mapped_column(Numeric(6, 4, asdecimal=False), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="approved")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    approver_org_id: Mapped[int] = mapped_column(IdType, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(IdType)
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_quota_approval_root_id_id"),
        tenant_fk("org_id", ondelete="CASCADE"),
        tenant_fk("approver_org_id"),
        Index("ix_quota_approval_org_year", "org_id", "year"),
        CheckConstraint("status in ('approved','refused','revoked')", name="status"),
    )


class QuotaPool(TenantMixin, db.Model):
    """The row locked (SELECT ... FOR UPDATE) while a parent allocates its
    quota for a year; ``org_id`` is the parent."""

    __tablename__ = "quota_pool"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    allocated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_quota_pool_root_id_id"),
        UniqueConstraint("root_id", "org_id", "year", name="uq_quota_pool_org_year"),
        tenant_fk("org_id", ondelete="CASCADE"),
    )


class QuotaAllocation(TenantMixin, db.Model):
    """``org_id`` is the parent handing out, ``child_id`` the receiver."""

    __tablename__ = "quota_allocation"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    child_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    allocated_by: Mapped[int | None] = mapped_column(IdType)
    allocated_by_name: Mapped[str | None] = mapped_column(String(120))
    allocated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_quota_allocation_root_id_id"),
        UniqueConstraint("root_id", "org_id", "child_id", "year", name="uq_quota_allocation_parent_child_year"),
        tenant_fk("org_id", ondelete="CASCADE"),
        tenant_fk("child_id", ondelete="CASCADE"),
        CheckConstraint("count >= 0", name="count"),
    )
    __mapper_args__ = {"version_id_col": version}

    # Visible to the parent's subtree and to the receiving child's.
    @staticmethod
    def __scope_criteria__(scope: Scope):
        from sqlalchemy import false

        if scope.root_id is None:
            return false()
        return and_(QuotaAllocation.root_id == scope.root_id,
                    or_(org_filter(QuotaAllocation.org_id, scope), org_filter(QuotaAllocation.child_id, scope)))


class CalendarYear(db.Model):
    """A year's national public holidays and make-up working days (调休) as the
    province's policy administrator entered them; ``core.calendar`` uses them
    in preference to the ``chinese_calendar`` package for that year."""

    __tablename__ = "calendar_year"
    __tenant__ = "root"

    root_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list] = mapped_column(JSON, nullable=False, default=list)   # [{"day": iso, "name": str}]
    workdays: Mapped[list] = mapped_column(JSON, nullable=False, default=list)   # [iso]
    updated_by_name: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (CheckConstraint("year >= 2000 AND year <= 2100", name="year"),)
    __mapper_args__ = {"version_id_col": version}
