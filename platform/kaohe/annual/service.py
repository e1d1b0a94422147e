"""Business operations of the annual assessment.  Each validates, changes,
writes its audit entry and flushes; the caller commits once."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from sqlalchemy import and_, func, select, update

from ..core.clock import local_today
from ..audit.service import current_actor, record
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import calc
from .deadlines import WorkCalendar, appeal_deadlines, on_time
from .models import (AnnualAdjustment, AnnualAppeal, AnnualAssessment, AnnualOutcome, AnnualRecord, AnnualResult,
                     AnnualReview, AnnualSummary, AnnualTalk, SpecialCampaign, SpecialResult)
from .policy import DEFAULTS, policy_for

ORDER = ("open", "computed", "confirmed", "publicised", "notified", "filed")


def today() -> dt.date:
    return local_today()


def _actor() -> str:
    return current_actor().name


def _check_version(obj, expected_version):
    if expected_version is not None and int(expected_version) != obj.version:
        raise Conflict({"version": [f"Changed by someone else (now version {obj.version}); reload."]})


def get_or_open(unit: OrgNode, year: int) -> AnnualAssessment:
    if not unit.is_assessment_unit:
        raise Invalid({"org": ["This node is not an assessment unit (本机关)."]})
    if not 2000 <= int(year) <= 2100:
        raise Invalid({"year": ["Year out of range."]})
    a = db.session.execute(select(AnnualAssessment).where(
        AnnualAssessment.root_id == unit.root_id, AnnualAssessment.org_id == unit.id,
        AnnualAssessment.year == year)).scalar_one_or_none()
    if a is None:
        a = AnnualAssessment(root_id=unit.root_id, org_id=unit.id, year=year, status="open")
        db.session.add(a)
        db.session.flush()
        record("annual.open", root_id=unit.root_id, org_id=unit.id, target_type="annual_assessment",
               target_id=a.id, after={"year": year})
    return a


def find(unit: OrgNode, year: int) -> AnnualAssessment | None:
    return db.session.execute(select(AnnualAssessment).where(
        AnnualAssessment.root_id == unit.root_id, AnnualAssessment.org_id == unit.id,
        AnnualAssessment.year == year)).scalar_one_or_none()


def policy(a: AnnualAssessment) -> dict:
    if a.policy:
        return {**DEFAULTS, **a.policy}
    unit = db.session.get(OrgNode, a.org_id)
    return policy_for(unit, a.year)


def calendar(a: AnnualAssessment) -> WorkCalendar:
    return WorkCalendar.from_policy(policy(a))


def _require_status(a: AnnualAssessment, allowed: Sequence[str], what: str):
    if a.status not in allowed:
        raise Invalid({"status": [f"Cannot {what} while the assessment is '{a.status}'."]})


def set_org_grade(a: AnnualAssessment, grade: str | None, major: bool, expected_version=None) -> None:
    _check_version(a, expected_version)
    _require_status(a, ("open", "computed"), "change the organisational grade")
    if grade not in (None, "", "youxiu", "lianghao", "yiban", "jiaocha"):
        raise Invalid({"org_grade": ["Unknown organisational-performance grade."]})
    before = {"org_grade": a.org_grade, "major_contribution": a.major_contribution}
    a.org_grade, a.major_contribution = (grade or None), bool(major)
    record("annual.org_grade", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment",
           target_id=a.id, before=before, after={"org_grade": a.org_grade, "major_contribution": a.major_contribution})
    db.session.flush()


# -- results -----------------------------------------------------------------------

def current_results(a: AnnualAssessment) -> list[AnnualResult]:
    if a.current_run_id is None:
        return []
    return list(db.session.execute(select(AnnualResult).where(
        AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id)
        .order_by(AnnualResult.rank.is_(None), AnnualResult.rank, AnnualResult.person_id)).scalars())


def adjustments(a: AnnualAssessment) -> dict[int, AnnualAdjustment]:
    return {x.person_id: x for x in db.session.execute(select(AnnualAdjustment).where(
        AnnualAdjustment.root_id == a.root_id, AnnualAdjustment.assessment_id == a.id)).scalars()}


def adjust(a: AnnualAssessment, person_id: int, grade: str, reason: str) -> AnnualAdjustment:
    """The committee's (or head's) decision on one person, with its reason."""
    _require_status(a, ("computed",), "adjust grades")
    reason = (reason or "").strip()
    errors = {}
    if grade not in calc.GRADES:
        errors["grade"] = ["Choose one of 优秀/称职/基本称职/不称职."]
    if len(reason) < 4:
        errors["reason"] = ["A reason is required for every adjustment (at least 4 characters)."]
    if errors:
        raise Invalid(errors)
    res = db.session.execute(select(AnnualResult).where(
        AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id,
        AnnualResult.person_id == person_id)).scalar_one_or_none()
    if res is None:
        raise Invalid({"person_id": ["This person has no result in the current computation."]})
    if res.grade is None and res.code != "4":
        raise Invalid({"grade": [f"Result code {res.code} carries no grade this year; change the record instead."]})
    if grade == "youxiu" and not res.eligible_youxiu:
        raise Invalid({"grade": ["Not eligible for 优秀: " + ", ".join(r["rule"] for r in (res.explain or {}).get(
            "rules", []) if r.get("effect") in ("not_youxiu", "4", "5A", "5B", "5C", "6A")) + "."]})
    existing = adjustments(a).get(person_id)
    before = {"grade": existing.grade if existing else res.grade}
    if existing is None:
        existing = AnnualAdjustment(root_id=a.root_id, org_id=a.org_id, assessment_id=a.id, person_id=person_id,
                                    grade=grade, reason=reason, decided_by=_actor())
        db.session.add(existing)
    else:
        existing.grade, existing.reason, existing.decided_by = grade, reason, _actor()
    db.session.flush()
    record("annual.grade.adjust", root_id=a.root_id, org_id=a.org_id, target_type="person", target_id=person_id,
           before=before, after={"grade": grade, "computed": res.grade}, reason=reason)
    return existing


def final_grades(a: AnnualAssessment, results: list[AnnualResult] | None = None) -> list[dict]:
    results = current_results(a) if results is None else results
    adj = adjustments(a)
    out = []
    for r in results:
        x = adj.get(r.person_id)
        grade = x.grade if x else r.grade
        code = calc.GRADE_CODE[grade] if grade else r.code
        out.append({"person_id": r.person_id, "score": r.score, "computed_grade": r.grade, "grade": grade,
                    "code": code, "adjusted": x is not None and x.grade != r.grade, "reason": x.reason if x else None,
                    "flags": r.flags or [], "rank_group": r.rank_group})
    return out


def confirm(a: AnnualAssessment, expected_version=None) -> dict:
    """The committee confirms: quota and ties checked, outcomes and pay written."""
    _check_version(a, expected_version)
    _require_status(a, ("computed",), "confirm")
    results = current_results(a)
    finals = final_grades(a, results)
    adj = adjustments(a)
    undecided = [f["person_id"] for f in finals if "tie_at_line" in f["flags"] and f["person_id"] not in adj]
    if undecided:
        raise Invalid({"ties": [f"{len(undecided)} people are tied at the quota line; the committee must decide "
                                "each of them (优秀 or 称职) with a reason before confirming."]})
    quota = a.quota or {}
    for pool, info in quota.items():
        members = [f for f in finals if pool == "all" or (f["rank_group"] == "leader") == (pool == "leader")]
        n = sum(1 for f in members if f["grade"] == "youxiu")
        if n > int(info.get("quota", 0)):
            raise Invalid({"quota": [f"{n} 优秀 exceed the quota of {info.get('quota')} (pool {pool})."]})
    pol = policy(a)
    cents, pay_explain = calc.allocate_pay(finals, pol)
    O = AnnualOutcome.__table__
    db.session.execute(O.delete().where(O.c.root_id == a.root_id, O.c.assessment_id == a.id))
    rows = [{"root_id": a.root_id, "org_id": a.org_id, "assessment_id": a.id, "person_id": f["person_id"],
             "year": a.year, "score": f["score"], "computed_grade": f["computed_grade"], "grade": f["grade"],
             "code": f["code"], "adjusted": f["adjusted"], "reason": f["reason"], "pay_cents": c,
             "changed_by_appeal": False, "version": 1} for f, c in zip(finals, cents)]
    if rows:
        db.session.execute(O.insert(), rows)
    a.status, a.confirmed_at, a.confirmed_by = "confirmed", utcnow(), _actor()
    counts = {g: sum(1 for f in finals if f["grade"] == g) for g in calc.GRADES}
    record("annual.confirm", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"counts": counts, "run": a.current_run_id, "pay": pay_explain,
                  "adjusted": sum(1 for f in finals if f["adjusted"])})
    db.session.flush()
    return {"counts": counts, "pay": pay_explain}


def reopen(a: AnnualAssessment, reason: str) -> None:
    _require_status(a, ("confirmed",), "reopen")
    if len((reason or "").strip()) < 4:
        raise Invalid({"reason": ["A reason is required to reopen a confirmed result."]})
    O = AnnualOutcome.__table__
    db.session.execute(O.delete().where(O.c.root_id == a.root_id, O.c.assessment_id == a.id))
    a.status = "computed"
    record("annual.reopen", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           reason=reason)
    db.session.flush()


def publish(a: AnnualAssessment, start: dt.date | None = None) -> None:
    """公示 of the 优秀 list for at least the policy's working days."""
    _require_status(a, ("confirmed",), "publish")
    start = start or today()
    pol = policy(a)
    n = int(pol.get("annual.publicity_working_days", 5))
    cal = WorkCalendar.from_policy(pol)
    a.publicity_start = cal.next_workday(start)
    a.publicity_end = cal.add_working_days(start, n)
    a.status = "publicised"
    record("annual.publicise", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"from": a.publicity_start, "until": a.publicity_end, "working_days": n})
    db.session.flush()


