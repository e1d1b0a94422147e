"""Supervision API: the dashboard figures, flags, chart data, reminders and
every registered export."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..core.clock import local_today
from ..api.common import require
from ..auth.roles import Perm
from ..core.errors import Forbidden, Invalid
from ..extensions import db
from ..jobs import queue
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope
from . import builtin_exports  # noqa: F401
from . import calc, charts, dashboard as dash, service
from .board import clear_cache
from .exports import EXPORTS, get_spec, may_export
from .models import TOPICS, Reminder

blp = Blueprint("supervision_api", __name__, url_prefix="/api/v1/supervision",
                description="Supervision dashboards, flags, reminders and exports")


class DashboardArgs(Schema):
    org_id = fields.Int(required=True, metadata={"description": "the supervised node"})
    year = fields.Int(validate=validate.Range(min=2000, max=2100))
    period = fields.Str(metadata={"description": "routine period key `cycle-seq`, e.g. `quarter-3`; default: "
                                                 "the latest started"})


class OverdueSchema(Schema):
    code = fields.Str()
    params = fields.Dict()
    message = fields.Method("get_message")

    def get_message(self, obj):
        return calc.overdue_message(obj, gettext)


class CompletionSchema(Schema):
    work_records = fields.Float(allow_none=True, metadata={"description": "share of participants with a work record"})
    ratings = fields.Float(allow_none=True, metadata={"description": "share of participants rated by their supervisor"})
    computed = fields.Float(allow_none=True)
    publicised = fields.Float(allow_none=True)
    final = fields.Float(allow_none=True)


class FigureSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    name_en = fields.Str(allow_none=True)
    kind = fields.Str()
    is_unit = fields.Bool()
    units = fields.Int(metadata={"description": "assessment units in this subtree"})
    people = fields.Int()
    with_period = fields.Int(metadata={"description": "units that opened the selected period"})
    not_opened = fields.Int()
    participants = fields.Int()
    work_records = fields.Int()
    rated = fields.Int()
    computed = fields.Int()
    publicised = fields.Int()
    publicity_ended = fields.Int()
    final = fields.Int()
    period_state = fields.Str(allow_none=True)
    completion = fields.Nested(CompletionSchema)
    overdue = fields.List(fields.Nested(OverdueSchema))
    overdue_count = fields.Int()
    lagging = fields.Bool()
    routine_grades = fields.Dict(keys=fields.Str(), values=fields.Int())
    hao_share = fields.Float(allow_none=True)
    annual_grades = fields.Dict(keys=fields.Str(), values=fields.Int())
    youxiu = fields.Int()
    youxiu_quota = fields.Int(allow_none=True)
    with_annual = fields.Int()
    annual_filed = fields.Int()
    appeals_open = fields.Int()
    appeals_overdue = fields.Int()
    next_deadline = fields.Date(allow_none=True)
    talks_due = fields.Int()
    talks_overdue = fields.Int()
    reminders_sent = fields.Int()
    reminders_unread = fields.Int()
    flags = fields.Int()


class FlagSchema(Schema):
    unit_id = fields.Int()
    unit_code = fields.Str()
    unit_name = fields.Str()
    child_id = fields.Int(allow_none=True)
    code = fields.Str(metadata={"description": "same_people_at_cap, identical_scores, all_high, "
                                              "computed_not_publicised, annual_not_publicised, ratings_burst"})
    params = fields.Dict()
    message = fields.Method("get_message")

    def get_message(self, obj):
        return calc.flag_message(obj, gettext)


class DashboardSchema(Schema):
    org_id = fields.Int(attribute="node_id")
    year = fields.Int()
    period = fields.Str(attribute="period_key", allow_none=True)
    periods = fields.List(fields.Str(), attribute="period_keys")
    units_total = fields.Int()
    children = fields.List(fields.Nested(FigureSchema))
    totals = fields.Nested(FigureSchema)
    flags = fields.List(fields.Nested(FlagSchema))
    charts = fields.Dict(metadata={"description": "chart data: categories and series per chart"})
    as_of = fields.Method("get_as_of")

    def get_as_of(self, obj):
        return dt.datetime.fromtimestamp(obj.computed_at, dt.timezone.utc).isoformat()


def _node(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    require(Perm.supervise, node)
    if node.kind == "department":
        raise Invalid({"org_id": ["Dashboards are for units and areas, not departments."]})
    return node


@blp.route("/dashboard")
@blp.arguments(DashboardArgs, location="query")
@blp.response(200, DashboardSchema)
def dashboard_get(args):
    """Per child unit of a node: completion, overdue items, grades against the
    quota, appeals, talks, reminders; the flags; chart data."""
    node = _node(args["org_id"])
    return dash.build(node, year=args.get("year"), period_key=args.get("period"))


class ReminderSchema(Schema):
    id = fields.Int(dump_only=True)
    org_id = fields.Int(required=True, metadata={"description": "the unit (or area) reminded"})
    from_org_id = fields.Int(metadata={"description": "the supervising node; default: your closest grant above"})
    topic = fields.Str(load_default="general", validate=validate.OneOf(TOPICS))
    message = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    sender_name = fields.Str(dump_only=True)
    snapshot = fields.Dict(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    acknowledged_at = fields.DateTime(dump_only=True, allow_none=True)


class ReminderListArgs(Schema):
    org_id = fields.Int(required=True)


def _supervising_node(target: OrgNode, from_org_id: int | None) -> OrgNode:
    if from_org_id is not None:
        node = get_in_scope(OrgNode, from_org_id)
        require(Perm.supervise, node)
        return node
    from ..auth.service import current_grants, has_perm

    candidates = [g for g in current_grants() if g.path and target.path.startswith(g.path) and g.org_id != target.id]
    for g in sorted(candidates, key=lambda g: len(g.path), reverse=True):
        node = db.session.get(OrgNode, g.org_id)
        if node is not None and has_perm(Perm.supervise, node):
            return node
    raise Forbidden()


@blp.route("/reminders", methods=["POST"])
@blp.arguments(ReminderSchema)
@blp.response(201, ReminderSchema)
def reminder_create(data):
    """Send a reminder to a unit below a node you supervise (audited; shown on
    the home page of the unit's admins)."""
    target = get_in_scope(OrgNode, data["org_id"])
    node = _supervising_node(target, data.get("from_org_id"))
    rem = service.send_reminder(from_node=node, target=target, topic=data["topic"], message=data["message"])
    db.session.commit()
    clear_cache()
    return rem


@blp.route("/reminders")
@blp.arguments(ReminderListArgs, location="query")
@blp.response(200, ReminderSchema(many=True))
def reminder_list(args):
    """Reminders sent to a node's subtree, newest first."""
    node = get_in_scope(OrgNode, args["org_id"])
    from ..auth.service import has_perm

    if not (has_perm(Perm.supervise, node) or has_perm(Perm.unit_admin, node)):
        raise Forbidden()
    return service.reminders_below(node)


@blp.route("/reminders/<int:reminder_id>/acknowledge", methods=["POST"])
@blp.response(200, ReminderSchema)
def reminder_ack(reminder_id):
    """The unit's admin marks a reminder as seen."""
    rem = get_in_scope(Reminder, reminder_id)
    target = get_in_scope(OrgNode, rem.org_id)
    from ..auth.service import has_perm

    if not (has_perm(Perm.unit_admin, target) or has_perm(Perm.supervise, target)):
        raise Forbidden()
    service.acknowledge(rem)
    db.session.commit()
    return rem


# -- exports ---------------------------------------------------------------------


class ExportKindSchema(Schema):
    kind = fields.Str()
    title = fields.Str()
    title_en = fields.Str()
    description = fields.Str()


class ExportArgs(Schema):
    org_id = fields.Int(required=True)


class ExportStartSchema(Schema):
    org_id = fields.Int(required=True)
    params = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict,
                         metadata={"description": "export-specific filters, e.g. {\"year\": \"2026\"}"})


