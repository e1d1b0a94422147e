"""REST API of the annual assessment (/api/v1/annual).  Load in scope →
permission → service → one commit."""
from __future__ import annotations

import datetime as dt

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from ..core.clock import local_today
from ..api.common import require
from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.errors import Forbidden, Invalid
from ..extensions import db
from ..jobs import queue
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from . import alerts, appeals, leave, records, service, specials
from .models import AnnualAppeal, AnnualAssessment, AnnualLeave, AnnualOutcome, AnnualResult, SpecialCampaign
from .schemas import (AnnualAdjustSchema, AnnualAlertsSchema, AnnualAppealDecisionSchema, AnnualAppealSchema, AnnualAssessmentSchema, AnnualCampaignCreateSchema,
                      AnnualCampaignSchema, AnnualComputeSchema, AnnualFileCaseSchema, AnnualJobStartedSchema, AnnualOutcomeSchema,
                      AnnualPublishSchema, AnnualNotifySchema, AnnualFileSchema, AnnualCorrectSchema, AnnualLeaveCreateSchema,
                      AnnualLeaveSchema, AnnualLeaveSummarySchema, AnnualLeaveUpdateSchema, AnnualRecordCreateSchema, AnnualRecordSchema, AnnualResultSchema,
                      AnnualReviewSchema, AnnualSpecialResultInSchema, AnnualSummarySchema, AnnualVersionSchema, AnnualYearArgs)

blp = Blueprint("annual_api", __name__, url_prefix="/api/v1/annual", description="Annual assessment (年度考核)")


