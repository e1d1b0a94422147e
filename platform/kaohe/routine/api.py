"""REST API of routine assessment under /api/v1/routine.  Each endpoint:
load in scope (404 outside) → check the permission or the rater relation
(403 inside the scope, naming the rule) → service → one commit."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from ..api.common import require
from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import Forbidden, Invalid
from ..extensions import db
from ..jobs import queue
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope
from . import attendance, calc, common, completeness, compute, events, indicators, periods, ratings, results, schemes, tasks, work_records
from .models import Assignment, Correction, Event, Indicator, PeerGroup, PeerMember, Period, Rating, Result, Scheme, Task, WorkRecord
from .schemas import (AdjustSchema, AmendSchema, AssignmentSchema, AttendanceSchema, CommentSchema,
                      CorrectionInSchema, CorrectionSchema, DecisionSchema, EventInSchema, EventSchema,
                      FeedbackSchema, IndicatorSchema, MetricImportSchema, PeerGroupSchema, PeriodCreateSchema,
                      PeriodSchema, RatingInSchema, RatingSchema, ResultSchema, SchemeSchema, SignSchema, TaskCloseSchema,
                      TaskSchema, TieSchema, TodoSchema, TransitionSchema, VoidSchema, WorkRecordInSchema,
                      WorkRecordSchema)

blp = Blueprint("routine_api", __name__, url_prefix="/api/v1/routine",
                description="Routine assessment (平时考核): indicators, schemes, periods, ratings, results")


# -- access helpers -------------------------------------------------------------

def admin_unit(unit_id: int) -> OrgNode:
    unit = get_in_scope(OrgNode, unit_id)
    require(Perm.unit_admin, unit)
    if not unit.is_assessment_unit:
        raise Invalid({"unit_id": ["Not an assessment unit (本机关)."]})
    return unit


def load_period(period_id: int, *, admin: bool = False) -> Period:
    period = get_in_scope(Period, period_id)
    if admin:
        require(Perm.unit_admin, db.session.get(OrgNode, period.org_id))
    return period


def me() -> Person:
    pid = getattr(current_user, "person_id", None)
    person = db.session.execute(select(Person).where(Person.id == pid)).scalar_one_or_none() if pid else None
    if person is None:
        raise Forbidden({"account": ["This account is not linked to a person on a roster."]})
    return person


def is_admin_of(period: Period) -> bool:
    return has_perm(Perm.unit_admin, db.session.get(OrgNode, period.org_id))


def period_out(p: Period) -> dict:
    """The office sees the computation summary (ties name people); others do not."""
    admin = is_admin_of(p)
    return {"id": p.id, "org_id": p.org_id, "label": p.label, "year": p.year, "cycle": p.cycle, "seq": p.seq,
            "starts_on": p.starts_on, "ends_on": p.ends_on, "state": p.state,
            "allowed": list(periods.TRANSITIONS[p.state]), "publicity_from": p.publicity_from,
            "publicity_until": p.publicity_until, "computed_at": p.computed_at,
            "compute_summary": p.compute_summary if admin else None, "policy": p.policy, "version": p.version}


def indicator_out(spec: dict, row: Indicator | None = None) -> dict:
    return {**spec, "id": row.id if row else None}


# -- indicator library ------------------------------------------------------------

@blp.route("/units/<int:unit_id>/indicators")
class Indicators(MethodView):
    @blp.response(200, IndicatorSchema(many=True))
    def get(self, unit_id):
        """The unit's library: inherited common indicators and its own."""
        unit = admin_unit(unit_id)
        rows = {i.code: i for i in db.session.execute(select(Indicator).where(Indicator.org_id == unit.id)).scalars()}
        return [indicator_out(spec, rows.get(code)) for code, spec in indicators.library(unit).items()]

    @blp.arguments(IndicatorSchema)
    @blp.response(201, IndicatorSchema)
    def post(self, data, unit_id):
        """Add a unit indicator (graded, scored, deduction, bonus, veto or data-fed)."""
        unit = admin_unit(unit_id)
        ind = indicators.save_indicator(unit, data)
        db.session.commit()
        return indicator_out(ind.as_spec(), ind)