class ExportJobSchema(Schema):
    job_id = fields.Str()
    kind = fields.Str()
    download = fields.Str(metadata={"description": "GET this once the job is done"})


@blp.route("/exports")
@blp.arguments(ExportArgs, location="query")
@blp.response(200, ExportKindSchema(many=True))
def export_kinds(args):
    """The exports you may run on a node."""
    node = get_in_scope(OrgNode, args["org_id"])
    return [{"kind": s.kind, "title": s.title[0], "title_en": s.title[1], "description": s.description}
            for s in EXPORTS.values() if may_export(s, node)]


@blp.route("/exports/<kind>", methods=["POST"])
@blp.arguments(ExportStartSchema)
@blp.response(202, ExportJobSchema)
def export_create(data, kind):
    """Start an export job (streamed xlsx, progress at /api/v1/jobs/{id})."""
    spec = get_spec(kind)
    node = get_in_scope(OrgNode, data["org_id"])
    if spec is None:
        raise Invalid({"kind": ["Unknown export; see GET /api/v1/supervision/exports."]})
    if not may_export(spec, node):
        raise Forbidden()
    from .exports import safe_filename

    name = safe_filename(f"{spec.title[0]}-{node.name}-{local_today().isoformat()}") + ".xlsx"
    job_id = queue.submit("supervision.export", root_id=node.root_id, org_id=node.id, scope=current_scope(),
                          params={"kind": kind, "org_id": node.id, "params": data["params"], "filename": name},
                          created_by=current_user.id if current_user.is_authenticated else None)
    return {"job_id": job_id, "kind": kind, "download": f"/api/v1/supervision/exports/files/{job_id}"}


@blp.route("/exports/files/<job_id>")
@blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              description="The finished workbook")
def export_download(job_id):
    """Download a finished export."""
    from .views import export_file_response

    return export_file_response(job_id)


class HistorySchema(Schema):
    periods = fields.List(fields.Str())
    scores = fields.List(fields.Float(allow_none=True))
    grades = fields.List(fields.Str(allow_none=True))
    years = fields.List(fields.Str())
    annual = fields.List(fields.Dict())


@blp.route("/people/<int:person_id>/history")
@blp.response(200, HistorySchema)
def person_history(person_id):
    """A person's published routine scores by period and annual grades by year."""
    from ..auth.service import has_perm
    from ..people.models import Person

    person = get_in_scope(Person, person_id)
    own = current_user.is_authenticated and current_user.person_id == person.id
    if not own:
        unit = get_in_scope(OrgNode, person.unit_id)
        if not (has_perm(Perm.unit_admin, unit) or has_perm(Perm.supervise, unit)):
            raise Forbidden()
    return charts.person_history(person.id)
