"""Periods: create, list, read, and move through the life cycle."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from ...extensions import db
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import periods
from ..models import Period
from ..schemas import PeriodCreateSchema, PeriodSchema, TransitionSchema
from .common import admin_unit, blp, load_period, period_out


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
