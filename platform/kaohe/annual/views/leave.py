"""The leave page: a unit's leave of a year as date ranges (病假/事假), each
person's calendar and working days, and whether it is more than half the
year under the policy's measure; add, change and delete ranges.  The same
validator as the API (kaohe.annual.leave)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...core.errors import KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.scope import get_in_scope
from .. import leave
from ..models import AnnualLeave
from .common import assessment_unit, bp, form_date, need


def _render(unit, year, errors=None, values=None, edit_errors=None, edit_id=None, status=200):
    roster = list(db.session.execute(select(Person).where(Person.root_id == unit.root_id, Person.unit_id == unit.id,
                                                          Person.active.is_(True)).order_by(Person.staff_no)).scalars())
    data = leave.summary(unit, year)
    names = {p.id: p for p in roster}
    if data["people"]:
        missing = [pid for pid in data["people"] if pid not in names]
        if missing:
            names.update({p.id: p for p in db.session.execute(select(Person).where(
                Person.root_id == unit.root_id, Person.id.in_(missing))).scalars()})
    return render_template("annual/leave.html", unit=unit, year=year, roster=roster, data=data, names=names,
                           kinds=leave.KIND_LABELS, errors=errors or {}, values=values or {},
                           edit_errors=edit_errors or {}, edit_id=edit_id), status


def _form_values():
    return {k: request.form.get(k, "") for k in ("person_id", "start_date", "end_date", "kind", "note")}


@bp.route("/unit/<int:org_id>/<int:year>/leave", methods=["GET", "POST"])
def leave_page(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.unit_admin, unit)
    if request.method == "POST":
        values = _form_values()
        try:
            pid = values["person_id"]
            if not pid.isdigit():
                from ...core.errors import Invalid
                raise Invalid({"person_id": [_("Choose the person.")]})
            person = get_in_scope(Person, int(pid))
            leave.add_leave(unit, person, year=year, start_date=form_date("start_date"),
                            end_date=form_date("end_date"), kind=values["kind"] or None, note=values["note"])
            db.session.commit()
        except KaoheError as exc:
            db.session.rollback()
            return _render(unit, year, errors=exc.errors or {"_": [exc.message]}, values=values, status=422)
        flash(_("Leave saved; compute the annual result again to apply it."), "ok")
        return redirect(url_for("annual.leave_page", org_id=unit.id, year=year))
    return _render(unit, year)


@bp.route("/leave/<int:leave_id>/edit", methods=["POST"])
def leave_edit(leave_id):
    rec = get_in_scope(AnnualLeave, leave_id)
    unit = assessment_unit(rec.org_id)
    need(Perm.unit_admin, unit)
    year = rec.year
    try:
        version = request.form.get("version")
        leave.update_leave(rec, start_date=form_date("start_date"), end_date=form_date("end_date"),
                           kind=request.form.get("kind") or None, note=request.form.get("note"),
                           expected_version=int(version) if version and version.isdigit() else None)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        return _render(unit, year, edit_errors=exc.errors or {"_": [exc.message]}, edit_id=leave_id, status=422)
    flash(_("Leave changed; compute the annual result again to apply it."), "ok")
    return redirect(url_for("annual.leave_page", org_id=unit.id, year=year))


@bp.route("/leave/<int:leave_id>/delete", methods=["POST"])
def leave_remove(leave_id):
    rec = get_in_scope(AnnualLeave, leave_id)
    unit = assessment_unit(rec.org_id)
    need(Perm.unit_admin, unit)
    year = rec.year
    leave.delete_leave(rec, request.form.get("reason"))
    db.session.commit()
    flash(_("Leave deleted; compute the annual result again to apply it."), "ok")
    return redirect(url_for("annual.leave_page", org_id=unit.id, year=year))
