"""Accounts for a unit's roster: provisioning (page, API, CLI share
``run_provision``), the activation sheet (printable page and xlsx), the
activation page a person opens on a phone, and the forced password change
at the first sign-in.

Here in the shell because the username rule is a policy setting
(``accounts.username_rule``) and the policy slice sits above people."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ..api.common import require
from ..auth import service as auth_service
from ..auth.models import User
from ..auth.namespace import qualify
from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.clock import local_today
from ..core.errors import Invalid, KaoheError
from ..extensions import db
from ..people import accounts as person_accounts
from ..people.models import Person
from ..policy.resolve import effective_policy
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from ..web import add_org_links, register_page_blueprint, register_public_blueprint
from ..web.forms import parse_form

pages = register_page_blueprint(Blueprint("accounts", __name__))
public = register_public_blueprint(Blueprint("activation", __name__))
blp_provision = ApiBlueprint("accounts_provision", __name__, url_prefix="/api/v1",
                             description="Accounts for everyone on a roster")


def username_rule(unit: OrgNode) -> str:
    return effective_policy(unit, local_today().year)["accounts.username_rule"]


def run_provision(unit: OrgNode, data: dict, *, check_manage: bool = True) -> list[dict]:
    """The one provisioning entry point of the API, the page and the CLI."""
    if not unit.is_assessment_unit:
        raise Invalid({"unit_id": ["Accounts are provisioned for an assessment unit's roster."]})
    return person_accounts.provision(unit, data, username_rule(unit), check_manage=check_manage)


SHEET_HEADERS = (("部门", "Department"), ("工号", "Staff no."), ("姓名", "Name"), ("用户名", "Username"),
                 ("激活码", "Activation code"), ("初始密码", "Initial password"), ("有效期至", "Valid until"),
                 ("状态", "Status"))


def sheet_xlsx(unit: OrgNode, rows: list[dict]) -> bytes:
    """The activation sheet as a workbook: one sheet per department."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    by_dept: dict[str, list[dict]] = {}
    for r in rows:
        by_dept.setdefault(r["department"] or unit.name, []).append(r)
    for i, (dept, items) in enumerate(by_dept.items()):
        title = "".join(ch for ch in dept if ch not in "[]:*?/\\")[:28] or f"D{i + 1}"
        if title in wb.sheetnames:
            title = f"{title[:24]}-{i + 1}"
        ws = wb.create_sheet(title)
        ws.append([f"{zh}\n{en}" for zh, en in SHEET_HEADERS])
        for r in items:
            ws.append([dept, r["staff_no"], r["name"], r["username"], r["code"] or "", r["password"] or "",
                       r["expires_at"].strftime("%Y-%m-%d %H:%M UTC") if r["expires_at"] else "", r["status"]])
        for col, width in zip("ABCDEFGH", (18, 12, 10, 22, 16, 16, 20, 10)):
            ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- API --------------------------------------------------------------------

class ProvisionRowSchema(Schema):
    person_id = fields.Int()
    staff_no = fields.Str()
    name = fields.Str()
    department = fields.Str()
    username = fields.Str()
    status = fields.Str(metadata={"description": "created, reissued, existing, inactive"})
    code = fields.Str(allow_none=True, metadata={"description": "one-time activation code (shown only now)"})
    password = fields.Str(allow_none=True, metadata={"description": "initial password (mode=password)"})
    expires_at = fields.DateTime(allow_none=True)


class ProvisionResultSchema(Schema):
    rows = fields.List(fields.Nested(ProvisionRowSchema))
    created = fields.Int()
    reissued = fields.Int()


@blp_provision.route("/people/units/<int:unit_id>/accounts", methods=["POST"])
@blp_provision.arguments(person_accounts.ProvisionSchema)
@blp_provision.response(200, ProvisionResultSchema)
def provision_api(data, unit_id):
    """Provision accounts for everyone active on the unit's roster (or the
    given staff numbers): usernames by the province's rule, activation codes
    (or initial passwords, mode=password) returned once.  Idempotent: people
    with an account keep it, and get a new code only with reissue=true."""
    unit = get_in_scope(OrgNode, unit_id)
    require(Perm.user_manage, unit)
    rows = run_provision(unit, data)
    db.session.commit()
    return {"rows": rows, "created": sum(r["status"] == "created" for r in rows),
            "reissued": sum(r["status"] == "reissued" for r in rows)}


# -- pages ------------------------------------------------------------------

def _unit_or_403(unit_id: int) -> OrgNode:
    unit = get_in_scope(OrgNode, unit_id)
    if not has_perm(Perm.user_manage, unit):
        abort(403)
    return unit


