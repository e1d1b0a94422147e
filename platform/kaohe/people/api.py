from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from .models import Person

blp = Blueprint("people", __name__, url_prefix="/api/v1/people", description="Rosters")


class PersonSchema(Schema):
    id = fields.Int()
    unit_id = fields.Int()
    org_id = fields.Int()
    staff_no = fields.Str()
    name = fields.Str()
    post = fields.Str(allow_none=True)
    rank_group = fields.Str()
    job_category = fields.Str()
    position_role = fields.Str()
    hire_date = fields.Date(allow_none=True)
    supervisor_id = fields.Int(allow_none=True)
    active = fields.Bool()


class PeopleArgs(Schema):
    unit_id = fields.Int()
    org_id = fields.Int()
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=5000))
    after_id = fields.Int(load_default=0)


@blp.route("")
@blp.arguments(PeopleArgs, location="query")
@blp.response(200, PersonSchema(many=True))
def people_list(args):
    """People on the rosters you may read (assessment-office admins of the
    unit; keyset paging with after_id).  The same rule as the roster page."""
    from ..auth import capabilities as caps

    scope = current_scope()
    caps.require(caps.ROSTER_READ, None)
    stmt = select(Person).where(Person.id > args["after_id"])
    if not scope.all_roots:
        stmt = stmt.where(Person.root_id == scope.root_id, org_filter(Person.org_id, scope),
                          caps.node_filter(Person.org_id, caps.ROSTER_READ))
    if "unit_id" in args:
        unit = get_in_scope(OrgNode, args["unit_id"])
        caps.require(caps.ROSTER_READ, unit)
        stmt = stmt.where(Person.unit_id == unit.id)
    if "org_id" in args:
        org = get_in_scope(OrgNode, args["org_id"])
        caps.require(caps.ROSTER_READ, org)
        stmt = stmt.where(Person.org_id.in_(select(OrgNode.id).where(OrgNode.path.like(org.path + "%"))))
    return db.session.execute(stmt.order_by(Person.id).limit(args["limit"])).scalars().all()


@blp.route("/<int:person_id>")
@blp.response(200, PersonSchema)
def person_get(person_id):
    """One person: your own record, or anyone on a roster you may read."""
    from ..auth import capabilities as caps
    from ..core.errors import Forbidden

    person = get_in_scope(Person, person_id)
    if not caps.can_read_person(person, get_in_scope(OrgNode, person.org_id)):
        raise Forbidden()
    return person


# -- roster import (Excel in) ---------------------------------------------------

import io  # noqa: E402

from flask import current_app, send_file  # noqa: E402
from flask_login import current_user  # noqa: E402

from ..api.common import require  # noqa: E402
from ..auth.roles import Perm  # noqa: E402
from ..core import xlsx_guard  # noqa: E402
from ..core.errors import Invalid  # noqa: E402
from ..jobs import health, queue  # noqa: E402
from . import roster_format, roster_service  # noqa: E402
from .roster_template import template_workbook  # noqa: E402
from .models import RosterImport  # noqa: E402
from .schemas import (JobStartedSchema, RosterImportListSchema, RosterImportSchema, UnitArgs,  # noqa: E402
                      UploadFileSchema, UploadFormSchema, UploadQueryArgs)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_bytes(unit: OrgNode) -> bytes:
    buf = io.BytesIO()
    template_workbook([(d.code, d.name) for d in roster_service.unit_departments(unit)], unit.name, buf)
    return buf.getvalue()


def start_upload(unit: OrgNode, file_storage, deactivate_missing: bool) -> tuple[RosterImport, str]:
    """Keep the file and start the check job (commits)."""
    require(Perm.unit_admin, unit)
    roster_service.check_unit(unit)
    if file_storage is None or not getattr(file_storage, "filename", ""):
        raise Invalid({"file": ["Choose an .xlsx file to upload."]})
    data = file_storage.read()
    xlsx_guard.check(data, ignore_sheets=roster_format.NOTES_SHEET, config=current_app.config)  # zip bomb, merged cells: 422 on "file"
    user_id = current_user.id if current_user.is_authenticated else None
    imp = roster_service.upload(unit, filename=file_storage.filename, data=data,
                                deactivate_missing=deactivate_missing, user_id=user_id)
    job_row = queue.create_job("people.roster_check", root_id=unit.root_id, org_id=unit.id, scope=current_scope(),
                               params={"import_id": imp.id}, created_by=user_id)
    imp.job_id = job_row.id
    imp_id, job_id = imp.id, job_row.id
    db.session.commit()
    queue.dispatch(db.session.get(queue.Job, job_id))
    return get_in_scope(RosterImport, imp_id), job_id