def notify(a: AnnualAssessment, on: dt.date | None = None) -> int:
    """Written notice to everyone once the 公示 window is over."""
    _require_status(a, ("publicised",), "send notices")
    on = on or today()
    if a.publicity_end and on <= a.publicity_end:
        raise Invalid({"notice_on": [f"The 公示 runs until {a.publicity_end.isoformat()}; notices may go out "
                                     "from the next day."]})
    O = AnnualOutcome.__table__
    n = db.session.execute(update(O).where(O.c.root_id == a.root_id, O.c.assessment_id == a.id)
                           .values(notice_on=on, version=O.c.version + 1)).rowcount
    a.status, a.notified_on = "notified", on
    record("annual.notify", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"notice_on": on, "people": n})
    db.session.flush()
    return n


def acknowledge(o: AnnualOutcome) -> None:
    if o.notice_on is None:
        raise Invalid({"notice": ["No written notice has been issued yet."]})
    if o.acknowledged_at is None:
        o.acknowledged_at = utcnow()
        record("annual.acknowledge", root_id=o.root_id, org_id=o.org_id, target_type="annual_outcome",
               target_id=o.id, after={"grade": o.grade, "code": o.code})
        db.session.flush()


def file_with_above(a: AnnualAssessment) -> None:
    _require_status(a, ("notified",), "file the result")
    a.status, a.filed_at, a.filed_by = "filed", utcnow(), _actor()
    record("annual.file", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id)
    db.session.flush()