def _unit_counts(unit: OrgNode) -> dict:
    people = db.session.execute(select(func.count()).select_from(Person).where(
        Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.active.is_(True))).scalar()
    linked = db.session.execute(select(func.count()).select_from(User).join(Person, Person.id == User.person_id)
                                .where(Person.root_id == unit.root_id, Person.unit_id == unit.id,
                                       Person.active.is_(True))).scalar()
    return {"people": people, "linked": linked}


@pages.route("/units/<int:unit_id>/accounts", methods=["GET", "POST"])
def unit_accounts(unit_id):
    unit = _unit_or_403(unit_id)
    errors, form = {}, request.form
    if request.method == "POST":
        raw = {"mode": form.get("mode") or "code", "reissue": form.get("reissue") in ("on", "1", "true"),
               "days": form.get("days") or person_accounts.CODE_DAYS}
        staff = [s for s in (form.get("staff_nos") or "").replace(",", " ").split() if s]
        if staff:
            raw["staff_nos"] = staff
        try:
            data = person_accounts.ProvisionSchema().load(raw)
            rows = run_provision(unit, data)
            db.session.commit()
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
        except Exception as exc:  # marshmallow
            from marshmallow import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            errors = exc.messages
        else:
            if form.get("output") == "xlsx":
                return send_file(io.BytesIO(sheet_xlsx(unit, rows)), as_attachment=True,
                                 download_name=f"accounts-{unit.code}.xlsx",
                                 mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            groups: dict[str, list[dict]] = {}
            for r in rows:
                groups.setdefault(r["department"] or unit.name, []).append(r)
            return render_template("accounts/sheet.html", unit=unit, groups=groups,
                                   created=sum(r["status"] == "created" for r in rows),
                                   reissued=sum(r["status"] == "reissued" for r in rows))
        flash(_("Please correct the marked fields."), "error")
    return render_template("accounts/unit.html", unit=unit, counts=_unit_counts(unit), errors=errors, form=form,
                           rule=qualify(username_rule(unit), auth_service.province_code(unit))), \
        (422 if errors else 200)


class PasswordSchema(Schema):
    password = fields.Str(required=True, validate=validate.Length(min=10, max=256))
    password2 = fields.Str(required=True, validate=validate.Length(max=256))


class ActivateSchema(PasswordSchema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    code = fields.Str(required=True, validate=validate.Length(min=4, max=40))


def _same(data, errors):
    if data is not None and data["password"] != data["password2"]:
        return None, {"password2": [_("The two passwords differ.")]}
    return data, errors


@public.route("/activate", methods=["GET", "POST"])
def activate():
    """Activate an account with the code from the sheet (phone width)."""
    errors = {}
    if request.method == "POST":
        data, errors = _same(*parse_form(ActivateSchema(), request.form))
        if data is not None:
            try:
                user = person_accounts.activate(data["username"], data["code"], data["password"])
                db.session.commit()
            except KaoheError as exc:
                db.session.rollback()
                errors = exc.errors or {"_": [exc.message]}
            else:
                login_user(user)
                flash(_("Your account is active. Welcome."), "ok")
                return redirect(url_for("web.home"))
    return render_template("accounts/activate.html", errors=errors, form=request.form), (422 if errors else 200)


@pages.route("/account/password", methods=["GET", "POST"])
def password_change():
    """Set a new password (required at the first sign-in with an initial
    password, or after a reset)."""
    errors = {}
    if request.method == "POST":
        data, errors = _same(*parse_form(PasswordSchema(), request.form))
        if data is not None:
            user = db.session.get(User, current_user.id)
            auth_service.set_password(user, data["password"])
            user.must_change_password = False
            db.session.commit()
            login_user(user)
            flash(_("Your password is changed."), "ok")
            return redirect(url_for("web.home"))
    return render_template("accounts/password.html", errors=errors), (422 if errors else 200)


FORCED_OK = {"accounts.password_change", "web.logout", "web.set_lang", "static", "web.login"}


def force_password_change():
    """Before every page: an account that must set a new password goes to
    the password page first."""
    if request.endpoint in FORCED_OK or request.path.startswith("/api/"):
        return None
    if current_user.is_authenticated and getattr(current_user, "must_change_password", False):
        return redirect(url_for("accounts.password_change"))
    return None


def _org_links(node: OrgNode) -> list[dict]:
    if node.is_assessment_unit and has_perm(Perm.user_manage, node):
        return [{"url": url_for("accounts.unit_accounts", unit_id=node.id), "label": _("Accounts for the roster")}]
    return []


add_org_links(_org_links)
