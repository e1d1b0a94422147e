"""Routine assessment (平时考核) tables.  Every row belongs to one province
(root_id) and one org node (org_id: the assessment unit, or the person's
department for personal rows).  A period freezes its policy, its schemes
and its roster when it opens, so later edits never rewrite it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKeyConstraint, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db


def _person_fk(col: str, name: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["root_id", col], ["person.root_id", "person.id"], name=name, ondelete=ondelete)


def _period_fk(name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["root_id", "period_id"], ["routine_period.root_id", "routine_period.id"],
                                name=name, ondelete="CASCADE")


class Indicator(TenantMixin, db.Model):
    """A unit's own indicator (on top of the common ones from policy)."""

    __tablename__ = "routine_indicator"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(160))
    dimension: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    spec: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)   # levels/max/per/cap/veto/formula
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_routine_indicator_root_id_id"),
        UniqueConstraint("root_id", "org_id", "code", name="uq_routine_indicator_root_id_org_id_code"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}

    def as_spec(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "dimension": self.dimension,
                "kind": self.kind, "source": "unit", **(self.spec or {})}


class Scheme(TenantMixin, db.Model):
    """考核方案 for a job category (分类考核): sections, rater weights."""

    __tablename__ = "routine_scheme"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    job_category: Mapped[str] = mapped_column(String(24), nullable=False, default="general")
    basis: Mapped[str] = mapped_column(String(8), nullable=False, default="points")
    total: Mapped[float] = mapped_column(Float, nullable=False, default=100)
    sections: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    rater_weights: Mapped[dict | None] = mapped_column(JSON)        # None → policy routine.rater_weights
    leader_score_mode: Mapped[str | None] = mapped_column(String(8))  # None → policy
    democratic_scope: Mapped[str] = mapped_column(String(12), nullable=False, default="department")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_routine_scheme_root_id_id"),
        UniqueConstraint("root_id", "org_id", "code", name="uq_routine_scheme_root_id_org_id_code"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class Assignment(TenantMixin, db.Model):
    """Which scheme a person is assessed by, and their personal indicators
    from the target responsibility letter (岗位职责目标责任书)."""

    __tablename__ = "routine_assignment"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    scheme_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    personal: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    letter_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", name="uq_routine_assignment_root_id_person_id"),
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_assignment_person", "CASCADE"),
        ForeignKeyConstraint(["root_id", "scheme_id"], ["routine_scheme.root_id", "routine_scheme.id"],
                             name="fk_routine_assignment_scheme"),
    )
    __mapper_args__ = {"version_id_col": version}


class PeerGroup(TenantMixin, db.Model):
    """互评组: people of related departments who rate each other."""

    __tablename__ = "routine_peer_group"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_routine_peer_group_root_id_id"),
        UniqueConstraint("root_id", "org_id", "name", name="uq_routine_peer_group_root_id_org_id_name"),
        tenant_fk("org_id"),
    )


class PeerMember(TenantMixin, db.Model):
    __tablename__ = "routine_peer_member"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    group_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)

    __table_args__ = (
        UniqueConstraint("root_id", "group_id", "person_id", name="uq_routine_peer_member_root_id_group_id_person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "group_id"], ["routine_peer_group.root_id", "routine_peer_group.id"],
                             name="fk_routine_peer_member_group", ondelete="CASCADE"),
        _person_fk("person_id", "fk_routine_peer_member_person", "CASCADE"),
    )


PERIOD_STATES = ("draft", "open", "rating", "review", "publicised", "final")


