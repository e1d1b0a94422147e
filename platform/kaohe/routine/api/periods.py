"""Periods: create, list, read, and move through the life cycle."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Forbidden
from ...extensions import db
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import inputs, periods
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


# -- complete inputs and exemptions (one check with the pages and the CLI) ------

class InputStatusSchema(Schema):
    person_id = fields.Int()
    name = fields.Str()
    missing_kinds = fields.List(fields.Str())
    unrated = fields.List(fields.Str())
    withheld = fields.List(fields.Str(), metadata={"description": "anonymous kinds with fewer raters than the minimum (routine.anonymous_below_minimum = incomplete)"})
    exempted = fields.Bool()
    reason = fields.Str(allow_none=True)
    by = fields.Str(allow_none=True)
    at = fields.DateTime(allow_none=True)


class ExemptionInSchema(Schema):
    person_id = fields.Int(required=True)
    reason = fields.Str(required=True)


class ExemptionSchema(Schema):
    id = fields.Int()
    period_id = fields.Int()
    person_id = fields.Int()
    reason = fields.Str()
    missing = fields.Dict(allow_none=True)
    by_name = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class ExemptionRevokeSchema(Schema):
    reason = fields.Str(required=True)


def _overseen(period_id: int) -> Period:
    """The unit's office, or a supervisor of a level above it."""
    period = load_period(period_id)
    unit = db.session.get(OrgNode, period.org_id)
    if not (has_perm(Perm.unit_admin, unit) or has_perm(Perm.supervise, unit)):
        raise Forbidden({"rule": ["The unit's assessment office and the levels above it see this."]})
    return period


@blp.route("/periods/<int:period_id>/inputs")
@blp.response(200, InputStatusSchema(many=True))
def period_inputs(period_id):
    """Everyone whose inputs are incomplete (未完成), what is missing and any exemption; the office and the
    levels above it."""
    return inputs.input_status(_overseen(period_id))


@blp.route("/periods/<int:period_id>/exemptions")
class Exemptions(MethodView):
    @blp.response(200, ExemptionSchema(many=True))
    def get(self, period_id):
        """Exemptions from complete inputs recorded for the period, with their reasons (the office and the
        levels above it)."""
        return sorted(inputs.exemptions(_overseen(period_id)).values(), key=lambda e: e.id)

    @blp.arguments(ExemptionInSchema)
    @blp.response(201, ExemptionSchema)
    def post(self, data, period_id):
        """Record that a person's incomplete inputs do not hold the period up (reason required, audited)."""
        period = load_period(period_id, admin=True)
        e = inputs.exempt(period, data["person_id"], data["reason"])
        db.session.commit()
        return e


@blp.route("/periods/<int:period_id>/exemptions/<int:person_id>/revoke", methods=["POST"])
@blp.arguments(ExemptionRevokeSchema)
@blp.response(204)
def exemption_revoke(data, period_id, person_id):
    """Withdraw an exemption (reason required, audited)."""
    inputs.revoke(load_period(period_id, admin=True), person_id, data["reason"])
    db.session.commit()
