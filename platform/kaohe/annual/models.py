"""Tables of the annual assessment (年度考核).

An ``AnnualAssessment`` is one unit's assessment for one year.  Each
computation writes a whole new ``AnnualRun`` with its ``AnnualResult`` rows
and then moves the assessment's ``current_run_id`` in the same transaction:
readers see the previous run or the new one, never half of each.  The
committee's decisions (``AnnualAdjustment``) survive recomputation and are
applied over the current run when the result is confirmed into
``AnnualOutcome`` (one row per person and year: the grade that counts, the
notice, the acknowledgement, the pay, and the history the multi-year
counters are read from)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, Date, Float, ForeignKeyConstraint, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db

STATUSES = ("open", "computed", "confirmed", "publicised", "notified", "filed")


def _person_fk(col: str = "person_id", name: str | None = None, ondelete: str | None = None):
    return ForeignKeyConstraint(["root_id", col], ["person.root_id", "person.id"], name=name, ondelete=ondelete)


class AnnualAssessment(TenantMixin, db.Model):
    __tablename__ = "annual_assessment"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    org_grade: Mapped[str | None] = mapped_column(String(16))          # organisational performance grade
    major_contribution: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    current_run_id: Mapped[int | None] = mapped_column(IdType)
    policy: Mapped[dict | None] = mapped_column(JSON)                  # frozen at the last computation
    quota: Mapped[dict | None] = mapped_column(JSON)                   # of the current run (for lists)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    publicity_start: Mapped[dt.date | None] = mapped_column(Date)
    publicity_end: Mapped[dt.date | None] = mapped_column(Date)
    notified_on: Mapped[dt.date | None] = mapped_column(Date)
    filed_at: Mapped[dt.datetime | None] = mapped_column()
    filed_by: Mapped[str | None] = mapped_column(String(80))
    # filing (备案) while appeal windows/cases were still open: the recorded decision, the outcomes
    # still open then (they update the filing as they close), when the filing was last updated
    filed_open_reason: Mapped[str | None] = mapped_column(Text)
    filed_open_cases: Mapped[list | None] = mapped_column(JSON)
    filing_updated_at: Mapped[dt.datetime | None] = mapped_column()
    corrections: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")   # 补定 rounds
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_assessment_root_id_id"),
        UniqueConstraint("root_id", "org_id", "year", name="uq_annual_assessment_root_id_org_id_year"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualRun(TenantMixin, db.Model):
    """One complete computation of an assessment (immutable once written)."""

    __tablename__ = "annual_run"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quota: Mapped[dict | None] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)    # of the result rows: equal inputs → equal digest
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_run_root_id_id"),
        UniqueConstraint("root_id", "assessment_id", "seq", name="uq_annual_run_root_id_assessment_id_seq"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "assessment_id"], ["annual_assessment.root_id", "annual_assessment.id"],
                             name="fk_annual_run_assessment", ondelete="CASCADE"),
    )


class AnnualResult(TenantMixin, db.Model):
    __tablename__ = "annual_result"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(IdType, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    rank_group: Mapped[str] = mapped_column(String(16), nullable=False, default="staff")
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(4), nullable=False)
    eligible_youxiu: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    rank: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list | None] = mapped_column(JSON)
    talks: Mapped[list | None] = mapped_column(JSON)
    explain: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("root_id", "run_id", "person_id", name="uq_annual_result_root_id_run_id_person_id"),
        Index("ix_annual_result_root_run", "root_id", "run_id"),     # the run FK (cascade, pruning)
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "run_id"], ["annual_run.root_id", "annual_run.id"],
                             name="fk_annual_result_run", ondelete="CASCADE"),
    )


class AnnualAdjustment(TenantMixin, db.Model):
    """The committee's (or head's) decision on one person, with its reason.
    Survives recomputation; applied when the result is confirmed."""

    __tablename__ = "annual_adjustment"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(IdType, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    grade: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "assessment_id", "person_id",
                         name="uq_annual_adjustment_root_id_assessment_id_person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "assessment_id"], ["annual_assessment.root_id", "annual_assessment.id"],
                             name="fk_annual_adjustment_assessment", ondelete="CASCADE"),
        _person_fk(name="fk_annual_adjustment_person"),
    )


class AnnualOutcome(TenantMixin, db.Model):
    """The grade that counts for one person and year (after the committee),
    with its notice, acknowledgement and pay.  The multi-year history."""

    __tablename__ = "annual_outcome"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    computed_grade: Mapped[str | None] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(4), nullable=False)
    adjusted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    pay_cents: Mapped[int | None] = mapped_column(BigInteger)
    notice_on: Mapped[dt.date | None] = mapped_column(Date)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column()
    changed_by_appeal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_outcome_root_id_id"),
        UniqueConstraint("root_id", "assessment_id", "person_id",
                         name="uq_annual_outcome_root_id_assessment_id_person_id"),
        Index("ix_annual_outcome_person_year", "person_id", "year"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "assessment_id"], ["annual_assessment.root_id", "annual_assessment.id"],
                             name="fk_annual_outcome_assessment", ondelete="CASCADE"),
        _person_fk(name="fk_annual_outcome_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualRecord(TenantMixin, db.Model):
    """Facts about a person that drive eligibility: leave, investigation,
    sanction (处分/组织处理), refusal to take part.  ``org_id`` is the unit."""

    __tablename__ = "annual_record"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)      # leave|investigation|sanction|refusal
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sanction_kind: Mapped[str | None] = mapped_column(String(16))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)             # investigation closed on
    days: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_record_root_id_id"),
        Index("ix_annual_record_org_year", "org_id", "year"),
        tenant_fk("org_id"),
        _person_fk(name="fk_annual_record_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualLeave(TenantMixin, db.Model):
    """One leave (病假/事假/其他) as a date range inside an assessment year:
    the annual eligibility counts its calendar and working days, and
    eligibility.leave_measure says which decides "more than half the year"
    (6A).  ``org_id`` is the unit.  A leave across the new year is two
    ranges.  Day counts recorded before ranges existed stay in
    ``annual_record`` (kind "leave") as a legacy figure, used only for a
    person and year without any range."""

    __tablename__ = "annual_leave"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    end_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)       # sick|personal|other
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        Index("ix_annual_leave_root_id_person_id_year", "root_id", "person_id", "year"),
        Index("ix_annual_leave_org_year", "org_id", "year"),
        tenant_fk("org_id"),
        _person_fk(name="fk_annual_leave_person", ondelete="CASCADE"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualSummary(TenantMixin, db.Model):
    """The self-summary (述职) replacing the paper 年度考核登记表."""

    __tablename__ = "annual_summary"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(IdType, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "assessment_id", "person_id",
                         name="uq_annual_summary_root_id_assessment_id_person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "assessment_id"], ["annual_assessment.root_id", "annual_assessment.id"],
                             name="fk_annual_summary_assessment", ondelete="CASCADE"),
        _person_fk(name="fk_annual_summary_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualReview(TenantMixin, db.Model):
    """The supervising leader's comment, score and recommended grade, and the
    democratic evaluation's vote counts (民主测评, counted, not per voter)."""

    __tablename__ = "annual_review"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(IdType, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    leader_score: Mapped[float | None] = mapped_column(Float)
    recommended_grade: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(80))
    votes_youxiu: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    votes_chenzhi: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    votes_jibenchenzhi: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    votes_buchenzhi: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "assessment_id", "person_id",
                         name="uq_annual_review_root_id_assessment_id_person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "assessment_id"], ["annual_assessment.root_id", "annual_assessment.id"],
                             name="fk_annual_review_assessment", ondelete="CASCADE"),
        _person_fk(name="fk_annual_review_person"),
    )
    __mapper_args__ = {"version_id_col": version}

    def votes(self) -> dict:
        return {"youxiu": self.votes_youxiu, "chenzhi": self.votes_chenzhi,
                "jibenchenzhi": self.votes_jibenchenzhi, "buchenzhi": self.votes_buchenzhi}