class Period(TenantMixin, db.Model):
    """One routine period of a unit (org_id = the unit)."""

    __tablename__ = "routine_period"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    cycle: Mapped[str] = mapped_column(String(12), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)         # month 1-12, quarter 1-4, half 1-2
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    policy: Mapped[dict | None] = mapped_column(JSON)    # frozen pol.snapshot() at open
    frozen: Mapped[dict | None] = mapped_column(JSON)    # schemes + indicator library at open
    publicity_from: Mapped[dt.date | None] = mapped_column(Date)
    publicity_until: Mapped[dt.date | None] = mapped_column(Date)
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    compute_summary: Mapped[dict | None] = mapped_column(JSON)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finalised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_routine_period_root_id_id"),
        UniqueConstraint("root_id", "org_id", "year", "cycle", "seq",
                         name="uq_routine_period_root_id_org_id_year_cycle_seq"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        if self.cycle == "quarter":
            return f"{self.year}年第{self.seq}季度"
        if self.cycle == "month":
            return f"{self.year}年{self.seq}月"
        return f"{self.year}年{'上' if self.seq == 1 else '下'}半年"

    @property
    def label_en(self) -> str:
        if self.cycle == "quarter":
            return f"Q{self.seq} {self.year}"
        if self.cycle == "month":
            return f"{self.year}-{self.seq:02d}"
        return f"{'First' if self.seq == 1 else 'Second'} half of {self.year}"

    @property
    def display_label(self) -> str:
        """The label in the reader's language (Chinese outside a request)."""
        from flask import has_request_context

        from ..web.i18n import pick

        return pick(self.label, self.label_en) if has_request_context() else self.label


class Participant(TenantMixin, db.Model):
    """The roster of a period, frozen at open (org_id = the person's node)."""

    __tablename__ = "routine_participant"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    position_role: Mapped[str] = mapped_column(String(16), nullable=False)
    scheme_code: Mapped[str] = mapped_column(String(40), nullable=False)
    personal: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "person_id",
                         name="uq_routine_participant_root_id_period_id_person_id"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_participant_period"),
        _person_fk("person_id", "fk_routine_participant_person"),
    )


class Attendance(TenantMixin, db.Model):
    """Sign-in/out of one person on one day (org_id = the person's node)."""

    __tablename__ = "routine_attendance"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sign_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    corrected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", "day", name="uq_routine_attendance_root_id_person_id_day"),
        Index("ix_routine_attendance_org_day", "org_id", "day"),
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_attendance_person", "CASCADE"),
    )


class Correction(TenantMixin, db.Model):
    """An attendance correction request: nothing changes until the
    supervisor approves it (seed 000's 修正审批表)."""

    __tablename__ = "routine_correction"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sign_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    decided_by: Mapped[int | None] = mapped_column(IdType)            # user id
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_correction_person", "CASCADE"),
    )
    __mapper_args__ = {"version_id_col": version}


class WorkRecord(TenantMixin, db.Model):
    """工作写实: a month's plan against what was done (or a daily log)."""

    __tablename__ = "routine_work_record"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="monthly")   # monthly | daily
    on_date: Mapped[dt.date] = mapped_column(Date, nullable=False)   # first of month, or the day
    plan: Mapped[str | None] = mapped_column(Text)
    done: Mapped[str] = mapped_column(Text, nullable=False)
    supervisor_comment: Mapped[str | None] = mapped_column(Text)
    comment_visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", "kind", "on_date",
                         name="uq_routine_work_record_root_id_person_id_kind_on_date"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_work_record_period"),
        _person_fk("person_id", "fk_routine_work_record_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class Rating(TenantMixin, db.Model):
    """One rater's scores for one person in one period.  Peer and democratic
    ratings are anonymous to the person rated (never exposed one by one)."""

    __tablename__ = "routine_rating"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    ratee_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    rater_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    rater_kind: Mapped[str] = mapped_column(String(12), nullable=False)
    scores: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    comment_visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    proposed_grade: Mapped[str | None] = mapped_column(String(12))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "ratee_id", "rater_id", "rater_kind",
                         name="uq_routine_rating_root_period_ratee_rater_kind"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_rating_period"),
        _person_fk("ratee_id", "fk_routine_rating_ratee"),
        _person_fk("rater_id", "fk_routine_rating_rater"),
    )
    __mapper_args__ = {"version_id_col": version}


class Event(TenantMixin, db.Model):
    """A deduction, bonus or veto with its date and evidence."""

    __tablename__ = "routine_event"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    indicator_code: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    occurred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    points: Mapped[float] = mapped_column(Float, nullable=False, default=0)
    evidence: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by: Mapped[int | None] = mapped_column(IdType)        # user id
    recorded_by_name: Mapped[str | None] = mapped_column(String(80))
    voided: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        tenant_fk("org_id"),
        _period_fk("fk_routine_event_period"),
        _person_fk("person_id", "fk_routine_event_person"),
    )


class Metric(TenantMixin, db.Model):
    """A per-person value imported from another system for a data-fed indicator."""

    __tablename__ = "routine_metric"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    indicator_code: Mapped[str] = mapped_column(String(40), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "person_id", "indicator_code",
                         name="uq_routine_metric_root_id_period_id_person_id_indicator_code"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_metric_period"),
        _person_fk("person_id", "fk_routine_metric_person"),
    )