def outcomes(a: AnnualAssessment) -> list[AnnualOutcome]:
    return list(db.session.execute(select(AnnualOutcome).where(
        AnnualOutcome.root_id == a.root_id, AnnualOutcome.assessment_id == a.id)
        .order_by(AnnualOutcome.score.is_(None), AnnualOutcome.score.desc(), AnnualOutcome.person_id)).scalars())


def reallocate_pay(a: AnnualAssessment) -> dict:
    """Recompute the unit's pay from the outcomes (after an appeal)."""
    outs = outcomes(a)
    rows = [{"score": o.score, "grade": o.grade, "code": o.code} for o in outs]
    cents, explain = calc.allocate_pay(rows, policy(a))
    for o, c in zip(outs, cents):
        if o.pay_cents != c:
            record("annual.pay.change", root_id=o.root_id, org_id=o.org_id, target_type="person",
                   target_id=o.person_id, before={"pay_cents": o.pay_cents}, after={"pay_cents": c})
            o.pay_cents = c
    db.session.flush()
    return explain


# -- records, summaries, reviews --------------------------------------------------

RECORD_KINDS = ("leave", "investigation", "sanction", "refusal")


def add_record(unit: OrgNode, person: Person, *, kind: str, year: int, sanction_kind: str | None = None,
               start_date: dt.date | None = None, end_date: dt.date | None = None, days: int | None = None,
               note: str | None = None) -> AnnualRecord:
    errors: dict = {}
    if person.unit_id != unit.id:
        errors["person_id"] = ["This person is not on the unit's roster."]
    if kind not in RECORD_KINDS:
        errors["kind"] = ["Unknown record kind."]
    if kind == "sanction" and sanction_kind not in calc.SANCTIONS:
        errors["sanction_kind"] = ["Choose the measure (警告, 记过, 记大过, 降级, 撤职, 诫勉, 调整职务)."]
    if kind == "leave" and (days is None or not 0 < int(days) <= 366):
        errors["days"] = ["Leave days must be between 1 and 366."]
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = ["The end cannot be before the start."]
    if errors:
        raise Invalid(errors)
    rec = AnnualRecord(root_id=unit.root_id, org_id=unit.id, person_id=person.id, kind=kind, year=year,
                       sanction_kind=sanction_kind if kind == "sanction" else None, start_date=start_date,
                       end_date=end_date, days=days if kind == "leave" else None, note=note, created_by=_actor())
    db.session.add(rec)
    db.session.flush()
    record(f"annual.record.{kind}", root_id=unit.root_id, org_id=unit.id, target_type="person", target_id=person.id,
           after={"record": rec.id, "year": year, "sanction": rec.sanction_kind, "days": rec.days,
                  "start": start_date, "end": end_date})
    return rec


