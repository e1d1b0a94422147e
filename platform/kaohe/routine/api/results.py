"""Computation, results, ties at the 好 cap line, amendments and the
completeness board."""
from __future__ import annotations

from ...web.messages import N_
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import select

from ...core.errors import Forbidden, Invalid
from ...extensions import db
from ...jobs import queue
from ...people.models import Person
from ...tenancy.scope import current_scope
from .. import completeness, compute, periods, results
from ..models import Period, Result
from ..schemas import AmendSchema, FeedbackSchema, PeriodSchema, ResultSchema, TieSchema
from .common import blp, load_period, me, period_out


class JobOut(Schema):
    job_id = fields.Str()


@blp.route("/periods/<int:period_id>/compute", methods=["POST"])
@blp.response(202, JobOut)
def period_compute(period_id):
    """Start the computation job (progress at /api/v1/jobs/<job_id>)."""
    period = load_period(period_id, admin=True)
    periods.require_state(period, periods.COMPUTE_STATES[:2], "period", N_("Computing"))
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
                    "rank_of": r.rank_of, "pay_cents": r.pay_cents, "flags": r.flags,
                    "breakdown": results.public_breakdown(period, r.breakdown),
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
        raise Forbidden({"rule": ["Results are shown once the period's results are on public notice."]})
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