@blp.route("/indicators/<int:indicator_id>", methods=["PUT"])
@blp.arguments(IndicatorSchema)
@blp.response(200, IndicatorSchema)
def indicator_put(data, indicator_id):
    ind = get_in_scope(Indicator, indicator_id)
    unit = admin_unit(ind.org_id)
    indicators.save_indicator(unit, data, ind, data.pop("version", None))
    db.session.commit()
    return indicator_out(ind.as_spec(), ind)


# -- schemes, assignments, peer groups ------------------------------------------------

@blp.route("/units/<int:unit_id>/schemes")
class Schemes(MethodView):
    @blp.response(200, SchemeSchema(many=True))
    def get(self, unit_id):
        unit = admin_unit(unit_id)
        return db.session.execute(select(Scheme).where(Scheme.org_id == unit.id).order_by(Scheme.code)).scalars().all()

    @blp.arguments(SchemeSchema)
    @blp.response(201, SchemeSchema)
    def post(self, data, unit_id):
        """Create a scheme; sections must add up (points to the total, weights to 100%)."""
        unit = admin_unit(unit_id)
        data.pop("version", None)
        scheme = schemes.save_scheme(unit, data)
        db.session.commit()
        return scheme


@blp.route("/schemes/<int:scheme_id>", methods=["PUT"])
@blp.arguments(SchemeSchema)
@blp.response(200, SchemeSchema)
def scheme_put(data, scheme_id):
    scheme = get_in_scope(Scheme, scheme_id)
    unit = admin_unit(scheme.org_id)
    schemes.save_scheme(unit, data, scheme, data.pop("version", None))
    db.session.commit()
    return scheme


@blp.route("/units/<int:unit_id>/assignments")
class Assignments(MethodView):
    @blp.response(200, AssignmentSchema(many=True))
    def get(self, unit_id):
        unit = admin_unit(unit_id)
        return db.session.execute(select(Assignment).where(Assignment.org_id == unit.id)).scalars().all()

    @blp.arguments(AssignmentSchema)
    @blp.response(200, AssignmentSchema)
    def put(self, data, unit_id):
        """Assign a scheme and personal indicators (目标责任书) to a person."""
        unit = admin_unit(unit_id)
        person = get_in_scope(Person, data["person_id"])
        scheme = get_in_scope(Scheme, data["scheme_id"])
        a = schemes.assign(unit, person, scheme, data["personal"], data.get("letter_note"), data.get("version"))
        db.session.commit()
        return a


def _group_out(g: PeerGroup) -> dict:
    ids = db.session.execute(select(PeerMember.person_id).where(PeerMember.group_id == g.id)).scalars().all()
    return {"id": g.id, "name": g.name, "member_ids": sorted(ids)}


@blp.route("/units/<int:unit_id>/peer-groups")
class PeerGroups(MethodView):
    @blp.response(200, PeerGroupSchema(many=True))
    def get(self, unit_id):
        unit = admin_unit(unit_id)
        return [_group_out(g) for g in db.session.execute(select(PeerGroup).where(PeerGroup.org_id == unit.id)
                                                          .order_by(PeerGroup.name)).scalars()]

    @blp.arguments(PeerGroupSchema)
    @blp.response(201, PeerGroupSchema)
    def post(self, data, unit_id):
        """Create a peer group (互评组) across departments."""
        unit = admin_unit(unit_id)
        g = schemes.save_peer_group(unit, data["name"], data["member_ids"])
        db.session.commit()
        return _group_out(g)


@blp.route("/peer-groups/<int:group_id>", methods=["PUT"])
@blp.arguments(PeerGroupSchema)
@blp.response(200, PeerGroupSchema)
def peer_group_put(data, group_id):
    g = get_in_scope(PeerGroup, group_id)
    unit = admin_unit(g.org_id)
    schemes.save_peer_group(unit, data["name"], data["member_ids"], g)
    db.session.commit()
    return _group_out(g)