def close_investigation(rec: AnnualRecord, closed_on: dt.date) -> None:
    if rec.kind != "investigation" or rec.end_date is not None:
        raise Invalid({"record": ["Only an open investigation can be closed."]})
    if rec.start_date and closed_on < rec.start_date:
        raise Invalid({"end_date": ["The closing date cannot be before the opening."]})
    rec.end_date = closed_on
    record("annual.record.investigation_closed", root_id=rec.root_id, org_id=rec.org_id, target_type="person",
           target_id=rec.person_id, after={"record": rec.id, "closed_on": closed_on})
    db.session.flush()


def save_summary(a: AnnualAssessment, person: Person, text: str, submit: bool) -> AnnualSummary:
    text = (text or "").strip()
    if len(text) < 20:
        raise Invalid({"text": ["The self-summary needs at least 20 characters."]})
    if len(text) > 20000:
        raise Invalid({"text": ["The self-summary is limited to 20,000 characters."]})
    if a.status not in ("open", "computed"):
        raise Invalid({"status": ["The assessment is confirmed; the self-summary can no longer change."]})
    s = db.session.execute(select(AnnualSummary).where(AnnualSummary.root_id == a.root_id,
                                                       AnnualSummary.assessment_id == a.id,
                                                       AnnualSummary.person_id == person.id)).scalar_one_or_none()
    if s is None:
        s = AnnualSummary(root_id=a.root_id, org_id=a.org_id, assessment_id=a.id, person_id=person.id, text=text)
        db.session.add(s)
    else:
        if s.submitted_at is not None:
            raise Invalid({"text": ["Already submitted."]})
        s.text = text
    if submit:
        s.submitted_at = utcnow()
    db.session.flush()
    return s


def save_review(a: AnnualAssessment, person: Person, *, leader_score=None, recommended_grade=None, comment=None,
                votes: dict | None = None) -> AnnualReview:
    if a.status not in ("open", "computed"):
        raise Invalid({"status": ["The assessment is confirmed; reviews can no longer change."]})
    errors = {}
    if leader_score is not None and not 0 <= float(leader_score) <= 100:
        errors["leader_score"] = ["The score is between 0 and 100."]
    if recommended_grade not in (None, "", *calc.GRADES):
        errors["recommended_grade"] = ["Unknown grade."]
    for k, v in (votes or {}).items():
        if k not in calc.VOTE_POINTS or int(v) < 0:
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
    if recommended_grade:
        rv.recommended_grade = recommended_grade
    if comment is not None:
        rv.comment = comment
    for k, v in (votes or {}).items():
        setattr(rv, f"votes_{k}", int(v))
    rv.reviewer = _actor()
    db.session.flush()
    record("annual.review", root_id=a.root_id, org_id=a.org_id, target_type="person", target_id=person.id,
           before=before, after={"leader_score": rv.leader_score, "recommended_grade": rv.recommended_grade,
                                 "votes": rv.votes()})
    return rv


