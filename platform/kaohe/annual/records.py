"""What goes into a person's year besides the routine results: records
(leave, investigations, sanctions, refusals), the self-summary (述职) and the
leader's review with the democratic evaluation's votes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..web.messages import N_
from ..audit.service import record
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc.codes import GRADES, SANCTIONS, VOTE_POINTS
from .models import AnnualAssessment, AnnualRecord, AnnualReview, AnnualSummary
from ..web.messages import N_
from .service import actor_name

RECORD_KINDS = ("leave", "investigation", "sanction", "refusal")   # "leave": legacy day counts only (annual.leave)


def add_record(unit: OrgNode, person: Person, *, kind: str, year: int, sanction_kind: str | None = None,
               start_date: dt.date | None = None, end_date: dt.date | None = None, days: int | None = None,
               note: str | None = None) -> AnnualRecord:
    errors: dict = {}
    if person.unit_id != unit.id:
        errors["person_id"] = ["This person is not on the unit's roster."]
    if kind not in RECORD_KINDS:
        errors["kind"] = ["Unknown record kind."]
    if kind == "sanction" and sanction_kind not in SANCTIONS:
        errors["sanction_kind"] = [N_("Choose the measure (warning, demerit, major demerit, demotion, removal from post, "
                                       "admonishment or post adjustment).")]
    if kind == "leave":     # a day count cannot say which days (calendar or working): ranges only
        errors["kind"] = [N_("Leave is recorded as date ranges (first and last day): use the leave page or "
                             "POST /api/v1/annual/units/<unit>/leave.")]
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = ["The end cannot be before the start."]
    if errors:
        raise Invalid(errors)
    rec = AnnualRecord(root_id=unit.root_id, org_id=unit.id, person_id=person.id, kind=kind, year=year,
                       sanction_kind=sanction_kind if kind == "sanction" else None, start_date=start_date,
                       end_date=end_date, days=days if kind == "leave" else None, note=note, created_by=actor_name())
    db.session.add(rec)
    db.session.flush()
    record(f"annual.record.{kind}", root_id=unit.root_id, org_id=unit.id, target_type="person", target_id=person.id,
           after={"record": rec.id, "year": year, "sanction": rec.sanction_kind, "days": rec.days,
                  "start": start_date, "end": end_date})
    return rec


def close_investigation(rec: AnnualRecord, closed_on: dt.date) -> None:
    if rec.kind != "investigation" or rec.end_date is not None:
        raise Invalid({"record": [N_("Only an open investigation can be closed.")]})
    if rec.start_date and closed_on < rec.start_date:
        raise Invalid({"end_date": [N_("The closing date cannot be before the opening.")]})
    rec.end_date = closed_on
    record("annual.record.investigation_closed", root_id=rec.root_id, org_id=rec.org_id, target_type="person",
           target_id=rec.person_id, after={"record": rec.id, "closed_on": closed_on})
    db.session.flush()


def save_summary(a: AnnualAssessment, person: Person, text: str, submit: bool) -> AnnualSummary:
    text = (text or "").strip()
    if len(text) < 20:
        raise Invalid({"text": [N_("The self-summary needs at least 20 characters.")]})
    if len(text) > 20000:
        raise Invalid({"text": [N_("The self-summary is limited to 20,000 characters.")]})
    if a.status not in ("open", "computed"):
        raise Invalid({"status": [N_("The assessment is confirmed; the self-summary can no longer change.")]})
    s = db.session.execute(select(AnnualSummary).where(AnnualSummary.root_id == a.root_id,
                                                       AnnualSummary.assessment_id == a.id,
                                                       AnnualSummary.person_id == person.id)).scalar_one_or_none()
    if s is None:
        s = AnnualSummary(root_id=a.root_id, org_id=a.org_id, assessment_id=a.id, person_id=person.id, text=text)
        db.session.add(s)
    else:
        if s.submitted_at is not None:
            raise Invalid({"text": [N_("Already submitted.")]})
        s.text = text
    if submit:
        s.submitted_at = utcnow()
    db.session.flush()
    return s


def save_review(a: AnnualAssessment, person: Person, *, leader_score=None, recommended_grade=None, comment=None,
                votes: dict | None = None, clear: tuple[str, ...] = ()) -> AnnualReview:
    """``clear`` names fields emptied on purpose (leader_score,
    recommended_grade): a None value otherwise means "not given"."""
    if a.status not in ("open", "computed"):
        raise Invalid({"status": [N_("The assessment is confirmed; reviews can no longer change.")]})
    errors = {}
    if leader_score is not None and not 0 <= float(leader_score) <= 100:
        errors["leader_score"] = ["The score is between 0 and 100."]
    if recommended_grade not in (None, "", *GRADES):
        errors["recommended_grade"] = ["Unknown grade."]
    for k, v in (votes or {}).items():
        if k not in VOTE_POINTS or int(v) < 0:
            errors[f"votes_{k}"] = ["Vote counts are whole numbers ≥ 0."]
    if errors:
        raise Invalid(errors)
    rv = db.session.execute(select(AnnualReview).where(AnnualReview.root_id == a.root_id,
                                                       AnnualReview.assessment_id == a.id,
                                                       AnnualReview.person_id == person.id)).scalar_one_or_none()
    before = None
    if rv is None:
        rv = AnnualReview(root_id=a.root_id, org_id=a.org_id, assessment_id=a.id, person_id=person.id)
        db.session.add(rv)
    else:
        before = {"leader_score": rv.leader_score, "recommended_grade": rv.recommended_grade, "votes": rv.votes()}
    if leader_score is not None:
        rv.leader_score = float(leader_score)
    elif "leader_score" in clear:
        rv.leader_score = None
    if recommended_grade:
        rv.recommended_grade = recommended_grade
    elif "recommended_grade" in clear:
        rv.recommended_grade = None
    if comment is not None:
        rv.comment = comment
    for k, v in (votes or {}).items():
        setattr(rv, f"votes_{k}", int(v))
    rv.reviewer = actor_name()
    db.session.flush()
    record("annual.review", root_id=a.root_id, org_id=a.org_id, target_type="person", target_id=person.id,
           before=before, after={"leader_score": rv.leader_score, "recommended_grade": rv.recommended_grade,
                                 "votes": rv.votes()})
    return rv