# -- periods -------------------------------------------------------------------------

@blp.route("/periods")
class Periods(MethodView):
    @blp.arguments(PeriodCreateSchema)
    @blp.response(201, PeriodSchema)
    def post(self, data):
        """Create a period in draft (cycle from policy routine.cycle unless given)."""
        unit = admin_unit(data["unit_id"])
        p = periods.create_period(unit, data["year"], data["seq"], data.get("cycle"))
        db.session.commit()
        return period_out(p)


class UnitQuery(Schema):
    unit_id = fields.Int(required=True)


@blp.route("/periods", methods=["GET"])
@blp.arguments(UnitQuery, location="query")
@blp.response(200, PeriodSchema(many=True))
def periods_list(args):
    unit = get_in_scope(OrgNode, args["unit_id"])
    rows = db.session.execute(select(Period).where(Period.org_id == unit.id)
                              .order_by(Period.year.desc(), Period.seq.desc())).scalars()
    return [period_out(p) for p in rows]


@blp.route("/periods/<int:period_id>")
@blp.response(200, PeriodSchema)
def period_get(period_id):
    return period_out(load_period(period_id))


@blp.route("/periods/<int:period_id>/transition", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, PeriodSchema)
def period_transition(data, period_id):
    """Move draft → open → rating → review → publicised (公示) → final; illegal moves are refused."""
    period = load_period(period_id, admin=True)
    periods.transition(period, data["to"], data.get("version"))
    db.session.commit()
    return period_out(period)


# -- ratings --------------------------------------------------------------------------

@blp.route("/periods/<int:period_id>/todo")
@blp.response(200, TodoSchema(many=True))
def period_todo(period_id):
    """Whom I must rate in this period (my to-do list)."""
    period = load_period(period_id)
    return completeness.todo_for(period, me().id)


@blp.route("/periods/<int:period_id>/ratings", methods=["POST"])
@blp.arguments(RatingInSchema)
@blp.response(200, RatingSchema)
@blp.alt_response(409, description="Stale version: the body carries the newer value under errors.current")
def rating_submit(data, period_id):
    """Submit (or, with its version, change) my rating of someone I may rate."""
    period = load_period(period_id)
    rater = me()
    if data["rater_kind"] == "supervisor":
        require(Perm.rate, db.session.get(OrgNode, period.org_id))
    r = ratings.submit_rating(period, rater, data["ratee_id"], data["rater_kind"], data["scores"],
                              comment=data.get("comment"), comment_visible=data.get("comment_visible", True),
                              proposed_grade=data.get("proposed_grade"), expected_version=data.get("version"))
    out = ratings.rating_public(r)
    db.session.commit()
    return out


@blp.route("/periods/<int:period_id>/ratings/mine")
@blp.response(200, RatingSchema(many=True))
def ratings_mine(period_id):
    """Ratings I gave (a rater always sees their own)."""
    period = load_period(period_id)
    rows = db.session.execute(select(Rating).where(Rating.period_id == period.id, Rating.rater_id == me().id)).scalars()
    return [ratings.rating_public(r) for r in rows]


class RatingsArgs(Schema):
    ratee_id = fields.Int(required=True)


class RatingsView(Schema):
    named = fields.List(fields.Nested(RatingSchema), metadata={"description": "supervisor and self ratings"})
    anonymous = fields.Dict(metadata={"description": "peer/democratic: counts and means once enough responded"})
    voters = fields.Dict(allow_none=True, metadata={"description": "office only: who voted (not what)"})
    reveal_votes_to_admin = fields.Bool()


