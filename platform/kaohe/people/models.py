"""People on a unit's roster.  ``org_id`` is the most specific node a person
sits in (a department, or the unit itself); ``unit_id`` is the assessment
unit (本机关) whose quota and assessments they belong to."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, Date, ForeignKeyConstraint, Index, Integer, LargeBinary, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db

RANK_GROUPS = ("leader", "staff")          # 领导班子 / 一般干部: separate pools where policy says
JOB_CATEGORIES = ("general", "police", "service_window")


class Person(TenantMixin, db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    staff_no: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    gender: Mapped[str | None] = mapped_column(String(1))
    post: Mapped[str | None] = mapped_column(String(80))            # 岗位 / 职务
    rank_group: Mapped[str] = mapped_column(String(16), nullable=False, default="staff")
    job_category: Mapped[str] = mapped_column(String(24), nullable=False, default="general")
    # 'head' (主要领导), 'deputy' (分管领导), 'dept_head' (科室负责人), 'staff'
    position_role: Mapped[str] = mapped_column(String(16), nullable=False, default="staff")
    hire_date: Mapped[dt.date | None] = mapped_column(Date)
    probation_end: Mapped[dt.date | None] = mapped_column(Date)
    supervisor_id: Mapped[int | None] = mapped_column(IdType, index=True)
    # 人员身份 (roster_format.STAFF_CATEGORY_CHOICES), 公民身份号码 (18 characters,
    # GB 11643; unique in the province; shown masked), 出生日期, 政治面貌,
    # 职务职级, 参加工作时间.  Optional: a roster fills them in over time.
    staff_category: Mapped[str | None] = mapped_column(String(16))
    id_number: Mapped[str | None] = mapped_column(String(18))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    political_status: Mapped[str | None] = mapped_column(String(20))
    post_rank: Mapped[str | None] = mapped_column(String(40))
    work_start_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_person_root_id_id"),
        UniqueConstraint("root_id", "unit_id", "staff_no", name="uq_person_root_id_unit_id_staff_no"),
        tenant_fk("org_id"),
        tenant_fk("unit_id"),
        ForeignKeyConstraint(["root_id", "supervisor_id"], ["person.root_id", "person.id"],
                             name="fk_person_supervisor"),
        Index("ix_person_unit_active", "unit_id", "active"),
        Index("uq_person_root_id_id_number", "root_id", "id_number", unique=True),
    )
    __mapper_args__ = {"version_id_col": version}


class LeaderCharge(TenantMixin, db.Model):
    """Which departments a leader is in charge of (分管): the leader rates
    those departments' heads, never their staff (谁管理谁考核)."""

    __tablename__ = "leader_charge"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    leader_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)

    __table_args__ = (
        UniqueConstraint("root_id", "leader_id", "department_id",
                         name="uq_leader_charge_root_id_leader_id_department_id"),
        tenant_fk("org_id"),
        tenant_fk("department_id"),
        ForeignKeyConstraint(["root_id", "leader_id"], ["person.root_id", "person.id"], ondelete="CASCADE",
                             name="fk_leader_charge_leader"),
    )


class RosterImport(TenantMixin, db.Model):
    """An uploaded roster workbook and what became of it.

    The file is kept in the database (not on a web server's disk) so any job
    worker can read it; ``org_id`` is the assessment unit it is for.  Status:
    ``uploaded`` → ``checking`` → ``invalid`` | ``valid`` → ``importing`` →
    ``imported`` (or ``failed``, nothing changed)."""

    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="uploaded")
    deactivate_missing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # [{sheet, row, column, field, code, value, params}], capped; error_count is the true total.
    errors: Mapped[list | None] = mapped_column(JSON)
    # counts: created / updated / unchanged / reactivated / deactivated / charges
    summary: Mapped[dict | None] = mapped_column(JSON)
    # Every change the checked file makes (roster_plan.Plan.to_dict()); the import does exactly this.
    changes: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[dt.datetime | None] = mapped_column()
    imported_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_roster_import_root_id_id"),
        tenant_fk("org_id"),
        Index("ix_roster_import_org_created", "org_id", "created_at"),
    )