class Result(TenantMixin, db.Model):
    """A person's result for a period (org_id = the person's node)."""

    __tablename__ = "routine_result"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(12))
    rank: Mapped[int | None] = mapped_column(Integer)
    rank_of: Mapped[int | None] = mapped_column(Integer)
    breakdown: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    flags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # performance pay paid with this period (policy routine.period_pay_share), in cents
    pay_cents: Mapped[int | None] = mapped_column(BigInteger)
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_by: Mapped[str | None] = mapped_column(String(80))
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "person_id", name="uq_routine_result_root_id_period_id_person_id"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_result_period"),
        _person_fk("person_id", "fk_routine_result_person"),
    )


class CapDecision(TenantMixin, db.Model):
    """A human decision on a tie at the 好 cap line, with its reason."""

    __tablename__ = "routine_cap_decision"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    group_key: Mapped[str] = mapped_column(String(40), nullable=False)
    candidates: Mapped[list] = mapped_column(JSON, nullable=False)
    chosen: Mapped[list] = mapped_column(JSON, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "group_key",
                         name="uq_routine_cap_decision_root_id_period_id_group_key"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_cap_decision_period"),
    )


class Exemption(TenantMixin, db.Model):
    """The office's recorded decision that a person's missing inputs do not
    hold the period up (e.g. long sick leave, joined in the last week).  The
    person stays 未完成 unless every indicator has a value; see
    ``routine.inputs``.  org_id = the unit of the period."""

    __tablename__ = "routine_exemption"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    missing: Mapped[dict | None] = mapped_column(JSON)     # what was missing when it was recorded
    by_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "period_id", "person_id", name="uq_routine_exemption_root_id_period_id_person_id"),
        tenant_fk("org_id"),
        _period_fk("fk_routine_exemption_period"),
        _person_fk("person_id", "fk_routine_exemption_person", "CASCADE"),
    )


class TalkRecord(TenantMixin, db.Model):
    """A talk held for a routine talk task (批评谈话 / 提醒谈话): when, who
    talked, what was said and the follow-up; recording it closes the task.
    org_id = the task's unit."""

    __tablename__ = "routine_talk_record"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    talked_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    talked_by: Mapped[str] = mapped_column(String(120), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    follow_up: Mapped[str | None] = mapped_column(Text)
    by_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_talk_record_person", "CASCADE"),
    )


class Amendment(TenantMixin, db.Model):
    """A correction to a final period: what changed and why."""

    __tablename__ = "routine_amendment"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    period_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int | None] = mapped_column(IdType)
    what: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    by_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        tenant_fk("org_id"),
        _period_fk("fk_routine_amendment_period"),
    )


class Task(TenantMixin, db.Model):
    """A generic to-do (talks, reviews, follow-ups) for any slice.

    kind: dotted, e.g. 'routine.criticism_talk', 'annual.talk'.
    person_id: whom it is about.  Assignee: a person (assignee_person_id), an
    account (assignee_user_id), or anyone holding a role on a node
    (assignee_role + assignee_org_id).  source_type/source_id: what raised it
    (e.g. 'routine_period', 7); closed_type/closed_id: the record that closed
    it (e.g. a talk record).  status: open | done | cancelled."""

    __tablename__ = "routine_task"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    person_id: Mapped[int | None] = mapped_column(IdType, index=True)
    assignee_person_id: Mapped[int | None] = mapped_column(IdType, index=True)
    assignee_user_id: Mapped[int | None] = mapped_column(IdType, index=True)
    assignee_role: Mapped[str | None] = mapped_column(String(24))
    assignee_org_id: Mapped[int | None] = mapped_column(IdType)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(IdType)
    closed_type: Mapped[str | None] = mapped_column(String(40))
    closed_id: Mapped[int | None] = mapped_column(IdType)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_routine_task_source", "source_type", "source_id"),
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_task_person", "CASCADE"),
    )


class RoutineReminder(TenantMixin, db.Model):
    """A reminder shown in the app (and mailed when mail is configured);
    one per person, kind and day, so re-running the job does not repeat it."""

    __tablename__ = "routine_reminder"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)   # sign_in | work_record | rating
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    mailed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", "kind", "day", name="uq_routine_reminder_root_id_person_id_kind_day"),
        tenant_fk("org_id"),
        _person_fk("person_id", "fk_routine_reminder_person", "CASCADE"),
    )