def _unit(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not node.is_assessment_unit:
        raise Invalid({"org_id": ["This node is not an assessment unit."]})
    return node


def _assessment(org_id, year) -> AnnualAssessment:
    unit = _unit(org_id)
    a = service.find(unit, year)
    if a is None:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return a


def _me() -> Person:
    if not current_user.person_id:
        raise Invalid({"person": ["Your account is not linked to a person on a roster."]})
    p = db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()
    if p is None:
        raise Invalid({"person": ["Your account is not linked to a person on a roster."]})
    return p


@blp.route("/units/<int:org_id>/<int:year>")
@blp.response(200, AnnualAssessmentSchema)
def assessment_get(org_id, year):
    """A unit's assessment for a year: status, quota, 公示 window."""
    unit = _unit(org_id)
    require(Perm.view, unit)
    a = service.find(unit, year)
    if a is None:
        return {"org_id": unit.id, "year": year, "status": "not_started"}
    return a


@blp.route("/units/<int:org_id>/<int:year>/compute", methods=["POST"])
@blp.arguments(AnnualComputeSchema)
@blp.response(202, AnnualJobStartedSchema)
def compute(args, org_id, year):
    """Compute the unit (or with subtree=true every unit under the node) as a
    job; the previous result stays visible until the new one is complete."""
    node = get_in_scope(OrgNode, org_id)
    require(Perm.unit_admin, node)
    if node.is_assessment_unit:
        a = service.get_or_open(node, year)
        if a.status in ("confirmed", "publicised", "notified", "filed"):
            raise Invalid({"status": ["The result is confirmed; reopen it before computing again."]})
    elif not args.get("subtree"):
        raise Invalid({"org_id": ["Not an assessment unit; pass subtree=true to compute every unit under it."]})
    job_id = queue.submit("annual.compute", root_id=node.root_id, org_id=node.id, scope=current_scope(),
                          params={"org_id": node.id, "year": year, "strict": node.is_assessment_unit},
                          created_by=current_user.id)
    return {"job_id": job_id, "status_url": f"/api/v1/jobs/{job_id}"}


@blp.route("/units/<int:org_id>/<int:year>/results")
@blp.response(200, AnnualResultSchema(many=True))
def results(org_id, year):
    """The current computation, with each person's explanation."""
    a = _assessment(org_id, year)
    unit = _unit(org_id)
    if not (service_has(Perm.unit_admin, unit) or service_has(Perm.supervise, unit)):
        require(Perm.unit_admin, unit)
    return service.current_results(a)


def service_has(perm, node) -> bool:
    from ..auth.service import has_perm

    return has_perm(perm, node)


@blp.route("/units/<int:org_id>/<int:year>/adjustments", methods=["POST"])
@blp.arguments(AnnualAdjustSchema)
@blp.response(200, AnnualVersionSchema)
def adjust(args, org_id, year):
    """The committee's decision on one person (a reason is required; audited)."""
    a = _assessment(org_id, year)
    require(Perm.unit_admin, _unit(org_id))
    person = get_in_scope(Person, args["person_id"])
    service.adjust(a, person.id, args["grade"], args["reason"])
    db.session.commit()
    return {"version": a.version, "status": a.status}


def _step(org_id, year, fn):
    a = _assessment(org_id, year)
    require(Perm.unit_admin, _unit(org_id))
    fn(a)
    db.session.commit()
    return a


@blp.route("/units/<int:org_id>/<int:year>/confirm", methods=["POST"])
@blp.arguments(AnnualVersionSchema)
@blp.response(200, AnnualAssessmentSchema)
def confirm(args, org_id, year):
    """Confirm the grades: ties decided, quota respected; outcomes and pay written."""
    return _step(org_id, year, lambda a: service.confirm(a, args.get("version")))


@blp.route("/units/<int:org_id>/<int:year>/publish", methods=["POST"])
@blp.arguments(AnnualPublishSchema)
@blp.response(200, AnnualAssessmentSchema)
def publish(args, org_id, year):
    """Start the 公示 of the 优秀 list (working days per policy)."""
    return _step(org_id, year, lambda a: service.publish(a, args.get("start")))


@blp.route("/units/<int:org_id>/<int:year>/notify", methods=["POST"])
@blp.arguments(AnnualNotifySchema)
@blp.response(200, AnnualAssessmentSchema)
def notify(args, org_id, year):
    """Issue the written notices (after the 公示 window)."""
    return _step(org_id, year, lambda a: service.notify(a, args.get("notice_on")))


@blp.route("/units/<int:org_id>/<int:year>/correct", methods=["POST"])
@blp.arguments(AnnualCorrectSchema)
@blp.response(200, AnnualAssessmentSchema)
def correct(args, org_id, year):
    """Correction (补定) after the written notice: reopen with a reason; then adjust or recompute, confirm,
    publish, notify (the review/appeal windows restart) and file again."""
    return _step(org_id, year, lambda a: service.correct(a, args["reason"], args.get("version")))


@blp.route("/units/<int:org_id>/<int:year>/file", methods=["POST"])
@blp.arguments(AnnualFileSchema)
@blp.response(200, AnnualAssessmentSchema)
def file_result(args, org_id, year):
    """File the result with the level above (备案), once every review/appeal window has closed or its case
    is decided, or with a recorded decision (``open_cases_reason``) to file with open cases."""
    return _step(org_id, year, lambda a: service.file_with_above(a, args.get("open_cases_reason")))


@blp.route("/units/<int:org_id>/<int:year>/outcomes")
@blp.response(200, AnnualOutcomeSchema(many=True))
def outcomes(org_id, year):
    """Confirmed grades, codes (A1517) and pay per person."""
    a = _assessment(org_id, year)
    unit = _unit(org_id)
    if not (service_has(Perm.unit_admin, unit) or service_has(Perm.supervise, unit)):
        require(Perm.unit_admin, unit)
    return service.outcomes(a)


@blp.route("/units/<int:org_id>/records", methods=["POST"])
@blp.arguments(AnnualRecordCreateSchema)
@blp.response(201, AnnualRecordSchema)
def record_create(args, org_id):
    """A record that drives eligibility: leave, investigation, sanction, refusal."""
    unit = _unit(org_id)
    require(Perm.unit_admin, unit)
    person = get_in_scope(Person, args.pop("person_id"))
    rec = records.add_record(unit, person, **args)
    db.session.commit()
    return rec


@blp.route("/units/<int:org_id>/<int:year>/leave")
@blp.response(200, AnnualLeaveSummarySchema)
def leave_list(org_id, year):
    """The unit's leave of a year: ranges, calendar and working days per person, and the verdict
    under eligibility.leave_measure."""
    unit = _unit(org_id)
    require(Perm.unit_admin, unit)
    out = leave.summary(unit, year)
    return {**out, "people": list(out["people"].values())}


@blp.route("/units/<int:org_id>/leave", methods=["POST"])
@blp.arguments(AnnualLeaveCreateSchema)
@blp.response(201, AnnualLeaveSchema)
def leave_create(args, org_id):
    """Record a leave as a date range (refused when it overlaps another, ends before it starts or
    leaves the year)."""
    unit = _unit(org_id)
    require(Perm.unit_admin, unit)
    person = get_in_scope(Person, args.pop("person_id"))
    rec = leave.add_leave(unit, person, **args)
    db.session.commit()
    return rec


def _leave(leave_id) -> tuple[AnnualLeave, OrgNode]:
    rec = get_in_scope(AnnualLeave, leave_id)
    unit = get_in_scope(OrgNode, rec.org_id)
    require(Perm.unit_admin, unit)
    return rec, unit


@blp.route("/leave/<int:leave_id>", methods=["PUT"])
@blp.arguments(AnnualLeaveUpdateSchema)
@blp.response(200, AnnualLeaveSchema)
def leave_update(args, leave_id):
    """Change a leave range (same rules as recording one)."""
    rec, _unit_node = _leave(leave_id)
    leave.update_leave(rec, start_date=args["start_date"], end_date=args["end_date"], kind=args["kind"],
                       note=args.get("note"), expected_version=args.get("version"))
    db.session.commit()
    return rec


@blp.route("/leave/<int:leave_id>", methods=["DELETE"])
@blp.response(204)
def leave_delete(leave_id):
    """Delete a leave range (audited)."""
    rec, _unit_node = _leave(leave_id)
    leave.delete_leave(rec, request.args.get("reason"))
    db.session.commit()
    return None


@blp.route("/units/<int:org_id>/<int:year>/reviews", methods=["PUT"])
@blp.arguments(AnnualReviewSchema)
@blp.response(200, AnnualVersionSchema)
def review_put(args, org_id, year):
    """The leader's score, comment and recommended grade; democratic votes (admin)."""
    unit = _unit(org_id)
    person = get_in_scope(Person, args.pop("person_id"))
    admin = service_has(Perm.unit_admin, unit)
    if not admin:
        require(Perm.rate, unit)
        me = _me()
        if person.supervisor_id != me.id:
            from ..core.errors import Forbidden

            raise Forbidden("You review only the people you supervise.")
    a = service.get_or_open(unit, year)
    votes = {g: args.pop(f"votes_{g}") for g in ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")
             if args.get(f"votes_{g}") is not None}
    rv = records.save_review(a, person, votes=votes if admin else None, **{k: v for k, v in args.items()
                                                                           if not k.startswith("votes_")})
    db.session.commit()
    return {"version": rv.version, "status": a.status}


# -- my result -----------------------------------------------------------------------------

@blp.route("/me")
@blp.response(200, AnnualOutcomeSchema(many=True))
def my_outcomes():
    """My annual results once the written notice is issued."""
    p = _me()
    return list(db.session.execute(select(AnnualOutcome).where(
        AnnualOutcome.person_id == p.id, AnnualOutcome.notice_on.is_not(None))
        .order_by(AnnualOutcome.year.desc())).scalars())


@blp.route("/me/<int:year>/summary", methods=["PUT"])
@blp.arguments(AnnualSummarySchema)
@blp.response(200, AnnualVersionSchema)
def my_summary(args, year):
    """Save or submit my self-summary (述职)."""
    p = _me()
    a = service.get_or_open(db.session.get(OrgNode, p.unit_id), year)
    s = records.save_summary(a, p, args["text"], args.get("submit", False))
    db.session.commit()
    return {"version": s.version, "status": "submitted" if s.submitted_at else "draft"}


def _my_outcome(outcome_id) -> AnnualOutcome:
    p = _me()
    o = get_in_scope(AnnualOutcome, outcome_id)
    if o.person_id != p.id:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return o


@blp.route("/outcomes/<int:outcome_id>/acknowledge", methods=["POST"])
@blp.response(200, AnnualOutcomeSchema)
def acknowledge(outcome_id):
    """Sign the written notice."""
    o = _my_outcome(outcome_id)
    service.acknowledge(o)
    db.session.commit()
    return o


@blp.route("/outcomes/<int:outcome_id>/cases", methods=["POST"])
@blp.arguments(AnnualFileCaseSchema)
@blp.response(201, AnnualAppealSchema)
def file_case(args, outcome_id):
    """File a review (复核) or an appeal (申诉); refused after the deadline,
    which the message names."""
    o = _my_outcome(outcome_id)
    if args["stage"] == "review":
        ap = appeals.file_review(o, args["grounds"])
    else:
        ap = appeals.file_appeal(o, args["grounds"])
    db.session.commit()
    return ap


# -- cases for deciders ----------------------------------------------------------------------

@blp.route("/cases")
@blp.response(200, AnnualAppealSchema(many=True))
def cases():
    """Reviews and appeals in your scope; ?overdue=1 for those past their decision date."""
    scope = current_scope()
    stmt = select(AnnualAppeal)
    if not scope.all_roots:
        stmt = stmt.where(AnnualAppeal.root_id == scope.root_id, org_filter(AnnualAppeal.org_id, scope))
    if request.args.get("overdue") in ("1", "true"):
        stmt = stmt.where(AnnualAppeal.status == "pending", AnnualAppeal.decide_by < local_today())
    if not (service_has(Perm.unit_admin, None) or service_has(Perm.supervise, None)):
        require(Perm.supervise)
    return list(db.session.execute(stmt.order_by(AnnualAppeal.decide_by).limit(2000)).scalars())


@blp.route("/cases/<int:case_id>/decision", methods=["POST"])
@blp.arguments(AnnualAppealDecisionSchema)
@blp.response(200, AnnualAppealSchema)
def decide(args, case_id):
    """Uphold or reverse (a reversal re-derives grade, code, pay and notice), or extend once."""
    ap = get_in_scope(AnnualAppeal, case_id)
    decider = get_in_scope(OrgNode, ap.decider_org_id, strict_subtree=False)
    require(Perm.unit_admin if ap.stage == "review" else Perm.supervise, decider)
    if args["decision"] == "extend":
        appeals.extend_appeal(ap, args["note"])
    else:
        appeals.decide_appeal(ap, decision=args["decision"], note=args["note"], new_grade=args.get("new_grade"))
    db.session.commit()
    return ap


# -- special assessments ----------------------------------------------------------------------

@blp.route("/specials", methods=["POST"])
@blp.arguments(AnnualCampaignCreateSchema)
@blp.response(201, AnnualCampaignSchema)
def campaign_create(args):
    """Create a special assessment (专项考核) run by a unit or a supervisor."""
    org = get_in_scope(OrgNode, args.pop("org_id"))
    if not (service_has(Perm.unit_admin, org) or service_has(Perm.supervise, org)):
        require(Perm.supervise, org)
    c = specials.create_campaign(org, year=args["starts_on"].year, **args)
    db.session.commit()
    return c


@blp.route("/specials/<int:campaign_id>/results", methods=["PUT"])
@blp.arguments(AnnualSpecialResultInSchema)
@blp.response(200, AnnualVersionSchema)
def campaign_result(args, campaign_id):
    """Set one participant's result (grade, points, score, comment)."""
    c = get_in_scope(SpecialCampaign, campaign_id)
    org = db.session.get(OrgNode, c.org_id)
    if not (service_has(Perm.unit_admin, org) or service_has(Perm.supervise, org)):
        require(Perm.supervise, org)
    person = get_in_scope(Person, args.pop("person_id"))
    r = specials.set_special_result(c, person, **args)
    db.session.commit()
    return {"version": r.version, "status": c.status}


@blp.route("/alerts/<int:org_id>")
@blp.arguments(AnnualYearArgs, location="query")
@blp.response(200, AnnualAlertsSchema)
def alerts_get(args, org_id):
    """The alert list of a unit or everything under a county: salary step, 级别, 三等功 and dismissal
    review due this year, who is at risk, and results awaiting 补定 (unit admins and supervisors)."""
    node = get_in_scope(OrgNode, org_id)
    if not (has_perm(Perm.unit_admin, node) or has_perm(Perm.supervise, node)):
        raise Forbidden()
    year = args.get("year") or local_today().year
    lists = alerts.alert_list(node, year)
    return {"year": year, "org_id": node.id,
            "alerts": {k: [{**r, "grades": {str(y): g for y, g in r["grades"].items()}} for r in rows]
                       for k, rows in lists.items()}}


from .history_api import blp_history  # noqa: E402,F401  (earlier years' grades; picked up as a blp)