@blp.route("/periods/<int:period_id>/ratings", methods=["GET"])
@blp.arguments(RatingsArgs, location="query")
@blp.response(200, RatingsView)
def ratings_about(args, period_id):
    """Ratings about one person.  Anonymous kinds only as aggregates; the
    office sees who voted, and the votes only where the unit's policy
    routine.reveal_votes_to_admin says so."""
    period = load_period(period_id)
    ratee_id = args["ratee_id"]
    admin = is_admin_of(period)
    own = getattr(current_user, "person_id", None) == ratee_id
    if not (admin or own):
        raise Forbidden({"rule": ["Only the office and the person rated see the ratings about a person."]})
    if own and not admin and period.state not in ("publicised", "final"):
        raise Forbidden({"rule": ["Ratings are shown to the person once the results are published (公示)."]})
    named = db.session.execute(select(Rating).where(Rating.period_id == period.id, Rating.ratee_id == ratee_id,
                                                    Rating.rater_kind.in_(("supervisor", "self")))).scalars().all()
    out_named = []
    for r in named:
        d = ratings.rating_public(r)
        if own and not admin and not r.comment_visible:
            d["comment"] = None
        out_named.append(d)
    reveal = bool(common.period_policy(period)["routine.reveal_votes_to_admin"])
    result = {"named": out_named, "anonymous": ratings.anonymous_summary(period, ratee_id),
              "voters": ratings.voters(period, ratee_id) if admin else None, "reveal_votes_to_admin": reveal}
    if admin and reveal:
        result["anonymous"]["votes"] = [
            {"rater_id": r.rater_id, "kind": r.rater_kind, "scores": r.scores} for r in db.session.execute(
                select(Rating).where(Rating.period_id == period.id, Rating.ratee_id == ratee_id,
                                     Rating.rater_kind.in_(calc.ANONYMOUS_KINDS))).scalars()]
    return result


@blp.route("/ratings/<int:rating_id>/adjust", methods=["PUT"])
@blp.arguments(AdjustSchema)
@blp.response(200, RatingSchema)
@blp.alt_response(409, description="Stale version")
def rating_adjust(data, rating_id):
    """The office corrects a supervisor or self rating, with a reason."""
    rating = get_in_scope(Rating, rating_id)
    period = load_period(rating.period_id, admin=True)
    ratings.admin_adjust_rating(period, rating, data["scores"], data["reason"], data["version"])
    db.session.commit()
    return ratings.rating_public(rating)


# -- events and metrics -------------------------------------------------------------------

@blp.route("/periods/<int:period_id>/events")
class Events(MethodView):
    @blp.response(200, EventSchema(many=True))
    def get(self, period_id):
        period = load_period(period_id, admin=True)
        return db.session.execute(select(Event).where(Event.period_id == period.id).order_by(Event.occurred_on,
                                                                                            Event.id)).scalars().all()

    @blp.arguments(EventInSchema)
    @blp.response(201, EventSchema)
    def post(self, data, period_id):
        """Record a deduction, bonus or veto with its date and evidence."""
        period = load_period(period_id, admin=True)
        ev = events.record_event(period, data["person_id"], data["indicator_code"], data["occurred_on"],
                                  data["evidence"], data.get("points"))
        db.session.commit()
        return ev


@blp.route("/events/<int:event_id>/void", methods=["POST"])
@blp.arguments(VoidSchema)
@blp.response(200, EventSchema)
def event_void(data, event_id):
    ev = get_in_scope(Event, event_id)
    period = load_period(ev.period_id, admin=True)
    events.void_event(period, ev, data["reason"])
    db.session.commit()
    return ev


class ImportOut(Schema):
    imported = fields.Int()


@blp.route("/periods/<int:period_id>/metrics", methods=["POST"])
@blp.arguments(MetricImportSchema)
@blp.response(200, ImportOut)
def metrics_import(data, period_id):
    """Values for data-fed indicators (e.g. case counts from another system); all rows or none."""
    period = load_period(period_id, admin=True)
    n = events.import_metrics(period, data["rows"], data["source"])
    db.session.commit()
    return {"imported": n}


@blp.route("/periods/<int:period_id>/metrics.xlsx", methods=["POST"])
@blp.response(200, ImportOut)
def metrics_import_xlsx(period_id):
    """The same from an .xlsx upload (field `file`; columns staff_no, indicator_code, value)."""
    period = load_period(period_id, admin=True)
    f = request.files.get("file")
    if f is None:
        raise Invalid({"file": ["Upload an .xlsx file in the field 'file'."]})
    n = events.import_metrics(period, events.read_metrics_xlsx(f.stream), f.filename or "xlsx")
    db.session.commit()
    return {"imported": n}