def start_apply(imp: RosterImport) -> str:
    unit = get_in_scope(OrgNode, imp.org_id)
    require(Perm.unit_admin, unit)
    if imp.status == "importing" and health.reap_by_id(imp.job_id):  # its worker died: released
        imp = get_in_scope(RosterImport, imp.id)
    if imp.status != "valid":
        raise Invalid({"import": ["Only a checked, clean file can be imported (status is %s)." % imp.status]})
    user_id = current_user.id if current_user.is_authenticated else None
    job_row = queue.create_job("people.roster_import", root_id=unit.root_id, org_id=unit.id,
                               scope=current_scope(), params={"import_id": imp.id}, created_by=user_id)
    imp.job_id = job_row.id
    imp.status = "importing"
    job_id = job_row.id
    db.session.commit()
    queue.dispatch(db.session.get(queue.Job, job_id))
    return job_id


@blp.route("/roster-template")
@blp.arguments(UnitArgs, location="query")
@blp.response(200, content_type=XLSX, description="The roster template with the unit's departments")
def roster_template(args):
    """Download the roster template (xlsx) for an assessment unit."""
    unit = get_in_scope(OrgNode, args["unit_id"])
    require(Perm.unit_admin, unit)
    roster_service.check_unit(unit)
    return send_file(io.BytesIO(template_bytes(unit)), mimetype=XLSX, as_attachment=True,
                     download_name=f"roster-template-{unit.code}.xlsx")


@blp.route("/imports", methods=["POST"])
@blp.arguments(UploadFormSchema, location="form")
@blp.arguments(UploadQueryArgs, location="query")
@blp.arguments(UploadFileSchema, location="files")
@blp.response(202, JobStartedSchema)
def import_upload(form, query, files):
    """Upload a roster workbook (multipart: `unit_id`, `file`): it is checked in
    a job; nothing is imported until the file is clean and you call
    `/imports/{id}/apply`."""
    from flask import request

    # Load (404 outside the scope) and check the permission (403) before the
    # file is looked at: a missing file is a 422 only for a unit you may manage.
    unit_id = form.get("unit_id", query.get("unit_id"))
    if unit_id is None:
        raise Invalid({"unit_id": ["Missing data for required field."]})
    unit = get_in_scope(OrgNode, unit_id)
    imp, job_id = start_upload(unit, request.files.get("file"), form["deactivate_missing"])
    return {"import_id": imp.id, "job_id": job_id, "status": imp.status}


@blp.route("/imports")
@blp.arguments(UnitArgs, location="query")
@blp.response(200, RosterImportListSchema(many=True))
def import_list(args):
    """Recent roster uploads of a unit."""
    unit = get_in_scope(OrgNode, args["unit_id"])
    require(Perm.unit_admin, unit)
    return roster_service.latest_imports(unit, 50)


@blp.route("/imports/<int:import_id>")
@blp.response(200, RosterImportSchema)
def import_get(import_id):
    """The check report of an upload: every problem with sheet, row, column and rule."""
    imp = get_in_scope(RosterImport, import_id)
    require(Perm.unit_admin, get_in_scope(OrgNode, imp.org_id))
    return imp


@blp.route("/imports/<int:import_id>/apply", methods=["POST"])
@blp.response(202, JobStartedSchema)
def import_apply(import_id):
    """Import a clean upload in one transaction (a job with progress)."""
    imp = get_in_scope(RosterImport, import_id)
    job_id = start_apply(imp)
    return {"import_id": import_id, "job_id": job_id, "status": "importing"}
