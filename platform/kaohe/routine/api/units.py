"""A unit's set-up: the indicator library, schemes, assignments and peer groups."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from ...extensions import db
from ...people.models import Person
from ...tenancy.scope import get_in_scope
from .. import indicators, schemes
from ..models import Assignment, Indicator, PeerGroup, PeerMember, Scheme
from ..schemas import AssignmentSchema, IndicatorSchema, PeerGroupSchema, SchemeSchema
from .common import admin_unit, blp, indicator_out


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
