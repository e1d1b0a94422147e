"""The shell around the slices: it assembles every slice's pages, REST
blueprints and jobs into the app (``create_app`` calls ``init_web``,
``init_api`` and ``load_jobs``), serves the pages that belong to no slice
(``views``: login, home, the org tree, accounts), holds the template labels
shared by all slices (``labels``) and the RQ worker's entry (``worker``).

It sits on top of the layers (see the ``[importlinter]`` contracts in
setup.cfg): the slices plug into ``kaohe.web`` and ``kaohe.api.common`` below
them and never import this package."""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user


def load_jobs() -> None:
    """Import the modules that define jobs, so the job registry is complete."""
    from ..annual import jobs as _annual_jobs  # noqa: F401
    from ..annual import reconcile as _annual_reconcile  # noqa: F401  (kaohe audit reconcile)
    from ..jobs import builtin as _builtin_jobs  # noqa: F401
    from ..people import jobs as _people_jobs  # noqa: F401
    from ..routine import jobs as _routine_jobs  # noqa: F401
    from ..routine import reconcile as _routine_reconcile  # noqa: F401  (kaohe audit reconcile)
    from ..supervision import jobs as _supervision_jobs  # noqa: F401
    from ..ballots import jobs as _ballots_jobs  # noqa: F401
    from ..notify import jobs as _notify_jobs  # noqa: F401
    init_calendar()


def init_calendar() -> None:
    """Working days use the holidays a province entered for a year before the
    ``chinese_calendar`` package (pages, API and jobs alike)."""
    from ..core import calendar
    from ..policy import holidays

    calendar.set_year_provider(holidays.year_tables)


def _slice_blueprints(module) -> list:
    """A slice's flask-smorest blueprints: its api module's ``blp...`` objects."""
    return [getattr(module, name) for name in dir(module) if name.startswith("blp")]


def _iso_utc(value):
    """Every naive datetime in Kaohe is UTC (SQLite drops the offset on the
    way back): give it the offset the OpenAPI "date-time" format requires."""
    import datetime as dt

    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def _utc_datetimes() -> None:
    from marshmallow import fields

    if fields.DateTime.SERIALIZATION_FUNCS.get("iso") is not _iso_utc:
        fields.DateTime.SERIALIZATION_FUNCS = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": _iso_utc}


def api_language() -> str:
    """The language of an API answer: the one chosen in the browser session
    (a page's script calling the API), else the request's Accept-Language,
    else English."""
    from flask import request, session

    from ..web.i18n import SUPPORTED

    chosen = session.get("lang")
    if chosen in SUPPORTED:
        return chosen
    return request.accept_languages.best_match(SUPPORTED) or "en"


def _localize_api_messages(message, errors):
    """The API's error message and field messages in the request's language
    (the services raise them in English, the catalog holds the Chinese)."""
    if api_language() == "en":
        return message, errors
    from flask_babel import force_locale

    from ..web.messages import localize_errors, localize_message

    with force_locale("zh"):
        return (localize_message(message) if isinstance(message, str) else message,
                localize_errors(errors) if errors else errors)


def init_api(app: Flask) -> None:
    from ..annual import api as annual_api
    from ..ballots import api as ballots_api
    from ..notify import api as notify_api
    from ..api.health import blp as health_blp
    from ..audit.api import blp as audit_blp
    from ..auth.api import blp as auth_blp
    from ..extensions import api, csrf
    from ..jobs.api import blp as jobs_blp
    from ..people.api import blp as people_blp
    from ..people.api import blp_accounts as people_accounts_blp
    from ..people.transfer_api import blp_transfer as people_transfer_blp
    from .accounts import blp_provision
    from .provinces import blp_provinces
    from ..policy import api as policy_api
    from ..routine import api as routine_api
    from ..supervision import api as supervision_api
    from ..tenancy.api import blp as org_blp

    from flask_smorest.spec.plugins import integerconverter2paramschema

    from ..core.guard import IdConverter

    _utc_datetimes()
    api.init_app(app, spec_kwargs={
        "info": {"description": "Kaohe (考核) REST API. Authenticate with `POST /api/v1/auth/token`, then send "
                                "`Authorization: Bearer <token>`. Resources outside your scope answer 404."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_converter(IdConverter, integerconverter2paramschema)
    api.spec.options["security"] = [{"bearerAuth": []}]

    app.extensions["kaohe.api_localizer"] = _localize_api_messages

    slices = [blp for m in (policy_api, routine_api, annual_api, supervision_api, ballots_api, notify_api) for blp in _slice_blueprints(m)]
    for blp in [health_blp, auth_blp, org_blp, people_blp, people_accounts_blp, people_transfer_blp, blp_provision, blp_provinces, audit_blp, jobs_blp] + slices:
        api.register_blueprint(blp)
        csrf.exempt(blp)


def _error_field_label(field) -> str:
    """A field of an error message in words, or nothing (a code such as
    ``org_id`` is not shown to people; the message itself names the rule)."""
    from .audit_labels import FIELDS
    from ..web.i18n import pick

    zh_en = FIELDS.get(str(field))
    return pick(*zh_en) if zh_en else ""


def init_web(app: Flask) -> None:
    from . import accounts as shell_accounts
    from . import provinces as _shell_provinces  # noqa: F401  (the operator's page)
    from . import views  # noqa: F401  (routes)
    from ..auth.roles import ROLE_LABELS, Role
    from ..tenancy.models import KIND_LABELS, OrgKind
    from ..web import bp, org_links, page_blueprints
    from ..web.i18n import pick
    from ..web.nav import nav_items

    # Every slice's pages, in this order (nav entries and home panels follow it).
    from ..people import views as _people_views  # noqa: F401
    from ..people import transfer_views as _people_transfer_views  # noqa: F401
    from ..policy import views as _policy_views  # noqa: F401
    from ..routine import views as _routine_views  # noqa: F401
    from ..annual import views as _annual_views  # noqa: F401
    from ..supervision import views as _supervision_views  # noqa: F401
    from ..ballots import views as _ballots_views  # noqa: F401
    from ..notify import views as _notify_views  # noqa: F401

    app.register_blueprint(bp)
    app.before_request(shell_accounts.force_password_change)
    for blueprint in page_blueprints():
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
                         job_message, pool_label, quota_why_label, rounding_label, state_label)
    from ..web.messages import localize_message

    # Globals (not context) so macros imported from _macros.html see them too.
    app.jinja_env.globals.update(
        pick=pick, grade_label=grade_label, state_label=state_label, job_label=job_label, job_message=job_message,
        pool_label=pool_label,
        quota_why_label=quota_why_label, rounding_label=rounding_label, denominator_label=denominator_label,
        localize_message=localize_message, calendar_gap=calendar_gap, error_field_label=_error_field_label,
        flash_text=lambda m: m if hasattr(m, "__html__") else localize_message(m),
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
