"""The platform operator's page for provinces: the tenant packs in
``tenants/`` (or ``KAOHE_TENANTS_DIR``), load one (the same validated,
idempotent ``load_pack`` as ``kaohe tenants load``), and create a province's
first policy administrator with an activation code or an initial password,
changed at the first sign-in as provisioning does.

Operator only (``Perm.provinces``): anyone else signed in gets 403 on the
page and the API alike (one rule, ``PROVINCES_PERM``).  Here in the shell
because packs load every slice's files (policy.yaml sits above tenancy)."""
from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import yaml
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from .. import PACKAGE_DIR
from ..api.common import require
from ..audit.service import record
from ..auth import service as auth_service
from ..auth.models import RoleGrant, User
from ..auth.roles import Perm, Role
from ..auth.service import has_perm
from ..core.db import utcnow
from ..core.errors import Invalid, KaoheError
from ..extensions import db
from ..people import accounts as person_accounts
from ..tenancy.models import OrgNode
from ..tenancy.packs import load_pack
from ..tenancy.scope import get_in_scope
from ..web import register_page_blueprint
from ..web.forms import parse_form
from ..web.messages import N_
from ..web.nav import NavItem, add_nav

PROVINCES_PERM = Perm.provinces

pages = register_page_blueprint(Blueprint("provinces", __name__, url_prefix="/platform"))
blp_provinces = ApiBlueprint("provinces_api", __name__, url_prefix="/api/v1/platform",
                             description="Provinces from tenant packs (platform operator)")


def packs_dir() -> Path:
    configured = current_app.config.get("KAOHE_TENANTS_DIR")
    return Path(configured) if configured else PACKAGE_DIR.parent.parent / "tenants"


def list_packs() -> list[dict]:
    """Each pack directory with its top node and whether it is loaded."""
    root = packs_dir()
    out = []
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir() and (p / "org.yaml").exists()):
        try:
            top = yaml.safe_load((d / "org.yaml").read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError):
            top = {}
        code = str(top.get("code", "")) if isinstance(top, dict) else ""
        out.append({"name": d.name, "code": code, "province_name": top.get("name", "") if isinstance(top, dict) else "",
                    "province_name_en": top.get("name_en") if isinstance(top, dict) else None})
    codes = [p["code"] for p in out if p["code"]]
    loaded = dict(db.session.execute(select(OrgNode.code, OrgNode.id).where(
        OrgNode.parent_id.is_(None), OrgNode.code.in_(codes or [""]))).all())
    for p in out:
        p["province_id"] = loaded.get(p["code"])
    return out


class PackLoadSchema(Schema):
    pack = fields.Str(required=True, validate=validate.Length(min=1, max=120))


class ProvinceAdminSchema(Schema):
    """The first policy administrator of a province."""

    username = fields.Str(required=True, validate=[validate.Length(min=3, max=64),
                                                   validate.Regexp(r"^[A-Za-z0-9_.@-]+$",
                                                                   error="Letters, digits and _ . @ - only.")])
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    mode = fields.Str(load_default="code", validate=validate.OneOf(person_accounts.MODES))
    password = fields.Str(load_only=True, validate=validate.Length(min=10, max=256))
    days = fields.Int(load_default=person_accounts.CODE_DAYS, validate=validate.Range(min=1, max=90))

    @validates_schema
    def _password_for_mode(self, data, **kwargs):
        if data.get("mode") == "password" and not data.get("password"):
            raise ValidationError("Missing data for required field.", "password")


def load_named_pack(name: str) -> dict:
    """Load the pack ``name`` (one of ``list_packs``; no path from outside)."""
    known = {p["name"] for p in list_packs()}
    if name not in known:
        raise Invalid({"pack": [N_("No such tenant pack.")]})
    report = load_pack(packs_dir() / name)
    return report.as_dict()


def create_first_admin(province: OrgNode, data: dict) -> dict:
    """A policy administrator on the province; the secret is returned once.
    The account must set its own password at the first sign-in."""
    if province.parent_id is not None:
        raise Invalid({"province_id": [N_("Not a province.")]})
    user = auth_service.create_user(username=data["username"], display_name=data["display_name"],
                                    password=data.get("password") or secrets.token_urlsafe(24), org=province)
    auth_service.grant_role(user, Role.policy_admin, province)
    out = {"user_id": user.id, "username": user.username, "mode": data["mode"], "code": None, "expires_at": None}
    user.must_change_password = True
    if data["mode"] == "code":
        code = person_accounts.new_code()
        user.activation_hash = person_accounts.code_digest(code)
        user.activation_expires_at = utcnow() + dt.timedelta(days=data["days"])
        out.update(code=code, expires_at=user.activation_expires_at)
    record("province.first_admin", root_id=province.root_id, org_id=province.id, target_type="user",
           target_id=user.id, after={"username": user.username, "role": Role.policy_admin.value,
                                     "mode": data["mode"], "must_change_password": True})
    db.session.flush()
    return out


