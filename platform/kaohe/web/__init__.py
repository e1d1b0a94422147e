"""Server-rendered pages.  Every page needs a login except the login page;
forms are validated by the same marshmallow schemas as the API and carry a
CSRF token."""
from __future__ import annotations

import importlib

from flask import Blueprint, Flask, g, request
from flask_babel import get_locale
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)

PUBLIC_ENDPOINTS = {"web.login", "web.set_lang", "static"}


def init_web(app: Flask) -> None:
    from . import views  # noqa: F401  (routes)
    from .nav import nav_items
    from .i18n import pick
    from ..tenancy.models import KIND_LABELS, OrgKind
    from ..auth.roles import ROLE_LABELS, Role

    for mod in ("kaohe.people.views", "kaohe.policy.views", "kaohe.routine.views", "kaohe.annual.views", "kaohe.supervision.views",
                "kaohe.ballots.views", "kaohe.notify.views"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if not (exc.name and mod.startswith(exc.name)):
                raise
    app.register_blueprint(bp)
    for name, blueprint in list(_extra_blueprints.items()):
        app.register_blueprint(blueprint)

    @app.context_processor
    def _ctx():
        locale = str(get_locale() or "zh")
        return {
            "locale": locale,
            "nav_items": nav_items() if current_user.is_authenticated else [],
            "kind_label": lambda k: pick(*KIND_LABELS[OrgKind(k)]),
            "role_label": lambda r: pick(*ROLE_LABELS[Role(r)]),
            "pick": pick,
            "org_links": org_links,
        }

    from datetime import datetime, timezone

    from .labels import (GRADE_TONE, STATE_TONE, calendar_gap, denominator_label, grade_label, job_label,
                         pool_label, quota_why_label, rounding_label, state_label)
    from .messages import localize_message

    # Globals (not context) so macros imported from _macros.html see them too.
    app.jinja_env.globals.update(
        pick=pick, grade_label=grade_label, state_label=state_label, job_label=job_label, pool_label=pool_label,
        quota_why_label=quota_why_label, rounding_label=rounding_label, denominator_label=denominator_label,
        localize_message=localize_message, calendar_gap=calendar_gap,
        grade_tone=lambda c: GRADE_TONE.get(c, ""), state_tone=lambda c: STATE_TONE.get(c, ""),
        kind_label=lambda k: pick(*KIND_LABELS[OrgKind(k)]),
        role_label=lambda r: pick(*ROLE_LABELS[Role(r)]),
        now_local=lambda: datetime.now(timezone.utc))

    @app.template_filter("dt")
    def _fmt_dt(value):
        if value is None:
            return ""
        from flask_babel import format_datetime

        return format_datetime(value, "yyyy-MM-dd HH:mm")


_extra_blueprints: dict[str, Blueprint] = {}
_org_link_providers: list = []


def add_org_links(fn) -> None:
    """Slices add buttons to an org page: fn(node) -> [{'url', 'label'}]."""
    if fn not in _org_link_providers:
        _org_link_providers.append(fn)


def org_links(node) -> list[dict]:
    out: list[dict] = []
    for fn in _org_link_providers:
        out.extend(fn(node) or [])
    return out


def register_page_blueprint(blueprint: Blueprint) -> Blueprint:
    """Later slices keep their pages in their own blueprint and register it."""
    _extra_blueprints[blueprint.name] = blueprint
    blueprint.before_request(_require_login)
    return blueprint


def register_public_blueprint(blueprint: Blueprint) -> Blueprint:
    """Pages without an account (the phone ballot): the blueprint checks its own credential."""
    _extra_blueprints[blueprint.name] = blueprint
    return blueprint


def _require_login():
    if not current_user.is_authenticated:
        from ..extensions import login_manager

        return login_manager.unauthorized()


@bp.before_request
def _web_login_required():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return _require_login()
