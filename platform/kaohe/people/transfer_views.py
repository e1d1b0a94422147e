"""A person's transfers: where they came from or went, their account, and
the transfer form (``/people/persons/<id>/transfer``; the person's record
page of the roster is ``roster.person_page``)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select

from ..auth import capabilities as caps
from ..auth.models import User
from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.errors import KaoheError
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from ..web import register_page_blueprint
from ..web.forms import parse_form
from . import transfers
from .models import Person
from .roster_service import unit_departments
from .transfer_api import run_transfer
from .transfer_models import PersonTransfer

bp = Blueprint("person", __name__, url_prefix="/people/persons")


def _person_for_admin(person_id: int) -> tuple[Person, OrgNode]:
    person = get_in_scope(Person, person_id)
    unit = get_in_scope(OrgNode, person.unit_id)
    if not caps.can(caps.ROSTER_READ, unit):
        abort(403)
    return person, unit


def _targets(person: Person) -> list[tuple[str, str]]:
    """(value "unit:org", label) for every unit (and its departments) the
    caller may transfer the person to."""
    scope = current_scope()
    stmt = select(OrgNode).where(OrgNode.is_assessment_unit.is_(True), OrgNode.root_id == person.root_id)
    if not scope.all_roots:
        stmt = stmt.where(org_filter(OrgNode.id, scope))
    units = transfers.target_units(person, list(db.session.execute(stmt.order_by(OrgNode.path).limit(300)).scalars()))
    out = []
    for u in units:
        out.append((f"{u.id}:{u.id}", u.name))
        out += [(f"{u.id}:{d.id}", f"{u.name} › {d.name}") for d in unit_departments(u)]
    return out


def _context(person: Person, unit: OrgNode) -> dict:
    moves = db.session.execute(select(PersonTransfer).where(
        PersonTransfer.root_id == person.root_id,
        or_(PersonTransfer.person_id == person.id, PersonTransfer.from_person_id == person.id))
        .order_by(PersonTransfer.id)).scalars().all()
    names = dict(db.session.execute(select(OrgNode.id, OrgNode.name).where(OrgNode.id.in_(
        {m.from_unit_id for m in moves} | {m.org_id for m in moves} | {person.org_id} or {0}))).all())
    account = db.session.execute(select(User).where(User.person_id == person.id)).scalar_one_or_none()
    return {"person": person, "unit": unit, "moves": moves, "names": names, "account": account,
            "targets": _targets(person) if person.active else [],
            "may_see_accounts": has_perm(Perm.user_manage, unit)}


@bp.route("/<int:person_id>/transfer", methods=["GET", "POST"])
def transfer_page(person_id):
    person, unit = _person_for_admin(person_id)
    if request.method == "GET":
        return render_template("people/transfer.html", errors={}, form={}, **_context(person, unit))
    form = request.form.to_dict()
    target = form.pop("target", "")
    unit_part, _sep, org_part = target.partition(":")
    if unit_part.isdigit():
        form["to_unit_id"] = unit_part
    if org_part.isdigit():
        form["to_org_id"] = org_part
    data, errors = parse_form(transfers.TransferSchema(), form)
    if data is not None:
        try:
            row = run_transfer(person, data)
            db.session.commit()
        except KaoheError as exc:
            db.session.rollback()
            person, unit = _person_for_admin(person_id)
            errors = exc.errors or {"_": [exc.message]}
            if exc.status == 403:
                abort(403)
        else:
            flash(_("Transferred. The history stays with this unit; the new unit's roster has the person from today."),
                  "ok")
            return redirect(url_for("person.transfer_page", person_id=row.person_id))
    if "to_unit_id" in errors or "to_org_id" in errors:
        errors["target"] = errors.pop("to_unit_id", []) + errors.pop("to_org_id", [])
    flash(_("Please correct the marked fields."), "error")
    return render_template("people/transfer.html", errors=errors, form=request.form,
                           **_context(person, unit)), 422


register_page_blueprint(bp)