def _province(province_id: int) -> OrgNode:
    node = get_in_scope(OrgNode, province_id)
    if node.parent_id is not None:
        abort(404)
    return node


def _admins(ids: list[int]) -> dict[int, list[str]]:
    rows = db.session.execute(select(RoleGrant.org_id, User.username).join(User, User.id == RoleGrant.user_id).where(
        RoleGrant.role == Role.policy_admin.value, RoleGrant.org_id.in_(ids or [0])).order_by(User.username)).all()
    out: dict[int, list[str]] = {}
    for org_id, name in rows:
        out.setdefault(org_id, []).append(name)
    return out


# -- API --------------------------------------------------------------------

class PackSchema(Schema):
    name = fields.Str()
    code = fields.Str()
    province_name = fields.Str()
    province_id = fields.Int(allow_none=True)


class LoadReportSchema(Schema):
    created = fields.Int()
    updated = fields.Int()
    moved = fields.Int()
    unchanged = fields.Int()
    extra_changes = fields.Int()
    root_id = fields.Int()


class FirstAdminSchema(Schema):
    user_id = fields.Int()
    username = fields.Str()
    mode = fields.Str()
    code = fields.Str(allow_none=True, metadata={"description": "one-time activation code (shown only now)"})
    expires_at = fields.DateTime(allow_none=True)


@blp_provinces.route("/packs")
@blp_provinces.response(200, PackSchema(many=True))
def packs_get():
    """The tenant packs this installation offers, and which are loaded."""
    require(PROVINCES_PERM)
    return list_packs()


@blp_provinces.route("/packs/load", methods=["POST"])
@blp_provinces.arguments(PackLoadSchema)
@blp_provinces.response(200, LoadReportSchema)
def packs_load(data):
    """Load a pack (validated whole before anything is written; idempotent)."""
    require(PROVINCES_PERM)
    report = load_named_pack(data["pack"])
    db.session.commit()
    return report


@blp_provinces.route("/provinces/<int:province_id>/admins", methods=["POST"])
@blp_provinces.arguments(ProvinceAdminSchema)
@blp_provinces.response(201, FirstAdminSchema)
def province_admin_create(data, province_id):
    """Create a policy administrator of the province (activation code or an
    initial password; a new password is set at the first sign-in)."""
    require(PROVINCES_PERM)
    out = create_first_admin(_province(province_id), data)
    db.session.commit()
    return out


# -- pages ------------------------------------------------------------------

def _need() -> None:
    if not has_perm(PROVINCES_PERM):
        abort(403)


def _render(errors=None, form=None, report=None, created=None, status=200):
    packs = list_packs()
    provinces = list(db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None))
                                        .order_by(OrgNode.code)).scalars())
    counts = dict(db.session.execute(select(OrgNode.root_id, func.count()).group_by(OrgNode.root_id)).all())
    return render_template("provinces.html", packs=packs, provinces=provinces, counts=counts,
                           admins=_admins([p.id for p in provinces]), errors=errors or {}, form=form or {},
                           report=report, created=created, tenants_dir=str(packs_dir())), status


@pages.route("/provinces")
def provinces_page():
    _need()
    return _render()


@pages.route("/provinces/load", methods=["POST"])
def provinces_load():
    _need()
    data, errors = parse_form(PackLoadSchema(), request.form)
    if data is not None:
        try:
            report = load_named_pack(data["pack"])
            db.session.commit()
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
        else:
            flash(_("Pack %(name)s loaded.", name=data["pack"]), "ok")
            return _render(report=report)
    return _render(errors={"pack": [m for v in errors.values() for m in (v if isinstance(v, list) else [v])]},
                   form=request.form, status=422)


@pages.route("/provinces/<int:province_id>/admins", methods=["POST"])
def province_admin_page(province_id):
    _need()
    province = _province(province_id)
    data, errors = parse_form(ProvinceAdminSchema(), request.form)
    if data is not None:
        try:
            created = create_first_admin(province, data)
            db.session.commit()
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
        else:
            flash(_("Account %(name)s created.", name=created["username"]), "ok")
            return _render(created={**created, "province": province.name})
    return _render(errors={f"admin-{province_id}": errors}, form=request.form, status=422)


add_nav(NavItem("provinces", _l("Provinces"), "provinces.provinces_page", PROVINCES_PERM, 5,
                hint=_l("Load a tenant pack and create its first policy administrator")))