# -- special assessments ------------------------------------------------------------

def create_campaign(org: OrgNode, *, name: str, year: int, kind: str, result_type: str, starts_on: dt.date,
                    ends_on: dt.date, description: str | None = None) -> SpecialCampaign:
    errors = {}
    if not (name or "").strip():
        errors["name"] = ["A name is required."]
    if result_type not in ("grade", "comment", "points"):
        errors["result_type"] = ["Choose grade, comment/report or add/subtract points."]
    if ends_on < starts_on:
        errors["ends_on"] = ["The window ends before it starts."]
    if errors:
        raise Invalid(errors)
    c = SpecialCampaign(root_id=org.root_id, org_id=org.id, name=name.strip(), year=year, kind=kind or "other",
                        result_type=result_type, starts_on=starts_on, ends_on=ends_on, description=description,
                        created_by=_actor())
    db.session.add(c)
    db.session.flush()
    record("annual.special.create", root_id=org.root_id, org_id=org.id, target_type="special_campaign",
           target_id=c.id, after={"name": c.name, "year": year, "result_type": result_type})
    return c


def set_special_result(c: SpecialCampaign, person: Person, *, grade=None, points=None, score=None,
                       comment=None) -> SpecialResult:
    camp_node = db.session.get(OrgNode, c.org_id)
    unit = db.session.get(OrgNode, person.unit_id)
    errors = {}
    if unit is None or not unit.path.startswith(camp_node.path):
        errors["person_id"] = ["The person is outside the campaign's organisation."]
    if c.status != "open":
        errors["campaign"] = ["The campaign is closed."]
    if c.result_type == "grade" and grade not in calc.ROUTINE_GRADES:
        errors["grade"] = ["Choose 好/较好/一般/较差."]
    if c.result_type == "points":
        if points is None or not -100 <= float(points) <= 100:
            errors["points"] = ["Points are between -100 and 100."]
    if c.result_type == "comment" and not (comment or "").strip():
        errors["comment"] = ["A comment or report is required."]
    if score is not None and not 0 <= float(score) <= 100:
        errors["score"] = ["The score is between 0 and 100."]
    if errors:
        raise Invalid(errors)
    r = db.session.execute(select(SpecialResult).where(SpecialResult.root_id == c.root_id,
                                                       SpecialResult.campaign_id == c.id,
                                                       SpecialResult.person_id == person.id)).scalar_one_or_none()
    before = None
    if r is None:
        r = SpecialResult(root_id=c.root_id, org_id=c.org_id, campaign_id=c.id, person_id=person.id, year=c.year)
        db.session.add(r)
    else:
        before = {"grade": r.grade, "points": r.points, "score": r.score}
    r.grade = grade if c.result_type == "grade" else None
    r.points = float(points) if points not in (None, "") else None
    r.score = float(score) if score not in (None, "") else None
    r.comment = comment
    r.updated_by = _actor()
    db.session.flush()
    record("annual.special.result", root_id=c.root_id, org_id=c.org_id, target_type="person", target_id=person.id,
           before=before, after={"campaign": c.id, "grade": r.grade, "points": r.points, "score": r.score})
    return r


def close_campaign(c: SpecialCampaign) -> None:
    c.status = "closed"
    record("annual.special.close", root_id=c.root_id, org_id=c.org_id, target_type="special_campaign",
           target_id=c.id)
    db.session.flush()


# -- appeals --------------------------------------------------------------------------

def _deadline_msg(kind: str, deadline: dt.date, base: dt.date, days: int) -> str:
    return (f"The {kind} deadline was {deadline.isoformat()} ({days} days after {base.isoformat()}, moved to the "
            f"next working day if it fell on a rest day); it cannot be filed any more.")


