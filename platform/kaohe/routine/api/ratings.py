"""Ratings: my to-do list, submitting, what is shown about a person, the
office's correction."""
from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import select

from ...web.messages import N_
from ...api.common import require
from ...auth.roles import Perm
from ...core.errors import Forbidden
from ...extensions import db
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import calc, common, completeness, ratings
from ..models import Rating
from ..schemas import AdjustSchema, RatingInSchema, RatingSchema, TodoSchema
from .common import blp, is_admin_of, load_period, me, my_person_id


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
    rater_id = my_person_id()
    if data["rater_kind"] == "supervisor":
        require(Perm.rate, db.session.get(OrgNode, period.org_id))
    r = ratings.submit_rating(period, rater_id, data["ratee_id"], data["rater_kind"], data["scores"],
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
        raise Forbidden({"rule": [N_("Ratings are shown to the person once the results are on public notice.")]})
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
