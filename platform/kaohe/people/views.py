"""Roster pages: the unit's people, the template download, the upload with
its per-row report, and the import with progress."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import KaoheError
from ..extensions import db
from ..jobs.api import job_status
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from ..web import add_org_links, register_page_blueprint
from ..web.nav import NavItem, add_nav
from ..web.i18n import pick
from ..web.messages import localize_message
from marshmallow import ValidationError

from . import person_fields, roster_format, roster_labels, roster_plan, roster_service
from .id_number import mask
from .api import XLSX, start_apply, start_upload, template_bytes
from .models import LeaderCharge, Person, RosterImport

bp = Blueprint("roster", __name__, url_prefix="/people")

PAGE = 100
ROLE_LABELS = {"head": ("主要领导", "Head"), "deputy": ("分管领导", "Deputy"),
               "dept_head": ("科室负责人", "Department head"), "staff": ("工作人员", "Staff")}
RANK_LABELS = {"leader": ("领导班子", "Leadership"), "staff": ("一般干部", "Staff")}


def _admin_units() -> list[OrgNode]:
    """Assessment units the caller administers (for the nav entry)."""
    scope = current_scope()
    stmt = select(OrgNode).where(OrgNode.is_assessment_unit.is_(True))
    if not scope.all_roots:
        stmt = stmt.where(OrgNode.root_id == scope.root_id, org_filter(OrgNode.id, scope))
    return [u for u in db.session.execute(stmt.order_by(OrgNode.path).limit(200)).scalars()
            if has_perm(Perm.unit_admin, u)]


def _unit_for_admin(unit_id: int) -> OrgNode:
    unit = get_in_scope(OrgNode, unit_id)
    if not has_perm(Perm.unit_admin, unit):
        abort(403)
    if not unit.is_assessment_unit:
        abort(404)
    return unit


@bp.route("/")
def roster_home():
    units = _admin_units()
    if len(units) == 1:
        return redirect(url_for("roster.roster_page", unit_id=units[0].id))
    return render_template("people/units.html", units=units)


@bp.route("/units/<int:unit_id>")
def roster_page(unit_id):
    unit = _unit_for_admin(unit_id)
    q = request.args.get("q", "").strip()
    after = request.args.get("after", 0, type=int)
    stmt = select(Person).where(Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.id > after)
    if q:
        stmt = stmt.where(Person.name.contains(q) | Person.staff_no.contains(q))
    rows = db.session.execute(stmt.order_by(Person.id).limit(PAGE + 1)).scalars().all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    counts = dict(db.session.execute(
        select(Person.active, func.count()).where(Person.root_id == unit.root_id, Person.unit_id == unit.id)
        .group_by(Person.active)).all())
    depts = roster_service.unit_departments(unit)
    org_names = {d.id: d.name for d in depts}
    org_names[unit.id] = unit.name
    sup_ids = {p.supervisor_id for p in rows if p.supervisor_id}
    sups = dict(db.session.execute(select(Person.id, Person.name).where(Person.id.in_(sup_ids))).all()) if sup_ids else {}
    charges = db.session.execute(
        select(Person.name, LeaderCharge.department_id).join(Person, Person.id == LeaderCharge.leader_id)
        .where(LeaderCharge.root_id == unit.root_id, LeaderCharge.org_id == unit.id)).all()
    by_category = dict(db.session.execute(
        select(Person.staff_category, func.count()).where(Person.root_id == unit.root_id, Person.unit_id == unit.id,
                                                          Person.active.is_(True))
        .group_by(Person.staff_category)).all())
    categories = [(roster_labels.enum_label("staff_category", code), by_category.get(code, 0), code)
                  for code in roster_format.ASSESSED_CATEGORIES]
    reveal = request.args.get("reveal") == "1"
    return render_template("people/roster.html", unit=unit, people=rows, more=more, q=q, counts=counts,
                           departments=depts, org_names=org_names, sups=sups, charges=charges,
                           imports=roster_service.latest_imports(unit, 5), role_labels=ROLE_LABELS,
                           rank_labels=RANK_LABELS, max_rows=roster_service.max_rows(), categories=categories,
                           uncategorised=by_category.get(None, 0), reveal=reveal,
                           label=roster_labels.enum_label, show_id=lambda n: n if reveal else mask(n))


@bp.route("/units/<int:unit_id>/template.xlsx")
def roster_template(unit_id):
    unit = _unit_for_admin(unit_id)
    return send_file(io.BytesIO(template_bytes(unit)), mimetype=XLSX, as_attachment=True,
                     download_name=f"roster-template-{unit.code}.xlsx")


@bp.route("/units/<int:unit_id>/upload", methods=["POST"])
def roster_upload(unit_id):
    unit = _unit_for_admin(unit_id)
    try:
        imp, _job = start_upload(unit, request.files.get("file"), request.form.get("deactivate_missing") == "on")
    except KaoheError as exc:
        db.session.rollback()
        for msgs in (exc.errors or {"_": [exc.message]}).values():
            for m in msgs:
                flash(localize_message(m), "error")
        return redirect(url_for("roster.roster_page", unit_id=unit_id))
    return redirect(url_for("roster.import_page", import_id=imp.id))


@bp.route("/imports/<int:import_id>")
def import_page(import_id):
    imp = get_in_scope(RosterImport, import_id)
    unit = _unit_for_admin(imp.org_id)
    job = None
    if imp.job_id:
        try:
            job = job_status(imp.job_id)
        except Exception:  # noqa: BLE001 - the job row may be gone; the import row says enough
            job = None
    problems = [dict(p, message=roster_format.message(p, _)) for p in (imp.errors or [])]
    by_row: dict = {}
    for p in problems:
        by_row.setdefault((p["sheet"], p["row"]), []).append(p)
    return render_template("people/import.html", imp=imp, unit=unit, job=job, problems=problems,
                           rows_with_errors=len([k for k in by_row if k[1]]), **_changes_view(imp, unit))


CHANGES_PAGE = 200


def _changes_view(imp: RosterImport, unit: OrgNode) -> dict:
    """The list of changes of a checked file, one kind at a time, a page at a
    time, values in the page's words (ID numbers masked unless revealed)."""
    stored = imp.changes
    if not stored:
        return {"changes": None}
    counts = stored.get("counts", {})
    kinds = [k for k in roster_plan.KINDS if counts.get(k)]
    kind = request.args.get("kind")
    kind = kind if kind in kinds else (kinds[0] if kinds else None)
    page = max(1, request.args.get("page", 1, type=int))
    reveal = request.args.get("reveal") == "1"
    items = roster_plan.entries(stored, kind) if kind else []
    pages = max(1, -(-len(items) // CHANGES_PAGE))
    page = min(page, pages)
    shown = items[(page - 1) * CHANGES_PAGE:page * CHANGES_PAGE]
    dept_names = {d.code: pick(d.name, d.name_en) for d in roster_service.unit_departments(unit)}
    dept_names[None] = pick(unit.name, unit.name_en) + " " + _("(the unit itself)")
    for item in shown:
        if "changes" in item:
            item["changes"] = [dict(c, label=roster_labels.field_label(c["field"]),
                                    old_label=roster_labels.value_label(c["field"], c["old"], dept_names, reveal),
                                    new_label=roster_labels.value_label(c["field"], c["new"], dept_names, reveal))
                               for c in item["changes"]]
        if "dept" in item:
            item["dept_label"] = dept_names.get(item["dept"], item["dept"] or "")
        if "reason" in item:
            item["reason_label"] = roster_labels.removal_reason(item["reason"])
    return {"changes": {"counts": counts, "kinds": [(k, roster_labels.kind_label(k), counts[k]) for k in kinds],
                        "kind": kind, "rows": shown, "page": page, "pages": pages, "total": len(items),
                        "unchanged": counts.get("unchanged", 0), "reveal": reveal,
                        "has_ids": any(c["field"] == "id_number" for i in shown for c in i.get("changes", ()))}}


@bp.route("/imports/<int:import_id>/apply", methods=["POST"])
def import_apply(import_id):
    imp = get_in_scope(RosterImport, import_id)
    _unit_for_admin(imp.org_id)
    try:
        start_apply(imp)
    except KaoheError as exc:
        db.session.rollback()
        flash("; ".join(m for v in exc.errors.values() for m in v) or exc.message, "error")
    return redirect(url_for("roster.import_page", import_id=import_id))


@bp.route("/persons/<int:person_id>", methods=["GET", "POST"])
def person_page(person_id):
    """A person's record for the unit's admins: every field in words, the ID
    number masked unless revealed, and the form for the record fields (the
    API's schema and rules)."""
    person = get_in_scope(Person, person_id)
    unit = _unit_for_admin(person.unit_id)
    errors: dict = {}
    form = None
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            data = person_fields.PersonFieldsSchema().load(
                {k: v for k, v in form.items() if k != "id_number" or v.strip()})  # empty: keep the number
            person_fields.update_fields(person, data)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("roster.person_page", person_id=person.id))
        except ValidationError as exc:
            db.session.rollback()
            errors = exc.messages
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
        person = get_in_scope(Person, person_id)
    reveal = request.args.get("reveal") == "1"
    org = db.session.get(OrgNode, person.org_id)
    sup = db.session.get(Person, person.supervisor_id) if person.supervisor_id else None
    options = {f: [("", "—")] + [(code, roster_labels.enum_label(f, code)) for code in roster_labels.ENUM_LABELS[f]]
               for f in ("staff_category", "gender", "political_status")}
    return render_template("people/person.html", person=person, unit=unit, org=org, sup=sup, errors=errors,
                           form=form, reveal=reveal, options=options, label=roster_labels.enum_label,
                           field_label=roster_labels.field_label,
                           shown_id=person.id_number if reveal else mask(person.id_number)), (422 if errors else 200)


register_page_blueprint(bp)


def _show_nav() -> bool:
    return any(gr.role.value == "unit_admin" for gr in current_grants())


add_nav(NavItem("roster", _l("Roster"), "roster.roster_home", Perm.unit_admin, 30, _show_nav,
                hint=_l("People, departments and supervisors; Excel import")))


def _org_roster_link(node):
    if node.is_assessment_unit and has_perm(Perm.unit_admin, node):
        return [{"url": url_for("roster.roster_page", unit_id=node.id), "label": _("Roster")}]
    return []


add_org_links(_org_roster_link)