# -- compute, results, ties, amendments -------------------------------------------------------

class JobOut(Schema):
    job_id = fields.Str()


@blp.route("/periods/<int:period_id>/compute", methods=["POST"])
@blp.response(202, JobOut)
def period_compute(period_id):
    """Start the computation job (progress at /api/v1/jobs/<job_id>)."""
    period = load_period(period_id, admin=True)
    periods.require_state(period, periods.COMPUTE_STATES[:2], "period", "Computing")
    job_id = queue.submit("routine.compute", root_id=period.root_id, org_id=period.org_id, scope=current_scope(),
                          params={"period_id": period.id}, created_by=current_user.id)
    return {"job_id": job_id}


def _results(period: Period, person_id: int | None = None) -> list[dict]:
    stmt = select(Result, Person.name).join(Person, Person.id == Result.person_id).where(Result.period_id == period.id)
    if person_id is not None:
        stmt = stmt.where(Result.person_id == person_id)
    out = []
    for r, name in db.session.execute(stmt.order_by(Result.rank, Result.person_id)):
        out.append({"person_id": r.person_id, "name": name, "score": r.score, "grade": r.grade, "rank": r.rank,
                    "rank_of": r.rank_of, "flags": r.flags, "breakdown": results.public_breakdown(period, r.breakdown),
                    "feedback": r.feedback})
    return out


@blp.route("/periods/<int:period_id>/results")
@blp.response(200, ResultSchema(many=True))
def results_list(period_id):
    """All results (office)."""
    period = load_period(period_id, admin=True)
    return _results(period)


@blp.route("/periods/<int:period_id>/results/me")
@blp.response(200, ResultSchema)
def result_mine(period_id):
    """My result, once published (公示)."""
    period = load_period(period_id)
    person = me()
    if period.state not in ("publicised", "final"):
        raise Forbidden({"rule": ["Results are shown once the period is published (公示)."]})
    rows = _results(period, person.id)
    if not rows:
        raise Invalid({"period": ["You have no result in this period."]})
    return rows[0]


@blp.route("/periods/<int:period_id>/ties", methods=["POST"])
@blp.arguments(TieSchema)
@blp.response(200, PeriodSchema)
def tie_resolve(data, period_id):
    """Decide a tie at the 好 cap line (which of the tied get 好), with a reason."""
    period = load_period(period_id, admin=True)
    compute.resolve_tie(period, data["group"], data["chosen"], data["reason"])
    db.session.commit()
    return period_out(period)


@blp.route("/periods/<int:period_id>/results/<int:person_id>/feedback", methods=["PUT"])
@blp.arguments(FeedbackSchema)
@blp.response(200, ResultSchema)
def result_feedback(data, period_id, person_id):
    period = load_period(period_id, admin=True)
    r = db.session.execute(select(Result).where(Result.period_id == period.id,
                                                Result.person_id == person_id)).scalar_one_or_none()
    if r is None:
        raise Invalid({"person_id": ["No result for this person; compute first."]})
    results.set_feedback(period, r, data["feedback"], current_user.display_name)
    db.session.commit()
    return _results(period, person_id)[0]


class AmendOut(Schema):
    id = fields.Int()
    what = fields.Str()
    reason = fields.Str()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


@blp.route("/periods/<int:period_id>/amendments", methods=["POST"])
@blp.arguments(AmendSchema)
@blp.response(201, AmendOut)
def period_amend(data, period_id):
    """Correct a final period: one change with a reason; results are re-derived."""
    period = load_period(period_id, admin=True)
    what, reason = data.pop("what"), data.pop("reason")
    a = results.amend(period, what, data, reason)
    db.session.commit()
    return a


class BoardOut(Schema):
    rows = fields.List(fields.Dict())
    totals = fields.Dict()