def file_review(o: AnnualOutcome, grounds: str, filed_on: dt.date | None = None) -> AnnualAppeal:
    """复核: to the deciding unit, within the review period after the notice."""
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    filed_on = filed_on or today()
    _appealable(o, pol, grounds)
    if _open_case(o):
        raise Invalid({"appeal": ["A case on this result is already pending."]})
    if _has_stage(o, "review") or _has_stage(o, "appeal"):
        raise Invalid({"appeal": ["A review was already filed for this result."]})
    cal = WorkCalendar.from_policy(pol)
    days = int(pol["appeal.review_apply_days"])
    deadline = cal.period_end(o.notice_on, days)
    if not on_time(filed_on, deadline):
        raise Invalid({"filed_on": [_deadline_msg("review (复核)", deadline, o.notice_on, days)]})
    ap = AnnualAppeal(root_id=o.root_id, org_id=o.org_id, outcome_id=o.id, person_id=o.person_id,
                      decider_org_id=o.org_id, stage="review", grade_appealed=o.grade, grounds=grounds.strip(),
                      filed_on=filed_on, file_by=deadline,
                      decide_by=cal.period_end(filed_on, int(pol["appeal.review_decide_days"])))
    db.session.add(ap)
    db.session.flush()
    record("annual.appeal.review_filed", root_id=o.root_id, org_id=o.org_id, target_type="annual_appeal",
           target_id=ap.id, after={"person": o.person_id, "grade": o.grade, "filed_on": filed_on,
                                   "decide_by": ap.decide_by})
    return ap


def file_appeal(o: AnnualOutcome, grounds: str, filed_on: dt.date | None = None) -> AnnualAppeal:
    """申诉 to the level above: within the period after the review decision, or
    directly within the period after the notice when no review was asked."""
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    filed_on = filed_on or today()
    _appealable(o, pol, grounds)
    if _open_case(o):
        raise Invalid({"appeal": ["A case on this result is already pending."]})
    if _has_stage(o, "appeal"):
        raise Invalid({"appeal": ["An appeal was already filed for this result."]})
    cal = WorkCalendar.from_policy(pol)
    review = db.session.execute(select(AnnualAppeal).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id, AnnualAppeal.stage == "review")
        .order_by(AnnualAppeal.id.desc())).scalars().first()
    if review is not None:
        days = int(pol["appeal.after_review_days"])
        deadline = cal.period_end(review.decided_on, days)
        route, base, label = "after_review", review.decided_on, "appeal (申诉) after the review decision"
    else:
        days = int(pol["appeal.direct_days"])
        deadline = cal.period_end(o.notice_on, days)
        route, base, label = "direct", o.notice_on, "direct appeal (申诉)"
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
    return ap


def _appealable(o: AnnualOutcome, pol: dict, grounds: str) -> None:
    errors = {}
    if o.notice_on is None:
        errors["notice"] = ["The written notice has not been issued yet."]
    if o.grade not in (pol.get("appeal.appealable_grades") or ["buchenzhi"]):
        labels = "/".join(calc.GRADE_LABELS[g][0] for g in pol.get("appeal.appealable_grades") or ["buchenzhi"])
        errors["grade"] = [f"Only these grades may be appealed here: {labels}."]
    if len((grounds or "").strip()) < 10:
        errors["grounds"] = ["State the grounds (at least 10 characters)."]
    if errors:
        raise Invalid(errors)


def _open_case(o: AnnualOutcome) -> bool:
    return db.session.execute(select(AnnualAppeal.id).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id,
        AnnualAppeal.status == "pending")).first() is not None


def _has_stage(o: AnnualOutcome, stage: str) -> bool:
    return db.session.execute(select(AnnualAppeal.id).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id,
        AnnualAppeal.stage == stage)).first() is not None


