"""Events (deductions, bonuses, vetoes) and data-fed metrics."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from ...core.errors import Invalid
from ...extensions import db
from ...tenancy.scope import get_in_scope
from .. import events
from ..models import Event
from ..schemas import EventInSchema, EventSchema, MetricImportSchema, VoidSchema
from .common import blp, load_period


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
