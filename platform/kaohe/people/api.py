from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from . import accounts
from .accounts import PersonLinkSchema
from ..api.common import require
from ..auth.roles import Perm
from . import person_fields
from .id_number import mask
from .models import Person
from .person_fields import PersonFieldsSchema

blp = Blueprint("people", __name__, url_prefix="/api/v1/people", description="Rosters")


class PersonSchema(Schema):
    id = fields.Int()
    unit_id = fields.Int()
    org_id = fields.Int()
    staff_no = fields.Str()
    name = fields.Str()
    gender = fields.Str(allow_none=True, metadata={"description": "M | F"})
    post = fields.Str(allow_none=True)
    rank_group = fields.Str()
    job_category = fields.Str()
    position_role = fields.Str()
    staff_category = fields.Str(allow_none=True, metadata={
        "description": "人员身份: civil_servant (公务员) | referenced (参照管理) | worker (工勤) | institution (事业) | "
                       "contract (聘用); every category on a roster takes part in the assessment"})
    id_number = fields.Method("get_id_number", allow_none=True, metadata={
        "description": "公民身份号码, masked (630102********1234) unless an admin of the person's unit asks "
                       "with reveal_id_numbers=true"})
    birth_date = fields.Date(allow_none=True)
    political_status = fields.Str(allow_none=True, metadata={
        "description": "cpc | cpc_probationary | cyl | democratic | nonparty | masses"})
    post_rank = fields.Str(allow_none=True, metadata={"description": "职务职级, e.g. 一级科员"})
    hire_date = fields.Date(allow_none=True)
    probation_end = fields.Date(allow_none=True)
    work_start_date = fields.Date(allow_none=True, metadata={"description": "参加工作时间"})
    supervisor_id = fields.Int(allow_none=True)
    active = fields.Bool()
    version = fields.Int()

    def get_id_number(self, obj):
        if obj.unit_id in g.get("reveal_id_units", ()):
            return obj.id_number
        return mask(obj.id_number)


class RevealArgs(Schema):
    reveal_id_numbers = fields.Bool(load_default=False, metadata={
        "description": "full ID numbers (admins of the person's unit only; others always get them masked)"})


class PeopleArgs(RevealArgs):
    unit_id = fields.Int()
    org_id = fields.Int()
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=5000))
    after_id = fields.Int(load_default=0)


def _reveal_for(people) -> None:
    """Full ID numbers for the units of ``people`` the caller administers."""
    from ..auth import capabilities as caps

    units = {p.unit_id for p in people}
    nodes = db.session.execute(select(OrgNode).where(OrgNode.id.in_(units))).scalars().all() if units else []
    g.reveal_id_units = {n.id for n in nodes if caps.can(caps.ROSTER_READ, n)}


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
    people = db.session.execute(stmt.order_by(Person.id).limit(args["limit"])).scalars().all()
    if args["reveal_id_numbers"]:
        _reveal_for(people)
    return people


@blp.route("/<int:person_id>")
class PersonRecord(MethodView):
    # one rule for both methods: with two rules of the same path, an id beyond BIGINT
    # answered 405 (the PATCH rule's) instead of 404

    @blp.arguments(RevealArgs, location="query")
    @blp.response(200, PersonSchema)
    def get(self, args, person_id):
        """One person: your own record, or anyone on a roster you may read.  The
        ID number is masked unless an admin of the person's unit asks for it."""
        from ..auth import capabilities as caps
        from ..core.errors import Forbidden

        person = get_in_scope(Person, person_id)
        if not caps.can_read_person(person, get_in_scope(OrgNode, person.org_id)):
            raise Forbidden()
        if args["reveal_id_numbers"]:
            _reveal_for([person])
        return person

    @blp.arguments(PersonFieldsSchema)
    @blp.response(200, PersonSchema)
    def patch(self, data, person_id):
        """Change a person's record fields (admins of the person's unit): staff
        category, ID number (check digit; birth date and gender follow from it and
        must agree; one number per province), birth date, gender, political
        status, post and rank, work start date, post.  422 with field messages;
        409 when `expected_version` is stale.  Audited (the ID number masked)."""
        person = get_in_scope(Person, person_id)
        require(Perm.unit_admin, get_in_scope(OrgNode, person.unit_id))
        person_fields.update_fields(person, data)
        db.session.commit()
        return person


# -- roster import (Excel in) ---------------------------------------------------

import io  # noqa: E402

from flask import current_app, send_file  # noqa: E402
from flask_login import current_user  # noqa: E402

from ..core import xlsx_guard  # noqa: E402
from ..core.errors import Invalid  # noqa: E402
from ..jobs import health, queue  # noqa: E402
from . import roster_format, roster_service  # noqa: E402
from .roster_template import template_workbook  # noqa: E402
from .models import RosterImport  # noqa: E402
from .schemas import (ChangesArgs, JobStartedSchema, RosterImportListSchema, RosterImportSchema,  # noqa: E402
                      UnitArgs, UploadFileSchema, changes_answer, UploadFormSchema, UploadQueryArgs)

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
@blp.arguments(ChangesArgs, location="query")
@blp.response(200, RosterImportSchema)
def import_get(args, import_id):
    """The check report of an upload: every problem with sheet, row, column and
    rule, and (a clean file) every change the import will make: `changes.counts`
    per kind and `changes.items` (new people, field-by-field updates with old
    and new values, moves, cleared values, removals, 分管 links added and
    removed), filtered by `kind`.  Applying makes exactly these changes."""
    imp = get_in_scope(RosterImport, import_id)
    require(Perm.unit_admin, get_in_scope(OrgNode, imp.org_id))
    imp.changes_view = changes_answer(imp.changes, args.get("kind"), args["reveal_id_numbers"])
    return imp


@blp.route("/imports/<int:import_id>/apply", methods=["POST"])
@blp.response(202, JobStartedSchema)
def import_apply(import_id):
    """Import a clean upload in one transaction (a job with progress)."""
    imp = get_in_scope(RosterImport, import_id)
    job_id = start_apply(imp)
    return {"import_id": import_id, "job_id": job_id, "status": "importing"}


# -- accounts of people ------------------------------------------------------

blp_accounts = Blueprint("people_accounts", __name__, url_prefix="/api/v1",
                         description="Accounts of the people on a roster")


def _link_target(user_id: int):
    """The account (404 outside scope) and the check that the caller may
    manage it (the one rule, ``kaohe.auth.manage``)."""
    from ..auth.manage import require_manage
    from ..auth.models import User

    user = get_in_scope(User, user_id)
    require_manage(user)
    return user


@blp_accounts.route("/users/<int:user_id>/person", methods=["PUT"])
@blp_accounts.arguments(PersonLinkSchema)
@blp_accounts.response(200, PersonSchema)
def user_person_link(data, user_id):
    """Link the account to a person on a roster (one account per person);
    the account gets the staff role on the person's unit.  409 when either
    is already linked elsewhere."""
    from ..api.common import require
    from ..auth.roles import Perm

    user = _link_target(user_id)
    person = accounts.find_person(data, get_in_scope)
    require(Perm.user_manage, get_in_scope(OrgNode, person.unit_id))
    accounts.link(user, person)
    db.session.commit()
    return person


@blp_accounts.route("/users/<int:user_id>/person", methods=["DELETE"])
@blp_accounts.response(204)
def user_person_unlink(user_id):
    """Remove the account's link to its person."""
    user = _link_target(user_id)
    accounts.unlink(user)
    db.session.commit()