@blp.route("/periods/<int:period_id>/completeness")
@blp.response(200, BoardOut)
def period_board(period_id):
    """Who has not written, rated, been rated."""
    return completeness.completeness(load_period(period_id, admin=True))


# -- self service: attendance, corrections, work records --------------------------------------

@blp.route("/me/attendance", methods=["POST"])
@blp.arguments(SignSchema)
@blp.response(200, AttendanceSchema)
def attendance_sign(data):
    """Sign in or out now."""
    att = attendance.sign(me(), data["what"])
    out = {k: getattr(att, k) for k in AttendanceSchema().fields}   # read before the commit expires it
    db.session.commit()
    return out


@blp.route("/me/corrections", methods=["POST"])
@blp.arguments(CorrectionInSchema)
@blp.response(201, CorrectionSchema)
def correction_request(data):
    """Ask the supervisor to approve an attendance correction."""
    c = attendance.request_correction(me(), data["day"], data["reason"], data.get("sign_in_at"), data.get("sign_out_at"))
    db.session.commit()
    return c


@blp.route("/corrections/pending")
@blp.response(200, CorrectionSchema(many=True))
def corrections_pending():
    """Correction requests waiting for me (as supervisor)."""
    mine = me()
    staff = select(Person.id).where(Person.supervisor_id == mine.id)
    return db.session.execute(select(Correction).where(Correction.status == "pending",
                                                       Correction.person_id.in_(staff))).scalars().all()


@blp.route("/corrections/<int:correction_id>/decision", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, CorrectionSchema)
def correction_decide(data, correction_id):
    c = get_in_scope(Correction, correction_id)
    attendance.decide_correction(c, me(), data["approve"], data.get("note"), data.get("version"))
    db.session.commit()
    return c


@blp.route("/periods/<int:period_id>/records/mine")
class MyRecords(MethodView):
    @blp.response(200, WorkRecordSchema(many=True))
    def get(self, period_id):
        period = load_period(period_id)
        return db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                           WorkRecord.person_id == me().id)
                                  .order_by(WorkRecord.on_date)).scalars().all()

    @blp.arguments(WorkRecordInSchema)
    @blp.response(200, WorkRecordSchema)
    def put(self, data, period_id):
        """Write (or update, with its version) my work record (工作写实)."""
        period = load_period(period_id)
        wr = work_records.save_work_record(period, me(), data["on_date"], data["done"], data.get("plan"), data["kind"],
                                      data.get("version"))
        db.session.commit()
        return wr


@blp.route("/records/<int:record_id>/comment", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(200, WorkRecordSchema)
def record_comment(data, record_id):
    """The supervising rater comments on a work record (审核评鉴)."""
    wr = get_in_scope(WorkRecord, record_id)
    period = load_period(wr.period_id)
    work_records.comment_work_record(period, wr, me(), data["comment"], data["visible"])
    db.session.commit()
    return wr


# -- tasks -------------------------------------------------------------------------------------

@blp.route("/tasks")
@blp.response(200, TaskSchema(many=True))
def tasks_mine():
    """Open tasks for me: as a person, as an account, or for a role I hold."""
    admin_orgs = [g.org_id for g in current_grants() if g.role.value == "unit_admin" and g.org_id]
    return tasks.my_tasks(getattr(current_user, "person_id", None), current_user.id, admin_orgs)


@blp.route("/tasks/<int:task_id>/close", methods=["POST"])
@blp.arguments(TaskCloseSchema)
@blp.response(200, TaskSchema)
def task_close(data, task_id):
    task = get_in_scope(Task, task_id)
    mine = task.assignee_user_id == current_user.id or (
        task.assignee_person_id is not None and task.assignee_person_id == getattr(current_user, "person_id", None)) \
        or (task.assignee_role == "unit_admin" and has_perm(Perm.unit_admin, db.session.get(OrgNode, task.org_id)))
    if not mine:
        raise Forbidden({"rule": ["Only the assignee closes a task."]})
    tasks.close_task(task, data.get("closed_type"), data.get("closed_id"), data.get("note"), data["status"])
    db.session.commit()
    return task