class RoutineImport(TenantMixin, db.Model):
    """Routine (quarterly) results carried into the annual computation from
    outside the routine module (paper-era quarters, another system)."""

    __tablename__ = "annual_routine_import"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    period_no: Mapped[int] = mapped_column(Integer, nullable=False)      # 1..4 for quarters
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", "year", "period_no",
                         name="uq_annual_routine_import_root_id_person_id_year_period_no"),
        Index("ix_annual_routine_import_org_year", "org_id", "year"),
        tenant_fk("org_id"),
        _person_fk(name="fk_annual_routine_import_person", ondelete="CASCADE"),
    )


class SpecialCampaign(TenantMixin, db.Model):
    """A special assessment (专项考核): a campaign with participants, a window
    and a result type.  ``org_id`` is the unit or supervisor that runs it."""

    __tablename__ = "special_campaign"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False, default="other")
    result_type: Mapped[str] = mapped_column(String(16), nullable=False)   # grade|comment|points
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_special_campaign_root_id_id"),
        tenant_fk("org_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class SpecialResult(TenantMixin, db.Model):
    """One participant's result: a grade, a comment/report, or points."""

    __tablename__ = "special_result"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(IdType, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    grade: Mapped[str | None] = mapped_column(String(16))
    points: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "campaign_id", "person_id", name="uq_special_result_root_id_campaign_id_person_id"),
        Index("ix_special_result_year_person", "year", "person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "campaign_id"], ["special_campaign.root_id", "special_campaign.id"],
                             name="fk_special_result_campaign", ondelete="CASCADE"),
        _person_fk(name="fk_special_result_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualAppeal(TenantMixin, db.Model):
    """A review (复核, to the deciding unit) or an appeal (申诉, to the level
    above).  ``org_id`` is the unit; ``decider_org_id`` decides it."""

    __tablename__ = "annual_appeal"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    outcome_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    decider_org_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(8), nullable=False)          # review | appeal
    route: Mapped[str | None] = mapped_column(String(16))                  # after_review | direct
    follows_id: Mapped[int | None] = mapped_column(IdType)                 # the review an appeal follows
    grade_appealed: Mapped[str] = mapped_column(String(16), nullable=False)
    grounds: Mapped[str] = mapped_column(Text, nullable=False)
    filed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    file_by: Mapped[dt.date] = mapped_column(Date, nullable=False)         # the deadline it met
    decide_by: Mapped[dt.date] = mapped_column(Date, nullable=False)
    extended: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending|upheld|reversed
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_grade: Mapped[str | None] = mapped_column(String(16))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_appeal_root_id_id"),
        tenant_fk("org_id"),
        tenant_fk("decider_org_id"),
        ForeignKeyConstraint(["root_id", "outcome_id"], ["annual_outcome.root_id", "annual_outcome.id"],
                             name="fk_annual_appeal_outcome", ondelete="CASCADE"),
        _person_fk(name="fk_annual_appeal_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualTalk(TenantMixin, db.Model):
    """A talk a rule demands (criticism, reminder/诫勉谈话): a task for the
    responsible leader until the record of the talk is entered."""

    __tablename__ = "annual_talk"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    leader_person_id: Mapped[int | None] = mapped_column(IdType, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)          # criticism | reminder
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    record: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "person_id", "year", "kind", name="uq_annual_talk_root_id_person_id_year_kind"),
        tenant_fk("org_id"),
        _person_fk(name="fk_annual_talk_person"),
    )
    __mapper_args__ = {"version_id_col": version}


class AnnualPriorGrade(TenantMixin, db.Model):
    """An annual grade of a year before the platform, imported from the
    unit's records (an xlsx, ``history_import``), so the multi-year counters
    (salary step, 级别, 三等功, dismissal review) start right.  Marked
    imported, never computed: a year the platform assessed has its
    ``AnnualOutcome`` instead, and that one wins.  ``org_id`` is the unit
    that imported it (where the grade was earned)."""

    __tablename__ = "annual_prior_grade"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    grade: Mapped[str | None] = mapped_column(String(16))                 # None: 不定等次 / 不进行考核
    code: Mapped[str] = mapped_column(String(4), nullable=False)           # A1517
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="import")
    filename: Mapped[str | None] = mapped_column(String(255))
    imported_by: Mapped[str | None] = mapped_column(String(80))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_annual_prior_grade_root_id_id"),
        UniqueConstraint("root_id", "person_id", "year", name="uq_annual_prior_grade_root_id_person_id_year"),
        Index("ix_annual_prior_grade_org_year", "org_id", "year"),
        tenant_fk("org_id"),
        _person_fk(name="fk_annual_prior_grade_person"),
    )
    __mapper_args__ = {"version_id_col": version}
