"""Server-rendered pages: what every slice's pages plug into.  The ``web``
blueprint (login required except the login page), ``register_page_blueprint``
for a slice's own blueprint, org-page buttons (``add_org_links``), and next to
this module the nav, home panels, forms and i18n helpers.  Forms are validated
by the same marshmallow schemas as the API and carry a CSRF token.  The pages
that belong to no slice and the assembly of all of them into the app are in
``kaohe.shell``."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

bp = Blueprint("web", __name__)

PUBLIC_ENDPOINTS = {"web.login", "web.set_lang", "static"}


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


def page_blueprints() -> list[Blueprint]:
    """The blueprints slices registered, in registration order."""
    return list(_extra_blueprints.values())


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
