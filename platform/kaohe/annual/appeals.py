"""Reviews (复核) and appeals (申诉) of a notified result: filing within the
deadlines of the working calendar, extension, the decision (a reversal
re-derives the grade, the code, the unit's pay and the notice), and the
lists of cases (overdue ones for the supervision dashboards)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from ..web.messages import N_, register_templates
from ..audit.service import record
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from .calc.codes import GRADE_CODE, GRADES
from .deadlines import WorkCalendar, appeal_deadlines, on_time
from .models import AnnualAppeal, AnnualAssessment, AnnualOutcome
from .policy import policy_for
from .service import actor_name, policy, reallocate_pay, today, update_filing


DEADLINE_MSG = {
    "review": N_("The deadline for a review was %(deadline)s (%(days)s days after %(base)s, moved to the next working "
                 "day if it fell on a rest day); it cannot be filed any more."),
    "after_review": N_("The deadline for an appeal after the review decision was %(deadline)s (%(days)s days after "
                       "%(base)s, moved to the next working day if it fell on a rest day); it cannot be filed any more."),
    "direct": N_("The deadline for a direct appeal was %(deadline)s (%(days)s days after %(base)s, moved to the next "
                 "working day if it fell on a rest day); it cannot be filed any more."),
}
register_templates(*DEADLINE_MSG.values())
# which grades the policy lets people appeal (appeal.appealable_grades), as whole sentences for the catalog
APPEALABLE_MSG = {
    frozenset({"buchenzhi"}): N_("Only an Incompetent result may be appealed here."),
    frozenset({"jibenchenzhi"}): N_("Only a Basically competent result may be appealed here."),
    frozenset({"buchenzhi", "jibenchenzhi"}): N_("Only Basically competent and Incompetent results may be appealed here."),
}


def _deadline_msg(kind: str, deadline: dt.date, base: dt.date, days: int) -> str:
    return DEADLINE_MSG[kind] % {"deadline": deadline.isoformat(), "days": days, "base": base.isoformat()}


def file_review(o: AnnualOutcome, grounds: str, filed_on: dt.date | None = None) -> AnnualAppeal:
    """复核: to the deciding unit, within the review period after the notice."""
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    filed_on = filed_on or today()
    _appealable(o, pol, grounds)
    if _open_case(o):
        raise Invalid({"appeal": [N_("A case on this result is already pending.")]})
    if _has_stage(o, "review") or _has_stage(o, "appeal"):
        raise Invalid({"appeal": [N_("A review was already filed for this result.")]})
    cal = WorkCalendar.from_policy(pol)
    days = int(pol["appeal.review_apply_days"])
    deadline = cal.period_end(o.notice_on, days)
    if not on_time(filed_on, deadline):
        raise Invalid({"filed_on": [_deadline_msg("review", deadline, o.notice_on, days)]})
    ap = AnnualAppeal(root_id=o.root_id, org_id=o.org_id, outcome_id=o.id, person_id=o.person_id,
                      decider_org_id=o.org_id, stage="review", grade_appealed=o.grade, grounds=grounds.strip(),
                      filed_on=filed_on, file_by=deadline,
                      decide_by=cal.period_end(filed_on, int(pol["appeal.review_decide_days"])))
    db.session.add(ap)
    db.session.flush()
    record("annual.appeal.review_filed", root_id=o.root_id, org_id=o.org_id, target_type="annual_appeal",
           target_id=ap.id, after={"person": o.person_id, "grade": o.grade, "filed_on": filed_on,
                                   "decide_by": ap.decide_by})
    update_filing(a, o, "review filed")
    return ap


def file_appeal(o: AnnualOutcome, grounds: str, filed_on: dt.date | None = None) -> AnnualAppeal:
    """申诉 to the level above: within the period after the review decision, or
    directly within the period after the notice when no review was asked."""
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    filed_on = filed_on or today()
    _appealable(o, pol, grounds)
    if _open_case(o):
        raise Invalid({"appeal": [N_("A case on this result is already pending.")]})
    if _has_stage(o, "appeal"):
        raise Invalid({"appeal": [N_("An appeal was already filed for this result.")]})
    cal = WorkCalendar.from_policy(pol)
    review = db.session.execute(select(AnnualAppeal).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id, AnnualAppeal.stage == "review",
        AnnualAppeal.filed_on >= o.notice_on).order_by(AnnualAppeal.id.desc())).scalars().first()
    if review is not None:
        days = int(pol["appeal.after_review_days"])
        deadline = cal.period_end(review.decided_on, days)
        route, base, label = "after_review", review.decided_on, "after_review"
    else:
        days = int(pol["appeal.direct_days"])
        deadline = cal.period_end(o.notice_on, days)
        route, base, label = "direct", o.notice_on, "direct"
    if not on_time(filed_on, deadline):
        raise Invalid({"filed_on": [_deadline_msg(label, deadline, base, days)]})
    unit = db.session.get(OrgNode, o.org_id)
    above = unit.parent_id or unit.id
    ap = AnnualAppeal(root_id=o.root_id, org_id=o.org_id, outcome_id=o.id, person_id=o.person_id,
                      decider_org_id=above, stage="appeal", route=route,
                      follows_id=review.id if review else None, grade_appealed=o.grade, grounds=grounds.strip(),
                      filed_on=filed_on, file_by=deadline,
                      decide_by=cal.period_end(filed_on, int(pol["appeal.decide_days"])))
    db.session.add(ap)
    db.session.flush()
    record("annual.appeal.filed", root_id=o.root_id, org_id=o.org_id, target_type="annual_appeal", target_id=ap.id,
           after={"person": o.person_id, "grade": o.grade, "route": route, "filed_on": filed_on,
                  "decide_by": ap.decide_by, "decider": above})
    update_filing(a, o, "appeal filed")
    return ap


def _appealable(o: AnnualOutcome, pol: dict, grounds: str) -> None:
    errors = {}
    if o.notice_on is None:
        errors["notice"] = [N_("The written notice has not been issued yet.")]
    grades = appealable_grades(o, pol)
    if o.grade not in grades:
        errors["grade"] = [APPEALABLE_MSG.get(frozenset(grades), N_("This grade may not be appealed here."))]
    if len((grounds or "").strip()) < 10:
        errors["grounds"] = [N_("State the grounds (at least 10 characters).")]
    if errors:
        raise Invalid(errors)


def appealable_grades(o: AnnualOutcome, pol: dict | None = None) -> list[str]:
    """The grades that may be reviewed or appealed for this outcome: those of
    the policy frozen with the result, plus those the province has made
    appealable for that year since (a right granted later applies to results
    still within their deadlines; one withdrawn later is not taken away)."""
    a = db.session.get(AnnualAssessment, o.assessment_id)
    frozen = (pol or policy(a)).get("appeal.appealable_grades") or ["buchenzhi"]
    live = policy_for(db.session.get(OrgNode, a.org_id), a.year).get("appeal.appealable_grades") or []
    return [g for g in GRADES if g in frozen or g in live]


def filing_options(o: AnnualOutcome, on: dt.date | None = None) -> dict:
    """What this person can file on this result today, with the deadlines:
    ``{"review": deadline | None, "appeal": deadline | None, "why": code | None,
    "grades": [...], **deadlines}``.  ``why`` says why nothing can be filed:
    ``no_notice``, ``grade`` (not an appealable grade), ``pending`` (a case is
    open), ``done`` (review and appeal both used), ``deadline`` (every
    deadline has passed).  The same rules as ``file_review``/``file_appeal``."""
    on = on or today()
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    grades = appealable_grades(o, pol)
    dl = appeal_deadlines_for(o)
    out = {**dl, "review": None, "appeal": None, "why": None, "grades": grades}
    if o.notice_on is None:
        out["why"] = "no_notice"
    elif o.grade not in grades:
        out["why"] = "grade"
    elif _open_case(o):
        out["why"] = "pending"
    else:
        has_review, has_appeal = _has_stage(o, "review"), _has_stage(o, "appeal")
        if not has_review and not has_appeal and on_time(on, dl["review_apply_by"]):
            out["review"] = dl["review_apply_by"]
        if not has_appeal:
            by = dl.get("appeal_after_review_by") if has_review else dl.get("direct_appeal_by")
            if by is not None and on_time(on, by):
                out["appeal"] = by
        if out["review"] is None and out["appeal"] is None:
            out["why"] = "done" if has_appeal else "deadline"
    return out


def _open_case(o: AnnualOutcome) -> bool:
    return db.session.execute(select(AnnualAppeal.id).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id,
        AnnualAppeal.status == "pending")).first() is not None


def _has_stage(o: AnnualOutcome, stage: str) -> bool:
    """A case of ``stage`` against the current notice (a new notice -- after a
    correction (补定) or a reversal -- restarts the review and appeal windows)."""
    return db.session.execute(select(AnnualAppeal.id).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id, AnnualAppeal.filed_on >= o.notice_on,
        AnnualAppeal.stage == stage)).first() is not None


def extend_appeal(ap: AnnualAppeal, reason: str) -> None:
    if ap.stage != "appeal" or ap.status != "pending" or ap.extended:
        raise Invalid({"extended": [N_("Only a pending appeal can be extended, once.")]})
    if len((reason or "").strip()) < 4:
        raise Invalid({"reason": [N_("A reason is required.")]})
    a = db.session.get(AnnualAssessment, db.session.get(AnnualOutcome, ap.outcome_id).assessment_id)
    pol = policy(a)
    cal = WorkCalendar.from_policy(pol)
    before = ap.decide_by
    ap.extended = True
    ap.decide_by = cal.period_end(ap.filed_on, int(pol["appeal.decide_days"]) + int(pol["appeal.extension_days"]))
    record("annual.appeal.extend", root_id=ap.root_id, org_id=ap.org_id, target_type="annual_appeal",
           target_id=ap.id, before={"decide_by": before}, after={"decide_by": ap.decide_by}, reason=reason)
    db.session.flush()


def decide_appeal(ap: AnnualAppeal, *, decision: str, note: str, new_grade: str | None = None,
                  decided_on: dt.date | None = None) -> None:
    """Uphold or reverse.  A reversal re-derives everything downstream: the
    outcome's grade and code, the unit's pay, a new notice; the counters are
    read from the outcomes, so they follow."""
    errors = {}
    if ap.status != "pending":
        errors["status"] = ["This case is already decided."]
    if decision not in ("upheld", "reversed"):
        errors["decision"] = ["Choose to uphold or to reverse."]
    if len((note or "").strip()) < 4:
        errors["note"] = ["The decision needs its reasons."]
    if decision == "reversed" and (new_grade not in GRADES or new_grade == ap.grade_appealed):
        errors["new_grade"] = ["A reversal names the new grade."]
    if errors:
        raise Invalid(errors)
    decided_on = decided_on or today()
    ap.status, ap.decision_note, ap.decided_on, ap.decided_by = decision, note.strip(), decided_on, actor_name()
    ap.new_grade = new_grade if decision == "reversed" else None
    record(f"annual.appeal.{decision}", root_id=ap.root_id, org_id=ap.org_id, target_type="annual_appeal",
           target_id=ap.id, after={"stage": ap.stage, "new_grade": ap.new_grade, "decided_on": decided_on},
           reason=note)
    if decision == "reversed":
        o = db.session.get(AnnualOutcome, ap.outcome_id)
        before = {"grade": o.grade, "code": o.code, "pay_cents": o.pay_cents}
        o.grade, o.code, o.changed_by_appeal = new_grade, GRADE_CODE[new_grade], True
        o.notice_on, o.acknowledged_at = decided_on, None
        record("annual.grade.appeal_change", root_id=o.root_id, org_id=o.org_id, target_type="person",
               target_id=o.person_id, before=before,
               after={"grade": o.grade, "code": o.code, "assessment_id": o.assessment_id}, reason=note)
        db.session.flush()
        reallocate_pay(db.session.get(AnnualAssessment, o.assessment_id))
    o = db.session.get(AnnualOutcome, ap.outcome_id)
    update_filing(db.session.get(AnnualAssessment, o.assessment_id), o, f"{ap.stage} {decision}")
    db.session.flush()


def overdue_appeals(org: OrgNode, on: dt.date | None = None) -> list[AnnualAppeal]:
    """Pending reviews/appeals in ``org``'s subtree past their decision date
    (for the supervision dashboards)."""
    on = on or today()
    sub = select(OrgNode.id).where(OrgNode.root_id == org.root_id, OrgNode.path.like(org.path + "%"))
    return list(db.session.execute(select(AnnualAppeal).where(
        AnnualAppeal.root_id == org.root_id, AnnualAppeal.status == "pending", AnnualAppeal.decide_by < on,
        or_org(sub)).order_by(AnnualAppeal.decide_by)).scalars())


def or_org(sub):
    return or_(AnnualAppeal.org_id.in_(sub), AnnualAppeal.decider_org_id.in_(sub))


def appeals_for(org: OrgNode, status: str | None = None) -> list[AnnualAppeal]:
    sub = select(OrgNode.id).where(OrgNode.root_id == org.root_id, OrgNode.path.like(org.path + "%"))
    stmt = select(AnnualAppeal).where(AnnualAppeal.root_id == org.root_id, or_org(sub))
    if status:
        stmt = stmt.where(AnnualAppeal.status == status)
    return list(db.session.execute(stmt.order_by(AnnualAppeal.status != "pending", AnnualAppeal.decide_by)).scalars())


def appeal_deadlines_for(o: AnnualOutcome) -> dict:
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    review = db.session.execute(select(AnnualAppeal).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id, AnnualAppeal.stage == "review")
        .order_by(AnnualAppeal.id.desc())).scalars().first()
    return appeal_deadlines(WorkCalendar.from_policy(pol), pol, notice_on=o.notice_on,
                            review_filed_on=review.filed_on if review else None,
                            review_decided_on=review.decided_on if review else None)