def extend_appeal(ap: AnnualAppeal, reason: str) -> None:
    if ap.stage != "appeal" or ap.status != "pending" or ap.extended:
        raise Invalid({"extended": ["Only a pending appeal can be extended, once."]})
    if len((reason or "").strip()) < 4:
        raise Invalid({"reason": ["A reason is required."]})
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
    if decision == "reversed" and (new_grade not in calc.GRADES or new_grade == ap.grade_appealed):
        errors["new_grade"] = ["A reversal names the new grade."]
    if errors:
        raise Invalid(errors)
    decided_on = decided_on or today()
    ap.status, ap.decision_note, ap.decided_on, ap.decided_by = decision, note.strip(), decided_on, _actor()
    ap.new_grade = new_grade if decision == "reversed" else None
    record(f"annual.appeal.{decision}", root_id=ap.root_id, org_id=ap.org_id, target_type="annual_appeal",
           target_id=ap.id, after={"stage": ap.stage, "new_grade": ap.new_grade, "decided_on": decided_on},
           reason=note)
    if decision == "reversed":
        o = db.session.get(AnnualOutcome, ap.outcome_id)
        before = {"grade": o.grade, "code": o.code, "pay_cents": o.pay_cents}
        o.grade, o.code, o.changed_by_appeal = new_grade, calc.GRADE_CODE[new_grade], True
        o.notice_on, o.acknowledged_at = decided_on, None
        record("annual.grade.appeal_change", root_id=o.root_id, org_id=o.org_id, target_type="person",
               target_id=o.person_id, before=before, after={"grade": o.grade, "code": o.code}, reason=note)
        db.session.flush()
        reallocate_pay(db.session.get(AnnualAssessment, o.assessment_id))
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
    from sqlalchemy import or_

    return or_(AnnualAppeal.org_id.in_(sub), AnnualAppeal.decider_org_id.in_(sub))


def appeals_for(org: OrgNode, status: str | None = None) -> list[AnnualAppeal]:
    sub = select(OrgNode.id).where(OrgNode.root_id == org.root_id, OrgNode.path.like(org.path + "%"))
    stmt = select(AnnualAppeal).where(AnnualAppeal.root_id == org.root_id, or_org(sub))
    if status:
        stmt = stmt.where(AnnualAppeal.status == status)
    return list(db.session.execute(stmt.order_by(AnnualAppeal.status != "pending", AnnualAppeal.decide_by)).scalars())


# -- talks ------------------------------------------------------------------------------

def record_talk(t: AnnualTalk, held_on: dt.date, text: str) -> None:
    if t.held_on is not None:
        raise Invalid({"talk": ["The talk is already recorded."]})
    if len((text or "").strip()) < 10:
        raise Invalid({"record": ["Write what was discussed (at least 10 characters)."]})
    if held_on > today():
        raise Invalid({"held_on": ["The date cannot be in the future."]})
    t.held_on, t.record, t.recorded_by = held_on, text.strip(), _actor()
    task = db.metadata.tables.get("routine_task")
    if task is not None:   # close the mirrored to-do (see engine._raise_tasks)
        db.session.execute(update(task).where(
            task.c.root_id == t.root_id, task.c.source_type == "annual_talk", task.c.source_id == t.id,
            task.c.status == "open").values(status="done", closed_type="annual_talk", closed_id=t.id,
                                           closed_at=utcnow()))
    record("annual.talk.record", root_id=t.root_id, org_id=t.org_id, target_type="person", target_id=t.person_id,
           after={"talk": t.id, "kind": t.kind, "held_on": held_on})
    db.session.flush()


# -- one person's view --------------------------------------------------------------------

def history(person_id: int, root_id: int) -> list[tuple[int, str | None]]:
    rows = db.session.execute(select(AnnualOutcome.year, AnnualOutcome.grade).where(
        AnnualOutcome.root_id == root_id, AnnualOutcome.person_id == person_id)
        .order_by(AnnualOutcome.year)).all()
    return [(y, g) for y, g in rows]


def person_counters(person_id: int, root_id: int) -> dict:
    return calc.counters(history(person_id, root_id))


def appeal_deadlines_for(o: AnnualOutcome) -> dict:
    a = db.session.get(AnnualAssessment, o.assessment_id)
    pol = policy(a)
    review = db.session.execute(select(AnnualAppeal).where(
        AnnualAppeal.root_id == o.root_id, AnnualAppeal.outcome_id == o.id, AnnualAppeal.stage == "review")
        .order_by(AnnualAppeal.id.desc())).scalars().first()
    return appeal_deadlines(WorkCalendar.from_policy(pol), pol, notice_on=o.notice_on,
                            review_filed_on=review.filed_on if review else None,
                            review_decided_on=review.decided_on if review else None)
